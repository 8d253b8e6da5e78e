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

interface NsBase {
  overflows: number;
  drops: number;
  cookies: number;
  reqQFull: number;
}

export class Collector implements SnapshotStream {
  readonly live = true;
  readonly meta: StreamMeta;
  private prevTime = 0;
  private prevOverflows = new Map<string, number>();
  // keyed by namespace cookie
  private prevNsOverflows = new Map<number, number>();
  private nsBase = new Map<number, NsBase>();

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
    const first = this.prevTime === 0;
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
      let base = this.nsBase.get(n.cookie);
      if (!base) {
        // a namespace that appeared after start began at zero
        base = first && n.seenAtStart
          ? { overflows: n.listenOverflows, drops: n.listenDrops, cookies: n.syncookiesSent, reqQFull: n.reqQFullDrop }
          : { overflows: 0, drops: 0, cookies: 0, reqQFull: 0 };
        this.nsBase.set(n.cookie, base);
      }
      const listenOverflows = n.listenOverflows - base.overflows;
      const prev = this.prevNsOverflows.get(n.cookie) ?? 0;
      namespaces.push({
        netns: n.netns,
        cookie: n.cookie,
        pid: n.pid,
        listenOverflows,
        listenDrops: n.listenDrops - base.drops,
        syncookiesSent: n.syncookiesSent - base.cookies,
        reqQFullDrops: n.reqQFullDrop - base.reqQFull,
        unattributed: listenOverflows - (attributedByNs.get(n.cookie) ?? 0),
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
