/**
 * scripts/bench-fleet: `acceptq fleet` at scale. A synthetic fleet
 * (fleet-hosts.ts: N hosts on loopback, each serving the exporter's own
 * renderMetrics() of M listeners whose counters move) scraped every second
 * by Debian's prometheus (storage in a temp dir, its life bounded by
 * timeout(1)); then the real fleet dashboard (dist/app/cli.js fleet, as the
 * launchers run it) in tmux 160x50, every 1 s, for each case:
 *
 *   --prometheus URL --selector ...   at each size (10 and 200 hosts by default)
 *   --targets HOST:PORT,...           at the same sizes: one GET a host a tick
 *
 * the cases in rounds, each round in a rotated order (a shared machine's
 * speed drifts). For each: the frame (its tick to blessed's write) and the
 * poll before it (prepareMs: the HTTP requests and their answers' parsing,
 * between frames), from the dashboard's frame log (ACCEPTQ_FRAME_LOG); the
 * requests a tick sent, counted by the server side (Prometheus's own
 * prometheus_http_requests_total of its query handlers, or the fleet's
 * hosts, by User-Agent) over a whole number of ticks, and by the dashboard;
 * its RSS and CPU; Prometheus's and the hosts' CPU beside it.
 *
 *   node dist/scripts/bench.d/fleet.js [--hosts 200] [--listeners 50] [--sizes 10,200] [--rounds 2] [--frames 15] [--buckets] [--print]
 *
 * Writes bench/fleet.json and the Fleet table of BENCHMARKS.md (--print:
 * prints the table and the JSON only). It reports; it does not fail on a target.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { freePort } from '../../harness/proc';
import { parseExposition } from '../../src/fleet/exposition';
import {
  FLEET_CLI_COMMAND,
  Lines,
  ROOT,
  cpuSeconds,
  installSignalCleanup,
  machine,
  median,
  now,
  percentile,
  round,
  runMain,
  sleep,
  statusField,
  tmux,
  tmuxScratch,
  track,
} from './common';

const WIDTH = 160;
const HEIGHT = 50;
const TERM = 'xterm-256color';
const JOB = 'acceptq-bench';
const HOST_PORT = 9877;
/** The frame the issue asks for at 10,000 rows. */
const FRAME_TARGET_MS = 50;
/**
 * The dashboard's request time limit (--timeout; by default the interval,
 * 1 s): a poll that takes longer is then measured, not cut off.
 */
const POLL_TIMEOUT_S = 30;
/** fleet-hosts.js's addresses: 127.0.1.1 to 127.0.1.254. */
const MAX_HOSTS = 254;

const started = now();
const log = (s: string) => process.stderr.write(`bench-fleet: [${Math.round((now() - started) / 1000)} s] ${s}\n`);

function get(url: string, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}


// ---- the fleet and its Prometheus ----

interface Fleet {
  hosts: string[];
  pid: number;
  /** Requests the hosts served so far, by client. */
  requests(): Promise<{ prometheus: number; fleet: number; other: number }>;
}

