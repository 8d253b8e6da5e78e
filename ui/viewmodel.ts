/**
 * Dashboard state, free of any terminal: history rings, sort, filter,
 * a selection that follows the worst listener until the person moves it and
 * its listener across re-sorts after that, notices of listeners that started
 * dropping, the worst accept-queue wait, pause, replay speed.
 */
import { WAIT_BUCKETS } from '../src/model/raw';
import { Ring } from '../src/model/ring';
import { compareRows, fill, matches, perSecond, resortRows, SORT_KEYS, type SortKey } from '../src/model/view';
import { bucketBounds } from '../src/model/wait';
import type { DetailEvent, ListenerRow, Snapshot } from '../src/model/types';
import { withDownHosts } from '../src/fleet/stream';
import { endpoint } from '../src/model/address';
import { activity, NOW_MS } from './columns';

/** Points of history kept per listener: 3 minutes at a 1 s interval. */
export const HISTORY = 180;
/** Detail events kept per listener for the detail view. */
export const EVENTS_KEPT = 50;
export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16];

/** The listener whose connections wait longest now: its oldest waiting connection, or its last interval's wait p99 (an estimate). */
export interface WorstWait {
  row: ListenerRow;
  ms: number;
  kind: 'oldest' | 'p99';
}

/** A listener that started overflowing while the dashboard watched, until the person looks. */
export interface Notice {
  id: string;
  /** When the dashboard first saw its overflows (snapshot time). */
  seenMs: number;
}

/**
 * What filtering and sorting the rows cost (a bench hook: the dashboard's
 * ACCEPTQ_FRAME_LOG); added up until the dashboard resets it.
 */
export interface SortTiming {
  /** Times the rows were sorted (the table's sort, which every panel uses). */
  sorts: number;
  sortMs: number;
  filterMs: number;
}

/**
 * The open listeners among rows with the fullest accept queues, at most k:
 * by fill, then overflows/s, then in the order of rows (as a stable sort of
 * rows by those two would give them). One pass, no sort: k is a panel's
 * height.
 */
export function fullestQueues(rows: ListenerRow[], k: number): ListenerRow[] {
  const top: ListenerRow[] = [];
  const fills: number[] = [];
  if (k <= 0) return top;
  for (const r of rows) {
    if (r.closed || !(r.maxBacklog > 0)) continue;
    const f = fill(r);
    // after every kept row that is at least as full (the earlier row first on a tie)
    let at = top.length;
    while (at > 0 && (fills[at - 1] - f || top[at - 1].overflowRate - r.overflowRate) < 0) at--;
    if (at >= k) continue;
    top.splice(at, 0, r);
    fills.splice(at, 0, f);
    if (top.length > k) {
      top.pop();
      fills.pop();
    }
  }
  return top;
}

export class DashboardState {
  sortKey: SortKey = 'rate';
  reverse = false;
  filter = '';
  selectedId: string | null = null;
  /** The selection follows the top row (the worst listener) until the person moves it. */
  follow = true;
  paused = false;
  speed = 1;
  latest: Snapshot | null = null;
  /** The snapshot before latest (the diagnosis's SYN-side rates come from the two). */
  previous: Snapshot | null = null;
  /** Of latest's open listeners; null when none has a connection waiting or a timed accept. */
  worstWait: WorstWait | null = null;
  total = new Ring(HISTORY);
  /**
   * overflows/s per listener, from the first frame it was above zero (before:
   * zeros, never stored; the sparklines pad on the left).
   */
  private readonly history = new Map<string, Ring>();
  /**
   * accepts/s and arrivals/s per listener, from the first frame either was
   * above zero (before: zeros, never stored, so 10,000 idle listeners cost nothing).
   */
  private readonly traffic = new Map<string, { accepts: Ring; arrivals: Ring }>();
  private readonly events = new Map<string, DetailEvent[]>();
  private sorted: { snapshot: Snapshot; key: string; rows: ListenerRow[] } | null = null;
  /** Every listener of a snapshot sorted (before the filter): the next snapshot's sort starts from it. */
  private sortedAll: { listeners: ListenerRow[]; order: string; rows: ListenerRow[] } | null = null;
  private fullest: { rows: ListenerRow[]; k: number; top: ListenerRow[] } | null = null;
  /** Bench hook: set, rows() adds the time of its filtering and sorting to it; null (the default), nothing is timed. */
  timing: SortTiming | null = null;
  private filteredTotal: { snapshot: Snapshot; key: string; values: number[] } | null = null;
  /** Listeners that had overflows in an earlier snapshot. */
  private readonly dropped = new Set<string>();
  private frames = 0;
  /** Listeners that started overflowing, by id, oldest first, until dismissed or looked at. */
  private readonly notices = new Map<string, Notice>();

