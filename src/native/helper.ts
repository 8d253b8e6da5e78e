/**
 * The FFI binding to libacceptq: one call per tick moves every listener row,
 * one call per drain moves many events. Decodes C records into plain objects
 * (the raw records of the model, src/model/raw.ts); nothing above this file
 * sees a C struct. The model does not import this file: this file imports it.
 */
import path from 'node:path';
import fs from 'node:fs';
import ffi from '@2060.io/ffi-napi';
import ref from '@2060.io/ref-napi';
import { compileDecoder, reads } from './decode';
import { PROBE_SETS, type ProbeSet } from './probe-sets';
import { ABI_VERSION, Event, LayoutEntry, Listener, LISTENER_ABI, Lkey, Netns, NETNS_ABI, OpenOpts, Stats, STATS_ABI } from './structs';
import type { RawEvent, RawListener, RawNetns, RawSnapshot, RawStats } from '../model/raw';
import type { EventPath } from '../model/types';

export type { RawEvent, RawListener, RawNetns, RawSnapshot, RawStats } from '../model/raw';

export { PROBE_SETS, type ProbeSet } from './probe-sets';

const PATHS: Record<number, EventPath> = { 1: 'syn', 2: 'ack', 3: 'syn-drop', 4: 'cookie' };

export interface LayoutReport {
  name: string;
  size: number;
  offset: number;
}

export interface OpenOptions {
  probe: ProbeSet;
  eventsPerSec: number;
  ringbufKb?: number;
  retainClosedS?: number;
  /** acq_open_opts.max_listeners; undefined = the library's default (65,536). */
  maxListeners?: number;
  /** acq_open_opts.max_namespaces; undefined = the library's default (4,096). */
  maxNamespaces?: number;
  logPath?: string;
}

export class HelperError extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

const voidPtr = ref.refType(ref.types.void);

/** The repository root, or the top of a release bundle (which keeps the same dist/ and build/). */
const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Where the built library lives (build/ at the root). */
export function libraryPath(): string {
  const fromEnv = process.env.ACCEPTQ_LIB;
  if (fromEnv) return fromEnv;
  return path.join(ROOT, 'build', 'libacceptq.so');
}

/** A clone builds the library with scripts/setup; a release bundle has no build step. */
const remedy = (): string => (fs.existsSync(path.join(ROOT, 'scripts', 'setup')) ? 'run scripts/setup' : 'reinstall acceptq');

let lib: any;
function load(): any {
  if (lib) return lib;
  const file = libraryPath();
  if (!fs.existsSync(file)) {
    throw new HelperError(`the helper library ${file} is missing: ${remedy()}`, -2);
  }
  try {
    lib = loadLibrary(file);
  } catch (e) {
    // dlopen's reason in one line: a truncated file, or a library it needs that is not installed
    const why = String((e as Error).message).split('\n')[0].replace(/^Dynamic \w+ Error: /, '').replace(`${file}: `, '');
    const fix = /\blib(elf|z)\.so/.test(why) ? 'install libelf1 and zlib1g' : remedy();
    throw new HelperError(`cannot load the helper library ${file}: ${why}; ${fix}`, -2);
  }
  return lib;
}

function loadLibrary(file: string): any {
  return ffi.Library(file, {
    acq_abi_version: ['uint32', []],
    acq_open: [voidPtr, [ref.refType(OpenOpts), ref.refType(ref.types.int), 'char *', 'size_t']],
    acq_snapshot: ['int', [voidPtr, 'pointer', 'uint32', 'pointer', 'uint32', ref.refType(Stats)]],
    acq_copy: ['int', [voidPtr, 'pointer', 'uint32', 'pointer', 'uint32']],
    acq_drain: ['int', [voidPtr, 'pointer', 'uint32']],
    acq_probe_name: ['string', [voidPtr]],
    acq_notice: ['string', [voidPtr]],
    acq_read_log: ['int', ['char *', 'size_t']],
    acq_layout: ['int', ['pointer', 'uint32']],
    acq_close: ['void', [voidPtr]],
    acq_drop_caps: ['int', ['uint64', 'uint32', 'uint32', 'char *', 'size_t']],
  });
}

function cstr(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}


/** The library's own report of its struct sizes and field offsets. */
export function layoutReport(): LayoutReport[] {
  const l = load();
  const max = 256;
  const buf = Buffer.alloc(max * LayoutEntry.size);
  const n = l.acq_layout(buf, max);
  const out: LayoutReport[] = [];
  for (let i = 0; i < n; i++) {
    const e = new LayoutEntry(buf.subarray(i * LayoutEntry.size, (i + 1) * LayoutEntry.size));
    out.push({ name: cstr(e.name), size: e.size, offset: e.offset });
  }
  return out;
}

