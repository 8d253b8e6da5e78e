// Why a listener overflows, against scenarios whose truth the lab sets: the
// accept-queue wait from handshake to accept() (its percentiles, spread and
// the oldest connection waiting), arrivals and accepts and their rates, the
// backlog listen() asked for beside the one it got, the namespace's sysctls,
// and the diagnosis. One acceptq --json --interval 0.5 for the file; each
// scenario in a network namespace of its own (loopback only).
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import test from 'ava';
import { AcceptqJson } from '../harness/acceptq';
import { mapsOf } from '../harness/maps';
import {
  diagnosisOf,
  diagnosisText,
  fmt,
  histOver,
  histQuantileCeilMs,
  MapWatch,
  mapCount,
  mean,
  median,
  numbers,
  rowHistory,
  rowWhen,
  startReportingLab,
  within,
  waitsOver,
  type RowId,
} from './support/wait';


let aq: AcceptqJson;
/** acceptq's BPF map of connections waiting to be accepted (one entry each). */
let queuedMap = 0;

test.before(async () => {
  aq = AcceptqJson.start();
  await aq.waitFor(() => true, 20000); // probes attached
  const maps = mapsOf(aq.proc.pid!);
  if (!maps.queued) throw new Error(`acceptq holds no map named queued (it holds ${Object.keys(maps).join(', ')})`);
  queuedMap = maps.queued;
});

test.after.always(async () => {
  await aq?.stop();
});

