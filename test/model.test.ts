// Unit tests of the model on recorded data: no kernel needed.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Collector, type RawSource } from '../src/model/collector';
import { formatAddress, endpoint } from '../src/model/address';
import { sanitize } from '../src/model/sanitize';
import { Ring } from '../src/model/ring';
import { durationIn, filterSnapshot, sortRows, fill, reconcile, unitFor, WAIT_ESTIMATE_NOTE } from '../src/model/view';
import { RunSummary } from '../src/model/summary';
import { diagnose, diagnoseSnapshot } from '../src/model/diagnosis';
import { histQuantileUs, waitSummary } from '../src/model/wait';
import type { RawListener, RawNetns, RawSnapshot } from '../src/model/raw';
import type { Snapshot } from '../src/model/types';
import { jsonRecord, jsonRecordText } from '../src/output/json';
import { renderTable } from '../src/output/table';
import { renderMetrics, WaitTotals } from '../src/export/metrics';
import { renderSummary } from '../app/cmd/run';
import { parseRecording, RecordingError } from '../src/record/recording';
import { RecordingWriter } from '../src/record/writer';
import { serviceName } from '../src/model/service';
import { fitColumns } from '../ui/columns';
import { privilegeProblem } from '../app/privileges';
import { parseOptions, UsageError } from '../app/options';
import { ROOT } from '../harness/paths';
import { RAW_STATS, rawListener, rawNetns, v4 } from './support/raw';

const listener = rawListener;
const netns = rawNetns;
const stats = RAW_STATS;

/** Replays recorded raw snapshots, one per tick, with a clock that advances 1 s per tick. */
function replay(frames: RawSnapshot[]): { source: RawSource; now: () => number } {
  let i = -1;
  let t = 1_700_000_000_000;
  return {
    source: { probe: 'tracepoint', snapshot: () => frames[++i], drain: () => [] },
    now: () => (t += 1000),
  };
}

// A recording: a web server on :80 starts overflowing in the second interval;
// the namespace already had 1000 overflows when acceptq attached.
const atStart = { listenOverflows: 1000 };
const frames: RawSnapshot[] = [
  { listeners: [listener({})], namespaces: [netns({ listenOverflows: 1000, start: atStart })], stats },
  { listeners: [listener({ overflowsSyn: 40, overflowsAck: 2, backlog: 129, peakBacklog: 129 })], namespaces: [netns({ listenOverflows: 1042, attributed: 42, start: atStart })], stats },
  { listeners: [listener({ overflowsSyn: 100, overflowsAck: 2, backlog: 129, peakBacklog: 129 })], namespaces: [netns({ listenOverflows: 1105, attributed: 102, start: atStart })], stats },
];

test('collector: rates per interval, namespace deltas from start, and the unattributed gap', (t) => {
  const { source, now } = replay(frames);
  const c = new Collector(source, 1, now);
  const s0 = c.tick();
  t.is(s0.listeners[0].overflowRate, 0);
  t.is(s0.namespaces[0].listenOverflows, 0, 'counted from start, not since boot');
  const s1 = c.tick();
  t.is(s1.listeners[0].overflows, 42);
  t.is(s1.listeners[0].overflowRate, 42);
  t.is(s1.namespaces[0].listenOverflows, 42);
  t.is(s1.namespaces[0].unattributed, 0);
  const s2 = c.tick();
  t.is(s2.listeners[0].overflowRate, 60);
  t.is(s2.namespaces[0].listenOverflows, 105);
  t.is(s2.namespaces[0].unattributed, 3, 'the kernel counted 3 that no listener got');
  t.is(s2.kernelRate, 63);
  t.is(s2.attributedRate, 60);
});

test('collector: a namespace made after start counts from zero; a recycled inode is a new namespace', (t) => {
  const { source, now } = replay([
    { listeners: [], namespaces: [], stats },
    { listeners: [listener({ netnsCookie: 7, netns: 99, overflowsSyn: 5 })], namespaces: [netns({ netns: 99, cookie: 7, listenOverflows: 5, attributed: 5 })], stats },
    {
      listeners: [
        listener({ netnsCookie: 7, netns: 99, overflowsSyn: 5, closedMs: 1 }),
        listener({ netnsCookie: 8, netns: 99, overflowsSyn: 2 }),
      ],
      namespaces: [netns({ netns: 99, cookie: 8, listenOverflows: 2, attributed: 2 })],
      stats,
    },
  ]);
  const c = new Collector(source, 1, now);
  c.tick();
  const s1 = c.tick();
  t.is(s1.namespaces[0].listenOverflows, 5);
  t.is(s1.listeners[0].overflowRate, 5, 'a row first seen now had its overflows in this interval');
  const s2 = c.tick();
  t.is(s2.listeners.length, 2);
  t.not(s2.listeners[0].id, s2.listeners[1].id, 'same inode, address and port, different namespaces');
  t.is(s2.namespaces[0].unattributed, 0, 'the closed row of the old namespace is not counted against the new one');
  t.true(s2.listeners.find((l) => l.netnsCookie === 7)!.closed);
});

test('ring buffer keeps the newest values in order and never grows', (t) => {
  const r = new Ring(3);
  for (const v of [1, 2, 3, 4, 5]) r.push(v);
  t.deepEqual(r.values(), [3, 4, 5]);
  t.is(r.length, 3);
  t.deepEqual(r.last(5), [0, 0, 3, 4, 5]);
  t.deepEqual(r.last(2), [4, 5]);
  t.is(r.max(), 5);
  t.throws(() => new Ring(0));
});

test('addresses: IPv4, IPv6 compressed, v4-mapped, endpoints', (t) => {
  t.is(formatAddress(4, v4('10.1.2.3')), '10.1.2.3');
  const loop6 = Buffer.alloc(16);
  loop6[15] = 1;
  t.is(formatAddress(6, loop6), '::1');
  t.is(formatAddress(6, Buffer.alloc(16)), '::');
  const mapped = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
  t.is(formatAddress(6, mapped), '::ffff:127.0.0.1');
  const doc = Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2]);
  t.is(formatAddress(6, doc), '2001:db8::1:0:0:2');
  t.is(endpoint(6, '::1', 80), '[::1]:80');
  t.is(endpoint(4, '1.2.3.4', 80), '1.2.3.4:80');
});

test('kernel strings are sanitised before they reach a terminal', (t) => {
  t.is(sanitize('evil\u001b[2Jx\u0007'), 'evil?[2Jx?');
  const s = new Collector(replay([{ listeners: [listener({ comm: 'a\u001b]0;pwned\u0007' })], namespaces: [], stats }]).source).tick();
  t.false(JSON.stringify(jsonRecord(s, 1)).includes('\u001b'));
  t.false(renderTable(s).includes('\u001b'));
});

test('sorting: rate first, then total; reverse; text keys ascending', (t) => {
  const { source, now } = replay([
    { listeners: [listener({ port: 1 }), listener({ port: 2 }), listener({ port: 3 })], namespaces: [], stats },
    { listeners: [listener({ port: 1, overflowsSyn: 10 }), listener({ port: 2, overflowsSyn: 50 }), listener({ port: 3, overflowsSyn: 10, comm: 'a' })], namespaces: [], stats },
  ]);
  const c = new Collector(source, 1, now);
  c.tick();
  const rows = c.tick().listeners;
  t.deepEqual(sortRows(rows).map((r) => r.port), [2, 1, 3]);
  t.deepEqual(sortRows(rows, 'rate', true).map((r) => r.port), [3, 1, 2]);
  t.deepEqual(sortRows(rows, 'comm').map((r) => r.port), [3, 2, 1]);
  t.deepEqual(sortRows(rows, 'port').map((r) => r.port), [3, 2, 1]);
});

