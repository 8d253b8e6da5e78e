/**
 * Where a fleet's figures come from, one poll a tick:
 * - PrometheusSource: a fixed number of instant queries to the Prometheus
 *   HTTP API, however many hosts (the hosts and whether their last scrape
 *   answered, when that was, every listener's labels, and one query a
 *   figure, of the listeners where it is not 0; each host's start time
 *   before and after them); range queries for history.
 * - TargetsSource: each `acceptq export` endpoint scraped directly.
 * Both answer with the same HostPoll per host.
 */
import { addSample, emptyHostRead, hostReadOf, LISTENER_FIGURES, noFigures, LISTENER_IDENTITY, LISTENER_METRICS, NAMESPACE_METRICS, HOST_METRICS, type FigureSpec, type HostRead, type ListenerFigure, type ListenerRead } from './figures';
import { parseExposition } from './exposition';
import { HttpClient, HttpError } from './http';

/** A listener's series: its host and labels. */
export interface SeriesOf {
  host: string;
  netnsCookie: string;
  address: string;
  port: number;
}

/** One host in a poll: up (and its read) or down (and why). */
export interface HostPoll {
  host: string;
  up: boolean;
  /** Unix ms of the scrape the figures are from (up), or of the failed one. */
  scrapedMs: number;
  error: string | null;
  read: HostRead | null;
  /**
   * Its figures came from two runs of its acceptq (it restarted between the
   * queries of one poll, so some saw the old one, some the new): not to be
   * shown; the next poll's are whole.
   */
  torn?: boolean;
}

export interface Poll {
  hosts: HostPoll[];
  /** What went wrong with the source itself ('' if nothing): Prometheus unreachable, a query refused. */
  notice: string;
}

export interface FleetSource {
  readonly kind: 'prometheus' | 'targets';
  /** A short name for the header: the Prometheus URL or "N targets". */
  readonly name: string;
  readonly http: HttpClient;
  poll(): Promise<Poll>;
  /** A listener's overflows/s (null: the fleet's) at the last `points` steps, oldest first (Prometheus only). */
  history?(l: SeriesOf | null, points: number, stepS: number): Promise<number[]>;
  /** When each of these hosts last answered a scrape, as far back as the source remembers (Prometheus only). */
  lastSeen?(hosts: string[]): Promise<Map<string, number>>;
}

// ---- Prometheus ----

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
interface MatrixSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

/** A label value inside a PromQL string literal. */
const quote = (v: string) => JSON.stringify(v);

/** What a listener is, from its full labels: kept between the ticks that read them. */
interface Identity {
  netns: string;
  comm: string;
  service: string;
}

/** Every how many polls the slow part is read again (and whenever a listener appears). */
const SLOW_EVERY = 10;

export class PrometheusSource implements FleetSource {
  readonly kind = 'prometheus';
  readonly name: string;
  private readonly base: URL;
  /** Each host's up (1 if any job's last scrape of it answered), and when its last scrape was. */
  private readonly up: string;
  private readonly scrapedAt: string;
  /** The hosts and their namespaces: the kernel's counters, the gaps, the sysctls, what each host says of itself (small: every tick). */
  private readonly hostsQuery: string;
  /**
   * Each host's acceptq_start_time_seconds (every job's): asked before a
   * poll's other queries and after them. A host whose start time is not one
   * and the same throughout restarted while they ran (or two jobs scraped
   * two runs of it): some of its figures may be of the old run, some of
   * the new; its poll is torn.
   */
  private readonly startedQuery: string;
  /** Every listener, by key, its value 1 if open: what exists this tick. */
  private readonly listenersQuery: string;
  /** Every listener's full labels (its namespace's inode, comm, service): the slow part. */
  private readonly identityQuery: string;
  /**
   * One query a figure, each series' labels joined into one
   * ("instance|netns_cookie|address|port"): run side by side, Prometheus
   * answers them on every core (one query joining the figures with `or`
   * took 4 times as long; the joined label is a third less to send and parse).
   */
  private readonly fast: Array<[ListenerFigure, string]>;
  private readonly slow: Array<[ListenerFigure, string]>;
  private readonly slowNames: ListenerFigure[];
  private polls = 0;
  /** Of the last slow read: each listener's identity and slow figures, by joined key. */
  private identities = new Map<string, Identity>();
  private slowFigures = new Map<string, Partial<Record<ListenerFigure, number>>>();

