/**
 * ref-struct-di mirrors of the helper library's ABI structs (lib/libacceptq.h,
 * bpf/acceptq.h). This is the only place they are described on the Node side;
 * test/layout.test.ts checks every size and offset against the library's own
 * report (acq_layout). The listener and the stats are described by a table
 * of their fields, which the decoders follow too.
 */
import ref from '@2060.io/ref-napi';
import StructDi from 'ref-struct-di';
import { WAIT_BUCKETS, type RawListener, type RawNetns, type RawStats } from '../model/raw';

const Struct = StructDi(ref);

/** A fixed-size byte array field (C `__u8 x[n]` / `char x[n]`). */
function bytes(n: number): any {
  return {
    size: n,
    alignment: 1,
    indirection: 1,
    get: (buf: Buffer, offset: number) => Buffer.from(buf.subarray(offset, offset + n)),
    set: (buf: Buffer, offset: number, val: Buffer) => {
      buf.fill(0, offset, offset + n);
      val.copy(buf, offset, 0, Math.min(n, val.length));
    },
  };
}

/** A fixed-size array of __u32 (C `__u32 x[n]`), read by the decoder straight from the buffer. */
function u32s(n: number): any {
  return {
    size: 4 * n,
    alignment: 4,
    indirection: 1,
    get: (buf: Buffer, offset: number) => Array.from({ length: n }, (_, i) => buf.readUInt32LE(offset + 4 * i)),
    set: (buf: Buffer, offset: number, val: number[]) => {
      for (let i = 0; i < n; i++) buf.writeUInt32LE(val[i] ?? 0, offset + 4 * i);
    },
  };
}

/** A C field's type: an unsigned integer, or an array of bytes, text (NUL-terminated) or __u32. */
export type CType = 'u8' | 'u16' | 'u32' | 'u64' | { bytes: number } | { text: number } | { u32s: number };

/** A field of a record the binding decodes (an entry of LISTENER_ABI, STATS_ABI). */
export interface AbiField {
  /** Its name in the C struct. */
  c: string;
  type: CType;
  /**
   * Its name in the raw record (src/model/raw.ts), `group.name` for a field
   * of a nested object; none: not decoded, or read by another field.
   */
  js?: string;
  /**
   * Not the number it holds: a namespace id (src/model/netns.ts), a family
   * (4 or 6), a boolean (non-zero), or null for ACQ_UNKNOWN (orNull).
   */
  as?: 'netnsId' | 'family' | 'bool' | 'orNull';
  /** A flags word: one boolean of the raw record per bit, by name. */
  bits?: Readonly<Record<string, number>>;
  /** null unless this (__u32) field of the same struct is non-zero. */
  knownBy?: string;
}

/** The ref-struct-di mirror of a table's struct. */
function abiStruct(fields: readonly AbiField[]): any {
  const type = (t: CType): any => {
    if (t === 'u8') return ref.types.uint8;
    if (t === 'u16') return ref.types.uint16;
    if (t === 'u32') return ref.types.uint32;
    if (t === 'u64') return ref.types.uint64;
    if ('u32s' in t) return u32s(t.u32s);
    return bytes('bytes' in t ? t.bytes : t.text);
  };
  return Struct(Object.fromEntries(fields.map((f) => [f.c, type(f.type)])));
}

/** The raw record's names a table decodes into (a nested object's by its own name). */
type TopName<K extends string> = K extends `${infer Group}.${string}` ? Group : K;
type DecodedKeys<E> = E extends { js: infer K extends string } ? TopName<K> : E extends { bits: infer B } ? keyof B & string : never;
/**
 * true when a table decodes every field of the raw record R and no other:
 * a table that misses one, or names one R lacks, does not compile.
 */
type Decodes<T extends readonly AbiField[], R> = [DecodedKeys<T[number]>] extends [keyof R]
  ? ([keyof R] extends [DecodedKeys<T[number]>] ? true : false) : false;

export const ABI_VERSION = 5;

/** ACQ_CGROUP_LEN: acq_listener.cgroup, NUL included. */
export const CGROUP_LEN = 256;

/** acq_listener.flags: the row's split of its namespace's counts is an estimate (ACQ_ROW_ESTIMATE). */
export const ROW_ESTIMATE = 1;

