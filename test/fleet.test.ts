// acceptq fleet over real parts: five simulated hosts (network namespaces
// made here, a veth each to the root namespace, an `acceptq export` each
// under a host name of its own), real overflows in each (the lab's scenarios;
// Debian's nginx under wrk and ab over the veth), a real Prometheus scraping
// them all. Every figure the fleet view shows of a host is checked against
// that host's namespace's kernel counters since its exporter started; the
// amounts differ from host to host, so a host's figures shown under another
// cannot pass. The first test checks the simulation itself (exporters and
// Prometheus), the rest `acceptq fleet` and `acceptq run --fleet`.
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { CLI } from '../harness/paths';
import { Cleanup, cleanupAll, type Counters } from '../harness/servers';
import { NGINX_PORT, SimulatedFleet, type FleetHost } from '../harness/fleet';
import { Tmux } from '../harness/tmux';
import { Prometheus, sample } from './support/prometheus';

const HOSTS = 5;
/** Rounds of staging and checking where timing could race. */
const ROUNDS = 3;

const cleanup = new Cleanup();
let fleet: SimulatedFleet;
let setupMs = 0;

test.before(async () => {
  const t0 = Date.now();
  process.once('exit', cleanupAll);
  fleet = SimulatedFleet.create(HOSTS, cleanup);
  await Promise.all(fleet.hosts.filter((h) => scenarioOf(h) === 'wrk' || scenarioOf(h) === 'ab').map((h) => h.startNginx()));
  await fleet.startExporters();
  await fleet.startPrometheus();
  await fleet.upInPrometheus();
  setupMs = Date.now() - t0;
});

test.after.always(() => {
  cleanup.run();
  cleanupAll();
});

// ---- staging ----

/** What overflows on each host: different mechanisms, so different amounts. */
const SCENARIOS = ['syn', 'reuseport', 'pace', 'wrk', 'ab'] as const;
const scenarioOf = (h: FleetHost) => SCENARIOS[h.index % SCENARIOS.length];

/** Stage overflows on every host at once; then abort the load generators' orphans. What each load did, by host. */
async function stage(): Promise<Map<FleetHost, string>> {
  const done = new Map<FleetHost, string>();
  const round = new Cleanup();
  try {
    await Promise.all(
      fleet.hosts.map(async (h) => {
        const sc = scenarioOf(h);
        if (sc === 'wrk') {
          const r = await h.wrk(round);
          done.set(h, `wrk: ${/(\d+) requests in/.exec(r.stdout)?.[1] ?? '?'} requests`);
        } else if (sc === 'ab') {
          const r = await h.ab(round);
          done.set(h, `ab: ${/Complete requests:\s+(\d+)/.exec(r.stdout)?.[1] ?? '?'} requests`);
        } else {
          const lab = await h.startLab(sc);
          done.set(h, `lab ${sc}: skDrops ${lab.listeners.map((l) => l.skDrops).join('+')}`);
        }
      }),
    );
  } finally {
    round.run();
  }
  for (const h of fleet.hosts) if (h.nginx) done.set(h, `${done.get(h)}, ${h.abortOrphans()} orphans aborted`);
  return done;
}

/**
 * Stage, let every host's counters hold still, and (with Prometheus) wait
 * until it has scraped every host after that. The kernel's deltas since
 * each exporter started, checked to be real and different per host (two
 * hosts' totals alike by chance: staged again, at most twice).
 */
async function stageAndSettle(t: ExecutionContext, viaPrometheus: boolean): Promise<Map<FleetHost, Counters>> {
  for (let attempt = 1; ; attempt++) {
    const loads = await stage();
    const settled = await fleet.settle();
    t.true(settled.stable, 'the kernel counters of every host held still');
    if (viaPrometheus) await fleet.scrapedAfter(settled.at);
    const deltas = new Map(fleet.hosts.map((h) => [h, h.delta()]));
    for (const h of fleet.hosts) {
      t.log(`${h.hostname} (${h.target}, netns ${h.inode}): ${loads.get(h)}; kernel ListenOverflows +${deltas.get(h)!.TcpExtListenOverflows} since its exporter started`);
      t.true(deltas.get(h)!.TcpExtListenOverflows > 0, `${h.hostname}: the kernel counted overflows`);
    }
    const amounts = fleet.hosts.map((h) => deltas.get(h)!.TcpExtListenOverflows);
    if (new Set(amounts).size < amounts.length && attempt < 3) continue;
    t.is(new Set(amounts).size, amounts.length, `each host overflowed a different amount (${amounts.join(', ')}), so a mix-up shows`);
    return deltas;
  }
}

