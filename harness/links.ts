/**
 * BPF objects (links, programs, maps) of acceptq: the ones a process holds,
 * read from its fds while it runs, and the ones the kernel still has
 * (bpftool), to tell that they are gone once it is done with them.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

interface BpftoolLink {
  id: number;
  prog_id: number;
}

function bpftool<T>(...args: string[]): T {
  return JSON.parse(execFileSync('bpftool', [...args, '-j'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as T;
}

function progNames(): Map<number, string> {
  const progs = bpftool<Array<{ id: number; name?: string }>>('prog', 'list');
  return new Map(progs.map((p) => [p.id, p.name ?? '']));
}

function mapNames(): Map<number, string> {
  const maps = bpftool<Array<{ id: number; name?: string }>>('map', 'list');
  return new Map(maps.map((m) => [m.id, m.name ?? '']));
}

/** Every BPF link on the machine whose program is an acceptq one (acq_*). */
export function acqLinks(): BpftoolLink[] {
  const names = progNames();
  const links = bpftool<BpftoolLink[]>('link', 'list');
  return links.filter((l) => (names.get(l.prog_id) ?? '').startsWith('acq_'));
}

export function acqLinkIds(): number[] {
  return acqLinks().map((l) => l.id);
}

/** Ids of every BPF link and program the kernel has now (whoever holds them). */
export function kernelBpfIds(): { links: Set<number>; progs: Set<number> } {
  return {
    links: new Set(bpftool<BpftoolLink[]>('link', 'list').map((l) => l.id)),
    progs: new Set(progNames().keys()),
  };
}

/**
 * A BPF id field (link_id, prog_id) of every fd a process holds, from its
 * fdinfo; [] for a process that is gone (lenient, for polling: see heldBy
 * for a strict reading).
 */
export function fdinfoIds(pid: number, field: 'link_id' | 'prog_id'): number[] {
  const ids: number[] = [];
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return ids; // gone
  }
  const re = new RegExp(`^${field}:\\s*(\\d+)$`, 'm');
  for (const fd of fds) {
    try {
      const m = re.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.push(Number(m[1]));
    } catch {
      // fd closed meanwhile
    }
  }
  return ids;
}

export type BpfFdKind = 'map' | 'prog' | 'link' | 'btf';

export interface BpfFd {
  fd: number;
  kind: BpfFdKind;
  /** map_id, prog_id or link_id (undefined for BTF). */
  id?: number;
  /** For a link: the program it runs. */
  progId?: number;
}

const KINDS: Record<string, BpfFdKind> = {
  'anon_inode:bpf-map': 'map',
  'anon_inode:bpf-prog': 'prog',
  'anon_inode:bpf_link': 'link',
  'anon_inode:btf': 'btf',
};

/**
 * Every BPF object fd a process holds. Throws when the process is gone, so
 * that a check made too late cannot pass by finding nothing.
 */
export function bpfFdsOf(pid: number | 'self'): BpfFd[] {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch (e) {
    throw new Error(`pid ${pid} is gone: its BPF objects cannot be read (${(e as NodeJS.ErrnoException).code})`);
  }
  const out: BpfFd[] = [];
  for (const name of fds) {
    let kind: BpfFdKind | undefined;
    let info = '';
    try {
      kind = KINDS[fs.readlinkSync(`/proc/${pid}/fd/${name}`)];
      if (!kind) continue;
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${name}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const field = (f: string) => {
      const m = new RegExp(`^${f}:\\s*(\\d+)$`, 'm').exec(info);
      return m ? Number(m[1]) : undefined;
    };
    const fd = Number(name);
    if (kind === 'map') out.push({ fd, kind, id: field('map_id') });
    else if (kind === 'prog') out.push({ fd, kind, id: field('prog_id') });
    else if (kind === 'link') out.push({ fd, kind, id: field('link_id'), progId: field('prog_id') });
    else out.push({ fd, kind });
  }
  return out;
}

export interface Held {
  maps: Array<{ id: number; name: string }>;
  progs: Array<{ id: number; name: string }>;
  links: Array<{ id: number; progId: number; prog: string }>;
  btf: number;
}

/** The BPF maps, programs and links a running process holds, by name. Throws when it is gone. */
export function heldBy(pid: number | 'self'): Held {
  const fds = bpfFdsOf(pid);
  const progs = progNames();
  const maps = fds.some((f) => f.kind === 'map') ? mapNames() : new Map<number, string>();
  const name = (m: Map<number, string>, id: number | undefined) => (id === undefined ? '?' : m.get(id) ?? `?${id}`);
  return {
    maps: fds.filter((f) => f.kind === 'map').map((f) => ({ id: f.id!, name: name(maps, f.id) })),
    progs: fds.filter((f) => f.kind === 'prog').map((f) => ({ id: f.id!, name: name(progs, f.id) })),
    links: fds.filter((f) => f.kind === 'link').map((f) => ({ id: f.id!, progId: f.progId!, prog: name(progs, f.progId) })),
    btf: fds.filter((f) => f.kind === 'btf').length,
  };
}

/** Names that occur more than once (two copies of one program or map: a load attempt left behind). */
export function duplicates(names: string[]): string[] {
  return [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
}

/** BPF link ids held open by one process. Throws when the process is gone. */
export const linksOf = (pid: number): number[] =>
  bpfFdsOf(pid)
    .filter((f) => f.kind === 'link')
    .map((f) => f.id!);

/**
 * Wait (bounded) until none of these link and program ids exists in the
 * kernel any more; returns those still there. Releasing them is
 * asynchronous in the kernel (RCU), hence the wait.
 */
export async function awaitGone(ids: { links: number[]; progs?: number[] }, timeoutMs = 5000): Promise<{ links: number[]; progs: number[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = kernelBpfIds();
    const left = { links: ids.links.filter((id) => now.links.has(id)), progs: (ids.progs ?? []).filter((id) => now.progs.has(id)) };
    if ((!left.links.length && !left.progs.length) || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait (bounded) until a process holds at least n BPF links: its probes are attached. */
export async function awaitAttached(pid: number, n = 4, timeoutMs = 20000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids = linksOf(pid); // throws if it exited before attaching
    if (ids.length >= n) return ids;
    if (Date.now() > deadline) throw new Error(`pid ${pid} holds ${ids.length} BPF links after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