for (const delay of [50, 200]) {
  test.serial(`each connection accepted ${delay} ms after its handshake: wait, spread, oldest waiting, rates`, async (t) => {
    t.timeout(60000);
    const { lab, report } = await startReportingLab(`delay ${delay}`);
    t.teardown(() => lab.stop());
    const l = report.listeners[0];
    const id: RowId = { netns: lab.netns, port: l.port, pid: lab.pid };
    const n = report.connects;
    const pace = report.pacePerSec!;
    const start = report.startMs!;
    const end = report.endMs!;
    t.is(n, 160, 'the lab made its 160 connects');
    t.is(l.accepted, n, 'and accepted every one');

    // everything is accepted by end + delay: the first record after that which shows it
    const done = await rowWhen(aq, id, end + delay, (r) => r.arrivals === n && r.accepts === n);
    if (!done) return t.fail('acceptq showed no row for the listener');
    await aq.fresh(); // one more: every accept() timed is in a record by then
    const h = rowHistory(aq, id);
    const last = h[h.length - 1];
    // the records covering the run: their interval overlaps [first connect, last accept]
    const run = h.filter((x) => x.t > start && x.t - x.interval * 1000 < end + delay);
    // steady: while connections keep arriving and being accepted
    const arriving = within(h, start, end + 1000 / pace);
    const accepting = within(h, start + delay, end + delay + 1000 / pace);
    const steady = within(h, start + delay, end);

    const p50s = numbers(run.map((x) => x.row.waitP50Ms));
    const mins = numbers(run.map((x) => x.row.waitMinMs));
    const maxs = numbers(run.map((x) => x.row.waitMaxMs));
    const olds = h.map((x) => x.row.oldestWaitMs);
    const arrivalRate = mean(numbers(arriving.map((x) => x.row.arrivalRate)));
    const acceptRate = mean(numbers(accepting.map((x) => x.row.acceptRate)));
    const p50 = median(p50s);
    const minW = Math.min(...mins);
    const maxW = Math.max(...maxs);
    const maxOld = Math.max(...numbers(olds));
    const timed = run.filter((x) => x.row.waitCount > 0);
    const noExtremes = timed.filter((x) => x.row.waitMaxMs === null).length;

    t.log(
      `truth: ${n} connects at ${pace}/s over ${((end - start) / 1000).toFixed(2)} s, each accepted ${delay} ms after it connected; ` +
        `the lab saw waits min ${fmt(report.labWaitMinMs, 2)} p50 ${fmt(report.labWaitP50Ms, 2)} max ${fmt(report.labWaitMaxMs, 2)} ms`,
    );
    t.log(
      `acceptq: ${run.length} records over the run; waitP50Ms ${p50s.map((x) => fmt(x)).join(' ')} (median ${fmt(p50)}), ` +
        `waitMinMs ${fmt(minW, 2)}, waitMaxMs ${fmt(maxW, 2)}, waitP99Ms ${numbers(run.map((x) => x.row.waitP99Ms)).map((x) => fmt(x)).join(' ')}, ` +
        `waitMeanMs ${numbers(run.map((x) => x.row.waitMeanMs)).map((x) => fmt(x)).join(' ')}; ` +
        `waitMinMs/waitMaxMs null in ${noExtremes} of the ${timed.length} records with waits`,
    );
    t.log(
      `acceptq: oldestWaitMs ${olds.map((x) => fmt(x, 0)).join(' ')}; arrivalRate ${fmt(arrivalRate)}/s over ${arriving.length} records, ` +
        `acceptRate ${fmt(acceptRate)}/s over ${accepting.length}; at the end arrivals ${last.row.arrivals} accepts ${last.row.accepts} ` +
        `waits timed ${waitsOver(h)} overflows ${last.row.overflows}`,
    );

    // the wait, as acceptq timed it
    t.true(p50s.length > 0, 'waitP50Ms reported while connections were accepted');
    t.true(Math.abs(p50 - delay) <= delay * 0.1, `waitP50Ms ${fmt(p50)} within 10% of ${delay}`);
    t.true(mins.length > 0 && maxs.length > 0, 'waitMinMs and waitMaxMs reported');
    t.true(minW >= delay * 0.9 && minW <= delay * 1.1, `waitMinMs ${fmt(minW, 2)} within 10% of ${delay}`);
    t.true(
      maxW >= delay && maxW <= Math.max(delay * 1.1, report.labWaitMaxMs! + 2),
      `waitMaxMs ${fmt(maxW, 2)} from ${delay} to the lab's longest wait (${fmt(report.labWaitMaxMs, 2)}) + 2 ms`,
    );
    t.is(waitsOver(h), n, 'one wait timed per accept() (waitCount over the records)');
    // the oldest waiting connection
    const bound = delay + last.interval * 1000;
    t.true(numbers(olds).every((x) => x <= bound), `oldestWaitMs never above ${bound} (max ${fmt(maxOld, 1)})`);
    t.true(steady.length >= 3, `${steady.length} records while connections kept waiting`);
    t.true(steady.every((x) => typeof x.row.oldestWaitMs === 'number' && x.row.oldestWaitMs > 0), 'oldestWaitMs > 0 while connections wait');
    t.is(last.row.oldestWaitMs, null, 'null once nothing waits');
    // arrivals and accepts
    t.true(arriving.length >= 3 && accepting.length >= 3, 'enough records in the steady part');
    t.true(Math.abs(arrivalRate - pace) <= pace * 0.05, `arrivalRate ${fmt(arrivalRate, 2)} within 5% of ${pace}/s`);
    t.true(Math.abs(acceptRate - pace) <= pace * 0.05, `acceptRate ${fmt(acceptRate, 2)} within 5% of ${pace}/s`);
    t.is(last.row.arrivals, n, 'arrivals = connects');
    t.is(last.row.accepts, n, 'accepts = arrivals');
    t.is(last.row.overflows, 0, 'no overflow');
  });
}

