/**
 * A synthetic fleet for scripts/bench-fleet: N "hosts", each a real HTTP
 * endpoint on loopback (127.0.1.1, 127.0.1.2, ... : PORT; all of 127/8 is
 * loopback, so each has an instance label of its own) serving /metrics as
 * `acceptq export` does: the exporter's own renderMetrics() of a snapshot of
 * M listeners in two namespaces, with acceptq_host_info. The counters move
 * with time: every listener accepts, one in ten overflows (at rates that
 * differ, so the dashboard's sort by rate is real work). Each host is
 * rendered anew once a second in the background and a scrape gets the last
 * rendering, as an exporter serves what it read last.
 *
 *   node dist/scripts/bench.d/fleet-hosts.js --hosts 200 --listeners 50 [--port 9877] [--duration S] [--buckets]
 *
 * Without --buckets the accept-wait histogram is left out (renderMetrics
 * with no waits, so no wait figures either): it is 28 of a listener's 47
 * series, the fleet reads only its _count and _sum, and 200 hosts' worth
 * every second is more than this process and Prometheus render and ingest
 * beside the dashboard on 2 cores.
 *
 * Prints one JSON line once every host serves ({"pid", "hosts": ["127.0.1.1:9877", ...]}).
 * GET /-/requests on any host: the requests served so far, by client
 * (Prometheus's scrapes and acceptq fleet's, told apart by User-Agent).
 * Exits after --duration seconds (default 1800) whatever happens.
 */
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { renderMetrics, WaitTotals } from '../../src/export/metrics';
import type { ListenerRow, NamespaceRow, Snapshot } from '../../src/model/types';

/** Every simulated host's acceptq started with this process. */
const STARTED_S = Math.floor(performance.timeOrigin) / 1000;

/** Every address of the fleet's hosts: 127.0.1.i (a /24 of loopback: at most 254 hosts). */
const hostAddress = (i: number) => `127.0.1.${i + 1}`;
const MAX_HOSTS = 254;

const COMMS = ['nginx', 'envoy', 'haproxy', 'java', 'node', 'postgres', 'redis-server', 'gunicorn'];
const NS = [
  { netns: 4026531840, cookie: 1 },
  { netns: 4026532301, cookie: 8193 },
];

interface Listener {
  j: number;
  ns: (typeof NS)[number];
  address: string;
  port: number;
  comm: string;
  pid: number;
  maxBacklog: number;
  arrivalsPerS: number;
  /** 0: never overflows. */
  overflowsPerS: number;
}

/** A host's listeners: fixed identities, rates drawn from its index so hosts differ. */
function listenersOf(i: number, m: number): Listener[] {
  const out: Listener[] = [];
  for (let j = 0; j < m; j++) {
    const ns = NS[j < m * 0.8 ? 0 : 1];
    out.push({
      j, ns, address: j % 3 === 0 ? '0.0.0.0' : j % 3 === 1 ? '10.0.0.1' : '::', port: 8000 + j, comm: COMMS[(i + j) % COMMS.length],
      pid: 1000 + j * 7 + i, maxBacklog: [128, 511, 4096][j % 3],
      arrivalsPerS: 5 + ((i * 13 + j * 37) % 400),
      overflowsPerS: (i + j) % 10 === 0 ? 1 + ((i * 7 + j * 11) % 97) : 0,
    });
  }
  return out;
}

/** No listener's waits: renderMetrics then leaves the accept-wait histogram out. */
const NO_WAITS = new WaitTotals();

class Host {
  readonly listeners: Listener[];
  private readonly waits = new WaitTotals();
  private lastAccepts = new Map<number, number>();
  private text = '';
  private renderedStep = -1;

  constructor(readonly i: number, m: number, private readonly startMs: number, private readonly buckets: boolean) {
    this.listeners = listenersOf(i, m);
  }

  /** Rendered in this 1 s step already? */
  fresh(nowMs: number): boolean {
    return Math.floor(nowMs / 1000) === this.renderedStep;
  }

  /** Its exposition as of now (an exporter serves what it read last: the background pass keeps it within a second). */
  render(nowMs: number): void {
    this.text = renderMetrics(this.snapshot(nowMs), this.buckets ? this.waits : NO_WAITS, { hostname: `bench-host-${this.i + 1}`, kernel: os.release(), startedS: STARTED_S });
    this.renderedStep = Math.floor(nowMs / 1000);
  }

  metrics(nowMs: number): string {
    if (!this.text) this.render(nowMs);
    return this.text;
  }

