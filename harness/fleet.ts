/**
 * A simulated fleet for `acceptq fleet`: N hosts, each a network namespace
 * made here (`ip netns add`) joined to the root namespace by a veth pair
 * (10.213.<octet>.1/30 outside, .2/30 inside), running `acceptq export` on
 * its inside address in a UTS namespace of its own with the host name
 * fleet-host-<i>. What overflows there is real: the lab's scenarios run in
 * the host's namespace, Debian's nginx listens on the inside address and is
 * loaded by wrk or ab from the root namespace over the veth. A real
 * Prometheus in the root namespace scrapes every host (job "acceptq", 1 s).
 *
 * Each host's exporter stands for one host: it is given `--netns` of its own
 * namespace where `acceptq export` takes it, so it reports that namespace
 * alone (where it does not yet, the checks pick the host's namespace by its
 * netns label). Its kernel counters are read right after it reports serving,
 * so "since that exporter started" can be checked against the kernel.
 *
 * Everything (namespaces and their veths, exporters, labs, nginx, load
 * generators, Prometheus and temp dirs) goes through one Cleanup, bounded in
 * time, and is undone even when a test fails.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { startLabReporting, type LabRun } from './lab';
import { CLI } from './paths';
import { Cleanup, ENV, KERNEL_COUNTERS, killPid, Netns, runTool, settle, startNginx, type Counters, type ToolRun } from './servers';
// the Prometheus and exporter helpers the tests already share
import { Exporter, Prometheus, type PromTarget } from '../test/support/prometheus';

/** Where every host's exporter listens (each host has a port space of its own). */
export const EXPORT_PORT = 9877;
/** Where a host's nginx listens, on its inside address. */
export const NGINX_PORT = 8080;

const ip = (...args: string[]) => execFileSync('ip', args, { env: ENV, encoding: 'utf8', timeout: 10000 });

/** Whether this build's `acceptq export` takes --netns (being added beside the fleet view). */
export function exportTakesNetns(): boolean {
  const forced = process.env.ACCEPTQ_FLEET_EXPORT_NETNS;
  if (forced === '0' || forced === '1') return forced === '1';
  const r = spawnSync(process.execPath, [CLI, 'export', '--help'], { encoding: 'utf8', timeout: 20000 });
  return `${r.stdout}${r.stderr}`.includes('--netns');
}

/**
 * The first block of n third octets of 10.213.0.0/16 no address of the root
 * namespace is in, starting from one picked by the pid (parallel runs start
 * apart, and step over each other's blocks).
 */
function freeOctets(n: number): number[] {
  const used = new Set(
    [...ip('-4', '-o', 'addr', 'show').matchAll(/inet 10\.213\.(\d+)\./g)].map((m) => Number(m[1])),
  );
  const blocks = Math.floor(250 / n);
  for (let k = 0; k < blocks; k++) {
    const start = 1 + ((process.pid + k) % blocks) * n;
    const octets = Array.from({ length: n }, (_, i) => start + i);
    if (octets.every((o) => !used.has(o))) return octets;
  }
  throw new Error(`no free block of ${n} subnets in 10.213.0.0/16`);
}

const minus = (a: Counters, b: Counters): Counters => Object.fromEntries(KERNEL_COUNTERS.map((k) => [k, (a[k] ?? 0) - (b[k] ?? 0)]));

/** One simulated host. */
export class FleetHost {
  exporter: Exporter | null = null;
  /** The kernel counters of the namespace when the exporter last reported serving. */
  base: Counters | null = null;
  /** When it did (ms). */
  startedAt = 0;
  /** The lab scenario running here, if any. */
  lab: LabRun | null = null;
  nginx = false;

  constructor(
    readonly index: number,
    readonly ns: Netns,
    readonly octet: number,
    readonly veth: string,
    private readonly cleanup: Cleanup,
  ) {}

  get hostname(): string {
    return `fleet-host-${this.index}`;
  }
  /** The host's own address (inside its namespace). */
  get addr(): string {
    return `10.213.${this.octet}.2`;
  }
  /** The root namespace's end of the veth. */
  get rootAddr(): string {
    return `10.213.${this.octet}.1`;
  }
  /** HOST:PORT of its exporter: what --targets takes and Prometheus's instance label. */
  get target(): string {
    return `${this.addr}:${EXPORT_PORT}`;
  }
  get inode(): number {
    return this.ns.inode;
  }

