// Dropping privileges after attaching is not optional: when it fails
// (here: started without CAP_SETPCAP, so the bounding set cannot be cut)
// acceptq exits 1 with the reason, unless --keep-root asks it to run on.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { CLI } from '../harness/paths';

function runWithoutSetpcap(args: string[]) {
  return spawnSync('setpriv', ['--bounding-set', '-setpcap', process.execPath, CLI, ...args], {
    encoding: 'utf8',
    timeout: 60000,
  });
}

test('a failed drop of privileges is an error', (t) => {
  const r = runWithoutSetpcap(['--json', '--duration', '1']);
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /acceptq: cannot drop privileges after attaching: .*PR_CAPBSET_DROP.*\(--keep-root runs on as root\)/);
  t.is(r.stdout, '', 'no record from a run that could not drop');
});

test('--keep-root runs on as root, with a warning', (t) => {
  const r = runWithoutSetpcap(['--json', '--interval', '0.5', '--duration', '1', '--keep-root']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /acceptq: warning: could not drop privileges, running on as root \(--keep-root\)/);
  const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.true(records.length >= 2, 'records kept coming');
});

test('the same for run and export', (t) => {
  const run = runWithoutSetpcap(['run', '--', 'true']);
  t.is(run.status, 1, run.stderr);
  t.regex(run.stderr, /cannot drop privileges after attaching/);
  const exp = runWithoutSetpcap(['export', '--listen', '127.0.0.1:19877']);
  t.is(exp.status, 1, exp.stderr);
  t.regex(exp.stderr, /cannot drop privileges after attaching/);
});