export const OpenOpts = Struct({
  abi_version: ref.types.uint32,
  probe: ref.types.uint32,
  events_per_sec: ref.types.uint32,
  ringbuf_kb: ref.types.uint32,
  retain_closed_s: ref.types.uint32,
  max_listeners: ref.types.uint32,
  max_namespaces: ref.types.uint32,
  _pad: ref.types.uint32,
  log_path: ref.types.CString,
});

/**
 * acq_listener, field by field in C's order: the one list the mirror, the
 * decoder (src/native/decode.ts) and the check against the model's raw
 * record (below) come from. A new listener field is one entry here.
 */
export const LISTENER_ABI = [
  { c: 'netns_cookie', type: 'u64', js: 'netnsCookie', as: 'netnsId' },
  { c: 'netns', type: 'u32', js: 'netns' },
  { c: 'family', type: 'u16', js: 'family', as: 'family' },
  { c: 'port', type: 'u16', js: 'port' },
  { c: 'addr', type: { bytes: 16 }, js: 'addr' },
  { c: 'pid', type: 'u32', js: 'pid' },
  { c: 'sockets', type: 'u32', js: 'sockets' },
  { c: 'backlog', type: 'u32', js: 'backlog' },
  { c: 'max_backlog', type: 'u32', js: 'maxBacklog' },
  { c: 'peak_backlog', type: 'u32', js: 'peakBacklog' },
  { c: 'syn_backlog', type: 'u32', js: 'synBacklog' },
  { c: 'overflows_syn', type: 'u64', js: 'overflowsSyn' },
  { c: 'overflows_ack', type: 'u64', js: 'overflowsAck' },
  { c: 'syn_drops', type: 'u64', js: 'synDrops' },
  { c: 'cookies', type: 'u64', js: 'cookies' },
  { c: 'first_overflow_ms', type: 'u64', js: 'firstOverflowMs' },
  { c: 'last_overflow_ms', type: 'u64', js: 'lastOverflowMs' },
  { c: 'cgroup_id', type: 'u64', js: 'cgroupId' },
  { c: 'inode', type: 'u64', js: 'inode' },
  { c: 'closed_ms', type: 'u64', js: 'closedMs' },
  { c: 'uid', type: 'u32', js: 'uid' },
  { c: 'flags', type: 'u32', bits: { estimate: ROW_ESTIMATE } },
  { c: 'comm', type: { text: 16 }, js: 'comm' },
  { c: 'requested_backlog', type: 'u64', js: 'requestedBacklog', knownBy: 'requested_known' },
  { c: 'oldest_wait_us', type: 'u32', js: 'oldestWaitUs' },
  { c: 'requested_known', type: 'u32' },
  { c: 'arrivals', type: 'u64', js: 'arrivals' },
  { c: 'accepts', type: 'u64', js: 'accepts' },
  { c: 'waited', type: 'u64', js: 'waited' },
  { c: 'wait_sum_us', type: 'u64', js: 'waitSumUs' },
  { c: 'wait_min_us', type: 'u32', js: 'waitMinUs' },
  { c: 'wait_max_us', type: 'u32', js: 'waitMaxUs' },
  // ACQ_WAIT_BUCKETS: the layout check compares its size with C's
  { c: 'wait_hist', type: { u32s: WAIT_BUCKETS }, js: 'waitHist' },
  { c: 'cgroup', type: { text: CGROUP_LEN }, js: 'cgroup' },
] as const satisfies readonly AbiField[];
export const Listener = abiStruct(LISTENER_ABI);
const LISTENER_DECODES_RAW: Decodes<typeof LISTENER_ABI, RawListener> = true;

