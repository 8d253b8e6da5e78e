/**
 * The collector turns the helper's cumulative records into model snapshots:
 * rates over the measured interval, namespace counters as deltas since
 * start, and the reconciliation between the kernel and what was attributed.
 *
 * The kernel's per-namespace counters are exact and acceptq credits each of
 * their moves to the listener whose packet moved them, so a listener's counts
 * are exact unless the row says `estimate`. The gaps between the two are
 * shown as they are, either way: never clamped, never netted across namespaces.
 */
import os from 'node:os';
import { formatAddress } from './address';
import { serviceName } from './service';
import { ROW_AS_IS, type RawAsIs, type RawEvent, type RawListener, type RawNetns, type RawSource } from './raw';
import { rateTotals } from './view';
import { histDelta, waitSummary } from './wait';
import type { DetailEvent, ListenerRow, NamespaceRow, Snapshot, SnapshotStream, StreamMeta } from './types';

export type { RawSource } from './raw';

/** A row's identity; the namespace cookie, not its inode, which the kernel reuses. */
export function listenerId(netnsCookie: number, family: number, address: string, port: number): string {
  return `${netnsCookie}|${family}|${address}|${port}`;
}

/**
 * The fields a row takes as they are (ROW_AS_IS), copied by a function
 * written out once: a keyed copy of each field costs a lookup per field and
 * row, at 10,000 rows a tick.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const copyAsIs = new Function('r', `return { ${ROW_AS_IS.map((k) => `${k}: r.${k}`).join(', ')} };`) as (r: RawListener) => RawAsIs;

/** How far a cumulative count moved (0 if it went back). */
const delta = (now: number, before = 0) => Math.max(now - before, 0);

export class Collector implements SnapshotStream {
  readonly live = true;
  readonly meta: StreamMeta;
  private prevTime = 0;
  // The previous snapshot, by place (the helper keeps a row's place from one
  // snapshot to the next; a row that moved is found by id): each row's raw
  // record, whose counters are cumulative; the row built from it; and
  // whether it did not move over that interval. No map of every row is
  // built per tick (at 100,000 rows that was a fifth of the tick).
  private prevRaw: RawListener[] = [];
  private prevOut: ListenerRow[] = [];
  private prevUnmoved = new Uint8Array(0);
  // keyed by namespace cookie
  private prevNsOverflows = new Map<number, number>();

  constructor(
    private readonly source: RawSource,
    intervalS = 1,
    private readonly now: () => number = Date.now,
  ) {
    this.meta = { host: os.hostname(), kernel: os.release(), probe: source.probe, intervalS };
  }

  next(): Snapshot {
    return this.tick();
  }