// ---- acceptq fleet ----

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  records: any[];
}

/**
 * Run the CLI (bounded), its stdout's JSON lines parsed as they come;
 * onRecord sees each.
 */
function cli(args: string[], timeoutMs: number, onRecord?: (rec: any, proc: ChildProcess) => void): Promise<CliRun> {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: CliRun = { code: null, stdout: '', stderr: '', records: [] };
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  cleanup.add(() => proc.exitCode === null && proc.kill('SIGKILL'));
  proc.stderr!.on('data', (d) => (out.stderr += d));
  readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
    out.stdout += l + '\n';
    if (!l.startsWith('{')) return;
    try {
      const rec = JSON.parse(l);
      out.records.push(rec);
      onRecord?.(rec, proc);
    } catch {
      // not a record: left in stdout for the assertion that reads it
    }
  });
  return new Promise((resolve) => {
    proc.once('close', (code) => {
      clearTimeout(timer);
      out.code = code;
      resolve(out);
    });
  });
}

type Source = 'prometheus' | 'targets';
const sourceArgs = (source: Source) =>
  source === 'prometheus' ? ['--prometheus', `http://127.0.0.1:${fleet.prometheus!.port}`, '--selector', 'job="acceptq"'] : ['--targets', fleet.targets];

const hostEntry = (rec: any, h: FleetHost) => (rec.hosts ?? []).find((x: any) => x.host === h.target);
const rowsOf = (rec: any, h: FleetHost) => (rec.listeners ?? []).filter((l: any) => l.host === h.target && Number(l.netns) === h.inode);
const nsOf = (rec: any, h: FleetHost) => (rec.namespaces ?? []).find((n: any) => n.host === h.target && Number(n.netns) === h.inode);
const sumOf = (rows: any[], f: string) => rows.reduce((s, r) => s + (Number(r[f]) || 0), 0);

/** A fleet record against the kernel: every host there and up, named, its figures its namespace's. */
function checkRecord(t: ExecutionContext, rec: any, source: Source, deltas: Map<FleetHost, Counters>): string[] {
  const tallies: string[] = [];
  t.is(rec.source, source);
  t.is(rec.hosts?.length, HOSTS, 'hosts[] has every host');
  for (const h of fleet.hosts) {
    const he = hostEntry(rec, h);
    const kernel = deltas.get(h)!.TcpExtListenOverflows;
    t.truthy(he, `${h.target} in hosts[]`);
    t.is(he?.up, true, `${h.target} up`);
    t.is(he?.error, null, `${h.target}: no error`);
    t.truthy(he?.lastSeen && Date.parse(he.lastSeen) >= h.startedAt, `${h.target}: lastSeen since its exporter started`);
    t.is(he?.hostname, h.hostname, `${h.target}: the host name acceptq_host_info gives`);
    const rows = rowsOf(rec, h);
    const ns = nsOf(rec, h);
    t.is(sumOf(rows, 'overflows'), kernel, `${h.hostname}: its listeners' overflows = its namespace's kernel ListenOverflows delta`);
    t.is(sumOf(rows, 'overflowsSyn') + sumOf(rows, 'overflowsAck'), kernel, `${h.hostname}: overflowsSyn + overflowsAck = kernel delta`);
    t.truthy(ns, `${h.hostname}: its namespace row`);
    t.is(ns?.listenOverflows, kernel, `${h.hostname}: namespace listenOverflows = kernel delta`);
    if (fleet.exporterNetns) {
      // each exporter reports its own namespace alone: everything under the host is of it
      const mine = (x: any) => x.host !== h.target || Number(x.netns) === h.inode;
      t.true(rec.listeners.every(mine) && rec.namespaces.every(mine), `${h.hostname}: only its own namespace`);
    }
    tallies.push(`${h.hostname} kernel ${kernel} rows ${sumOf(rows, 'overflows')} ns ${ns?.listenOverflows}`);
  }
  return tallies;
}

