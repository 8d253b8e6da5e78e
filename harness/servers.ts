/**
 * Servers that accept while they overflow, checked against the kernel's own
 * per-namespace counters: Debian's nginx loaded by ApacheBench and by wrk in
 * a network namespace made here (`ip netns add`), and the lab's paced
 * scenarios (each in an `unshare -n` namespace of its own).
 *
 * A case runs its load beside a running `acceptq --json`, waits until the
 * namespace's TcpExt counters hold still, takes the first record after that
 * and compares acceptq's rows and namespace entry for that namespace with the
 * counters' deltas. It returns the comparison as a list of checks, so that
 * test/servers.test.ts can assert them and scripts/accuracy can count exact
 * rounds. Used by both; nothing here depends on ava.
 *
 * Everything is bounded in time, on loopback, in namespaces made here, and
 * cleaned up (namespace, nginx, lab, temp dir) through Cleanup, even when a
 * case fails.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AcceptqJson, JsonRecord } from './acceptq';
import { parseNetstat, startLab } from './lab';
import { alive, sleepSync } from './proc';

/** The system's tools first: npm puts an unrelated `nft` (and more) on PATH. */
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
export const ENV = { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}` };


export type Counters = Record<string, number>;

/** The TcpExt counters compared (deltas over a case). */
export const KERNEL_COUNTERS = [
  'TcpExtListenOverflows',
  'TcpExtListenDrops',
  'TcpExtSyncookiesSent',
  'TcpExtTCPReqQFullDrop',
  'TcpExtTCPReqQFullDoCookies',
] as const;

function delta(after: Counters, before: Counters): Counters {
  const d: Counters = {};
  for (const k of KERNEL_COUNTERS) d[k] = (after[k] ?? 0) - (before[k] ?? 0);
  return d;
}

const zeroCounters = (): Counters => Object.fromEntries(KERNEL_COUNTERS.map((k) => [k, 0]));

// ---- cleanup that always runs ----

/** TERM, then KILL after timeoutMs. Synchronous, so it also works on the way out of a signal. */
export function killPid(pid: number, timeoutMs = 3000): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < until) sleepSync(20);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

const pending = new Set<Cleanup>();

/** Synchronous undo actions, run last-in first-out, once. */
export class Cleanup {
  private fns: Array<() => void> = [];
  constructor() {
    pending.add(this);
  }
  add(fn: () => void): void {
    this.fns.push(fn);
  }
  run(): void {
    pending.delete(this);
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        fn();
      } catch {
        // keep cleaning
      }
    }
  }
}

/*
 * The kernel hands a freed namespace's inode number to the next namespace,
 * and acceptq keeps a closed listener's row (under that inode) for 120 s:
 * case after case would then share one inode. An open fd on each case's
 * namespace keeps it (and its inode) alive until cleanupAll().
 */
const heldNamespaces: number[] = [];

function holdNamespace(nsPath: string): void {
  heldNamespaces.push(fs.openSync(nsPath, 'r'));
}

/** acceptq reported this namespace inode in a record taken before `before`. */
function knownInode(aq: AcceptqJson, inode: number, before: number): boolean {
  return aq.records.some(
    (rec) => Date.parse(rec.time) < before && (rec.namespaces.some((n) => n.netns === inode) || rec.listeners.some((l) => l.netns === inode)),
  );
}

/** Every cleanup not yet run, then the namespaces held (for the end, signal handlers and process exit). */
export function cleanupAll(): void {
  for (const c of [...pending]) c.run();
  for (const fd of heldNamespaces.splice(0)) {
    try {
      fs.closeSync(fd);
    } catch {
      // closed
    }
  }
}

// ---- a network namespace of our own ----

let nsSeq = 0;

export class Netns {
  /** createdAt: just before `ip netns add` (records before it cannot know this namespace) */
  private constructor(readonly name: string, readonly inode: number, readonly createdAt: number) {}
  /** namespaces made before this one and skipped, their inodes known to acceptq */
  skipped = 0;

  /**
   * `ip netns add` a uniquely named namespace, loopback up; deleted (with
   * every process in it) by cleanup. Its inode must be new to acceptq: one
   * it reported before belonged to a namespace that died (other tests on
   * the machine make them too), and is held while another is made.
   */
  static create(cleanup: Cleanup, aq?: AcceptqJson, prefix = 'acceptq-srv'): Netns {
    for (let tries = 0; ; tries++) {
      const name = `${prefix}-${process.pid}-${++nsSeq}`;
      const createdAt = Date.now();
      execFileSync('ip', ['netns', 'add', name], { env: ENV });
      const ns = new Netns(name, fs.statSync(`/run/netns/${name}`).ino, createdAt);
      cleanup.add(() => ns.destroy());
      holdNamespace(`/run/netns/${name}`);
      // without a running acceptq (one started later baselines every namespace) there is nothing to mix up
      if (aq && knownInode(aq, ns.inode, createdAt) && tries < 5) continue;
      ns.skipped = tries;
      execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { env: ENV });
      return ns;
    }
  }

  exec(args: string[], timeoutMs = 10000): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...args], { env: ENV, encoding: 'utf8', timeout: timeoutMs });
  }

  netstat(): Counters {
    return parseNetstat(this.exec(['cat', '/proc/net/netstat']));
  }

  listening(port: number): boolean {
    return this.exec(['ss', '-ltnH', `sport = :${port}`]).includes(`:${port}`);
  }

  /**
   * Abort the client sockets to `port` that their (exited) load generator
   * left behind: orphans in FIN-WAIT-1 whose handshake's final ACK was
   * dropped keep retransmitting, and their synchronized retransmissions
   * overflow the queue again for tens of seconds after the load. Returns how
   * many there were.
   */
  abortOrphans(port: number): number {
    const out = this.exec(['ss', '-HK', '-tn', 'state', 'fin-wait-1', 'state', 'closing', 'state', 'last-ack', 'dport', '=', `:${port}`]);
    return out.split('\n').filter((l) => l.trim()).length;
  }

  /** End the processes left in the namespace (all started here), then delete it. */
  destroy(): void {
    let pids: number[] = [];
    try {
      pids = execFileSync('ip', ['netns', 'pids', this.name], { env: ENV, encoding: 'utf8' })
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    } catch {
      // already gone
    }
    for (const pid of pids) killPid(pid);
    try {
      execFileSync('ip', ['netns', 'del', this.name], { env: ENV, stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

// ---- nginx and the load generators ----

function tempDir(cleanup: Cleanup): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-nginx-'));
  cleanup.add(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Debian's nginx in ns: 1 worker, address:port (loopback by default) with the given backlog, a tiny static answer. */
export async function startNginx(ns: Netns, cleanup: Cleanup, port: number, backlog: number, address = '127.0.0.1'): Promise<ChildProcess> {
  const dir = tempDir(cleanup);
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 0;
  server {
    listen ${address}:${port} backlog=${backlog};
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  // `ip netns exec` execs nginx: the child's pid is nginx's master
  const proc = spawn('ip', ['netns', 'exec', ns.name, 'nginx', '-p', `${dir}/`, '-c', conf, '-e', `${dir}/error.log`], {
    env: ENV,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  cleanup.add(() => proc.pid && killPid(proc.pid));
  for (const until = Date.now() + 10000; Date.now() < until; await sleep(50)) {
    if (proc.exitCode !== null) break;
    if (ns.listening(port)) return proc;
  }
  let log = '';
  try {
    log = fs.readFileSync(`${dir}/error.log`, 'utf8');
  } catch {
    // none
  }
  throw new Error(`nginx did not listen on ${address}:${port}: ${stderr} ${log}`.trim());
}

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a command inside ns; killed after timeoutMs whatever it does. */
export function runIn(ns: Netns, cleanup: Cleanup, cmd: string[], timeoutMs: number): Promise<ToolRun> {
  return runTool(cleanup, ['ip', 'netns', 'exec', ns.name, ...cmd], timeoutMs);
}

/** Run a command where the caller is (a load generator in the root namespace); killed after timeoutMs whatever it does. */
export async function runTool(cleanup: Cleanup, cmd: string[], timeoutMs: number): Promise<ToolRun> {
  const t0 = Date.now();
  const proc = spawn(cmd[0], cmd.slice(1), { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.add(() => proc.pid && proc.exitCode === null && killPid(proc.pid, 1000));
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  proc.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => {
    proc.once('exit', (c) => r(c));
    proc.once('error', () => r(-1));
  });
  clearTimeout(timer);
  return { code, stdout, stderr, ms: Date.now() - t0 };
}

// ---- observing a case ----

/**
 * Poll the counters until they have not moved for stableMs (bounded by
 * maxMs); the time of the last reading, and the counters then.
 */
export async function settle(read: () => Counters, stableMs = 1500, maxMs = 30000): Promise<{ counters: Counters; at: number; stable: boolean }> {
  const t0 = Date.now();
  let last = read();
  let since = Date.now();
  for (;;) {
    await sleep(250);
    const now = read();
    const at = Date.now();
    if (KERNEL_COUNTERS.some((k) => now[k] !== last[k])) {
      last = now;
      since = at;
    } else if (at - since >= stableMs) {
      return { counters: now, at, stable: true };
    }
    if (at - t0 > maxMs) return { counters: now, at, stable: false };
  }
}

export interface Check {
  name: string;
  /** 'accuracy' checks decide whether a round is exact; 'setup' checks that the load did what the case needs. */
  kind: 'accuracy' | 'setup';
  ok: boolean;
  actual?: unknown;
  expected?: unknown;
  /** how actual relates to expected when ok */
  op: '=' | '<=' | '>=' | '>' | 'ok';
}

export interface CaseResult {
  id: string;
  netns: number;
  /** kernel counter deltas over the case */
  kernel: Counters;
  /** sum of acceptq's rows of the namespace */
  acceptq: { overflows: number; overflowsSyn: number; overflowsAck: number; synDrops: number; cookies: number };
  /** acceptq's namespaces[] entry */
  ns: Record<string, any> | undefined;
  rows: Array<Record<string, any>>;
  record: JsonRecord;
  /** what the load did (requests, accepted, sk_drops, ...) */
  load: Record<string, unknown>;
  checks: Check[];
  exact: boolean;
  /** the counters held still before the record was taken */
  settled: boolean;
}

export const eq = (name: string, actual: unknown, expected: unknown, kind: Check['kind'] = 'accuracy'): Check => ({
  name,
  kind,
  ok: actual === expected,
  actual,
  expected,
  op: '=',
});
export const le = (name: string, actual: number, expected: number, kind: Check['kind'] = 'accuracy'): Check => ({
  name,
  kind,
  ok: actual <= expected,
  actual,
  expected,
  op: '<=',
});
export const positive = (name: string, actual: number, kind: Check['kind'] = 'setup'): Check => ({
  name,
  kind,
  ok: actual > 0,
  actual,
  expected: 0,
  op: '>',
});
export const truthy = (name: string, ok: boolean, kind: Check['kind'] = 'accuracy'): Check => ({ name, kind, ok, op: 'ok' });

const sum = (rows: Array<Record<string, any>>, f: string) => rows.reduce((s, r) => s + (Number(r[f]) || 0), 0);

/**
 * After the load: wait for the counters to hold still, take the first
 * acceptq record after that, and compare it for this namespace.
 */
async function observe(
  id: string,
  aq: AcceptqJson,
  startedAt: number,
  netns: number,
  read: () => Counters,
  before: Counters,
  load: Record<string, unknown>,
  stages: 'overflows' | 'syn-drops' = 'overflows',
): Promise<CaseResult> {
  const settled = await settle(read);
  const record = await aq.waitFor((r) => Date.parse(r.time) > settled.at && r.namespaces.some((n) => n.netns === netns), 20000);
  const kernel = delta(settled.counters, before);
  const rows = record.listeners.filter((l) => l.netns === netns);
  const ns = record.namespaces.find((n) => n.netns === netns);
  const a = {
    overflows: sum(rows, 'overflows'),
    overflowsSyn: sum(rows, 'overflowsSyn'),
    overflowsAck: sum(rows, 'overflowsAck'),
    synDrops: sum(rows, 'synDrops'),
    cookies: sum(rows, 'cookies'),
  };
  // an inode acceptq knew before this namespace existed: a dead namespace's rows would mix in
  const reused = knownInode(aq, netns, startedAt);
  const checks: Check[] = [
    truthy('the namespace inode is new to acceptq (not a dead namespace\'s, reused)', !reused, 'setup'),
    truthy('the kernel counters held still before the record', settled.stable, 'setup'),
    stages === 'overflows'
      ? positive('the kernel counted overflows (ListenOverflows delta > 0)', kernel.TcpExtListenOverflows)
      : positive('the kernel dropped SYNs for a full SYN queue (TCPReqQFullDrop delta > 0)', kernel.TcpExtTCPReqQFullDrop),
    eq('sum of rows overflows = kernel ListenOverflows delta', a.overflows, kernel.TcpExtListenOverflows),
    // the parts by path, added up here, against the kernel (not against the sum the collector makes of them)
    eq('sum of rows overflowsSyn + overflowsAck = kernel ListenOverflows delta', a.overflowsSyn + a.overflowsAck, kernel.TcpExtListenOverflows),
    eq('sum of rows synDrops = kernel TCPReqQFullDrop delta', a.synDrops, kernel.TcpExtTCPReqQFullDrop),
    eq('sum of rows cookies = kernel SyncookiesSent delta', a.cookies, kernel.TcpExtSyncookiesSent),
    truthy('namespace entry present', !!ns),
    eq('namespace unattributed = 0', ns?.unattributed, 0),
    eq('namespace listenOverflows = kernel delta', ns?.listenOverflows, kernel.TcpExtListenOverflows),
    eq('namespace listenDrops = kernel delta', ns?.listenDrops, kernel.TcpExtListenDrops),
    eq('namespace syncookiesSent = kernel delta', ns?.syncookiesSent, kernel.TcpExtSyncookiesSent),
    eq('namespace reqQFullDrops = kernel delta', ns?.reqQFullDrops, kernel.TcpExtTCPReqQFullDrop),
  ];
  // gaps of the other counters and moves at unnamed sockets, where acceptq reports them
  for (const f of ['unattributedSynDrops', 'unattributedCookies', 'unmatched']) {
    if (ns && f in ns) checks.push(eq(`namespace ${f} = 0`, ns[f], 0));
  }
  return { id, netns, kernel, acceptq: a, ns, rows, record, load, checks, exact: false, settled: settled.stable };
}

function finish(r: CaseResult, extra: Check[] = []): CaseResult {
  r.checks.push(...extra);
  r.exact = r.checks.filter((c) => c.kind === 'accuracy').every((c) => c.ok);
  return r;
}

/** One line of figures: the kernel's beside acceptq's. */
export function describe(r: CaseResult): string {
  const k = r.kernel;
  const rows = r.rows
    .map((l) => `${l.address}:${l.port}${l.sockets > 1 ? `x${l.sockets}` : ''}=${l.overflows} (${l.overflowsSyn}syn+${l.overflowsAck}ack, synDrops ${l.synDrops}, cookies ${l.cookies}${l.estimate ? ', estimate' : ''})`)
    .join('; ');
  const n = r.ns;
  return (
    `${r.id}: kernel ListenOverflows ${k.TcpExtListenOverflows}, ListenDrops ${k.TcpExtListenDrops}, SyncookiesSent ${k.TcpExtSyncookiesSent}, ` +
    `TCPReqQFullDrop ${k.TcpExtTCPReqQFullDrop}, TCPReqQFullDoCookies ${k.TcpExtTCPReqQFullDoCookies} | ` +
    `acceptq rows ${r.acceptq.overflows} [${rows || 'no row'}] | ` +
    `acceptq namespace: ${n ? `listenOverflows ${n.listenOverflows}, listenDrops ${n.listenDrops}, syncookiesSent ${n.syncookiesSent}, reqQFullDrops ${n.reqQFullDrops}, unattributed ${n.unattributed}${['unattributedSynDrops', 'unattributedCookies', 'unmatched', 'estimate'].filter((f) => f in n).map((f) => `, ${f} ${n[f]}`).join('')}` : 'missing'} | ` +
    `load ${JSON.stringify(r.load)} | probe ${r.record.probe}, lost events ${r.record.lostEvents} | ${r.exact ? 'EXACT' : 'NOT EXACT'}`
  );
}

/** The checks that failed, one per line. */
export function failures(r: CaseResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => `${c.kind}: ${c.name}: ${JSON.stringify(c.actual)} (want ${c.op} ${JSON.stringify(c.expected)})`);
}

// ---- the cases ----

export interface CaseDef {
  id: string;
  title: string;
  run(aq: AcceptqJson, cleanup: Cleanup): Promise<CaseResult>;
}

const NGINX_PORT = 8080;
const NGINX_BACKLOG = 16;

async function nginxCase(id: string, aq: AcceptqJson, cleanup: Cleanup, tool: (ns: Netns) => Promise<Record<string, unknown>>): Promise<CaseResult> {
  const ns = Netns.create(cleanup, aq);
  await startNginx(ns, cleanup, NGINX_PORT, NGINX_BACKLOG);
  const before = ns.netstat();
  const load = await tool(ns);
  load.orphansAborted = ns.abortOrphans(NGINX_PORT);
  if (ns.skipped) load.reusedInodesSkipped = ns.skipped;
  const r = await observe(id, aq, ns.createdAt, ns.inode, () => ns.netstat(), before, load);
  const row = r.rows.find((l) => l.port === NGINX_PORT);
  return finish(r, [
    truthy(`a row for 127.0.0.1:${NGINX_PORT}`, !!row),
    eq('one row in the namespace', r.rows.length, 1),
    eq('owner comm', row?.comm, 'nginx'),
  ]);
}

/** ApacheBench: a new connection per request, 300 at a time, bounded by -t and -n. */
async function ab(ns: Netns, cleanup: Cleanup): Promise<Record<string, unknown>> {
  const run = await runIn(ns, cleanup, ['ab', '-q', '-r', '-s', '5', '-t', '4', '-n', '60000', '-c', '300', `http://127.0.0.1:${NGINX_PORT}/`], 20000);
  const num = (re: RegExp) => Number(re.exec(run.stdout)?.[1] ?? NaN);
  if (run.code !== 0) throw new Error(`ab exited with ${run.code}: ${run.stderr.trim().slice(-300)}`);
  return { tool: 'ab -c 300', requests: num(/Complete requests:\s+(\d+)/), failed: num(/Failed requests:\s+(\d+)/), ms: run.ms };
}

