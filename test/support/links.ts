/** BPF links of acceptq programs (acq_*), as bpftool lists them. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

interface BpftoolLink {
  id: number;
  prog_id: number;
}

function progNames(): Map<number, string> {
  const progs = JSON.parse(execFileSync('bpftool', ['prog', 'list', '-j'], { encoding: 'utf8' })) as Array<{ id: number; name?: string }>;
  return new Map(progs.map((p) => [p.id, p.name ?? '']));
}

export function acqLinks(): BpftoolLink[] {
  const names = progNames();
  const links = JSON.parse(execFileSync('bpftool', ['link', 'list', '-j'], { encoding: 'utf8' })) as BpftoolLink[];
  return links.filter((l) => (names.get(l.prog_id) ?? '').startsWith('acq_'));
}

export function acqLinkIds(): number[] {
  return acqLinks().map((l) => l.id);
}

/** A BPF id field (link_id, prog_id) of every fd a process holds, from its fdinfo. */
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

/** BPF link ids held open by one process. */
export const linksOf = (pid: number): number[] => fdinfoIds(pid, 'link_id');

/** Wait (bounded) until a process holds at least n BPF links: its probes are attached. */
export async function awaitAttached(pid: number, n = 4, timeoutMs = 20000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids = linksOf(pid);
    if (ids.length >= n) return ids;
    if (Date.now() > deadline) throw new Error(`pid ${pid} holds ${ids.length} BPF links after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
