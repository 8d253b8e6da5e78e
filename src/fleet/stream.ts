/**
 * A fleet as a SnapshotStream: each tick, prepare() polls the source (the
 * I/O), next() builds the model's snapshot from it, so every view of a
 * local run (dashboard, --once, --json, run) shows a fleet unchanged.
 *
 * A row is a host's listener; its counts are the host exporter's, as last
 * scraped (exact as the exporter's are), its rates the moves between two
 * scrapes over the time between them. A host that stops answering stays, down,
 * with its last figures and when it was last seen; a host the source no
 * longer names (a target removed from Prometheus) ages out like a closed
 * listener.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { netnsCookieText, netnsIdFromText } from '../model/netns';
import { fieldList, LISTENER_FIELDS } from '../model/fields';
import { rateTotals, reconcile } from '../model/view';
import type { HostRow, ListenerRow, NamespaceRow, Snapshot, SnapshotStream, StreamMeta } from '../model/types';
import { CounterCarry } from './carry';
import type { HostRead, ListenerRead, NamespaceRead } from './figures';
import type { FleetSource, HostPoll, Poll } from './sources';

/** How long a host the source no longer names, and a closed listener, stay shown (as the exporter keeps a closed one). */
export const RETAIN_MS = 120_000;

/** A row as last built, with the cumulative wait figures the next interval's are worked out from. */
interface Kept {
  row: ListenerRow;
  waitCount: number;
  waitSumS: number;
}

/** Two rows alike in every field (a fleet's waitHist is always empty): written out once from the model's field table. */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const sameRow = new Function('a', 'b', `return ${fieldList(LISTENER_FIELDS).filter(([k]) => k !== 'waitHist').map(([k]) => `a.${k} === b.${k}`).join(' && ')};`) as
  (a: ListenerRow, b: ListenerRow) => boolean;

interface HostState {
  row: HostRow;
  /** When the figures shown were scraped; 0: never. */
  scrapedMs: number;
  listeners: ListenerRow[];
  /** Its listeners as last answered, by key. */
  byKey: Map<string, Kept>;
  namespaces: NamespaceRow[];
  nsOverflows: Map<string, number>;
  /** When the source stopped naming it; null while it does. */
  goneMs: number | null;
  /** Its counts across restarts of its acceptq. */
  carry: CounterCarry;
}

const family = (address: string) => (address.includes(':') ? 6 : 4);

export class FleetStream implements SnapshotStream {
  readonly live = true;
  readonly meta: StreamMeta;
  private readonly hosts = new Map<string, HostState>();
  private poll: Poll = { hosts: [], notice: '' };
  private prevTime = 0;
  private askedLastSeen = new Set<string>();
  /** The snapshot next() built last (null before the first). */
  last: Snapshot | null = null;

  constructor(readonly source: FleetSource, intervalS: number, private readonly now: () => number = Date.now) {
    this.meta = { host: source.name, kernel: '', probe: 'fleet', intervalS };
  }

  get requests(): number {
    return this.source.http.requests;
  }

  async prepare(): Promise<void> {
    this.poll = await this.source.poll();
    // a host down since before we looked: when it was last seen, once, from the source's memory
    const unknown = this.poll.hosts.filter((h) => !h.up && !this.hosts.get(h.host)?.row.lastSeenMs && !this.askedLastSeen.has(h.host)).map((h) => h.host);
    if (unknown.length && this.source.lastSeen) {
      unknown.forEach((h) => this.askedLastSeen.add(h));
      try {
        for (const [host, ms] of await this.source.lastSeen(unknown)) this.stateOf(host).row.lastSeenMs = ms;
      } catch {
        // unknown it stays; the poll's notice says if the source is failing
      }
    }
  }

  next(): Snapshot {
    const t = this.now();
    const elapsed = this.prevTime ? Math.max((t - this.prevTime) / 1000, 1e-3) : 0;
    this.prevTime = t;
    const named = new Set<string>();
    for (const p of this.poll.hosts) {
      named.add(p.host);
      const h = this.stateOf(p.host);
      h.goneMs = null;
      if (p.up && p.read) this.take(h, p, p.read);
      else this.down(h, p);
    }
    // a source that failed as a whole names nobody this tick: the hosts keep their state
    if (!this.poll.notice) {
      for (const [host, h] of this.hosts) {
        if (named.has(host)) continue;
        h.goneMs ??= t;
        this.down(h, { host, up: false, scrapedMs: t, error: 'no longer named by the source', read: null });
        if (t - h.goneMs > RETAIN_MS) this.hosts.delete(host);
      }
    }
    const listeners: ListenerRow[] = [];
    const namespaces: NamespaceRow[] = [];
    const hosts: HostRow[] = [];
    const probes = new Set<string>();
    let lostEvents = 0;
    for (const h of [...this.hosts.values()].sort((a, b) => a.row.host.localeCompare(b.row.host))) {
      h.listeners = h.listeners.filter((r) => !r.closed || t - (r.closedMs ?? t) <= RETAIN_MS);
      listeners.push(...h.listeners);
      namespaces.push(...h.namespaces);
      h.row.overflowRate = h.row.up ? h.listeners.reduce((s, r) => s + r.overflowRate, 0) : 0;
      h.row.gap = reconcile(h.namespaces).gap;
      hosts.push({ ...h.row });
      if (h.row.probe) probes.add(h.row.probe);
      lostEvents += h.row.lostEvents;
    }
    this.last = {
      timeMs: t, elapsed, probe: [...probes].sort().join(',') || 'none', notice: this.poll.notice,
      lostEvents, suppressedEvents: 0, mapFull: 0, lostArrivals: 0, lostWaits: 0, lostListens: 0,
      snapshotMs: 0, listeners, namespaces, events: [], hosts, source: this.source.kind,
      ...rateTotals(listeners, namespaces),
    };
    return this.last;
  }

