/**
 * What the kernel side could not count for want of room in its maps, in
 * words: the figures it leaves short, for the dashboard's header and the
 * table's warnings. [] when nothing was lost.
 */
import type { Snapshot } from './types';

export function lossNotes(s: Pick<Snapshot, 'lostArrivals' | 'lostWaits' | 'lostListens'>): string[] {
  const notes: string[] = [];
  if (s.lostArrivals) notes.push(`${s.lostArrivals} arrivals lost (rows without counters: arrivals and accepts short)`);
  if (s.lostWaits) notes.push(`${s.lostWaits} waits lost (connections not timed: the waits leave them out)`);
  if (s.lostListens) notes.push(`${s.lostListens} listen() backlogs unread (requestedBacklog unknown there)`);
  return notes;
}
