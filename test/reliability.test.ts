// Reliability on the real kernel: listener churn under a flood, scale across
// namespaces, and two instances at once. All bounded, all in namespaces the
// tests make.
import test from 'ava';
import { AcceptqJson, type JsonRecord } from '../harness/acceptq';
import { startLab, type LabRun } from '../harness/lab';
import { listenerKeys, mapsOf } from '../harness/maps';
import { checkScenario } from './support/scenario';
import { median } from '../harness/stats';

/** Seconds between consecutive records, from their timestamps. */
const gapsS = (records: JsonRecord[]): number[] => records.slice(1).map((r, i) => (Date.parse(r.time) - Date.parse(records[i].time)) / 1000);

test.serial('10,000 listeners opened and closed under a flood: counts exact, no socket left in the maps', async (t) => {
  t.timeout(180000);
  const aq = AcceptqJson.start(['--interval', '1']);
  t.teardown(() => aq.stop());
  await aq.waitFor(() => true, 20000);
  const maps = mapsOf(aq.proc.pid!);
  t.truthy(maps.socks && maps.counts && maps.groups, JSON.stringify(maps));

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
  t.log(`${churned.length} churned listeners shown`);
  t.is(churned.length, 10000, 'a row for every churned listener (ports 20000-29999)');
  t.true(churned.every((l) => l.overflows === 0), 'no overflow attributed to a churned socket');
  t.true(churned.every((l) => l.closed), 'every churned listener is closed');
  t.is(rec.mapFull, 0);
  // the socket map: the flood's listener in it, none of the 10,000 churned ones
  // (other listeners on the machine may come and go meanwhile: only these namespaces count)
  const socks = listenerKeys(maps.socks);
  const floodKeys = socks.filter((k) => k.netns === flood.netns && k.port === 9700);
  t.is(floodKeys.length, 1, 'the flood listener is in the socket map');
  t.deepEqual(socks.filter((k) => k.netns === churn.netns), [], 'no churned socket left in the socket map');
  await churn.stop();
  await flood.stop();
  await aq.fresh();
  // by cookie: the flood's namespace is gone and its inode number may be reused
  const cookie = floodKeys[0]?.netns_cookie;
  t.deepEqual(listenerKeys(maps.socks).filter((k) => k.netns_cookie === cookie), [], 'the flood listener left the socket map when it closed');
});

test.serial('20,000 listeners across 50 namespaces', async (t) => {
  t.timeout(180000);
  const aq = AcceptqJson.start(['--interval', '1']);
  t.teardown(() => aq.stop());
  await aq.waitFor(() => true, 20000);
  const labs: LabRun[] = [];
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
    (r) => r.listeners.filter((l) => nets.has(l.netns) && !l.closed).length >= 20000,
    60000,
    aq.records.length,
  );
  const mine = rec.listeners.filter((l) => nets.has(l.netns) && !l.closed);
  t.is(mine.length, 20000, 'one row per listener, none twice');
  t.is(new Set(mine.map((l) => l.netns)).size, 50);
  t.is(new Set(mine.map((l) => `${l.netns} ${l.address}:${l.port}`)).size, 20000, 'each listener its own row');
  t.deepEqual(mine.filter((l) => l.comm !== 'acceptq-lab' || l.maxBacklog !== 16 || !labs.some((lab) => lab.netns === l.netns && lab.pid === l.pid)), [], 'owners and backlogs right');
  t.is(rec.mapFull, 0, 'the maps had room for everything');
  // still a record every interval (1 s) with all of them in view
  const from = aq.records.indexOf(rec);
  await aq.waitFor(() => true, 30000, from + 8);
  const gaps = gapsS(aq.records.slice(from, from + 9));
  t.log(`records every ${gaps.map((g) => g.toFixed(2)).join(', ')} s at 20,000 listeners (median ${median(gaps).toFixed(2)})`);
  t.true(median(gaps) >= 0.8 && median(gaps) <= 1.3, `median gap ${median(gaps)} s at a 1 s interval`);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  t.true(mean >= 0.8 && mean <= 1.5, `mean gap ${mean} s at a 1 s interval`);
  t.true(gaps.every((g) => g > 0.4 && g < 2.5), 'every gap within 0.4-2.5 s');
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