test.serial('listen(4096) cut to 128 by net.core.somaxconn, bursts overflow: both backlogs, the sysctl, the diagnosis', async (t) => {
  t.timeout(60000);
  const started = Date.now();
  const { lab, report } = await startReportingLab('somaxconn');
  t.teardown(() => lab.stop());
  const l = report.listeners[0];
  const id: RowId = { netns: lab.netns, port: l.port, pid: lab.pid };
  const kernel = lab.netstat(); // the bursts are over: the counters hold still
  const sysctl = Number(execFileSync('nsenter', ['-t', String(lab.pid), '-n', 'cat', '/proc/sys/net/core/somaxconn'], { encoding: 'utf8' }));
  const ss = lab.ssListen().find((x) => x.port === id.port);
  const last = await rowWhen(aq, id, Date.now(), (r) => r.overflows === kernel.TcpExtListenOverflows);
  if (!last) return t.fail('acceptq showed no row for the listener');
  const h = rowHistory(aq, id).filter((x) => x.t >= started && x.t <= last.t);
  const diags = h.map((x) => diagnosisOf(x.row));
  const named = diags.filter((d) => d && /net\.core\.somaxconn/.test(d.text));
  t.log(
    `truth: listen(fd, ${report.requestedBacklog}) under net.core.somaxconn ${sysctl} (ss Send-Q ${ss?.sendQ}); ${report.bursts} bursts of ${report.burst} ` +
      `connects 250 ms apart, ${l.accepted} accepted in batches within 20 ms; kernel ListenOverflows ${kernel.TcpExtListenOverflows}`,
  );
  t.log(
    `acceptq: requestedBacklog ${last.row.requestedBacklog} maxBacklog ${last.row.maxBacklog}, namespace somaxconn ${last.ns?.somaxconn}, ` +
      `overflows ${last.row.overflows}, arrivals ${last.row.arrivals} accepts ${last.row.accepts}; diagnosis kinds by record: ${diags.map((d) => d?.kind ?? '-').join(' ')}`,
  );
  t.log(`acceptq: ${named.length ? `"${named[0]!.text}"` : 'no diagnosis named net.core.somaxconn'}`);
  t.is(sysctl, 128);
  t.is(last.row.requestedBacklog, 4096, 'requestedBacklog: what listen() asked for');
  t.is(last.row.maxBacklog, 128, 'maxBacklog: what the kernel gave');
  t.is(last.row.maxBacklog, ss?.sendQ, 'maxBacklog = ss Send-Q');
  t.is(last.ns?.somaxconn, 128, "the namespace's net.core.somaxconn");
  t.true(kernel.TcpExtListenOverflows > 0, 'the bursts overflowed');
  t.is(last.row.overflows, kernel.TcpExtListenOverflows, 'overflows = kernel ListenOverflows');
  t.is(last.row.arrivals, l.accepted, 'arrivals = the connections that got in (all accepted)');
  t.true(named.length > 0, 'a diagnosis names net.core.somaxconn');
});