  private snapshot(nowMs: number): Snapshot {
    const t = (nowMs - this.startMs) / 1000;
    const rows: ListenerRow[] = [];
    const nsOverflows = new Map<number, number>();
    for (const l of this.listeners) {
      const overflowsSyn = Math.floor(l.overflowsPerS * t);
      const overflowsAck = Math.floor((l.overflowsPerS / 4) * t);
      const arrivals = Math.floor(l.arrivalsPerS * t);
      const backlog = l.overflowsPerS ? l.maxBacklog + 1 : (l.j * 5) % 4;
      const accepts = Math.max(0, arrivals - backlog);
      // the interval's waits, as the model carries them: those accepted since the last render
      const waitCount = Math.max(0, accepts - (this.lastAccepts.get(l.j) ?? 0));
      this.lastAccepts.set(l.j, accepts);
      const bucket = 3 + (l.j % 10) + (l.overflowsPerS ? 8 : 0);
      const waitHist = new Array<number>(24).fill(0);
      waitHist[bucket] = waitCount;
      nsOverflows.set(l.ns.cookie, (nsOverflows.get(l.ns.cookie) ?? 0) + overflowsSyn + overflowsAck);
      rows.push({
        id: `${l.ns.cookie}|${l.address.includes(':') ? 6 : 4}|${l.address}|${l.port}`, host: '', hostDown: false,
        netns: l.ns.netns, netnsCookie: l.ns.cookie, family: l.address.includes(':') ? 6 : 4, address: l.address, port: l.port,
        pid: l.pid, comm: l.comm, uid: 0, cgroupId: 0, inode: 0, cgroup: '', service: l.j % 4 === 0 ? `${l.comm}.service` : '',
        sockets: 1 + (l.j % 4), backlog, maxBacklog: l.maxBacklog, peakBacklog: backlog, synBacklog: l.overflowsPerS ? 3 : 0,
        overflows: overflowsSyn + overflowsAck, overflowsSyn, overflowsAck, synDrops: 0, cookies: l.overflowsPerS ? Math.floor(t) : 0,
        overflowRate: 0, firstOverflowMs: null, lastOverflowMs: l.overflowsPerS && t >= 1 ? nowMs : null, closed: false, closedMs: null,
        estimate: false, requestedBacklog: l.maxBacklog, arrivals, accepts, arrivalRate: 0, acceptRate: 0,
        oldestWaitMs: backlog ? 2 ** bucket / 1000 : null, waitCount, waitMeanMs: waitCount ? (1.5 * 2 ** bucket) / 1000 : null,
        waitMinMs: null, waitMaxMs: null, waitP50Ms: null, waitP99Ms: null, waitHist,
      });
    }
    if (this.buckets) this.waits.add({ listeners: rows } as Snapshot);
    const namespaces: NamespaceRow[] = NS.map((n) => ({
      host: '', netns: n.netns, cookie: n.cookie, pid: 1, listenOverflows: nsOverflows.get(n.cookie) ?? 0, listenDrops: nsOverflows.get(n.cookie) ?? 0,
      syncookiesSent: 0, reqQFullDrops: 0, unattributed: 0, unattributedSynDrops: 0, unattributedCookies: 0, unmatched: 0, estimate: false,
      overflowRate: 0, gone: false, somaxconn: 4096, maxSynBacklog: 1024, syncookies: 1, abortOnOverflow: 0,
    }));
    return {
      timeMs: nowMs, elapsed: 1, probe: 'tracepoint', notice: '', lostEvents: 0, suppressedEvents: 0, mapFull: 0, lostArrivals: 0, lostWaits: 0,
      lostListens: 0, snapshotMs: 1, listeners: rows, namespaces, events: [], attributedRate: 0, kernelRate: 0,
    };
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { buckets: { type: 'boolean', default: false }, hosts: { type: 'string', default: '200' }, listeners: { type: 'string', default: '50' }, port: { type: 'string', default: '9877' }, duration: { type: 'string', default: '1800' } } });
  const n = Number(values.hosts);
  const m = Number(values.listeners);
  const port = Number(values.port);
  const duration = Number(values.duration);
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_HOSTS)) throw new Error(`--hosts wants 1 to ${MAX_HOSTS}`);
  if (!(Number.isInteger(m) && m >= 1 && m <= 5000)) throw new Error('--listeners wants 1 to 5000');
  if (!(duration > 0 && duration <= 7200)) throw new Error('--duration wants 1 to 7200 seconds');
  setTimeout(() => process.exit(0), duration * 1000).unref();
  // gone with the bench that started it, however it ends
  process.stdin.on('end', () => process.exit(0)).resume();

  const start = Date.now();
  const requests = { prometheus: 0, fleet: 0, other: 0 };
  const servers: http.Server[] = [];
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    const host = new Host(i, m, start, values.buckets!);
    hosts.push(host);
    const server = http.createServer((req, res) => {
      if (req.url === '/-/requests') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(requests));
        return;
      }
      if (req.url !== '/metrics') {
        res.writeHead(404).end('not found\n');
        return;
      }
      const ua = req.headers['user-agent'] ?? '';
      if (ua.startsWith('Prometheus/')) requests.prometheus++;
      else if (ua === 'acceptq-fleet') requests.fleet++;
      else requests.other++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(host.metrics(Date.now()));
    });
    server.keepAliveTimeout = 30000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, hostAddress(i), () => resolve());
    });
    servers.push(server);
  }
  // every host rendered anew each second, a few at a time in the background (a scrape is
  // answered at once, as an exporter answers with what it read last), at most
  // half of a core: on a shared machine a host may then lag a second
  let next = 0;
  const renderPass = () => {
    const t = Date.now();
    for (let k = 0; k < hosts.length && Date.now() - t < 25; k++, next = (next + 1) % hosts.length) {
      if (!hosts[next].fresh(Date.now())) hosts[next].render(Date.now());
    }
    setTimeout(renderPass, 50);
  };
  renderPass();
  process.stdout.write(JSON.stringify({ pid: process.pid, listeners: m, hosts: servers.map((_, i) => `${hostAddress(i)}:${port}`) }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`fleet-hosts: ${(e as Error).message}\n`);
  process.exit(1);
});
