// Every figure true: what docs/json.md gives as exact is, on the real kernel,
// and what acceptq cannot count for want of room is counted and shown. The
// helper library is opened in this process (Helper); sockets live in a
// network namespace each test makes (test/support/sockets.py under unshare -n).
// Each test says which code it guards: without that code, it fails.
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import { Helper, type OpenOptions, type RawListener, type RawSnapshot } from '../src/native/helper';
import { lkeyBytes, mapDelete, mapsOf } from '../harness/maps';
import { Sockets } from './support/sockets';


function openHelper(t: ExecutionContext, o: Partial<OpenOptions> = {}): Helper {
  const h = Helper.open({ probe: 'auto', eventsPerSec: 0, retainClosedS: 60, ...o });
  t.teardown(() => h.close());
  return h;
}

async function sockets(t: ExecutionContext): Promise<Sockets> {
  const s = await Sockets.start();
  t.teardown(() => s.stop());
  return s;
}

/** The row of port in netns, once pred holds for it (snapshots every 0.3 s, at most timeoutMs). */
async function rowWhen(h: Helper, netns: number, port: number, pred: (r: RawListener, s: RawSnapshot) => boolean,
  timeoutMs = 8000): Promise<{ row: RawListener | undefined; snap: RawSnapshot }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snap = h.snapshot();
    const row = snap.listeners.find((l) => l.netns === netns && l.port === port);
    if ((row && pred(row, snap)) || Date.now() > deadline) return { row, snap };
    await sleep(300);
  }
}

// Guards acq_sock.requested_seen (bpf/accept_wait.bpf.c), the known flag and
// the 64-bit sum (lib/snapshot.c): listen(fd, 0) was a "not seen" 0, and two
// listen(fd, -1) of a group wrapped in 32 bits.
test.serial('requestedBacklog: listen(0) is 0, a negative backlog reads as the kernel reads it, a group sums without wrapping', async (t) => {
  const h = openHelper(t);
  const s = await sockets(t);
  await s.listen(9101, 0, { python: true });
  await s.listen(9102, -1, { python: true }); // Python makes it 0
  await s.listen(9103, -1); // libc: the kernel gets -1, compares it unsigned with somaxconn
  await s.listen(9104, -1, { reuseport: true });
  await s.listen(9104, -1, { reuseport: true });
  const { snap } = await rowWhen(h, s.netns, 9104, (r) => r.sockets === 2);
  const row = (port: number) => snap.listeners.find((l) => l.netns === s.netns && l.port === port);
  t.log(`requestedBacklog ${[9101, 9102, 9103, 9104].map((p) => `${p}: ${row(p)?.requestedBacklog} (maxBacklog ${row(p)?.maxBacklog})`).join(', ')}`);
  t.is(row(9101)?.requestedBacklog, 0, 'Python listen(0): seen, 0');
  t.is(row(9102)?.requestedBacklog, 0, 'Python listen(-1): Python passes 0');
  t.is(row(9103)?.requestedBacklog, 4294967295, 'listen(fd, -1): 2^32 - 1, above any somaxconn');
  t.is(row(9103)?.maxBacklog, 4096, 'which the kernel cut to somaxconn (4096 in a new namespace)');
  t.is(row(9104)?.requestedBacklog, 2 * 4294967295, 'two of them in a group: summed in 64 bits');
});

// Guards the null for a row with any member whose listen() went unseen
// (lib/snapshot.c): the sum of the others was shown as the row's.
test.serial('requestedBacklog: a SO_REUSEPORT group with a socket older than acceptq is null, not a partial sum', async (t) => {
  const s = await sockets(t);
  await s.listen(9201, 100, { reuseport: true }); // before acceptq: its backlog is not seen
  await s.listen(9202, 100); // alone and old
  const h = openHelper(t);
  await rowWhen(h, s.netns, 9201, (r) => r.sockets === 1);
  await s.listen(9201, 50, { reuseport: true });
  await s.listen(9203, 50); // new: seen
  const { row, snap } = await rowWhen(h, s.netns, 9201, (r) => r.sockets === 2);
  const other = (port: number) => snap.listeners.find((l) => l.netns === s.netns && l.port === port);
  t.log(`group: sockets ${row?.sockets} requestedBacklog ${row?.requestedBacklog} maxBacklog ${row?.maxBacklog}; old alone ${other(9202)?.requestedBacklog}; new alone ${other(9203)?.requestedBacklog}`);
  t.is(row?.sockets, 2);
  t.is(row?.maxBacklog, 150, 'both sockets are in the row');
  t.is(row?.requestedBacklog, null, 'one backlog unknown: the sum is unknown');
  t.is(other(9202)?.requestedBacklog, null, 'an old socket alone: unknown');
  t.is(other(9203)?.requestedBacklog, 50, 'a new one: its own');
});

