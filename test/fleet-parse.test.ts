/**
 * The fleet's reading of an exporter: the exposition parser on what the
 * format allows (escapes, label sets, +Inf/NaN, timestamps) and refuses, and
 * every listener figure read back from the real exporter's text equal to the
 * row it was rendered from: the metric names in src/fleet/figures.ts must be
 * the ones src/export/metrics.ts writes, or a figure reads back as 0.
 */
import test from 'ava';
import { renderMetrics, WaitTotals } from '../src/export/metrics';
import { parseExposition, ExpositionError } from '../src/fleet/exposition';
import { hostReadOf, listenerKey, LISTENER_METRICS, NAMESPACE_METRICS, type ListenerFigure } from '../src/fleet/figures';
import { listenerRow, snapshotOf } from './support/rows';
import type { NamespaceRow } from '../src/model/types';

test('labels with escapes, no labels, a timestamp, +Inf, -Inf, NaN', (t) => {
  const s = parseExposition([
    '# HELP a_total A counter.',
    '# TYPE a_total counter',
    'a_total{path="c:\\\\tmp",q="say \\"hi\\"",nl="x\\ny",empty=""} 3',
    '  b 1.5e3 1712345678000  ',
    'c{le="+Inf",} +Inf',
    'd{ x = "1" , y="2" } -Inf',
    'e NaN',
    '',
  ].join('\n'));
  t.is(s.length, 5);
  t.deepEqual(s[0], { name: 'a_total', labels: { path: 'c:\\tmp', q: 'say "hi"', nl: 'x\ny', empty: '' }, value: 3 });
  t.deepEqual(s[1], { name: 'b', labels: {}, value: 1500 });
  t.deepEqual(s[2].labels, { le: '+Inf' });
  t.is(s[2].value, Infinity);
  t.deepEqual(s[3].labels, { x: '1', y: '2' });
  t.is(s[3].value, -Infinity);
  t.true(Number.isNaN(s[4].value));
});

test('malformed lines throw, naming the line', (t) => {
  for (const [text, line] of [
    ['ok 1\n{a="1"} 2', 2],
    ['a{b="1" 2', 1],
    ['a{b=1} 2', 1],
    ['a{b="1" c="2"} 2', 1],
    ['a{b="unterminated} 2', 1],
    ['a one', 1],
    ['a', 1],
    ['a 1 2 3', 1],
    ['a{b="1"}', 1],
  ] as const) {
    const e = t.throws(() => parseExposition(text), { instanceOf: ExpositionError }, text);
    t.regex(e!.message, new RegExp(`^line ${line}: `), text);
  }
});

