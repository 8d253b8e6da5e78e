/**
 * The exporter's own process, as every Prometheus exporter shows it (the
 * standard process_* metrics): read from /proc/self at each scrape, the way
 * the Go client reads them, so the dashboards and alerts made for any
 * exporter's cost work on acceptq's.
 */
import fs from 'node:fs';

/** Clock ticks per second in /proc's times (USER_HZ: 100 on every architecture acceptq builds for). */
const USER_HZ = 100;

export interface ProcessFigures {
  /** User and system CPU time spent, seconds. */
  cpuSeconds: number;
  residentBytes: number;
  virtualBytes: number;
  /** Unix seconds. */
  startTimeSeconds: number;
  openFds: number;
  /** The soft limit on open files; null: unlimited. */
  maxFds: number | null;
}

/** The fields of /proc/PID/stat from the 3rd (state) on: the command name before them can hold spaces and parentheses. */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
}

/** Field n (1-based, as proc(5) numbers them) of /proc/PID/stat. */
const statField = (fields: string[], n: number) => Number(fields[n - 3]);

/** A "Name:   value kB" line of /proc/PID/status, in bytes. */
function statusBytes(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** The figures of a process (this one by default) now. */
export function readProcess(pid: number | 'self' = 'self'): ProcessFigures {
  const dir = `/proc/${pid}`;
  const stat = statFields(fs.readFileSync(`${dir}/stat`, 'utf8'));
  const status = fs.readFileSync(`${dir}/status`, 'utf8');
  const bootS = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
  const soft = /^Max open files\s+(\S+)/m.exec(fs.readFileSync(`${dir}/limits`, 'utf8'))?.[1];
  return {
    cpuSeconds: (statField(stat, 14) + statField(stat, 15)) / USER_HZ, // utime + stime
    residentBytes: statusBytes(status, 'VmRSS'),
    virtualBytes: statField(stat, 23), // vsize, bytes
    startTimeSeconds: bootS + statField(stat, 22) / USER_HZ, // starttime, ticks after boot
    openFds: fs.readdirSync(`${dir}/fd`).length,
    maxFds: soft === undefined || soft === 'unlimited' ? null : Number(soft),
  };
}
