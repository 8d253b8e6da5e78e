/**
 * The kernel matrix's checks, run inside one kernel (a VM that
 * scripts/kernels boots, or this machine): for each probe set, whether
 * acceptq starts and quits cleanly in each of its outputs (--once, --json,
 * the dashboard), then every case of harness/kernel-cases.ts against the
 * namespace's own counters, and what the BPF programs ran per connection.
 * One JSON line per result on stdout; progress on stderr.
 *   node dist/scripts/kernels.d/cases.js [--sets auto,fentry,kprobe,tracepoint,bpftrace]
 *        [--cases id,...] [--rounds N] [--kernel LABEL]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { AcceptqJson } from '../../harness/acceptq';
import { runBpftrace } from '../../harness/bpftrace';
import { KERNEL_CASES } from '../../harness/kernel-cases';
import { awaitGone, heldBy } from '../../harness/links';
import { CLI } from '../../harness/paths';
import { cleanupAll, describe, failures, runCase } from '../../harness/servers';
import { Tmux } from '../../harness/tmux';

/** acceptq's probe sets, and the bpftrace fallback (scripts/acceptq-bt) as one more column */
const SETS = ['auto', 'fentry', 'kprobe', 'tracepoint', 'bpftrace'] as const;
type ProbeSet = (typeof SETS)[number];

export interface MatrixResult {
  kernel: string;
  set: ProbeSet;
  /** 'start' rows: once, json, dashboard; else a case id */
  case: string;
  round?: number;
  status: 'ok' | 'exact' | 'not exact' | 'refused' | 'error' | 'invalid';
  detail: string;
  /** the set auto chose, the notice, figures */
  extra?: Record<string, unknown>;
}

const { values } = parseArgs({
  options: {
    sets: { type: 'string', default: SETS.join(',') },
    cases: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    kernel: { type: 'string', default: 'host' },
  },
});
const kernel = `${values.kernel} ${os.release()}`;
const rounds = Number(values.rounds);
const sets = values.sets!.split(',').filter(Boolean) as ProbeSet[];
const caseIds = values.cases ? values.cases.split(',').filter(Boolean) : KERNEL_CASES.map((c) => c.id);
for (const s of sets) if (!SETS.includes(s)) throw new Error(`unknown probe set ${s}`);
for (const id of caseIds) if (id !== 'start' && !KERNEL_CASES.some((c) => c.id === id)) throw new Error(`unknown case ${id}`);

const emit = (r: MatrixResult) => process.stdout.write(`${JSON.stringify(r)}\n`);
const log = (s: string) => process.stderr.write(`[${kernel}] ${s}\n`);
const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';

/** `acceptq --once` with the set forced: the one-line refusal, or the set it ran (auto). */
function once(set: ProbeSet): { ok: boolean; detail: string; chose?: string } {
  const r = spawnSync(process.execPath, [CLI, '--once', '--probe', set, '--interval', '1'], { encoding: 'utf8', timeout: 180000 });
  const probe = /^probe (\w+)/m.exec(r.stdout)?.[1];
  if (r.status === 0 && probe) return { ok: true, detail: `exit 0, probe ${probe}`, chose: probe };
  return { ok: false, detail: `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${firstLine(r.stderr) || firstLine(r.stdout)}` };
}

function json(set: ProbeSet): { ok: boolean; detail: string; notice?: string } {
  const r = spawnSync(process.execPath, [CLI, '--json', '--probe', set, '--interval', '1', '--duration', '3'], { encoding: 'utf8', timeout: 180000 });
  const recs = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const ok = r.status === 0 && recs.length >= 1 && recs.every((x) => Array.isArray(x.listeners));
  return { ok, detail: `exit ${r.status}, ${recs.length} records${ok ? '' : `: ${firstLine(r.stderr)}`}`, notice: recs[0]?.notice };
}