async function exactRounds(t: ExecutionContext, source: Source): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    const deltas = await stageAndSettle(t, source === 'prometheus');
    const r = await cli(['fleet', ...sourceArgs(source), '--json', '--duration', '3'], 30000);
    t.is(r.code, 0, `fleet --json exits 0: ${r.stderr}`);
    t.true(r.records.length >= 2, `records each interval (${r.records.length})`);
    const last = r.records.at(-1);
    if (!last) return;
    t.log(`round ${round} (${source}): ${checkRecord(t, last, source, deltas).join('; ')}`);
  }
  // the table: every host named
  const once = await cli(['fleet', ...sourceArgs(source), '--once'], 30000);
  t.is(once.code, 0, `fleet --once exits 0: ${once.stderr}`);
  for (const h of fleet.hosts) t.true(once.stdout.includes(h.target) || once.stdout.includes(h.hostname), `--once names ${h.target}`);
}

// ---- the simulation itself ----

test.serial('harness: 5 hosts, each its own exporter, host name and namespace, scraped by Prometheus; figures = the kernel\'s', async (t) => {
  t.timeout(90000);
  const p = fleet.prometheus!;
  // a scrape can time out while five exporters and nginx start on two cores: every host answers within 20 s
  let up = await p.query('up{job="acceptq"}');
  try {
    up = await p.until('every target up', async () => {
      const now = await p.query('up{job="acceptq"}');
      return now.length === fleet.hosts.length && now.every((r) => r.value[1] === '1') ? now : undefined;
    });
  } catch {
    t.log(`up: ${JSON.stringify(up.map((r) => [r.metric.instance, r.value[1]]))}`);
  }
  t.deepEqual(up.map((r) => r.metric.instance).sort(), fleet.hosts.map((h) => h.target).sort(), 'Prometheus scrapes every host');
  t.true(up.every((r) => r.value[1] === '1'), 'every target up');
  const info = await p.query('acceptq_host_info{job="acceptq"}');
  for (const h of fleet.hosts) {
    t.deepEqual(info.filter((r) => r.metric.instance === h.target).map((r) => r.metric.hostname), [h.hostname], `${h.target}: acceptq_host_info hostname`);
  }
  const deltas = await stageAndSettle(t, true);
  for (const h of fleet.hosts) {
    const kernel = deltas.get(h)!.TcpExtListenOverflows;
    const body = await h.exporter!.scrape();
    t.is(sample(body, 'acceptq_host_info', { hostname: h.hostname }), 1, `${h.hostname}: its exporter's host name`);
    t.is(sample(body, 'acceptq_namespace_listen_overflows_total', { netns: h.inode }), kernel, `${h.hostname}: exporter namespace overflows = kernel delta`);
    t.is(sample(body, 'acceptq_listen_overflows_total', { netns: h.inode }), kernel, `${h.hostname}: exporter listeners' overflows = kernel delta`);
    const sel = `instance="${h.target}",netns="${h.inode}"`;
    const ns = await p.query(`acceptq_namespace_listen_overflows_total{${sel}}`);
    const rows = await p.query(`sum(acceptq_listen_overflows_total{${sel}})`);
    t.is(Number(ns[0]?.value[1]), kernel, `${h.hostname}: Prometheus's namespace overflows = kernel delta`);
    t.is(Number(rows[0]?.value[1]), kernel, `${h.hostname}: Prometheus's sum of listener overflows = kernel delta`);
    if (fleet.exporterNetns) {
      const other = await p.query(`count(acceptq_namespace_listen_overflows_total{instance="${h.target}",netns!="${h.inode}"})`);
      t.is(other.length, 0, `${h.hostname}: its exporter reports its own namespace alone`);
    }
    t.log(`${h.hostname}: kernel ${kernel}, Prometheus namespace ${ns[0]?.value[1]}, listeners ${rows[0]?.value[1]}`);
  }
  t.log(`exporters ${fleet.exporterNetns ? 'with' : 'without'} --netns; setup (namespaces, nginx, exporters, Prometheus) ${(setupMs / 1000).toFixed(1)} s`);
});

// ---- acceptq fleet ----