export function abiVersion(): number {
  return load().acq_abi_version();
}

/** Capabilities kept after attach (see README, Privileges). */
export const KEPT_CAPS = {
  CAP_DAC_READ_SEARCH: 2, // read /proc/<pid>/fd of every process (owners of older sockets)
  CAP_SYS_PTRACE: 19, // read /proc/<pid>/ns/net of every process
  CAP_SYS_ADMIN: 21, // setns() into each network namespace every tick
  CAP_PERFMON: 38, // BPF object access when unprivileged BPF is disabled
  CAP_BPF: 39,
};

/** The user acceptq runs as once its probes are attached. */
export const UNPRIVILEGED_ID = 65534;

/**
 * Become the unprivileged user with only KEPT_CAPS (and `extra`) on the main
 * thread; every other thread keeps none, the bounding set is cut to match.
 * Call once everything is loaded (modules, files). Throws HelperError.
 */
export function dropCapabilities(extra: number[] = []): void {
  let mask = 0n;
  for (const c of [...Object.values(KEPT_CAPS), ...extra]) mask |= 1n << BigInt(c);
  const err = Buffer.alloc(512);
  const rc = load().acq_drop_caps(mask.toString(), UNPRIVILEGED_ID, UNPRIVILEGED_ID, err, err.length);
  if (rc !== 0) throw new HelperError(cstr(err), rc);
}

export function readLibbpfLog(): string {
  const buf = Buffer.alloc(64 * 1024);
  const n = load().acq_read_log(buf, buf.length);
  return buf.subarray(0, n).toString('utf8');
}

/** An open, attached set of BPF programs. close() detaches everything. */
export class Helper {
  private handle: Buffer | null;
  private rows: Buffer;
  private rowCap: number;
  private ns: Buffer;
  private nsCap: number;
  private events: Buffer;
  // the previous snapshot's rows, as bytes and as decoded (decodeListeners)
  private prevBytes = Buffer.alloc(0);
  private prevRaw: RawListener[] = [];
  readonly probe: string;
  /**
   * What this run cannot see, or '': an optional program refused at open,
   * and what the last snapshot could not read (a namespace it could not
   * enter). Read again at every snapshot, so it comes and goes with the cause.
   */
  notice: string;
  private static readonly EVENT_BATCH = 1024;
  private static readonly MIN_ROWS = 1024;

  private constructor(handle: Buffer) {
    this.handle = handle;
    this.rowCap = Helper.MIN_ROWS;
    this.rows = Buffer.alloc(this.rowCap * Listener.size);
    this.nsCap = 64;
    this.ns = Buffer.alloc(this.nsCap * Netns.size);
    this.events = Buffer.alloc(Helper.EVENT_BATCH * Event.size);
    this.probe = load().acq_probe_name(handle);
    this.notice = load().acq_notice(handle);
  }

  static open(o: OpenOptions): Helper {
    const l = load();
    if (l.acq_abi_version() !== ABI_VERSION) {
      throw new HelperError(`helper library ABI ${l.acq_abi_version()} != binding ABI ${ABI_VERSION}: rebuild with scripts/setup`, -22);
    }
    const opts = new OpenOpts({
      abi_version: ABI_VERSION,
      probe: PROBE_SETS.indexOf(o.probe),
      events_per_sec: o.eventsPerSec,
      ringbuf_kb: o.ringbufKb ?? 0,
      retain_closed_s: o.retainClosedS ?? 0,
      max_listeners: o.maxListeners ?? 0,
      max_namespaces: o.maxNamespaces ?? 0,
      _pad: 0,
      log_path: o.logPath ?? null,
    });
    const code = ref.alloc(ref.types.int, 0);
    const err = Buffer.alloc(2048);
    const h = l.acq_open(opts.ref(), code, err, err.length);
    if (ref.isNull(h)) throw new HelperError(cstr(err), code.deref());
    return new Helper(h);
  }

