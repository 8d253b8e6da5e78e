// Installing acceptq the ways its users do, on a bare Debian 12 as a server
// has it (a minimal root built from Debian's archive, scripts/kernels.d/rootfs)
// booted with Debian 12's own kernel (6.1) under qemu:
// - the .deb, with apt from the mirror (through qemu's user-mode network):
//   no compiler, no npm, no Node.js but the package's; --version, --once,
//   --json, the dashboard and an overflow counted as the kernel counts it;
//   nothing enabled; apt purge leaves nothing behind;
// - a clone, built by the README's first command in that root (installing
//   what it needs from Debian's mirror and the npm registry), then run under
//   that kernel: --once and an overflow counted as the kernel counts it.
// - on Debian 11, a clone: the one line saying it cannot build there.
// Debian 11 and 13 with their kernels are the same cases in
// scripts/kernels --sets install.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../harness/paths';
import { buildBundle } from './support/release';

const BOOT = path.join(ROOT, 'scripts', 'kernels.d', 'boot');
const version: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

interface Guest {
  code: number | null;
  out: string;
  err: string;
  /** The "@@ NAME VALUE" lines of the guest's script. */
  said: Map<string, string>;
}

/** Boot Debian 12's kernel with the given --root and run a command there. */
function boot(args: string[], cmd: string[], timeoutS: number): Promise<Guest> {
  return new Promise((resolve) => {
    const p = spawn(BOOT, ['6.1', '--timeout', String(timeoutS), ...args, '--', ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      const said = new Map<string, string>();
      for (const m of out.matchAll(/^@@ (\S+) ?(.*)$/gm)) said.set(m[1], m[2]);
      resolve({ code, out, err, said });
    });
  });
}

let tmp = '';
test.before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-install-'));
  fs.chmodSync(tmp, 0o755);
});
test.after.always(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test.serial('Debian 12 with its 6.1: apt install ./acceptq.deb, use it, apt purge leaves nothing', async (t) => {
  t.timeout(30 * 60000);
  const { deb } = buildBundle(path.join(tmp, 'out'));
  const g = await boot(['--root', 'bookworm', '--net', '--share', path.dirname(deb)], ['sh', path.join(ROOT, 'scripts', 'kernels.d', 'guest-package.sh'), deb, path.join(ROOT, 'build', 'acceptq-lab-static')], 1500);
  t.log(g.out.trim());
  const say = (k: string) => g.said.get(k);
  t.is(g.code, 0, g.err.slice(-1500));
  t.is(say('install'), '0', 'apt installed it, its dependencies from the mirror');
  t.is(say('node'), 'none', 'no Node.js on the server');
  t.is(say('compiler'), 'none', 'no compiler on the server');
  t.is(say('version'), `acceptq ${version}`);
  t.is(say('man'), 'yes');
  t.is(say('unit'), 'yes');
  t.is(say('enabled'), '0', 'the unit is enabled by nobody');
  t.is(say('once'), '0');
  t.is(say('json'), '0');
  t.true(Number(say('json-records')) >= 2, `records: ${say('json-records')}`);
  t.is(say('json-probe'), 'fentry', 'auto picks fentry on 6.1');
  t.is(say('dashboard'), '0');
  t.true(Number(say('dashboard-drew')) > 0, 'the dashboard drew its panels');
  t.is(say('run'), '0');
  t.true(Number(say('kernel-overflows')) > 0, 'the kernel counted overflows');
  t.is(say('run-overflows'), say('kernel-overflows'), 'acceptq run: the listener\'s overflows = the namespace\'s ListenOverflows');
  t.is(say('purge'), '0');
  t.is(say('left'), '', 'nothing left behind');
});

test.serial('Debian 12 with its 6.1: a clone built by `./acceptq` there, then run under that kernel', async (t) => {
  t.timeout(40 * 60000);
  const rootfs = spawnSync(path.join(ROOT, 'scripts', 'kernels.d', 'rootfs'), ['bookworm'], { encoding: 'utf8' });
  t.is(rootfs.status, 0, rootfs.stderr);
  // a copy of the bare root, the clone in it, built by the README's first command
  const root = path.join(fs.mkdtempSync('/var/tmp/acceptq-clone-'), 'root');
  t.teardown(() => {
    spawnSync('umount', ['-R', '-l', path.join(root, 'proc'), path.join(root, 'sys'), path.join(root, 'dev')]);
    spawnSync('rm', ['-rf', '--one-file-system', path.dirname(root)]);
  });
  const build = spawnSync(path.join(ROOT, 'scripts', 'kernels.d', 'build-clone'), [rootfs.stdout.trim(), root], { encoding: 'utf8', timeout: 30 * 60000 });
  t.log(build.stdout.trim());
  t.is(build.status, 0, build.stderr.slice(-2000));
  t.regex(build.stderr, /^acceptq: first run: installing /m, 'the first run says what it installs');
  t.regex(build.stdout, new RegExp(`^acceptq ${version.replace(/\./g, '\\.')}$`, 'm'));
  const g = await boot(['--root', root], ['sh', path.join(ROOT, 'scripts', 'kernels.d', 'guest-clone.sh')], 1200);
  t.log(g.out.trim());
  const say = (k: string) => g.said.get(k);
  t.is(g.code, 0, g.err.slice(-1500));
  t.is(say('version'), `acceptq ${version}`, 'nothing to install or build again');
  t.is(say('once'), '0');
  t.is(say('run'), '0');
  t.true(Number(say('kernel-overflows')) > 0, 'the kernel counted overflows');
  t.is(say('run-overflows'), say('kernel-overflows'), 'the listener\'s overflows = the namespace\'s ListenOverflows');
});

test.serial('Debian 11: a clone says in one line that it cannot build there (libbpf 0.3), and exits 1', (t) => {
  t.timeout(10 * 60000);
  const rootfs = spawnSync(path.join(ROOT, 'scripts', 'kernels.d', 'rootfs'), ['bullseye'], { encoding: 'utf8' });
  t.is(rootfs.status, 0, rootfs.stderr);
  const root = path.join(fs.mkdtempSync('/var/tmp/acceptq-clone-'), 'root');
  t.teardown(() => spawnSync('rm', ['-rf', '--one-file-system', path.dirname(root)]));
  const build = spawnSync(path.join(ROOT, 'scripts', 'kernels.d', 'build-clone'), [rootfs.stdout.trim(), root], { encoding: 'utf8', timeout: 10 * 60000 });
  t.is(build.status, 1, build.stdout);
  t.is(build.stdout, '');
  t.regex(
    build.stderr,
    /^acceptq: building from a clone needs libbpf 1\.0 or newer \(Debian 12 or newer\), and this system's is 0\.3: install the acceptq package instead \(README, "Install on a server"\)\n$/,
  );
});