test.serial('fleet through Prometheus: every host up and named, each host\'s figures its namespace\'s kernel counts', async (t) => {
  t.timeout(150000);
  await exactRounds(t, 'prometheus');
});

test.serial('fleet through --targets: every host up and named, each host\'s figures its namespace\'s kernel counts', async (t) => {
  t.timeout(150000);
  await exactRounds(t, 'targets');
});

/** A host's exporter killed while `fleet --json` runs: it shows down, last seen, its rows kept; the rest stay up. */
async function hostDown(t: ExecutionContext, source: Source, victim: FleetHost): Promise<void> {
  try {
    await hostDownChecks(t, source, victim);
  } finally {
    // the host comes back for the tests after
    if (victim.exporter?.gone) {
      await victim.startExporter(fleet.exporterNetns);
      await fleet.upInPrometheus([victim]);
    }
  }
}

async function hostDownChecks(t: ExecutionContext, source: Source, victim: FleetHost): Promise<void> {
  let killedAt = 0;
  let killing: Promise<void> | null = null;
  const r = await cli(['fleet', ...sourceArgs(source), '--json', '--duration', '10'], 40000, (rec) => {
    if (!killing && fleet.hosts.every((h) => hostEntry(rec, h)?.up === true) && rowsOf(rec, victim).length > 0) {
      killedAt = Date.now();
      killing = victim.killExporter();
    }
  });
  await killing;
  t.is(r.code, 0, `fleet exits 0: ${r.stderr}`);
  t.true(killedAt > 0, 'a record showed every host up before the kill');
  const before = r.records.filter((rec) => Date.parse(rec.time) < killedAt).at(-1);
  const last = r.records.at(-1);
  const after = r.records.filter((rec) => Date.parse(rec.time) > killedAt + 3000);
  t.true(after.length >= 2, `records well after the kill (${after.length})`);
  for (const rec of after) {
    const he = hostEntry(rec, victim);
    t.is(he?.up, false, `${rec.time}: ${victim.target} down`);
    t.truthy(he?.lastSeen, `${rec.time}: lastSeen set`);
    t.true(Date.parse(he?.lastSeen) >= victim.startedAt && Date.parse(he?.lastSeen) <= killedAt + 1500, `${rec.time}: lastSeen (${he?.lastSeen}) before the kill`);
    t.true(typeof he?.error === 'string' && he.error.length > 0, `${rec.time}: why it is down`);
    for (const h of fleet.hosts.filter((x) => x !== victim)) t.is(hostEntry(rec, h)?.up, true, `${rec.time}: ${h.target} stays up`);
  }
  // its rows stay, with the figures last seen
  const kept = rowsOf(last, victim);
  t.true(kept.length > 0 && kept.length === rowsOf(before, victim).length, `${victim.target}: its rows kept (${kept.length})`);
  t.is(sumOf(kept, 'overflows'), sumOf(rowsOf(before, victim), 'overflows'), `${victim.target}: its last figures`);
  t.is(sumOf(kept, 'overflows'), victim.delta().TcpExtListenOverflows, `${victim.target}: the last figures = the kernel's delta until it went down`);
  t.is(nsOf(last, victim)?.listenOverflows, victim.delta().TcpExtListenOverflows, `${victim.target}: its namespace row kept`);
  t.log(`${source}: ${victim.hostname} killed; last record: up ${hostEntry(last, victim)?.up}, lastSeen ${hostEntry(last, victim)?.lastSeen}, error ${JSON.stringify(hostEntry(last, victim)?.error)}, ${kept.length} rows, ${sumOf(kept, 'overflows')} overflows`);
}

test.serial('fleet: a host killed mid-run shows down with lastSeen and keeps its rows; the others stay up (Prometheus and targets)', async (t) => {
  t.timeout(150000);
  // overflows to keep: the victims have figures to show while down
  await stageAndSettle(t, true);
  await hostDown(t, 'prometheus', fleet.hosts[1]);
  await hostDown(t, 'targets', fleet.hosts[2]);
});

// ---- the dashboard ----