async function startFleet(hosts: number, listeners: number, buckets: boolean, durationS: number): Promise<Fleet> {
  const p = track(process.execPath, [path.join(__dirname, 'fleet-hosts.js'), '--hosts', String(hosts), '--listeners', String(listeners), '--port', String(HOST_PORT),
    '--duration', String(durationS), ...(buckets ? ['--buckets'] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new Lines(p);
  const info = JSON.parse((await out.waitFor((l) => l.startsWith('{'), 30000)).line);
  const first = info.hosts[0] as string;
  return { hosts: info.hosts, pid: info.pid, requests: async () => JSON.parse(await get(`http://${first}/-/requests`)) };
}

interface Prom {
  url: string;
  pid: number;
  version: string;
  /** Requests Prometheus's query API answered so far (instant and range queries), by its own count. */
  queryRequests(): Promise<number>;
  query(q: string): Promise<any[]>;
}

/** The pid of a process's only child (prometheus under timeout(1)). */
function childOf(pid: number): number {
  const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  if (kids.length !== 1) throw new Error(`expected one child of ${pid}, found ${kids.length}`);
  return kids[0];
}

async function startPrometheus(targets: string[], lifeS: number): Promise<Prom> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-bench-prometheus-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'prometheus.yml');
  // JSON is YAML
  fs.writeFileSync(config, JSON.stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: [{ job_name: JOB, static_configs: [{ targets }] }],
  }));
  const port = await freePort();
  const p = track('timeout', ['--signal=TERM', '--kill-after=10', String(lifeS), 'prometheus', `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    '--storage.tsdb.retention.time=1h', `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Lines(p);
  const url = `http://127.0.0.1:${port}`;
  const deadline = now() + 60000;
  for (;;) {
    if (p.exitCode !== null) throw new Error(`prometheus exited (${p.exitCode}): ${out.stderr}`);
    if (await get(`${url}/-/ready`, 2000).then(() => true, () => false)) break;
    if (now() > deadline) throw new Error(`prometheus not ready within 60 s: ${out.stderr}`);
    await sleep(200);
  }
  const query = async (q: string) => JSON.parse(await get(`${url}/api/v1/query?${new URLSearchParams({ query: q })}`)).data.result as any[];
  const queryRequests = async () => parseExposition(await get(`${url}/metrics`))
    .filter((s) => s.name === 'prometheus_http_requests_total' && /^\/api\/v1\/query/.test(s.labels.handler ?? ''))
    .reduce((a, s) => a + s.value, 0);
  const version = execFileSync('prometheus', ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
  return { url, pid: childOf(p.pid!), version, query, queryRequests };
}

// ---- one case: the fleet dashboard in tmux ----

interface Case {
  source: 'prometheus' | 'targets';
  hosts: number;
}
const caseName = (c: Case) => `${c.source} ${c.hosts}`;

interface FrameLine {
  cause: string;
  listeners: number;
  rows: number;
  frameMs: number;
  prepareMs?: number;
  requests?: number;
  nextMs: number;
  ingestMs: number;
  sortMs: number;
  filterMs: number;
  panels: Record<string, number>;
  renderMs: number;
  writeMs: number;
}

function ticksOf(file: string): FrameLine[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as FrameLine).filter((f) => f.cause === 'tick');
}

interface Measured {
  frames: FrameLine[];
  /** Requests over whole ticks, counted by the server side. */
  serverRequests: number;
  ticks: number;
  rssKb: number[];
  peakRssKb: number;
  rssAnonKb: number;
  cpuPercent: number;
  prometheusCpuPercent: number;
  hostsCpuPercent: number;
  firstFullFrameS: number;
}

/** A selector for the first n hosts (all of them: the job alone). */
function selectorFor(fleet: Fleet, n: number): string {
  return n >= fleet.hosts.length ? `job="${JOB}"` : `job="${JOB}",instance=~"${fleet.hosts.slice(0, n).join('|')}"`;
}

async function runCase(c: Case, fleet: Fleet, prom: Prom, listeners: number, frames: number): Promise<Measured> {
  const { session, dir, kill } = tmuxScratch(`fleet-${c.source}-${c.hosts}`);
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, 'frames');
  fs.writeFileSync(file, '', { mode: 0o666 });
  fs.chmodSync(file, 0o666);
  const rows = c.hosts * listeners;
  const source = c.source === 'prometheus' ? `--prometheus ${prom.url} --selector '${selectorFor(fleet, c.hosts)}'` : `--targets ${fleet.hosts.slice(0, c.hosts).join(',')}`;
  const duration = 300 + frames * 30;
  const t0 = now();
  tmux('new-session', '-d', '-s', session, '-x', String(WIDTH), '-y', String(HEIGHT),
    `exec env TERM=${TERM} LANG=C.UTF-8 ACCEPTQ_FRAME_LOG=${file} ${FLEET_CLI_COMMAND} fleet ${source} --interval 1 --timeout ${POLL_TIMEOUT_S} --duration ${duration}`);
  const pid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
  const screen = () => {
    try {
      return tmux('capture-pane', '-p', '-t', session);
    } catch {
      return '(the session is gone)';
    }
  };
  const alive = () => fs.existsSync(`/proc/${pid}`);
  try {
    // every row in a frame, then three more (each row's rates need two scrapes)
    const deadline = now() + 180000;
    let first = -1;
    for (;;) {
      const t = ticksOf(file);
      if (first < 0) first = t.findIndex((f) => f.listeners >= rows);
      if (first >= 0 && t.length >= first + 4) break;
      if (now() > deadline) throw new Error(`${caseName(c)}: the dashboard showed ${t[t.length - 1]?.listeners ?? 0} of ${rows} rows within 180 s: ${screen()}`);
      if (!alive()) throw new Error(`${caseName(c)}: the dashboard is not running`);
      await sleep(50);
    }
    const firstFullFrameS = round((now() - t0) / 1000, 1);
    // from just after a tick's frame: the next poll starts a second later, so the
    // server-side counts read now and just after the last frame span whole ticks
    const from = ticksOf(file).length;
    const waitTick = async (n: number, boundMs: number) => {
      const until = now() + boundMs;
      while (ticksOf(file).length < n) {
        if (now() > until) throw new Error(`${caseName(c)}: tick ${n} not within ${boundMs / 1000} s`);
        await sleep(10);
      }
    };
    await waitTick(from + 1, (POLL_TIMEOUT_S + 2) * 1000);
    const serverCount = async () => (c.source === 'prometheus' ? prom.queryRequests() : (await fleet.requests()).fleet);
    const r0 = await serverCount();
    const c0 = { self: cpuSeconds(pid), prom: cpuSeconds(prom.pid), hosts: cpuSeconds(fleet.pid), t: now() };
    const start = ticksOf(file).length;
    const rss: number[] = [];
    const until = now() + frames * (POLL_TIMEOUT_S + 2) * 1000;
    while (ticksOf(file).length < start + frames) {
      if (now() > until) throw new Error(`${caseName(c)}: only ${ticksOf(file).length - start} of ${frames} frames within ${frames * (POLL_TIMEOUT_S + 2)} s`);
      rss.push(statusField(pid, 'VmRSS'));
      await sleep(20);
    }
    const r1 = await serverCount();
    const elapsed = (now() - c0.t) / 1000;
    const cpu = (p: number, before: number) => round((100 * (cpuSeconds(p) - before)) / elapsed, 1);
    const m: Measured = {
      frames: ticksOf(file).slice(start, start + frames),
      serverRequests: r1 - r0,
      ticks: frames,
      rssKb: rss,
      peakRssKb: statusField(pid, 'VmHWM'),
      rssAnonKb: statusField(pid, 'RssAnon'),
      cpuPercent: cpu(pid, c0.self),
      prometheusCpuPercent: cpu(prom.pid, c0.prom),
      hostsCpuPercent: cpu(fleet.pid, c0.hosts),
      firstFullFrameS,
    };
    tmux('send-keys', '-t', session, 'q');
    const gone = now() + 5000;
    while (alive() && now() < gone) await sleep(50);
    return m;
  } finally {
    kill();
    const gone = now() + 5000;
    while (alive() && now() < gone) await sleep(50);
  }
}

