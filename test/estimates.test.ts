// The estimate rule (lib/estimates.c) on recorded inputs: a row that moved
// where an unsure credit or a skipped observation happened, in this interval
// or the one before, is an estimate, even as the only row that moved. The
// checks are a C program built by the Makefile against the library's object.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../harness/paths';

test('mark_estimates: a lone mover after an unsure credit or a skipped observation is an estimate', (t) => {
  const r = spawnSync(path.join(ROOT, 'build', 'test-estimates'), { encoding: 'utf8', timeout: 10000 });
  t.log(r.stdout);
  t.is(r.status, 0, `${r.stdout}${r.stderr}`);
  const m = /^(\d+) checks, 0 failed$/m.exec(r.stdout);
  t.truthy(m, 'the program reports its checks');
  t.true(Number(m?.[1]) >= 10, 'every case ran');
});
