/** The BPF maps one acceptq process holds, and how many entries each has. */
import { execFileSync } from 'node:child_process';
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
