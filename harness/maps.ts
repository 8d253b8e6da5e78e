/** The BPF maps one acceptq process holds, and how many entries each has. */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { heldBy } from './links';

/**
 * map name -> id, from the process's fds (fdinfo) and bpftool. Throws when
 * the process is gone, and when it holds two maps of one name (a second
 * copy, say from a load attempt left behind): which of the two the caller
 * meant could not be told.
 */
export function mapsOf(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of heldBy(pid).maps) {
    if (m.name in out) throw new Error(`pid ${pid} holds two BPF maps named ${m.name} (ids ${out[m.name]} and ${m.id})`);
    out[m.name] = m.id;
  }
  return out;
}

export function entries(mapId: number): number {
  const dump = execFileSync('bpftool', ['map', 'dump', 'id', String(mapId), '-j'], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  return (JSON.parse(dump) as unknown[]).length;
}

/** A listener key (struct acq_lkey) as bpftool prints it with the map's BTF. */
export interface ListenerKey {
  netns_cookie: number;
  netns: number;
  family: number;
  port: number;
}

function findKey(v: unknown): ListenerKey | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.netns_cookie === 'number' && typeof o.netns === 'number' && typeof o.port === 'number') return o as unknown as ListenerKey;
  for (const x of Object.values(o)) {
    const k = findKey(x);
    if (k) return k;
  }
  return undefined;
}

/** The listener key in every entry of a map (in its value, else its key). Throws if an entry has none. */
export function listenerKeys(mapId: number): ListenerKey[] {
  const dump = execFileSync('bpftool', ['map', 'dump', 'id', String(mapId), '-j'], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  return (JSON.parse(dump) as Array<{ formatted?: { key?: unknown; value?: unknown } }>).map((e) => {
    const k = findKey(e.formatted?.value) ?? findKey(e.formatted?.key);
    if (!k) throw new Error(`map ${mapId}: an entry without a listener key: ${JSON.stringify(e).slice(0, 200)}`);
    return k;
  });
}

/** How many entries of a map belong to each network namespace (inode), by the listener key in each. */
export function entriesByNetns(mapId: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const k of listenerKeys(mapId)) out.set(k.netns, (out.get(k.netns) ?? 0) + 1);
  return out;
}

/** Bytes as bpftool takes them after `key hex` / `value hex`. */
export function hexArgs(b: Buffer): string[] {
  return [...b].map((x) => x.toString(16).padStart(2, '0'));
}

/** The raw key bytes of every entry of a map (bpftool prints them as "0x.." strings). */
export function rawKeys(mapId: number): Buffer[] {
  const dump = execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(mapId)], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  return (JSON.parse(dump) as Array<{ key: string[] }>).map((e) => Buffer.from(e.key.map((x) => parseInt(x, 16))));
}

/** The keys of a map keyed by a u64 (a namespace cookie), read from their raw bytes. */
export function u64Keys(mapId: number): bigint[] {
  return rawKeys(mapId).map((k) => k.readBigUInt64LE(0));
}

/** Is key in the map? (`bpftool map lookup` fails for a missing key.) */
export function hasKey(mapId: number, key: Buffer): boolean {
  try {
    execFileSync('bpftool', ['map', 'lookup', 'id', String(mapId), 'key', 'hex', ...hexArgs(key)], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Write one entry (throws with bpftool's message when the kernel refuses it, e.g. a full map). */
export function mapUpdate(mapId: number, key: Buffer, value: Buffer): void {
  execFileSync('bpftool', ['map', 'update', 'id', String(mapId), 'key', 'hex', ...hexArgs(key), 'value', 'hex', ...hexArgs(value)], {
    stdio: 'pipe',
  });
}

export function mapDelete(mapId: number, key: Buffer): void {
  execFileSync('bpftool', ['map', 'delete', 'id', String(mapId), 'key', 'hex', ...hexArgs(key)], { stdio: 'pipe' });
}

/** A map's max_entries, key and value sizes (bpftool map show). */
export function mapInfo(mapId: number): { maxEntries: number; keySize: number; valueSize: number } {
  const m = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'id', String(mapId)], { encoding: 'utf8' }));
  return { maxEntries: m.max_entries, keySize: m.bytes_key, valueSize: m.bytes_value };
}

/**
 * Write many entries in one bpftool run (`bpftool batch file`), in order,
 * stopping at the first the kernel refuses. Returns undefined when every
 * entry was written, else bpftool's error (a full hash map: "Argument list
 * too long", E2BIG).
 */
export function mapUpdateMany(mapId: number, entries: Iterable<[Buffer, Buffer]>): string | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-batch-'));
  const file = path.join(dir, 'batch');
  try {
    const lines: string[] = [];
    for (const [k, v] of entries) lines.push(`map update id ${mapId} key hex ${hexArgs(k).join(' ')} value hex ${hexArgs(v).join(' ')}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const r = spawnSync('bpftool', ['batch', 'file', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    return r.status === 0 ? undefined : r.stderr.trim() || `bpftool batch exited with ${r.status}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** struct acq_lkey (bpf/acceptq.h) of a listener row, as the groups and counts maps key it. */
export function lkeyBytes(row: { netnsCookie: number; netns: number; family: number; port: number; addr: Buffer }): Buffer {
  const b = Buffer.alloc(32);
  // bit 63 set: a namespace named by inode (before 5.14), a figure past 2^53 a JS number cannot hold exactly
  const byInode = row.netnsCookie >= 2 ** 63;
  b.writeBigUInt64LE(byInode ? BigInt(row.netns) | (1n << 63n) : BigInt(row.netnsCookie), 0);
  b.writeUInt32LE(row.netns, 8);
  b.writeUInt16LE(row.family, 12);
  b.writeUInt16LE(row.port, 14);
  row.addr.copy(b, 16, 0, 16);
  return b;
}
