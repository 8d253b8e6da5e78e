/**
 * Why a listener overflows, in one line, with the figures the verdict rests
 * on. Pure functions of a row, its namespace and how far its SYN-side counts
 * moved in the interval (the row carries only their totals). The rules, in
 * order, the first that holds wins (rates are per second over the interval):
 *
 * - demand = arrivalRate + overflowRate: every connection that tried to
 *   enter the accept queue (an overflowed one never arrives in it);
 * - wait = the larger of the wait p99 and the oldest waiting connection's age;
 * - the application is *behind* when acceptRate < KEEP_PACE x demand and
 *   wait >= BUSY_SHARE x maxBacklog / acceptRate (connections wait about as
 *   long as a full queue takes to drain at the interval's accept rate: the
 *   application was busy throughout, where after a burst it drains the queue
 *   much faster than its average) or wait >= SLOW_WAIT_MS;
 *
 * 1. syn-queue: SYN-queue drops or cookies moved, at least as many as the
 *    overflows, and the application is not behind: a SYN flood, or a SYN
 *    queue too small (the kernel caps it at the listen() backlog; without
 *    cookies tcp_max_syn_backlog also drops SYNs early);
 * 2. somaxconn: drops or a full queue, and listen() asked for more than
 *    net.core.somaxconn per socket, which cut the backlog to it (said even
 *    when the application is also behind: the cut is the one fix that needs
 *    no code, and the verdict then says the application is behind too);
 * 3. slow-accept: behind, while anything dropped, or with the queue full:
 *    the application is the bottleneck; also a full queue that nothing is
 *    taken from while its oldest connection waits SLOW_WAIT_MS or more;
 * 4. burst: overflows while the application keeps pace: bursts outgrow the
 *    backlog;
 * otherwise none (null): the listener keeps up (or it is closed, or,
 * replayed from a format-1 recording, it has no traffic figures to judge by).
 */
import { durationIn, figure, queueText } from './view';
import type { ListenerRow, NamespaceRow, Snapshot } from './types';

/** Accepts keep pace while they are at least this share of the demand. */
export const KEEP_PACE = 0.9;
/** Waits this share of a full queue's drain time at the interval's accept rate mean the application never caught up. */
export const BUSY_SHARE = 0.5;
/** A connection this long in the queue (p99 or the oldest now) waits for the application, whatever the rates. */
export const SLOW_WAIT_MS = 100;

export type DiagnosisKind = 'syn-queue' | 'slow-accept' | 'somaxconn' | 'burst';

export interface Diagnosis {
  kind: DiagnosisKind;
  /** One line: what happens and what to do. */
  verdict: string;
  /** The figures it rests on, by their JSON names. */
  basis: string;
}

/** SYN-queue drops and SYN cookies per second over the row's interval. */
export interface SynRates {
  synDropRate: number;
  cookieRate: number;
}

const NO_SYN: SynRates = { synDropRate: 0, cookieRate: 0 };

/** A row's SYN-side rates from the same row one snapshot earlier (undefined: it was not there, so all its counts are new). */
export function synRates(r: ListenerRow, prev: ListenerRow | undefined, elapsed: number): SynRates {
  if (elapsed <= 0) return NO_SYN;
  return {
    synDropRate: Math.max(r.synDrops - (prev?.synDrops ?? 0), 0) / elapsed,
    cookieRate: Math.max(r.cookies - (prev?.cookies ?? 0), 0) / elapsed,
  };
}

/** A figure for the basis: whole from 100 up, else one decimal at most. */
const basisFigure = (v: number) => String(v >= 100 ? Math.round(v) : Math.round(v * 10) / 10);
/**
 * A figure for the verdict: with thousands separators. Put in by hand, as
 * toLocaleString would load the ICU locale data (about 6 MB of RSS).
 */
const verdictFigure = (v: number) => (v >= 100 ? String(Math.round(v)).replace(/\B(?=(\d{3})+$)/g, ',') : basisFigure(v));

