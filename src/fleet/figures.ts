/**
 * What a fleet reads of each host: the exporter's metric families
 * (src/export/families.ts), mapped here to the figures they carry, and
 * gathered per host from samples, however they came (a scrape of the
 * exporter, or Prometheus's answer to a query).
 */
import { FAMILIES } from '../export/families';
import type { Sample } from './exposition';

/** A listener's figures, each from one family (and a path, for the overflows). */
export const LISTENER_METRICS = {
  overflowsSyn: { metric: FAMILIES.overflows.name, path: 'syn', counter: true },
  overflowsAck: { metric: FAMILIES.overflows.name, path: 'ack', counter: true },
  synDrops: { metric: FAMILIES.synDrops.name, counter: true },
  cookies: { metric: FAMILIES.cookies.name, counter: true },
  backlog: { metric: FAMILIES.backlog.name },
  // slow: seldom changes (read through Prometheus every 10th tick, and when a listener appears)
  maxBacklog: { metric: FAMILIES.limit.name, slow: true },
  peakBacklog: { metric: FAMILIES.peak.name },
  synBacklog: { metric: FAMILIES.synq.name },
  sockets: { metric: FAMILIES.sockets.name, slow: true },
  estimate: { metric: FAMILIES.estimate.name },
  arrivals: { metric: FAMILIES.arrivals.name, counter: true },
  accepts: { metric: FAMILIES.accepts.name, counter: true },
  oldestWaitS: { metric: FAMILIES.oldest.name },
  // absent when unknown: 0 is a value of its own
  requestedBacklog: { metric: FAMILIES.requested.name, present: true, slow: true },
  pid: { metric: FAMILIES.pid.name, slow: true },
  lastOverflowS: { metric: FAMILIES.lastOverflow.name, present: true },
  waitCount: { metric: `${FAMILIES.wait.name}_count`, counter: true },
  waitSumS: { metric: `${FAMILIES.wait.name}_sum`, counter: true },
} as const satisfies Record<string, FigureSpec>;

export interface FigureSpec {
  metric: string;
  /** Its series with this path label (the overflows' two). */
  path?: string;
  /** 0 is a value (no sample: unknown), not the lack of one. */
  present?: boolean;
  /** It seldom changes: PrometheusSource reads it every 10th tick, and when a listener appears. */
  slow?: boolean;
  /** It counts from 0 when the host's acceptq starts (a restart sets it back). */
  counter?: boolean;
}

/** Every listener figure with its spec. */
export const LISTENER_FIGURES = Object.entries(LISTENER_METRICS) as Array<[ListenerFigure, FigureSpec]>;

/** The listener figures that count from the host's acceptq's start. */
export const LISTENER_COUNTERS = LISTENER_FIGURES.filter(([, m]) => m.counter).map(([f]) => f);

/**
 * A listener's figures, none known yet: every key there from the start, in
 * one order, so that 10,000 of them share one shape (objects filled in
 * whatever order each listener's samples came read 5 times slower).
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
export const noFigures = new Function(`return { ${LISTENER_FIGURES.map(([f]) => `${f}: undefined`).join(', ')} };`) as () => Partial<Record<ListenerFigure, number>>;

export type ListenerFigure = keyof typeof LISTENER_METRICS;

/** The family every listener has a sample of, whatever its figures: it names the listener (its labels) and says whether it is open. */
export const LISTENER_IDENTITY = FAMILIES.open.name;

/** A namespace's figures. */
export const NAMESPACE_METRICS = {
  listenOverflows: FAMILIES.nsOverflows.name,
  listenDrops: FAMILIES.nsDrops.name,
  reqQFullDrops: FAMILIES.nsSynDrops.name,
  syncookiesSent: FAMILIES.nsCookies.name,
  unattributed: FAMILIES.unattributed.name,
  unattributedSynDrops: FAMILIES.unattributedSynDrops.name,
  unattributedCookies: FAMILIES.unattributedCookies.name,
  unmatched: FAMILIES.unmatched.name,
  estimate: FAMILIES.nsEstimate.name,
  somaxconn: FAMILIES.somaxconn.name,
  maxSynBacklog: FAMILIES.maxSynBacklog.name,
  syncookies: FAMILIES.syncookies.name,
  abortOnOverflow: FAMILIES.abortOnOverflow.name,
} as const;

export type NamespaceFigure = keyof typeof NAMESPACE_METRICS;

