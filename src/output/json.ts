/** The NDJSON record: the stable contract scripts build on (documented in docs/json.md). */
import { sanitize } from '../model/address';
import type { Snapshot } from '../model/types';

const iso = (ms: number | null): string | null => (ms ? new Date(ms).toISOString() : null);
const round = (v: number): number => Math.round(v * 1000) / 1000;

export function jsonRecord(s: Snapshot, intervalS: number): Record<string, unknown> {
  return {
    time: new Date(s.timeMs).toISOString(),
    interval: intervalS,
    probe: s.probe,
    ...(s.notice ? { notice: s.notice } : {}),
    lostEvents: s.lostEvents,
    suppressedEvents: s.suppressedEvents,
    mapFull: s.mapFull,
    namespaces: s.namespaces.map((n) => ({
      netns: n.netns,
      pid: n.pid,
      listenOverflows: n.listenOverflows,
      listenDrops: n.listenDrops,
      syncookiesSent: n.syncookiesSent,
      reqQFullDrops: n.reqQFullDrops,
      unattributed: n.unattributed,
      overflowRate: round(n.overflowRate),
    })),
    listeners: s.listeners.map((l) => ({
      netns: l.netns,
      family: l.family,
      address: l.address,
      port: l.port,
      pid: l.pid,
      comm: sanitize(l.comm),
      uid: l.uid,
      sockets: l.sockets,
      backlog: l.backlog,
      maxBacklog: l.maxBacklog,
      peakBacklog: l.peakBacklog,
      synBacklog: l.synBacklog,
      overflows: l.overflows,
      overflowsSyn: l.overflowsSyn,
      overflowsAck: l.overflowsAck,
      synDrops: l.synDrops,
      cookies: l.cookies,
      overflowRate: round(l.overflowRate),
      firstOverflow: iso(l.firstOverflowMs),
      lastOverflow: iso(l.lastOverflowMs),
      closed: l.closed,
    })),
    events: s.events.map((e) => ({
      time: iso(e.timeMs),
      netns: e.netns,
      address: e.address,
      port: e.port,
      remoteAddress: e.remoteAddress,
      remotePort: e.remotePort,
      path: e.path,
      backlog: e.backlog,
      maxBacklog: e.maxBacklog,
      synBacklog: e.synBacklog,
    })),
  };
}