  /**
   * Poll until every host that answers was scraped at least 250 ms after
   * afterMs (an exporter serves what it read within the last 250 ms), or
   * timeoutMs passed: a run's last figures are from after its command.
   */
  async settle(afterMs: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await sleep(300);
    for (;;) {
      await this.prepare();
      if (!this.poll.hosts.some((h) => h.up && h.scrapedMs < afterMs + 250) || Date.now() > deadline) return;
      await sleep(250);
    }
  }

  /** A listener's overflows/s (null: the fleet's) before the stream started, where the source remembers them. */
  async history(r: ListenerRow | null, points: number): Promise<number[] | null> {
    if (!this.source.history) return null;
    const of = r ? { host: r.host, netnsCookie: netnsCookieText(r.netnsCookie), address: r.address, port: r.port } : null;
    return this.source.history(of, points, this.meta.intervalS);
  }

  private stateOf(host: string): HostState {
    let h = this.hosts.get(host);
    if (!h) {
      h = {
        row: {
          host, up: false, lastSeenMs: null, error: null, hostname: null, kernel: null, probe: null, startedMs: null, restarts: 0, restartedMs: null,
          overflowRate: 0, gap: 0, lostEvents: 0,
        },
        scrapedMs: 0, listeners: [], byKey: new Map(), namespaces: [], nsOverflows: new Map(), goneMs: null, carry: new CounterCarry(),
      };
      this.hosts.set(host, h);
    }
    return h;
  }

  /** A host that answered: its rows from its read, rates against its previous scrape. */
  private take(h: HostState, p: HostPoll, read: HostRead): void {
    // the scrape shown already (Prometheus has not scraped since): its rows stand, the same objects;
    // a poll torn by a restart: the last figures stand until the next
    if ((h.row.up && h.scrapedMs === p.scrapedMs) || p.torn) return;
    h.carry.carry(read, p.scrapedMs);
    const dt = h.scrapedMs && p.scrapedMs > h.scrapedMs ? (p.scrapedMs - h.scrapedMs) / 1000 : 0;
    const byKey = new Map<string, Kept>();
    const rows: ListenerRow[] = [];
    for (const [key, l] of read.listeners) {
      const was = h.byKey.get(key);
      const row = listenerRow(p.host, l, was?.row);
      const waitCount = l.figures.waitCount ?? 0;
      const waitSumS = l.figures.waitSumS ?? 0;
      if (was && dt > 0) {
        row.overflowRate = Math.max(row.overflows - was.row.overflows, 0) / dt;
        row.arrivalRate = Math.max(row.arrivals - was.row.arrivals, 0) / dt;
        row.acceptRate = Math.max(row.accepts - was.row.accepts, 0) / dt;
        row.waitCount = Math.max(waitCount - was.waitCount, 0);
        row.waitMeanMs = row.waitCount ? (Math.max(waitSumS - was.waitSumS, 0) / row.waitCount) * 1000 : null;
      }
      if (row.closed) row.closedMs = was?.row.closedMs ?? p.scrapedMs;
      // a row that did not move is the previous object: the sort keeps its place for nothing
      const kept = was && sameRow(was.row, row) ? was.row : row;
      byKey.set(key, { row: kept, waitCount, waitSumS });
      rows.push(kept);
    }
    const nsOverflows = new Map<string, number>();
    h.namespaces = [...read.namespaces.values()].map((n) => {
      const row = namespaceRow(p.host, n);
      nsOverflows.set(n.netnsCookie, row.listenOverflows);
      const was = h.nsOverflows.get(n.netnsCookie);
      row.overflowRate = dt > 0 && was !== undefined ? Math.max(row.listenOverflows - was, 0) / dt : 0;
      return row;
    });
    h.byKey = byKey;
    h.nsOverflows = nsOverflows;
    h.scrapedMs = p.scrapedMs;
    h.listeners = rows;
    Object.assign(h.row, {
      up: true, lastSeenMs: p.scrapedMs, error: null, hostname: read.hostname, kernel: read.kernel, probe: read.probe, lostEvents: read.lostEvents,
      startedMs: read.startedS === null ? null : Math.round(read.startedS * 1000), restarts: h.carry.restarts, restartedMs: h.carry.restartedMs,
    });
  }