test('filtering by port, pid, netns and free text narrows rows, namespaces and events', (t) => {
  const s = new Collector(replay([{
    listeners: [listener({ port: 80, cgroup: '/system.slice/nginx.service' }), listener({ port: 443, pid: 20, comm: 'envoy', netnsCookie: 2, netns: 5 })],
    namespaces: [netns({}), netns({ netns: 5, cookie: 2 })],
    stats,
  }]).source).tick();
  t.is(filterSnapshot(s, { port: 443 }).listeners.length, 1);
  t.is(filterSnapshot(s, { pid: 10 }).listeners[0].port, 80);
  t.deepEqual(filterSnapshot(s, { netns: '5' }).namespaces.map((n) => n.netns), [5]);
  t.deepEqual(filterSnapshot(s, { netns: '2' }).listeners.map((r) => r.port), [443], 'a cookie names the namespace too');
  t.is(filterSnapshot(s, { text: 'ENVOY' }).listeners[0].port, 443);
  t.deepEqual(filterSnapshot(s, { text: 'nginx.serv' }).listeners.map((r) => r.port), [80], 'the service is searched too');
  t.is(filterSnapshot(s, { text: 'nomatch' }).listeners.length, 0);
  t.is(filterSnapshot(s, {}), s);
});

test('fill counts the extra connection the kernel admits', (t) => {
  const s = new Collector(replay([{ listeners: [listener({ backlog: 129, maxBacklog: 128 })], namespaces: [], stats }]).source).tick();
  t.is(fill(s.listeners[0]), 1);
});

test('privileges: CAP_SYS_ADMIN is what matters', (t) => {
  t.is(privilegeProblem(1n << 21n), null);
  t.regex(privilegeProblem(0n)!, /needs root.*sudo/);
  t.regex(privilegeProblem((1n << 38n) | (1n << 39n))!, /CAP_SYS_ADMIN/);
});

test('options: defaults and validation', (t) => {
  const o = parseOptions(['--json', '--port', '80', '--interval', '0.5']);
  t.true(typeof o === 'object' && o.mode === 'json' && o.filter.port === 80 && o.interval === 0.5 && o.probe === 'auto');
  t.throws(() => parseOptions(['--pid', '-1']), { instanceOf: UsageError });
  t.throws(() => parseOptions(['--events-per-sec', '1.5']), { instanceOf: UsageError });
  t.is(parseOptions(['--help']), 'help');
});

// ---- exact counts, estimates and gaps (ABI 2) ----

test('collector: every gap either way, unmatched, estimates, and a namespace with counter moves but no listener', (t) => {
  const start = { attributed: 10, attributedSynDrops: 1, attributedCookies: 2, unmatched: 3, listenOverflows: 10, reqQFullDrop: 1, syncookiesSent: 2 };
  const { source, now } = replay([
    { listeners: [listener({})], namespaces: [netns({ start, attributed: 10, attributedSynDrops: 1, attributedCookies: 2, unmatched: 3, listenOverflows: 10, reqQFullDrop: 1, syncookiesSent: 2 })], stats },
    {
      listeners: [
        listener({ port: 80, overflowsSyn: 7, synDrops: 4, cookies: 9, estimate: true }),
        listener({ port: 81, overflowsAck: 5, estimate: true }),
      ],
      namespaces: [
        // the kernel: 10 more overflows, 5 more SYN-queue drops, 6 more cookies; credited: 12, 4, 9; 2 unmatched
        netns({ start, listenOverflows: 20, reqQFullDrop: 6, syncookiesSent: 8, attributed: 22, attributedSynDrops: 5, attributedCookies: 11, unmatched: 5, estimate: true }),
        // a namespace with no listener row whose counters moved: its gap shows
        netns({ netns: 77, cookie: 9, listenOverflows: 4, reqQFullDrop: 1 }),
        // one with no listener and no move stays out
        netns({ netns: 78, cookie: 10 }),
      ],
      stats,
    },
  ]);
  const c = new Collector(source, 1, now);
  const s0 = c.tick();
  t.like(s0.namespaces[0], { unattributed: 0, unattributedSynDrops: 0, unattributedCookies: 0, unmatched: 0, estimate: false });
  const s1 = c.tick();
  const [ns, orphan] = s1.namespaces;
  t.like(ns, { listenOverflows: 10, reqQFullDrops: 5, syncookiesSent: 6, estimate: true });
  t.is(ns.unattributed, -2, 'acceptq credited 2 more overflows than the kernel counted: not clamped');
  t.is(ns.unattributedSynDrops, 1);
  t.is(ns.unattributedCookies, -3);
  t.is(ns.unmatched, 2);
  t.truthy(orphan, 'a namespace whose counters moved without a listener row is kept');
  t.like(orphan, { netns: 77, listenOverflows: 4, reqQFullDrops: 1, unattributed: 4, unattributedSynDrops: 1 });
  t.is(s1.namespaces.length, 2, 'a namespace with no row and no move is left out');
  t.is(s1.kernelRate, 14, 'the kernel rate counts the namespace without a row');
  t.true(s1.listeners.every((l) => l.estimate));
});

test('reconcile: gaps of +3 and -3 in two namespaces do not cancel', (t) => {
  const ns = (unattributed: number, estimate = false) => ({
    host: '', netns: 1, cookie: 1, pid: 0, listenOverflows: 0, listenDrops: 0, syncookiesSent: 0, reqQFullDrops: 0, unattributed,
    unattributedSynDrops: 0, unattributedCookies: 0, unmatched: 0, estimate, overflowRate: 0, gone: false,
    somaxconn: 4096, maxSynBacklog: 512, syncookies: 1, abortOnOverflow: 0,
  });
  t.deepEqual(reconcile([ns(3), ns(-3), ns(0)]), { gap: 6, namespaces: 2, estimate: false });
  t.deepEqual(reconcile([ns(0), ns(0, true)]), { gap: 0, namespaces: 0, estimate: true });
});

/** Two listeners of one namespace, one with an estimated split, and the namespace's gaps. */
function estimated(): Snapshot {
  const { source, now } = replay([{
    listeners: [
      listener({ port: 80, overflowsSyn: 40, overflowsAck: 2, synDrops: 3, cookies: 5, estimate: true }),
      listener({ port: 443, overflowsSyn: 7 }),
    ],
    namespaces: [netns({ listenOverflows: 50, attributed: 49, reqQFullDrop: 3, attributedSynDrops: 5, syncookiesSent: 5, attributedCookies: 5, unmatched: 1, estimate: true })],
    stats,
  }]);
  return new Collector(source, 1, now).tick();
}

test('--once table: estimated figures carry ~, a footnote explains it, the namespace line shows every gap', (t) => {
  const out = renderTable(estimated());
  const lines = out.split('\n');
  const est = lines.find((l) => l.includes('127.0.0.1:80 '))!.trim().split(/\s+/);
  t.deepEqual(est.slice(8, 14), ['~42', '~40', '~2', '~0.0', '~3', '~5']);
  const exact = lines.find((l) => l.includes('127.0.0.1:443 '))!.trim().split(/\s+/);
  t.deepEqual(exact.slice(8, 14), ['7', '7', '0', '0.0', '0', '0'], 'an exact row has no ~');
  t.truthy(lines.find((l) => l.startsWith('~ estimate:')), out);
  t.true(out.includes('netns 4026531840: kernel since acceptq started: ListenOverflows 50, ListenDrops 0, TCPReqQFullDrop 3, SyncookiesSent 5; ' +
    'unattributed overflows 1, SYN-queue drops -2, cookies 0; unmatched 1; split among its listeners: estimate'), out);
  const plain = renderTable(new Collector(replay([{ listeners: [listener({ overflowsSyn: 1 })], namespaces: [netns({})], stats }]).source).tick());
  t.false(plain.includes('~'), 'no estimate, no ~ and no footnote');
});

