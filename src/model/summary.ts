/**
 * What a run saw, listener by listener: built from the snapshots taken
 * while a command ran (acceptq run). Pure, so it is tested on recorded data.
 */
import type { ListenerRow, Snapshot } from './types';

export interface ListenerSummary {
  netns: number;
  family: 4 | 6;
  address: string;
  port: number;
  pid: number;
  comm: string;
  overflows: number;
  overflowsSyn: number;
  overflowsAck: number;
  synDrops: number;
  cookies: number;
  /** Deepest accept queue seen, against what the kernel admits. */
  peakBacklog: number;
  capacity: number;
  /** Highest overflows per second over one interval. */
  worstRate: number;
  worstAtMs: number | null;
  firstOverflowMs: number | null;
  lastOverflowMs: number | null;
  closed: boolean;
}

export class RunSummary {
  private rows = new Map<string, ListenerSummary>();
  private base = new Map<string, ListenerRow>();
  private first = true;

  /** Listeners that existed before the run count only what happened during it. */
  add(s: Snapshot): void {
    for (const r of s.listeners) {
      if (this.first) this.base.set(r.id, r);
      const b = this.base.get(r.id);
      const minus = (k: 'overflows' | 'overflowsSyn' | 'overflowsAck' | 'synDrops' | 'cookies') => r[k] - (b?.[k] ?? 0);
      const prev = this.rows.get(r.id);
      const rate = this.first ? 0 : r.overflowRate;
      const sum: ListenerSummary = {
        netns: r.netns,
        family: r.family,
        address: r.address,
        port: r.port,
        pid: r.pid || prev?.pid || 0,
        comm: r.comm || prev?.comm || '',
        overflows: minus('overflows'),
        overflowsSyn: minus('overflowsSyn'),
        overflowsAck: minus('overflowsAck'),
        synDrops: minus('synDrops'),
        cookies: minus('cookies'),
        peakBacklog: Math.max(prev?.peakBacklog ?? 0, r.peakBacklog, r.backlog),
        capacity: Math.max(prev?.capacity ?? 0, r.closed ? 0 : r.maxBacklog + Math.max(1, r.sockets)),
        worstRate: Math.max(prev?.worstRate ?? 0, rate),
        worstAtMs: rate > (prev?.worstRate ?? 0) ? s.timeMs : prev?.worstAtMs ?? null,
        firstOverflowMs: minus('overflows') > 0 ? (b && b.overflows > 0 ? prev?.firstOverflowMs ?? r.lastOverflowMs : r.firstOverflowMs) : null,
        lastOverflowMs: minus('overflows') > 0 ? r.lastOverflowMs : null,
        closed: r.closed,
      };
      this.rows.set(r.id, sum);
    }
    this.first = false;
  }

  /** Listeners that saw queue pressure: drops of any kind, cookies, or a full queue. */
  pressured(): ListenerSummary[] {
    return [...this.rows.values()]
      .filter((r) => r.overflows > 0 || r.synDrops > 0 || r.cookies > 0 || (r.capacity > 0 && r.peakBacklog >= r.capacity))
      .sort((a, b) => b.overflows - a.overflows || b.worstRate - a.worstRate);
  }

  anyOverflow(): boolean {
    return this.pressured().some((r) => r.overflows > 0);
  }
}
