/**
 * The collector turns the helper's cumulative records into model snapshots:
 * rates over the measured interval, namespace counters as deltas since
 * start, and the reconciliation between the kernel and what was attributed.
 */
import type { RawEvent, RawSnapshot } from '../native/helper';
import { formatAddress } from './address';
import os from 'node:os';
import type { DetailEvent, ListenerRow, NamespaceRow, Snapshot, SnapshotStream, StreamMeta } from './types';

/** What the collector reads from: the native helper, or a stand-in in tests. */
export interface RawSource {
  readonly probe: string;
  /** What this run cannot see (the kernel refused an optional program), or ''. */
  readonly notice?: string;
  snapshot(): RawSnapshot;
  drain(): RawEvent[];
}

/** A row's identity; the namespace cookie, not its inode, which the kernel reuses. */
export function listenerId(netnsCookie: number, family: number, address: string, port: number): string {
  return `${netnsCookie}|${family}|${address}|${port}`;
}

export class Collector implements SnapshotStream {
  readonly live = true;
  readonly meta: StreamMeta;
  private prevTime = 0;
  private prevOverflows = new Map<string, number>();
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

    const listeners: ListenerRow[] = raw.listeners.map((r) => {
      const address = formatAddress(r.family, r.addr);
      const id = listenerId(r.netnsCookie, r.family, address, r.port);
      const overflows = r.overflowsSyn + r.overflowsAck;
      // a row first seen now had all its overflows within this interval
      const before = this.prevOverflows.get(id) ?? 0;
      const overflowRate = elapsed > 0 ? Math.max(overflows - before, 0) / elapsed : 0;
      return {
        id,
        netns: r.netns,
        netnsCookie: r.netnsCookie,
        family: r.family,
        address,
        port: r.port,
        pid: r.pid,
        comm: r.comm,
        uid: r.uid,
        cgroupId: r.cgroupId,
        sockets: r.sockets,
        backlog: r.backlog,
        maxBacklog: r.maxBacklog,
        peakBacklog: r.peakBacklog,
        synBacklog: r.synBacklog,
        overflows,
        overflowsSyn: r.overflowsSyn,
        overflowsAck: r.overflowsAck,
        synDrops: r.synDrops,
        cookies: r.cookies,
        overflowRate,
        firstOverflowMs: r.firstOverflowMs || null,
        lastOverflowMs: r.lastOverflowMs || null,
        closed: r.closedMs !== 0,
        closedMs: r.closedMs || null,
      };
    });
    this.prevOverflows = new Map(listeners.map((l) => [l.id, l.overflows]));

    const attributedByNs = new Map<number, number>();
    for (const l of listeners) attributedByNs.set(l.netnsCookie, (attributedByNs.get(l.netnsCookie) ?? 0) + l.overflows);

    // Namespaces that hold (or held) a listener: their kernel counters as deltas.
    const namespaces: NamespaceRow[] = [];
    for (const n of raw.namespaces) {
      if (!attributedByNs.has(n.cookie)) continue;
      // deltas from the zero point read right after the probes were attached
      const base = n.start;
      const listenOverflows = n.listenOverflows - base.listenOverflows;
      const prev = this.prevNsOverflows.get(n.cookie) ?? 0;
      namespaces.push({
        netns: n.netns,
        cookie: n.cookie,
        pid: n.pid,
        listenOverflows,
        listenDrops: n.listenDrops - base.listenDrops,
        syncookiesSent: n.syncookiesSent - base.syncookiesSent,
        reqQFullDrops: n.reqQFullDrop - base.reqQFullDrop,
        // both read back to back inside the namespace: no skew under a flood
        unattributed: listenOverflows - (n.attributed - base.attributed),
        overflowRate: elapsed > 0 ? Math.max(listenOverflows - prev, 0) / elapsed : 0,
        gone: n.gone,
      });
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
      snapshotMs: raw.stats.snapshotNs / 1e6,
      listeners,
      namespaces,
      events: events.map(toDetail),
      attributedRate: listeners.reduce((s, l) => s + l.overflowRate, 0),
      kernelRate: namespaces.reduce((s, n) => s + n.overflowRate, 0),
    };
  }
}

function toDetail(e: RawEvent): DetailEvent {
  const address = formatAddress(e.family, e.addr);
  return {
    timeMs: e.timeMs,
    listenerId: listenerId(e.netnsCookie, e.family, address, e.port),
    netns: e.netns,
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
