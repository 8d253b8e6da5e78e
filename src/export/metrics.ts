/**
 * Prometheus text exposition (format 0.0.4) of a snapshot: counters for
 * overflows by path, SYN-queue drops and cookies; gauges for the queues and
 * for whether a listener's counts are an estimate; the kernel's own
 * per-namespace counters beside them, with the gaps either way. Labels:
 * netns, address, port, comm. Closed listeners age out with the model's
 * retention, which bounds the label sets.
 */
import type { Snapshot } from '../model/types';

type Labels = Record<string, string | number>;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Labels) => `{${Object.entries(l).map(([k, v]) => `${k}="${escape(String(v))}"`).join(',')}}`;

class Family {
  readonly samples: string[] = [];
  constructor(readonly name: string, readonly type: 'counter' | 'gauge', readonly help: string) {}
  add(l: Labels, v: number): void {
    this.samples.push(`${this.name}${labels(l)} ${Number.isFinite(v) ? v : 0}`);
  }
  text(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n${this.samples.join('\n')}${this.samples.length ? '\n' : ''}`;
  }
}

export function renderMetrics(s: Snapshot): string {
  const f = {
    overflows: new Family('acceptq_listen_overflows_total', 'counter', 'Accept-queue overflows of the listener since acceptq started, by the path that dropped them (syn or ack).'),
    synDrops: new Family('acceptq_syn_queue_drops_total', 'counter', 'SYNs dropped because the SYN queue was full and SYN cookies were off.'),
    cookies: new Family('acceptq_syncookies_sent_total', 'counter', 'SYNs answered with a SYN cookie.'),
    backlog: new Family('acceptq_accept_queue_length', 'gauge', 'Connections waiting in the accept queue now.'),
    limit: new Family('acceptq_accept_queue_limit', 'gauge', 'The listen() backlog; the kernel admits one more per socket before it drops.'),
    peak: new Family('acceptq_accept_queue_peak', 'gauge', 'Deepest the accept queue got since the previous sample.'),
    synq: new Family('acceptq_syn_queue_length', 'gauge', 'Half-open connections in the SYN queue now.'),
    sockets: new Family('acceptq_listener_sockets', 'gauge', 'Sockets of the listener (a SO_REUSEPORT group has several).'),
    estimate: new Family('acceptq_listener_estimate', 'gauge', "1 if the listener's counts are an estimate: several listeners of its namespace had drops or cookies where the kernel's count can go to the wrong one of them (the namespace total is exact); sticky."),
    nsOverflows: new Family('acceptq_namespace_listen_overflows_total', 'counter', "The kernel's TcpExtListenOverflows of the namespace since acceptq started."),
    nsDrops: new Family('acceptq_namespace_listen_drops_total', 'counter', "The kernel's TcpExtListenDrops of the namespace since acceptq started."),
    unattributed: new Family('acceptq_namespace_unattributed_overflows', 'gauge', "The namespace's TcpExtListenOverflows minus the overflows acceptq credited to its listeners; negative if it credited more."),
    unattributedSynDrops: new Family('acceptq_namespace_unattributed_syn_queue_drops', 'gauge', "The namespace's TcpExtTCPReqQFullDrop minus the SYN-queue drops acceptq credited to its listeners; negative if it credited more."),
    unattributedCookies: new Family('acceptq_namespace_unattributed_syncookies', 'gauge', "The namespace's TcpExtSyncookiesSent minus the cookies acceptq credited to its listeners; negative if it credited more."),
    unmatched: new Family('acceptq_namespace_unmatched_total', 'counter', 'Kernel counter moves in the namespace at sockets acceptq could not name.'),
    nsEstimate: new Family('acceptq_namespace_estimate', 'gauge', "1 if the split of the namespace's counts among its listeners was an estimate in the last interval."),
    lost: new Family('acceptq_lost_events_total', 'counter', 'Detail events lost to a full ring buffer (counts do not travel with events: none is lost with them).'),
    info: new Family('acceptq_probe_info', 'gauge', 'The probe set in use.'),
  };
  // one series per label set: an open listener wins over a closed one that
  // had the same labels (a reused namespace inode), which would be a duplicate
  const seen = new Set<string>();
  for (const l of [...s.listeners].sort((a, b) => Number(a.closed) - Number(b.closed))) {
    const base = { netns: l.netns, address: l.address, port: l.port, comm: l.comm };
    const key = JSON.stringify(base);
    if (seen.has(key)) continue;
    seen.add(key);
    f.overflows.add({ ...base, path: 'syn' }, l.overflowsSyn);
    f.overflows.add({ ...base, path: 'ack' }, l.overflowsAck);
    f.synDrops.add(base, l.synDrops);
    f.cookies.add(base, l.cookies);
    f.backlog.add(base, l.backlog);
    f.limit.add(base, l.maxBacklog);
    f.peak.add(base, l.peakBacklog);
    f.synq.add(base, l.synBacklog);
    f.sockets.add(base, l.sockets);
    f.estimate.add(base, l.estimate ? 1 : 0);
  }
  // likewise a live namespace wins over a gone one that had the same inode number
  const seenNs = new Set<number>();
  for (const n of [...s.namespaces].sort((a, b) => Number(a.gone) - Number(b.gone))) {
    if (seenNs.has(n.netns)) continue;
    seenNs.add(n.netns);
    f.nsOverflows.add({ netns: n.netns }, n.listenOverflows);
    f.nsDrops.add({ netns: n.netns }, n.listenDrops);
    f.unattributed.add({ netns: n.netns }, n.unattributed);
    f.unattributedSynDrops.add({ netns: n.netns }, n.unattributedSynDrops);
    f.unattributedCookies.add({ netns: n.netns }, n.unattributedCookies);
    f.unmatched.add({ netns: n.netns }, n.unmatched);
    f.nsEstimate.add({ netns: n.netns }, n.estimate ? 1 : 0);
  }
  f.lost.add({}, s.lostEvents);
  f.info.add({ probe: s.probe }, 1);
  return Object.values(f).map((x) => x.text()).join('');
}