/** wrk with 1,500 connections (and the open-files limit to hold them), for 4 s. */
async function wrk(ns: Netns, cleanup: Cleanup): Promise<Record<string, unknown>> {
  const run = await runIn(
    ns,
    cleanup,
    ['bash', '-c', `ulimit -n 16384 && exec wrk -t 2 -c 1500 -d 4s --timeout 2s http://127.0.0.1:${NGINX_PORT}/`],
    20000,
  );
  if (run.code !== 0) throw new Error(`wrk exited with ${run.code}: ${run.stderr.trim().slice(-300)}`);
  const m = /(\d+) requests in/.exec(run.stdout);
  const errs = /Socket errors: (.*)/.exec(run.stdout);
  return { tool: 'wrk -c 1500', requests: Number(m?.[1] ?? NaN), socketErrors: errs?.[1] ?? 'none', ms: run.ms };
}

export interface LabListenerInfo {
  address: string;
  port: number;
  accepted: number;
  skDrops: number;
}

export async function labCase(
  id: string,
  scenario: string,
  aq: AcceptqJson,
  cleanup: Cleanup,
  extra: (r: CaseResult, listeners: LabListenerInfo[]) => Check[],
  stages: 'overflows' | 'syn-drops' = 'overflows',
): Promise<CaseResult> {
  let startedAt = Date.now();
  let lab = await startLab(scenario, 120, 60000);
  cleanup.add(() => killPid(lab.pid));
  holdNamespace(`/proc/${lab.pid}/ns/net`);
  // an inode acceptq knew (see Netns.create): hold that namespace, run the scenario in another
  let tries = 0;
  for (; knownInode(aq, lab.netns, startedAt) && tries < 5; tries++) {
    killPid(lab.pid);
    startedAt = Date.now();
    lab = await startLab(scenario, 120, 60000);
    holdNamespace(`/proc/${lab.pid}/ns/net`);
  }
  const listeners = lab.listeners as unknown as LabListenerInfo[];
  const load: Record<string, unknown> = {
    listeners: listeners.map((l) => `${l.address}:${l.port} accepted ${l.accepted} sk_drops ${l.skDrops}`).join(', '),
  };
  if (tries) load.reusedInodesSkipped = tries;
  // a namespace made by unshare -n: every counter began at zero
  const r = await observe(id, aq, startedAt, lab.netns, () => lab.netstat(), zeroCounters(), load, stages);
  return finish(r, extra(r, listeners));
}