test('JSON: listeners[].estimate and every namespace gap, as documented in docs/json.md', (t) => {
  const rec = jsonRecord(estimated(), 1) as any;
  t.is(rec.listeners[0].estimate, true);
  t.is(rec.listeners[1].estimate, false);
  t.like(rec.namespaces[0], { unattributed: 1, unattributedSynDrops: -2, unattributedCookies: 0, unmatched: 1, estimate: true });
  t.false('id' in rec.listeners[0] || 'cookie' in rec.namespaces[0] || 'listenerId' in (rec.events[0] ?? {}), 'internal fields stay out');
  t.is(rec.listeners[0].netnsCookie, '1', 'the namespace id, as exact decimal text');
  t.is(rec.namespaces[0].netnsCookie, '1');
  t.is(typeof rec.listeners[0].firstOverflow, 'object', 'times are ISO strings or null');
  // every field written is documented, and the docs no longer promise exact counts unconditionally
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'json.md'), 'utf8');
  for (const k of [...Object.keys(rec.listeners[0]), ...Object.keys(rec.namespaces[0])]) t.regex(doc, new RegExp('`' + k + '`'), k);
  t.false(doc.includes('counts are never lost'));
});

/** The field names in the first column of a `## heading` table of docs/json.md ("`address`, `port`" is two). */
function documentedFields(heading: string): string[] {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'json.md'), 'utf8');
  const start = doc.indexOf(`\n## ${heading}\n`);
  const end = doc.indexOf('\n## ', start + 1);
  const table = doc.slice(start, end).split('\n').filter((l) => /^\| *`/.test(l));
  return table.flatMap((l) => [...l.split('|')[1].matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)].map((m) => m[1]));
}

test('the JSON rows have exactly the fields docs/json.md documents', (t) => {
  const rec = jsonRecord(estimated(), 1) as any;
  const listeners = documentedFields('`listeners[]`');
  const namespaces = documentedFields('`namespaces[]`');
  t.true(listeners.length > 30 && namespaces.length > 15, `the tables were found (${listeners.length}, ${namespaces.length})`);
  t.deepEqual(Object.keys(rec.listeners[0]).sort(), [...listeners].sort(), 'listeners[]');
  t.deepEqual(Object.keys(rec.namespaces[0]).sort(), [...namespaces].sort(), 'namespaces[]');
});

test('metrics: acceptq_listener_estimate and the namespace gaps', (t) => {
  const body = renderMetrics(estimated());
  t.regex(body, /^acceptq_listener_estimate\{netns="4026531840",netns_cookie="1",address="127\.0\.0\.1",port="80",comm="nginx"\} 1$/m);
  t.regex(body, /^acceptq_listener_estimate\{netns="4026531840",netns_cookie="1",address="127\.0\.0\.1",port="443",comm="nginx"\} 0$/m);
  t.regex(body, /^acceptq_namespace_unattributed_overflows\{netns="4026531840",netns_cookie="1"\} 1$/m);
  t.regex(body, /^acceptq_namespace_unattributed_syn_queue_drops\{netns="4026531840",netns_cookie="1"\} -2$/m);
  t.regex(body, /^acceptq_namespace_unattributed_syncookies\{netns="4026531840",netns_cookie="1"\} 0$/m);
  t.regex(body, /^acceptq_namespace_unmatched_total\{netns="4026531840",netns_cookie="1"\} 1$/m);
  t.regex(body, /^acceptq_namespace_estimate\{netns="4026531840",netns_cookie="1"\} 1$/m);
  t.regex(body, /^# TYPE acceptq_listener_estimate gauge$/m);
});

test('run summary: estimates are sticky and marked, namespace gaps during the run are listed', (t) => {
  const start = estimated();
  const s = new RunSummary();
  const plain = { ...start, listeners: start.listeners.map((l) => ({ ...l, estimate: false })), namespaces: start.namespaces.map((n) => ({ ...n, estimate: false })) };
  s.add(plain);
  const later = { ...start, timeMs: start.timeMs + 1000, listeners: start.listeners.map((l) => ({ ...l, overflows: l.overflows + 10, overflowsSyn: l.overflowsSyn + 10 })) };
  later.namespaces = start.namespaces.map((n) => ({ ...n, unattributed: n.unattributed - 3 }));
  s.add(later);
  s.add({ ...later, timeMs: later.timeMs + 1000, listeners: later.listeners.map((l) => ({ ...l, estimate: false })) });
  const rows = s.pressured();
  t.true(rows.find((r) => r.port === 80)!.estimate, 'once an estimate, always');
  t.false(rows.find((r) => r.port === 443)!.estimate);
  t.deepEqual(s.gaps(), [{ host: '', netns: 4026531840, unattributed: -3, unattributedSynDrops: 0, unattributedCookies: 0, unmatched: 0, estimate: true }]);
  const out = renderSummary(rows, 'head', s.gaps());
  t.regex(out, /127\.0\.0\.1:80 .* ~10 +~10 +~0 /);
  t.regex(out, /^~ estimate:/m);
  t.regex(out, /^netns 4026531840 during the run: unattributed overflows -3, SYN-queue drops 0, cookies 0; unmatched 0; split among its listeners: estimate$/m);
});

// the fields format 2 added for "why it overflows"
const WHY_FIELDS = ['requestedBacklog', 'arrivals', 'accepts', 'arrivalRate', 'acceptRate', 'oldestWaitMs', 'waitCount', 'waitMeanMs',
  'waitMinMs', 'waitMaxMs', 'waitP50Ms', 'waitP99Ms', 'waitHist'];
const SYSCTLS = ['somaxconn', 'maxSynBacklog', 'syncookies', 'abortOnOverflow'];

const header = (format: number) => JSON.stringify({ acceptqRecording: { format, started: '2026-01-01T00:00:00.000Z', host: 'h', kernel: 'k', probe: 'tracepoint', intervalS: 1 } });

test('recordings: format 2 round-trips the new fields; a format-1 line replays with estimate false and gaps 0', (t) => {
  const s = estimated();
  const back = parseRecording(`${header(2)}\n${JSON.stringify(s)}\n`).snapshots[0];
  t.deepEqual(back, s, 'everything the model has, read back as it was');
  // a line written by format 1: no estimate, no new gaps
  const v1 = JSON.parse(JSON.stringify(s));
  for (const l of v1.listeners) delete l.estimate;
  for (const n of v1.namespaces) for (const k of ['unattributedSynDrops', 'unattributedCookies', 'unmatched', 'estimate', ...SYSCTLS]) delete n[k];
  for (const l of v1.listeners) for (const k of WHY_FIELDS) delete l[k];
  const old = parseRecording(`${header(1)}\n${JSON.stringify(v1)}\n`).snapshots[0];
  t.true(old.listeners.every((l) => l.estimate === false));
  t.like(old.namespaces[0], { unattributed: 1, unattributedSynDrops: 0, unattributedCookies: 0, unmatched: 0, estimate: false });
  t.is(old.listeners[0].overflows, 42);
  // the same line claiming format 2 is refused: the validator checks the new fields
  t.throws(() => parseRecording(`${header(2)}\n${JSON.stringify(v1)}\n`), { instanceOf: RecordingError, message: /line 2: requestedBacklog is not a number/ });
  const bad = JSON.parse(JSON.stringify(s));
  bad.namespaces[0].unmatched = 'x';
  t.throws(() => parseRecording(`${header(2)}\n${JSON.stringify(bad)}\n`), { message: /line 2: unmatched is not a number/ });
});

test('dependencies: the model knows nothing of the FFI binding, the outputs or the dashboard', (t) => {
  const dir = path.join(ROOT, 'src', 'model');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    t.notRegex(text, /from '\.\.\/(native|output|record|export|cmd|cli)|from '\.\.\/\.\.\/ui/, f);
  }
  for (const f of fs.readdirSync(path.join(ROOT, 'ui')).filter((x) => x.endsWith('.ts'))) {
    t.notRegex(fs.readFileSync(path.join(ROOT, 'ui', f), 'utf8'), /from '\.\.\/src\/cli'/, f);
  }
});

// ---- why it overflows: traffic, waits, diagnoses (issue 11) ----

/** A histogram with the given buckets set. */
const hist = (b: Record<number, number>) => Array.from({ length: 24 }, (_, i) => b[i] ?? 0);

/** Two ticks of one listener (and its namespace): the interval from `before` to `after`, 1 s apart. */
function interval(before: Partial<RawListener>, after: Partial<RawListener>, ns: Partial<RawNetns> = {}): { s0: Snapshot; s1: Snapshot } {
  const { source, now } = replay([
    { listeners: [listener(before)], namespaces: [netns(ns)], stats },
    { listeners: [listener(after)], namespaces: [netns(ns)], stats },
  ]);
  const c = new Collector(source, 1, now);
  return { s0: c.tick(), s1: c.tick() };
}

test('collector: arrivals and accepts with their rates, the interval wait summary, p50/p99 clamped under a constant delay', (t) => {
  // 60 accepts timed at 49.5..50.5 ms (all in bucket 15: 32.768..65.536 ms), after 5 earlier ones of ~10 µs
  const { s0, s1 } = interval(
    { arrivals: 100, accepts: 100, waited: 5, waitSumUs: 50, waitHist: hist({ 3: 5 }), waitMinUs: 8, waitMaxUs: 12 },
    { arrivals: 2000, accepts: 1300, waited: 65, waitSumUs: 50 + 60 * 50000, waitHist: hist({ 3: 5, 15: 60 }), waitMinUs: 49500, waitMaxUs: 50500,
      oldestWaitUs: 120000, requestedBacklog: 4096 },
  );
  const a = s0.listeners[0];
  t.like(a, { arrivals: 100, accepts: 100, arrivalRate: 0, acceptRate: 0, waitCount: 5, oldestWaitMs: null, requestedBacklog: null });
  const r = s1.listeners[0];
  t.like(r, { arrivals: 2000, accepts: 1300, arrivalRate: 1900, acceptRate: 1200, oldestWaitMs: 120, requestedBacklog: 4096, waitCount: 60 });
  t.is(r.waitMeanMs, 50, 'exact: the sum over the count');
  t.is(r.waitMinMs, 49.5);
  t.is(r.waitMaxMs, 50.5);
  t.deepEqual(r.waitHist, hist({ 15: 60 }), "the interval's bucket deltas");
  // unclamped, the median would be 49.152 and the p99 65.2: inside the bucket, then clamped to [min, max]
  t.true(Math.abs(r.waitP50Ms! - 50) <= 5, `p50 ${r.waitP50Ms}`);
  t.true(r.waitP99Ms! >= 49.5 && r.waitP99Ms! <= 50.5, `p99 ${r.waitP99Ms}`);
});

test('wait summary: interpolation inside a bucket, nothing timed, and extremes that cannot be the histogram\'s', (t) => {
  t.is(histQuantileUs(hist({ 10: 10 }), 0.5), 1536, 'half way through [1024, 2048) µs');
  t.is(histQuantileUs(hist({ 0: 1, 10: 1 }), 0.25), 1, 'bucket 0 spans [0, 2) µs');
  t.is(histQuantileUs(hist({}), 0.5), null);
  t.like(waitSummary(0, 0, hist({}), 0, 0), { waitCount: 0, waitMeanMs: null, waitMinMs: null, waitMaxMs: null, waitP50Ms: null, waitP99Ms: null });
  // the interval's waits were timed after the kernel side began the next one: no extremes to trust, no clamping
  const w = waitSummary(60, 3_000_000, hist({ 15: 60 }), 0, 0);
  t.like(w, { waitMeanMs: 50, waitMinMs: null, waitMaxMs: null, waitP50Ms: 49.152 });
  t.like(waitSummary(3, 0, hist({ 0: 3 }), 0, 0), { waitMinMs: 0, waitMaxMs: 0, waitP50Ms: 0, waitP99Ms: 0 }, 'zero waits are waits');
});

test('diagnosis: the application is the bottleneck', (t) => {
  const { s0, s1 } = interval(
    { arrivals: 0, accepts: 0, backlog: 129, maxBacklog: 128 },
    { arrivals: 1200, accepts: 1200, overflowsSyn: 700, backlog: 129, maxBacklog: 128, oldestWaitUs: 107000 },
  );
  const d = diagnoseSnapshot(s1, s0).get(s1.listeners[0].id)!;
  t.is(d.kind, 'slow-accept');
  t.is(d.verdict, 'the application accepts 1,200/s while 1,900/s arrive: it is the bottleneck (accept faster, more workers)');
  t.is(d.basis, 'accepts 1200/s, arrivals 1200/s + overflows 700/s, queue 129/128, oldest wait 107ms');
  // io_uring or not, an application that never accepts is the bottleneck
  const stuck = interval({ backlog: 129 }, { backlog: 129, overflowsAck: 50, oldestWaitUs: 4_000_000 });
  t.like(diagnose(stuck.s1.listeners[0], stuck.s1.namespaces[0]), { kind: 'slow-accept', verdict: 'the application accepts 0/s while 50/s arrive: it is the bottleneck (accept faster, more workers)' });
});

test('diagnosis: listen() backlog cut by net.core.somaxconn', (t) => {
  const { s0, s1 } = interval(
    { requestedBacklog: 4096, maxBacklog: 128 },
    { requestedBacklog: 4096, maxBacklog: 128, arrivals: 1000, accepts: 1000, overflowsSyn: 50, waited: 1000, waitSumUs: 1_000_000, waitHist: hist({ 9: 1000 }), waitMinUs: 600, waitMaxUs: 1000 },
    { somaxconn: 128 },
  );
  const d = diagnoseSnapshot(s1, s0).get(s1.listeners[0].id)!;
  t.is(d.kind, 'somaxconn');
  t.is(d.verdict, 'listen(4096) was cut to 128 by net.core.somaxconn: raise net.core.somaxconn');
  t.is(d.basis, 'listen() asked 4096, limit 128, sockets 1, somaxconn 128, accepts 1000/s, arrivals 1000/s, overflows 50/s, queue 0/128');
  // per socket: a SO_REUSEPORT group of 4 that each asked for 4096
  const group = interval({}, { sockets: 4, requestedBacklog: 4 * 4096, maxBacklog: 4 * 128, overflowsSyn: 5, arrivals: 100, accepts: 100 }, { somaxconn: 128 });
  t.is(diagnose(group.s1.listeners[0], group.s1.namespaces[0])?.verdict, 'listen(4096) was cut to 128 by net.core.somaxconn: raise net.core.somaxconn');
});

test('diagnosis: bursts outgrow a backlog the application keeps pace with', (t) => {
  // accepts equal arrivals, the queue empty now and waits short: the drops came in a burst
  const { s0, s1 } = interval(
    { maxBacklog: 128 },
    { maxBacklog: 128, requestedBacklog: 128, arrivals: 300, accepts: 300, overflowsSyn: 200, waited: 300, waitSumUs: 900_000, waitHist: hist({ 11: 300 }), waitMinUs: 2100, waitMaxUs: 3900 },
  );
  const d = diagnoseSnapshot(s1, s0).get(s1.listeners[0].id)!;
  t.is(d.kind, 'burst');
  t.is(d.verdict, 'overflows in bursts while accepts keep pace: raise the backlog');
  t.regex(d.basis, /^accepts 300\/s, arrivals 300\/s, overflows 200\/s, queue 0\/128, wait p99 ~3\.90ms$/);
  // caught mid-burst: the queue full, accepts well below the demand, but drained in 20 ms where the interval's
  // accept rate would take 257 ms: the application idles between bursts, it is not the bottleneck
  const mid = interval({}, { maxBacklog: 128, backlog: 129, arrivals: 497, accepts: 497, overflowsSyn: 410, oldestWaitUs: 10600,
    waited: 497, waitSumUs: 497 * 10_000, waitHist: hist({ 13: 300, 14: 197 }), waitMinUs: 9000, waitMaxUs: 21000 });
  t.is(diagnose(mid.s1.listeners[0], mid.s1.namespaces[0])?.kind, 'burst');
  // and a closed listener has nothing to fix
  const gone = interval({}, { overflowsSyn: 50, closedMs: 1 });
  t.is(diagnose(gone.s1.listeners[0], gone.s1.namespaces[0]), null);
});

test('diagnosis: SYN queue full and cookies sent, preferred while accepts keep pace', (t) => {
  const before = { arrivals: 0, accepts: 0 };
  const flood = interval(before, { arrivals: 1000, accepts: 1000, cookies: 850, overflowsSyn: 100, backlog: 5, synBacklog: 128 });
  const d = diagnoseSnapshot(flood.s1, flood.s0).get(flood.s1.listeners[0].id)!;
  t.is(d.kind, 'syn-queue');
  t.is(d.verdict, 'SYN queue full and cookies sent: a SYN flood, or a listen() backlog too small (it caps the SYN queue)');
  t.is(d.basis, 'SYN-queue drops 0/s, SYN cookies 850/s, accepts 1000/s, arrivals 1000/s, overflows 100/s, SYN queue 128, tcp_max_syn_backlog 512, tcp_syncookies 1');
  const drops = interval(before, { synDrops: 30, arrivals: 10, accepts: 10 }, { syncookies: 0 });
  t.is(diagnoseSnapshot(drops.s1, drops.s0).get(drops.s1.listeners[0].id)?.verdict, 'SYN queue full and SYNs dropped: a SYN flood, or the backlog or tcp_max_syn_backlog too small');
  // the same cookies with an application that cannot keep up: that comes first
  const slow = interval({ ...before, backlog: 129 }, { arrivals: 100, accepts: 100, cookies: 850, overflowsSyn: 100, backlog: 129, oldestWaitUs: 500000 });
  t.is(diagnoseSnapshot(slow.s1, slow.s0).get(slow.s1.listeners[0].id)?.kind, 'slow-accept');
  // without the snapshot before, the SYN side has no rate
  t.is(diagnoseSnapshot(flood.s1, null).get(flood.s1.listeners[0].id)?.kind, 'burst');
});

test('diagnosis: none for a listener that keeps up', (t) => {
  const { s0, s1 } = interval(
    { arrivals: 1000, accepts: 1000 },
    { arrivals: 6000, accepts: 5990, backlog: 10, waited: 5000, waitSumUs: 250_000, waitHist: hist({ 5: 5000 }), waitMinUs: 32, waitMaxUs: 63, oldestWaitUs: 40 },
  );
  t.is(diagnoseSnapshot(s1, s0).size, 0);
  t.is(diagnose(s1.listeners[0], s1.namespaces[0]), null);
  // a full queue nothing is taken from, its oldest connection waiting 9 s: stuck, though nothing drops yet
  const quiet = interval({ backlog: 129 }, { backlog: 129, oldestWaitUs: 9_000_000 });
  t.like(diagnose(quiet.s1.listeners[0], quiet.s1.namespaces[0]), { kind: 'slow-accept', verdict: 'the application accepts nothing while its queue is full: it is stuck or far too slow (accept faster, more workers)' });
  // but a full queue taken from just now (waits short) is not
  const brief = interval({ backlog: 129 }, { backlog: 129, oldestWaitUs: 20_000 });
  t.is(diagnose(brief.s1.listeners[0], brief.s1.namespaces[0]), null);
});

/** The bottleneck interval, for the views. */
function slowApp(): { s0: Snapshot; s1: Snapshot } {
  return interval(
    { arrivals: 0, accepts: 0, backlog: 129, maxBacklog: 128, requestedBacklog: 4096 },
    { arrivals: 1200, accepts: 1200, overflowsSyn: 700, backlog: 129, maxBacklog: 128, requestedBacklog: 4096, oldestWaitUs: 107000,
      waited: 1200, waitSumUs: 1200 * 100_000, waitHist: hist({ 16: 1200 }), waitMinUs: 90_000, waitMaxUs: 110_000 },
    { somaxconn: 128 },
  );
}

test('JSON: the record written as text (each unchanged row\'s text reused) is JSON.stringify of the record, tick after tick', (t) => {
  // an idle row beside one that overflows: the idle row is the same object every tick, its text reused
  const idle = listener({ port: 8080 });
  const busy = (n: number) => listener({ overflowsSyn: n, backlog: 129, peakBacklog: 129, arrivals: 10 * n, accepts: 9 * n });
  const { source, now } = replay([0, 40, 100, 100, 100].map((n) => ({ listeners: [busy(n), idle], namespaces: [netns({ listenOverflows: n, attributed: n })], stats })));
  const c = new Collector(source, 1, now);
  let prev: Snapshot | null = null;
  for (let i = 0; i < 5; i++) {
    const s = c.tick();
    const text = jsonRecordText(s, 1, prev);
    t.is(text, JSON.stringify(jsonRecord(s, 1, prev)), `tick ${i}`);
    t.is(jsonRecordText(s, 1, prev), text, 'written again from the kept texts: the same');
    prev = s;
  }
  const { s0, s1 } = slowApp();
  t.is(jsonRecordText(s1, 1, s0), JSON.stringify(jsonRecord(s1, 1, s0)), 'with a diagnosis');
});

test('JSON: the new listener and namespace fields, rounded, with the diagnosis; docs say what is estimated', (t) => {
  const { s0, s1 } = slowApp();
  const rec = jsonRecord(s1, 1, s0) as any;
  const l = rec.listeners[0];
  t.like(l, {
    requestedBacklog: 4096, arrivals: 1200, accepts: 1200, arrivalRate: 1200, acceptRate: 1200, oldestWaitMs: 107,
    waitCount: 1200, waitMeanMs: 100, waitMinMs: 90, waitMaxMs: 110,
  });
  t.true(l.waitP50Ms >= 90 && l.waitP50Ms <= 110 && l.waitP99Ms <= 110);
  t.deepEqual(l.waitHist, hist({ 16: 1200 }));
  t.deepEqual(Object.keys(l.diagnosis), ['kind', 'verdict', 'basis']);
  // the backlog was cut by somaxconn too: that is named first, the slow application beside it
  t.is(l.diagnosis.kind, 'somaxconn');
  t.regex(l.diagnosis.verdict, /net\.core\.somaxconn; the application also accepts 1,200\/s while 1,900\/s arrive$/);
  t.like(rec.namespaces[0], { somaxconn: 128, maxSynBacklog: 512, syncookies: 1, abortOnOverflow: 0 });
  const first = (jsonRecord(s0, 1) as any).listeners[0];
  t.like(first, { requestedBacklog: 4096, waitMeanMs: null, waitP99Ms: null, oldestWaitMs: null });
  // no rates yet, but a full queue whose backlog somaxconn cut: that is what to fix
  t.is(first.diagnosis?.kind, 'somaxconn');
  // a wait in ms keeps its microseconds, no more
  const { s1: odd } = interval({}, { waited: 3, waitSumUs: 1000, waitHist: hist({ 8: 3 }), waitMinUs: 300, waitMaxUs: 400 });
  t.is((jsonRecord(odd, 1) as any).listeners[0].waitMeanMs, 0.333);
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'json.md'), 'utf8');
  for (const k of [...Object.keys(l), ...Object.keys(rec.namespaces[0]), 'diagnosis.kind', 'diagnosis.verdict', 'diagnosis.basis']) t.regex(doc, new RegExp('`' + k.replace('.', '\\.') + '`'), k);
  t.regex(doc, /`waitP50Ms` and\s+`waitP99Ms` are \*\*estimates\*\*/);
  t.regex(doc, /io_uring/);
});

test('--once table: arrivals, accepts, wait p99, oldest, what listen() asked for when cut, and a note per diagnosis', (t) => {
  const { s0, s1 } = slowApp();
  const out = renderTable(s1, s0);
  const lines = out.split('\n');
  t.regex(lines[0], /OVERFLOWS\s+SYN\s+ACK\s+OVF\/S\s+SYNDROP\s+COOKIES\s+ARR\/S\s+ACC\/S\s+WAITP99\s+OLDEST\s+REQ\s+STATE$/);
  const cells = lines.find((l) => l.includes('127.0.0.1:80 '))!.trim().split(/\s+/);
  // rates as the dashboard writes them (whole from 100/s); the p99 is estimated from the histogram: '~', and a footnote says so
  t.deepEqual(cells.slice(14), ['1200', '1200', '~110ms', '107ms', '4096', 'open']);
  t.true(lines.includes(WAIT_ESTIMATE_NOTE), out);
  t.true(lines.includes('note 127.0.0.1:80 (netns 4026531840): listen(4096) was cut to 128 by net.core.somaxconn: raise net.core.somaxconn; ' +
    'the application also accepts 1,200/s while 1,900/s arrive; basis: listen() asked 4096, limit 128, sockets 1, somaxconn 128, ' +
    'accepts 1200/s, arrivals 1200/s, overflows 700/s, queue 129/128'), out);
  t.regex(out, /^netns 4026531840: .*; somaxconn 128, tcp_max_syn_backlog 512, tcp_syncookies 1, tcp_abort_on_overflow 0$/m);
  // nothing cut, no REQ column; nothing wrong, no note
  const calm = renderTable(interval({}, { arrivals: 5, accepts: 5 }).s1);
  t.notRegex(calm, /REQ|^note /m);
  t.regex(calm.split('\n')[1], / 5\.0 +5\.0 +- +- +open$/);
  t.false(calm.includes('~'), 'no p99, no ~ and no footnote');
});

test('a wait reads the same in the --once table, its note and the diagnosis: one formatter, a second and more in s', (t) => {
  // the oldest connection has waited 3165 ms, the last interval's waits were ~1.1 s
  const { s0, s1 } = interval(
    { arrivals: 0, accepts: 0, backlog: 129, maxBacklog: 128 },
    { arrivals: 100, accepts: 10, overflowsSyn: 90, backlog: 129, maxBacklog: 128, oldestWaitUs: 3_165_000,
      waited: 10, waitSumUs: 10 * 1_100_000, waitHist: hist({ 20: 10 }), waitMinUs: 1_050_000, waitMaxUs: 1_150_000 },
  );
  const out = renderTable(s1, s0);
  const cells = out.split('\n').find((l) => l.includes('127.0.0.1:80 '))!.trim().split(/\s+/);
  const [p99, oldest] = cells.slice(16, 18);
  t.is(oldest, '3.17s');
  t.regex(p99, /^~1\.\d\ds$/);
  const note = out.split('\n').find((l) => l.startsWith('note '))!;
  t.true(note.includes(`oldest wait ${oldest}`), note);
  t.true(note.includes(`wait p99 ${p99}`), note);
  t.is(durationIn(3165), durationIn(3165, unitFor([3165, 12])), 'alone as in a column of seconds');
  t.is(durationIn(850), '850ms');
  t.is(durationIn(850, 's'), '0.85s', 'in a column of seconds');
  t.is(durationIn(51_800), '51.8s');
});

test('metrics: arrivals, accepts, the wait histogram from cumulative log2 buckets, oldest wait, requested backlog, sysctls', (t) => {
  const { s0, s1 } = slowApp();
  const waits = new WaitTotals().add(s0).add(s1);
  const body = renderMetrics(s1, waits);
  const base = 'netns="4026531840",netns_cookie="1",address="127.0.0.1",port="80",comm="nginx"';
  const sample = (name: string, labels = base) => {
    const m = new RegExp(`^${name}\\{${labels.replace(/[.+]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(body);
    return m ? Number(m[1]) : undefined;
  };
  t.regex(body, /^# TYPE acceptq_accept_wait_seconds histogram$/m);
  t.is(sample('acceptq_arrivals_total'), 1200);
  t.is(sample('acceptq_accepts_total'), 1200);
  // bucket 16 holds [65.536, 131.072) ms: below its le nothing, from it on all 1200
  t.is(sample('acceptq_accept_wait_seconds_bucket', `${base},le="0.065536"`), 0);
  t.is(sample('acceptq_accept_wait_seconds_bucket', `${base},le="0.131072"`), 1200);
  t.is(sample('acceptq_accept_wait_seconds_bucket', `${base},le="+Inf"`), 1200);
  t.is(sample('acceptq_accept_wait_seconds_bucket', `${base},le="0.000002"`), 0, 'the first le is 2 µs');
  t.is(sample('acceptq_accept_wait_seconds_sum'), 120);
  t.is(sample('acceptq_accept_wait_seconds_count'), 1200);
  const les = [...body.matchAll(/^acceptq_accept_wait_seconds_bucket\{.*le="([^"]+)"\} (\d+)$/gm)];
  t.is(les.length, 24, '23 finite buckets and +Inf');
  t.deepEqual(les.map((m) => m[1]).slice(0, 3), ['0.000002', '0.000004', '0.000008']);
  t.is(les[22][1], '8.388608');
  t.true(les.every((m, i) => i === 0 || Number(m[2]) >= Number(les[i - 1][2])), 'cumulative');
  t.is(sample('acceptq_oldest_wait_seconds'), 0.107);
  t.is(sample('acceptq_listen_backlog_requested'), 4096);
  t.is(sample('acceptq_namespace_somaxconn', 'netns="4026531840",netns_cookie="1"'), 128);
  t.is(sample('acceptq_namespace_tcp_max_syn_backlog', 'netns="4026531840",netns_cookie="1"'), 512);
  t.is(sample('acceptq_namespace_tcp_syncookies', 'netns="4026531840",netns_cookie="1"'), 1);
  t.is(sample('acceptq_namespace_tcp_abort_on_overflow', 'netns="4026531840",netns_cookie="1"'), 0);
  // totals across intervals: they add up to the kernel side's cumulative counts
  const { source, now } = replay([
    { listeners: [listener({ waited: 2, waitSumUs: 30, waitHist: hist({ 3: 2 }), waitMinUs: 10, waitMaxUs: 20 })], namespaces: [], stats },
    { listeners: [listener({ waited: 5, waitSumUs: 3030, waitHist: hist({ 3: 2, 9: 3 }), waitMinUs: 900, waitMaxUs: 1100 })], namespaces: [], stats },
  ]);
  const c = new Collector(source, 1, now);
  const w = new WaitTotals().add(c.tick());
  const s = c.tick();
  const later = renderMetrics(s, w.add(s));
  t.regex(later, /^acceptq_accept_wait_seconds_count\{.*\} 5$/m);
  t.regex(later, /^acceptq_accept_wait_seconds_sum\{.*\} 0\.00303$/m);
  t.regex(later, /^acceptq_accept_wait_seconds_bucket\{.*le="0\.000016"\} 2$/m, 'bucket 3: [8, 16) µs');
  t.regex(later, /^acceptq_accept_wait_seconds_bucket\{.*le="0\.000512"\} 2$/m);
  t.regex(later, /^acceptq_accept_wait_seconds_bucket\{.*le="0\.001024"\} 5$/m, 'bucket 9: [512, 1024) µs');
  t.regex(later, /^acceptq_oldest_wait_seconds\{.*\} 0$/m, 'none waits');
  t.notRegex(later, /^acceptq_listen_backlog_requested\{/m, 'not seen: no sample');
});

test('run summary: arrivals and accepts over the run, the worst wait, and the diagnosis of the worst interval', (t) => {
  const { s0, s1 } = slowApp();
  const sum = new RunSummary();
  sum.add(s0);
  sum.add(s1);
  const calmer = {
    ...s1, timeMs: s1.timeMs + 1000,
    listeners: s1.listeners.map((l) => ({ ...l, arrivals: l.arrivals + 100, accepts: l.accepts + 100, overflowRate: 0, arrivalRate: 100, acceptRate: 100, backlog: 0, oldestWaitMs: null, waitMaxMs: 5, waitP99Ms: 5 })),
  };
  sum.add(calmer);
  const [r] = sum.pressured();
  t.like(r, { arrivals: 1300, accepts: 1300, worstWaitMs: 110 });
  t.is(r.diagnosis?.kind, 'somaxconn', 'the worst interval, not the last');
  const out = renderSummary([r], 'head');
  t.regex(out.split('\n')[1], /WORST\/S\s+ARRIVED\s+ACCEPTED\s+MAXWAIT\s+FIRST\s+LAST\s+STATE$/);
  t.regex(out, / 1300 +1300 +110ms /);
  t.regex(out, /^note 127\.0\.0\.1:80 \(netns 4026531840\): listen\(4096\) was cut to 128 by net\.core\.somaxconn: raise net\.core\.somaxconn; the application also accepts 1,200\/s while 1,900\/s arrive; basis: /m);
});

test('recordings: the new fields round-trip in format 2; a format-1 line replays them as null, 0 and no buckets', (t) => {
  const { s1 } = slowApp();
  t.deepEqual(parseRecording(`${header(2)}\n${JSON.stringify(s1)}\n`).snapshots[0], s1);
  const v1 = JSON.parse(JSON.stringify(s1));
  for (const l of v1.listeners) for (const k of [...WHY_FIELDS, 'estimate']) delete l[k];
  for (const n of v1.namespaces) for (const k of [...SYSCTLS, 'unattributedSynDrops', 'unattributedCookies', 'unmatched', 'estimate']) delete n[k];
  const old = parseRecording(`${header(1)}\n${JSON.stringify(v1)}\n`).snapshots[0];
  t.like(old.listeners[0], {
    requestedBacklog: null, arrivals: 0, accepts: 0, arrivalRate: 0, acceptRate: 0, oldestWaitMs: null, waitCount: 0,
    waitMeanMs: null, waitMinMs: null, waitMaxMs: null, waitP50Ms: null, waitP99Ms: null, overflows: 700,
  });
  t.deepEqual(old.listeners[0].waitHist, [], 'unknown');
  t.like(old.namespaces[0], { somaxconn: null, maxSynBacklog: null, syncookies: null, abortOnOverflow: null });
  // and every view takes it
  t.regex(renderTable(old), /^\s*4026531840 /m);
  t.notRegex(renderTable(old), /somaxconn/);
  t.regex(renderMetrics(old), /^acceptq_accept_wait_seconds_count\{.*\} 0$/m);
  t.is((jsonRecord(old, 1) as any).listeners[0].diagnosis, null, 'nothing known about accepts and waits: no verdict');
  // a format-2 line with a bad histogram is refused with its line
  for (const bad of [[1, 2], 'x', hist({ 3: -1 })]) {
    const b = JSON.parse(JSON.stringify(s1));
    b.listeners[0].waitHist = bad;
    t.throws(() => parseRecording(`${header(2)}\n${JSON.stringify(b)}\n`), { instanceOf: RecordingError, message: /line 2: waitHist is not a list of 24 counts/ });
  }
});

// ---- which service: the cgroup as a person names it (format 3) ----

const ID = '3f1a9c0b7d2e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c';
const UID = '8e7b6f2a-1c3d-4e5f-9a0b-1c2d3e4f5a6b';

test('service names: systemd units, containers by runtime and short id, pods by UID, the root none', (t) => {
  const cases: Array<[string, string]> = [
    ['/system.slice/nginx.service', 'nginx.service'],
    [`/system.slice/docker-${ID}.scope`, `docker:${ID.slice(0, 12)}`],
    [`/docker/${ID}`, `docker:${ID.slice(0, 12)}`],
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`,
      `pod:${UID}`],
    [`/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice/crio-${ID}.scope`, `pod:${UID}`],
    [`/kubepods/burstable/pod${UID}/${ID}`, `pod:${UID}`],
    [`/kubepods/pod${UID}/${ID}`, `pod:${UID}`],
    [`/machine.slice/libpod-${ID}.scope`, `podman:${ID.slice(0, 12)}`],
    [`/libpod_parent/libpod-${ID}`, `podman:${ID.slice(0, 12)}`],
    [`/system.slice/crio-${ID}.scope`, `crio:${ID.slice(0, 12)}`],
    [`/system.slice/cri-containerd-${ID}.scope`, `containerd:${ID.slice(0, 12)}`],
    [`/system.slice/containerd.service/${ID}`, `container:${ID.slice(0, 12)}`],
    ['/lxc.payload.web1', 'lxc:web1'],
    ['/user.slice/user-0.slice/session-3.scope', 'session-3.scope'],
    ['/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-foo.scope', 'app-gnome-foo.scope'],
    ['/system.slice/nginx.service/workers', 'nginx.service'],
    [`/system.slice/docker-${ID}.scope/system.slice/nginx.service`, `docker:${ID.slice(0, 12)}`],
    ['/acceptq-test-1/system.slice/nginx.service', 'nginx.service'],
    ['/system.slice', 'system.slice'],
    ['/batch/job-7', 'job-7'],
    [`.../kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`, `pod:${UID}`],
    ['/', ''],
    ['', ''],
  ];
  for (const [cgroup, service] of cases) t.is(serviceName(cgroup), service, cgroup);
  // not a container id: 63 hex characters, or upper case
  t.is(serviceName(`/system.slice/docker-${ID.slice(1)}.scope`), `docker-${ID.slice(1)}.scope`);
  t.is(serviceName(`/docker/${ID.toUpperCase()}`), ID.toUpperCase());
});

/** Two listeners, one in a container's cgroup, one in the root cgroup. */
function inCgroups(): Snapshot {
  return new Collector(replay([{
    listeners: [
      listener({ port: 80, overflowsSyn: 3, cgroup: `/system.slice/docker-${ID}.scope` }),
      listener({ port: 443, cgroup: '/' }),
    ],
    namespaces: [netns({ listenOverflows: 3, attributed: 3 })], stats,
  }]).source).tick();
}

test('service: carried to --json, the --once table (last, when some listener has one), the export label and the dashboard', (t) => {
  const s = inCgroups();
  const [web, other] = [s.listeners.find((l) => l.port === 80)!, s.listeners.find((l) => l.port === 443)!];
  t.like(web, { cgroup: `/system.slice/docker-${ID}.scope`, service: `docker:${ID.slice(0, 12)}` });
  t.like(other, { cgroup: '/', service: '' });
  const json = (jsonRecord(s, 1) as any).listeners;
  t.like(json.find((l: any) => l.port === 80), { cgroup: `/system.slice/docker-${ID}.scope`, service: `docker:${ID.slice(0, 12)}` });
  t.like(json.find((l: any) => l.port === 443), { cgroup: '/', service: '' });

  const lines = renderTable(s).split('\n');
  t.regex(lines[0], /\sSTATE\s+SERVICE$/);
  t.regex(lines.find((l) => l.includes('127.0.0.1:80 '))!, new RegExp(` open +docker:${ID.slice(0, 12)}$`));
  t.regex(lines.find((l) => l.includes('127.0.0.1:443 '))!, / open +-$/);
  t.notRegex(renderTable(inCgroupsWithout()), /SERVICE/, 'no service anywhere: no column');

  const body = renderMetrics(s);
  const base = 'netns="4026531840",netns_cookie="1",address="127.0.0.1",port="80",comm="nginx"';
  t.true(body.includes(`acceptq_listen_overflows_total{${base},service="docker:${ID.slice(0, 12)}",path="syn"} 3\n`), body);
  const none = 'acceptq_accept_queue_length{netns="4026531840",netns_cookie="1",address="127.0.0.1",port="443",comm="nginx"} 0\n';
  t.true(body.includes(none), 'none: no label');

  const wide = fitColumns(160);
  const col = wide.find((c) => c.title === 'SERVICE');
  t.truthy(col, 'a wide dashboard shows the service');
  t.is(col?.text(web, 0), `docker:${ID.slice(0, 12)}`);
  t.is(col?.text(other, 0), '-');
});

function inCgroupsWithout(): Snapshot {
  return new Collector(replay([{ listeners: [listener({ cgroup: '/' })], namespaces: [netns({})], stats }]).source).tick();
}

test('recordings: format 3 keeps cgroup and service; older ones replay them as unknown; a format-3 line must have them', (t) => {
  const s = inCgroups();
  // the format a recording is written in now is the one the README documents
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acq-format-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const w = new RecordingWriter(path.join(dir, 'r.ndjson'), { host: 'h', kernel: 'k', probe: 'tracepoint', intervalS: 1 });
  w.close();
  const written = JSON.parse(fs.readFileSync(path.join(dir, 'r.ndjson'), 'utf8')).acceptqRecording.format;
  const documented = Number(/a header line \(`format` (\d+),/.exec(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'))?.[1]);
  t.is(written, documented, 'the README documents the format written');
  t.deepEqual(parseRecording(`${header(3)}\n${JSON.stringify(s)}\n`).snapshots[0], s);
  const v2 = JSON.parse(JSON.stringify(s));
  for (const l of v2.listeners) for (const k of ['cgroup', 'service']) delete l[k];
  const old = parseRecording(`${header(2)}\n${JSON.stringify(v2)}\n`).snapshots[0];
  t.true(old.listeners.every((l) => l.cgroup === '' && l.service === ''));
  t.is(old.listeners.find((l) => l.port === 80)?.overflows, 3);
  t.notRegex(renderTable(old), /SERVICE/);
  t.throws(() => parseRecording(`${header(3)}\n${JSON.stringify(v2)}\n`), {
    instanceOf: RecordingError, message: /line 2: cgroup is not a string/,
  });
  const hostile = JSON.parse(JSON.stringify(s));
  hostile.listeners[0].service = 'x\u001b[2Jy';
  t.is(parseRecording(`${header(3)}\n${JSON.stringify(hostile)}\n`).snapshots[0].listeners[0].service, sanitize('x\u001b[2Jy'));
});

test('docs/json.md lists every kind of notice the library writes', (t) => {
  const load = fs.readFileSync(path.join(ROOT, 'lib', 'load.c'), 'utf8');
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'json.md'), 'utf8').replace(/\s+/g, ' ');
  // what each optional program's absence loses, and the first sentence part of every other note
  const losses = [...load.matchAll(/\{ "(acq_\w+)",\s*"([^"]+)" \}/g)];
  t.true(losses.length >= 7, 'the table of optional programs was read');
  for (const [, prog, loss] of losses) {
    t.true(doc.includes(prog), prog);
    t.true(doc.includes(loss), loss);
  }
  // every other note: its literal text, joined across C's adjacent strings, cut at each %s
  const notes = [...load.matchAll(/add_notice\(a,((?:\s*"[^"]*")+)/g)].map((m) => [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]).join(''));
  const fragments = notes.flatMap((n) => n.split(/%s|[()]/)).map((x) => x.trim()).filter((x) => x.length > 10);
  t.true(fragments.length >= 4, 'the notes were read');
  for (const f of fragments) t.true(doc.includes(f), f);
  t.true(doc.includes('refused on request'));
});

test('losses: counted in the kernel, shown in --json, the --once warnings; format 4 carries them, older recordings read 0', (t) => {
  const lossy = { ...stats, lostArrivals: 2, lostWaits: 36, lostListens: 1 };
  const s = new Collector(replay([{ listeners: [listener({})], namespaces: [netns({})], stats: lossy }]).source).tick();
  t.like(jsonRecord(s, 1), { lostArrivals: 2, lostWaits: 36, lostListens: 1 });
  const table = renderTable(s);
  t.regex(table, /warning: 2 arrivals lost/);
  t.regex(table, /warning: 36 waits lost/);
  t.regex(table, /warning: 1 listen\(\) backlogs unread/);
  t.deepEqual(parseRecording(`${header(4)}\n${JSON.stringify(s)}\n`).snapshots[0], s);
  const v3 = JSON.parse(JSON.stringify(s));
  for (const k of ['lostArrivals', 'lostWaits', 'lostListens']) delete v3[k];
  t.like(parseRecording(`${header(3)}\n${JSON.stringify(v3)}\n`).snapshots[0], { lostArrivals: 0, lostWaits: 0, lostListens: 0 });
  t.throws(() => parseRecording(`${header(4)}\n${JSON.stringify(v3)}\n`), { instanceOf: RecordingError, message: /line 2: lostArrivals is not a number/ });
});
