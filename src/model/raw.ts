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
  netnsCookie: number;
  netns: number;
  family: 4 | 6;
  addr: Buffer;
  port: number;
  pid: number;
  comm: string;
  sockets: number;
  backlog: number;
  maxBacklog: number;
  peakBacklog: number;
  synBacklog: number;
  overflowsSyn: number;
  overflowsAck: number;
  synDrops: number;
  cookies: number;
  firstOverflowMs: number;
  lastOverflowMs: number;
  cgroupId: number;
  /** The cgroup (v2) path its sockets were created in ("/system.slice/nginx.service"); '' while unknown. */
  cgroup: string;
  closedMs: number;
  uid: number;
  /**
   * The row's split of its namespace's counts is an estimate (sticky): in
   * some interval several listeners of the namespace had counts while a
   * packet was handled in a way that lets the credit go to the wrong one.
   */
  estimate: boolean;
  /**
   * listen() arguments summed over the sockets, each as the kernel reads it
   * (unsigned: a negative one is 4294967295, above any somaxconn); null when
   * any socket's was not seen (it listened before acceptq).
   */
  requestedBacklog: number | null;
  /** Age of the oldest connection waiting in the accept queue now, µs; 0 = none. */
  oldestWaitUs: number;
  /** Cumulative: handshakes completed into the accept queue, and connections taken from it (io_uring included). */
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
  lostEvents: number;
  suppressedEvents: number;
  mapFull: number;
  /** Handshakes at a row without counters, connections not timed, listen() calls not read (kernel maps full). */
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