  /** Take in one tick's snapshot (a fleet's down hosts with no rows get one each). */
  ingest(snapshot: Snapshot): void {
    const s = snapshot.hosts ? { ...snapshot, listeners: withDownHosts(snapshot) } : snapshot;
    this.previous = this.latest;
    this.latest = s;
    this.total.push(s.attributedRate);
    let worst: WorstWait | null = null;
    for (const l of s.listeners) {
      let r = this.history.get(l.id);
      if (!r && l.overflowRate > 0) this.history.set(l.id, (r = new Ring(HISTORY)));
      r?.push(l.overflowRate);
      let t = this.traffic.get(l.id);
      if (!t && (l.acceptRate > 0 || l.arrivalRate > 0)) this.traffic.set(l.id, (t = { accepts: new Ring(HISTORY), arrivals: new Ring(HISTORY) }));
      if (t) {
        t.accepts.push(l.acceptRate ?? 0);
        t.arrivals.push(l.arrivalRate ?? 0);
      }
      if (!l.closed) {
        // the exact age first: a p99 only when it is longer
        const oldest = l.oldestWaitMs ?? -1;
        const p99 = l.waitP99Ms ?? -1;
        const ms = Math.max(oldest, p99);
        if (ms >= 0 && (!worst || ms > worst.ms)) worst = { row: l, ms, kind: p99 > oldest ? 'p99' : 'oldest' };
      }
      // overflows on a listener that had none: the first snapshot is where the dashboard starts, not news
      if (l.overflows > 0 && !this.dropped.has(l.id)) {
        this.dropped.add(l.id);
        if (this.frames) this.notices.set(l.id, { id: l.id, seenMs: s.timeMs });
      }
    }
    this.worstWait = worst;
    for (const e of s.events) {
      let list = this.events.get(e.listenerId);
      if (!list) this.events.set(e.listenerId, (list = []));
      list.push(e);
      if (list.length > EVENTS_KEPT) list.splice(0, list.length - EVENTS_KEPT);
    }
    // rows the model dropped (closed and retained long enough) take what was kept of them along;
    // only the listeners something is kept of are looked for (not a set of every row each tick)
    const kept = new Set<string>([...this.history.keys(), ...this.traffic.keys(), ...this.events.keys(), ...this.dropped, ...this.notices.keys()]);
    const seen = new Set<string>();
    if (kept.size) for (const l of s.listeners) if (kept.has(l.id)) seen.add(l.id);
    for (const id of kept) {
      if (seen.has(id)) continue;
      this.history.delete(id);
      this.traffic.delete(id);
      this.events.delete(id);
      this.dropped.delete(id);
      this.notices.delete(id);
    }
    this.frames++;
    this.keepSelection();
  }

  /**
   * The notice to show and its listener: about what drops now. The oldest
   * notice of a listener dropping now; else of one that dropped within the
   * last minute; none of a closed listener or one quiet longer (those notices
   * go). more: the other notices still shown.
   */
  notice(nowMs = NOW_MS): { row: ListenerRow; notice: Notice; more: number } | null {
    if (!this.latest) return null;
    const now = this.latest.timeMs;
    let recent: { row: ListenerRow; notice: Notice } | null = null;
    let dropping: { row: ListenerRow; notice: Notice } | null = null;
    let live = 0;
    // every notice's listener is in the latest snapshot (ingest drops the others)
    for (const n of [...this.notices.values()]) {
      const row = this.latest.listeners.find((r) => r.id === n.id);
      const act = row ? activity(row, now, nowMs) : 'closed';
      if (!row || act === 'closed' || act === 'down' || act === 'idle') {
        this.notices.delete(n.id);
        continue;
      }
      live++;
      if (act === 'now') dropping ??= { row, notice: n };
      else recent ??= { row, notice: n };
    }
    const shown = dropping ?? recent;
    return shown ? { ...shown, more: live - 1 } : null;
  }

  /** The person looked at a listener (or dismissed its notice): drop its notice. */
  dismissNotice(id: string): void {
    this.notices.delete(id);
  }

