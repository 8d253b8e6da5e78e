/**
 * Filtering, sorting and marking of listener rows, and the reconciliation of
 * namespaces: shared by the table, JSON, the run summary and the dashboard.
 */
import { endpoint } from './address';
import { matchesNetns } from './netns';
import { sanitize } from './sanitize';
import type { Diagnosis } from './diagnosis';
import type { HostRow, ListenerRow, NamespaceRow, Snapshot } from './types';

/** A listener's figure as text, with '~' in front when its split is an estimate. */
export function figure(v: number | string, estimate: boolean): string {
  return estimate ? `~${v}` : String(v);
}

/** What the namespaces' kernel counts are: counted from when acceptq started (nstat's own count is since boot, or the namespace's start). */
export const SINCE_START = 'since acceptq started';

/** What a '~' means, for the views that print one. */
export const ESTIMATE_NOTE =
  '~ estimate: several listeners of the namespace had drops or cookies while a packet was handled in a way ' +
  "that can credit the kernel's count to the wrong one of them; the namespace's total is exact";

/** What a '~' before a wait p99 means, for the tables that print one. */
export const WAIT_ESTIMATE_NOTE = '~ before a wait p99 (WAITP99): estimated from the last interval\'s histogram of waits (power-of-two buckets)';

/** A namespace's gaps (kernel minus credited), and whether its split among listeners is an estimate. */
export type Gaps = Pick<NamespaceRow, 'unattributed' | 'unattributedSynDrops' | 'unattributedCookies' | 'unmatched' | 'estimate'>;

/** The size of a namespace's gaps, either way: a +3 and a -3 do not cancel. */
export function gapSize(g: Gaps): number {
  return Math.abs(g.unattributed) + Math.abs(g.unattributedSynDrops) + Math.abs(g.unattributedCookies);
}

/** "unattributed overflows 0, SYN-queue drops 0, cookies 0; unmatched 0", and the estimate if any. */
export function gapText(g: Gaps): string {
  return `unattributed overflows ${g.unattributed}, SYN-queue drops ${g.unattributedSynDrops}, cookies ${g.unattributedCookies}; ` +
    `unmatched ${g.unmatched}${g.estimate ? '; split among its listeners: estimate' : ''}`;
}

/**
 * "; somaxconn 4096, tcp_max_syn_backlog 512, tcp_syncookies 1, tcp_abort_on_overflow 0", each
 * "unknown" where it could not be read; "" when none is known (a format-1 recording).
 */
export function sysctlText(n: Pick<NamespaceRow, 'somaxconn' | 'maxSynBacklog' | 'syncookies' | 'abortOnOverflow'>): string {
  const v = (x: number | null) => (x === null ? 'unknown' : String(x));
  if (n.somaxconn === null && n.maxSynBacklog === null && n.syncookies === null && n.abortOnOverflow === null) return '';
  return `; somaxconn ${v(n.somaxconn)}, tcp_max_syn_backlog ${v(n.maxSynBacklog)}, tcp_syncookies ${v(n.syncookies)}, tcp_abort_on_overflow ${v(n.abortOnOverflow)}`;
}

/**
 * A rate per second as text, wherever one is shown (tables, gauges, header,
 * detail, --once): one decimal below 100, whole from 100 ("12.5", "1200").
 */
