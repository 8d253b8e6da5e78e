/**
 * What test/wait.test.ts needs around the lab's "why it overflows"
 * scenarios (delay, somaxconn, keepup, synflood-accepting, abandon): the
 * lab's whole report line (it carries the scenario's truth: pace, delay,
 * connects, the lab's own view of the waits), one listener row across
 * acceptq's records, and a watch on the BPF map `queued` while a scenario
 * runs.
 */
import type { AcceptqJson } from '../../harness/acceptq';
import { startLabReporting, type LabRun, type LabListener } from '../../harness/lab';
import { entriesByNetns } from '../../harness/maps';

/** The lab's report line (see the comment at the top of scripts/lab/lab.c). */
export interface LabReport {
  scenario: string;
  pid: number;
  netns: number;
  listeners: Array<LabListener & { accepted: number; skDrops: number }>;
  connects: number;
  rawSyns: number;
  /** CLOCK_REALTIME ms of the first and the last connect (paced scenarios). */
  startMs?: number;
  endMs?: number;
  pacePerSec?: number;
  delayMs?: number;
  labWaitMinMs?: number;
  labWaitP50Ms?: number;
  labWaitMaxMs?: number;
  somaxconn?: number;
  requestedBacklog?: number;
  bursts?: number;
  burst?: number;
  cookies?: number;
  queuedAtClose?: number;
}

/** Run a scenario and keep its whole report (harness/lab.ts's startLabReporting). */
export function startReportingLab(scenario: string, holdS = 60, reportMs = 60000): Promise<{ lab: LabRun; report: LabReport }> {
  return startLabReporting<LabReport>(scenario, holdS, reportMs);
}

/** One listener row as one record showed it. */
export interface RowAt {
  /** the record's time (ms since the epoch) */
  t: number;
  /** the record's interval in seconds */
  interval: number;
  row: Record<string, any>;
  ns?: Record<string, any>;
}

/** A lab's listener: its namespace, port and owner (namespace inodes are reused, pids tell runs apart). */
export interface RowId {
  netns: number;
  port: number;
  pid: number;
}

const isRow = (l: Record<string, any>, id: RowId): boolean => l.netns === id.netns && l.port === id.port && l.pid === id.pid;

/** Every record (so far) that has the row, oldest first. */
export function rowHistory(aq: AcceptqJson, id: RowId): RowAt[] {
  const out: RowAt[] = [];
  for (const r of aq.records) {
    const row = r.listeners.find((l) => isRow(l, id));
    if (!row) continue;
    const interval = Number((r as Record<string, unknown>).interval ?? 0.5);
    out.push({ t: Date.parse(r.time), interval, row, ns: r.namespaces.find((n) => n.netns === id.netns) });
  }
  return out;
}

/** The records whose whole interval lies within [from, to] (ms since the epoch). */
export function within(h: RowAt[], from: number, to: number): RowAt[] {
  return h.filter((x) => x.t - x.interval * 1000 >= from && x.t <= to);
}

/**
 * Wait (bounded) for a record taken after `after` (ms) whose row satisfies
 * pred; the newest row seen if none does by then (so that the caller's
 * assertions say what was wrong), or undefined when the row never appeared.
 */
export async function rowWhen(
  aq: AcceptqJson,
  id: RowId,
  after: number,
  pred: (row: Record<string, any>) => boolean,
  timeoutMs = 10000,
): Promise<RowAt | undefined> {
  try {
    await aq.waitFor(
      (r) => Date.parse(r.time) > after && r.listeners.some((l) => isRow(l, id) && pred(l)),
      timeoutMs,
    );
  } catch {
    // fall through: the newest row seen
  }
  const h = rowHistory(aq, id).filter((x) => x.t > after);
  const ok = h.filter((x) => pred(x.row));
  return ok[0] ?? h[h.length - 1];
}

/** A row's diagnosis (null if none): its kind and its one line (`verdict`, or `text`). */
export function diagnosisOf(row: Record<string, any> | undefined): { kind: string; text: string } | null {
  const d = row?.diagnosis;
  if (d === null || d === undefined) return null;
  if (typeof d === 'string') return { kind: '', text: d };
  return { kind: String(d.kind ?? ''), text: String(d.verdict ?? d.text ?? JSON.stringify(d)) };
}

export const diagnosisText = (row: Record<string, any> | undefined): string | null => diagnosisOf(row)?.text ?? null;

/**
 * The wait figures are per interval (count, histogram, min, max, p50, p99 of
 * the accept() calls timed in it): the count over records, and their
 * histograms added up.
 */
export const waitsOver = (h: RowAt[]): number => h.reduce((s, x) => s + (x.row.waitCount ?? 0), 0);

export function histOver(h: RowAt[]): number[] {
  const out: number[] = [];
  for (const x of h) (x.row.waitHist ?? []).forEach((v: number, i: number) => (out[i] = (out[i] ?? 0) + v));
  return out;
}

/** The q-quantile of a log2 µs histogram (bucket i: [2^i, 2^(i+1)) µs, 0 in bucket 0) in ms: the upper bound of its bucket. */
export function histQuantileCeilMs(hist: number[], q: number): number | null {
  const n = hist.reduce((a, b) => a + b, 0);
  let below = 0;
  if (n <= 0) return null;
  for (let i = 0; i < hist.length; i++) {
    below += hist[i];
    if (below >= q * n) return 2 ** (i + 1) / 1000;
  }
  return 2 ** hist.length / 1000;
}

export { mean, median } from '../../harness/stats';

export const numbers = (xs: unknown[]): number[] => xs.filter((x): x is number => typeof x === 'number');

export const fmt = (x: number | null | undefined, digits = 1): string =>
  typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : String(x);

/**
 * Polls the entries of a BPF map (acceptq's `queued`) per network namespace
 * while a scenario runs, keeping the most seen in each; stop() ends it.
 */
export class MapWatch {
  readonly most = new Map<number, number>();
  samples = 0;
  errors = 0;
  private timer: NodeJS.Timeout;

  constructor(readonly mapId: number, everyMs = 150) {
    this.timer = setInterval(() => this.poll(), everyMs);
  }

  poll(): void {
    try {
      for (const [ns, n] of entriesByNetns(this.mapId)) this.most.set(ns, Math.max(this.most.get(ns) ?? 0, n));
      this.samples++;
    } catch {
      this.errors++;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The map's entries now: in all, and in one namespace. */
export function mapCount(mapId: number, netns: number): { total: number; inNetns: number; byNetns: Map<number, number> } {
  const byNetns = entriesByNetns(mapId); // one dump: the total and the namespace's share agree
  let total = 0;
  for (const n of byNetns.values()) total += n;
  return { total, inNetns: byNetns.get(netns) ?? 0, byNetns };
}
