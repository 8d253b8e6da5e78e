// The README's test command runs one test file named by its source, as the README says.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../harness/paths';

test('scripts/test test/reuse.test.ts runs that file (its compiled form) and nothing else', (t) => {
  const r = spawnSync(path.join(ROOT, 'scripts', 'test'), ['test/reuse.test.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120000,
    env: { ...process.env, ACCEPTQ_SETUP_QUIET: '1' },
  });
  const out = r.stdout + r.stderr;
  t.is(r.status, 0, out);
  t.regex(out, /✔ .*HeapTrim/, 'its tests ran');
  t.regex(out, /\b3 tests passed\b/, 'those of that file only');
});
