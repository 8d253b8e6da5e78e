// Start-up: answering --help, --version or a bad flag, or replaying a
// recording, loads no native code (no FFI, no library): the flag parsers
// know the probe sets' names without the binding. The hook that watches
// (test/support/native-loads.ts) is shown to see the binding when it loads.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, ROOT } from '../harness/paths';

const HOOK = path.join(__dirname, 'support', 'native-loads.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-startup-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

interface NativeLoads {
  /** Native addons (.node files) loaded. */
  addons: string[];
  /** Modules of the binding or of the FFI packages required. */
  binding: string[];
}

/** Runs node with the hook preloaded; its exit status, stdout and what the hook saw. */
function watched(args: string[]): { status: number | null; stdout: string; stderr: string; loads: NativeLoads } {
  const report = path.join(dir, 'loads.json');
  fs.rmSync(report, { force: true });
  const r = spawnSync(process.execPath, ['--require', HOOK, ...args], { encoding: 'utf8', timeout: 30000, env: { ...process.env, NATIVE_LOADS_FILE: report } });
  if (!fs.existsSync(report)) throw new Error(`no report of native loads from node ${args.join(' ')}: ${r.stderr}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, loads: JSON.parse(fs.readFileSync(report, 'utf8')) };
}

test('the hook sees the binding and its addons when they load', (t) => {
  const helper = path.join(ROOT, 'dist', 'src', 'native', 'helper.js');
  const r = watched(['-e', `require(${JSON.stringify(helper)})`]);
  t.is(r.status, 0, r.stderr);
  t.true(r.loads.addons.some((f) => f.endsWith('.node')), JSON.stringify(r.loads));
  t.true(r.loads.binding.includes(helper), JSON.stringify(r.loads));
});

test('--help, --version, bad flags and a replay load no native code', (t) => {
  const cases: Array<[string[], number]> = [
    [['--help'], 0],
    [['--version'], 0],
    [['--bogus'], 2],
    [['--probe', 'nope'], 2],
    [['--once', '--replay', path.join(ROOT, 'no-such-recording.ndjson')], 1],
    [['run', '--help'], 0],
    [['run', '--probe', 'nope', '--', 'true'], 2],
    [['export', '--help'], 0],
    [['export', '--bogus'], 2],
    [['fleet', '--help'], 0],
  ];
  for (const [args, status] of cases) {
    const r = watched([CLI, ...args]);
    t.is(r.status, status, `acceptq ${args.join(' ')}: ${r.stderr}`);
    t.deepEqual(r.loads, { addons: [], binding: [] }, `acceptq ${args.join(' ')}`);
  }
});
