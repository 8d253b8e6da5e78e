/**
 * scripts/bench: what acceptq costs the server it watches, and how it holds
 * under a flood. Everything runs side by side in one run, on loopback in
 * network namespaces of the bench's own, bounded in time:
 *
 *   1. overhead: connection rate and bulk throughput without a monitor, with
 *      acceptq (--json to /dev/null) and with bpf/acceptq.bt, interleaved
 *   2. per-program cost from the kernel's BPF run-time statistics
 *   3. accuracy under the fastest SYN flood the machine makes
 *   4. acceptq's own CPU and peak RSS, --json and dashboard, with 1,000
 *      listeners and a flood
 *   5. start-up: to the first --json record, the first dashboard frame and
 *      the bpftrace script's first output
 *   6. scale: tick and render time with 1,000, 10,000 and 100,000 listeners,
 *      and the real dashboard in tmux: its frames and key to screen
 *      (alone: --only scale, or node dist/scripts/bench.d/scale.js)
 *   7. terminal: bytes the dashboard writes to its terminal per second, idle
 *      and under a flood (alone: node dist/scripts/bench.d/terminal.js)
 *
 * Writes bench/results.json and the table in BENCHMARKS.md (--quick:
 * bench/results-quick.json only). It reports; it does not fail on a target.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ciText, ciWidth, covers, pairedRatio, ratioText, verdict } from './ratio';
import {
  CLI_ARGV,
  CLI_COMMAND,
  CLI_ENV,
  runMain,
  LOAD,
  Lines,
  ROOT,
  STATS,
  cpuSeconds,
  installSignalCleanup,
  machine,
  median,
  now,
  progIdsOf,
  progStats,
  round,
  runLoad,
  sleep,
  startInNamespace,
  startListeners,
  statusField,
  stopChild,
  tmux,
  track,
  waitUntil,
  type ProgStat,
} from './common';

const BT_WRAPPER = path.join(ROOT, 'scripts', 'acceptq-bt');

interface Plan {
  quick: boolean;
  rounds: number; // overhead rounds (each: every monitor, in a rotating order)
  loadS: number; // seconds per connection-rate or throughput run
  clients: number;
  floodS: number;
  costS: number; // seconds of CPU/RSS measurement per mode
  costListeners: number;
  burstS: number; // seconds the burst's listeners stay (0: no burst measurement)
  burstAfterS: number; // seconds watched after the burst's rows aged out
  startups: number;
  scaleCounts: number[];
  scaleTicks: number;
  scaleFrames: number; // dashboard frames timed per count
  scaleKeyRounds: number; // rounds of keys (help open and close, sort and back) per count
  terminalS: number; // seconds per phase of the terminal-bytes count
}

const FULL: Plan = { quick: false, rounds: 10, loadS: 3, clients: 4, floodS: 10, costS: 60, costListeners: 1000, burstS: 10, burstAfterS: 30, startups: 3, scaleCounts: [1000, 10000, 100000], scaleTicks: 8, scaleFrames: 8, scaleKeyRounds: 2, terminalS: 20 };
const QUICK: Plan = { quick: true, rounds: 1, loadS: 1, clients: 4, floodS: 2, costS: 3, costListeners: 1000, burstS: 0, burstAfterS: 0, startups: 1, scaleCounts: [1000], scaleTicks: 3, scaleFrames: 2, scaleKeyRounds: 1, terminalS: 2 };

const started = performance.now();
/** A line on stderr, with the seconds since the run started (where a run spends its time). */
const log = (s: string) => process.stderr.write(`bench: [${Math.round((performance.now() - started) / 1000)} s] ${s}\n`);
const devNull = () => fs.openSync('/dev/null', 'w');

// ---- the monitors ----

/** acceptq's programs on syscall tracepoints: attaching any puts every syscall of every task on the kernel's traced path. */
const SYSCALL_PROGS = ['acq_accept4_exit', 'acq_accept_exit', 'acq_listen_enter', 'acq_listen_exit'];
/** acceptq-nosys: acceptq with its syscall tracepoints refused (what attaching them costs every syscall). */
type MonitorKind = 'none' | 'acceptq' | 'acceptq-nosys' | 'bpftrace';

interface Monitor {
  kind: MonitorKind;
  pid: number;
  stop(): Promise<void>;
}

