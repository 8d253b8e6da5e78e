/**
 * Dashboard state, free of any terminal: history rings, sort, filter,
 * a selection that follows the worst listener until the person moves it and
 * its listener across re-sorts after that, notices of listeners that started
 * dropping, pause, replay speed.
 */
import { Ring } from '../src/model/ring';
import { matches, sortRows, SORT_KEYS, type SortKey } from '../src/model/view';
import type { DetailEvent, ListenerRow, Snapshot } from '../src/model/types';

/** Points of history kept per listener: 3 minutes at a 1 s interval. */
export const HISTORY = 180;
/** Detail events kept per listener for the detail view. */
export const EVENTS_KEPT = 50;
export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16];

/** A listener that started overflowing while the dashboard watched, until the person looks. */
export interface Notice {
  id: string;
  /** When the dashboard first saw its overflows (snapshot time). */
  seenMs: number;
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
  readonly total = new Ring(HISTORY);
  readonly kernelTotal = new Ring(HISTORY);
  private readonly history = new Map<string, Ring>();
  private readonly events = new Map<string, DetailEvent[]>();
  private sorted: { snapshot: Snapshot; key: string; rows: ListenerRow[] } | null = null;
  private filteredTotal: { snapshot: Snapshot; key: string; values: number[] } | null = null;
  /** Listeners that had overflows in an earlier snapshot. */
  private readonly dropped = new Set<string>();
  private frames = 0;
  /** Listeners that started overflowing, by id, oldest first, until dismissed or looked at. */
  private readonly notices = new Map<string, Notice>();

  /** Take in one tick's snapshot. */
  ingest(s: Snapshot): void {
    this.latest = s;
    this.total.push(s.attributedRate);
    this.kernelTotal.push(s.kernelRate);
    const seen = new Set<string>();
    for (const l of s.listeners) {
      seen.add(l.id);
      let r = this.history.get(l.id);
      if (!r) this.history.set(l.id, (r = new Ring(HISTORY)));
      r.push(l.overflowRate);
    }
    // rows the model dropped (closed and retained long enough) take their history with them
    for (const id of this.history.keys()) if (!seen.has(id)) this.history.delete(id);
    for (const e of s.events) {
      let list = this.events.get(e.listenerId);
      if (!list) this.events.set(e.listenerId, (list = []));
      list.push(e);
      if (list.length > EVENTS_KEPT) list.splice(0, list.length - EVENTS_KEPT);
    }
    for (const id of this.events.keys()) if (!seen.has(id)) this.events.delete(id);
    // overflows on a listener that had none: the first snapshot is where the dashboard starts, not news
    for (const l of s.listeners) {
      if (l.overflows > 0 && !this.dropped.has(l.id)) {
        this.dropped.add(l.id);
        if (this.frames) this.notices.set(l.id, { id: l.id, seenMs: s.timeMs });
      }
    }
    for (const id of this.dropped) if (!seen.has(id)) this.dropped.delete(id);
    for (const id of this.notices.keys()) if (!seen.has(id)) this.notices.delete(id);
    this.frames++;
    this.keepSelection();
  }

  /** The notice to show (the oldest not yet dismissed) and its listener. */
  notice(): { row: ListenerRow; notice: Notice; more: number } | null {
    // every notice's listener is in the latest snapshot (ingest drops the others)
    const first = this.notices.values().next();
    if (first.done || !this.latest) return null;
    const row = this.latest.listeners.find((r) => r.id === first.value.id);
    return row ? { row, notice: first.value, more: this.notices.size - 1 } : null;
  }

  /** The person looked at a listener (or dismissed its notice): drop its notice. */
  dismissNotice(id: string): void {
    this.notices.delete(id);
  }

  /** The rows to show: filtered by the text filter, sorted. Kept until the snapshot, sort or filter changes. */
  rows(): ListenerRow[] {
    if (!this.latest) return [];
    const key = `${this.sortKey}|${this.reverse}|${this.filter}`;
    // a frame asks several times (table, selection, keys): sort 10,000 rows once
    if (this.sorted?.snapshot === this.latest && this.sorted.key === key) return this.sorted.rows;
    const rows = this.filter ? this.latest.listeners.filter((r) => matches(r, { text: this.filter })) : this.latest.listeners;
    this.sorted = { snapshot: this.latest, key, rows: sortRows(rows, this.sortKey, this.reverse) };
    return this.sorted.rows;
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

  historyOf(id: string): Ring | undefined {
    return this.history.get(id);
  }

  eventsOf(id: string): DetailEvent[] {
    return this.events.get(id) ?? [];
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
    const i = SORT_KEYS.indexOf(this.sortKey);
    this.sortKey = SORT_KEYS[(i + dir + SORT_KEYS.length) % SORT_KEYS.length];
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

/** Seconds (or minutes, hours) since a time, short: "4s", "12m", "3h", "-". */
export function ago(ms: number | null, now: number): string {
  if (!ms) return '-';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const ASCII_LEVELS = ['_', '.', '-', '~', '=', '+', '*', '#'];

/**
 * A one-line sparkline of the newest `width` values, right-aligned (the
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

/** A queue gauge: depth against what the kernel admits, e.g. [#####.....]. */
export function bar(value: number, capacity: number, width: number, ascii: boolean): string {
  const fillCount = capacity > 0 ? Math.min(width, Math.round((value / capacity) * width)) : 0;
  return (ascii ? '#' : '█').repeat(fillCount) + (ascii ? '.' : '░').repeat(width - fillCount);
}
