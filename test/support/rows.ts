/**
 * Model records for unit tests of the views: a listener row and a snapshot
 * with every field set to a quiet value, each overridden where a test needs it.
 */
import type { ListenerRow, Snapshot } from '../../src/model/types';

/** 127.0.0.1:80 of srv (pid 10) in namespace 1, idle, open. */
export function listenerRow(over: Partial<ListenerRow> = {}): ListenerRow {
  const port = over.port ?? 80;
  return {
    id: `1|4|127.0.0.1|${port}`, host: '', hostDown: false, netns: 1, netnsCookie: 1, family: 4, address: '127.0.0.1', port, pid: 10, comm: 'srv', uid: 0,
    cgroupId: 0, inode: 0, cgroup: '', service: '',
    sockets: 1, backlog: 0, maxBacklog: 8, peakBacklog: 0, synBacklog: 0, overflows: 0, overflowsSyn: 0, overflowsAck: 0, synDrops: 0,
    cookies: 0, overflowRate: 0, firstOverflowMs: null, lastOverflowMs: null, closed: false, closedMs: null, estimate: false,
    requestedBacklog: null, arrivals: 0, accepts: 0, arrivalRate: 0, acceptRate: 0, oldestWaitMs: null, waitCount: 0, waitMeanMs: null,
    waitMinMs: null, waitMaxMs: null, waitP50Ms: null, waitP99Ms: null, waitHist: [], ...over,
  };
}

/** A snapshot at timeMs of these rows, nothing lost, no namespaces or events; the attributed rate theirs. */
export function snapshotOf(timeMs: number, listeners: ListenerRow[], over: Partial<Snapshot> = {}): Snapshot {
  return {
    timeMs, elapsed: 1, probe: 'tracepoint', notice: '', lostEvents: 0, suppressedEvents: 0, mapFull: 0, lostArrivals: 0, lostWaits: 0,
    lostListens: 0, snapshotMs: 1, listeners, namespaces: [], events: [],
    attributedRate: listeners.reduce((s, l) => s + l.overflowRate, 0), kernelRate: 0, ...over,
  };
}