/** acceptq --json, its records to /dev/null; resolves once its programs are attached. */
async function startAcceptqJson(extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Monitor> {
  const p = track(process.execPath, [...CLI_ARGV, '--json', '--interval', '1', ...extra], { stdio: ['ignore', devNull(), 'pipe'], env: { ...CLI_ENV, ...env } });
  let err = '';
  p.stderr?.on('data', (d) => (err += d));
  const ok = await waitUntil(() => p.exitCode === null && progIdsOf(p.pid!).length >= 3, 30000);
  if (!ok) {
    await stopChild(p);
    throw new Error(`acceptq --json did not attach: ${err.trim()}`);
  }
  return { kind: 'acceptq', pid: p.pid!, stop: () => stopChild(p) };
}

/** bpf/acceptq.bt through its wrapper; resolves at its BEGIN line (probes attached). */
async function startBpftrace(): Promise<Monitor & { out: Lines; startedAt: number; readyAt: number }> {
  const startedAt = now();
  const p = track(BT_WRAPPER, [], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Lines(p);
  const ready = await out.waitFor((l) => l.startsWith('acceptq.bt:'), 90000);
  return { kind: 'bpftrace', pid: p.pid!, out, startedAt, readyAt: ready.t, stop: () => stopChild(p, 'SIGINT') };
}

async function startMonitor(kind: MonitorKind): Promise<Monitor> {
  if (kind === 'acceptq') return startAcceptqJson();
  if (kind === 'acceptq-nosys') return startAcceptqJson([], { ACCEPTQ_REFUSE: SYSCALL_PROGS.join(',') });
  if (kind === 'bpftrace') return startBpftrace();
  return { kind, pid: 0, stop: async () => undefined };
}

// ---- 1 and 2: overhead and per-program cost ----

interface ProgCost {
  name: string;
  runs: number;
  runsPerSec: number;
  nsPerRun: number;
}

function costOf(before: ProgStat[], after: ProgStat[], ids: number[], seconds: number): ProgCost[] {
  const b = new Map(before.map((p) => [p.id, p]));
  return after
    .filter((p) => ids.includes(p.id))
    .map((p) => {
      const runs = p.runCnt - (b.get(p.id)?.runCnt ?? 0);
      const ns = p.runTimeNs - (b.get(p.id)?.runTimeNs ?? 0);
      return { name: p.name, runs, runsPerSec: round(runs / seconds, 0), nsPerRun: runs ? round(ns / runs, 0) : 0 };
    })
    .sort((x, y) => y.runs - x.runs);
}

async function overhead(plan: Plan) {
  const kinds: MonitorKind[] = ['none', 'acceptq', 'acceptq-nosys', 'bpftrace'];
  const conn: Record<MonitorKind, number[]> = { none: [], acceptq: [], 'acceptq-nosys': [], bpftrace: [] };
  const bulk: Record<MonitorKind, number[]> = { none: [], acceptq: [], 'acceptq-nosys': [], bpftrace: [] };
  // a warm-up pair, not counted: the first run after a quiet spell is slow
  await runLoad(['conn', String(Math.min(2, plan.loadS)), String(plan.clients)], 40000);
  await runLoad(['bulk', String(Math.min(2, plan.loadS))], 40000);
  for (let r = 0; r < plan.rounds; r++) {
    // rotate the order so no monitor always runs first (warm caches, thermal)
    const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]);
    for (const kind of order) {
      const m = await startMonitor(kind);
      try {
        await sleep(500);
        const c = await runLoad(['conn', String(plan.loadS), String(plan.clients)], (plan.loadS + 30) * 1000);
        conn[kind].push(c.rate);
        // the split of acceptq's cost is a connection-rate question: no bulk run for it
        const b = kind === 'acceptq-nosys' ? null : await runLoad(['bulk', String(plan.loadS)], (plan.loadS + 30) * 1000);
        if (b) bulk[kind].push(b.rate);
        log(`overhead round ${r + 1}/${plan.rounds} ${kind}: ${Math.round(c.rate)} conn/s${b ? `, ${(b.rate / 1e9).toFixed(2)} GB/s` : ''}`);
      } finally {
        await m.stop();
      }
    }
  }
  const med = (xs: number[]) => round(median(xs), 1);
  return {
    clients: plan.clients,
    secondsPerRun: plan.loadS,
    rounds: plan.rounds,
    connRate: { none: med(conn.none), acceptq: med(conn.acceptq), acceptqNoSyscalls: med(conn['acceptq-nosys']), bpftrace: med(conn.bpftrace), samples: conn },
    bulkBytesPerSec: { none: med(bulk.none), acceptq: med(bulk.acceptq), bpftrace: med(bulk.bpftrace), samples: bulk },
    // each round's monitor against the same round's run without one, then the
    // median: a shared machine's speed drifts over minutes, a round is seconds
    ratios: {
      connAcceptq: pairedRatio(conn.acceptq, conn.none),
      connAcceptqNoSyscalls: pairedRatio(conn['acceptq-nosys'], conn.none),
      connBpftrace: pairedRatio(conn.bpftrace, conn.none),
      bulkAcceptq: pairedRatio(bulk.acceptq, bulk.none),
      bulkBpftrace: pairedRatio(bulk.bpftrace, bulk.none),
    },
  };
}