  /** selector: PromQL label matchers without braces (`job="acceptq"`); '' = every job that exports acceptq's metrics. */
  constructor(url: string, private readonly selector: string, readonly http: HttpClient) {
    this.base = new URL(url.endsWith('/') ? url : url + '/');
    this.name = url;
    const sel = (more = '') => `{${[selector, more].filter(Boolean).join(',')}}`;
    // max, not sum: one series a key in a job; the same exporter scraped by two jobs is one host, counted once
    const joined = (v: string) => `max by (k) (label_join(${v}, "k", "|", "instance", "netns_cookie", "address", "port"))`;
    // a job is acceptq's if it exported acceptq's metrics within the hour (its hosts may all be down now;
    // max_over_time, not last_over_time: Debian 11's Prometheus, 2.24, has no last_over_time)
    const up = selector ? `up${sel()}` : `up and on(job) group by (job) (max_over_time(${HOST_METRICS.probe}[1h]))`;
    this.up = `max by (instance) (${up})`;
    this.scrapedAt = `max by (instance) (timestamp(${up}))`;
    const names = [...Object.values(NAMESPACE_METRICS), ...Object.values(HOST_METRICS)];
    this.hostsQuery = `{__name__=~"${names.join('|')}"${selector ? `,${selector}` : ''}}`;
    this.listenersQuery = joined(`${LISTENER_IDENTITY}${sel()}`);
    this.identityQuery = `${LISTENER_IDENTITY}${sel()}`;
    this.startedQuery = `${HOST_METRICS.startTime}${sel()}`;
    // a figure only where it is not 0 (absent: 0); a `present` one wherever it is
    const query = ([f, m]: [ListenerFigure, FigureSpec]): [ListenerFigure, string] =>
      [f, joined(`${m.metric}${sel(m.path ? `path="${m.path}"` : '')} ${m.present ? '>= -Inf' : '!= 0'}`)];
    this.fast = LISTENER_FIGURES.filter(([, m]) => !m.slow).map(query);
    this.slow = LISTENER_FIGURES.filter(([, m]) => m.slow).map(query);
    this.slowNames = this.slow.map(([f]) => f);
  }

  /** Instant queries a poll makes: every tick's, and the slow part's (every 10th tick, and when a listener appears). */
  get queriesPerPoll(): { every: number; slow: number } {
    return { every: 6 + this.fast.length, slow: 1 + this.slow.length };
  }

  private async api<T>(path: string, params: Record<string, string>): Promise<T> {
    const u = new URL(path, this.base);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    const body = await this.http.get(u, 'application/json');
    let j: any;
    try {
      j = JSON.parse(body);
    } catch {
      throw new HttpError(`${u.pathname}: not a Prometheus answer (not JSON)`);
    }
    if (j?.status !== 'success') throw new HttpError(`${u.pathname}: ${j?.error ?? 'not a Prometheus answer'}`);
    return j.data.result as T;
  }

  private query(q: string): Promise<VectorSample[]> {
    return this.api<VectorSample[]>('api/v1/query', { query: q });
  }

  private figureQueries(qs: Array<[ListenerFigure, string]>): Promise<Array<[ListenerFigure, VectorSample[]]>> {
    return Promise.all(qs.map(async ([f, q]): Promise<[ListenerFigure, VectorSample[]]> => [f, await this.query(q)]));
  }