  /** A host that did not answer: its last rows, marked, their rates 0. */
  private down(h: HostState, p: HostPoll): void {
    const already = !h.row.up && h.listeners.every((r) => r.hostDown);
    h.row.up = false;
    h.row.error = p.error;
    // marked at the tick it went down: the same rows stand (a sort keeps their place for nothing)
    if (already) return;
    h.listeners = h.listeners.map((r) => ({ ...r, hostDown: true, overflowRate: 0, arrivalRate: 0, acceptRate: 0, waitCount: 0, waitMeanMs: null }));
    h.namespaces = h.namespaces.map((n) => ({ ...n, overflowRate: 0 }));
  }
}

/** A listener's row from a host's read; rates 0 until a second scrape. was: its row of the scrape before (its id is the same). */
export function listenerRow(host: string, l: ListenerRead, was?: ListenerRow): ListenerRow {
  const f = l.figures;
  const netnsCookie = was ? was.netnsCookie : netnsIdFromText(l.netnsCookie);
  const fam = family(l.address);
  const overflowsSyn = f.overflowsSyn ?? 0;
  const overflowsAck = f.overflowsAck ?? 0;
  return {
    id: was ? was.id : `${host}|${netnsCookie}|${fam}|${l.address}|${l.port}`, host, hostDown: false,
    netns: Number(l.netns) || 0, netnsCookie, family: fam, address: l.address, port: l.port,
    pid: f.pid ?? 0, comm: l.comm, uid: 0, cgroupId: 0, inode: 0, cgroup: '', service: l.service,
    sockets: f.sockets ?? 0, backlog: f.backlog ?? 0, maxBacklog: f.maxBacklog ?? 0, requestedBacklog: f.requestedBacklog ?? null,
    peakBacklog: f.peakBacklog ?? 0, synBacklog: f.synBacklog ?? 0,
    overflows: overflowsSyn + overflowsAck, overflowsSyn, overflowsAck, synDrops: f.synDrops ?? 0, cookies: f.cookies ?? 0,
    estimate: (f.estimate ?? 0) !== 0, arrivals: f.arrivals ?? 0, accepts: f.accepts ?? 0,
    overflowRate: 0, arrivalRate: 0, acceptRate: 0,
    oldestWaitMs: f.oldestWaitS ? f.oldestWaitS * 1000 : null,
    // the exporter gives the waits' count and sum, not their spread
    waitCount: 0, waitMeanMs: null, waitMinMs: null, waitMaxMs: null, waitP50Ms: null, waitP99Ms: null, waitHist: [],
    // when it first overflowed is not exported; when it last did is
    firstOverflowMs: null, lastOverflowMs: f.lastOverflowS ? Math.round(f.lastOverflowS * 1000) : null,
    closed: !l.open, closedMs: null,
  };
}

function namespaceRow(host: string, n: NamespaceRead): NamespaceRow {
  const f = n.figures;
  return {
    host, netns: Number(n.netns) || 0, cookie: netnsIdFromText(n.netnsCookie), pid: 0,
    listenOverflows: f.listenOverflows ?? 0, listenDrops: f.listenDrops ?? 0, syncookiesSent: f.syncookiesSent ?? 0, reqQFullDrops: f.reqQFullDrops ?? 0,
    unattributed: f.unattributed ?? 0, unattributedSynDrops: f.unattributedSynDrops ?? 0, unattributedCookies: f.unattributedCookies ?? 0,
    unmatched: f.unmatched ?? 0, estimate: (f.estimate ?? 0) !== 0, overflowRate: 0, gone: false,
    somaxconn: f.somaxconn ?? null, maxSynBacklog: f.maxSynBacklog ?? null, syncookies: f.syncookies ?? null, abortOnOverflow: f.abortOnOverflow ?? null,
  };
}

/**
 * The rows a table shows: a snapshot's, and one for each down host that has
 * none (it is never dropped silently), figures all 0 and marked down.
 */
export function withDownHosts(s: Snapshot): ListenerRow[] {
  const down = s.hosts?.filter((h) => !h.up);
  if (!down?.length) return s.listeners;
  const shown = new Set(s.listeners.map((r) => r.host));
  const extra = down.filter((h) => !shown.has(h.host)).map((h): ListenerRow => ({
    ...listenerRow(h.host, { netns: '0', netnsCookie: '0', address: '', port: 0, comm: '', service: '', open: true, figures: {} }),
    id: `${h.host}|down`, hostDown: true,
  }));
  return extra.length ? [...s.listeners, ...extra] : s.listeners;
}
