/**
 * Runs an overflow scenario of the lab in a network namespace of its own
 * (unshare -n) and reads that namespace's kernel counters and listen
 * sockets through the lab's pid.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { LAB } from './paths';

export interface LabListener {
  family: 4 | 6;
  address: string;
  port: number;
  backlog: number;
  expectOverflow: boolean;
  /** The socket's sk_drops (SO_MEMINFO) when the lab reported: every listen drop of the socket. */
  skDrops: number;
}

export interface SsListener {
  address: string;
  port: number;
  recvQ: number;
  sendQ: number;
}

export class LabRun {
  constructor(
    readonly scenario: string,
    readonly pid: number,
    readonly netns: number,
    readonly listeners: LabListener[],
    private readonly proc: ChildProcess,
  ) {}

  /** TcpExt counters of the scenario's namespace (which began at zero). */
  netstat(): Record<string, number> {
    return parseNetstat(fs.readFileSync(`/proc/${this.pid}/net/netstat`, 'utf8'));
  }

  /** `ss -lnt` inside the scenario's namespace. */
  ssListen(): SsListener[] {
    const out = execFileSync('nsenter', ['-t', String(this.pid), '-n', 'ss', '-lntH'], { encoding: 'utf8' });
    return parseSs(out);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin?.end();
    this.proc.kill('SIGTERM');
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

export function parseNetstat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.trim().split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i].split(/\s+/);
    const vals = lines[i + 1].split(/\s+/);
    const prefix = names[0].replace(':', '');
    for (let j = 1; j < names.length; j++) out[prefix + names[j]] = Number(vals[j]);
  }
  return out;
}

export function parseSs(text: string): SsListener[] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('LISTEN'))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      const local = f[3];
      const idx = local.lastIndexOf(':');
      let address = local.slice(0, idx);
      if (address.startsWith('[')) address = address.slice(1, -1);
      if (address === '*') address = '::'; // a dual-stack [::] socket
      return { address, port: Number(local.slice(idx + 1)), recvQ: Number(f[1]), sendQ: Number(f[2]) };
    });
}

/**
 * Start a scenario ("syn", or with arguments: "many 400") and wait until its
 * overflows are staged (bounded: reportMs, 90 s by default).
 */
export async function startLab(scenario: string, holdS = 120, reportMs = 90000): Promise<LabRun> {
  return (await startLabReporting(scenario, holdS, reportMs)).lab;
}

/**
 * startLab, keeping the whole report line the lab printed too. within: what
 * runs the lab, in a namespace of its own by default (`ip netns exec NAME`
 * runs it in a namespace made before; it must exec the lab, so that the
 * report's pid is the lab's).
 */
export async function startLabReporting<R extends { pid: number; netns: number; listeners: LabListener[] }>(
  scenario: string,
  holdS = 120,
  reportMs = 90000,
  within: string[] = ['unshare', '-n'],
): Promise<{ lab: LabRun; report: R }> {
  const proc = spawn(within[0], [...within.slice(1), LAB, ...scenario.split(' '), '--hold', String(holdS)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const rl = readline.createInterface({ input: proc.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // never leave a lab behind
      reject(new Error(`lab ${scenario}: no report within ${reportMs / 1000} s: ${stderr}`));
    }, reportMs);
    rl.once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lab ${scenario} exited with ${code}: ${stderr}`));
    });
  });
  const report = JSON.parse(line) as R;
  return { lab: new LabRun(scenario, report.pid, report.netns, report.listeners, proc), report };
}