test('every listener and namespace figure of the real exporter reads back as the row it was rendered from', (t) => {
  const a = listenerRow({
    netns: 4026531840, netnsCookie: 1, address: '0.0.0.0', port: 8080, comm: 'web "front"\\1', pid: 4242, service: 'web.service',
    sockets: 4, backlog: 7, maxBacklog: 511, peakBacklog: 9, synBacklog: 3, overflowsSyn: 11, overflowsAck: 5, overflows: 16,
    synDrops: 2, cookies: 13, estimate: true, arrivals: 1000, accepts: 993, oldestWaitMs: 250, requestedBacklog: 1024,
    lastOverflowMs: 1712345678000, waitCount: 20, waitMeanMs: 0.5, waitHist: [0, 0, 0, 0, 0, 0, 0, 0, 20],
  });
  // IPv6, another namespace, a closed one, figures all 0 but the ones never absent
  const b = listenerRow({ id: 'b', netns: 4026532301, netnsCookie: 8193, family: 6, address: '::', port: 443, comm: 'envoy', pid: 0, closed: true, maxBacklog: 128 });
  const ns: NamespaceRow = {
    host: '', netns: 4026531840, cookie: 1, pid: 1, listenOverflows: 17, listenDrops: 18, syncookiesSent: 14, reqQFullDrops: 3,
    unattributed: 1, unattributedSynDrops: 1, unattributedCookies: 1, unmatched: 2, estimate: true, overflowRate: 0, gone: false,
    somaxconn: 4096, maxSynBacklog: 1024, syncookies: 1, abortOnOverflow: 0,
  };
  const snap = snapshotOf(1712345679000, [a, b], { namespaces: [ns] });
  const text = renderMetrics(snap, new WaitTotals().add(snap), { hostname: 'box-1', kernel: '6.1.0-test', startedS: 1712345000.25 });
  const read = hostReadOf(parseExposition(text));

  t.is(read.hostname, 'box-1');
  t.is(read.kernel, '6.1.0-test');
  t.is(read.startedS, 1712345000.25, 'acceptq_start_time_seconds');
  t.is(read.probe, 'tracepoint');
  t.is(read.listeners.size, 2);
  const want: Record<ListenerFigure, (r: typeof a) => number | null> = {
    overflowsSyn: (r) => r.overflowsSyn, overflowsAck: (r) => r.overflowsAck, synDrops: (r) => r.synDrops, cookies: (r) => r.cookies,
    backlog: (r) => r.backlog, maxBacklog: (r) => r.maxBacklog, peakBacklog: (r) => r.peakBacklog, synBacklog: (r) => r.synBacklog,
    sockets: (r) => r.sockets, estimate: (r) => (r.estimate ? 1 : 0), arrivals: (r) => r.arrivals, accepts: (r) => r.accepts,
    oldestWaitS: (r) => (r.oldestWaitMs ?? 0) / 1000, requestedBacklog: (r) => r.requestedBacklog, pid: (r) => r.pid,
    lastOverflowS: (r) => (r.lastOverflowMs === null ? null : r.lastOverflowMs / 1000),
    waitCount: (r) => r.waitCount, waitSumS: (r) => ((r.waitMeanMs ?? 0) * r.waitCount) / 1000,
  };
  t.deepEqual(Object.keys(want).sort(), Object.keys(LISTENER_METRICS).sort(), 'the test covers every figure the fleet reads');
  for (const row of [a, b]) {
    const l = read.listeners.get(listenerKey({ netns_cookie: String(row.netnsCookie), address: row.address, port: String(row.port) }));
    if (!l) return t.fail(`${row.address}:${row.port} not read back`);
    t.is(l.comm, row.comm);
    t.is(l.service, row.service);
    t.is(l.netns, String(row.netns));
    t.is(l.open, !row.closed);
    for (const [f, v] of Object.entries(want) as Array<[ListenerFigure, (r: typeof a) => number | null]>) {
      const expected = v(row);
      // absent: no sample (unknown); the fleet reads a figure without one as 0, or as unknown where 0 means something
      const present = (LISTENER_METRICS[f] as { present?: boolean }).present;
      const got = l.figures[f] ?? (present ? null : 0);
      t.is(got, expected, `${row.address}:${row.port} ${f} (${LISTENER_METRICS[f].metric})`);
    }
  }
  // a's figures are all non-zero: each came from a sample, under the name figures.ts gives it
  const la = read.listeners.get(listenerKey({ netns_cookie: '1', address: '0.0.0.0', port: '8080' }))!;
  for (const f of Object.keys(LISTENER_METRICS) as ListenerFigure[]) t.not(la.figures[f], undefined, `${f}: no sample named ${LISTENER_METRICS[f].metric}`);

  const n = read.namespaces.get('1');
  if (!n) return t.fail('the namespace not read back');
  t.is(n.netns, '4026531840');
  for (const f of Object.keys(NAMESPACE_METRICS) as Array<keyof typeof NAMESPACE_METRICS>) {
    const expected = f === 'estimate' ? (ns.estimate ? 1 : 0) : (ns as unknown as Record<string, number>)[f];
    t.is(n.figures[f], expected, `namespace ${f} (${NAMESPACE_METRICS[f]})`);
  }
});
