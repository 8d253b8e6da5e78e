// Owners of listeners older than acceptq. One pass of acq_iter_owners
// (bpf/owners.bpf.c) over every task's files names them; where the kernel
// refuses that program (rehearsed with ACCEPTQ_REFUSE), a scan of
// /proc/*/fd does. Both must name the process /proc names: of several
// processes holding one socket (nginx's master and its worker), the lowest
// pid, the one /proc lists first.
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AcceptqJson, type JsonRecord } from '../harness/acceptq';
import { startLab } from '../harness/lab';
import { heldBy, type Held } from '../harness/links';
import { mapsOf } from '../harness/maps';
import { Cleanup, killPid, Netns, startNginx } from '../harness/servers';

const PROG = 'acq_iter_owners';
const NGINX_PORT = 8080;

/** A listener made before acceptq, and what /proc says of it. */
interface Old {
  name: string;
  netns: number;
  port: number;
  ino: number;
  /** every process holding the socket in its fd table, ascending */
  holders: number[];
}

/** The inode of the socket listening on port, from `ss -e` run by enter (a command entering its namespace). */
function listenerInode(enter: string[], port: number): number {
  const out = execFileSync(enter[0], [...enter.slice(1), 'ss', '-ltnHe', 'sport', '=', `:${port}`], { encoding: 'utf8' });
  const m = /\bino:(\d+)/.exec(out);
  if (!m) throw new Error(`no listener on :${port}: ${out}`);
  return Number(m[1]);
}

/** The pids whose fd table holds socket:[ino], as /proc shows them, ascending. */
function holdersOf(ino: number): number[] {
  const want = `socket:[${ino}]`;
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${d}/fd`);
    } catch {
      continue; // gone
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${d}/fd/${fd}`) === want) {
          pids.push(Number(d));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return pids.sort((a, b) => a - b);
}

const commOf = (pid: number) => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');

/** The value of a global of the .bss that an acceptq process holds, as bpftool prints it with the map's BTF. */
function bssValue(pid: number, name: string): number {
  const maps = mapsOf(pid);
  const bss = Object.keys(maps).find((n) => n.endsWith('.bss'));
  if (!bss) throw new Error(`pid ${pid} holds no .bss map: ${Object.keys(maps).join(', ')}`);
  const dump = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(maps[bss])], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
  const find = (v: unknown): number | undefined => {
    if (!v || typeof v !== 'object') return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o[name] === 'number') return o[name] as number;
    for (const x of Object.values(o)) {
      const r = find(x);
      if (r !== undefined) return r;
    }
    return undefined;
  };
  const r = find(dump);
  if (r === undefined) throw new Error(`${name} not in ${bss}: ${JSON.stringify(dump).slice(0, 300)}`);
  return r;
}

interface Seen {
  record: JsonRecord;
  held: Held;
  /** records acq_iter_owners emitted in that run */
  records: number;
}

