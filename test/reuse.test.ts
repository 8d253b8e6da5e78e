// An unchanged row is the same object from tick to tick (binding → model),
// and the result is what building it anew gives: no kernel needed.
import test from 'ava';
import { Collector, type RawSource } from '../src/model/collector';
import type { RawListener, RawNetns, RawSnapshot } from '../src/model/raw';
import type { Snapshot } from '../src/model/types';
import { HeapTrim } from '../app/heap';
import { RAW_STATS, rawListener, rawNetns } from './support/raw';

// what docs/architecture.md promises: a full collection once the heap has grown
// 3 MB past the last one's result, at most every 5 s
const GROWTH_MB = 3;
const MIN_SPACING_MS = 5000;

const listener = (port: number, over: Partial<RawListener> = {}): RawListener => rawListener({ port, ...over });
const ns: RawNetns = rawNetns();
const stats = RAW_STATS;

test('an idle row keeps its object once it has been still for an interval; a row that moves is built anew', (t) => {
  const idle = listener(80); // the binding hands back the same object while the row's bytes stay the same
  const busy = [listener(81), listener(81, { overflowsSyn: 5, arrivals: 3, accepts: 3, waited: 3, waitSumUs: 300 }), listener(81, { overflowsSyn: 9 })];
  let i = 0;
  let now = 1_700_000_000_000;
  const source: RawSource = {
    probe: 'tracepoint',
    snapshot: (): RawSnapshot => ({ listeners: [idle, busy[Math.min(i++, busy.length - 1)]], namespaces: [ns], stats }),
    drain: () => [],
  };
  const c = new Collector(source, 1, () => (now += 1000));
  const s: Snapshot[] = [c.tick(), c.tick(), c.tick(), c.tick()];
  t.not(s[1].listeners[0], s[0].listeners[0], 'first interval: built (there was no record before)');
  t.is(s[2].listeners[0], s[1].listeners[0], 'still for an interval: the same row object');
  t.is(s[3].listeners[0], s[1].listeners[0]);
  t.is(s[1].listeners[1].overflowRate, 5, 'the busy row moved: its rate');
  t.is(s[2].listeners[1].overflowRate, 4);
  t.is(s[3].listeners[1].overflowRate, 0, 'the same raw object two ticks running: no move');
  t.is(s[1].listeners[1].waitCount, 3);
  // the kept row is what building it anew would give
  const fresh = new Collector({ probe: 'tracepoint', snapshot: () => ({ listeners: [idle], namespaces: [ns], stats }), drain: () => [] }, 1, () => (now += 1000));
  fresh.tick();
  t.deepEqual(fresh.tick().listeners[0], s[3].listeners[0]);
});

test('HeapTrim: one full collection when the rows fall to a quarter of a peak of 4,096 or more, not for small changes', (t) => {
  const counts = [100, 5000, 8000, 6000, 2100, 1999, 1999, 2500, 20, 10, 4096, 1024, 1000];
  let k = 0;
  const rows = (n: number) => Array.from({ length: n }, () => ({}) as never);
  const inner = { live: true, meta: {} as never, next: (): Snapshot | null => (k < counts.length ? ({ listeners: rows(counts[k++]) } as unknown as Snapshot) : null) };
  const at: number[] = [];
  let i = 0;
  const trim = new HeapTrim(inner, () => (at.push(i), true), () => 0); // a heap that never grows
  for (; trim.next(); i++);
  t.deepEqual(at, [5, 11], 'at 1,999 (peak 8,000) and at 1,024 (a quarter of 4,096); not at 20 or 1,000 (the peak was reset)');
  t.is(trim.collections, 2);
});

test('HeapTrim: one full collection when the heap has grown past the last one\'s result, at most one per spacing', (t) => {
  const MB = 1024 * 1024;
  const G = GROWTH_MB;
  // heap used as each tick ends, and the clock: ten ticks within one spacing
  const used = [20, 20 + G / 2, 20 + G, 20 + G + 1, 40, 30, 31, 31 + G + 1, 60, 80].map((m) => m * MB);
  let k = 0;
  let heap = 0;
  let clock = 100000;
  const inner = { live: true, meta: {} as never, next: (): Snapshot | null => (k < used.length ? ((heap = used[k++]), (clock += MIN_SPACING_MS / 10), { listeners: [] } as unknown as Snapshot) : null) };
  const at: number[] = [];
  const trim = new HeapTrim(inner, () => (at.push(k - 1), (heap = 30 * MB), true), () => heap, () => clock);
  while (trim.next());
  // tick 2 is at the base plus the growth, not past it; tick 3 is past: after it 30 MB is the base; 40 MB (tick 4) and later are past it, but within the spacing
  t.deepEqual(at, [3], 'grown past the base at tick 3; the next growths come within the spacing');
  // and once the spacing has passed, the next growth collects
  k = 0;
  const later = new HeapTrim(inner, () => (at.push(100 + k - 1), (heap = 30 * MB), true), () => heap, () => (clock += MIN_SPACING_MS + 1000));
  while (later.next());
  t.true(at.length > 1, 'collected again once the spacing had passed');
});