  /** Refresh from the kernel: every row and namespace, in one call. */
  snapshot(): RawSnapshot {
    const l = load();
    if (!this.handle) throw new HelperError('helper is closed', -9);
    const stats = new Stats();
    const n = l.acq_snapshot(this.handle, this.rows, this.rowCap, this.ns, this.nsCap, stats.ref());
    if (n < 0) throw new HelperError(`snapshot failed: errno ${-n}`, n);
    this.notice = l.acq_notice(this.handle);
    let count = n;
    if (stats.rows > this.rowCap || stats.namespaces > this.nsCap) {
      // grow to fit and copy the same snapshot again
      this.rowCap = Math.max(this.rowCap, stats.rows * 2);
      this.nsCap = Math.max(this.nsCap, stats.namespaces * 2);
      this.rows = Buffer.alloc(this.rowCap * Listener.size);
      this.ns = Buffer.alloc(this.nsCap * Netns.size);
      count = l.acq_copy(this.handle, this.rows, this.rowCap, this.ns, this.nsCap);
    }
    const listeners = this.decodeListeners(count);
    const namespaces: RawNetns[] = [];
    for (let i = 0; i < Math.min(stats.namespaces, this.nsCap); i++) {
      namespaces.push(decodeNetns(this.ns, i * Netns.size));
    }
    return {
      listeners,
      namespaces,
      stats: decodeStats(stats.ref(), 0),
    };
  }

  /**
   * The rows of this snapshot. A row whose bytes are the same as at the same
   * place in the previous snapshot (most rows of a host with many listeners:
   * idle ones) is the previous snapshot's object, not a new one: decoding
   * thousands of unchanged rows every tick was most of the garbage, and the
   * model reuses its own row for an unchanged one too (Collector.tick).
   */
  private decodeListeners(count: number): RawListener[] {
    const size = Listener.size;
    const prev = this.prevRaw;
    const out = new Array<RawListener>(count);
    for (let i = 0; i < count; i++) {
      const at = i * size;
      out[i] =
        i < prev.length && this.rows.compare(this.prevBytes, at, at + size, at, at + size) === 0 ? prev[i] : decodeListener(this.rows, at);
    }
    // after a burst (most rows gone), give the buffers' memory back: room for twice the rows now
    if (count * 8 < this.rowCap && this.rowCap > Helper.MIN_ROWS) {
      this.rowCap = Math.max(Helper.MIN_ROWS, count * 2);
      this.rows = Buffer.alloc(this.rowCap * size);
      this.prevBytes = Buffer.alloc(0);
      this.prevRaw = [];
      return out;
    }
    if (this.prevBytes.length < count * size) this.prevBytes = Buffer.alloc(this.rows.length);
    this.rows.copy(this.prevBytes, 0, 0, count * size);
    this.prevRaw = out;
    return out;
  }

  /** Every pending detail event, oldest first. */
  drain(): RawEvent[] {
    const l = load();
    if (!this.handle) return [];
    const out: RawEvent[] = [];
    for (;;) {
      const n = l.acq_drain(this.handle, this.events, Helper.EVENT_BATCH);
      if (n < 0) throw new HelperError(`drain failed: errno ${-n}`, n);
      for (let i = 0; i < n; i++) out.push(decodeEvent(this.events, i * Event.size));
      if (n < Helper.EVENT_BATCH) return out;
    }
  }

  close(): void {
    if (!this.handle) return;
    load().acq_close(this.handle);
    this.handle = null;
  }
}

// The listener, the namespace and the stats: compiled from their tables. The
// event (a nested key struct) is decoded by hand, at the mirrors' offsets:
// ref-struct-di's per-field getters cost ~5 us each.
const EVENT_AT = offsets(Event);
const KEY_AT = offsets(Lkey);
const { netnsId, bytes } = reads;

function offsets(type: any): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, f] of Object.entries<any>(type.fields)) out[name] = f.offset;
  return out;
}

const decodeListener = compileDecoder<RawListener>(LISTENER_ABI, Listener);
const decodeStats = compileDecoder<RawStats>(STATS_ABI, Stats);

const decodeNetns = compileDecoder<RawNetns>(NETNS_ABI, Netns);

function decodeEvent(b: Buffer, base: number): RawEvent {
  const at = (f: string) => base + EVENT_AT[f];
  const key = (f: string) => at('key') + KEY_AT[f];
  return {
    timeMs: Number(b.readBigUInt64LE(at('ts_ns')) / 1000000n),
    netnsCookie: netnsId(b, key('netns_cookie')),
    netns: b.readUInt32LE(key('netns')),
    family: b.readUInt16LE(key('family')) === 6 ? 6 : 4,
    addr: bytes(b, key('addr'), 16),
    port: b.readUInt16LE(key('port')),
    raddr: bytes(b, at('raddr'), 16),
    rfamily: b.readUInt8(at('rfamily')) === 6 ? 6 : 4,
    rport: b.readUInt16LE(at('rport')),
    path: PATHS[b.readUInt8(at('path'))] ?? 'syn',
    backlog: b.readUInt32LE(at('backlog')),
    maxBacklog: b.readUInt32LE(at('max_backlog')),
    synBacklog: b.readUInt32LE(at('syn_backlog')),
  };
}
