// The short soak (the 30-minute one is scripts/soak, outside CI): under a
// steady flood, counts stay equal to the kernel's and memory and maps stay flat.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../harness/paths';

test('30 s under a flood: exact, RSS and map sizes flat', (t) => {
  t.timeout(120000);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-soak-')), 'soak.json');
  t.teardown(() => fs.rmSync(path.dirname(out), { recursive: true, force: true }));
  execFileSync(process.execPath, [path.join(ROOT, 'dist/scripts/soak.d/soak.js'), '--minutes', '0.5', '--out', out], {
    encoding: 'utf8',
    timeout: 110000,
  });
  const r = JSON.parse(fs.readFileSync(out, 'utf8'));
  t.log(`acceptq ${r.overflowsAcceptq}, kernel ${r.overflowsKernel}; RSS ${r.rssKbFirst} -> ${r.rssKbLast} kB`);
  t.true(r.overflowsKernel > 10000, 'a real flood');
  t.is(r.overflowsAcceptq, r.overflowsKernel);
  t.true(r.mapsFlat, 'map entry counts constant');
  t.true(r.rssKbLast <= r.rssKbFirst * 1.25, 'RSS flat after warm-up');
  t.true(r.rssKbMax < 150 * 1024, 'RSS bounded');
});