// ---- figures ----

const stat = (xs: number[]) => ({ medianMs: round(median(xs), 2), p90Ms: round(percentile(xs, 90), 2), minMs: round(Math.min(...xs), 2), maxMs: round(Math.max(...xs), 2) });

function summary(c: Case, ms: Measured[], listeners: number) {
  const frames = ms.flatMap((m) => m.frames);
  const col = (k: keyof FrameLine) => frames.map((f) => (f[k] as number | undefined) ?? 0);
  const med = (k: keyof FrameLine) => round(median(col(k)), 2);
  const ticks = ms.reduce((a, m) => a + m.ticks, 0);
  const requests = frames.map((f) => f.requests ?? NaN);
  const rss = ms.flatMap((m) => m.rssKb);
  return {
    source: c.source,
    hosts: c.hosts,
    listenersPerHost: listeners,
    rows: frames[frames.length - 1]?.listeners ?? 0,
    rounds: ms.length,
    frames: frames.length,
    frame: { ...stat(col('frameMs')), roundMediansMs: ms.map((m) => round(median(m.frames.map((f) => f.frameMs)), 2)) },
    prepare: { ...stat(col('prepareMs')), roundMediansMs: ms.map((m) => round(median(m.frames.map((f) => f.prepareMs ?? 0)), 2)) },
    parts: {
      nextMs: med('nextMs'), ingestMs: med('ingestMs'), sortMs: med('sortMs'), filterMs: med('filterMs'),
      panelsMs: Object.fromEntries(['header', 'gauges', 'spark', 'table'].map((p) => [p, round(median(frames.map((f) => f.panels[p] ?? 0)), 2)])),
      renderMs: med('renderMs'), writeMs: med('writeMs'),
    },
    requestsPerTick: {
      // the server side's count over whole ticks
      server: round(ms.reduce((a, m) => a + m.serverRequests, 0) / ticks, 2),
      serverBy: c.source === 'prometheus' ? "Prometheus's prometheus_http_requests_total{handler=~\"/api/v1/query.*\"}" : "the hosts' count of GET /metrics from acceptq-fleet",
      // the dashboard's own count, each tick
      dashboardMin: Math.min(...requests),
      dashboardMax: Math.max(...requests),
    },
    memory: { rssMedianKb: median(rss), rssMaxKb: Math.max(...rss), peakRssKb: Math.max(...ms.map((m) => m.peakRssKb)), rssAnonKb: Math.max(...ms.map((m) => m.rssAnonKb)) },
    cpuPercent: { dashboard: round(median(ms.map((m) => m.cpuPercent)), 1), prometheus: round(median(ms.map((m) => m.prometheusCpuPercent)), 1), hosts: round(median(ms.map((m) => m.hostsCpuPercent)), 1) },
    firstFullFrameS: round(median(ms.map((m) => m.firstFullFrameS)), 1),
    samples: { frameMs: col('frameMs'), prepareMs: col('prepareMs'), requests },
  };
}
type Summary = ReturnType<typeof summary>;