test.serial('a server that keeps up: waits near zero, arrivals = accepts, no diagnosis', async (t) => {
  t.timeout(60000);
  const started = Date.now();
  const { lab, report } = await startReportingLab('keepup');
  t.teardown(() => lab.stop());
  const l = report.listeners[0];
  const id: RowId = { netns: lab.netns, port: l.port, pid: lab.pid };
  const n = report.connects;
  const done = await rowWhen(aq, id, report.endMs!, (r) => r.arrivals === n && r.accepts === n);
  if (!done) return t.fail('acceptq showed no row for the listener');
  await aq.fresh(); // one more: every accept() timed is in a record by then
  const h = rowHistory(aq, id).filter((x) => x.t >= started);
  const last = h[h.length - 1];
  const p99s = numbers(h.map((x) => x.row.waitP99Ms));
  const maxs = numbers(h.map((x) => x.row.waitMaxMs));
  const p50s = numbers(h.map((x) => x.row.waitP50Ms));
  const p99 = histQuantileCeilMs(histOver(h), 0.99);
  const p90 = histQuantileCeilMs(histOver(h), 0.9);
  const timed = h.filter((x) => x.row.waitCount > 0);
  const diags = h.map((x) => diagnosisText(x.row)).filter((d) => d !== null);
  const arriving = within(h, report.startMs!, report.endMs! + 1000 / report.pacePerSec!);
  t.log(`truth: ${n} connects at ${report.pacePerSec}/s, ${l.accepted} accepted as they came`);
  t.log(
    `acceptq: waitP99Ms by record ${p99s.map((x) => fmt(x, 2)).join(' ')}, waitMaxMs ${maxs.map((x) => fmt(x, 2)).join(' ')}; ` +
      `waitP50Ms by record ${p50s.map((x) => fmt(x, 3)).join(' ')}; p90/p99 of all waits below ${fmt(p90, 3)}/${fmt(p99, 3)} ms (their histograms added up); arrivalRate ${fmt(mean(numbers(arriving.map((x) => x.row.arrivalRate))))}/s; ` +
      `arrivals ${last.row.arrivals} accepts ${last.row.accepts} waits timed ${waitsOver(h)} overflows ${last.row.overflows}; diagnoses ${JSON.stringify([...new Set(diags)])}; ` +
      `waitMinMs/waitMaxMs null in ${timed.filter((x) => x.row.waitMaxMs === null).length} of the ${timed.length} records with waits`,
  );
  t.is(l.accepted, n, 'the lab accepted every connection');
  t.true(p99s.length > 0, 'waitP99Ms reported');
  // A shared machine can stall the lab's accept thread for 10-20 ms now and
  // then; at 100/s a record's p99 is nearly its max, so one stall moves it.
  // The median wait and the 90th percentile of all waits do not move.
  t.true(p50s.length > 0 && median(p50s) < 1, `the records' waitP50Ms: median ${fmt(median(p50s), 3)} < 1 ms`);
  t.true(p90 !== null && p90 <= 1.024, `p90 of all the waits <= 1.024 ms (the bucket below ${fmt(p90, 3)} ms)`);
  t.is(last.row.arrivals, n, 'arrivals = connects');
  t.is(last.row.accepts, n, 'accepts = arrivals');
  t.is(waitsOver(h), n, 'one wait timed per accept() (waitCount over the records)');
  t.is(last.row.overflows, 0);
  t.deepEqual(diags, [], 'no diagnosis in any record');
});

test.serial('a SYN flood at a server that accepts promptly: cookies, and the diagnosis says SYN flood', async (t) => {
  t.timeout(60000);
  const started = Date.now();
  const { lab, report } = await startReportingLab('synflood-accepting');
  t.teardown(() => lab.stop());
  const l = report.listeners[0];
  const id: RowId = { netns: lab.netns, port: l.port, pid: lab.pid };
  const kernel = lab.netstat(); // the flood is over: the counters hold still
  const last = await rowWhen(aq, id, Date.now(), (r) => r.cookies === kernel.TcpExtSyncookiesSent);
  if (!last) return t.fail('acceptq showed no row for the listener');
  const h = rowHistory(aq, id).filter((x) => x.t >= started && x.t <= last.t);
  const diags = h.map((x) => diagnosisOf(x.row));
  const texts = [...new Set(diags.filter((d) => d !== null).map((d) => d!.text))];
  t.log(
    `truth: ${report.rawSyns} raw SYNs from 127.0.0.2, ${report.connects} connects at ${report.pacePerSec}/s, ${l.accepted} accepted; ` +
      `kernel SyncookiesSent ${kernel.TcpExtSyncookiesSent} ListenOverflows ${kernel.TcpExtListenOverflows}`,
  );
  t.log(
    `acceptq: cookies ${last.row.cookies} overflows ${last.row.overflows} arrivals ${last.row.arrivals} accepts ${last.row.accepts} ` +
      `waitP99Ms by record ${numbers(h.map((x) => x.row.waitP99Ms)).map((x) => fmt(x, 2)).join(' ')}; namespace syncookies ${last.ns?.syncookies} ` +
      `maxSynBacklog ${last.ns?.maxSynBacklog}; diagnosis kinds by record: ${diags.map((d) => d?.kind ?? '-').join(' ')}; ${JSON.stringify(texts)}`,
  );
  t.true(kernel.TcpExtSyncookiesSent > 0, 'the kernel sent SYN cookies');
  t.is(last.row.cookies, kernel.TcpExtSyncookiesSent, 'cookies = kernel SyncookiesSent');
  t.is(last.row.overflows, kernel.TcpExtListenOverflows, 'overflows = kernel ListenOverflows');
  t.is(last.row.accepts, l.accepted, 'accepts = the connections the lab accepted');
  t.is(last.ns?.syncookies, 1, 'namespace tcp_syncookies');
  t.is(last.ns?.maxSynBacklog, 16, 'namespace tcp_max_syn_backlog');
  t.true(texts.some((d) => /SYN flood/i.test(d)), 'a diagnosis says SYN flood');
  t.false(
    diags.some((d) => d !== null && (d.kind === 'slow-accept' || /slow|bottleneck/i.test(d.text))),
    'none says the application is slow',
  );
});

