/** The plain table of --once: one line per listener, widest columns first to go. */
import { endpoint, sanitize } from '../model/address';
import { sortRows } from '../model/view';
import type { Snapshot } from '../model/types';

const HEAD = ['NETNS', 'LISTEN', 'PID', 'COMM', 'SOCK', 'QUEUE', 'PEAK', 'SYNQ', 'OVERFLOWS', 'SYN', 'ACK', 'OVF/S', 'SYNDROP', 'COOKIES', 'STATE'];

function pad(cells: string[][]): string {
  const widths = HEAD.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells
    .map((r) => r.map((c, i) => (i === 1 || i === 3 || i === 14 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

export function renderTable(s: Snapshot): string {
  const rows = sortRows(s.listeners).map((l) => [
    String(l.netns),
    endpoint(l.family, l.address, l.port),
    l.pid ? String(l.pid) : '-',
    sanitize(l.comm) || '-',
    String(l.sockets),
    `${l.backlog}/${l.maxBacklog}`,
    String(l.peakBacklog),
    String(l.synBacklog),
    String(l.overflows),
    String(l.overflowsSyn),
    String(l.overflowsAck),
    l.overflowRate.toFixed(1),
    String(l.synDrops),
    String(l.cookies),
    l.closed ? 'closed' : 'open',
  ]);
  const lines = [pad([HEAD, ...rows])];
  for (const n of s.namespaces) {
    lines.push(
      `netns ${n.netns}: kernel ListenOverflows ${n.listenOverflows}, ListenDrops ${n.listenDrops}, ` +
        `SyncookiesSent ${n.syncookiesSent}, unattributed ${n.unattributed}`,
    );
  }
  lines.push(`probe ${s.probe}, lost events ${s.lostEvents}`);
  if (s.notice) lines.push(`notice: ${s.notice}`);
  if (s.mapFull) lines.push(`warning: ${s.mapFull} sockets or rows could not be tracked (kernel maps full)`);
  return lines.join('\n') + '\n';
}