const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const mb = (kb: number) => round(kb / 1024, 1);

/** Whether two rounds' medians are close enough to decide on (within 25 % of each other). */
const spreadOf = (xs: number[]) => (xs.length > 1 && Math.min(...xs) > 0 ? round(Math.max(...xs) / Math.min(...xs), 2) : 1);

function targets(r: { cases: Summary[] }) {
  const find = (source: string, hosts: number) => r.cases.find((c) => c.source === source && c.hosts === hosts);
  const big = [...r.cases].filter((c) => c.source === 'prometheus').sort((a, b) => b.rows - a.rows)[0];
  const small = [...r.cases].filter((c) => c.source === 'prometheus').sort((a, b) => a.rows - b.rows)[0];
  const out: Array<{ name: string; target: string; measured: string; met: boolean | null }> = [];
  if (big) {
    const f = big.frame;
    const undecided = f.roundMediansMs.some((m) => m <= FRAME_TARGET_MS) && f.roundMediansMs.some((m) => m > FRAME_TARGET_MS);
    out.push({
      name: `fleet dashboard frame in tmux (Prometheus, ${big.hosts} hosts × ${big.listenersPerHost}: ${fmt(big.rows)} rows), median`,
      target: `<= ${FRAME_TARGET_MS} ms`,
      measured: `${f.medianMs} ms (p90 ${f.p90Ms} ms; rounds ${f.roundMediansMs.join(', ')} ms)${undecided ? '; undecided: the rounds fall either side' : ''}`,
      met: undecided ? null : f.medianMs <= FRAME_TARGET_MS,
    });
    out.push({
      name: `poll a tick through Prometheus (${fmt(big.rows)} rows), p90`,
      target: '< the 1 s interval',
      measured: `${big.prepare.p90Ms} ms (median ${big.prepare.medianMs} ms, slowest ${big.prepare.maxMs} ms)`,
      met: big.prepare.maxMs < 1000,
    });
  }
  if (big && small && big !== small) {
    // a tick's queries, and every 10th tick's (and one where a listener appeared) with the slow part: the same whatever the hosts
    const q = (c: Summary) => `${c.requestsPerTick.dashboardMin}–${c.requestsPerTick.dashboardMax}`;
    const fixed = big.requestsPerTick.dashboardMin === small.requestsPerTick.dashboardMin && big.requestsPerTick.dashboardMax === small.requestsPerTick.dashboardMax;
    out.push({
      name: `HTTP requests a tick towards Prometheus, ${small.hosts} hosts against ${big.hosts}`,
      target: 'the same, fixed',
      measured: `${q(small)} and ${q(big)} a tick (the dashboard's count; the slow part every 10th tick); ${small.requestsPerTick.server} and ${big.requestsPerTick.server} on average (Prometheus's)`,
      met: fixed,
    });
  }
  const t = big && find('targets', big.hosts);
  if (t) out.push({ name: `--targets, ${t.hosts} hosts: requests a tick (one per host)`, target: '(contrast)', measured: `${t.requestsPerTick.server}; frame ${t.frame.medianMs} ms, poll ${t.prepare.medianMs} ms`, met: null });
  return out;
}

