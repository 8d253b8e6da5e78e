/**
 * The listener table's columns and their text: pure functions of a row, so
 * the layout can drop the least important columns on a narrow terminal.
 * Counts of a row whose split is an estimate carry a '~', and so does the
 * wait p99 (estimated from a histogram). A row's second character says what
 * it is doing, without colour too: '!' dropping now, '*' dropped within the
 * last minute, 'x' closed, '?' its host (of a fleet) did not answer: the
 * figures are its last.
 */
import { endpoint } from '../src/model/address';
import { sanitize } from '../src/model/sanitize';
import { ago, durationIn, figure, perSecond, queueText, unitFor, type DurationUnit, type SortKey } from '../src/model/view';

import type { ListenerRow } from '../src/model/types';
import { cut, fitEndpoint } from './viewmodel';

export interface Column {
  title: string;
  width: number;
  /** Lower goes first when the terminal is narrow. */
  priority: number;
  align: 'left' | 'right';
  sort?: SortKey;
  /** Shown only for a fleet (its rows come from many hosts). */
  fleet?: boolean;
  /** A column of waits: the wait of a row in ms (its unit is chosen for the column as a whole, see durationUnit). */
  ms?: (r: ListenerRow) => number | null;
  text(r: ListenerRow, now: number, unit?: DurationUnit): string;
}

/** The unit of a column of waits over the rows shown (unitFor). */
export function durationUnit(c: Column, rows: ListenerRow[]): DurationUnit {
  return c.ms ? unitFor(rows.map(c.ms)) : 'ms';
}

// Widths leave room for the title's sort mark (v or ^) a space after it.
export const COLUMNS: Column[] = [
  { title: 'HOST', width: 21, priority: 10, align: 'left', sort: 'host', fleet: true, text: (r) => sanitize(r.host) },
  // a down host with no listener known has a row of its own
  // 23: the longest IPv4 endpoint (21) whole; a longer one is shortened in its host part, never its port
  { title: 'LISTEN', width: 23, priority: 10, align: 'left', sort: 'address', text: (r) => (r.port ? endpoint(r.family, r.address, r.port) : 'host down') },
  { title: 'NETNS', width: 10, priority: 4, align: 'right', sort: 'netns', text: (r) => String(r.netns) },
  { title: 'PID/COMM', width: 20, priority: 8, align: 'left', sort: 'comm', text: (r) => (r.pid ? `${r.pid}/${sanitize(r.comm)}` : '-') },
  // on a wide terminal: 80 and 120 columns keep their layout (the detail view always names it)
  { title: 'SERVICE', width: 20, priority: 6, align: 'left', text: (r) => sanitize(r.service ?? '') || '-' },
  { title: 'SOCK', width: 4, priority: 2, align: 'right', text: (r) => String(r.sockets) },
  { title: 'QUEUE', width: 11, priority: 9, align: 'right', sort: 'fill', text: (r) => queueText(r) },
  { title: 'PEAK', width: 6, priority: 5, align: 'right', sort: 'peak', text: (r) => String(r.peakBacklog) },
  { title: 'SYNQ', width: 6, priority: 3, align: 'right', sort: 'synq', text: (r) => String(r.synBacklog) },
  // the age of the oldest connection waiting now (exact), the wait p99 of the last interval (an estimate)
  { title: 'OLDEST', width: 8, priority: 7, align: 'right', sort: 'oldest', ms: (r) => r.oldestWaitMs ?? null, text: (r, _, u) => durationIn(r.oldestWaitMs ?? null, u) },
  { title: 'WAITP99', width: 9, priority: 8, align: 'right', sort: 'wait', ms: (r) => r.waitP99Ms ?? null,
    text: (r, _, u) => (r.waitP99Ms == null ? '-' : figure(durationIn(r.waitP99Ms, u), true)) },
  { title: 'ARR/S', width: 7, priority: 7, align: 'right', sort: 'arrivals', text: (r) => perSecond(r.arrivalRate) },
  { title: 'ACC/S', width: 7, priority: 7, align: 'right', sort: 'accepts', text: (r) => perSecond(r.acceptRate) },
  { title: 'OVERFLOWS', width: 11, priority: 9, align: 'right', sort: 'overflows', text: (r) => figure(r.overflows, r.estimate) },
  { title: 'OVF/S', width: 8, priority: 10, align: 'right', sort: 'rate', text: (r) => figure(perSecond(r.overflowRate), r.estimate) },
  { title: 'LAST', width: 6, priority: 6, align: 'right', sort: 'last', text: (r, now) => ago(r.lastOverflowMs, now) },
  { title: 'SYN/ACK', width: 13, priority: 6, align: 'right', text: (r) => figure(`${r.overflowsSyn}/${r.overflowsAck}`, r.estimate) },
];

