// No silent loss: each defensive path of the registry and of the namespace
// bookkeeping is either impossible or visible, on the real kernel. Tests 1-4
// open the helper library in this process (Helper) and reach into its BPF
// maps with bpftool, by the ids of the maps this process holds; whatever they
// write there (sockets that are no kernel socket) dies with the maps at
// close(). Each lab runs in a network namespace of its own. Other acceptq
// instances on the machine have maps of their own: nothing here touches them.
// Each test says which code it guards: without that code, it fails.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { Helper, type RawListener, type RawSnapshot } from '../src/native/helper';
import { startLab, type LabRun } from '../harness/lab';
import { CLI } from '../harness/paths';
import { hasKey, listenerKeys, lkeyBytes, mapDelete, mapInfo, mapsOf, mapUpdate, mapUpdateMany, rawKeys, u64Keys } from '../harness/maps';


/** The helper, opened in this process, and the ids of the BPF maps it made. */
function openHelper(t: ExecutionContext, maxListeners?: number): { h: Helper; maps: Record<string, number> } {
  const h = Helper.open({ probe: 'tracepoint', eventsPerSec: 0, retainClosedS: 1, maxListeners });
  t.teardown(() => h.close());
  const maps = mapsOf(process.pid);
  for (const m of ['socks', 'groups', 'ns_counts', 'cpu_mib']) if (!maps[m]) throw new Error(`no BPF map named ${m} in this process`);
  return { h, maps };
}

async function lab(t: ExecutionContext, scenario: string): Promise<LabRun> {
  const l = await startLab(scenario);
  t.teardown(() => l.stop());
  return l;
}

/** Snapshots every 0.5 s until done() holds (true) or timeoutMs passes (false). */
async function tickUntil(h: Helper, done: (s: RawSnapshot) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done(h.snapshot())) return true;
    if (Date.now() > deadline) return false;
    await sleep(500);
  }
}

const liveRows = (s: RawSnapshot, netns: number): RawListener[] => s.listeners.filter((l) => l.netns === netns && !l.closedMs);
const overflows = (l: RawListener): number => l.overflowsSyn + l.overflowsAck;

/** A key of the socket registry that is no kernel socket: a user-space address, which BPF_CORE_READ fails to read (state 0). */
const bogusSock = (i: number): Buffer => {
  const k = Buffer.alloc(8, 0x01);
  k.writeUInt32LE(i, 0);
  return k;
};
const isBogus = (k: Buffer): boolean => k.readUInt32LE(4) === 0x01010101;

// Guards prune_namespaces() in lib/snapshot.c: a namespace gone and without
// rows is deleted from ns_counts and cpu_mib (else both maps, 4096 entries
// each, fill up with dead namespaces and new ones go uncounted).
test.serial('a namespace that is gone leaves ns_counts and cpu_mib; live ones stay', async (t) => {
  t.timeout(40000);
  const { h, maps } = openHelper(t);
  const [gone, kept] = await Promise.all([lab(t, 'ack'), lab(t, 'ack')]);
  const s = h.snapshot();
  const hostIno = fs.statSync('/proc/self/ns/net').ino;
  const cookie = (ino: number) => {
    const n = s.namespaces.find((x) => x.netns === ino && !x.gone);
    return n ? BigInt(n.cookie) : undefined;
  };
  const goneCookie = cookie(gone.netns);
  const keptCookie = cookie(kept.netns);
  const hostCookie = cookie(hostIno);
  if (!goneCookie || !keptCookie || !hostCookie) return t.fail(`namespaces not in the snapshot: ${JSON.stringify(s.namespaces.map((n) => n.netns))}`);
  // the lab's namespace has an entry in both maps (an overflow was attributed there, its listener was registered)
  t.true(u64Keys(maps.ns_counts).includes(goneCookie), 'the lab namespace is in ns_counts');
  t.true(u64Keys(maps.cpu_mib).includes(goneCookie), 'the lab namespace is in cpu_mib');
  t.true(u64Keys(maps.cpu_mib).includes(hostCookie), 'the host namespace is in cpu_mib');
  const hostInNsCounts = u64Keys(maps.ns_counts).includes(hostCookie);

  await gone.stop(); // its only process: the namespace goes with it
  const t0 = Date.now();
  const pruned = await tickUntil(
    h,
    () => !u64Keys(maps.ns_counts).includes(goneCookie) && !u64Keys(maps.cpu_mib).includes(goneCookie),
    8000,
  );
  t.log(`the gone namespace's entries ${pruned ? `were deleted after ${((Date.now() - t0) / 1000).toFixed(1)} s` : 'are still there after 8 s'}`);
  const last = h.snapshot();
  t.false(u64Keys(maps.ns_counts).includes(goneCookie), 'the gone namespace is no longer in ns_counts');
  t.false(u64Keys(maps.cpu_mib).includes(goneCookie), 'the gone namespace is no longer in cpu_mib');
  t.false(last.namespaces.some((n) => BigInt(n.cookie) === goneCookie), 'nor in the snapshot');
  // only that one: a namespace still alive keeps its entries
  t.true(u64Keys(maps.ns_counts).includes(keptCookie), 'the live lab namespace is still in ns_counts');
  t.true(u64Keys(maps.cpu_mib).includes(keptCookie), 'the live lab namespace is still in cpu_mib');
  t.true(u64Keys(maps.cpu_mib).includes(hostCookie), 'the host namespace is still in cpu_mib');
  if (hostInNsCounts) t.true(u64Keys(maps.ns_counts).includes(hostCookie), 'the host namespace is still in ns_counts');
  t.is(liveRows(last, kept.netns).length, 1, 'the live lab listener is still shown');
});