function markdown(r: ReturnType<typeof result>): string {
  const m = r.machine;
  const L: string[] = [];
  L.push(
    `Run of ${m.date.slice(0, 10)} at commit ${m.commit.slice(0, 7)}${m.dirty ? ' (with uncommitted changes)' : ''} on ${m.cpus} × ${m.cpu}, ${m.memoryGiB} GiB, kernel ${m.kernel}, Node ${m.node}, ${r.prometheus}; ` +
      `${r.plan.hosts} hosts × ${r.plan.listeners} listeners scraped every 1 s${r.plan.buckets ? '' : ' (no accept-wait histogram)'}; the dashboard every 1 s with --timeout ${r.pollTimeoutS}; ${r.plan.rounds} rounds of ${r.plan.frames} frames a case; ${r.seconds} s.`,
  );
  L.push('');
  L.push('| target | wanted | measured | met |', '|---|---|---|---|');
  for (const t of r.targets) L.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`);
  L.push('');
  L.push(
    '| source | hosts × listeners | rows | frame: median | p90 | min–max | poll (prepareMs): median | p90 | max | requests a tick: server\'s count | dashboard\'s | RSS median / peak | CPU: dashboard / Prometheus / hosts |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const c of r.cases) {
    const q = c.requestsPerTick;
    L.push(
      `| ${c.source} | ${c.hosts} × ${c.listenersPerHost} | ${fmt(c.rows)} | ${c.frame.medianMs} ms | ${c.frame.p90Ms} ms | ${c.frame.minMs}–${c.frame.maxMs} ms | ` +
        `${c.prepare.medianMs} ms | ${c.prepare.p90Ms} ms | ${c.prepare.maxMs} ms | ${q.server} | ${q.dashboardMin === q.dashboardMax ? q.dashboardMin : `${q.dashboardMin}–${q.dashboardMax}`} | ` +
        `${mb(c.memory.rssMedianKb)} / ${mb(c.memory.peakRssKb)} MB | ${c.cpuPercent.dashboard} / ${c.cpuPercent.prometheus} / ${c.cpuPercent.hosts} % |`,
    );
  }
  L.push('');
  L.push('The frame by its parts (medians of the frame log), and how far the rounds\' medians lie apart (max / min; above 1.25 the machine\'s noise is as large as the differences asked about):', '');
  L.push('| source | rows | next (model from the poll) | ingest | sort + filter | panels: header / gauges / spark / table | render | write | frame: rounds | poll: rounds |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const c of r.cases) {
    const p = c.parts;
    const sp = (xs: number[]) => `${xs.join(', ')} ms (×${spreadOf(xs)})`;
    L.push(
      `| ${c.source} | ${fmt(c.rows)} | ${p.nextMs} ms | ${p.ingestMs} ms | ${round(p.sortMs + p.filterMs, 2)} ms | ${p.panelsMs.header} / ${p.panelsMs.gauges} / ${p.panelsMs.spark} / ${p.panelsMs.table} ms | ` +
        `${p.renderMs} ms | ${p.writeMs} ms | ${sp(c.frame.roundMediansMs)} | ${sp(c.prepare.roundMediansMs)} |`,
    );
  }
  return L.join('\n');
}

function result(m: ReturnType<typeof machine>, plan: Plan, prometheus: string, cases: Summary[], seconds: number) {
  const r = { machine: m, plan, pollTimeoutS: POLL_TIMEOUT_S, prometheus, cases, seconds, targets: [] as ReturnType<typeof targets> };
  r.targets = targets(r);
  return r;
}

interface Plan {
  hosts: number;
  listeners: number;
  sizes: number[];
  rounds: number;
  frames: number;
  /** The hosts serve the accept-wait histogram too (fleet-hosts.ts --buckets). */
  buckets: boolean;
}

async function main(): Promise<void> {
  installSignalCleanup('bench-fleet');
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '200' },
      listeners: { type: 'string', default: '50' },
      sizes: { type: 'string', default: '10,200' },
      rounds: { type: 'string', default: '2' },
      frames: { type: 'string', default: '15' },
      print: { type: 'boolean', default: false },
      buckets: { type: 'boolean', default: false },
    },
  });
  const plan: Plan = {
    hosts: Number(values.hosts),
    listeners: Number(values.listeners),
    sizes: values.sizes!.split(',').map(Number),
    rounds: Number(values.rounds),
    frames: Number(values.frames),
    buckets: values.buckets!,
  };
  if (!(Number.isInteger(plan.hosts) && plan.hosts >= 1 && plan.hosts <= MAX_HOSTS)) throw new Error(`--hosts wants 1 to ${MAX_HOSTS}`);
  if (!(Number.isInteger(plan.listeners) && plan.listeners >= 1 && plan.listeners <= 5000)) throw new Error('--listeners wants 1 to 5000');
  if (plan.sizes.some((n) => !(Number.isInteger(n) && n >= 1 && n <= plan.hosts))) throw new Error('--sizes wants whole numbers from 1 to --hosts');
  if (!(Number.isInteger(plan.rounds) && plan.rounds >= 1 && plan.rounds <= 10)) throw new Error('--rounds wants 1 to 10');
  if (!(Number.isInteger(plan.frames) && plan.frames >= 3 && plan.frames <= 120)) throw new Error('--frames wants 3 to 120');

  const cases: Case[] = [...plan.sizes.map((hosts) => ({ source: 'prometheus' as const, hosts })), ...plan.sizes.map((hosts) => ({ source: 'targets' as const, hosts }))];
  // bounded: every case of every round, and the start
  const lifeS = 300 + plan.rounds * cases.length * (200 + plan.frames * (POLL_TIMEOUT_S + 2));
  const t0 = now();
  // the code measured is the tree as the run starts
  const stamp = machine();
  const fleet = await startFleet(plan.hosts, plan.listeners, plan.buckets, lifeS);
  log(`${fleet.hosts.length} hosts × ${plan.listeners} listeners serving (${fleet.hosts[0]} … ${fleet.hosts[fleet.hosts.length - 1]})`);
  const prom = await startPrometheus(fleet.hosts, lifeS);
  log(`${prom.version} on ${prom.url}, scraping every 1 s`);
  // every host up, and a few scrapes of each (rates need two)
  const upBy = now() + 60000;
  for (;;) {
    const up = await prom.query(`count(up{job="${JOB}"} == 1)`).catch(() => []);
    if (Number(up[0]?.value[1] ?? 0) === plan.hosts) break;
    if (now() > upBy) throw new Error(`Prometheus: ${up[0]?.value[1] ?? 0} of ${plan.hosts} hosts up within 60 s`);
    await sleep(500);
  }
  await sleep(5000);
  log('every host up in Prometheus');

  const runs = new Map<string, Measured[]>(cases.map((c) => [caseName(c), []]));
  for (let round_ = 0; round_ < plan.rounds; round_++) {
    const order = cases.map((_, i) => cases[(i + round_) % cases.length]);
    for (const c of order) {
      const m = await runCase(c, fleet, prom, plan.listeners, plan.frames);
      runs.get(caseName(c))!.push(m);
      const f = m.frames.map((x) => x.frameMs);
      const p = m.frames.map((x) => x.prepareMs ?? 0);
      log(`round ${round_ + 1}/${plan.rounds} ${caseName(c)} hosts: frame ${round(median(f), 1)} ms (p90 ${round(percentile(f, 90), 1)}), poll ${round(median(p), 1)} ms, ` +
        `${round(m.serverRequests / m.ticks, 2)} requests a tick, RSS ${mb(median(m.rssKb))} MB, CPU dashboard ${m.cpuPercent} % / Prometheus ${m.prometheusCpuPercent} % / hosts ${m.hostsCpuPercent} %`);
    }
  }
  const r = result(stamp, plan, prom.version, cases.map((c) => summary(c, runs.get(caseName(c))!, plan.listeners)), Math.round((now() - t0) / 1000));
  const table = markdown(r);
  if (!values.print) {
    fs.mkdirSync(path.join(ROOT, 'bench'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench', 'fleet.json'), JSON.stringify(r, null, 2) + '\n');
    const md = path.join(ROOT, 'BENCHMARKS.md');
    const begin = '<!-- fleet:begin (written by scripts/bench-fleet) -->';
    const end = '<!-- fleet:end -->';
    const old = fs.readFileSync(md, 'utf8');
    const i = old.indexOf(begin);
    const j = old.indexOf(end);
    if (i < 0 || j < i) throw new Error(`BENCHMARKS.md has no ${begin} … ${end} block`);
    fs.writeFileSync(md, old.slice(0, i + begin.length) + '\n' + table + '\n' + old.slice(j));
  } else {
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  process.stdout.write(table + '\n');
}

runMain('bench-fleet', main);
