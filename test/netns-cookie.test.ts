// Namespaces told apart by cookie, not inode number (which the kernel
// reuses): two real namespaces' listeners on the same address and port, and
// recorded data where a closed namespace and a new one share an inode,
// through the recording, JSON, the exporter and the --netns filter.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AcceptqJson } from '../harness/acceptq';
import { CLI } from '../harness/paths';
import { Cleanup, cleanupAll, killPid, Netns } from '../harness/servers';
import { Collector } from '../src/model/collector';
import { netnsCookieText, netnsIdFromWords } from '../src/model/netns';
import type { RawListener, RawNetns, RawSnapshot } from '../src/model/raw';
import { filterSnapshot } from '../src/model/view';
import { jsonRecord } from '../src/output/json';
import { renderMetrics } from '../src/export/metrics';
import { parseRecording, readRecording } from '../src/record/recording';
import { RecordingWriter } from '../src/record/writer';
import { RAW_STATS, rawListener, rawNetns } from './support/raw';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-netns-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

const INODE = 4026532500;

const listener = (over: Partial<RawListener>): RawListener => rawListener({ netns: INODE, port: 8080, comm: 'srv', ...over });
const netns = (over: Partial<Omit<RawNetns, 'start'>>): RawNetns => rawNetns({ netns: INODE, ...over });
const stats = RAW_STATS;

/**
 * Namespace cookie 41 had a listener on 127.0.0.1:8080 that overflowed 5
 * times, then was deleted; cookie 42 took over its inode and has its own
 * listener on the same address and port, 2 overflows.
 */
function sharedInode(): { header: string; lines: string[] } {
  let t = 1_700_000_000_000;
  const frames: RawSnapshot[] = [
    { listeners: [listener({ netnsCookie: 41, overflowsSyn: 5 })], namespaces: [netns({ cookie: 41, listenOverflows: 5, attributed: 5 })], stats },
    {
      listeners: [listener({ netnsCookie: 41, overflowsSyn: 5, closedMs: t }), listener({ netnsCookie: 42, overflowsSyn: 2, pid: 20 })],
      namespaces: [netns({ cookie: 41, listenOverflows: 5, attributed: 5, gone: true }), netns({ cookie: 42, pid: 20, listenOverflows: 2, attributed: 2 })],
      stats,
    },
  ];
  let i = 0;
  const c = new Collector({ probe: 'tracepoint', snapshot: () => frames[i++], drain: () => [] }, 1, () => (t += 1000));
  const file = path.join(dir, 'shared.ndjson');
  const w = new RecordingWriter(file, c.meta);
  w.write(c.tick());
  w.write(c.tick());
  w.close();
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  return { header, lines };
}

test('recorded data, two namespaces sharing an inode (one closed): kept apart in the recording, JSON, metrics and the filter', (t) => {
  const { header, lines } = sharedInode();
  const replayed = readRecording(path.join(dir, 'shared.ndjson'));
  replayed.next();
  const s = replayed.next()!;
  replayed.close();
  t.is(s.listeners.length, 2, 'both rows replayed');

  const rec = jsonRecord(s, 1) as any;
  t.deepEqual(rec.listeners.map((l: any) => [l.netns, l.netnsCookie, l.overflows, l.closed]), [[INODE, '41', 5, true], [INODE, '42', 2, false]]);
  t.deepEqual(rec.namespaces.map((n: any) => [n.netns, n.netnsCookie, n.listenOverflows]), [[INODE, '41', 5], [INODE, '42', 2]]);

  const body = renderMetrics(s);
  const base = `netns="${INODE}",netns_cookie="%",address="127.0.0.1",port="8080",comm="srv"`;
  t.regex(body, new RegExp(`^acceptq_listen_overflows_total\\{${base.replace('%', '41')},path="syn"\\} 5$`, 'm'), 'the closed one is not dropped');
  t.regex(body, new RegExp(`^acceptq_listen_overflows_total\\{${base.replace('%', '42')},path="syn"\\} 2$`, 'm'));
  t.regex(body, new RegExp(`^acceptq_namespace_listen_overflows_total\\{netns="${INODE}",netns_cookie="41"\\} 5$`, 'm'));
  t.regex(body, new RegExp(`^acceptq_namespace_listen_overflows_total\\{netns="${INODE}",netns_cookie="42"\\} 2$`, 'm'));
  // no two samples of one metric share a label set
  const samples = body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));
  t.is(new Set(samples).size, samples.length);

  // --netns: the inode names both, a cookie one
  t.is(filterSnapshot(s, { netns: String(INODE) }).listeners.length, 2);
  const only42 = filterSnapshot(s, { netns: '42' });
  t.deepEqual(only42.listeners.map((l) => l.overflows), [2]);
  t.deepEqual(only42.namespaces.map((n) => n.cookie), [42], 'the namespace that had the inode before is not in it');
  t.true(header.includes('"format":5'));
  t.is(lines.length, 2);
});