  /** Read the slow part again: every listener's identity and slow figures. */
  private async readSlow(): Promise<void> {
    const [ids, figures] = await Promise.all([this.query(this.identityQuery), this.figureQueries(this.slow)]);
    const identities = new Map<string, Identity>();
    for (const s of ids) {
      const m = s.metric;
      identities.set(`${m.instance ?? ''}|${m.netns_cookie}|${m.address}|${m.port}`, { netns: m.netns ?? '0', comm: m.comm ?? '', service: m.service ?? '' });
    }
    const slowFigures = new Map<string, Partial<Record<ListenerFigure, number>>>();
    for (const [f, samples] of figures) {
      for (const s of samples) {
        const k = s.metric.k ?? '';
        let v = slowFigures.get(k);
        if (!v) slowFigures.set(k, (v = {}));
        v[f] = Number(s.value[1]);
      }
    }
    this.identities = identities;
    this.slowFigures = slowFigures;
  }

  async poll(): Promise<Poll> {
    let up: VectorSample[], at: VectorSample[], hostSamples: VectorSample[], listeners: VectorSample[], figures: Array<[ListenerFigure, VectorSample[]]>;
    let opening: VectorSample[], closing: VectorSample[];
    try {
      const slowDue = this.polls++ % SLOW_EVERY === 0;
      opening = await this.query(this.startedQuery);
      [up, at, hostSamples, listeners, figures] = await Promise.all([
        this.query(this.up), this.query(this.scrapedAt), this.query(this.hostsQuery), this.query(this.listenersQuery),
        this.figureQueries(this.fast), slowDue ? this.readSlow() : undefined,
      ]);
      // a listener new since the slow part was read: read it again now (its process, namespace, backlog)
      if (!slowDue && listeners.some((s) => !this.identities.has(s.metric.k ?? ''))) await this.readSlow();
      closing = await this.query(this.startedQuery);
    } catch (e) {
      return { hosts: [], notice: `Prometheus ${this.name}: ${(e as Error).message}; retrying` };
    }
    const reads = new Map<string, HostRead>();
    const readOf = (instance: string) => {
      let h = reads.get(instance);
      if (!h) reads.set(instance, (h = emptyHostRead()));
      return h;
    };
    for (const s of hostSamples) addSample(readOf(s.metric.instance ?? ''), { name: s.metric.__name__, labels: s.metric, value: Number(s.value[1]) });
    // the listeners that exist now, with their identity and slow figures as last read
    const byKey = new Map<string, ListenerRead>();
    for (const s of listeners) {
      const k = s.metric.k ?? '';
      const [instance, netnsCookie, address, port] = k.split('|');
      const id = this.identities.get(k);
      const l: ListenerRead = {
        netns: id?.netns ?? '0', netnsCookie, address, port: Number(port) || 0, comm: id?.comm ?? '', service: id?.service ?? '',
        open: Number(s.value[1]) !== 0, figures: noFigures(),
      };
      const slow = this.slowFigures.get(k);
      if (slow) for (const f of this.slowNames) l.figures[f] = slow[f];
      byKey.set(k, l);
      readOf(instance).listeners.set(k.slice(k.indexOf('|') + 1), l);
    }
    for (const [figure, samples] of figures) {
      for (const s of samples) {
        const l = byKey.get(s.metric.k ?? '');
        if (l) l.figures[figure] = Number(s.value[1]);
      }
    }
    // each host's start times before, during and after the poll: more than one, and the poll tore a restart
    const starts = new Map<string, Set<number>>();
    for (const s of [...opening, ...hostSamples.filter((x) => x.metric.__name__ === HOST_METRICS.startTime), ...closing]) {
      const instance = s.metric.instance ?? '';
      (starts.get(instance) ?? starts.set(instance, new Set()).get(instance)!).add(Number(s.value[1]));
    }
    const scraped = new Map(at.map((s) => [s.metric.instance ?? '', Number(s.value[1]) * 1000]));
    const hosts: HostPoll[] = up.map((s) => {
      const host = s.metric.instance ?? '';
      const isUp = Number(s.value[1]) === 1;
      return {
        host, up: isUp, scrapedMs: scraped.get(host) ?? Date.now(),
        error: isUp ? null : `Prometheus's last scrape of it failed (up == 0)`,
        read: isUp ? reads.get(host) ?? emptyHostRead() : null,
        torn: (starts.get(host)?.size ?? 0) > 1,
      };
    });
    return { hosts, notice: '' };
  }

