/**
 * The raw records the model is built from: cumulative counts as the kernel
 * side keeps them, already decoded into plain values. The native binding
 * (src/native/helper.ts) produces them; tests and benchmarks make their own.
 * Nothing here knows about C structs or FFI.
 */
import type { EventPath } from './types';

/**
 * Buckets of the accept-queue wait histogram (ACQ_WAIT_BUCKETS): bucket i
 * counts waits in [2^i, 2^(i+1)) µs, bucket 0 also 0 µs, the last is open-ended.
 */
export const WAIT_BUCKETS = 24;

export interface RawListener {
  /** Namespace cookie: unique, where inode numbers get reused (src/model/netns.ts). */
  netnsCookie: number;
  /** Namespace inode number (as ip netns / lsns show it). */
  netns: number;
  family: 4 | 6;
  addr: Buffer;
  port: number;
  /** The owner (a process that listens on one of its sockets now); 0 while unknown. */
  pid: number;
  comm: string;
  /** Its sockets now (a SO_REUSEPORT group has several). */
  sockets: number;
  /** The accept queue now, and the listen() backlog in effect, summed over the sockets. */
  backlog: number;
  maxBacklog: number;
  /** The deepest accept queue since the previous snapshot. */
  peakBacklog: number;
  /** The SYN queue (half-open requests) now. */
  synBacklog: number;
  /** Cumulative since acceptq started: accept-queue overflows by path, SYN-queue drops, SYN cookies. */
  overflowsSyn: number;
  overflowsAck: number;
  synDrops: number;
  cookies: number;
  /** Unix ms; 0 = never. */
  firstOverflowMs: number;
  lastOverflowMs: number;
  cgroupId: number;
  /** Its socket's inode, as `ss -e` ("ino:") and /proc/PID/fd ("socket:[N]") show it; a group's lowest; 0 = unknown. */
  inode: number;
  /** The cgroup (v2) path its sockets were created in ("/system.slice/nginx.service"); '' while unknown. */
  cgroup: string;
  /** When its last socket closed (Unix ms); 0 = open. */
  closedMs: number;
  uid: number;
  /**
   * The counts above (and the rate) are an estimate: in some interval its
   * counts moved while a packet of its namespace was handled in a way that
   * lets the kernel's counter move be credited to the wrong listener (or an
   * observation was skipped). Sticky for the row. The namespace's totals
   * stay exact.
   */
  estimate: boolean;
  /**
   * listen() arguments summed over the sockets, each as the kernel reads it
   * (unsigned: a negative one is 4294967295, above any somaxconn), before
   * net.core.somaxconn cut it to maxBacklog; null when any socket's was not
   * seen (it listened before acceptq).
   */
  requestedBacklog: number | null;
  /** Age of the oldest connection waiting in the accept queue now, µs; 0 = none. */
  oldestWaitUs: number;
  /**
   * Cumulative: handshakes completed into the accept queue (an overflowed
   * one never enters it), and connections the application took from it
   * (arrivals minus the queue's growth and the queues reset at a socket's
   * close; io_uring accepts included).
   */
  arrivals: number;
  accepts: number;
  /** Cumulative: accept() calls timed (io_uring accepts are not), their waits added up (µs), and their log2 histogram. */
  waited: number;
  waitSumUs: number;
  waitHist: number[];
  /** Shortest and longest wait timed since the previous snapshot, µs (0: none). */
  waitMinUs: number;
  waitMaxUs: number;
}

/**
 * The raw listener's fields a model row (ListenerRow) carries as they are:
 * the collector copies them, the row's type takes them from RawListener. A
 * new field the row shows unchanged is one name here.
 */
export const ROW_AS_IS = [
  'netns', 'netnsCookie', 'family', 'port', 'pid', 'comm', 'uid', 'cgroupId', 'inode', 'cgroup', 'sockets', 'backlog', 'maxBacklog',
  'requestedBacklog', 'peakBacklog', 'synBacklog', 'overflowsSyn', 'overflowsAck', 'synDrops', 'cookies', 'estimate',
  'arrivals', 'accepts',
] as const satisfies ReadonlyArray<keyof RawListener>;
export type RawAsIs = Pick<RawListener, (typeof ROW_AS_IS)[number]>;

/** The counters of a namespace that have a zero point read right after attaching. */
export interface RawNetnsStart {
  attributed: number;
  attributedSynDrops: number;
  attributedCookies: number;
  unmatched: number;
  listenOverflows: number;
  listenDrops: number;
  syncookiesSent: number;
  reqQFullDrop: number;
}

export interface RawNetns {
  netns: number;
  pid: number;
  cookie: number;
  /** The kernel's own TcpExt counters of the namespace: exact. */
  listenOverflows: number;
  listenDrops: number;
  syncookiesSent: number;
  reqQFullDrop: number;
  /** Overflows acceptq credited to listeners in this namespace, read just after the counters. */
  attributed: number;
  /** SYN-queue drops (TCPReqQFullDrop) credited to listeners in it. */
  attributedSynDrops: number;
  /** SYN cookies (SyncookiesSent) credited to listeners in it. */
  attributedCookies: number;
  /** Counter moves at sockets acceptq could not name. */
  unmatched: number;
  /**
   * The zero point: the counters right after attaching (zero for a namespace
   * made later), and what acceptq had credited in it by then.
   */
  start: RawNetnsStart;
  gone: boolean;
  /** The split among its listeners was an estimate in the last interval. */
  estimate: boolean;
  /** Its sysctls (as last read inside it; null if unreadable): net.core.somaxconn, net.ipv4.tcp_max_syn_backlog, tcp_syncookies, tcp_abort_on_overflow. */
  somaxconn: number | null;
  maxSynBacklog: number | null;
  syncookies: number | null;
  abortOnOverflow: number | null;
}

export interface RawStats {
  /** Detail events lost (ring buffer full) and not sent (over --events-per-sec). */
  lostEvents: number;
  suppressedEvents: number;
  /** Sockets, rows or namespaces the kernel maps had no room for. */
  mapFull: number;
  /**
   * What the kernel side could not count, for want of room in its maps:
   * handshakes at a row without counters (its arrivals and accepts miss
   * them), connections not timed in the accept queue (the waits miss them),
   * listen() calls whose backlog was not read (requestedBacklog null).
   */
  lostArrivals: number;
  lostWaits: number;
  lostListens: number;
  snapshotNs: number;
  rows: number;
  namespaces: number;
  sockets: number;
}

export interface RawEvent {
  timeMs: number;
  netnsCookie: number;
  netns: number;
  family: 4 | 6;
  addr: Buffer;
  port: number;
  raddr: Buffer;
  rfamily: 4 | 6;
  rport: number;
  path: EventPath;
  backlog: number;
  maxBacklog: number;
  synBacklog: number;
}

export interface RawSnapshot {
  listeners: RawListener[];
  namespaces: RawNetns[];
  stats: RawStats;
}

/** What the collector reads from: the native helper, or a stand-in in tests. */
export interface RawSource {
  readonly probe: string;
  /** What this run cannot see now (a refused program, a namespace the last snapshot could not read), or ''; read after each snapshot(). */
  readonly notice?: string;
  snapshot(): RawSnapshot;
  drain(): RawEvent[];
}