// Guards sample_one() in bpf/sample.bpf.c: a registered socket that is not
// listening is deleted from socks at the next tick (else a socket whose close
// went unseen would stay in the registry for good, and the registry fill up).
test.serial('a registered socket that is no longer listening is dropped at the next tick', (t) => {
  const { h, maps } = openHelper(t);
  h.snapshot();
  const { valueSize } = mapInfo(maps.socks);
  const key = Buffer.alloc(8, 0x01);
  // struct acq_sock with a plausible row (netns 1, 127.0.0.1:1): kept, it would make a phantom row
  const value = Buffer.alloc(valueSize);
  value.writeUInt32LE(1, 8);
  value.writeUInt16LE(4, 12);
  value.writeUInt16LE(1, 14);
  value.set([127, 0, 0, 1], 16);
  mapUpdate(maps.socks, key, value);
  t.true(hasKey(maps.socks, key), 'the bogus socket is in the registry');
  const s = h.snapshot();
  t.false(hasKey(maps.socks, key), 'one tick later it is gone');
  t.false(s.listeners.some((l) => l.netns === 1 && l.port === 1), 'and no row was made for it');
});

// Guards the map_full count in sock_register() (bpf/common.bpf.h), which
// stats.mapFull (--json: mapFull) shows: a listener that cannot be
// registered because socks is full is counted, not dropped silently. And
// again sample_one(): the dead entries that filled it go at the next tick,
// after which listeners register again.
test.serial('a full socket registry shows in mapFull; the next tick clears the dead and listeners register again', async (t) => {
  t.timeout(60000);
  // a registry of 1,024 (--max-listeners): filled in a second, where the default 65,536 took over 30 s on 2 cores
  const { h, maps } = openHelper(t, 1024);
  const start = h.snapshot();
  t.is(start.stats.mapFull, 0, 'nothing full to begin with');
  const { maxEntries, valueSize } = mapInfo(maps.socks);
  t.is(maxEntries, 1024, 'the registry has the size asked for');
  const value = Buffer.alloc(valueSize);
  const bogus = function* (from: number, n: number): Generator<[Buffer, Buffer]> {
    for (let i = from; i < from + n; i++) yield [bogusSock(i), value];
  };

  const t0 = Date.now();
  // as many entries as the map holds: bpftool stops at the first it refuses (E2BIG: the map is full)
  const err = mapUpdateMany(maps.socks, bogus(0, maxEntries));
  const fillS = (Date.now() - t0) / 1000;
  t.log(`filled the registry (${maxEntries} entries) in ${fillS.toFixed(1)} s`);
  t.regex(err ?? '', /Argument list too long/, 'the registry is full (the kernel refused an entry)');

  // listen() while the registry is full. A listener elsewhere on the machine
  // may close meanwhile and free a slot: top up first, and if the lab's
  // socket still got in (nothing but its listen() registers before a tick), again.
  let failed: LabRun | undefined;
  for (let attempt = 1, next = maxEntries; attempt <= 3 && !failed; attempt++) {
    for (let k = 0; k < 20; k++) {
      const refused = mapUpdateMany(maps.socks, bogus(next, 256));
      next += 256;
      if (refused) break;
    }
    const l = await lab(t, 'syn');
    if (!listenerKeys(maps.socks).some((k) => k.netns === l.netns)) failed = l;
    else {
      t.log(`attempt ${attempt}: a slot freed before the lab listened (another listener closed): again`);
      await l.stop();
    }
  }
  if (!failed) return t.fail('the lab listener was registered each time: the registry could not be kept full');
  const full = h.snapshot();
  t.true(full.stats.mapFull > 0, `the listener that could not be registered is counted (mapFull ${full.stats.mapFull})`);
  // the tick that saw it full also dropped every bogus entry
  t.deepEqual(rawKeys(maps.socks).filter(isBogus), [], 'the dead entries are gone after one tick');
  // its overflows were not credited to any listener: the namespace says so
  const kernel = failed.netstat().TcpExtListenOverflows;
  t.true(kernel > 0, 'the lab overflowed');
  // and the tick after the dead entries went, its namespace is walked again: the listener registers
  await tickUntil(h, (s) => liveRows(s, failed!.netns).length === 1, 5000);
  const later = h.snapshot();
  const ns = later.namespaces.find((n) => n.netns === failed!.netns);
  const now = failed.netstat().TcpExtListenOverflows;
  t.log(`refused listener: kernel ListenOverflows ${now}, attributed ${ns?.attributed}, unmatched ${ns?.unmatched}`);
  t.is(liveRows(later, failed.netns).length, 1, 'registered once the registry had room (walked again)');
  t.true((ns?.unmatched ?? 0) >= kernel, 'the overflows from before it was registered show as unmatched');
  t.is((ns?.attributed ?? 0) + (ns?.unmatched ?? 0), now, 'attributed and unmatched account for every overflow');

  const before = h.snapshot().stats.mapFull;
  const fresh = await lab(t, 'idle');
  const s = h.snapshot();
  const rows = liveRows(s, fresh.netns);
  t.is(rows.length, 1, 'a new listener registers');
  t.is(rows[0]?.pid, fresh.pid, 'with its owner');
  t.is(s.stats.mapFull, before, 'and nothing more is counted full');
});

