/**
 * Where a fleet's figures come from, one poll a tick:
 * - PrometheusSource: a fixed number of instant queries to the Prometheus
 *   HTTP API, however many hosts (the hosts and whether their last scrape
 *   answered, when that was, every listener's labels, and one query a
 *   figure, of the listeners where it is not 0); range queries for history.
 * - TargetsSource: each `acceptq export` endpoint scraped directly.
 * Both answer with the same HostPoll per host.
 */
import { addSample, emptyHostRead, hostReadOf, LISTENER_IDENTITY, LISTENER_METRICS, NAMESPACE_METRICS, HOST_METRICS, type HostRead, type ListenerFigure } from './figures';
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

export class PrometheusSource implements FleetSource {
  readonly kind = 'prometheus';
  readonly name: string;
  private readonly base: URL;
  private readonly up: string;
  /** One query a figure: run side by side, Prometheus answers them on every core (one query joining them with `or` took 4 times as long). */
  private readonly figures: Array<[ListenerFigure, string]>;
  private readonly rest: string;

  /** selector: PromQL label matchers without braces (`job="acceptq"`); '' = every job that exports acceptq's metrics. */
  constructor(url: string, private readonly selector: string, readonly http: HttpClient) {
    this.base = new URL(url.endsWith('/') ? url : url + '/');
    this.name = url;
    const sel = (more = '') => `{${[selector, more].filter(Boolean).join(',')}}`;
    // a job is acceptq's if it exported acceptq's metrics within the hour (its hosts may all be down now)
    this.up = selector ? `up${sel()}` : `up and on(job) group by (job) (last_over_time(${HOST_METRICS.probe}[1h]))`;
    // a figure a series, labelled with its name, only where it is not 0 (absent: 0); `present` ones wherever they are
    this.figures = (Object.entries(LISTENER_METRICS) as Array<[ListenerFigure, { metric: string; path?: string; present?: boolean }]>)
      // each series' labels joined into one, "instance|netns_cookie|address|port": a third less to send and parse
      .map(([f, m]) => [f, `sum by (k) (label_join(${m.metric}${sel(m.path ? `path="${m.path}"` : '')} ${m.present ? '>= -Inf' : '!= 0'}, "k", "|", "instance", "netns_cookie", "address", "port"))`]);
    const names = [LISTENER_IDENTITY, ...Object.values(NAMESPACE_METRICS), ...Object.values(HOST_METRICS)];
    this.rest = `{__name__=~"${names.join('|')}"${selector ? `,${selector}` : ''}}`;
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

  async poll(): Promise<Poll> {
    let up: VectorSample[], at: VectorSample[], rest: VectorSample[], figures: VectorSample[][];
    try {
      [up, at, rest, figures] = await Promise.all([
        this.query(this.up), this.query(`timestamp(${this.up})`), this.query(this.rest), Promise.all(this.figures.map(([, q]) => this.query(q))),
      ]);
    } catch (e) {
      return { hosts: [], notice: `Prometheus ${this.name}: ${(e as Error).message}; retrying` };
    }
    const reads = new Map<string, HostRead>();
    const readOf = (instance: string) => {
      let h = reads.get(instance);
      if (!h) reads.set(instance, (h = emptyHostRead()));
      return h;
    };
    for (const s of rest) addSample(readOf(s.metric.instance ?? ''), { name: s.metric.__name__, labels: s.metric, value: Number(s.value[1]) });
    this.figures.forEach(([figure], i) => {
      for (const s of figures[i]) {
        // a figure of a listener whose identity this answer had (the queries ran at one moment, nearly)
        const k = s.metric.k ?? '';
        const cut = k.indexOf('|');
        const l = reads.get(k.slice(0, cut))?.listeners.get(k.slice(cut + 1));
        if (l) l.figures[figure] = Number(s.value[1]);
      }
    });
    const scraped = new Map(at.map((s) => [s.metric.instance ?? '', Number(s.value[1]) * 1000]));
    const hosts: HostPoll[] = up.map((s) => {
      const host = s.metric.instance ?? '';
      const isUp = Number(s.value[1]) === 1;
      return {
        host, up: isUp, scrapedMs: scraped.get(host) ?? Date.now(),
        error: isUp ? null : `Prometheus's last scrape of it failed (up == 0)`,
        read: isUp ? reads.get(host) ?? emptyHostRead() : null,
      };
    });
    return { hosts, notice: '' };
  }

  async history(l: SeriesOf | null, points: number, stepS: number): Promise<number[]> {
    const sel = [this.selector, ...(l ? [`instance=${quote(l.host)}`, `netns_cookie=${quote(l.netnsCookie)}`, `address=${quote(l.address)}`, `port="${l.port}"`] : [])];
    // both paths' overflows, the rate between the last two scrapes at each step
    return this.range(`sum(irate(${LISTENER_METRICS.overflowsSyn.metric}{${sel.filter(Boolean).join(',')}}[1m]))`, points, stepS);
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
