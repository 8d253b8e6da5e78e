/**
 * The model: what every view (table, JSON, dashboard, recordings, metrics)
 * is built from. src/model/fields.ts lists each record's fields once, for
 * the views that write or read them field by field.
 *
 * Exactness: a namespace's kernel counters (TcpExt ListenOverflows,
 * TCPReqQFullDrop, SyncookiesSent) are exact, and acceptq credits every move
 * of them to the listener whose packet moved it, so a listener's counts are
 * exact too, except in a row marked `estimate`: there the split among the
 * listeners of its namespace may be off (the namespace total stays exact).
 */

import type { RawAsIs, RawStats } from './raw';

/** Why a detail event was sent: the path that dropped the packet, or a cookie. */
export type EventPath = 'syn' | 'ack' | 'syn-drop' | 'cookie';
export const EVENT_PATHS: readonly EventPath[] = ['syn', 'ack', 'syn-drop', 'cookie'];

/** A listener row: the raw record's fields carried as they are (ROW_AS_IS), and what the model works out. */
export interface ListenerRow extends RawAsIs {
  /** Stable identity: netnsCookie|family|address|port, after host| in a fleet. */
  id: string;
  /** The fleet's host the row is from (its Prometheus instance or target); '' on a local run. */
  host: string;
  /** Its host did not answer the last scrape: the figures are the last it gave (a fleet only). */
  hostDown: boolean;
  address: string;
  /**
   * The service its cgroup names (src/model/service.ts): `nginx.service`,
   * `docker:0123456789ab`, `pod:<uid>`; '' for the root cgroup or unknown.
   */
  service: string;
  /** overflowsSyn + overflowsAck. */
  overflows: number;
  /** Overflows per second over the last interval. */
  overflowRate: number;
  // Why it overflows: the accept queue's traffic and waits.
  /** arrivals and accepts per second over the last interval. */
  arrivalRate: number;
  acceptRate: number;
  /** Age of the oldest connection waiting in the accept queue now, ms; null if none waits. */
  oldestWaitMs: number | null;
  /** accept() calls timed in the interval (io_uring accepts are not timed). */
  waitCount: number;
  /** Their wait from handshake to accept(), ms: mean, shortest, longest (exact); null when none was timed. */
  waitMeanMs: number | null;
  waitMinMs: number | null;
  waitMaxMs: number | null;
  /** Median and 99th percentile, ms: estimates from waitHist, clamped to [waitMinMs, waitMaxMs]. */
  waitP50Ms: number | null;
  waitP99Ms: number | null;
  /**
   * The interval's waits by log2 bucket (WAIT_BUCKETS): bucket i holds
   * [2^i, 2^(i+1)) µs, 0 µs in 0, the last open-ended. Empty when unknown:
   * a format-1 recording has none of these traffic figures.
   */
  waitHist: number[];
  /** Unix ms; null = never. */
  firstOverflowMs: number | null;
  lastOverflowMs: number | null;
  closed: boolean;
  closedMs: number | null;
}

export interface NamespaceRow {
  /** As ListenerRow.host. */
  host: string;
  netns: number;
  /** Its id, as ListenerRow.netnsCookie. */
  cookie: number;
  pid: number;
  /** Kernel counters, as deltas since acceptq started watching. */
  listenOverflows: number;
  listenDrops: number;
  syncookiesSent: number;
  reqQFullDrops: number;
  // The gaps, either way and never clamped: the kernel's count minus what
  // acceptq credited to listeners in the namespace over the same span.
  // Negative means acceptq credited more than the kernel counted.
  /** listenOverflows minus the overflows credited to its listeners. */
  unattributed: number;
  /** reqQFullDrops minus the SYN-queue drops credited to its listeners. */
  unattributedSynDrops: number;
  /** syncookiesSent minus the cookies credited to its listeners. */
  unattributedCookies: number;
  /** Counter moves at sockets acceptq could not name (since start). */
  unmatched: number;
  /** The split of its counts among its listeners was an estimate in the last interval. */
  estimate: boolean;
  overflowRate: number;
  gone: boolean;
  // Its sysctls, read from inside it (the last value read; null when unknown, as in a format-1 recording).
  /** net.core.somaxconn: every listen() backlog is cut to it. */
  somaxconn: number | null;
  /** net.ipv4.tcp_max_syn_backlog, tcp_syncookies, tcp_abort_on_overflow. */
  maxSynBacklog: number | null;
  syncookies: number | null;
  abortOnOverflow: number | null;
}

