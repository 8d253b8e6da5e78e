/**
 * ref-struct-di mirrors of the helper library's ABI structs (lib/libacceptq.h,
 * bpf/acceptq.h). This is the only place they are described on the Node side;
 * test/layout.test.ts checks every size and offset against the library's own
 * report (acq_layout).
 */
import ref from '@2060.io/ref-napi';
import StructDi from 'ref-struct-di';
import { WAIT_BUCKETS } from '../model/raw';

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

export const ABI_VERSION = 5;

/** ACQ_CGROUP_LEN: acq_listener.cgroup, NUL included. */
export const CGROUP_LEN = 256;

/** A __u32 the library could not read (ACQ_UNKNOWN: the sysctls of acq_netns). */
export const UNKNOWN_U32 = 0xffffffff;

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

export const Listener = Struct({
  netns_cookie: ref.types.uint64,
  netns: ref.types.uint32,
  family: ref.types.uint16,
  port: ref.types.uint16,
  addr: bytes(16),
  pid: ref.types.uint32,
  sockets: ref.types.uint32,
  backlog: ref.types.uint32,
  max_backlog: ref.types.uint32,
  peak_backlog: ref.types.uint32,
  syn_backlog: ref.types.uint32,
  overflows_syn: ref.types.uint64,
  overflows_ack: ref.types.uint64,
  syn_drops: ref.types.uint64,
  cookies: ref.types.uint64,
  first_overflow_ms: ref.types.uint64,
  last_overflow_ms: ref.types.uint64,
  cgroup_id: ref.types.uint64,
  closed_ms: ref.types.uint64,
  uid: ref.types.uint32,
  flags: ref.types.uint32,
  comm: bytes(16),
  requested_backlog: ref.types.uint64,
  oldest_wait_us: ref.types.uint32,
  requested_known: ref.types.uint32,
  arrivals: ref.types.uint64,
  accepts: ref.types.uint64,
  waited: ref.types.uint64,
  wait_sum_us: ref.types.uint64,
  wait_min_us: ref.types.uint32,
  wait_max_us: ref.types.uint32,
  wait_hist: u32s(WAIT_BUCKETS), // ACQ_WAIT_BUCKETS: the layout check compares its size with C's
  cgroup: bytes(CGROUP_LEN),
});

export const Netns = Struct({
  netns: ref.types.uint32,
  pid: ref.types.uint32,
  cookie: ref.types.uint64,
  listen_overflows: ref.types.uint64,
  listen_drops: ref.types.uint64,
  syncookies_sent: ref.types.uint64,
  reqqfull_drop: ref.types.uint64,
  reqqfull_cookies: ref.types.uint64,
  attributed: ref.types.uint64,
  attributed_syn_drops: ref.types.uint64,
  attributed_cookies: ref.types.uint64,
  unmatched: ref.types.uint64,
  start_attributed: ref.types.uint64,
  start_listen_overflows: ref.types.uint64,
  start_listen_drops: ref.types.uint64,
  start_syncookies_sent: ref.types.uint64,
  start_reqqfull_drop: ref.types.uint64,
  start_attributed_syn_drops: ref.types.uint64,
  start_attributed_cookies: ref.types.uint64,
  start_unmatched: ref.types.uint64,
  gone: ref.types.uint32,
  estimate: ref.types.uint32,
  somaxconn: ref.types.uint32,
  max_syn_backlog: ref.types.uint32,
  syncookies: ref.types.uint32,
  abort_on_overflow: ref.types.uint32,
});

export const Stats = Struct({
  lost_events: ref.types.uint64,
  suppressed_events: ref.types.uint64,
  map_full: ref.types.uint64,
  lost_arrivals: ref.types.uint64,
  lost_waits: ref.types.uint64,
  lost_listens: ref.types.uint64,
  snapshot_ns: ref.types.uint64,
  probe: ref.types.uint32,
  rows: ref.types.uint32,
  namespaces: ref.types.uint32,
  sockets: ref.types.uint32,
});

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
