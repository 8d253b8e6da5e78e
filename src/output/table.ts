/**
 * The plain table of --once: one line per listener, a line per namespace
 * with its kernel counters and every gap, then the probe. A listener's
 * figures carry a '~' when its split is an estimate, explained below the table.
 */
import { endpoint } from '../model/address';
import { sanitize } from '../model/sanitize';
import { ESTIMATE_NOTE, figure, gapText, sortRows } from '../model/view';
import type { Snapshot } from '../model/types';

const HEAD = ['NETNS', 'LISTEN', 'PID', 'COMM', 'SOCK', 'QUEUE', 'PEAK', 'SYNQ', 'OVERFLOWS', 'SYN', 'ACK', 'OVF/S', 'SYNDROP', 'COOKIES', 'STATE'];

function pad(cells: string[][]): string {
  const widths = HEAD.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells
    .map((r) => r.map((c, i) => (i === 1 || i === 3 || i === 14 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

export function renderTable(s: Snapshot): string {
  const rows = sortRows(s.listeners).map((l) => {
    const est = (v: number | string) => figure(v, l.estimate);
    return [
      String(l.netns),
      endpoint(l.family, l.address, l.port),
      l.pid ? String(l.pid) : '-',
      sanitize(l.comm) || '-',
      String(l.sockets),
      `${l.backlog}/${l.maxBacklog}`,
      String(l.peakBacklog),
      String(l.synBacklog),
      est(l.overflows),
      est(l.overflowsSyn),
      est(l.overflowsAck),
      est(l.overflowRate.toFixed(1)),
      est(l.synDrops),
      est(l.cookies),
      l.closed ? 'closed' : 'open',
    ];
  });
  const lines = [pad([HEAD, ...rows])];
  if (s.listeners.some((l) => l.estimate)) lines.push(ESTIMATE_NOTE);
  for (const n of s.namespaces) {
    lines.push(
      `netns ${n.netns}: kernel ListenOverflows ${n.listenOverflows}, ListenDrops ${n.listenDrops}, ` +
        `TCPReqQFullDrop ${n.reqQFullDrops}, SyncookiesSent ${n.syncookiesSent}; ${gapText(n)}`,
    );
  }
  lines.push(`probe ${s.probe}, lost events ${s.lostEvents}`);
  if (s.notice) lines.push(`notice: ${s.notice}`);
  if (s.mapFull) lines.push(`warning: ${s.mapFull} sockets or rows could not be tracked (kernel maps full)`);
  return lines.join('\n') + '\n';
}