// Guards acq_counts.closed_queued (sock_unregister, bpf/common.bpf.h) and its
// use in count_accepts (lib/snapshot.c): the connections a closing member's
// queue held were counted as accepted (arrivals minus the live queues).
test.serial('accepts: connections reset with a closing socket\'s queue are not counted as accepted', async (t) => {
  const h = openHelper(t);
  const s = await sockets(t);
  const a = await s.listen(9301, 128, { reuseport: true });
  const b = await s.listen(9301, 128, { reuseport: true });
  await s.run('connect 9301 30');
  const before = await rowWhen(h, s.netns, 9301, (r) => r.arrivals === 30 && r.backlog === 30);
  t.is(before.row?.accepts, 0, 'nothing accepted yet');
  await s.run(`close ${a}`);
  const after = await rowWhen(h, s.netns, 9301, (r) => r.sockets === 1);
  const reset = 30 - (after.row?.backlog ?? 30);
  t.log(`30 connections over two sockets; closing one reset ${reset}, ${after.row?.backlog} still queued on the other`);
  if (reset === 0) return t.fail('every connection went to the socket kept (1 in 2^29): nothing staged');
  t.is(after.row?.accepts, 0, 'those reset are not accepted');
  await s.run(`accept ${b} 3`);
  const took = await rowWhen(h, s.netns, 9301, (r) => r.backlog === 27 - reset);
  t.is(took.row?.accepts, 3, 'the three accepted are');
  await s.run(`close ${b}`);
  const closed = await rowWhen(h, s.netns, 9301, (r) => r.sockets === 0);
  t.is(closed.row?.accepts, 3, 'and the row closed with the rest queued still says 3');
});

// Guards the counted refusal of the queued map (a plain hash sized with
// max_listeners, registry.bpf.c's arrival()): an LRU map evicted waiting
// connections without a word, and their waits went missing.
test.serial('a full queued map counts the connections it cannot time (lostWaits)', async (t) => {
  const h = openHelper(t, { maxListeners: 64 });
  const s = await sockets(t);
  const l = await s.listen(9401, 200);
  await s.run('connect 9401 100');
  const { row } = await rowWhen(h, s.netns, 9401, (r) => r.arrivals === 100);
  await s.run(`accept ${l} 100`);
  const done = await rowWhen(h, s.netns, 9401, (r) => r.accepts === 100 && r.backlog === 0);
  const lost = done.snap.stats.lostWaits;
  t.log(`100 connections queued at once with room for 64 timed: waits timed ${done.row?.waited}, lostWaits ${lost}; arrivals ${row?.arrivals}`);
  t.true((done.row?.waited ?? 100) <= 64, 'at most 64 were timed');
  t.true(lost >= 100 - (done.row?.waited ?? 0), 'every connection not timed is counted');
});

// Guards the lost_arrivals count in arrival() (registry.bpf.c): a row whose
// counters are missing lost its arrivals (and so its accepts) silently.
test.serial('arrivals at a row without counters are counted (lostArrivals)', async (t) => {
  const h = openHelper(t);
  const maps = mapsOf(process.pid);
  const s = await sockets(t);
  await s.listen(9501, 16);
  const { row } = await rowWhen(h, s.netns, 9501, () => true);
  if (!row) return t.fail('no row for the listener');
  const start = h.snapshot().stats.lostArrivals;
  mapDelete(maps.counts, lkeyBytes(row));
  await s.run('connect 9501 5');
  const { snap } = await rowWhen(h, s.netns, 9501, (_r, x) => x.stats.lostArrivals - start >= 5, 4000);
  t.log(`counts entry deleted, 5 connects: lostArrivals ${start} -> ${snap.stats.lostArrivals}`);
  t.true(snap.stats.lostArrivals - start >= 5, 'each of the five is counted');
});

// Guards the sizing of ns_counts and cpu_mib from max_namespaces (lib/load.c):
// at a fixed 4,096 the option did nothing, and no namespace was refused.
test.serial('max_namespaces sizes the namespace maps: one namespace too many is counted (mapFull)', async (t) => {
  const h = openHelper(t, { maxNamespaces: 1 });
  const first = await sockets(t);
  const second = await sockets(t);
  await first.listen(9601, 16);
  await second.listen(9601, 16);
  const { snap } = await rowWhen(h, second.netns, 9601, (_r, x) => x.stats.mapFull > 0, 4000);
  t.log(`two namespaces with listeners, room for one: mapFull ${snap.stats.mapFull}`);
  t.true(snap.stats.mapFull > 0, 'the namespace that found no room is counted');
});