test('before 5.14 (id = inode | 1 << 63): exact in the model and in text, and older recordings put right', (t) => {
  // two inodes 1 apart: as doubles, 2^63 + inode rounds both to the same number
  const a = netnsIdFromWords(4026532500, 0x80000000);
  const b = netnsIdFromWords(4026532501, 0x80000000);
  t.not(a, b);
  t.is(netnsCookieText(a), ((1n << 63n) | 4026532500n).toString());
  t.is(netnsCookieText(netnsIdFromWords(4097, 0)), '4097');
  // a format-3 recording holds the rounded double; the inode beside it restores the id
  const { header, lines } = sharedInode();
  const o = JSON.parse(lines[1]);
  o.listeners[0].netnsCookie = 2 ** 63 + 4026532500;
  o.listeners[0].netns = 4026532500;
  o.listeners[1].netnsCookie = 2 ** 63 + 4026532501;
  o.listeners[1].netns = 4026532501;
  o.namespaces[0].cookie = 2 ** 63 + 4026532500;
  o.namespaces[0].netns = 4026532500;
  o.namespaces[1].cookie = 2 ** 63 + 4026532501;
  o.namespaces[1].netns = 4026532501;
  t.is(o.listeners[0].netnsCookie, o.listeners[1].netnsCookie, 'the old form collides');
  const s = parseRecording(`${header.replace('"format":5', '"format":3')}\n${JSON.stringify(o)}\n`).snapshots[0];
  const rec = jsonRecord(s, 1) as any;
  t.deepEqual(rec.listeners.map((l: any) => l.netnsCookie), [((1n << 63n) | 4026532500n).toString(), ((1n << 63n) | 4026532501n).toString()]);
  t.not(s.listeners[0].id, s.listeners[1].id);
});

// ---- the real kernel: two namespaces, a listener on 127.0.0.1:9471 in each ----

test.serial('two real namespaces, same address and port: told apart by their cookies, and --netns takes either number', async (t) => {
  t.timeout(90000);
  process.once('exit', cleanupAll);
  const aq = AcceptqJson.start();
  const cleanup = new Cleanup();
  t.teardown(async () => {
    cleanup.run();
    await aq.stop();
  });
  await aq.waitFor(() => true, 20000);
  const ns = [Netns.create(cleanup, aq), Netns.create(cleanup, aq)];
  const port = 9471;
  for (const n of ns) {
    const p = spawn('ip', ['netns', 'exec', n.name, process.execPath, '-e', `require('net').createServer().listen(${port}, '127.0.0.1'); setTimeout(() => {}, 60000)`], { stdio: 'ignore' });
    cleanup.add(() => p.pid && killPid(p.pid));
  }
  const rec = await aq.waitFor((r) => ns.every((n) => r.listeners.some((l) => l.netns === n.inode && l.port === port)), 20000);
  const rows = ns.map((n) => rec.listeners.find((l) => l.netns === n.inode && l.port === port)!);
  t.not(rows[0].netnsCookie, rows[1].netnsCookie);
  for (const [i, r] of rows.entries()) {
    t.regex(r.netnsCookie, /^[1-9]\d*$/, 'decimal text');
    const nsRow = rec.namespaces.find((x) => x.netnsCookie === r.netnsCookie);
    t.is(nsRow?.netns, ns[i].inode, "the namespace row with the listener's cookie is its namespace");
  }
  // a second acceptq, narrowed by cookie, then by inode: the same one namespace
  for (const [by, value] of [['cookie', rows[1].netnsCookie], ['inode', String(ns[1].inode)]]) {
    const r = spawnSync(process.execPath, [CLI, '--json', '--interval', '0.3', '--duration', '0.3', '--netns', value], { encoding: 'utf8', timeout: 30000 });
    t.is(r.status, 0, r.stderr);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
    t.deepEqual(last.listeners.map((l: any) => [l.netns, l.netnsCookie, l.port]), [[ns[1].inode, rows[1].netnsCookie, port]], `--netns by ${by}`);
    t.deepEqual(last.namespaces.map((n: any) => n.netnsCookie), [rows[1].netnsCookie], `--netns by ${by}: its namespace only`);
  }
});