/** The same loads once more per monitor with the kernel's run-time statistics on. */
async function programCost(plan: Plan) {
  // --floor: an empty program beside them, for what the statistics give a program that does nothing
  const stats = track(STATS, ['--floor', String(plan.loadS * 4 + 120)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const statsOut = new Lines(stats);
  const floorId = Number((await statsOut.waitFor((l) => l.startsWith('on '), 10000)).line.slice(3));
  const out: Record<string, { conn: ProgCost[]; bulk: ProgCost[]; nsPerConnection: number; nsPer64KiB: number; floorNsPerRun: number; netNsPerConnection: number }> = {};
  try {
    for (const kind of ['acceptq', 'bpftrace'] as const) {
      const m = await startMonitor(kind);
      try {
        await sleep(500);
        const ids = progIdsOf(m.pid);
        const s0 = progStats();
        const t0 = now();
        const c = await runLoad(['conn', String(plan.loadS), String(plan.clients)], (plan.loadS + 30) * 1000);
        const s1 = progStats();
        const t1 = now();
        const b = await runLoad(['bulk', String(plan.loadS)], (plan.loadS + 30) * 1000);
        const s2 = progStats();
        const t2 = now();
        const conn = costOf(s0, s1, ids, (t1 - t0) / 1000);
        const bulk = costOf(s1, s2, ids, (t2 - t1) / 1000);
        const floorNs = costOf(s0, s1, [floorId], (t1 - t0) / 1000)[0]?.nsPerRun ?? 0;
        // BPF time per connection and per 64 KiB of stream, from the same runs:
        // a noise-free view of the overhead, next to the throughput ratios
        const busyNs = (xs: ProgCost[]) => xs.reduce((a, p) => a + p.runs * p.nsPerRun, 0);
        out[kind] = {
          conn,
          bulk,
          nsPerConnection: round(busyNs(conn) / c.connections, 0),
          nsPer64KiB: round(busyNs(bulk) / (b.bytes / 65536), 1),
          // less what the empty program shows per run: the statistics' own clock reads
          floorNsPerRun: floorNs,
          netNsPerConnection: round(conn.reduce((a, p) => a + p.runs * Math.max(0, p.nsPerRun - floorNs), 0) / c.connections, 0),
        };
        log(`program cost ${kind}: ${out[kind].conn.map((p) => `${p.name} ${p.nsPerRun} ns`).join(', ')}`);
      } finally {
        await m.stop();
      }
    }
  } finally {
    await stopChild(stats);
  }
  return out;
}

// ---- 3: accuracy under a flood ----

interface Flood {
  ns: Awaited<ReturnType<typeof startInNamespace>>;
  end: Promise<any>;
}

function startFlood(seconds: number, holdS: number): Promise<Flood> {
  const threads = Math.max(1, Math.min(8, os.cpus().length));
  return startInNamespace(LOAD, ['flood', String(seconds), String(threads), '--hold', String(holdS)], 30000).then((ns) => ({
    ns,
    end: ns.out.waitFor((l) => l.includes('"state":"end"'), (seconds + 60) * 1000).then((r) => JSON.parse(r.line)),
  }));
}

async function floodAccuracy(plan: Plan) {
  // this one keeps acceptq's records: the listener's count is read from them
  const p = track(process.execPath, [...CLI_ARGV, '--json', '--interval', '1', '--port', '9800'], { stdio: ['ignore', 'pipe', 'pipe'], env: CLI_ENV });
  const out = new Lines(p);
  try {
    await out.waitFor((l) => l.startsWith('{'), 30000);
    const flood = await startFlood(plan.floodS, 60);
    try {
      const end = await flood.end;
      // a record taken after the flood ended and its last packets were through
      await sleep(1200);
      const rec = JSON.parse((await out.waitFor((l) => l.startsWith('{'), 5000, out.lines.length)).line);
      const row = rec.listeners.find((l: any) => l.netns === flood.ns.netns && l.port === 9800);
      const ns = rec.namespaces.find((n: any) => n.netns === flood.ns.netns);
      const attributed = row?.overflows ?? 0;
      log(`flood: ${end.sent} SYNs in ${end.seconds} s; overflows acceptq ${attributed}, kernel ${end.listenOverflows}`);
      return {
        seconds: end.seconds,
        threads: end.threads,
        synsSent: end.sent,
        synsPerSec: round(end.rate, 0),
        overflowsKernel: end.listenOverflows,
        overflowsAttributed: attributed,
        overflowsNamespaceAcceptq: ns?.listenOverflows ?? null,
        ratio: end.listenOverflows ? round(attributed / end.listenOverflows, 6) : null,
        equal: attributed === end.listenOverflows,
        lostEvents: rec.lostEvents,
        probe: rec.probe,
      };
    } finally {
      await stopChild(flood.ns.proc);
    }
  } finally {
    await stopChild(p);
  }
}

// ---- 4: acceptq's own cost ----

function rssKb(pid: number): number {
  return statusField(pid, 'VmRSS');
}

async function measureProcess(pid: number, seconds: number) {
  await sleep(3000); // past start-up: attach, first walk of every namespace
  const c0 = cpuSeconds(pid);
  const t0 = now();
  const rss: number[] = [];
  const until = t0 + seconds * 1000;
  while (now() < until) {
    rss.push(rssKb(pid));
    await sleep(Math.min(5000, until - now()));
  }
  const cpu = cpuSeconds(pid) - c0;
  const elapsed = (now() - t0) / 1000;
  return {
    seconds: round(elapsed, 1),
    cpuPercent: round((100 * cpu) / elapsed, 2),
    rssKbMax: Math.max(...rss, rssKb(pid)),
    peakRssKb: statusField(pid, 'VmHWM'),
    // RSS counts the node binary's own pages (file-backed, shared with any
    // other node process); anonymous memory is what acceptq itself holds
    rssAnonKb: statusField(pid, 'RssAnon'),
    rssFileKb: statusField(pid, 'RssFile'),
  };
}


/** q to the dashboard in a tmux session, then the session gone (whatever state it was in). */
async function quitDashboard(session: string): Promise<void> {
  try {
    tmux('send-keys', '-t', session, 'q');
    await sleep(1000);
    tmux('kill-session', '-t', session);
  } catch {
    // gone already
  }
}

async function toolCost(plan: Plan) {
  const listeners = await startListeners(plan.costListeners, plan.costS * 2 + 120);
  const flood = await startFlood(plan.costS * 2 + 30, 60);
  const session = `acceptq-bench-${process.pid}`;
  try {
    const json = await startAcceptqJson();
    let jsonCost;
    try {
      jsonCost = await measureProcess(json.pid, plan.costS);
    } finally {
      await json.stop();
    }
    log(`own cost --json: ${jsonCost.cpuPercent}% CPU, peak RSS ${jsonCost.peakRssKb} kB`);
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', `exec ${CLI_COMMAND} --interval 1`);
    let dashCost;
    try {
      const pid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
      if (!(await waitUntil(() => progIdsOf(pid).length >= 3, 30000))) throw new Error(`the dashboard did not attach: ${tmux('capture-pane', '-p', '-t', session)}`);
      dashCost = await measureProcess(pid, plan.costS);
    } finally {
      await quitDashboard(session);
    }
    log(`own cost dashboard: ${dashCost.cpuPercent}% CPU, peak RSS ${dashCost.peakRssKb} kB`);
    return { listeners: plan.costListeners, flood: true, interval: 1, json: jsonCost, dashboard: dashCost };
  } finally {
    await stopChild(flood.ns.proc);
    await stopChild(listeners.proc);
  }
}

/**
 * Memory after a burst: the dashboard with 1,000 listeners, then 51,000 more
 * (three namespaces: one process holds at most ~20,000 fds here) for a few
 * seconds; they close, their rows age out (closed rows stay 120 s), and the
 * RSS should come back within 20 % of where it was before.
 */
async function burstMemory(plan: Plan) {
  const per = 17000;
  const base = await startListeners(plan.costListeners, plan.burstS + 400);
  const session = `acceptq-bench-burst-${process.pid}`;
  const sample = (pid: number) => ({ rssKb: statusField(pid, 'VmRSS'), anonKb: statusField(pid, 'RssAnon') });
  try {
    tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', `exec ${CLI_COMMAND} --interval 1`);
    const pid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
    if (!(await waitUntil(() => progIdsOf(pid).length >= 3, 30000))) throw new Error('the dashboard did not attach');
    const settle = async (seconds: number) => {
      const xs: number[] = [];
      for (let i = 0; i < seconds; i++) {
        await sleep(1000);
        xs.push(sample(pid).rssKb);
      }
      return median(xs.slice(-5));
    };
    const beforeKb = await settle(15);
    const t0 = now();
    const bursts = [];
    for (let i = 0; i < 3; i++) bursts.push(await startListeners(per, plan.burstS));
    let peakKb = 0;
    while (bursts.some((b) => b.proc.exitCode === null && b.proc.signalCode === null) && now() - t0 < (plan.burstS + 60) * 1000) {
      peakKb = Math.max(peakKb, sample(pid).rssKb);
      await sleep(500);
    }
    for (const b of bursts) await stopChild(b.proc);
    const closedAt = now();
    // the rows age out 120 s after their listeners closed; then some ticks for the heap to shrink
    const series: Array<{ s: number; rssKb: number }> = [];
    while (now() - closedAt < (120 + plan.burstAfterS) * 1000) {
      await sleep(5000);
      const x = sample(pid);
      peakKb = Math.max(peakKb, x.rssKb);
      series.push({ s: round((now() - closedAt) / 1000, 0), rssKb: x.rssKb });
    }
    const afterKb = await settle(10);
    const rows = per * 3;
    log(`memory after a burst of ${rows} rows: before ${beforeKb} kB, peak ${peakKb} kB, after ${afterKb} kB`);
    return { listeners: plan.costListeners, burstRows: rows, burstS: plan.burstS, beforeKb, peakKb, afterKb, afterOverBefore: round(afterKb / beforeKb, 2), series };
  } finally {
    await quitDashboard(session);
    await stopChild(base.proc);
  }
}

// ---- 5: start-up ----

async function startup(plan: Plan) {
  const json: number[] = [];
  const dash: number[] = [];
  const btReady: number[] = [];
  const btFirst: number[] = [];
  for (let i = 0; i < plan.startups; i++) {
    {
      const t0 = now();
      const p = track(process.execPath, [...CLI_ARGV, '--json', '--interval', '1'], { stdio: ['ignore', 'pipe', 'pipe'], env: CLI_ENV });
      const out = new Lines(p);
      const first = await out.waitFor((l) => l.startsWith('{'), 30000);
      json.push(first.t - t0);
      await stopChild(p);
    }
    {
      const session = `acceptq-bench-start-${process.pid}`;
      const t0 = now();
      tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', `exec ${CLI_COMMAND} --interval 1`);
      try {
        // the first frame: header with the probe set, table and footer drawn
        const drawn = await waitUntil(() => {
          const s = tmux('capture-pane', '-p', '-t', session);
          return s.includes('q quit') && /probe/.test(s);
        }, 30000, 5);
        if (!drawn) throw new Error('the dashboard drew no frame within 30 s');
        dash.push(now() - t0);
      } finally {
        tmux('send-keys', '-t', session, 'q');
        await sleep(500);
        try {
          tmux('kill-session', '-t', session);
        } catch {
          // gone
        }
      }
    }
    {
      const bt = await startBpftrace();
      try {
        btReady.push(bt.readyAt - bt.startedAt);
        const first = await bt.out.waitFor((l) => /^\d\d:\d\d:\d\d$/.test(l), 10000);
        btFirst.push(first.t - bt.startedAt);
      } finally {
        await bt.stop();
      }
    }
    log(`start-up ${i + 1}/${plan.startups}: json ${Math.round(json[i])} ms, dashboard ${Math.round(dash[i])} ms, bpftrace ${Math.round(btReady[i])} ms`);
  }
  const med = (xs: number[]) => round(median(xs), 0);
  return {
    runs: plan.startups,
    firstJsonRecordMs: med(json),
    firstDashboardFrameMs: med(dash),
    bpftraceAttachedMs: med(btReady),
    bpftraceFirstIntervalMs: med(btFirst),
    bpftraceOverAcceptq: round(median(btReady) / median(json), 1),
    samples: { json, dash, btReady, btFirst },
  };
}

// ---- 6: scale ----

/** One count's figures from scale.js (see there). */
interface ScaleRow {
  listeners: number;
  tickMs: number;
  libMs: number;
  decodeMs: number;
  modelMs: number;
  totalJsonMs: number;
  totalTableMs: number;
  dashboard: {
    width: number;
    height: number;
    maxListeners: number | null;
    firstFullFrameS: number;
    frame: {
      frames: number;
      medianMs: number;
      p90Ms: number;
      maxMs: number;
      nextMs: number;
      ingestMs: number;
      sortMs: number;
      filterMs: number;
      sortsPerFrame: number;
      panelsMs: Record<string, number>;
      renderMs: number;
      writeMs: number;
    };
    keys: {
      boundMs: number;
      sent: number;
      answered: number;
      allAnswered: boolean;
      medianMs: number | null;
      maxMs: number | null;
      help: { medianMs: number; maxMs: number; frameMs: number | null } | null;
      sort: { medianMs: number; maxMs: number; frameMs: number | null } | null;
    };
  };
  [k: string]: unknown;
}

async function scale(plan: Plan): Promise<ScaleRow[]> {
  const args = ['--counts', plan.scaleCounts.join(','), '--ticks', String(plan.scaleTicks), '--frames', String(plan.scaleFrames), '--key-rounds', String(plan.scaleKeyRounds)];
  const p = track(process.execPath, [path.join(__dirname, 'scale.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stderr?.on('data', (d) => process.stderr.write(String(d).replace(/^(?=.)/gm, 'bench: ')));
  const out = new Lines(p);
  // bounded: start-up, the labs and every frame and key of every count
  const boundMs = plan.scaleCounts.reduce((a, n) => a + 120000 + 3 * n + plan.scaleFrames * 15000 + plan.scaleKeyRounds * 4 * 12000, 0);
  const r = await out.waitFor((l) => l.startsWith('{'), boundMs);
  await stopChild(p);
  return JSON.parse(r.line).results;
}

// ---- 7: terminal output ----

async function terminalOutput(plan: Plan) {
  const p = track(process.execPath, [path.join(__dirname, 'terminal.js'), '--seconds', String(plan.terminalS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Lines(p);
  const r = await out.waitFor((l) => l.startsWith('{'), (4 * plan.terminalS + 120) * 1000);
  await stopChild(p);
  const t = JSON.parse(r.line);
  log(`terminal: idle ${t.idle.bytesPerSec} bytes/s, under a flood ${t.flood.bytesPerSec} bytes/s`);
  return t;
}

// ---- results ----

function machineWithBpftrace() {
  return {
    ...machine(),
    bpftrace: (() => {
      try {
        return execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
      } catch {
        return 'not found';
      }
    })(),
  };
}

interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean | null;
}

type Results = Awaited<ReturnType<typeof runAll>>;

function targets(r: Results): Target[] {
  const t = (name: string, target: string, measured: string, met: boolean | null): Target => ({ name, target, measured, met });
  const frameAt = (n: number) => {
    const x = r.scale.find((y) => y.listeners === n);
    return x ? x.dashboard.frame : null;
  };
  const [f10k, f100k] = [frameAt(10000), frameAt(100000)];
  const big = r.scale[r.scale.length - 1];
  const k = big?.dashboard.keys;
  return [
    t('connection rate with acceptq / without (95 % CI of the paired rounds)', '>= 0.98', ratioText(r.overhead.ratios.connAcceptq), verdict(r.overhead.ratios.connAcceptq, 0.98)),
    t('bulk stream with acceptq / without (the control: acceptq barely runs)', '~ 1.00', ratioText(r.overhead.ratios.bulkAcceptq), covers(r.overhead.ratios.bulkAcceptq, 1)),
    t('BPF time per connection, every program acceptq attaches', '<= 1,000 ns', `${r.programs.acceptq.nsPerConnection} ns`, r.programs.acceptq.nsPerConnection <= 1000),
    t(
      'the same, less the statistics\' own cost per run (an empty program beside them)',
      '<= 1,000 ns',
      `${r.programs.acceptq.netNsPerConnection} ns (empty program: ${r.programs.acceptq.floorNsPerRun} ns a run)`,
      r.programs.acceptq.netNsPerConnection <= 1000,
    ),
    t('attributed / kernel overflows, fastest flood', '= 1.000', r.flood.ratio === null ? 'no overflow' : r.flood.ratio.toFixed(3), r.flood.equal),
    t('acceptq CPU, --json, 1 s interval', '<= 2% of a core', `${r.cost.json.cpuPercent}%`, r.cost.json.cpuPercent <= 2),
    t('acceptq CPU, dashboard, 1 s interval', '<= 5% of a core', `${r.cost.dashboard.cpuPercent}%`, r.cost.dashboard.cpuPercent <= 5),
    t('acceptq peak RSS', '<= 80 MB', `${round(Math.max(r.cost.json.peakRssKb, r.cost.dashboard.peakRssKb) / 1024, 1)} MB`, Math.max(r.cost.json.peakRssKb, r.cost.dashboard.peakRssKb) <= 80 * 1024),
    t(
      'dashboard RSS after a burst of 51,000 rows aged out / before it',
      '<= 1.2',
      r.burst ? `${r.burst.afterOverBefore} (${round(r.burst.beforeKb / 1024, 1)} → peak ${round(r.burst.peakKb / 1024, 1)} → ${round(r.burst.afterKb / 1024, 1)} MB)` : 'not run',
      r.burst ? r.burst.afterOverBefore <= 1.2 : null,
    ),
    t('first --json record', '<= 0.5 s', `${r.startup.firstJsonRecordMs} ms`, r.startup.firstJsonRecordMs <= 500),
    t('bpftrace first output / acceptq first record', '>= 5x', `${r.startup.bpftraceOverAcceptq}x`, r.startup.bpftraceOverAcceptq >= 5),
    t('dashboard frame in tmux (tick + sort + render), median, at 10,000 listeners', '<= 50 ms', f10k ? `${f10k.medianMs} ms (p90 ${f10k.p90Ms} ms)` : 'not run', f10k ? f10k.medianMs <= 50 : null),
    t('dashboard frame in tmux (tick + sort + render), median, at 100,000 listeners', '<= 500 ms', f100k ? `${f100k.medianMs} ms (p90 ${f100k.p90Ms} ms)` : 'not run', f100k ? f100k.medianMs <= 500 : null),
    t(
      `the dashboard answers keys at ${big ? fmt(big.listeners) : '–'} listeners (key to screen, each bounded)`,
      `every key within ${k ? fmt(k.boundMs / 1000) : '–'} s`,
      k ? `${k.answered} of ${k.sent}; median ${k.medianMs} ms, slowest ${k.maxMs} ms` : 'not run',
      k ? k.allAnswered : null,
    ),
  ];
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

function markdown(r: Results): string {
  const m = r.machine;
  const L: string[] = [];
  L.push(`Run of ${m.date.slice(0, 10)} at commit ${m.commit.slice(0, 7)}${m.dirty ? ' (with uncommitted changes)' : ''} on ${m.cpus} × ${m.cpu}, ${m.memoryGiB} GiB, kernel ${m.kernel}, Node ${m.node}, ${m.bpftrace}; probe set \`${r.flood.probe}\`; ${r.plan.quick ? 'quick mode' : 'full run'} in ${r.seconds} s.`);
  L.push('');
  L.push('| target | wanted | measured | met |', '|---|---|---|---|');
  for (const t of r.targets) L.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`);
  L.push('');
  const o = r.overhead;
  L.push(`**1. Overhead on the watched server** (loopback, ${o.rounds} rounds of ${o.secondsPerRun} s, the three monitors in a rotating order within each round; rates are medians, ratios the median of each round's monitor against the same round's run without one; connection rate with ${o.clients} clients):`, '');
  L.push('| load | without | acceptq | ratio | bpftrace script | ratio |', '|---|---|---|---|---|---|');
  L.push(`| connections/s | ${fmt(o.connRate.none)} | ${fmt(o.connRate.acceptq)} | ${o.ratios.connAcceptq.median} | ${fmt(o.connRate.bpftrace)} | ${o.ratios.connBpftrace.median} |`);
  L.push(`| bulk GB/s | ${(o.bulkBytesPerSec.none / 1e9).toFixed(2)} | ${(o.bulkBytesPerSec.acceptq / 1e9).toFixed(2)} | ${o.ratios.bulkAcceptq.median} | ${(o.bulkBytesPerSec.bpftrace / 1e9).toFixed(2)} | ${o.ratios.bulkBpftrace.median} |`);
  L.push('');
  L.push('The ratios round by round (each monitor against the same round\'s run without one), and the 95 % confidence interval of their mean:', '');
  L.push('| ratio | per round | min–median–max | mean, 95 % CI | can it tell 0.97 from 0.99? |', '|---|---|---|---|---|');
  for (const [name, p] of [['connections/s, acceptq', o.ratios.connAcceptq], ['connections/s, acceptq without its syscall tracepoints (accept and listen not timed)', o.ratios.connAcceptqNoSyscalls], ['connections/s, bpftrace script', o.ratios.connBpftrace], ['bulk, acceptq (control)', o.ratios.bulkAcceptq], ['bulk, bpftrace script', o.ratios.bulkBpftrace]] as const) {
    const width = ciWidth(p);
    const decides = width === null ? 'no: one round' : width < 0.02 ? 'yes' : `no: the interval is ${width} wide, the machine too noisy to decide`;
    L.push(`| ${name} | ${p.ratios.map((v) => v.toFixed(3)).join(' ')} | ${p.min}–${p.median}–${p.max} | ${p.mean} (${ciText(p)}) | ${decides} |`);
  }
  L.push('');
  L.push('**2. Per-program cost** (kernel BPF run-time statistics, during the same loads):', '');
  L.push('| tool | program | conn: runs/s | conn: ns/run | bulk: runs/s | bulk: ns/run |', '|---|---|---|---|---|---|');
  for (const [tool, c] of Object.entries(r.programs)) {
    for (const p of c.conn) {
      const b = c.bulk.find((x) => x.name === p.name);
      L.push(`| ${tool} | ${p.name} | ${fmt(p.runsPerSec)} | ${p.nsPerRun} | ${fmt(b?.runsPerSec ?? 0)} | ${b?.nsPerRun ?? 0} |`);
    }
  }
  L.push('');
  // CPU time one connection takes without a monitor: every core busy for the run
  const connCpuNs = (1e9 * r.machine.cpus) / o.connRate.none;
  const per = (tool: string) => r.programs[tool];
  L.push(
    `BPF time per connection: acceptq ${per('acceptq').nsPerConnection} ns, bpftrace script ${per('bpftrace').nsPerConnection} ns; ` +
      `a connection costs about ${fmt(connCpuNs)} ns of CPU here (${r.machine.cpus} cores busy / ${fmt(o.connRate.none)} per s), ` +
      `so acceptq adds about ${round((100 * per('acceptq').nsPerConnection) / connCpuNs, 1)} % to it. ` +
      `Per 64 KiB of bulk stream: acceptq ${per('acceptq').nsPer64KiB} ns, bpftrace ${per('bpftrace').nsPer64KiB} ns.`,
  );
  L.push('');
  L.push(
    `The statistics time each run with two clock reads. An empty program attached beside them (tp_btf on inet_sock_set_state) ` +
      `shows ${per('acceptq').floorNsPerRun} ns a run during acceptq's load and ${per('bpftrace').floorNsPerRun} ns during bpftrace's: ` +
      `that much of every run's figure is the measurement. Less that per run: acceptq ${per('acceptq').netNsPerConnection} ns per connection, ` +
      `bpftrace script ${per('bpftrace').netNsPerConnection} ns.`,
  );
  L.push('');
  const f = r.flood;
  L.push(`**3. Accuracy under a flood**: ${fmt(f.synsSent)} SYNs in ${f.seconds} s from ${f.threads} threads (${fmt(f.synsPerSec)}/s) at a listener that never accepts: acceptq attributed **${fmt(f.overflowsAttributed)}**, the kernel counted **${fmt(f.overflowsKernel)}** (ratio ${f.ratio}); lost detail events ${fmt(f.lostEvents)} (by design: detail events are rate-limited, counts are not).`);
  L.push('');
  const c = r.cost;
  L.push(`**4. acceptq's own cost** over ${c.json.seconds} s, ${fmt(c.listeners)} listeners, the flood running, 1 s interval:`, '');
  L.push('| mode | CPU (% of one core) | peak RSS | RSS at the end: anonymous | file-backed (node binary, libraries) |', '|---|---|---|---|---|');
  L.push(`| --json | ${c.json.cpuPercent}% | ${round(c.json.peakRssKb / 1024, 1)} MB | ${round(c.json.rssAnonKb / 1024, 1)} MB | ${round(c.json.rssFileKb / 1024, 1)} MB |`);
  L.push(`| dashboard (tmux 160x50) | ${c.dashboard.cpuPercent}% | ${round(c.dashboard.peakRssKb / 1024, 1)} MB | ${round(c.dashboard.rssAnonKb / 1024, 1)} MB | ${round(c.dashboard.rssFileKb / 1024, 1)} MB |`);
  L.push('');
  const s = r.startup;
  L.push(`**5. Start-up** (median of ${s.runs}): first --json record ${s.firstJsonRecordMs} ms; first dashboard frame ${s.firstDashboardFrameMs} ms; bpftrace script attached (its BEGIN line) ${s.bpftraceAttachedMs} ms, first per-second output ${s.bpftraceFirstIntervalMs} ms: bpftrace takes ${s.bpftraceOverAcceptq}x as long.`);
  L.push('');
  if (r.burst) {
    const b = r.burst;
    L.push(
      `**4b. Memory after a burst**: the dashboard with ${fmt(b.listeners)} listeners, then ${fmt(b.burstRows)} more for ${b.burstS} s; RSS before ${round(b.beforeKb / 1024, 1)} MB, ` +
        `peak ${round(b.peakKb / 1024, 1)} MB, after the burst's rows aged out ${round(b.afterKb / 1024, 1)} MB (${b.afterOverBefore}× before). ` +
        `RSS every 5 s after they closed (s: MB): ${b.series.map((x) => `${x.s}: ${round(x.rssKb / 1024, 0)}`).join(', ')}.`,
      '',
    );
  }
  const d0 = r.scale[0]?.dashboard;
  L.push(
    `**6. Scale** (one tick: snapshot of every namespace, event drain, model; then rendering; median. The dashboard: the real one in tmux ${d0 ? `${d0.width}x${d0.height}` : ''}, ` +
      `every 1 s, a frame from its tick to blessed's write to the terminal, by its own frame log; a key: from tmux send-keys until capture-pane shows it):`,
    '',
  );
  L.push(
    '| listeners | tick | of which helper | decode | model | + --json record | + --once table (every row) | dashboard frame: median | p90 | key to screen: median | slowest |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  const keyMs = (v: number | null) => (v === null ? '–' : `${v} ms`);
  for (const x of r.scale) {
    const d = x.dashboard;
    L.push(
      `| ${fmt(x.listeners)} | ${x.tickMs} ms | ${x.libMs} ms | ${x.decodeMs} ms | ${x.modelMs} ms | ${x.totalJsonMs} ms | ${x.totalTableMs} ms | ` +
        `${d.frame.medianMs} ms | ${d.frame.p90Ms} ms | ${keyMs(d.keys.medianMs)} | ${keyMs(d.keys.maxMs)}${d.keys.allAnswered ? '' : ` (${d.keys.sent - d.keys.answered} of ${d.keys.sent} not within ${fmt(d.keys.boundMs / 1000)} s)`} |`,
    );
  }
  L.push('');
  L.push('The dashboard\'s frame by its parts (medians of its frame log), and the keys:', '');
  L.push(
    '| listeners | frames | snapshot + model | ingest | sort + filter (sorts a frame) | panels: header, gauges, spark, table | render | write | help key: screen / own frame | sort key: screen / own frame | first full frame after start |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  const keyKind = (x: { medianMs: number; frameMs: number | null } | null) => (x ? `${x.medianMs} / ${x.frameMs ?? '–'} ms` : '–');
  for (const x of r.scale) {
    const f = x.dashboard.frame;
    const p = f.panelsMs;
    L.push(
      `| ${fmt(x.listeners)} | ${f.frames} | ${f.nextMs} ms | ${f.ingestMs} ms | ${round(f.sortMs + f.filterMs, 2)} ms (${f.sortsPerFrame}) | ${p.header} / ${p.gauges} / ${p.spark} / ${p.table} ms | ` +
        `${f.renderMs} ms | ${f.writeMs} ms | ${keyKind(x.dashboard.keys.help)} | ${keyKind(x.dashboard.keys.sort)} | ${x.dashboard.firstFullFrameS} s |`,
    );
  }
  L.push('');
  const tm = r.terminal;
  L.push(`**7. Terminal output** (the dashboard in tmux ${tm.width}x${tm.height}, TERM=${tm.term}, every ${tm.interval} s; bytes it wrote, counted by tmux's pipe-pane):`, '');
  L.push('| phase | seconds | bytes | bytes/s |', '|---|---|---|---|');
  L.push(`| idle | ${tm.idle.seconds} | ${fmt(tm.idle.bytes)} | ${fmt(tm.idle.bytesPerSec)} |`);
  L.push(`| SYN flood at one listener | ${tm.flood.seconds} | ${fmt(tm.flood.bytes)} | ${fmt(tm.flood.bytesPerSec)} |`);
  return L.join('\n');
}

async function runAll(plan: Plan) {
  const m = machineWithBpftrace();
  log(`${plan.quick ? 'quick' : 'full'} run on ${m.cpus} × ${m.cpu}, kernel ${m.kernel}`);
  const overheadR = await overhead(plan);
  const programs = await programCost(plan);
  const flood = await floodAccuracy(plan);
  const cost = await toolCost(plan);
  const burst = plan.burstS > 0 ? await burstMemory(plan) : null;
  const start = await startup(plan);
  const sc = await scale(plan);
  const terminal = await terminalOutput(plan);
  return { machine: m, plan, overhead: overheadR, programs, flood, cost, burst, startup: start, scale: sc, terminal, seconds: 0, targets: [] as Target[] };
}

async function main(): Promise<void> {
  installSignalCleanup('bench');
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, only: { type: 'string' } } });
  const plan = values.quick ? QUICK : FULL;
  const t0 = now();
  if (values.only) {
    // one part alone, to check it works: printed, never written over the results
    const parts: Record<string, () => Promise<unknown>> = { programs: () => programCost(plan), burst: () => burstMemory(plan), cost: () => toolCost(plan), scale: () => scale(plan) };
    const part = parts[values.only];
    if (!part) throw new Error(`--only: one of ${Object.keys(parts).join(', ')}`);
    process.stdout.write(JSON.stringify(await part(), null, 2) + '\n');
    return;
  }
  const r = await runAll(plan);
  r.seconds = Math.round((now() - t0) / 1000);
  r.targets = targets(r);
  const dir = path.join(ROOT, 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = values.out ?? path.join(dir, plan.quick ? 'results-quick.json' : 'results.json');
  fs.writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
  const table = markdown(r);
  if (!plan.quick && !values.out) {
    const md = path.join(ROOT, 'BENCHMARKS.md');
    const begin = '<!-- bench:begin (written by scripts/bench) -->';
    const end = '<!-- bench:end -->';
    const old = fs.existsSync(md) ? fs.readFileSync(md, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`;
    const i = old.indexOf(begin);
    const j = old.indexOf(end);
    const next = i >= 0 && j > i ? old.slice(0, i + begin.length) + '\n' + table + '\n' + old.slice(j) : `${old.trimEnd()}\n\n${begin}\n${table}\n${end}\n`;
    fs.writeFileSync(md, next);
  }
  process.stdout.write(table + '\n');
  log(`done in ${r.seconds} s; results in ${path.relative(process.cwd(), file)}`);
}

runMain('bench', main);