  tick(): Snapshot {
    const raw = this.source.snapshot();
    const events = this.source.drain();
    const t = this.now();
    const elapsed = this.prevTime ? Math.max((t - this.prevTime) / 1000, 1e-3) : 0;
    this.prevTime = t;

    const perSecond = (n: number) => (elapsed > 0 ? n / elapsed : 0);
    const { prevRaw, prevOut, prevUnmoved } = this;
    let prevPlace: Map<string, number> | undefined;
    /** The previous raw record of row `id`, now at place i. */
    const previous = (i: number, id: string): RawListener | undefined => {
      if (i < prevOut.length && prevOut[i].id === id) return prevRaw[i];
      prevPlace ??= new Map(prevOut.map((row, j) => [row.id, j]));
      const j = prevPlace.get(id);
      return j === undefined ? undefined : prevRaw[j];
    };
    const unmoved = new Uint8Array(raw.listeners.length);
    const listeners: ListenerRow[] = raw.listeners.map((r, i) => {
      // the same raw record as before (the binding reuses the object of an
      // unchanged row): if nothing moved in the interval before either, the
      // row is what it was then, so keep it rather than build it again
      if (r === prevRaw[i] && prevUnmoved[i]) {
        unmoved[i] = 1;
        return prevOut[i];
      }
      const address = formatAddress(r.family, r.addr);
      const id = listenerId(r.netnsCookie, r.family, address, r.port);
      const overflows = r.overflowsSyn + r.overflowsAck;
      // a row first seen now had all its counts within this interval
      const p = previous(i, id);
      const row: ListenerRow = {
        ...copyAsIs(r),
        id,
        host: '',
        hostDown: false,
        address,
        service: serviceName(r.cgroup),
        overflows,
        overflowRate: perSecond(delta(overflows, p && p.overflowsSyn + p.overflowsAck)),
        arrivalRate: perSecond(delta(r.arrivals, p?.arrivals)),
        acceptRate: perSecond(delta(r.accepts, p?.accepts)),
        oldestWaitMs: r.oldestWaitUs ? r.oldestWaitUs / 1000 : null,
        ...waitSummary(delta(r.waited, p?.waited), delta(r.waitSumUs, p?.waitSumUs), histDelta(r.waitHist, p?.waitHist), r.waitMinUs, r.waitMaxUs),
        firstOverflowMs: r.firstOverflowMs || null,
        lastOverflowMs: r.lastOverflowMs || null,
        closed: r.closedMs !== 0,
        closedMs: r.closedMs || null,
      };
      if (p === r && row.overflowRate === 0 && row.arrivalRate === 0 && row.acceptRate === 0 && row.waitCount === 0) unmoved[i] = 1;
      return row;
    });
    this.prevRaw = raw.listeners;
    this.prevOut = listeners;
    this.prevUnmoved = unmoved;

    const withRows = new Set<number>();
    for (const l of listeners) withRows.add(l.netnsCookie);

    // Namespaces that hold (or held) a listener, and those whose kernel
    // counters moved without one, so that their gap shows.
    const namespaces: NamespaceRow[] = [];
    for (const n of raw.namespaces) {
      const row = namespaceRow(n, this.prevNsOverflows.get(n.cookie) ?? 0, elapsed);
      if (withRows.has(n.cookie) || moved(row)) namespaces.push(row);
    }
    this.prevNsOverflows = new Map(namespaces.map((n) => [n.cookie, n.listenOverflows]));

    return {
      timeMs: t,
      elapsed,
      probe: this.source.probe,
      notice: this.source.notice ?? '',
      lostEvents: raw.stats.lostEvents,
      suppressedEvents: raw.stats.suppressedEvents,
      mapFull: raw.stats.mapFull,
      lostArrivals: raw.stats.lostArrivals,
      lostWaits: raw.stats.lostWaits,
      lostListens: raw.stats.lostListens,
      snapshotMs: raw.stats.snapshotNs / 1e6,
      listeners,
      namespaces,
      events: events.map(toDetail),
      ...rateTotals(listeners, namespaces),
    };
  }
}

/** The namespace's kernel counters moved, or something in it does not add up. */
function moved(n: NamespaceRow): boolean {
  return n.listenOverflows > 0 || n.reqQFullDrops > 0 || n.syncookiesSent > 0 || n.unmatched !== 0 ||
    n.unattributed !== 0 || n.unattributedSynDrops !== 0 || n.unattributedCookies !== 0;
}

/** A namespace's counters as deltas from the zero point read right after the probes were attached. */
function namespaceRow(n: RawNetns, prevOverflows: number, elapsed: number): NamespaceRow {
  const base = n.start;
  const listenOverflows = n.listenOverflows - base.listenOverflows;
  const reqQFullDrops = n.reqQFullDrop - base.reqQFullDrop;
  const syncookiesSent = n.syncookiesSent - base.syncookiesSent;
  return {
    host: '',
    netns: n.netns,
    cookie: n.cookie,
    pid: n.pid,
    listenOverflows,
    listenDrops: n.listenDrops - base.listenDrops,
    syncookiesSent,
    reqQFullDrops,
    // each counter and its credited total are read back to back inside the
    // namespace (no skew under a flood); a gap either way is shown as it is
    unattributed: listenOverflows - (n.attributed - base.attributed),
    unattributedSynDrops: reqQFullDrops - (n.attributedSynDrops - base.attributedSynDrops),
    unattributedCookies: syncookiesSent - (n.attributedCookies - base.attributedCookies),
    unmatched: n.unmatched - base.unmatched,
    estimate: n.estimate,
    overflowRate: elapsed > 0 ? Math.max(listenOverflows - prevOverflows, 0) / elapsed : 0,
    gone: n.gone,
    somaxconn: n.somaxconn,
    maxSynBacklog: n.maxSynBacklog,
    syncookies: n.syncookies,
    abortOnOverflow: n.abortOnOverflow,
  };
}

function toDetail(e: RawEvent): DetailEvent {
  const address = formatAddress(e.family, e.addr);
  return {
    timeMs: e.timeMs,
    listenerId: listenerId(e.netnsCookie, e.family, address, e.port),
    netns: e.netns,
    netnsCookie: e.netnsCookie,
    address,
    port: e.port,
    remoteAddress: formatAddress(e.rfamily, e.raddr),
    remotePort: e.rport,
    path: e.path,
    backlog: e.backlog,
    maxBacklog: e.maxBacklog,
    synBacklog: e.synBacklog,
  };
}