export interface DetailEvent {
  timeMs: number;
  listenerId: string;
  netns: number;
  /** The listener's namespace id, as ListenerRow.netnsCookie. */
  netnsCookie: number;
  address: string;
  port: number;
  remoteAddress: string;
  remotePort: number;
  path: EventPath;
  backlog: number;
  maxBacklog: number;
  synBacklog: number;
}

/** A snapshot: the rows and namespaces, what the kernel side lost (as RawStats says), the interval's rates. */
export interface Snapshot extends Pick<RawStats, 'lostEvents' | 'suppressedEvents' | 'mapFull' | 'lostArrivals' | 'lostWaits' | 'lostListens'> {
  timeMs: number;
  /** Seconds since the previous snapshot (the interval actually measured). */
  elapsed: number;
  probe: string;
  /** What this run cannot see now (a refused program, a namespace this tick could not read); '' if nothing. */
  notice: string;
  snapshotMs: number;
  listeners: ListenerRow[];
  namespaces: NamespaceRow[];
  /** Detail events that arrived since the previous snapshot. */
  events: DetailEvent[];
  /** Totals over all listeners and namespaces, per second, this interval. */
  attributedRate: number;
  kernelRate: number;
  /** A fleet's hosts, every one of them, up or down (a local run: none). */
  hosts?: HostRow[];
  /** Where a fleet's figures came from (a local run: none). */
  source?: 'prometheus' | 'targets';
}

/** A host of a fleet: whether it answered, and what it said of itself. */
export interface HostRow {
  /** Its Prometheus instance label, or the target as given. */
  host: string;
  up: boolean;
  /** Unix ms of its last answered scrape; null: never. */
  lastSeenMs: number | null;
  /** Why it is down; null when up. */
  error: string | null;
  /** From acceptq_host_info and acceptq_probe_info; null until it answered. */
  hostname: string | null;
  kernel: string | null;
  probe: string | null;
  /** When its acceptq started (acceptq_start_time_seconds, Unix ms); null: not given. */
  startedMs: number | null;
  /**
   * Restarts of its acceptq seen while watching, and when the last was seen
   * (Unix ms; null: none). Its counts go on from before a restart; what
   * happened while its acceptq was down is in none of them.
   */
  restarts: number;
  restartedMs: number | null;
  /** Its listeners' overflows per second over the last interval. */
  overflowRate: number;
  /** The size of its namespaces' gaps between the kernel and what was credited (0: exact). */
  gap: number;
  lostEvents: number;
}

/** Where a run's snapshots come from: the kernel (live) or a recording. */
export interface StreamMeta {
  host: string;
  kernel: string;
  probe: string;
  intervalS: number;
}

export interface SnapshotStream {
  readonly live: boolean;
  readonly meta: StreamMeta;
  /**
   * Fetch what the next snapshot is built from, if that takes I/O (a
   * fleet's scrapes); next() then builds it without waiting.
   */
  prepare?(): Promise<void>;
  /** HTTP requests sent so far by prepare() (a fleet's), for the bench's frame log. */
  readonly requests?: number;
  /** The next snapshot (live: read the kernel now); null at the end of a recording. */
  next(): Snapshot | null;
  /**
   * A listener's overflows/s (null: every listener's) over the `points`
   * intervals before now, where the source keeps history (a fleet through
   * Prometheus); null where it does not.
   */
  history?(row: ListenerRow | null, points: number): Promise<number[] | null>;
}