/** acq_netns, as LISTENER_ABI; `start.x`: the field x of the raw record's zero point (start). */
export const NETNS_ABI = [
  { c: 'netns', type: 'u32', js: 'netns' },
  { c: 'pid', type: 'u32', js: 'pid' },
  { c: 'cookie', type: 'u64', js: 'cookie', as: 'netnsId' },
  { c: 'listen_overflows', type: 'u64', js: 'listenOverflows' },
  { c: 'listen_drops', type: 'u64', js: 'listenDrops' },
  { c: 'syncookies_sent', type: 'u64', js: 'syncookiesSent' },
  { c: 'reqqfull_drop', type: 'u64', js: 'reqQFullDrop' },
  { c: 'reqqfull_cookies', type: 'u64' }, // not shown: SyncookiesSent counts those cookies too
  { c: 'attributed', type: 'u64', js: 'attributed' },
  { c: 'attributed_syn_drops', type: 'u64', js: 'attributedSynDrops' },
  { c: 'attributed_cookies', type: 'u64', js: 'attributedCookies' },
  { c: 'unmatched', type: 'u64', js: 'unmatched' },
  { c: 'start_attributed', type: 'u64', js: 'start.attributed' },
  { c: 'start_listen_overflows', type: 'u64', js: 'start.listenOverflows' },
  { c: 'start_listen_drops', type: 'u64', js: 'start.listenDrops' },
  { c: 'start_syncookies_sent', type: 'u64', js: 'start.syncookiesSent' },
  { c: 'start_reqqfull_drop', type: 'u64', js: 'start.reqQFullDrop' },
  { c: 'start_attributed_syn_drops', type: 'u64', js: 'start.attributedSynDrops' },
  { c: 'start_attributed_cookies', type: 'u64', js: 'start.attributedCookies' },
  { c: 'start_unmatched', type: 'u64', js: 'start.unmatched' },
  { c: 'gone', type: 'u32', js: 'gone', as: 'bool' },
  { c: 'estimate', type: 'u32', js: 'estimate', as: 'bool' },
  // the sysctls: ACQ_UNKNOWN (could not be read) is null
  { c: 'somaxconn', type: 'u32', js: 'somaxconn', as: 'orNull' },
  { c: 'max_syn_backlog', type: 'u32', js: 'maxSynBacklog', as: 'orNull' },
  { c: 'syncookies', type: 'u32', js: 'syncookies', as: 'orNull' },
  { c: 'abort_on_overflow', type: 'u32', js: 'abortOnOverflow', as: 'orNull' },
] as const satisfies readonly AbiField[];
export const Netns = abiStruct(NETNS_ABI);
const NETNS_DECODES_RAW: Decodes<typeof NETNS_ABI, RawNetns> = true;

/** acq_stats, as LISTENER_ABI. */
export const STATS_ABI = [
  { c: 'lost_events', type: 'u64', js: 'lostEvents' },
  { c: 'suppressed_events', type: 'u64', js: 'suppressedEvents' },
  { c: 'map_full', type: 'u64', js: 'mapFull' },
  { c: 'lost_arrivals', type: 'u64', js: 'lostArrivals' },
  { c: 'lost_waits', type: 'u64', js: 'lostWaits' },
  { c: 'lost_listens', type: 'u64', js: 'lostListens' },
  { c: 'snapshot_ns', type: 'u64', js: 'snapshotNs' },
  { c: 'probe', type: 'u32' }, // the binding asks acq_probe_name() instead
  { c: 'rows', type: 'u32', js: 'rows' },
  { c: 'namespaces', type: 'u32', js: 'namespaces' },
  { c: 'sockets', type: 'u32', js: 'sockets' },
] as const satisfies readonly AbiField[];
export const Stats = abiStruct(STATS_ABI);
const STATS_DECODES_RAW: Decodes<typeof STATS_ABI, RawStats> = true;

export const Lkey = Struct({
  netns_cookie: ref.types.uint64,
  netns: ref.types.uint32,
  family: ref.types.uint16,
  port: ref.types.uint16,
  addr: bytes(16),
});

export const Event = Struct({
  ts_ns: ref.types.uint64,
  key: Lkey,
  raddr: bytes(16),
  rport: ref.types.uint16,
  path: ref.types.uint8,
  rfamily: ref.types.uint8,
  backlog: ref.types.uint32,
  max_backlog: ref.types.uint32,
  syn_backlog: ref.types.uint32,
});

export const LayoutEntry = Struct({
  name: bytes(48),
  size: ref.types.uint32,
  offset: ref.types.uint32,
});

/** Struct name (as in C, without "struct ") -> mirror, for the layout check. */
export const MIRRORS: Record<string, any> = {
  acq_open_opts: OpenOpts,
  acq_listener: Listener,
  acq_netns: Netns,
  acq_stats: Stats,
  acq_event: Event,
  acq_lkey: Lkey,
};

/** Offset of a field inside a mirror. */
export function fieldOffset(type: any, field: string): number | undefined {
  return type.fields[field]?.offset;
}

/** Size of a field inside a mirror. */
export function fieldSize(type: any, field: string): number | undefined {
  return type.fields[field]?.type.size;
}
