// The sandbox that emulates the unit's file-system directives (support/prometheus.ts)
// keeps the repository reachable wherever it was cloned: under directories the
// sandbox hides (a temporary directory, a home directory), however deep. So
// do the tests' runs as nobody, under a directory others may not enter.
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { AS_NOBODY, asNobody } from '../harness/unprivileged';
import { spawnSandboxed } from './support/prometheus';

/** A stand-in repository at base/...rel, with a file whose content only this run knows. */
function stage(base: string, rel: string[]): { top: string; root: string; marker: string; sibling: string } {
  const top = fs.mkdtempSync(path.join(base, 'acq-sandbox-'));
  const root = path.join(top, ...rel);
  fs.mkdirSync(root, { recursive: true });
  const marker = crypto.randomBytes(8).toString('hex');
  fs.writeFileSync(path.join(root, 'package.json'), '{"name":"acceptq"}\n');
  fs.writeFileSync(path.join(root, 'marker'), marker);
  const sibling = path.join(top, 'sibling');
  fs.writeFileSync(sibling, 'hidden by the sandbox\n');
  return { top, root, marker, sibling };
}

/** Run sh -c script in the sandbox, capabilities all dropped. */
function sandboxed(root: string, script: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnSandboxed([], root, ['sh', '-c', script, 'probe', ...args]);
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), 30000);
  return new Promise((resolve) => p.once('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, out, err });
  }));
}

const cases: Array<[string, string, string[]]> = [
  ['a clone two directories deep in the temporary directory', os.tmpdir(), ['a', 'b', 'acceptq']],
  ['a clone in a src directory of the home directory', os.homedir(), ['src', 'acceptq']],
];

for (const [what, base, rel] of cases) {
  test.serial(`${what}: reachable, read-only, and nothing else of its parents shows`, async (t) => {
    const s = stage(base, rel);
    t.teardown(() => fs.rmSync(s.top, { recursive: true, force: true }));
    const r = await sandboxed(
      s.root,
      'cat "$1/marker"; echo; if touch "$1/written" 2>/dev/null; then echo writable; fi; if [ -e "$2" ]; then echo sibling; fi',
      s.root,
      s.sibling,
    );
    t.is(r.code, 0, r.err);
    t.is(r.out, `${s.marker}\n`, `the tree itself, read-only, its parent's other files hidden (stderr: ${r.err})`);
    t.false(fs.existsSync(path.join(s.root, 'written')));
  });
}

test('as nobody: a tree under a directory only root may enter (as root\'s home is) is reachable', (t) => {
  const s = stage(os.tmpdir(), ['src', 'acceptq']);
  t.teardown(() => fs.rmSync(s.top, { recursive: true, force: true }));
  fs.chmodSync(s.top, 0o700);
  for (const d of [path.join(s.top, 'src'), s.root]) fs.chmodSync(d, 0o755);
  fs.chmodSync(path.join(s.root, 'marker'), 0o644);
  const run = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30000 });
  const plain = run([...AS_NOBODY, 'cat', path.join(s.root, 'marker')]);
  t.not(plain.status, 0, 'plainly, nobody cannot reach it (the case this is for)');
  const r = run(asNobody(['sh', '-c', 'id -u; cat "$1"', 'probe', path.join(s.root, 'marker')], s.root));
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, `65534\n${s.marker}`);
});