  /** The rows to show: filtered by the text filter, sorted. Kept until the snapshot, sort or filter changes. */
  rows(): ListenerRow[] {
    if (!this.latest) return [];
    const order = `${this.sortKey}|${this.reverse}`;
    const key = `${order}|${this.filter}`;
    // a frame asks several times (table, selection, keys): sort once
    if (this.sorted?.snapshot === this.latest && this.sorted.key === key) return this.sorted.rows;
    const timing = this.timing;
    const t0 = timing ? performance.now() : 0;
    // every row sorted, from the last sort by the same key where there is one
    const all = this.latest.listeners;
    let sortedAll = this.sortedAll;
    if (sortedAll?.listeners !== all || sortedAll.order !== order) {
      const cmp = compareRows(this.sortKey, this.reverse);
      const rows = sortedAll?.order === order ? resortRows(sortedAll.listeners, sortedAll.rows, all, cmp) : [...all].sort(cmp);
      this.sortedAll = sortedAll = { listeners: all, order, rows };
    }
    const t1 = timing ? performance.now() : 0;
    const rows = this.filter ? sortedAll.rows.filter((r) => matches(r, { text: this.filter })) : sortedAll.rows;
    this.sorted = { snapshot: this.latest, key, rows };
    if (timing) {
      timing.sortMs += t1 - t0;
      timing.filterMs += performance.now() - t1;
      timing.sorts++;
    }
    return rows;
  }

  /**
   * The gauges' rows: the open listeners the filter admits with the fullest
   * accept queues, at most k (fullestQueues of rows(): no second sort). Kept
   * until rows() or k changes.
   */
  gaugeRows(k: number): ListenerRow[] {
    const rows = this.rows();
    if (this.fullest?.rows !== rows || this.fullest.k !== k) this.fullest = { rows, k, top: fullestQueues(rows, k) };
    return this.fullest.top;
  }

  /**
   * Overflows/s of the listeners the filter admits, summed per frame: the
   * newest n frames at most, oldest first (for the "all listeners" sparkline
   * while a filter is on). Listeners seen later contribute from then on.
   */
  filteredTotalValues(n: number): number[] {
    if (!this.latest) return [];
    const key = `${this.filter}|${n}`;
    if (this.filteredTotal?.snapshot === this.latest && this.filteredTotal.key === key) return this.filteredTotal.values;
    const sum: number[] = [];
    for (const r of this.rows()) {
      const vals = this.history.get(r.id)?.values().slice(-n) ?? [];
      // rings end at the newest frame: align them on their right end
      while (sum.length < vals.length) sum.unshift(0);
      const off = sum.length - vals.length;
      for (let i = 0; i < vals.length; i++) sum[off + i] += vals[i];
    }
    this.filteredTotal = { snapshot: this.latest, key, values: sum };
    return sum;
  }

  selected(): ListenerRow | null {
    return this.rows().find((r) => r.id === this.selectedId) ?? null;
  }

  /**
   * History from before the dashboard started (a fleet's Prometheus keeps
   * it): past, oldest first up to now, goes before the frames already seen
   * live. id null: the total.
   */
  seedHistory(id: string | null, past: number[]): void {
    const live = (id === null ? this.total : this.history.get(id))?.values() ?? [];
    const ring = new Ring(HISTORY);
    for (const v of [...past.slice(0, Math.max(0, past.length - live.length)), ...live].slice(-HISTORY)) ring.push(v);
    if (id === null) this.total = ring;
    else this.history.set(id, ring);
    this.filteredTotal = null;
  }

  historyOf(id: string): Ring | undefined {
    return this.history.get(id);
  }

  eventsOf(id: string): DetailEvent[] {
    return this.events.get(id) ?? [];
  }

  /** A listener's accepts/s and arrivals/s, the newest n frames, oldest first, zeros where none was seen. */
  trafficOf(id: string, n: number): { accepts: number[]; arrivals: number[] } {
    const t = this.traffic.get(id);
    const zeros = () => new Array<number>(n).fill(0);
    return t ? { accepts: t.accepts.last(n), arrivals: t.arrivals.last(n) } : { accepts: zeros(), arrivals: zeros() };
  }

  /** The row of a listener in the snapshot before latest, if it was there. */
  previousRow(id: string): ListenerRow | undefined {
    return this.previous?.listeners.find((r) => r.id === id);
  }