export const rowAt = (r: CaseResult, port: number) => r.rows.find((l) => l.port === port);

/** sk_drops counts every listen drop of the socket (and more): no listener can have overflowed more often. */
export function skDropsBound(r: CaseResult, listeners: LabListenerInfo[]): Check[] {
  const checks: Check[] = [];
  for (const port of new Set(listeners.map((l) => l.port))) {
    const row = rowAt(r, port);
    const bound = listeners.filter((l) => l.port === port).reduce((s, l) => s + l.skDrops, 0);
    if (row) checks.push(le(`:${port}: overflows <= the sockets' sk_drops`, row.overflows, bound));
  }
  return checks;
}

/** A SO_REUSEPORT group of 3 at port: one row, all three sockets in it, no more overflows than their drops. */
export function groupChecks(r: CaseResult, ls: LabListenerInfo[], port: number): Check[] {
  return [eq('one row', r.rows.length, 1), eq('the row has 3 sockets', rowAt(r, port)?.sockets, 3), ...skDropsBound(r, ls)];
}

export const CASES: CaseDef[] = [
  {
    id: 'nginx-ab',
    title: 'nginx (1 worker, backlog 16) under ApacheBench -c 300',
    run: (aq, c) => nginxCase('nginx-ab', aq, c, (ns) => ab(ns, c)),
  },
  {
    id: 'nginx-wrk',
    title: 'nginx (1 worker, backlog 16) under wrk -c 1500',
    run: (aq, c) => nginxCase('nginx-wrk', aq, c, (ns) => wrk(ns, c)),
  },
  {
    id: 'pace',
    title: 'lab pace: accepts every 5 ms, clients faster',
    run: (aq, c) =>
      labCase('pace', 'pace', aq, c, (r, ls) => [
        eq('one row', r.rows.length, 1),
        positive('the lab accepted connections', ls[0].accepted),
        ...skDropsBound(r, ls),
      ]),
  },
  {
    id: 'reuseport-mixed',
    title: 'lab reuseport-mixed: SO_REUSEPORT group of 3, one accepting',
    run: (aq, c) =>
      labCase('reuseport-mixed', 'reuseport-mixed', aq, c, (r, ls) => [
        ...groupChecks(r, ls, 9810),
        positive('the lab accepted connections', ls[0].accepted),
      ]),
  },
  {
    id: 'nobind',
    title: 'lab nobind: listen() without bind(), kernel-chosen port',
    run: (aq, c) =>
      labCase('nobind', 'nobind', aq, c, (r, ls) => {
        const row = rowAt(r, ls[0].port);
        return [
          truthy(`a row with the kernel-chosen port ${ls[0].port}`, !!row),
          eq('its address is 0.0.0.0', row?.address, '0.0.0.0'),
          ...skDropsBound(r, ls),
        ];
      }),
  },
  {
    id: 'two',
    title: 'lab two: two listeners of one namespace overflowing at once',
    run: (aq, c) =>
      labCase('two', 'two', aq, c, (r, ls) => {
        const checks: Check[] = [eq('two rows', r.rows.length, 2)];
        for (const l of ls) checks.push(positive(`:${l.port}: the lab accepted connections`, l.accepted));
        const K = r.kernel.TcpExtListenOverflows;
        if (r.rows.some((l) => l.estimate === true)) {
          // the split is acceptq's estimate: only its sum is bound
          checks.push(le('rows marked estimate: their sum <= kernel ListenOverflows', r.acceptq.overflows, K));
        } else {
          // exact per row: the lab cannot know each listener's overflows, but
          // they lie between bounds from sk_drops and the namespace total
          checks.push(...skDropsBound(r, ls));
          for (const l of ls) {
            const row = rowAt(r, l.port);
            const others = ls.filter((o) => o.port !== l.port).reduce((s, o) => s + o.skDrops, 0);
            if (row) checks.push({ name: `:${l.port}: overflows >= kernel total - the other's sk_drops`, kind: 'accuracy', ok: row.overflows >= K - others, actual: row.overflows, expected: K - others, op: '>=' });
          }
        }
        return checks;
      }),
  },
  {
    id: 'cookie-flood',
    title: 'lab cookie-flood: raw SYNs, SYN cookies, a pacing server',
    run: (aq, c) =>
      labCase('cookie-flood', 'cookie-flood', aq, c, (r, ls) => [
        positive('the kernel sent SYN cookies', r.kernel.TcpExtSyncookiesSent),
        eq('one row', r.rows.length, 1),
        ...skDropsBound(r, ls),
      ]),
  },
];

/** Run one case with its own cleanup, which always runs. */
export async function runCase(def: CaseDef, aq: AcceptqJson): Promise<CaseResult> {
  const cleanup = new Cleanup();
  try {
    return await def.run(aq, cleanup);
  } finally {
    cleanup.run();
  }
}
