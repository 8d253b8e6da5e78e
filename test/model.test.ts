// Unit tests of the model on recorded data: no kernel needed.
import test from 'ava';
import { Collector, type RawSource } from '../src/model/collector';
import { formatAddress, sanitize, endpoint } from '../src/model/address';
import { Ring } from '../src/model/ring';
import { filterSnapshot, sortRows, fill } from '../src/model/view';
import type { RawListener, RawNetns, RawSnapshot } from '../src/native/helper';
import { jsonRecord } from '../src/output/json';
import { renderTable } from '../src/output/table';
import { privilegeProblem } from '../src/privileges';
import { parseOptions, UsageError } from '../src/cli';

const v4 = (a: string) => Buffer.from([...a.split('.').map(Number), ...new Array(12).fill(0)]);

function listener(over: Partial<RawListener>): RawListener {
  return {
    netnsCookie: 1, netns: 4026531840, family: 4, addr: v4('127.0.0.1'), port: 80, pid: 10, comm: 'nginx',
    sockets: 1, backlog: 0, maxBacklog: 128, peakBacklog: 0, synBacklog: 0, overflowsSyn: 0, overflowsAck: 0,
    synDrops: 0, cookies: 0, firstOverflowMs: 0, lastOverflowMs: 0, cgroupId: 0, closedMs: 0, uid: 0, ...over,
  };
}

function netns(over: Partial<RawNetns>): RawNetns {
  return {
    netns: 4026531840, pid: 1, cookie: 1, listenOverflows: 0, listenDrops: 0, syncookiesSent: 0,
    reqQFullDrop: 0, reqQFullCookies: 0, attributed: 0, start: { attributed: 0, listenOverflows: 0, listenDrops: 0, syncookiesSent: 0, reqQFullDrop: 0 }, gone: false, ...over,
  };
}

const stats = { lostEvents: 0, suppressedEvents: 0, mapFull: 0, snapshotNs: 1e6, rows: 0, namespaces: 0, sockets: 0 };

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
const atStart = { attributed: 0, listenOverflows: 1000, listenDrops: 0, syncookiesSent: 0, reqQFullDrop: 0 };
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
    listeners: [listener({ port: 80 }), listener({ port: 443, pid: 20, comm: 'envoy', netnsCookie: 2, netns: 5 })],
    namespaces: [netns({}), netns({ netns: 5, cookie: 2 })],
    stats,
  }]).source).tick();
  t.is(filterSnapshot(s, { port: 443 }).listeners.length, 1);
  t.is(filterSnapshot(s, { pid: 10 }).listeners[0].port, 80);
  t.deepEqual(filterSnapshot(s, { netns: 5 }).namespaces.map((n) => n.netns), [5]);
  t.is(filterSnapshot(s, { text: 'ENVOY' }).listeners[0].port, 443);
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