  /** Move the selection by delta rows (clamped). The person's from now on. */
  move(delta: number): void {
    this.follow = false;
    const rows = this.rows();
    if (!rows.length) {
      this.selectedId = null;
      return;
    }
    const i = rows.findIndex((r) => r.id === this.selectedId);
    const next = Math.max(0, Math.min(rows.length - 1, (i < 0 ? 0 : i) + delta));
    this.selectedId = rows[next].id;
  }

  moveTo(where: 'first' | 'last'): void {
    this.follow = false;
    const rows = this.rows();
    this.selectedId = rows.length ? rows[where === 'first' ? 0 : rows.length - 1].id : null;
  }

  /** Select a listener (a click on its row). The person's from now on. */
  select(id: string): void {
    if (!this.rows().some((r) => r.id === id)) return;
    this.follow = false;
    this.selectedId = id;
  }

  /** Next (+1) or previous (-1) sort column. */
  cycleSort(dir: 1 | -1): void {
    // by host only where rows have one (a fleet)
    const keys = this.latest?.hosts ? SORT_KEYS : SORT_KEYS.filter((k) => k !== 'host');
    const i = keys.indexOf(this.sortKey);
    this.sortKey = keys[(i + dir + keys.length) % keys.length];
    this.keepSelection();
  }

  /** Sort by a column; by the column it sorts by already: reverse it (a click on a column header). */
  sortBy(key: SortKey): void {
    if (this.sortKey === key) this.reverse = !this.reverse;
    else {
      this.sortKey = key;
      this.reverse = false;
    }
    this.keepSelection();
  }

  toggleReverse(): void {
    this.reverse = !this.reverse;
    this.keepSelection();
  }

  setFilter(text: string): void {
    this.filter = text;
    this.keepSelection();
  }

  changeSpeed(dir: 1 | -1): void {
    const i = SPEEDS.indexOf(this.speed);
    this.speed = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 2 : i) + dir))];
  }

  /**
   * Until the person moves the selection, put it on the top row (the worst
   * listener of the current sort); after that keep it on its listener, and
   * pick the top row only if it is gone.
   */
  private keepSelection(): void {
    const rows = this.rows();
    if (this.follow || !rows.some((r) => r.id === this.selectedId)) this.selectedId = rows[0]?.id ?? null;
  }
}

export const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
// no '~': it marks estimates, and only them
export const ASCII_LEVELS = ['_', '.', '-', ':', '=', '+', '*', '#'];

/** blessed-contrib's sparkline blocks as ASCII levels (for a locale that is not UTF-8). */
export function asciiBlocks(text: string): string {
  return text.replace(/[▁▂▃▄▅▆▇█]/g, (c) => ASCII_LEVELS[BLOCKS.indexOf(c)]);
}

/** Whole numbers up to this: blessed-contrib's sparkline scales with integer arithmetic (it drops fractions). */
const SPARK_SCALE = 1_000_000;

/**
 * A series for blessed-contrib's sparkline widget, which draws the points it
 * is given from its left edge: exactly n points, the newest last, zeros in
 * front for the frames not recorded yet (so the newest point is always over
 * "now" of the time axis). It scales a series from its lowest to its highest
 * point, by integer arithmetic: the values go to it as whole numbers in
 * proportion (the picture is the same; the titles give the real figures).
 */
export function sparkSeries(values: number[], n: number): number[] {
  const vals = values.slice(-n);
  const out = new Array<number>(n - vals.length).fill(0).concat(vals.map((v) => Math.max(0, v)));
  const max = Math.max(0, ...out);
  return max > 0 ? out.map((v) => Math.round((v / max) * SPARK_SCALE)) : out;
}

/**
 * What a series' sparkline spans, for its title: "max 12.0" when its lowest
 * point is zero, "min 38.0 max 42.0" otherwise (the widget draws the lowest
 * point as its lowest block).
 */
export function sparkRange(values: number[], n: number): string {
  const vals = values.slice(-n);
  const max = Math.max(0, ...vals);
  const min = vals.length < n ? 0 : Math.max(0, Math.min(...vals));
  return min > 0 ? `min ${perSecond(min)} max ${perSecond(max)}` : `max ${perSecond(max)}`;
}

/** A bound of a wait bucket, short: "0µs", "512µs", "1.02ms", "131ms", "1.05s" ("us" in ASCII). */
export function waitBound(us: number, ascii = false): string {
  const p3 = (v: number) => String(Number(v.toPrecision(3)));
  if (us < 1000) return `${us}${ascii ? 'us' : 'µs'}`;
  if (us < 1_000_000) return `${p3(us / 1000)}ms`;
  return `${p3(us / 1_000_000)}s`;
}