// Guards the re-join in sample_one() (bpf/sample.bpf.c): a row whose groups
// entry is gone while a socket still listens on it is joined again at the next
// tick (else every SYN-path overflow there would go unmatched from then on).
test.serial("a listener's row deleted from under it is back at the next tick and counts again", async (t) => {
  t.timeout(40000);
  const { h, maps } = openHelper(t);
  const l = await lab(t, 'syn'); // 127.0.0.1:9000, backlog 2, its queue full and held
  let row: RawListener | undefined;
  const seen = await tickUntil(h, (s) => {
    row = liveRows(s, l.netns)[0];
    return !!row && overflows(row) === l.netstat().TcpExtListenOverflows;
  }, 5000);
  if (!row) return t.fail('the lab listener has no row');
  t.true(seen, `counted as the kernel did before (${overflows(row)} vs ${l.netstat().TcpExtListenOverflows})`);
  const key = lkeyBytes(row);
  t.true(hasKey(maps.groups, key), 'its row is in groups');
  mapDelete(maps.groups, key);
  t.false(hasKey(maps.groups, key), 'deleted');

  const before = h.snapshot();
  t.true(hasKey(maps.groups, key), 'one tick later the row is back');
  const unmatchedBefore = before.namespaces.find((n) => n.netns === l.netns)?.unmatched;

  // stage more SYN-path overflows: connects to the full queue, each SYN and its retry dropped
  const kernelBefore = l.netstat().TcpExtListenOverflows;
  const script = `const net = require('net'); const ss = [];
    for (let i = 0; i < 5; i++) { const s = net.connect(9000, '127.0.0.1'); s.on('error', () => {}); ss.push(s); }
    setTimeout(() => { for (const s of ss) s.destroy(); process.exit(0); }, 1500);`;
  const r = spawnSync('nsenter', ['-t', String(l.pid), '-n', process.execPath, '-e', script], { encoding: 'utf8', timeout: 15000 });
  t.is(r.status, 0, r.stderr);
  await sleep(200);
  const kernel = l.netstat().TcpExtListenOverflows;
  t.true(kernel > kernelBefore, `overflows staged (${kernel - kernelBefore})`);
  let after: RawListener | undefined;
  await tickUntil(h, (s) => (after = liveRows(s, l.netns)[0]) !== undefined && overflows(after) === kernel, 3000);
  const s = h.snapshot();
  after = liveRows(s, l.netns)[0];
  t.log(`after the repair: acceptq ${after ? overflows(after) : '-'}, kernel ListenOverflows ${kernel} (${kernel - kernelBefore} staged)`);
  t.is(after && overflows(after), kernel, 'every overflow since is credited to the listener');
  t.is(s.namespaces.find((n) => n.netns === l.netns)?.unmatched, unmatchedBefore, 'none unmatched');
});

// Guards the checks after kallsyms_ranges() in load_attach() (lib/load.c): a
// missing cookie_v4_check/cookie_v6_check is a notice; a missing
// tcp_rcv_state_process (without which nothing is counted) refuses to start.
// ACCEPTQ_HIDE_KSYMS (lib/ksyms.c) hides the symbols from acceptq.
test.serial('a kernel symbol acceptq cannot find is a notice, or an error when it cannot count without it', (t) => {
  const run = (hide: string) =>
    spawnSync(process.execPath, [CLI, '--json', '--duration', '1'], {
      encoding: 'utf8',
      timeout: 30000,
      env: { ...process.env, ACCEPTQ_HIDE_KSYMS: hide },
    });
  for (const sym of ['cookie_v4_check', 'cookie_v6_check']) {
    const r = run(sym);
    t.is(r.status, 0, `${sym} hidden: runs (${r.stderr.trim()})`);
    const rec = JSON.parse(r.stdout.trim().split('\n')[0] || '{}');
    t.log(`${sym} hidden: notice ${JSON.stringify(rec.notice)}`);
    t.regex(rec.notice ?? '', new RegExp(`${sym} not in /proc/kallsyms`), `${sym} hidden: the record's notice names it`);
  }
  const r = run('tcp_rcv_state_process');
  t.log(`tcp_rcv_state_process hidden: exit ${r.status}: ${r.stderr.trim()}`);
  t.is(r.status, 1, 'tcp_rcv_state_process hidden: exit 1');
  t.regex(r.stderr, /^acceptq: .*tcp_rcv_state_process not found/, 'naming it');
  t.is(r.stdout, '', 'no record');
});