/** The dashboard in tmux: it draws, quits on q with exit 0, and leaves no BPF link behind. */
async function dashboard(set: ProbeSet): Promise<{ ok: boolean; detail: string }> {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/acq-matrix-`);
  const name = `acq-matrix-${process.pid}`;
  const tm = Tmux.start(name, `${process.execPath} ${CLI} --probe ${set}; echo $? > ${dir}/rc`, 120, 40);
  try {
    await tm.waitFor((s) => /LISTEN/.test(s) && /probe/i.test(s), 180000);
    const pid = tm.programPid();
    const held = heldBy(pid);
    tm.keys('q');
    // the shell creates rc before it writes the status: read it once the line is whole
    const rcLine = () => (fs.existsSync(`${dir}/rc`) ? fs.readFileSync(`${dir}/rc`, 'utf8') : '');
    for (let i = 0; i < 300 && !rcLine().endsWith('\n'); i++) await sleep(200);
    const rc = rcLine().trim() || 'none';
    const left = await awaitGone({ links: held.links.map((l) => l.id), progs: held.progs.map((p) => p.id) }, 10000);
    const ok = rc === '0' && held.links.length > 0 && !left.links.length && !left.progs.length;
    return { ok, detail: `drew, q: exit ${rc}; ${held.links.length} links held, ${left.links.length} left after` };
  } catch (e) {
    return { ok: false, detail: firstLine(String(e)) };
  } finally {
    tm.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The programs that run once per accept() of a timed connection, in every probe set and way */
const ACCEPT_PROGS = ['acq_fexit_inet_accept', 'acq_kprobe_ret_inet_csk_accept', 'acq_accept4_exit', 'acq_accept_exit'];

/** run_cnt of every program a process holds (needs kernel.bpf_stats_enabled). */
function runCounts(pid: number): Map<string, number> {
  const ids = new Set(heldBy(pid).progs.map((p) => p.id));
  const all = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as any[];
  return new Map(all.filter((p) => ids.has(p.id)).map((p) => [p.name as string, Number(p.run_cnt ?? 0)]));
}

async function runCases(set: ProbeSet): Promise<void> {
  const aq = AcceptqJson.start(['--probe', set]);
  try {
    await aq.waitFor(() => true, 180000);
    for (const id of caseIds.filter((c) => c !== 'start')) {
      const def = KERNEL_CASES.find((c) => c.id === id)!;
      for (let round = 1; round <= rounds; round++) {
        log(`${set} ${id} round ${round}`);
        const before = runCounts(aq.proc.pid!);
        try {
          const r = await runCase(def, aq);
          const valid = r.checks.filter((c) => c.kind === 'setup').every((c) => c.ok);
          const after = runCounts(aq.proc.pid!);
          const runs: Record<string, number> = {};
          for (const [p, n] of after) if (n - (before.get(p) ?? 0) > 0) runs[p] = n - (before.get(p) ?? 0);
          const conns = Number(r.load.requests ?? 0);
          const extra: Record<string, unknown> = { kernel: r.kernel, acceptq: r.acceptq, runs };
          const total = Object.values(runs).reduce((s, n) => s + n, 0);
          if (conns > 0) extra.runsPerConnection = total / conns;
          // per connection accepted: a load generator's count leaves out the connections still in flight at its end
          const accepts = ACCEPT_PROGS.reduce((s, p) => s + (runs[p] ?? 0), 0);
          if (accepts > 0) extra.runsPerAccept = total / accepts;
          emit({
            kernel,
            set,
            case: id,
            round,
            status: r.exact ? (valid ? 'exact' : 'invalid') : 'not exact',
            detail: r.exact && valid ? describe(r) : `${describe(r)} || ${failures(r).join('; ')}`,
            extra,
          });
        } catch (e) {
          emit({ kernel, set, case: id, round, status: 'error', detail: firstLine(String(e)) });
        }
      }
    }
  } catch (e) {
    emit({ kernel, set, case: 'cases', status: 'error', detail: `acceptq --json did not start: ${firstLine(String(e))}` });
  } finally {
    cleanupAll();
    await aq.stop();
  }
}

async function main(): Promise<void> {
  process.once('exit', cleanupAll);
  try {
    fs.writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
  } catch {
    // run counts stay 0
  }
  for (const set of sets) {
    if (set === 'bpftrace') {
      log('bpftrace');
      try {
        const bt = await runBpftrace();
        if (bt.checks.length < 3) emit({ kernel, set, case: 'start', status: 'error', detail: firstLine(bt.output) });
        for (const c of bt.checks)
          emit({ kernel, set, case: c.scenario, status: c.seen === c.kernel ? 'exact' : 'not exact', detail: `${bt.script}: ${c.seen} against the kernel's ${c.kernel}` });
      } catch (e) {
        emit({ kernel, set, case: 'start', status: 'refused', detail: firstLine(String(e)) });
      }
      continue;
    }
    log(`${set}: --once`);
    const o = once(set);
    if (!o.ok) {
      emit({ kernel, set, case: 'once', status: 'refused', detail: o.detail });
      continue;
    }
    emit({ kernel, set, case: 'once', status: 'ok', detail: o.detail, extra: { chose: o.chose } });
    log(`${set}: --json`);
    const j = json(set);
    emit({ kernel, set, case: 'json', status: j.ok ? 'ok' : 'error', detail: j.detail, extra: { notice: j.notice } });
    log(`${set}: dashboard`);
    const d = await dashboard(set);
    emit({ kernel, set, case: 'dashboard', status: d.ok ? 'ok' : 'error', detail: d.detail });
    if (caseIds.some((c) => c !== 'start')) await runCases(set);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`cases: ${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