/** Hosts up and all, from the header: "4/5 up", "4/5 hosts up" or "4 up, 1 down". */
function upCount(screen: string): { up: number; total: number } | null {
  const head = screen.split('\n').slice(0, 6).join('\n');
  const a = /(\d+)\s*\/\s*(\d+)\s+(?:hosts?\s+)?up/i.exec(head);
  if (a) return { up: Number(a[1]), total: Number(a[2]) };
  const b = /(\d+)\s+(?:hosts?\s+)?up\b(?:\W+(\d+)\s+down)?/i.exec(head);
  return b ? { up: Number(b[1]), total: Number(b[1]) + Number(b[2] ?? 0) } : null;
}
const names = (h: FleetHost, s: string) => s.includes(h.hostname) || s.includes(h.target);

test.serial('fleet dashboard: HOST column, hosts up in the header, a killed host down, the detail view names the host', async (t) => {
  t.timeout(120000);
  const tm = Tmux.start(`acceptq-fleet-${process.pid}`, `${process.execPath} ${CLI} fleet --targets ${fleet.targets} --interval 1; echo EXIT=$?; sleep 60`, 160, 45, {
    LANG: 'C.UTF-8',
    TERM: 'xterm-256color',
  });
  t.teardown(() => tm.kill());
  const victim = fleet.hosts[0];
  // the host comes back for the tests after, whatever happens here
  t.teardown(async () => {
    if (victim.exporter?.gone) {
      await victim.startExporter(fleet.exporterNetns);
      await fleet.upInPrometheus([victim]);
    }
  });
  let screen = await tm.waitFor((s) => /\bHOST\b/.test(s) && upCount(s)?.up === HOSTS, 30000);
  t.deepEqual(upCount(screen), { up: HOSTS, total: HOSTS }, 'header: every host up');
  t.true(fleet.hosts.some((h) => screen.split('\n').some((l) => /\bLISTEN\b|\bHOST\b/.test(l) === false && names(h, l))), 'rows name their host');

  await victim.killExporter();
  screen = await tm.waitFor((s) => upCount(s)?.up === HOSTS - 1, 20000);
  t.deepEqual(upCount(screen), { up: HOSTS - 1, total: HOSTS }, 'header: one host down');
  t.true(screen.split('\n').some((l) => names(victim, l) && /down/i.test(l)), `${victim.hostname} shown down`);

  // the detail view of one of a host's listeners names it
  const h = fleet.hosts[3];
  tm.keys('/');
  tm.literal(h.addr);
  tm.keys('Enter');
  await tm.waitFor((s) => s.split('\n').some((l) => l.includes(`${h.addr}:${NGINX_PORT}`)), 10000);
  tm.keys('g'); // the first row the filter left
  await new Promise((r) => setTimeout(r, 300));
  tm.keys('Enter');
  screen = await tm.waitFor((s) => s.includes('listener detail'), 10000);
  const detail = screen.split('\n').slice(screen.split('\n').findIndex((l) => l.includes('listener detail'))).join('\n');
  if (fleet.exporterNetns) t.true(names(h, detail), `the detail view names ${h.hostname}:\n${screen}`);
  else t.true(fleet.hosts.some((x) => names(x, detail)), `the detail view names a host:\n${screen}`);
  tm.keys('Escape');
  tm.keys('q');
  screen = await tm.waitFor((s) => s.includes('EXIT='), 10000);
  t.regex(screen, /EXIT=0/);
});

// ---- acceptq run --fleet ----

/**
 * A bounded load from the root namespace at a host's nginx, as the command
 * `acceptq run --fleet` watches: wrk, then its orphans aborted, then a wait
 * (bounded) until the namespace's ListenOverflows held still 1.5 s, so that
 * the run ends with the kernel's count final; exits with `status`.
 */
function loadCommand(h: FleetHost, status: number): string[] {
  const lo = `ip netns exec ${h.ns.name} awk '/^TcpExt:/ { if (!n) { split($0, n) } else { for (i in n) if (n[i] == "ListenOverflows") print $i } }' /proc/net/netstat`;
  return [
    'bash',
    '-c',
    `ulimit -n 16384; wrk -t 1 -c 800 -d 3s --timeout 2s ${h.nginxUrl} >/dev/null || exit 1; ${h.abortOrphansCommand}; ` +
      `prev=; same=0; for i in $(seq 80); do cur=$(${lo}); if [ "$cur" = "$prev" ]; then same=$((same + 1)); [ $same -ge 6 ] && break; else same=0; prev=$cur; fi; sleep 0.25; done; exit ${status}`,
  ];
}