/** Run acceptq --json (with env added) until every old listener has its owner; what it said and held then. */
async function ownersSeen(olds: Old[], env: Record<string, string> = {}): Promise<Seen> {
  const saved = Object.entries(env).map(([k]) => [k, process.env[k]] as const);
  Object.assign(process.env, env); // spawn takes the environment as it is now
  let aq: AcceptqJson;
  try {
    aq = AcceptqJson.start();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  try {
    const record = await aq.waitFor((r) => olds.every((o) => rowOf(r, o)?.pid), 20000);
    const held = heldBy(aq.proc.pid!);
    const records = bssValue(aq.proc.pid!, 'owner_records');
    return { record, held, records };
  } finally {
    await aq.stop();
  }
}

const rowOf = (r: JsonRecord, o: Old) => r.listeners.find((l) => l.netns === o.netns && l.port === o.port && !l.closed);

function checkOwners(t: ExecutionContext, how: string, olds: Old[], seen: Seen): void {
  for (const o of olds) {
    const row = rowOf(seen.record, o)!;
    t.is(row.pid, o.holders[0], `${how}: ${o.name}: owner pid = the lowest pid /proc shows holding it (${o.holders.join(', ')})`);
    t.is(row.comm, commOf(o.holders[0]), `${how}: ${o.name}: owner comm = /proc/${o.holders[0]}/comm`);
    t.is(row.inode, o.ino, `${how}: ${o.name}: inode = the one ss -e shows (ino:)`);
  }
}

test.serial('owners of listeners older than acceptq: the iterator names the ones the /proc scan names', async (t) => {
  const cleanup = new Cleanup();
  t.teardown(() => cleanup.run());

  // before acceptq: a lab listener (one process), and nginx (master and worker share the socket)
  const lab = await startLab('syn');
  cleanup.add(() => void lab.stop());
  // no acceptq runs yet: no namespace inode is known to it
  const ns = Netns.create(cleanup, { records: [] } as unknown as AcceptqJson);
  const nginx = await startNginx(ns, cleanup, NGINX_PORT, 16);

  const labIno = listenerInode(['nsenter', '-t', String(lab.pid), '-n'], 9000);
  const nginxIno = listenerInode(['ip', 'netns', 'exec', ns.name], NGINX_PORT);
  // nginx's worker inherits the listening socket once it is forked
  let nginxHolders = holdersOf(nginxIno);
  for (const until = Date.now() + 10000; nginxHolders.length < 2 && Date.now() < until; nginxHolders = holdersOf(nginxIno)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const olds: Old[] = [
    { name: 'lab', netns: lab.netns, port: 9000, ino: labIno, holders: holdersOf(labIno) },
    { name: 'nginx', netns: ns.inode, port: NGINX_PORT, ino: nginxIno, holders: nginxHolders },
  ];
  t.log(olds.map((o) => `${o.name}: socket:[${o.ino}] held by ${o.holders.map((p) => `${p} (${commOf(p)})`).join(', ')}`).join('; '));
  t.deepEqual(olds[0].holders, [lab.pid], 'the lab alone holds its listener');
  t.true(nginxHolders.length >= 2, 'nginx: master and worker hold the listener');
  t.is(nginxHolders[0], nginx.pid!, 'nginx: the master has the lowest pid');

  // the iterator: attached, it emitted the records, no notice about it
  const iter = await ownersSeen(olds);
  t.log(`iterator: ${iter.records} records; ${olds.map((o) => `${o.name} -> ${rowOf(iter.record, o)?.pid} ${rowOf(iter.record, o)?.comm}`).join(', ')}`);
  t.true(iter.held.links.some((l) => l.prog === PROG), `${PROG} is attached`);
  t.true(iter.records >= olds.length, `${PROG} emitted a record for each old listener's holder at least`);
  t.notRegex(iter.record.notice ?? '', new RegExp(PROG));
  checkOwners(t, 'iterator', olds, iter);

  // the fallback: the program refused on request, the notice says what that costs
  const proc = await ownersSeen(olds, { ACCEPTQ_REFUSE: PROG });
  t.log(`/proc scan: notice "${proc.record.notice}"`);
  t.false(proc.held.progs.some((p) => p.name === PROG), `${PROG} is not loaded`);
  t.is(proc.records, 0, 'no record from the iterator');
  t.regex(proc.record.notice ?? '', new RegExp(`scan of /proc/\\*/fd \\(${PROG} refused on request\\)`));
  checkOwners(t, '/proc scan', olds, proc);

  // both ways, the same owner
  for (const o of olds) {
    t.is(rowOf(iter.record, o)?.pid, rowOf(proc.record, o)?.pid, `${o.name}: the same pid both ways`);
    t.is(rowOf(iter.record, o)?.comm, rowOf(proc.record, o)?.comm, `${o.name}: the same comm both ways`);
  }
});

/**
 * A perl listener on 127.0.0.1:port in ns, run under the name `name` (a
 * link to perl: the kernel takes comm from the name executed). Resolves
 * with its pid once it listens.
 */
async function perlListener(ns: Netns, cleanup: Cleanup, dir: string, name: string, port: number): Promise<number> {
  const exe = path.join(dir, name);
  fs.symlinkSync('/usr/bin/perl', exe);
  const script = `my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:${port}", Listen => 8, ReuseAddr => 1) or die "listen: $!"; sleep 120`;
  const p = spawn('ip', ['netns', 'exec', ns.name, exe, '-MIO::Socket::INET', '-e', script], { stdio: 'ignore' });
  cleanup.add(() => killPid(p.pid!));
  for (const until = Date.now() + 10000; !ns.listening(port); ) {
    if (Date.now() > until || p.exitCode !== null) throw new Error(`${name} is not listening on :${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return p.pid!; // ip netns exec execs the command in place: its pid is perl's
}

test.serial('the owner is the current one: a second process listening on a port after the first exited is named', async (t) => {
  const PORT = 9555;
  const cleanup = new Cleanup();
  t.teardown(() => cleanup.run());
  const aq = AcceptqJson.start();
  cleanup.add(() => void aq.stop());
  await aq.waitFor(() => true, 20000);
  const ns = Netns.create(cleanup, aq);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-owner-'));
  cleanup.add(() => fs.rmSync(dir, { recursive: true, force: true }));
  const row = (r: JsonRecord) => r.listeners.find((l) => l.netns === ns.inode && l.port === PORT && !l.closed);

  const first = await perlListener(ns, cleanup, dir, 'aq-owner-one', PORT);
  const one = await aq.waitFor((r) => row(r)?.pid === first, 20000);
  t.is(row(one)?.comm, 'aq-owner-one');
  const inodeOne = listenerInode(['ip', 'netns', 'exec', ns.name], PORT);
  t.is(row(one)?.inode, inodeOne, 'a socket made after acceptq started: its inode is the one ss -e shows');

  killPid(first);
  t.false(ns.listening(PORT), 'the first listener is gone');
  const second = await perlListener(ns, cleanup, dir, 'aq-owner-two', PORT);
  t.not(second, first);
  const inodeTwo = listenerInode(['ip', 'netns', 'exec', ns.name], PORT);
  t.not(inodeTwo, inodeOne);
  // from the first tick whose sample has the new socket on: the second's pid and comm
  const from = aq.records.length;
  const seen = await aq.waitFor((r) => row(r) !== undefined, 20000, from);
  const later: JsonRecord[] = [seen];
  for (let i = 0; i < 3; i++) later.push(await aq.waitFor(() => true, 20000, aq.records.indexOf(later[later.length - 1]) + 1));
  for (const r of later) {
    t.is(row(r)?.pid, second, `${r.time}: pid is the second listener's (first ${first}; row ${JSON.stringify(row(r))?.slice(0, 200)})`);
    t.is(row(r)?.comm, 'aq-owner-two', `${r.time}: comm is the second listener's`);
    t.is(row(r)?.inode, inodeTwo, `${r.time}: inode is the second listener's socket's`);
  }
});