  /** The namespace's TcpExt counters. */
  netstat(): Counters {
    return this.ns.netstat();
  }

  /** The counters' moves since the exporter started. */
  delta(): Counters {
    if (!this.base) throw new Error(`${this.hostname}: no exporter started`);
    return minus(this.netstat(), this.base);
  }

  /**
   * `acceptq export` on the host's address, in its namespace, under its own
   * host name; resolves once it serves, with the kernel's counters read then.
   */
  async startExporter(netnsFlag: boolean): Promise<void> {
    const args = [CLI, 'export', '--listen', `${this.addr}:${EXPORT_PORT}`, ...(netnsFlag ? ['--netns', String(this.inode)] : [])];
    // ip netns exec, unshare and sh each exec the next: the child's pid is node's
    const proc = spawn(
      'ip',
      ['netns', 'exec', this.ns.name, 'unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', this.hostname, process.execPath, ...args],
      { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout!.resume();
    const ex = new Exporter(proc, EXPORT_PORT, this.addr);
    this.cleanup.add(() => proc.pid && !ex.gone && killPid(proc.pid));
    await ex.serving(60000);
    this.base = this.netstat();
    this.startedAt = Date.now();
    this.exporter = ex;
  }

  /** The host goes down: its exporter is killed outright (no goodbye); resolves once it is gone. */
  async killExporter(): Promise<void> {
    const ex = this.exporter;
    if (!ex || ex.gone) return;
    ex.proc.kill('SIGKILL');
    await ex.exitWithin(10000);
  }

  /** A lab scenario in the host's namespace (the one before, if any, stopped); resolves once its overflows are staged. */
  async startLab(scenario: string, holdS = 300): Promise<LabRun> {
    await this.stopLab();
    const { lab } = await startLabReporting(scenario, holdS, 60000, ['ip', 'netns', 'exec', this.ns.name]);
    this.cleanup.add(() => killPid(lab.pid));
    if (lab.netns !== this.inode) throw new Error(`${this.hostname}: the lab ran in netns ${lab.netns}, not ${this.inode}`);
    this.lab = lab;
    return lab;
  }

  async stopLab(): Promise<void> {
    await this.lab?.stop();
    this.lab = null;
  }

  /** Debian's nginx on the host's address (1 worker, a small backlog: it overflows under load). */
  async startNginx(backlog = 16): Promise<void> {
    await startNginx(this.ns, this.cleanup, NGINX_PORT, backlog, this.addr);
    this.nginx = true;
  }

  /** The URL of its nginx, from the root namespace. */
  get nginxUrl(): string {
    return `http://${this.addr}:${NGINX_PORT}/`;
  }

  /** wrk against its nginx from the root namespace, bounded: seconds of load, then killed if it hangs. */
  async wrk(cleanup: Cleanup, connections = 800, seconds = 3): Promise<ToolRun> {
    const run = await runTool(
      cleanup,
      ['bash', '-c', `ulimit -n 16384 && exec wrk -t 1 -c ${connections} -d ${seconds}s --timeout 2s ${this.nginxUrl}`],
      (seconds + 15) * 1000,
    );
    if (run.code !== 0) throw new Error(`wrk exited with ${run.code}: ${run.stderr.trim().slice(-300)}`);
    return run;
  }

  /** ApacheBench against its nginx from the root namespace: a new connection per request, bounded by -t and -n. */
  async ab(cleanup: Cleanup, concurrency = 300, seconds = 3): Promise<ToolRun> {
    const run = await runTool(
      cleanup,
      ['ab', '-q', '-r', '-s', '5', '-t', String(seconds), '-n', '40000', '-c', String(concurrency), this.nginxUrl],
      (seconds + 20) * 1000,
    );
    if (run.code !== 0) throw new Error(`ab exited with ${run.code}: ${run.stderr.trim().slice(-300)}`);
    return run;
  }

  /**
   * Abort the load generator's sockets to its nginx left in the root
   * namespace (orphans whose final ACK was dropped retransmit, and overflow
   * the queue again long after the load): how many there were.
   */
  abortOrphans(): number {
    const out = execFileSync(
      'ss',
      ['-HK', '-tn', 'state', 'fin-wait-1', 'state', 'closing', 'state', 'last-ack', 'dst', `${this.addr}:${NGINX_PORT}`],
      { env: ENV, encoding: 'utf8', timeout: 10000 },
    );
    return out.split('\n').filter((l) => l.trim()).length;
  }

  /** The shell words of an abortOrphans() (for a command run by someone else). */
  get abortOrphansCommand(): string {
    return `ss -HK -tn state fin-wait-1 state closing state last-ack dst ${this.addr}:${NGINX_PORT} >/dev/null`;
  }
}

export interface FleetOptions {
  /** Give each exporter --netns of its host's namespace (default: if `acceptq export` takes it). */
  exporterNetns?: boolean;
}

export class SimulatedFleet {
  prometheus: Prometheus | null = null;
  readonly exporterNetns: boolean;

  private constructor(readonly hosts: FleetHost[], readonly cleanup: Cleanup, exporterNetns: boolean) {
    this.exporterNetns = exporterNetns;
  }

  /** n hosts: namespaces, veths, addresses; no exporter yet. */
  static create(n: number, cleanup: Cleanup, opts: FleetOptions = {}): SimulatedFleet {
    const octets = freeOctets(n);
    const hosts = octets.map((octet, i) => {
      const ns = Netns.create(cleanup, undefined, 'acceptq-fleet');
      // at most 15 characters; the inside end is eth0 of the host
      const veth = `aqf${process.pid % 1e7}h${i}`;
      ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
      // the namespace's deletion takes its end and with it the pair; this is for a namespace that lives on
      cleanup.add(() => {
        try {
          execFileSync('ip', ['link', 'del', veth], { env: ENV, stdio: 'ignore' });
        } catch {
          // gone with the namespace
        }
      });
      ip('addr', 'add', `10.213.${octet}.1/30`, 'dev', veth);
      ip('link', 'set', veth, 'up');
      ip('-n', ns.name, 'addr', 'add', `10.213.${octet}.2/30`, 'dev', 'eth0');
      ip('-n', ns.name, 'link', 'set', 'eth0', 'up');
      return new FleetHost(i, ns, octet, veth, cleanup);
    });
    return new SimulatedFleet(hosts, cleanup, opts.exporterNetns ?? exportTakesNetns());
  }

  /** Every host's exporter, started together; resolves once all serve. */
  async startExporters(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.startExporter(this.exporterNetns)));
  }