test.serial('run --fleet -- a bounded load: the summary names host and listener, figures = the kernel\'s delta over the run; exit status', async (t) => {
  t.timeout(150000);
  const h = fleet.hosts.find((x) => x.nginx)!;
  for (let round = 1; round <= 2; round++) {
    t.true((await fleet.settle()).stable, 'every host held still before the run');
    const before = new Map(fleet.hosts.map((x) => [x, x.netstat().TcpExtListenOverflows]));
    const r = await cli(['run', '--fleet', '--json', '--targets', fleet.targets, '--', ...loadCommand(h, 5)], 60000);
    const kernel = new Map(fleet.hosts.map((x) => [x, x.netstat().TcpExtListenOverflows - before.get(x)!]));
    t.is(r.code, 5, `exit status is the command's: ${r.stderr}`);
    t.true(kernel.get(h)! > 0, `${h.hostname}: the kernel counted overflows during the run`);
    const sum = r.records.at(-1);
    t.truthy(sum, `a JSON summary: ${r.stdout.slice(0, 300)}`);
    for (const x of fleet.hosts) {
      const rows = (sum?.listeners ?? []).filter((l: any) => l.host === x.target && Number(l.netns) === x.inode);
      t.is(sumOf(rows, 'overflows'), kernel.get(x)!, `${x.hostname}: the summary's overflows = the kernel's delta over the run`);
    }
    const row = (sum?.listeners ?? []).find((l: any) => l.host === h.target && l.address === h.addr && l.port === NGINX_PORT);
    t.truthy(row, `the summary has ${h.target}'s ${h.addr}:${NGINX_PORT}`);
    t.log(`round ${round}: ${h.hostname} kernel +${kernel.get(h)} during the run, summary ${sumOf((sum?.listeners ?? []).filter((l: any) => l.host === h.target), 'overflows')} (${row?.address}:${row?.port} ${row?.overflows})`);
  }
  const text = await cli(['run', '--fleet', '--fail-on-overflow', '--targets', fleet.targets, '--', ...loadCommand(h, 0)], 60000);
  t.is(text.code, 3, `--fail-on-overflow: 3 when anything overflowed: ${text.stderr}`);
  const line = text.stdout.split('\n').find((l) => l.includes(`${h.addr}:${NGINX_PORT}`));
  t.truthy(line, `the summary names the listener:\n${text.stdout}`);
  t.true(names(h, text.stdout), `the summary names the host:\n${text.stdout}`);
  const quiet = await cli(['run', '--fleet', '--fail-on-overflow', '--targets', fleet.targets, '--', 'sh', '-c', 'sleep 1; exit 4'], 60000);
  t.is(quiet.code, 4, `nothing overflowed during the run: the command's status: ${quiet.stderr}`);
});

/**
 * A host's exporter restarted while `run --fleet` watches (its counters
 * start again from 0): the summary's overflows for it are still the kernel's
 * delta over the whole run, load before the restart and after it (no load
 * while it is down: what happens then is in no exporter's count). Through
 * --targets and through Prometheus (where the restart is told by
 * acceptq_start_time_seconds beside each counter's query).
 */
