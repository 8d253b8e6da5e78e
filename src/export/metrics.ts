/**
 * Prometheus text exposition (format 0.0.4) of a snapshot: counters for
 * overflows by path, SYN-queue drops and cookies; gauges for the queues and
 * for whether a listener's counts are an estimate; the kernel's own
 * per-namespace counters beside them, with the gaps either way, and each
 * namespace's sysctls. Why a listener overflows: arrivals and accepts
 * (counters), the accept-queue wait as a histogram, the oldest waiting
 * connection and the backlog listen() asked for. Labels: netns (the inode
 * number), netns_cookie (the namespace's id, which the kernel never reuses:
 * src/model/netns.ts), address, port, comm, and service when the listener's
 * cgroup names one (an empty label is no label to Prometheus). A closed
 * listener and a new one in a namespace that took over its inode are two
 * series, told apart by netns_cookie. Closed listeners age out with the
 * model's retention, which bounds the label sets.
 */
import os from 'node:os';
import { netnsCookieText } from '../model/netns';
import { WAIT_BUCKETS } from '../model/raw';
import type { ListenerRow, NamespaceRow, Snapshot } from '../model/types';
import { VERSION } from '../version';
import { FAMILIES, type FamilySpec } from './families';
import type { ProcessFigures } from './process';

type Labels = Record<string, string | number>;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Labels) => `{${Object.entries(l).map(([k, v]) => `${k}="${escape(String(v))}"`).join(',')}}`;