/** The columns the row of a down host with no listener known fills. */
const OF_A_DOWN_HOST = new Set(['HOST', 'LISTEN']);

/** Dropped within this long: a recent dropper ('*'). */
export const RECENT_MS = 60_000;
/** Dropped within this long (or in the last frame): dropping now ('!'). */
export const NOW_MS = 2_000;

export type Activity = 'down' | 'closed' | 'now' | 'recent' | 'idle';

/** What a row is doing at time now (the snapshot's time): closed, dropping now, dropped recently or neither. */
export function activity(r: ListenerRow, now: number, nowMs = NOW_MS): Activity {
  if (r.hostDown) return 'down';
  if (r.closed) return 'closed';
  const since = r.lastOverflowMs === null ? Infinity : now - r.lastOverflowMs;
  if (r.overflowRate > 0 || since < nowMs) return 'now';
  return since < RECENT_MS ? 'recent' : 'idle';
}

export const MARKS: Record<Activity, string> = { down: '?', closed: 'x', now: '!', recent: '*', idle: ' ' };

/** The columns that fit in width, in their display order; HOST only for a fleet. */
export function fitColumns(width: number, fleet = false): Column[] {
  const chosen = new Set<Column>();
  let used = 2; // selection marker
  for (const c of [...COLUMNS].sort((a, b) => b.priority - a.priority)) {
    if (c.fleet && !fleet) continue;
    if (used + c.width + 1 <= width) {
      chosen.add(c);
      used += c.width + 1;
    }
  }
  return COLUMNS.filter((c) => chosen.has(c));
}

function cell(c: Column, s: string, ascii = false, suffix = ''): string {
  const t = c.title === 'LISTEN' ? fitEndpoint(s, c.width, ascii, suffix) : cut(s, c.width, ascii);
  return c.align === 'left' ? t.padEnd(c.width) : t.padStart(c.width);
}

/** Header line: the sort column marked with its direction, a space from its title. */
export function headerLine(cols: Column[], sort: SortKey, reverse: boolean, ascii = false): string {
  return '  ' + cols.map((c) => cell(c, c.sort === sort ? `${c.title} ${reverse ? '^' : 'v'}` : c.title, ascii)).join(' ');
}

/** The column under character x of a line (0 = the marker column), if any. */
export function columnAt(cols: Column[], x: number): Column | undefined {
  let start = 2;
  for (const c of cols) {
    if (x >= start && x < start + c.width) return c;
    start += c.width + 1;
  }
  return undefined;
}

/** Each column's unit of waits over the rows shown (one unit a column). */
export function columnUnits(cols: Column[], rows: ListenerRow[]): DurationUnit[] {
  return cols.map((c) => durationUnit(c, rows));
}

/**
 * One row: '>' marks the selection, then its activity mark (both visible
 * without colour too). suffix: what tells its address from another row's
 * (" netns N"), after the address where the NETNS column is not shown.
 */
export function rowLine(cols: Column[], r: ListenerRow, selected: boolean, now: number, nowMs = NOW_MS, units?: DurationUnit[], ascii = false,
  suffix = ''): string {
  const sfx = cols.some((c) => c.title === 'NETNS') ? '' : suffix;
  // a down host with no listener known: its host and "host down", no figure (none is known; 0 would read as a quiet listener)
  const text = (c: Column, i: number) => (r.port || OF_A_DOWN_HOST.has(c.title) ? c.text(r, now, units?.[i] ?? durationUnit(c, [r])) : '-');
  return (selected ? '>' : ' ') + MARKS[activity(r, now, nowMs)] +
    cols.map((c, i) => cell(c, text(c, i), ascii, c.title === 'LISTEN' ? sfx : '')).join(' ');
}