export function perSecond(v: number | undefined): string {
  const x = v ?? 0;
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

/** How waits are written: in ms or in s (a column of them all in one unit, see unitFor). */
export type DurationUnit = 'ms' | 's';

/**
 * A wait as text, wherever one is shown: "0.05ms", "12.3ms", "850ms" below a
 * second, "4.19s" / "51.8s" from one; '-' for none. A column passes the unit
 * of all its rows (unitFor); a single value takes the same rule alone, so a
 * wait reads the same in a column, the header and the detail view.
 */
export function durationIn(ms: number | null, unit: DurationUnit = unitFor([ms])): string {
  if (ms === null) return '-';
  if (unit === 's') return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : Math.round(ms)}ms`;
}

/** How long ago a time was, short, wherever one is shown (LAST, the detail view, a down host's last scrape): "4s", "12m", "3h"; '-' for none. */
export function ago(ms: number | null, now: number): string {
  if (!ms) return '-';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** The unit of a column of these waits: seconds once any is a second or more (one unit a column). */
export function unitFor(waits: Array<number | null | undefined>): DurationUnit {
  return waits.some((ms) => (ms ?? 0) >= 1000) ? 's' : 'ms';
}

/** "note 127.0.0.1:80 (netns 4026531840): <verdict>; basis: <figures>", a listener's diagnosis below a table. */
export function diagnosisNote(r: Pick<ListenerRow, 'family' | 'address' | 'port' | 'netns'>, d: Diagnosis): string {
  return `note ${endpoint(r.family, r.address, r.port)} (netns ${r.netns}): ${d.verdict}; basis: ${d.basis}`;
}

export interface Reconciliation {
  /** Sum over namespaces of the size of their gaps (never netted across them). */
  gap: number;
  /** Namespaces with a gap. */
  namespaces: number;
  /** Some namespace's split among its listeners is an estimate. */
  estimate: boolean;
}

export function reconcile(namespaces: NamespaceRow[]): Reconciliation {
  const r: Reconciliation = { gap: 0, namespaces: 0, estimate: false };
  for (const n of namespaces) {
    const g = gapSize(n);
    r.gap += g;
    if (g) r.namespaces++;
    if (n.estimate) r.estimate = true;
  }
  return r;
}

export interface RowFilter {
  port?: number;
  pid?: number;
  /** A namespace's inode number (every namespace that had it) or its cookie (that one), in decimal: src/model/netns.ts. */
  netns?: string;
  /** Free text: matched against address, port, comm, pid, namespace, service and host. */
  text?: string;
}

export function matches(r: ListenerRow, f: RowFilter): boolean {
  if (f.port !== undefined && r.port !== f.port) return false;
  if (f.pid !== undefined && r.pid !== f.pid) return false;
  if (f.netns !== undefined && !matchesNetns(f.netns, r.netns, r.netnsCookie)) return false;
  if (f.text) {
    const t = f.text.toLowerCase();
    const hay = `${r.address}:${r.port} ${r.comm} ${r.pid} ${r.netns} ${r.service} ${r.host}`.toLowerCase();
    if (!hay.includes(t)) return false;
  }
  return true;
}

/** A snapshot narrowed to the rows (and namespaces of those rows) a filter admits, with their rates. */
export function filterSnapshot(s: Snapshot, f: RowFilter): Snapshot {
  if (f.port === undefined && f.pid === undefined && f.netns === undefined && !f.text) return s;
  const listeners = s.listeners.filter((r) => matches(r, f));
  const ids = new Set(listeners.map((r) => r.id));
  // by cookie: a namespace that reused an inode is another one (and by host: each host's cookies count from 1)
  const nss = new Set(listeners.map((r) => `${r.host}|${r.netnsCookie}`));
  const want = f.netns;
  const namespaces = s.namespaces.filter((n) => nss.has(`${n.host}|${n.cookie}`) || (want !== undefined && matchesNetns(want, n.netns, n.cookie)));
  return { ...s, listeners, namespaces, events: s.events.filter((e) => ids.has(e.listenerId)), ...rateTotals(listeners, namespaces) };
}

/** The overflow rates of a set of rows: what acceptq attributed, what the kernel counted. */
export function rateTotals(listeners: ListenerRow[], namespaces: NamespaceRow[]): Pick<Snapshot, 'attributedRate' | 'kernelRate'> {
  return {
    attributedRate: listeners.reduce((sum, l) => sum + l.overflowRate, 0),
    kernelRate: namespaces.reduce((sum, n) => sum + n.overflowRate, 0),
  };
}

/**
 * What rows sort by: the overflow figures, the queue, identity, and the
 * accept queue's traffic: the wait p99 ('wait'), the oldest waiting
 * connection ('oldest'), accepts/s and arrivals/s.
 */
export type SortKey =
  | 'rate' | 'overflows' | 'wait' | 'oldest' | 'accepts' | 'arrivals' | 'fill' | 'backlog' | 'peak' | 'synq' | 'last'
  | 'address' | 'port' | 'pid' | 'comm' | 'netns' | 'host';

/** Every key, in the order the dashboard's `<`, `>` and `s` go through them. */
export const SORT_KEYS: SortKey[] = [
  'rate', 'overflows', 'wait', 'oldest', 'accepts', 'arrivals', 'fill', 'backlog', 'peak', 'synq', 'last', 'address', 'port', 'pid', 'comm', 'netns', 'host',
];

/**
 * A listener's accept queue against its limit, "3/128": the limit is the
 * listen() backlog as the kernel holds it (sk_max_ack_backlog, summed over a
 * group's sockets), what ss shows; the kernel admits one more per socket
 * before it drops.
 */
export function queueText(r: Pick<ListenerRow, 'backlog' | 'maxBacklog'>): string {
  return `${r.backlog}/${r.maxBacklog}`;
}

/** Accept-queue fill: depth over what the kernel admits (backlog + 1 per socket). */
export function fill(r: ListenerRow): number {
  const cap = r.maxBacklog + Math.max(r.sockets, 1);
  return cap > 0 ? r.backlog / cap : 0;
}

function primary(r: ListenerRow, k: SortKey): number | string {
  switch (k) {
    case 'rate': return r.overflowRate;
    case 'overflows': return r.overflows;
    // no wait (null) sorts below zero
    case 'wait': return r.waitP99Ms ?? -1;
    case 'oldest': return r.oldestWaitMs ?? -1;
    case 'accepts': return r.acceptRate ?? 0;
    case 'arrivals': return r.arrivalRate ?? 0;
    case 'backlog': return r.backlog;
    case 'fill': return fill(r);
    case 'peak': return r.peakBacklog;
    case 'synq': return r.synBacklog;
    case 'address': return r.address;
    case 'port': return r.port;
    case 'pid': return r.pid;
    case 'comm': return r.comm;
    case 'netns': return r.netns;
    case 'host': return r.host;
    case 'last': return r.lastOverflowMs ?? 0;
  }
}

/** The order of sortRows: numbers high first, text low first; ties by rate, total, then identity. */
export function compareRows(key: SortKey = 'rate', reverse = false): (a: ListenerRow, b: ListenerRow) => number {
  const sign = reverse ? -1 : 1;
  return (a, b) => {
    const pa = primary(a, key);
    const pb = primary(b, key);
    let c = 0;
    if (typeof pa === 'number' && typeof pb === 'number') c = pb - pa;
    else c = String(pa).localeCompare(String(pb));
    return sign * (c !== 0 ? c : breakTie(a, b, key));
  };
}

/** Ties of a key broken by rate, total, then identity (a total order: ids are unique). */
export function breakTie(a: ListenerRow, b: ListenerRow, key: string): number {
  let c = 0;
  if (key !== 'rate') c = b.overflowRate - a.overflowRate;
  if (c === 0 && key !== 'overflows') c = b.overflows - a.overflows;
  if (c === 0) c = a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return c;
}

export function sortRows(rows: ListenerRow[], key: SortKey = 'rate', reverse = false): ListenerRow[] {
  return [...rows].sort(compareRows(key, reverse));
}

/**
 * rows sorted by cmp, starting from an earlier sort: prevSorted, the rows
 * prevRows sorted by the same cmp. A row object at the same place in rows
 * as in prevRows is unchanged (the collector keeps the object of a row that
 * did not move, at its place), so it keeps its order; the others are sorted
 * and merged in. The result is a full sort's when cmp is a total order; at
 * 100,000 mostly idle rows it costs a few ms against ~100 for a full sort.
 */
export function resortRows<T>(prevRows: readonly T[], prevSorted: readonly T[], rows: readonly T[], cmp: (a: T, b: T) => number): T[] {
  const fresh: T[] = [];
  const gone = new Set<T>();
  for (let i = 0; i < rows.length; i++) {
    if (rows[i] === prevRows[i]) continue;
    fresh.push(rows[i]);
    if (i < prevRows.length) gone.add(prevRows[i]);
  }
  for (let i = rows.length; i < prevRows.length; i++) gone.add(prevRows[i]);
  // most rows changed: a sort afresh costs less
  if (fresh.length * 4 > rows.length) return [...rows].sort(cmp);
  fresh.sort(cmp);
  const out: T[] = new Array(rows.length);
  let o = 0;
  let j = 0;
  for (const r of prevSorted) {
    if (gone.has(r)) continue;
    while (j < fresh.length && cmp(fresh[j], r) < 0) out[o++] = fresh[j++];
    out[o++] = r;
  }
  while (j < fresh.length) out[o++] = fresh[j++];
  return out;
}

/**
 * What a fleet's host says of itself, for the table's host lines and the
 * detail view: "web-1, 6.1.0-28-amd64", and, once its acceptq restarted,
 * that its counts went on without what happened while it was down.
 */
export function hostAbout(h: HostRow): string {
  const restarts = h.restarts
    ? `acceptq restarted ${h.restarts} time${h.restarts === 1 ? '' : 's'} (the last seen at ${new Date(h.restartedMs!).toISOString()}): counts go on from before, without what happened while it was down`
    : '';
  return [h.hostname, h.kernel].filter(Boolean).map((x) => sanitize(x!)).concat(restarts ? [restarts] : []).join(', ');
}