class Family {
  readonly samples: string[] = [];
  constructor(readonly name: string, readonly type: FamilySpec['type'], readonly help: string) {}
  /** A sample; suffix: a histogram's _bucket, _sum or _count. */
  add(l: Labels, v: number, suffix = ''): void {
    this.samples.push(`${this.name}${suffix}${labels(l)} ${Number.isFinite(v) ? v : 0}`);
  }
  text(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n${this.samples.join('\n')}${this.samples.length ? '\n' : ''}`;
  }
}

/** A snapshot's families, empty, in the order of FAMILIES. */
function families(): Record<keyof typeof FAMILIES, Family> {
  return Object.fromEntries(Object.entries(FAMILIES).map(([k, d]) => [k, new Family(d.name, d.type, d.help)])) as Record<keyof typeof FAMILIES, Family>;
}

/** A listener's accept-queue waits since the totals started: log2 buckets (not cumulative), count and sum. */
interface Waits {
  hist: number[];
  count: number;
  sumUs: number;
}

/**
 * The accept-queue wait totals of each listener, added up from every
 * snapshot's interval (the model carries the interval's waits, not the
 * kernel's totals): feed it every snapshot of the collector, in order, from
 * the first, and the totals are the kernel side's since acceptq started.
 * Listeners no longer in a snapshot are dropped.
 */
export class WaitTotals {
  private rows = new Map<string, Waits>();

  add(s: Snapshot): this {
    const next = new Map<string, Waits>();
    for (const r of s.listeners) {
      const w = this.rows.get(r.id) ?? { hist: new Array<number>(WAIT_BUCKETS).fill(0), count: 0, sumUs: 0 };
      r.waitHist.forEach((v, i) => (w.hist[i] += v));
      w.count += r.waitCount;
      // the interval's sum, whole microseconds, back from its exact mean
      w.sumUs += Math.round((r.waitMeanMs ?? 0) * r.waitCount * 1000);
      next.set(r.id, w);
    }
    this.rows = next;
    return this;
  }

  get(r: ListenerRow): Waits | undefined {
    return this.rows.get(r.id);
  }
}

/** What acceptq_host_info says of the host (acceptq fleet shows it beside the instance). */
export interface HostInfo {
  hostname: string;
  kernel: string;
  /** When this acceptq started, Unix s: its counters count from then (a new value is a restart). */
  startedS: number;
}
const THIS_HOST: HostInfo = { hostname: os.hostname(), kernel: os.release(), startedS: Math.floor(performance.timeOrigin) / 1000 };

/** le of bucket i: its upper bound, 2^(i+1) µs, in seconds (a wait of exactly that falls in the next bucket). */
const le = (i: number) => String(2 ** (i + 1) / 1e6);

/** Metrics of a snapshot; waits: the totals fed every snapshot so far (by default: this one alone). */
export function renderMetrics(s: Snapshot, waits: WaitTotals = new WaitTotals().add(s), host: HostInfo = THIS_HOST): string {
  const f = families();
  // the families with one sample a row, straight from a figure of it
  const perListener: Array<[Family, (l: ListenerRow) => number]> = [
    [f.synDrops, (l) => l.synDrops], [f.cookies, (l) => l.cookies], [f.backlog, (l) => l.backlog], [f.limit, (l) => l.maxBacklog],
    [f.peak, (l) => l.peakBacklog], [f.synq, (l) => l.synBacklog], [f.sockets, (l) => l.sockets], [f.estimate, (l) => (l.estimate ? 1 : 0)],
    [f.arrivals, (l) => l.arrivals], [f.accepts, (l) => l.accepts], [f.oldest, (l) => (l.oldestWaitMs ?? 0) / 1000],
    [f.open, (l) => (l.closed ? 0 : 1)], [f.pid, (l) => l.pid],
  ];
  const perNamespace: Array<[Family, (n: NamespaceRow) => number]> = [
    [f.nsOverflows, (n) => n.listenOverflows], [f.nsDrops, (n) => n.listenDrops],
    [f.nsSynDrops, (n) => n.reqQFullDrops], [f.nsCookies, (n) => n.syncookiesSent], [f.unattributed, (n) => n.unattributed],
    [f.unattributedSynDrops, (n) => n.unattributedSynDrops], [f.unattributedCookies, (n) => n.unattributedCookies],
    [f.unmatched, (n) => n.unmatched], [f.nsEstimate, (n) => (n.estimate ? 1 : 0)],
  ];
  // the model's ids are unique (listener: namespace id, family, address, port; namespace: its id), so are these label sets
  for (const l of s.listeners) {
    const base: Labels = {
      netns: l.netns, netns_cookie: netnsCookieText(l.netnsCookie), address: l.address, port: l.port, comm: l.comm,
      ...(l.service ? { service: l.service } : {}),
    };
    f.overflows.add({ ...base, path: 'syn' }, l.overflowsSyn);
    f.overflows.add({ ...base, path: 'ack' }, l.overflowsAck);
    for (const [family, value] of perListener) family.add(base, value(l));
    const w = waits.get(l);
    if (w) {
      let below = 0;
      for (let i = 0; i < WAIT_BUCKETS - 1; i++) {
        below += w.hist[i];
        f.wait.add({ ...base, le: le(i) }, Math.min(below, w.count), '_bucket');
      }
      f.wait.add({ ...base, le: '+Inf' }, w.count, '_bucket');
      f.wait.add(base, w.sumUs / 1e6, '_sum');
      f.wait.add(base, w.count, '_count');
    }
    if (l.requestedBacklog !== null) f.requested.add(base, l.requestedBacklog);
    if (l.lastOverflowMs !== null) f.lastOverflow.add(base, l.lastOverflowMs / 1000);
  }
  for (const n of s.namespaces) {
    const ns: Labels = { netns: n.netns, netns_cookie: netnsCookieText(n.cookie) };
    for (const [family, value] of perNamespace) family.add(ns, value(n));
    for (const k of ['somaxconn', 'maxSynBacklog', 'syncookies', 'abortOnOverflow'] as const) {
      const v = n[k];
      if (v !== null) f[k].add(ns, v);
    }
  }
  f.lost.add({}, s.lostEvents);
  f.info.add({ probe: s.probe }, 1);
  f.host.add({ hostname: host.hostname, kernel: host.kernel }, 1);
  f.build.add({ version: VERSION, nodeversion: process.version }, 1);
  f.started.add({}, host.startedS);
  return Object.values(f).map((x) => x.text()).join('');
}

/** The standard process_* metrics of an exporter (names, types and units as the Go client has them). */
export function renderProcessMetrics(p: ProcessFigures): string {
  const families: Array<[Family, number | null]> = [
    [new Family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.'), p.cpuSeconds],
    [new Family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.'), p.residentBytes],
    [new Family('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.'), p.virtualBytes],
    [new Family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.'), p.startTimeSeconds],
    [new Family('process_open_fds', 'gauge', 'Number of open file descriptors.'), p.openFds],
    [new Family('process_max_fds', 'gauge', 'Maximum number of open file descriptors.'), p.maxFds],
  ];
  // an unlimited soft limit has no number: no sample, as the Go client leaves it out
  return families.map(([family, v]) => {
    if (v !== null) family.add({}, v);
    return family.text();
  }).join('');
}
