/**
 * Shared by the bench's Node parts: paths, child processes that are always
 * cleaned up (on exit, on an error and on Ctrl-C), the lab, and small
 * statistics. Every child is bounded in time on its own as well: the C load
 * generators die with their parent and by alarm(); acceptq gets --duration.
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fdinfoIds } from '../../harness/links';
import { alive, sleepSync } from '../../harness/proc';

import { CLI, LAB, NODE_ENV, NODE_FLAGS, NODE_FLAGS_FLEET, ROOT } from '../../harness/paths';

export { CLI, LAB, ROOT } from '../../harness/paths';
/** How the launchers run the CLI (with their node flags): what is measured. */
export const CLI_ARGV = [...NODE_FLAGS, CLI];
/** And with their environment: spawn CLI_ARGV with this env. */
export const CLI_ENV: NodeJS.ProcessEnv = { ...process.env, ...NODE_ENV };
/** The same as one shell command line. */
export const CLI_COMMAND = `env ${Object.entries(NODE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} ${process.execPath} ${CLI_ARGV.join(' ')}`;
/** `acceptq fleet` as the launchers run it (node_flags_fleet). */
export const FLEET_CLI_COMMAND = `env ${Object.entries(NODE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} ${process.execPath} ${[...NODE_FLAGS_FLEET, CLI].join(' ')}`;
export const LOAD = path.join(ROOT, 'build', 'acceptq-bench-load');
export const STATS = path.join(ROOT, 'build', 'acceptq-bench-stats');
/** The system's tools first: npm puts an unrelated `nft` on PATH. */
export const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

import { setTimeout as sleep } from 'node:timers/promises';
export { sleep };
export { median, percentile } from '../../harness/stats';
export const now = () => performance.now();

export const round = (v: number, digits = 3): number => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v);

// ---- children that never outlive the bench ----

const children = new Set<ChildProcess>();
const exitHooks: Array<() => void> = [];

export function onCleanup(fn: () => void): void {
  exitHooks.push(fn);
}

/** One tmux command; its output. */
export function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/**
 * A tmux session name and a scratch directory for one part of the bench,
 * both gone at cleanup however the bench ends; kill() ends the session sooner.
 */
export function tmuxScratch(part: string): { session: string; dir: string; kill: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `acceptq-bench-${part}-`));
  const session = `acceptq-bench-${part}-${process.pid}`;
  const kill = () => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // gone already
    }
  };
  onCleanup(kill);
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { session, dir, kill };
}

/** spawn(), remembered until it exits, so cleanup() can end it. */
export function track(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const p = spawn(cmd, args, { ...opts, env: { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}`, ...(opts.env ?? {}) } });
  children.add(p);
  p.once('exit', () => children.delete(p));
  p.once('error', () => children.delete(p));
  return p;
}


/** End every child we started (TERM, then KILL after 3 s) and run the cleanup hooks. Synchronous. */
export function cleanup(): void {
  for (const fn of exitHooks.splice(0).reverse()) {
    try {
      fn();
    } catch {
      // keep cleaning
    }
  }
  const pids = [...children].map((c) => c.pid).filter((p): p is number => !!p);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  const until = Date.now() + 3000;
  while (pids.some(alive) && Date.now() < until) sleepSync(50);
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  children.clear();
}

/** Ctrl-C, TERM, HUP and uncaught errors: clean up, then leave. */
export function installSignalCleanup(name: string): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${name}: ${sig}: stopping and cleaning up\n`);
      cleanup();
      process.exit(130);
    });
  }
  process.on('exit', () => cleanup());
}

/** Run an async main: clean up and exit 0 when it resolves, 1 (with the error) when it throws. */
export function runMain(name: string, main: () => Promise<void>): void {
  main()
    .then(() => {
      cleanup();
      process.exit(0);
    })
    .catch((e) => {
      process.stderr.write(`${name}: ${e?.stack ?? e}\n`);
      cleanup();
      process.exit(1);
    });
}

/** Resolves when the process has exited (bounded by timeoutMs; then KILL). */
export async function stopChild(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  try {
    p.stdin?.end();
  } catch {
    // closed
  }
  p.kill(signal);
  await Promise.race([done, sleep(timeoutMs)]);
  if (p.exitCode === null && p.signalCode === null) {
    p.kill('SIGKILL');
    await Promise.race([done, sleep(2000)]);
  }
}

/** Lines of a child's stdout, with a way to wait for one. */
export class Lines {
  readonly lines: Array<{ t: number; line: string }> = [];
  private waiters: Array<() => void> = [];
  stderr = '';
  exited = false;

