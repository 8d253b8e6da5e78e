// The short soak (the 30-minute one is scripts/soak, outside CI): under a
// steady flood, counts stay equal to the kernel's and memory and maps stay flat.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../harness/paths';

test('30 s under a flood: exact, RSS and map sizes flat', (t) => {
  t.timeout(120000);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-soak-')), 'soak.json');
  t.teardown(() => fs.rmSync(path.dirname(out), { recursive: true, force: true }));
  // it exits 1 when the counts differ or RSS went over the target: the figures say which
  const run = spawnSync(process.execPath, [path.join(ROOT, 'dist/scripts/soak.d/soak.js'), '--minutes', '0.5', '--out', out], {
    encoding: 'utf8',
    timeout: 110000,
  });
  t.log(run.stdout.trim());
  if (!fs.existsSync(out)) return t.fail(`the soak wrote no result: ${run.stderr}`);
  const r = JSON.parse(fs.readFileSync(out, 'utf8'));
  t.log(`acceptq ${r.overflowsAcceptq}, kernel ${r.overflowsKernel}; RSS ${r.rssKbFirst} -> ${r.rssKbLast} kB`);
  t.true(r.overflowsKernel > 10000, 'a real flood');
  t.is(r.overflowsAcceptq, r.overflowsKernel);
  t.true(r.mapsFlat, 'map entry counts constant');
  t.true(r.rssKbLast <= r.rssKbFirst * 1.25, 'RSS flat after warm-up');
  // BENCHMARKS.md's target, for acceptq run as ./acceptq runs it (the soak does)
  t.true(r.rssKbPeak <= 80 * 1024, `peak RSS ${(r.rssKbPeak / 1024).toFixed(1)} MB within the 80 MB target`);
});
