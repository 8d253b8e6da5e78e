/**
 * Raw records for unit tests of the model (what the binding would decode):
 * a listener, a namespace and the stats with every field set to a quiet
 * value, each overridden where a test needs it.
 */
import type { RawListener, RawNetns, RawNetnsStart, RawStats } from '../../src/model/raw';

/** An IPv4 address as the library writes it: 4 bytes, then 12 zeros. */
export const v4 = (a: string): Buffer => Buffer.from([...a.split('.').map(Number), ...new Array(12).fill(0)]);

/** 127.0.0.1:80 of nginx (pid 10) in the initial namespace, idle, listening since before acceptq. */
export function rawListener(over: Partial<RawListener> = {}): RawListener {
  return {
    netnsCookie: 1, netns: 4026531840, family: 4, addr: v4('127.0.0.1'), port: 80, pid: 10, comm: 'nginx',
    sockets: 1, backlog: 0, maxBacklog: 128, peakBacklog: 0, synBacklog: 0, overflowsSyn: 0, overflowsAck: 0,
    synDrops: 0, cookies: 0, firstOverflowMs: 0, lastOverflowMs: 0, cgroupId: 0, inode: 0, cgroup: '', closedMs: 0, uid: 0, estimate: false,
    requestedBacklog: null, oldestWaitUs: 0, arrivals: 0, accepts: 0, waited: 0, waitSumUs: 0, waitHist: new Array(24).fill(0),
    waitMinUs: 0, waitMaxUs: 0, ...over,
  };
}

export const RAW_START_ZERO: RawNetnsStart = {
  attributed: 0, attributedSynDrops: 0, attributedCookies: 0, unmatched: 0,
  listenOverflows: 0, listenDrops: 0, syncookiesSent: 0, reqQFullDrop: 0,
};

/** The initial namespace (cookie 1), nothing counted, default sysctls; `start` merged into zeros. */
export function rawNetns(over: Partial<Omit<RawNetns, 'start'>> & { start?: Partial<RawNetnsStart> } = {}): RawNetns {
  return {
    netns: 4026531840, pid: 1, cookie: 1, listenOverflows: 0, listenDrops: 0, syncookiesSent: 0,
    reqQFullDrop: 0, attributed: 0, attributedSynDrops: 0, attributedCookies: 0, unmatched: 0,
    gone: false, estimate: false, somaxconn: 4096, maxSynBacklog: 512, syncookies: 1, abortOnOverflow: 0,
    ...over, start: { ...RAW_START_ZERO, ...over.start },
  };
}

/** Nothing lost, a 1 ms snapshot. */
export const RAW_STATS: RawStats = {
  lostEvents: 0, suppressedEvents: 0, mapFull: 0, lostArrivals: 0, lostWaits: 0, lostListens: 0, snapshotNs: 1e6, rows: 0, namespaces: 0, sockets: 0,
};