  constructor(readonly proc: ChildProcess) {
    if (proc.stdout) readline.createInterface({ input: proc.stdout }).on('line', (line) => this.push(line));
    proc.stderr?.on('data', (d) => {
      if (this.stderr.length < 64 * 1024) this.stderr += d;
    });
    proc.once('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  private push(line: string): void {
    this.lines.push({ t: now(), line });
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first line at index >= from matching pred; rejects after timeoutMs or when the process exits. */
  async waitFor(pred: (line: string) => boolean, timeoutMs: number, from = 0): Promise<{ t: number; line: string; index: number }> {
    const deadline = now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.lines.length; i++) if (pred(this.lines[i].line)) return { ...this.lines[i], index: i };
      if (this.exited) throw new Error(`exited (${this.proc.exitCode ?? this.proc.signalCode}) before the expected output: ${this.stderr.trim().slice(-500)}`);
      const left = deadline - now();
      if (left <= 0) throw new Error(`no expected output within ${Math.round(timeoutMs / 1000)} s: ${this.stderr.trim().slice(-500)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}

// ---- the lab and the bench's load generator, each in a namespace of its own ----

export interface NsProc {
  proc: ChildProcess;
  out: Lines;
  pid: number;
  netns: number;
  info: any;
}

/** `unshare -n <cmd>`; waits for its first JSON line (bounded). */
export async function startInNamespace(cmd: string, args: string[], reportMs = 60000): Promise<NsProc> {
  const proc = track('unshare', ['-n', cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new Lines(proc);
  try {
    const first = await out.waitFor((l) => l.startsWith('{'), reportMs);
    const info = JSON.parse(first.line);
    return { proc, out, pid: info.pid, netns: info.netns, info };
  } catch (e) {
    await stopChild(proc, 'SIGKILL');
    throw new Error(`${path.basename(cmd)} ${args.join(' ')}: ${(e as Error).message}`);
  }
}

/** N idle listeners (127.0.0.1, ports from 20000) held by the lab in a namespace of its own. */
export function startListeners(n: number, holdS: number): Promise<NsProc> {
  return startInNamespace(LAB, ['many', String(n), '--hold', String(holdS)], 120000);
}

/** Listeners one lab process holds at most: one process may open about 20,000 files here. */
export const LISTENERS_PER_LAB = 17000;

/**
 * N idle listeners over as many lab processes as that takes (each in a
 * namespace of its own, at most perLab listeners each), started one after
 * another; if one fails, those started are stopped.
 */
export async function startListenerSet(n: number, holdS: number, perLab = LISTENERS_PER_LAB): Promise<NsProc[]> {
  const labs: NsProc[] = [];
  try {
    for (let left = n; left > 0; left -= perLab) labs.push(await startListeners(Math.min(perLab, left), holdS));
  } catch (e) {
    for (const l of labs) await stopChild(l.proc);
    throw e;
  }
  return labs;
}

/** A one-shot load generator run in a fresh namespace; resolves with its JSON result. */
export async function runLoad(args: string[], timeoutMs: number): Promise<any> {
  const proc = track('unshare', ['-n', LOAD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Lines(proc);
  try {
    const r = await out.waitFor((l) => l.startsWith('{'), timeoutMs);
    await new Promise<void>((res) => (proc.exitCode !== null ? res() : proc.once('exit', () => res())));
    if (proc.exitCode !== 0) throw new Error(`exit ${proc.exitCode}: ${out.stderr}`);
    return JSON.parse(r.line);
  } finally {
    await stopChild(proc, 'SIGKILL', 1000);
  }
}

// ---- processes: CPU, memory, BPF programs ----

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** user + system CPU seconds of a process (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

export function statusField(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** ids of the BPF programs a process holds (prog and link fds). */
export const progIdsOf = (pid: number): number[] => [...new Set(fdinfoIds(pid, 'prog_id'))];

export interface ProgStat {
  id: number;
  name: string;
  runTimeNs: number;
  runCnt: number;
}

/** Every loaded program (`bpftool prog show -j`), with run-time statistics when they are on. */
export function progStats(): ProgStat[] {
  const out = execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return (JSON.parse(out) as any[]).map((p) => ({ id: p.id, name: p.name ?? '', runTimeNs: p.run_time_ns ?? 0, runCnt: p.run_cnt ?? 0 }));
}

export function waitUntil(pred: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = now() + timeoutMs;
    const tick = () => {
      let ok = false;
      try {
        ok = pred();
      } catch {
        ok = false;
      }
      if (ok) return resolve(true);
      if (now() > deadline) return resolve(false);
      setTimeout(tick, stepMs);
    };
    tick();
  });
}

/** The commit measured, and whether the tree differed from it (a figure of other code is no figure of this one). */
export function measured(): { commit: string; dirty: boolean } {
  const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).trim();
  try {
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/** The machine a run measured on, and the commit it measured (each results file is stamped with it). */
export function machine() {
  const cpus = os.cpus();
  return {
    ...measured(),
    date: new Date().toISOString(),
    host: os.hostname(),
    kernel: os.release(),
    cpu: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
  };
}
