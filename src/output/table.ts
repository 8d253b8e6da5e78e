/**
 * The plain table of --once: one line per listener, a note per listener
 * with a diagnosis (why it overflows), a line per namespace with its kernel
 * counters, every gap and its sysctls, then the probe. A listener's figures
 * carry a '~' when its split is an estimate, explained below the table.
 */
import { endpoint } from '../model/address';
import { diagnoseSnapshot } from '../model/diagnosis';
import { sanitize } from '../model/sanitize';
import { lossNotes } from '../model/losses';
import { ago, diagnosisNote, durationIn, ESTIMATE_NOTE, figure, gapText, hostAbout, perSecond, queueText, SINCE_START, sortRows, sysctlText, unitFor, WAIT_ESTIMATE_NOTE } from '../model/view';
import type { HostRow, ListenerRow, Snapshot } from '../model/types';
import { withDownHosts } from '../fleet/stream';

const HEAD = ['NETNS', 'LISTEN', 'PID', 'COMM', 'SOCK', 'QUEUE', 'PEAK', 'SYNQ', 'OVERFLOWS', 'SYN', 'ACK', 'OVF/S', 'SYNDROP', 'COOKIES',
  'ARR/S', 'ACC/S', 'WAITP99', 'OLDEST'];
const LEFT = new Set(['HOST', 'LISTEN', 'COMM', 'STATE', 'SERVICE']);
/** What the row of a down host with no listener known shows. */
const OF_A_DOWN_HOST = new Set(['HOST', 'LISTEN', 'STATE']);

/** "host 10.0.0.2:9877 (web-1, 6.1.0-28-amd64): up, gap 0" or "... down, last seen 12 s ago: connection refused". */
export function hostLine(h: HostRow, now: number): string {
  const about = hostAbout(h);
  const seen = h.lastSeenMs === null ? 'never seen' : `last seen ${ago(h.lastSeenMs, now)} ago (${new Date(h.lastSeenMs).toISOString()})`;
  return `host ${sanitize(h.host)}${about ? ` (${about})` : ''}: ` +
    (h.up ? `up, ${perSecond(h.overflowRate)} overflows/s${h.gap ? `, kernel vs attributed gap ${h.gap}` : ''}` : `down, ${seen}: ${sanitize(h.error ?? '')}`);
}

/** listen() asked for more than it got: net.core.somaxconn cut it. */
const cut = (l: ListenerRow) => l.requestedBacklog !== null && l.requestedBacklog > l.maxBacklog;

function pad(cells: string[][]): string {
  const head = cells[0];
  // a loop, not Math.max(...column): a spread of 100,000s of rows overflows the stack
  const widths = head.map(() => 0);
  for (const r of cells) for (let i = 0; i < r.length; i++) if (r[i].length > widths[i]) widths[i] = r[i].length;
  return cells
    .map((r) => r.map((c, i) => (LEFT.has(head[i]) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

/**
 * The table; prev, the snapshot before s (if any), gives the diagnoses the
 * SYN side's rates. REQ (what listen() asked for) shows only when some
 * listener's backlog was cut; SERVICE, last (so the columns before it keep
 * their places), only when some listener's cgroup names one.
 */
export function renderTable(s: Snapshot, prev: Snapshot | null = null): string {
  const fleet = !!s.hosts;
  const sorted = sortRows(withDownHosts(s));
  const withReq = sorted.some(cut);
  const withService = sorted.some((l) => l.service);
  // one unit a column of waits
  const p99Unit = unitFor(sorted.map((l) => l.waitP99Ms));
  const oldestUnit = unitFor(sorted.map((l) => l.oldestWaitMs));
  const head = [...(fleet ? ['HOST'] : []), ...HEAD, ...(withReq ? ['REQ'] : []), 'STATE', ...(withService ? ['SERVICE'] : [])];
  const rows = sorted.map((l) => {
    const est = (v: number | string) => figure(v, l.estimate);
    const cells = [
      ...(fleet ? [sanitize(l.host)] : []),
      String(l.netns),
      l.port ? endpoint(l.family, l.address, l.port) : '-',
      l.pid ? String(l.pid) : '-',
      sanitize(l.comm) || '-',
      String(l.sockets),
      queueText(l),
      String(l.peakBacklog),
      String(l.synBacklog),
      est(l.overflows),
      est(l.overflowsSyn),
      est(l.overflowsAck),
      est(perSecond(l.overflowRate)),
      est(l.synDrops),
      est(l.cookies),
      perSecond(l.arrivalRate),
      perSecond(l.acceptRate),
      l.waitP99Ms === null ? '-' : figure(durationIn(l.waitP99Ms, p99Unit), true),
      durationIn(l.oldestWaitMs, oldestUnit),
      ...(withReq ? [cut(l) ? String(l.requestedBacklog) : '-'] : []),
      l.hostDown ? 'host down' : l.closed ? 'closed' : 'open',
      ...(withService ? [sanitize(l.service) || '-'] : []),
    ];
    // a down host with no listener known: its row says so, with no figure (none is known; 0 would read as a quiet listener)
    return l.port ? cells : cells.map((c, i) => (OF_A_DOWN_HOST.has(head[i]) ? c : '-'));
  });
  const lines = [pad([head, ...rows])];
  if (s.listeners.some((l) => l.estimate)) lines.push(ESTIMATE_NOTE);
  if (sorted.some((l) => l.waitP99Ms !== null)) lines.push(WAIT_ESTIMATE_NOTE);
  const diagnoses = diagnoseSnapshot(s, prev);
  for (const l of sorted) {
    const d = diagnoses.get(l.id);
    if (d) lines.push(diagnosisNote(l, d));
  }
  for (const n of s.namespaces) {
    lines.push(
      `${fleet ? `${sanitize(n.host)} ` : ''}netns ${n.netns}: kernel ${SINCE_START}: ListenOverflows ${n.listenOverflows}, ListenDrops ${n.listenDrops}, ` +
        `TCPReqQFullDrop ${n.reqQFullDrops}, SyncookiesSent ${n.syncookiesSent}; ${gapText(n)}${sysctlText(n)}`,
    );
  }
  for (const h of s.hosts ?? []) lines.push(hostLine(h, s.timeMs));
  lines.push(`probe ${s.probe}, lost events ${s.lostEvents}`);
  if (s.notice) lines.push(`notice: ${s.notice}`);
  if (s.mapFull) lines.push(`warning: ${s.mapFull} sockets, rows or namespaces could not be tracked (kernel maps full; --max-listeners, --max-namespaces raise the limits)`);
  for (const n of lossNotes(s)) lines.push(`warning: ${n}; --max-listeners raises the limit`);
  return lines.join('\n') + '\n';
}
