/**
 * A host's counts across restarts of its acceptq. An exporter counts from 0
 * when it starts; a fleet that shows its counts as they come would show a
 * restarted host's drop to 0 and a run over the restart a negative delta.
 * Prometheus's increase() treats any fall of a counter as a reset; here a
 * restart is a new acceptq_start_time_seconds (which also catches a restart
 * whose new counts already passed the old ones), or, from an exporter that
 * does not give one, any counter that fell. From then on each count goes on
 * from where it was: the host's reads are shifted by the counts last seen
 * before the restart. What happened while its acceptq was down is in no count.
 */
import { LISTENER_COUNTERS, NAMESPACE_COUNTERS, NAMESPACE_GAPS, type HostRead, type ListenerFigure, type NamespaceFigure } from './figures';

type Shift<F extends string> = Partial<Record<F, number>>;

export class CounterCarry {
  /** The host's reads as last shown (shifted): a restart's new shift. */
  private last: HostRead | null = null;
  private listenerShift = new Map<string, Shift<ListenerFigure>>();
  private namespaceShift = new Map<string, Shift<NamespaceFigure>>();
  private lostEventsShift = 0;
  /** Restarts seen; when the last one was seen (Unix ms). */
  restarts = 0;
  restartedMs: number | null = null;

  /** Shift a new read (in place) by the counts before any restart, a restart in it included. */
  carry(read: HostRead, scrapedMs: number): void {
    const last = this.last;
    if (last && this.restarted(last, read)) {
      this.listenerShift = shiftOf(last.listeners, LISTENER_COUNTERS);
      this.namespaceShift = shiftOf(last.namespaces, [...NAMESPACE_COUNTERS, ...NAMESPACE_GAPS]);
      this.lostEventsShift = last.lostEvents;
      this.restarts++;
      this.restartedMs = scrapedMs;
    }
    if (this.restarts) {
      for (const [k, l] of read.listeners) add(l.figures, this.listenerShift.get(k));
      for (const [k, n] of read.namespaces) add(n.figures, this.namespaceShift.get(k));
      read.lostEvents += this.lostEventsShift;
    }
    // an exporter that stops giving its start time (replaced by an older one) keeps the one known
    read.startedS ??= last?.startedS ?? null;
    this.last = read;
  }

  private restarted(last: HostRead, read: HostRead): boolean {
    if (read.startedS !== null && last.startedS !== null) return read.startedS !== last.startedS;
    // no start time to go by: a counter that fell (shifted as the last read was, it would still be below)
    if (read.lostEvents + this.lostEventsShift < last.lostEvents) return true;
    return fell(last.listeners, read.listeners, LISTENER_COUNTERS, this.listenerShift) ||
      fell(last.namespaces, read.namespaces, NAMESPACE_COUNTERS, this.namespaceShift);
  }
}

/** Each entry's figures of these kinds, as they stand. */
function shiftOf<F extends string>(entries: Map<string, { figures: Shift<F> }>, kinds: F[]): Map<string, Shift<F>> {
  const out = new Map<string, Shift<F>>();
  for (const [k, e] of entries) {
    const s: Shift<F> = {};
    for (const f of kinds) if (e.figures[f]) s[f] = e.figures[f];
    out.set(k, s);
  }
  return out;
}

function add<F extends string>(figures: Shift<F>, shift: Shift<F> | undefined): void {
  if (!shift) return;
  for (const f in shift) figures[f] = (figures[f] ?? 0) + shift[f]!;
}

/** Whether a counter of an entry in both reads is lower now than it was (read: not yet shifted). */
function fell<F extends string>(
  last: Map<string, { figures: Shift<F> }>, read: Map<string, { figures: Shift<F> }>, kinds: F[], shift: Map<string, Shift<F>>,
): boolean {
  for (const [k, e] of read) {
    const was = last.get(k);
    if (!was) continue;
    const s = shift.get(k);
    for (const f of kinds) if ((e.figures[f] ?? 0) + (s?.[f] ?? 0) < (was.figures[f] ?? 0)) return true;
  }
  return false;
}
