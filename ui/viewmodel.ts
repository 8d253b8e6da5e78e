/**
 * Dashboard state, free of any terminal: history rings, sort, filter,
 * a selection that follows its listener across re-sorts, pause, replay speed.
 */
import { Ring } from '../src/model/ring';
import { matches, sortRows, SORT_KEYS, type SortKey } from '../src/model/view';
import type { DetailEvent, ListenerRow, Snapshot } from '../src/model/types';

/** Points of history kept per listener: 3 minutes at a 1 s interval. */
export const HISTORY = 180;
/** Detail events kept per listener for the detail view. */
export const EVENTS_KEPT = 50;
export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16];

export class DashboardState {
  sortKey: SortKey = 'rate';
  reverse = false;
  filter = '';
  selectedId: string | null = null;
  paused = false;
  speed = 1;
  latest: Snapshot | null = null;
  readonly total = new Ring(HISTORY);
  readonly kernelTotal = new Ring(HISTORY);
  private readonly history = new Map<string, Ring>();
  private readonly events = new Map<string, DetailEvent[]>();
  private sorted: { snapshot: Snapshot; key: string; rows: ListenerRow[] } | null = null;

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
    this.keepSelection();
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

  selected(): ListenerRow | null {
    return this.rows().find((r) => r.id === this.selectedId) ?? null;
  }

  historyOf(id: string): Ring | undefined {
    return this.history.get(id);
  }

  eventsOf(id: string): DetailEvent[] {
    return this.events.get(id) ?? [];
  }

  /** Move the selection by delta rows (clamped). */
  move(delta: number): void {
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
    const rows = this.rows();
    this.selectedId = rows.length ? rows[where === 'first' ? 0 : rows.length - 1].id : null;
  }

  /** Next (+1) or previous (-1) sort column. */
  cycleSort(dir: 1 | -1): void {
    const i = SORT_KEYS.indexOf(this.sortKey);
    this.sortKey = SORT_KEYS[(i + dir + SORT_KEYS.length) % SORT_KEYS.length];
  }

  setFilter(text: string): void {
    this.filter = text;
    this.keepSelection();
  }

  changeSpeed(dir: 1 | -1): void {
    const i = SPEEDS.indexOf(this.speed);
    this.speed = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 2 : i) + dir))];
  }

  /** Keep the selection on its listener; pick the top row if it is gone. */
  private keepSelection(): void {
    const rows = this.rows();
    if (!rows.some((r) => r.id === this.selectedId)) this.selectedId = rows[0]?.id ?? null;
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

/** A one-line sparkline of the newest `width` values; blank for zero. */
export function sparkline(values: number[], width: number, ascii: boolean): string {
  const vals = values.slice(-width);
  const max = Math.max(0, ...vals);
  const levels = ascii ? ASCII_LEVELS : BLOCKS;
  const line = vals
    .map((v) => (v <= 0 || max <= 0 ? ' ' : levels[Math.min(levels.length - 1, Math.floor((v / max) * (levels.length - 1)))]))
    .join('');
  return line.padStart(width, ' ');
}

/** A queue gauge: depth against what the kernel admits, e.g. [#####.....]. */
export function bar(value: number, capacity: number, width: number, ascii: boolean): string {
  const fillCount = capacity > 0 ? Math.min(width, Math.round((value / capacity) * width)) : 0;
  return (ascii ? '#' : '█').repeat(fillCount) + (ascii ? '.' : '░').repeat(width - fillCount);
}