/** One line of the wait histogram: the buckets' range and their count. */
export interface HistRow {
  label: string;
  count: number;
}

/**
 * A wait histogram (log2 µs buckets, WAIT_BUCKETS) as at most maxRows rows,
 * from its lowest bucket with a count to its highest: one bucket a row, or as
 * many neighbours a row as it takes to fit. Labels: "131ms-262ms", the last
 * bucket open-ended (">=8.39s"). Empty when nothing was counted.
 */
export function histRows(hist: number[], maxRows: number, ascii = false): HistRow[] {
  let first = -1;
  let last = -1;
  for (let i = 0; i < hist.length; i++) {
    if (hist[i] > 0) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0 || maxRows < 1) return [];
  const per = Math.ceil((last - first + 1) / maxRows);
  const rows: HistRow[] = [];
  for (let lo = first; lo <= last; lo += per) {
    const hi = Math.min(lo + per - 1, last);
    let count = 0;
    for (let i = lo; i <= hi; i++) count += hist[i];
    const from = waitBound(bucketBounds(lo)[0], ascii);
    const label = hi >= WAIT_BUCKETS - 1 ? `${ascii ? '>=' : '≥'}${from}` : `${from}-${waitBound(bucketBounds(hi)[1], ascii)}`;
    rows.push({ label, count });
  }
  return rows;
}

/**
 * A one-line sparkline drawn here rather than by blessed-contrib (the
 * dashboard uses the widget):
 * the newest `width` values, right-aligned (the
 * newest at the right end), blank where there is no value yet. Zero is blank,
 * or with `baseline` the lowest level, so that the frames shown can be told
 * from the ones not recorded yet; then any value above zero is at least the
 * second level.
 */
export function sparkline(values: number[], width: number, ascii: boolean, baseline = false): string {
  const vals = values.slice(-width);
  const max = Math.max(0, ...vals);
  const levels = ascii ? ASCII_LEVELS : BLOCKS;
  const top = levels.length - 1;
  const line = vals
    .map((v) => {
      if (v <= 0 || max <= 0) return baseline ? levels[0] : ' ';
      const l = Math.floor((v / max) * top);
      return levels[Math.min(top, baseline ? Math.max(1, l) : l)];
    })
    .join('');
  return line.padStart(width, ' ');
}

/** A span of time, short: "45s", "3m", "1m30s", "2h", "1h30m". */
export function span(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}

/**
 * The time axis under a sparkline of `points` frames `intervalS` apart, the
 * newest at the right end: "-28s        -14s        now", the middle mark
 * where it fits.
 */
export function timeAxis(points: number, intervalS: number, width = points): string {
  const left = `-${span(points * intervalS)}`;
  const right = 'now';
  if (width < left.length + right.length + 1) return right.padStart(width);
  let line = left.padEnd(width - right.length) + right;
  const mid = `-${span((points * intervalS) / 2)}`;
  const at = Math.round(width / 2 - mid.length / 2);
  if (at > left.length + 1 && at + mid.length < width - right.length - 1) line = line.slice(0, at) + mid + line.slice(at + mid.length);
  return line;
}

/** What marks text cut short: '…', or '...' where the locale is not UTF-8 ('~' marks an estimate). */
export function cutMark(ascii = false): string {
  return ascii ? '...' : '…';
}

/** Text cut to at most width characters, the cut marked at its end. */
export function cut(text: string, width: number, ascii = false): string {
  if (text.length <= width) return text;
  const mark = cutMark(ascii);
  return width <= mark.length ? mark.slice(0, Math.max(0, width)) : text.slice(0, width - mark.length).trimEnd() + mark;
}

/** Text cut to at most width characters at a space (whole words), the cut marked; a word longer than width is cut itself. */
export function cutWords(text: string, width: number, ascii = false): string {
  if (text.length <= width) return text;
  const mark = cutMark(ascii);
  const at = text.lastIndexOf(' ', width - mark.length);
  return at > 0 ? text.slice(0, at).trimEnd() + mark : cut(text, width, ascii);
}

/**
 * A suffix that tells a row from another ("  netns 4026532239") in at most
 * width characters: whole, or its number's tail after the cut mark (" netns
 * …2239", " …2239": the digits that differ are the last), or '' where not
 * even 3 digits fit.
 */