  async history(l: SeriesOf | null, points: number, stepS: number): Promise<number[]> {
    const sel = [this.selector, ...(l ? [`instance=${quote(l.host)}`, `netns_cookie=${quote(l.netnsCookie)}`, `address=${quote(l.address)}`, `port="${l.port}"`] : [])];
    // both paths' overflows, the rate between the last two scrapes at each step (a series scraped by two jobs, once)
    const rates = `irate(${LISTENER_METRICS.overflowsSyn.metric}{${sel.filter(Boolean).join(',')}}[1m])`;
    return this.range(`sum(max by (instance, netns_cookie, address, port, path) (${rates}))`, points, stepS);
  }

  /** One series over the last `points` steps, oldest first; a step without a value is 0. */
  private async range(q: string, points: number, stepS: number): Promise<number[]> {
    const end = Math.floor(Date.now() / 1000);
    const start = end - (points - 1) * stepS;
    const r = await this.api<MatrixSeries[]>('api/v1/query_range', { query: q, start: String(start), end: String(end), step: String(stepS) });
    const out = new Array<number>(points).fill(0);
    for (const [t, v] of r[0]?.values ?? []) {
      const i = Math.round((t - start) / stepS);
      if (i >= 0 && i < points) out[i] = Number(v) || 0;
    }
    return out;
  }

  async lastSeen(hosts: string[]): Promise<Map<string, number>> {
    // the last hour of up, a point a second (within the API's 11,000 points a series)
    const end = Math.floor(Date.now() / 1000);
    const sel = [this.selector, `instance=~${quote(hosts.map((h) => h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'))}`].filter(Boolean).join(',');
    const r = await this.api<MatrixSeries[]>('api/v1/query_range', { query: `up{${sel}}`, start: String(end - 3600), end: String(end), step: '1' });
    const seen = new Map<string, number>();
    for (const s of r) {
      for (const [t, v] of s.values) if (v === '1') seen.set(s.metric.instance ?? '', Math.max(seen.get(s.metric.instance ?? '') ?? 0, t * 1000));
    }
    return seen;
  }
}

// ---- targets ----

export class TargetsSource implements FleetSource {
  readonly kind = 'targets';
  readonly name: string;
  private readonly urls: Array<{ host: string; url: URL }>;

  /** targets: HOST:PORT (http) or a URL (http[s]://host:port[/path], /metrics by default). */
  constructor(targets: string[], readonly http: HttpClient) {
    this.urls = targets.map((t) => ({ host: t, url: targetUrl(t) }));
    this.name = `${targets.length} target${targets.length === 1 ? '' : 's'}`;
  }

  async poll(): Promise<Poll> {
    const hosts = await Promise.all(this.urls.map(async ({ host, url }): Promise<HostPoll> => {
      try {
        const body = await this.http.get(url);
        return { host, up: true, scrapedMs: Date.now(), error: null, read: hostReadOf(parseExposition(body)) };
      } catch (e) {
        return { host, up: false, scrapedMs: Date.now(), error: (e as Error).message, read: null };
      }
    }));
    return { hosts, notice: '' };
  }
}

/** A target as a URL: HOST:PORT, [V6]:PORT, or http(s)://HOST:PORT[/path]. Throws on anything else. */
export function targetUrl(t: string): URL {
  const withScheme = /^https?:\/\//.test(t) ? t : `http://${t}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new Error(`--targets wants HOST:PORT or http(s)://HOST:PORT, not '${t}'`);
  }
  if (!u.port || u.username || u.password || u.search || u.hash) throw new Error(`--targets wants HOST:PORT or http(s)://HOST:PORT, not '${t}'`);
  if (u.pathname === '/') u.pathname = '/metrics';
  return u;
}