test.serial('connections reset, closed or left queued, never accepted: no wait, and no entry left in the queued map', async (t) => {
  t.timeout(60000);
  const before = mapCount(queuedMap, 0);
  const watch = new MapWatch(queuedMap);
  t.teardown(() => watch.stop());
  const started = Date.now();
  const { lab, report } = await startReportingLab('abandon');
  watch.stop();
  t.teardown(() => lab.stop());
  const l = report.listeners[0];
  const id: RowId = { netns: lab.netns, port: l.port, pid: lab.pid };
  const n = report.connects;

  // the listener closed before the report: the first record after it
  const closed = await rowWhen(aq, id, Date.now(), (r) => r.closed === true);
  if (!closed) return t.fail('acceptq showed no row for the listener');
  // the map, while acceptq still runs: back to where it was, nothing of this namespace in it
  let after = mapCount(queuedMap, lab.netns);
  for (let i = 0; i < 50 && (after.inNetns > 0 || after.total > before.total); i++) {
    await sleep(100);
    after = mapCount(queuedMap, lab.netns);
  }
  const h = rowHistory(aq, id).filter((x) => x.t >= started);
  const last = h[h.length - 1];
  t.log(
    `truth: ${n} connects, ${l.accepted} accepted after 100 ms, ${report.queuedAtClose} still queued when the listener closed ` +
      `(10 reset by their client, 10 closed by it, 10 open)`,
  );
  t.log(
    `acceptq: waits timed ${waitsOver(h)} (p50 ${numbers(h.map((x) => x.row.waitP50Ms)).map((x) => fmt(x)).join(' ')}) arrivals ${last.row.arrivals} accepts ${last.row.accepts} ` +
      `closed ${last.row.closed}; oldestWaitMs ${h.map((x) => fmt(x.row.oldestWaitMs, 0)).join(' ')}`,
  );
  t.log(
    `queued map: ${before.total} entries before, at most ${watch.most.get(lab.netns) ?? 0} of the scenario's namespace during ` +
      `(${watch.samples} reads), ${after.total} after (${after.inNetns} of the scenario's namespace)`,
  );
  t.is(report.queuedAtClose, 30, 'the lab closed its listener with 30 queued');
  t.is(waitsOver(h), l.accepted, 'waits timed only for the connections accepted (waitCount over the records)');
  t.is(last.row.arrivals, n, 'arrivals = connects');
  t.is(last.row.accepts, l.accepted, 'accepts = the connections the lab accepted');
  t.true((watch.most.get(lab.netns) ?? 0) >= 20, 'the map held the connections waiting (20 at least, besides the reset ones)');
  t.is(after.inNetns, 0, "no entry of the scenario's namespace left");
  if (after.total > before.total) {
    // the machine's other namespaces have connections waiting now: none of them is the scenario's
    const grown = [...after.byNetns].filter(([ns, k]) => k > (before.byNetns.get(ns) ?? 0));
    t.log(`other namespaces' entries grew meanwhile: ${JSON.stringify(grown)}`);
    t.false(grown.some(([ns]) => ns === lab.netns));
  } else {
    t.true(after.total <= before.total, 'the map is back to its size before the scenario');
  }
});
