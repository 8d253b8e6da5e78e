/** The model: what every view (table, JSON, dashboard) is built from. */
import type { EventPath } from '../native/helper';

export interface ListenerRow {
  /** Stable identity: netnsCookie|family|address|port. */
  id: string;
  /** Namespace inode number (as ip netns / lsns show it). */
  netns: number;
  /** Namespace cookie: unique, where inode numbers get reused. */
  netnsCookie: number;
  family: 4 | 6;
  address: string;
  port: number;
  pid: number;
  comm: string;
  uid: number;
  cgroupId: number;
  sockets: number;
  backlog: number;
  maxBacklog: number;
  peakBacklog: number;
  synBacklog: number;
  overflows: number;
  overflowsSyn: number;
  overflowsAck: number;
  synDrops: number;
  cookies: number;
  /** Overflows per second over the last interval. */
  overflowRate: number;
  firstOverflowMs: number | null;
  lastOverflowMs: number | null;
  closed: boolean;
  closedMs: number | null;
}

export interface NamespaceRow {
  netns: number;
  cookie: number;
  pid: number;
  /** Kernel counters, as deltas since acceptq started watching. */
  listenOverflows: number;
  listenDrops: number;
  syncookiesSent: number;
  reqQFullDrops: number;
  /** listenOverflows minus what acceptq attributed to listeners in it. */
  unattributed: number;
  overflowRate: number;
  gone: boolean;
}

export interface DetailEvent {
  timeMs: number;
  listenerId: string;
  netns: number;
  address: string;
  port: number;
  remoteAddress: string;
  remotePort: number;
  path: EventPath;
  backlog: number;
  maxBacklog: number;
  synBacklog: number;
}

export interface Snapshot {
  timeMs: number;
  /** Seconds since the previous snapshot (the interval actually measured). */
  elapsed: number;
  probe: string;
  /** What this run cannot see because the kernel refused an optional program ('' if nothing). */
  notice: string;
  lostEvents: number;
  suppressedEvents: number;
  mapFull: number;
  snapshotMs: number;
  listeners: ListenerRow[];
  namespaces: NamespaceRow[];
  /** Detail events that arrived since the previous snapshot. */
  events: DetailEvent[];
  /** Totals over all listeners and namespaces, per second, this interval. */
  attributedRate: number;
  kernelRate: number;
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
  /** The next snapshot (live: read the kernel now); null at the end of a recording. */
  next(): Snapshot | null;
}