export function fitSuffix(suffix: string, width: number, ascii = false): string {
  if (suffix.length <= width) return suffix;
  const m = /^(.*\s)(\S+)$/.exec(suffix);
  if (!m) return '';
  const mark = cutMark(ascii);
  for (const head of [m[1], ' ']) {
    const digits = width - head.length - mark.length;
    if (digits >= 3) return head + mark + m[2].slice(-digits);
  }
  return '';
}

/**
 * An endpoint ("127.0.0.1:8080", "[::1]:80") with an optional suffix (" netns
 * 4026532239") in at most width characters: the suffix is shortened first
 * (fitSuffix), then the host part with the cut mark; the port is never cut.
 * Where not even the mark and the port fit, the port alone (still whole).
 */
export function fitEndpoint(ep: string, width: number, ascii = false, suffix = ''): string {
  if (ep.length <= width) return ep + fitSuffix(suffix, width - ep.length, ascii);
  const colon = ep.lastIndexOf(':');
  const port = ep.slice(colon); // ":8080"
  const host = ep.slice(0, colon);
  const close = host.endsWith(']') ? ']' : '';
  const room = width - port.length - close.length;
  const mark = cutMark(ascii);
  if (room <= mark.length) return port.slice(1);
  return host.slice(0, room - mark.length) + mark + close + port;
}

/**
 * Text broken at spaces into lines of at most width characters, the lines
 * after the first indented; at most maxLines, the last cut with the cut mark.
 */
export function wrapText(text: string, width: number, indent = '  ', maxLines = Infinity, ascii = false): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > width && out.length < maxLines - 1) {
    let at = rest.lastIndexOf(' ', width);
    if (at <= indent.length) at = width; // no space to break at: break the word
    out.push(rest.slice(0, at));
    rest = indent + rest.slice(at).trimStart();
  }
  out.push(cutWords(rest, width, ascii));
  return out;
}

/** The lines of a scrollable text that fit in height from offset (clamped), and the mark of where they are ("lines 1-20 of 50"; '' when all fit). */
export function scrollWindow<T>(lines: T[], offset: number, height: number): { offset: number; shown: T[]; mark: string } {
  const at = Math.max(0, Math.min(offset, lines.length - height));
  const shown = lines.slice(at, at + height);
  return { offset: at, shown, mark: lines.length > height ? `lines ${at + 1}-${at + shown.length} of ${lines.length}` : '' };
}

/** Each list of rows' ambiguous endpoints, kept while the list lives: every panel asks, every frame. */
const ambiguousOf = new WeakMap<ListenerRow[], Set<string>>();

/**
 * Endpoints shown by more than one of these rows (the same address and port
 * in two namespaces or on two hosts): such a row's label adds its namespace.
 * Only rows that share a port with another row are looked at by endpoint
 * text: at 10,000 rows, building every row's text for every panel was most
 * of a frame.
 */
export function ambiguousEndpoints(rows: ListenerRow[]): Set<string> {
  let twice = ambiguousOf.get(rows);
  if (twice) return twice;
  twice = new Set<string>();
  const byPort = new Map<number, ListenerRow>();
  const shared = new Set<number>();
  for (const r of rows) {
    const first = byPort.get(r.port);
    if (first === undefined) byPort.set(r.port, r);
    else if (first.host !== r.host || first.netnsCookie !== r.netnsCookie) shared.add(r.port);
  }
  if (shared.size) {
    const seen = new Map<string, ListenerRow>();
    for (const r of rows) {
      if (!shared.has(r.port)) continue;
      const ep = endpoint(r.family, r.address, r.port);
      const first = seen.get(ep);
      if (first === undefined) seen.set(ep, r);
      else if (first.host !== r.host || first.netnsCookie !== r.netnsCookie) twice.add(ep);
    }
  }
  ambiguousOf.set(rows, twice);
  return twice;
}

/** What tells a row from another with the same endpoint: " netns N" (and its host, of a fleet) where it is ambiguous, else ''. */
export function endpointSuffix(r: ListenerRow, ambiguous: Set<string>): string {
  return ambiguous.has(endpoint(r.family, r.address, r.port)) ? ` netns ${r.netns}` : '';
}

/** A queue gauge: depth against what the kernel admits, e.g. [#####.....]. */
export function bar(value: number, capacity: number, width: number, ascii: boolean): string {
  const fillCount = capacity > 0 ? Math.min(width, Math.round((value / capacity) * width)) : 0;
  return (ascii ? '#' : '█').repeat(fillCount) + (ascii ? '.' : '░').repeat(width - fillCount);
}