test.serial('run --fleet across an exporter restart: counts go on, = the kernel\'s delta over the run (targets and Prometheus)', async (t) => {
  t.timeout(240000);
  const h = fleet.hosts.find((x) => scenarioOf(x) === 'wrk')!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-fleet-restart-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const source of ['targets', 'prometheus'] as const) {
    const started = path.join(dir, `${source}.started`);
    const end = path.join(dir, `${source}.end`);
    t.true((await fleet.settle()).stable, 'every host held still before the run');
    const before = new Map(fleet.hosts.map((x) => [x, x.netstat().TcpExtListenOverflows]));
    // the command: says it started, then waits (bounded) for the test to end it
    const running = cli(['run', '--fleet', '--json', ...sourceArgs(source), '--', 'sh', '-c',
      `touch ${started}; for i in $(seq 1200); do [ -e ${end} ] && exit 0; sleep 0.1; done; exit 1`], 180000);
    for (let i = 0; i < 300 && !fs.existsSync(started); i++) await new Promise((r) => setTimeout(r, 100));
    t.true(fs.existsSync(started), 'the command started');
    /** Load on h, the orphans aborted, the counters still, and the fleet's polls since (Prometheus: a scrape after). */
    const load = async () => {
      const round = new Cleanup();
      try {
        await h.wrk(round);
      } finally {
        round.run();
      }
      h.abortOrphans();
      const settled = await fleet.settle([h]);
      t.true(settled.stable, `${h.hostname}'s counters held still after the load`);
      if (source === 'prometheus') await fleet.scrapedAfter(settled.at, [h]);
      await new Promise((r) => setTimeout(r, 1500)); // the run polls every 0.5 s
    };
    await load();
    const first = h.netstat().TcpExtListenOverflows - before.get(h)!;
    await h.killExporter();
    await new Promise((r) => setTimeout(r, 1500));
    await h.startExporter(fleet.exporterNetns);
    if (source === 'prometheus') await fleet.upInPrometheus([h]);
    await load();
    fs.writeFileSync(end, '');
    const r = await running;
    t.is(r.code, 0, `run exits with the command's status: ${r.stderr}`);
    const sum = r.records.at(-1);
    const kernel = h.netstat().TcpExtListenOverflows - before.get(h)!;
    t.true(first > 0 && kernel > first, `${h.hostname}: the kernel counted overflows before the restart (${first}) and after (${kernel - first})`);
    const rows = (sum?.listeners ?? []).filter((l: any) => l.host === h.target && Number(l.netns) === h.inode);
    t.is(sumOf(rows, 'overflows'), kernel, `${source}: ${h.hostname}'s overflows over the run = the kernel's delta, across the restart`);
    for (const x of fleet.hosts.filter((y) => y !== h)) {
      const other = (sum?.listeners ?? []).filter((l: any) => l.host === x.target);
      t.is(sumOf(other, 'overflows'), x.netstat().TcpExtListenOverflows - before.get(x)!, `${source}: ${x.hostname} unmoved`);
    }
    const downs = (sum?.hostsDown ?? []).map((d: any) => d.host);
    t.deepEqual(downs, [h.target], `${source}: the restarted host was down during the run`);
    const entry = (sum?.hostsDown ?? [])[0];
    t.is(entry?.up, true, `${source}: up at the end of the run`);
    t.is(entry?.restarts, 1, `${source}: one restart seen`);
    t.true(Date.parse(entry?.started) >= h.startedAt - 10000 && Date.parse(entry?.started) <= h.startedAt, `${source}: started (${entry?.started}) is the new exporter's`);
    t.log(`${source}: ${h.hostname} kernel +${first} before the restart, +${kernel - first} after; summary ${sumOf(rows, 'overflows')}`);
  }
});

/**
 * Two jobs of one Prometheus scraping the same exporters (a migration, a
 * second scrape config): through the default job selection (every job that
 * exports acceptq's metrics), each host is one host, up, its figures its
 * namespace's kernel counts, not twice them.
 */
test.serial('fleet through a Prometheus whose two jobs scrape the same exporters: each host once, its figures not doubled', async (t) => {
  t.timeout(120000);
  const targets = fleet.hosts.map((h) => h.target);
  const twice = await Prometheus.start(targets, [], ['acceptq', 'acceptq-again'].map((job) => ({ job_name: job, static_configs: [{ targets }] })));
  t.teardown(() => twice.stop());
  const deltas = await stageAndSettle(t, true);
  const settledAt = Date.now();
  await twice.until('both jobs scraped every host after the counters held still', async () => {
    const ts = await twice.targets();
    return ts.length === 2 * HOSTS && ts.every((x) => x.health === 'up' && Date.parse(x.lastScrape) > settledAt) ? ts : undefined;
  }, 30000);
  const r = await cli(['fleet', '--prometheus', `http://127.0.0.1:${twice.port}`, '--json', '--duration', '3'], 30000);
  t.is(r.code, 0, `fleet --json exits 0: ${r.stderr}`);
  const last = r.records.at(-1);
  if (!last) return t.fail('no record');
  t.deepEqual(last.hosts.map((h: any) => h.host).sort(), [...targets].sort(), 'each host once');
  t.log(`two jobs: ${checkRecord(t, last, 'prometheus', deltas).join('; ')}`);
});