/** The namespace figures that count from the host's acceptq's start: counters, that never go down while it runs... */
export const NAMESPACE_COUNTERS: NamespaceFigure[] = ['listenOverflows', 'listenDrops', 'reqQFullDrops', 'syncookiesSent', 'unmatched'];
/** ...and the gaps, differences of such counts (they go either way). */
export const NAMESPACE_GAPS: NamespaceFigure[] = ['unattributed', 'unattributedSynDrops', 'unattributedCookies'];

/** The families of a host as a whole. */
export const HOST_METRICS = {
  probe: FAMILIES.info.name, host: FAMILIES.host.name, lostEvents: FAMILIES.lost.name, startTime: FAMILIES.started.name,
} as const;

/** A listener of a host as read: its labels, open or not, and the figures that had a sample. */
export interface ListenerRead {
  netns: string;
  netnsCookie: string;
  address: string;
  port: number;
  comm: string;
  service: string;
  open: boolean;
  figures: Partial<Record<ListenerFigure, number>>;
}

export interface NamespaceRead {
  netns: string;
  netnsCookie: string;
  figures: Partial<Record<NamespaceFigure, number>>;
}

/** One host's read: what it said of itself, its listeners and namespaces. */
export interface HostRead {
  hostname: string | null;
  kernel: string | null;
  probe: string | null;
  lostEvents: number;
  /** When its acceptq started (Unix s, acceptq_start_time_seconds); null: not given (an older exporter). */
  startedS: number | null;
  listeners: Map<string, ListenerRead>;
  namespaces: Map<string, NamespaceRead>;
}

/** Within a host: a listener's key, "netns_cookie|address|port" (the end of the key PrometheusSource's queries join). */
export const listenerKey = (l: Record<string, string>) => `${l.netns_cookie}|${l.address}|${l.port}`;

// family -> the listener figures it carries, by path ('' when it has none)
const BY_METRIC = new Map<string, Map<string, ListenerFigure>>();
for (const [figure, m] of LISTENER_FIGURES) {
  if (!BY_METRIC.has(m.metric)) BY_METRIC.set(m.metric, new Map());
  BY_METRIC.get(m.metric)!.set(m.path ?? '', figure);
}
const NAMESPACE_BY_METRIC = new Map(Object.entries(NAMESPACE_METRICS).map(([k, v]) => [v as string, k as NamespaceFigure]));

export function emptyHostRead(): HostRead {
  return { hostname: null, kernel: null, probe: null, lostEvents: 0, startedS: null, listeners: new Map(), namespaces: new Map() };
}

/** A listener's entry, made from the labels of its first sample. */
function listenerOf(h: HostRead, l: Record<string, string>): ListenerRead {
  const key = listenerKey(l);
  let r = h.listeners.get(key);
  if (!r) {
    r = { netns: l.netns ?? '0', netnsCookie: l.netns_cookie ?? '0', address: l.address ?? '', port: Number(l.port) || 0, comm: l.comm ?? '', service: l.service ?? '', open: true, figures: noFigures() };
    h.listeners.set(key, r);
  }
  return r;
}

/** Take one sample of a host (full labels, as the exporter wrote them) into its read. */
export function addSample(h: HostRead, s: Sample): void {
  const figures = BY_METRIC.get(s.name);
  if (figures) {
    const f = figures.get(s.labels.path ?? '');
    if (f) listenerOf(h, s.labels).figures[f] = s.value;
    return;
  }
  if (s.name === LISTENER_IDENTITY) {
    listenerOf(h, s.labels).open = s.value !== 0;
    return;
  }
  const nf = NAMESPACE_BY_METRIC.get(s.name);
  if (nf) {
    const key = s.labels.netns_cookie ?? '0';
    let n = h.namespaces.get(key);
    if (!n) h.namespaces.set(key, (n = { netns: s.labels.netns ?? '0', netnsCookie: key, figures: {} }));
    n.figures[nf] = s.value;
    return;
  }
  if (s.name === HOST_METRICS.probe) h.probe = s.labels.probe ?? null;
  else if (s.name === HOST_METRICS.host) {
    h.hostname = s.labels.hostname ?? null;
    h.kernel = s.labels.kernel ?? null;
  } else if (s.name === HOST_METRICS.lostEvents) h.lostEvents = s.value;
  else if (s.name === HOST_METRICS.startTime) h.startedS = s.value;
}

/** A whole exposition of one host (what --targets scrapes). */
export function hostReadOf(samples: Sample[]): HostRead {
  const h = emptyHostRead();
  for (const s of samples) addSample(h, s);
  return h;
}
