// Reliability on the real kernel: listener churn under a flood, scale across
// namespaces, and two instances at once. All bounded, all in namespaces the
// tests make.
import test from 'ava';
import { AcceptqJson } from './support/acceptq';
import { startLab } from './support/lab';
import { entries, mapsOf } from './support/maps';
import { checkScenario } from './support/scenario';

test.serial('10,000 listeners opened and closed under a flood: counts exact, no socket left in the maps', async (t) => {
  t.timeout(180000);
  const aq = AcceptqJson.start(['--interval', '1']);
  t.teardown(() => aq.stop());
  await aq.waitFor(() => true, 20000);
  const maps = mapsOf(aq.proc.pid!);
  t.truthy(maps.socks && maps.counts && maps.groups, JSON.stringify(maps));
  const socksBefore = entries(maps.socks);

  // a 30 s flood on one listener while 10,000 others open and close over 40 s
  const started = Date.now();
  const [flood, churn] = await Promise.all([startLab('flood 30'), startLab('churn 10000 40', 5)]);
  t.teardown(() => flood.stop());
  t.teardown(() => churn.stop());
  t.log(`flooded and churned 10,000 listeners in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const kernel = flood.netstat().TcpExtListenOverflows;
  const rec = await aq.fresh(20000);
  const floodRow = rec.listeners.find((l) => l.netns === flood.netns && l.port === 9700)!;
  t.log(`flood: acceptq ${floodRow.overflows}, kernel ${kernel}`);
  t.is(floodRow.overflows, kernel, 'flood overflows exact through the churn');
  const churned = rec.listeners.filter((l) => l.netns === churn.netns);
  t.true(churned.length > 0);
  t.true(churned.every((l) => l.overflows === 0), 'no overflow attributed to a churned socket');
  t.true(churned.every((l) => l.closed), 'every churned listener is closed');
  t.is(rec.mapFull, 0);
  await churn.stop();
  await flood.stop();
  await aq.fresh();
  t.is(entries(maps.socks), socksBefore, 'socket map back to its baseline');
});

test.serial('20,000 listeners across 50 namespaces', async (t) => {
  t.timeout(180000);
  const aq = AcceptqJson.start(['--interval', '1']);
  t.teardown(() => aq.stop());
  await aq.waitFor(() => true, 20000);
  const labs = [];
  for (let i = 0; i < 50; i++) {
    const lab = await startLab('many 400', 120).catch((e) => e as Error);
    if (lab instanceof Error) {
      t.fail(String(lab));
      return;
    }
    labs.push(lab);
    t.teardown(() => lab.stop());
  }
  const nets = new Set(labs.map((l) => l.netns));
  const rec = await aq.waitFor(
    (r) => r.listeners.filter((l) => nets.has(l.netns) && !l.closed).length === 20000,
    60000,
    aq.records.length,
  );
  const mine = rec.listeners.filter((l) => nets.has(l.netns) && !l.closed);
  t.is(mine.length, 20000);
  t.is(new Set(mine.map((l) => l.netns)).size, 50);
  t.true(mine.every((l) => l.comm === 'acceptq-lab' && l.maxBacklog === 16));
  t.is(rec.mapFull, 0, 'the maps had room for everything');
  const ticks = aq.records.slice(-3).map((r) => Date.parse(r.time));
  t.log(`records every ${((ticks[2] - ticks[0]) / 2000).toFixed(2)} s at 20,000 listeners`);
});

test.serial('two acceptq instances at once both count exactly', async (t) => {
  const a = AcceptqJson.start();
  const b = AcceptqJson.start();
  t.teardown(() => a.stop());
  t.teardown(() => b.stop());
  await a.waitFor(() => true, 20000);
  await b.waitFor(() => true, 20000);
  const { lab } = await checkScenario(t, a, 'syn');
  const rec = await b.fresh();
  const row = rec.listeners.find((l) => l.netns === lab.netns && !l.closed)!;
  t.is(row.overflows, lab.netstat().TcpExtListenOverflows);
});