export function diagnose(r: ListenerRow, ns: NamespaceRow | undefined, syn: SynRates = NO_SYN): Diagnosis | null {
  // no traffic figures (a format-1 recording): nothing to go on; closed: nothing to fix
  if (r.waitHist.length === 0 || r.closed) return null;
  const synRate = syn.synDropRate + syn.cookieRate;
  const demand = r.arrivalRate + r.overflowRate;
  const wait = Math.max(r.waitP99Ms ?? 0, r.oldestWaitMs ?? 0);
  const full = r.backlog > 0 && r.backlog >= r.maxBacklog;
  const drainMs = r.acceptRate > 0 ? (1000 * r.maxBacklog) / r.acceptRate : Infinity;
  const behind = r.acceptRate < KEEP_PACE * demand && (wait >= BUSY_SHARE * drainMs || wait >= SLOW_WAIT_MS);
  const pressure = r.overflowRate > 0 || synRate > 0;
  const waits = [
    r.waitP99Ms !== null ? `wait p99 ${figure(durationIn(r.waitP99Ms), true)}` : '',
    r.oldestWaitMs !== null ? `oldest wait ${durationIn(r.oldestWaitMs)}` : '',
  ].filter(Boolean);
  // in the words the dashboard's columns and the detail view use (accepts/s, arrivals/s, queue/limit, oldest wait)
  const traffic = `accepts ${basisFigure(r.acceptRate)}/s, arrivals ${basisFigure(r.arrivalRate)}/s, overflows ${basisFigure(r.overflowRate)}/s`;
  const queue = `queue ${queueText(r)}`;
  const basis = (...parts: string[]) => parts.filter(Boolean).join(', ');

  if (synRate > 0 && synRate >= r.overflowRate && !behind) {
    const what = [syn.cookieRate > 0 ? 'cookies sent' : '', syn.synDropRate > 0 ? 'SYNs dropped' : ''].filter(Boolean).join(' and ');
    const small = syn.synDropRate > 0 ? 'the backlog or tcp_max_syn_backlog too small' : 'a listen() backlog too small (it caps the SYN queue)';
    return {
      kind: 'syn-queue',
      verdict: `SYN queue full and ${what}: a SYN flood, or ${small}`,
      basis: basis(
        `SYN-queue drops ${basisFigure(syn.synDropRate)}/s, SYN cookies ${basisFigure(syn.cookieRate)}/s`, traffic, `SYN queue ${r.synBacklog}`,
        ns?.maxSynBacklog != null ? `tcp_max_syn_backlog ${ns.maxSynBacklog}` : '',
        ns?.syncookies != null ? `tcp_syncookies ${ns.syncookies}` : '',
      ),
    };
  }
  const sockets = Math.max(r.sockets, 1);
  const asked = (r.requestedBacklog ?? 0) / sockets;
  const got = r.maxBacklog / sockets;
  if (ns?.somaxconn != null && asked > ns.somaxconn && got === ns.somaxconn && (pressure || full)) {
    const also = behind ? `; the application also accepts ${verdictFigure(r.acceptRate)}/s while ${verdictFigure(demand)}/s arrive` : '';
    return {
      kind: 'somaxconn',
      verdict: `listen(${asked}) was cut to ${got} by net.core.somaxconn: raise net.core.somaxconn${also}`,
      basis: basis(`listen() asked ${r.requestedBacklog}, limit ${r.maxBacklog}, sockets ${r.sockets}, somaxconn ${ns.somaxconn}`, traffic, queue),
    };
  }
  if (full && r.acceptRate === 0 && demand === 0 && wait >= SLOW_WAIT_MS) {
    // nothing arrives because nothing fits, and nothing is taken: a stuck application
    return {
      kind: 'slow-accept',
      verdict: `the application accepts nothing while its queue is full: it is stuck or far too slow (accept faster, more workers)`,
      basis: basis(`accepts 0/s, arrivals 0/s`, queue, ...waits),
    };
  }
  if (behind && (pressure || full)) {
    return {
      kind: 'slow-accept',
      verdict: `the application accepts ${verdictFigure(r.acceptRate)}/s while ${verdictFigure(demand)}/s arrive: it is the bottleneck (accept faster, more workers)`,
      basis: basis(`accepts ${basisFigure(r.acceptRate)}/s, arrivals ${basisFigure(r.arrivalRate)}/s + overflows ${basisFigure(r.overflowRate)}/s`, queue, ...waits),
    };
  }
  if (r.overflowRate <= 0) return null;
  return {
    kind: 'burst',
    verdict: 'overflows in bursts while accepts keep pace: raise the backlog',
    basis: basis(traffic, queue, ...waits),
  };
}

/** The diagnosis of every listener of a snapshot that has one, by row id; prev: the snapshot before it (null: none, so no SYN-side rates). */
export function diagnoseSnapshot(s: Snapshot, prev: Snapshot | null): Map<string, Diagnosis> {
  const before = new Map(prev?.listeners.map((r) => [r.id, r]));
  const namespaces = new Map(s.namespaces.map((n) => [n.cookie, n]));
  const out = new Map<string, Diagnosis>();
  for (const r of s.listeners) {
    const d = diagnose(r, namespaces.get(r.netnsCookie), prev ? synRates(r, before.get(r.id), s.elapsed) : NO_SYN);
    if (d) out.set(r.id, d);
  }
  return out;
}
