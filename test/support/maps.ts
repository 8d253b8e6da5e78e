/** The BPF maps one acceptq process holds, and how many entries each has. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** map name -> id, from the process's fds (fdinfo) and bpftool. */
export function mapsOf(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    let info = '';
    try {
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const m = /^map_id:\s*(\d+)$/m.exec(info);
    if (!m) continue;
    const show = JSON.parse(execFileSync('bpftool', ['map', 'show', 'id', m[1], '-j'], { encoding: 'utf8' }));
    out[show.name] = Number(m[1]);
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
