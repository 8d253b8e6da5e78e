/**
 * What a run saw, listener by listener: built from the snapshots taken
 * while a command ran (acceptq run). Pure, so it is tested on recorded data.
 * Counts are what happened during the run; a listener whose split among the
 * listeners of its namespace was an estimate at any point says so, and every
 * namespace whose gaps moved during the run is listed with them. Each
 * listener keeps the diagnosis of its worst interval (the most drops and
 * cookies per second), or of the first one that had a diagnosis.
 */
import { diagnose, synRates, type Diagnosis } from './diagnosis';
import { COUNT_FIELDS, type CountField } from './fields';
import { gapSize, type Gaps } from './view';
import type { ListenerRow, NamespaceRow, Snapshot } from './types';

/** Identity and counts as the rows have them; the counts are what happened during the run. */
type RowPart = Pick<
  ListenerRow,
  'host' | 'netns' | 'family' | 'address' | 'port' | 'pid' | 'comm' | 'overflows' | 'overflowsSyn' | 'overflowsAck' | 'synDrops' | 'cookies'
  | 'estimate' | 'firstOverflowMs' | 'lastOverflowMs' | 'closed' | 'arrivals' | 'accepts'
>;

export interface ListenerSummary extends RowPart {
  /** Deepest accept queue seen, against what the kernel admits. */
  peakBacklog: number;
  capacity: number;
  /** Highest overflows per second over one interval. */
  worstRate: number;
  worstAtMs: number | null;
  /** The longest a connection was seen waiting in the accept queue, ms: the longest timed accept or the oldest still waiting at a sample; null if none. */
  worstWaitMs: number | null;
  /** Why it overflowed (see diagnosis.ts), from its worst interval; null if it kept up. */
  diagnosis: Diagnosis | null;
}

/** A namespace's gaps over the run (see NamespaceRow); estimate: at any point during it. */
export interface NamespaceSummary extends Gaps {
  /** A fleet's host ('' on a local run). */
  host: string;
  netns: number;
}

/** A namespace's key in a run: its id, within its host (each host's ids count from 1). */
const nsKey = (host: string, cookie: number) => `${host}|${cookie}`;

const GAP_FIELDS = ['unattributed', 'unattributedSynDrops', 'unattributedCookies', 'unmatched'] as const;

export class RunSummary {
  private rows = new Map<string, ListenerSummary>();
  private base = new Map<string, ListenerRow>();
  private nsBase = new Map<string, NamespaceRow>();
  private ns = new Map<string, NamespaceSummary>();
  // the score of the interval each listener's diagnosis comes from
  private worstScore = new Map<string, number>();
  private prev: Snapshot | null = null;
  private first = true;

  /** Listeners that existed before the run count only what happened during it. */
  add(s: Snapshot): void {
    const before = new Map(this.prev?.listeners.map((r) => [r.id, r]));
    const namespaces = new Map(s.namespaces.map((n) => [nsKey(n.host, n.cookie), n]));
    for (const r of s.listeners) {
      if (this.first) this.base.set(r.id, r);
      const b = this.base.get(r.id);
      const minus = (k: CountField) => r[k] - (b?.[k] ?? 0);
      const counts = Object.fromEntries(COUNT_FIELDS.map((k) => [k, minus(k)])) as Record<CountField, number>;
      const prev = this.rows.get(r.id);
      const rate = this.first ? 0 : r.overflowRate;
      let diagnosis = prev?.diagnosis ?? null;
      if (!this.first) {
        const syn = synRates(r, before.get(r.id), s.elapsed);
        const d = diagnose(r, namespaces.get(nsKey(r.host, r.netnsCookie)), syn);
        const score = r.overflowRate + syn.synDropRate + syn.cookieRate;
        if (d && (!diagnosis || score > (this.worstScore.get(r.id) ?? 0))) {
          diagnosis = d;
          this.worstScore.set(r.id, score);
        }
      }
      const wait = this.first ? null : Math.max(r.waitMaxMs ?? 0, r.oldestWaitMs ?? 0);
      const sum: ListenerSummary = {
        host: r.host,
        netns: r.netns,
        family: r.family,
        address: r.address,
        port: r.port,
        pid: r.pid || prev?.pid || 0,
        comm: r.comm || prev?.comm || '',
        ...counts,
        estimate: r.estimate || !!prev?.estimate,
        peakBacklog: Math.max(prev?.peakBacklog ?? 0, r.peakBacklog, r.backlog),
        capacity: Math.max(prev?.capacity ?? 0, r.closed ? 0 : r.maxBacklog + Math.max(1, r.sockets)),
        worstRate: Math.max(prev?.worstRate ?? 0, rate),
        worstAtMs: rate > (prev?.worstRate ?? 0) ? s.timeMs : prev?.worstAtMs ?? null,
        firstOverflowMs: counts.overflows > 0 ? (b && b.overflows > 0 ? prev?.firstOverflowMs ?? r.lastOverflowMs : r.firstOverflowMs) : null,
        lastOverflowMs: counts.overflows > 0 ? r.lastOverflowMs : null,
        closed: r.closed,
        arrivals: r.arrivals - (b?.arrivals ?? 0),
        accepts: r.accepts - (b?.accepts ?? 0),
        worstWaitMs: wait ? Math.max(wait, prev?.worstWaitMs ?? 0) : prev?.worstWaitMs ?? null,
        diagnosis,
      };
      this.rows.set(r.id, sum);
    }
    for (const n of s.namespaces) {
      const key = nsKey(n.host, n.cookie);
      if (this.first) this.nsBase.set(key, n);
      const b = this.nsBase.get(key);
      const gaps = Object.fromEntries(GAP_FIELDS.map((k) => [k, n[k] - (b?.[k] ?? 0)])) as Record<(typeof GAP_FIELDS)[number], number>;
      this.ns.set(key, { host: n.host, netns: n.netns, ...gaps, estimate: n.estimate || !!this.ns.get(key)?.estimate });
    }
    this.first = false;
    this.prev = s;
  }

  /** Listeners that saw queue pressure: drops of any kind, cookies, a full queue, or a diagnosis. */
  pressured(): ListenerSummary[] {
    return [...this.rows.values()]
      .filter((r) => r.overflows > 0 || r.synDrops > 0 || r.cookies > 0 || (r.capacity > 0 && r.peakBacklog >= r.capacity) || r.diagnosis)
      .sort((a, b) => b.overflows - a.overflows || b.worstRate - a.worstRate);
  }

  /** Namespaces where the kernel and acceptq did not agree during the run, or the split was an estimate. */
  gaps(): NamespaceSummary[] {
    return [...this.ns.values()].filter((n) => gapSize(n) > 0 || n.unmatched !== 0 || n.estimate);
  }

  anyOverflow(): boolean {
    return this.pressured().some((r) => r.overflows > 0);
  }
}