  /** HOST:PORT of every exporter, comma-separated (for --targets). */
  get targets(): string {
    return this.hosts.map((h) => h.target).join(',');
  }

  /** A real Prometheus in the root namespace scraping every host's exporter every second (job "acceptq"). */
  async startPrometheus(): Promise<Prometheus> {
    const p = await Prometheus.start(this.hosts.map((h) => h.target));
    this.cleanup.add(() => {
      if (p.proc.pid && p.proc.exitCode === null) killPid(p.proc.pid, 10000);
      fs.rmSync(p.dir, { recursive: true, force: true });
    });
    this.prometheus = p;
    return p;
  }

  /**
   * Wait until every host's counters have held still (bounded); returns
   * when the last of them was read, and whether all held still.
   */
  async settle(hosts = this.hosts, stableMs = 1500, maxMs = 30000): Promise<{ at: number; stable: boolean }> {
    const r = await Promise.all(hosts.map((h) => settle(() => h.netstat(), stableMs, maxMs)));
    return { at: Math.max(...r.map((x) => x.at)), stable: r.every((x) => x.stable) };
  }

  /** Wait until Prometheus has scraped each of these hosts (up) in a scrape begun after `after` (ms). */
  async scrapedAfter(after: number, hosts = this.hosts, timeoutMs = 20000): Promise<PromTarget[]> {
    const p = this.prometheus;
    if (!p) throw new Error('no Prometheus started');
    const want = new Set(hosts.map((h) => h.target));
    return p.until(`every target scraped after ${new Date(after).toISOString()}`, async () => {
      const ts = (await p.targets()).filter((t) => want.has(t.labels.instance));
      const fresh = ts.filter((t) => t.health === 'up' && Date.parse(t.lastScrape) > after);
      return fresh.length === want.size ? ts : undefined;
    }, timeoutMs);
  }

  /** Wait until Prometheus sees these hosts up again (after an exporter restarted). */
  async upInPrometheus(hosts = this.hosts): Promise<void> {
    await this.scrapedAfter(Math.max(...hosts.map((h) => h.startedAt)), hosts);
  }

  /** Stop every lab (their listeners close; acceptq keeps the closed rows a while). */
  async stopLabs(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.stopLab()));
  }
}
