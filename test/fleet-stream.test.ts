// The fleet's model on scripted polls (recorded data, no network): rates
// between scrapes, a scrape seen twice, a host going down and coming back, a
// host the source no longer names ageing out, a failing source, and the
// record's hosts[] as docs/json.md documents it. The real exporters,
// Prometheus and namespaces are in test/fleet.test.ts.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../harness/paths';
import { renderMetrics } from '../src/export/metrics';
import { hostReadOf } from '../src/fleet/figures';
import { parseExposition } from '../src/fleet/exposition';
import { HttpClient } from '../src/fleet/http';
import { FleetStream, RETAIN_MS, withDownHosts } from '../src/fleet/stream';
import type { FleetSource, HostPoll, Poll } from '../src/fleet/sources';
import { jsonRecord } from '../src/output/json';
import { renderTable } from '../src/output/table';
import { filterSnapshot } from '../src/model/view';
import { RunSummary } from '../src/model/summary';
import type { NamespaceRow } from '../src/model/types';
import { listenerRow, snapshotOf } from './support/rows';

/** A source that answers the polls it is given, in order. */
class Scripted implements FleetSource {
  readonly kind = 'targets';
  readonly name = 'scripted';
  readonly http = new HttpClient({}, 1000);
  constructor(private polls: Poll[]) {}
  async poll(): Promise<Poll> {
    return this.polls.shift()!;
  }
}

const ns = (over: Partial<NamespaceRow> = {}): NamespaceRow => ({
  host: '', netns: 4026531840, cookie: 1, pid: 1, listenOverflows: 0, listenDrops: 0, syncookiesSent: 0, reqQFullDrops: 0, unattributed: 0,
  unattributedSynDrops: 0, unattributedCookies: 0, unmatched: 0, estimate: false, overflowRate: 0, gone: false,
  somaxconn: 4096, maxSynBacklog: 512, syncookies: 1, abortOnOverflow: 0, ...over,
});

/** A host's answer: what its exporter renders for a listener with these overflows (SYN path) and accepts. */
function up(host: string, scrapedMs: number, overflows: number, accepts = 0, hostname = host.split(':')[0], startedS: number | null = 500): HostPoll {
  const row = listenerRow({ overflowsSyn: overflows, overflows, accepts, arrivals: accepts, pid: 42, comm: 'nginx', port: 8080, address: '10.0.0.2' });
  const s = snapshotOf(scrapedMs, [row], { namespaces: [ns({ listenOverflows: overflows })] });
  const read = hostReadOf(parseExposition(renderMetrics(s, undefined, { hostname, kernel: '6.1.0', startedS: startedS ?? 0 })));
  // null: an exporter from before acceptq_start_time_seconds
  if (startedS === null) read.startedS = null;
  return { host, up: true, scrapedMs, error: null, read };
}
const down = (host: string, scrapedMs: number, error = 'connection refused'): HostPoll => ({ host, up: false, scrapedMs, error, read: null });

async function run(polls: Poll[], times: number[]) {
  let i = 0;
  const stream = new FleetStream(new Scripted(polls), 1, () => times[i++]);
  const out = [];
  for (let k = 0; k < times.length; k++) {
    await stream.prepare();
    out.push(stream.next());
  }
  return out;
}

test('rates are the moves between two scrapes over the time between them; the same scrape again keeps them', async (t) => {
  const [s1, s2, s3, s4] = await run([
    { hosts: [up('a:9877', 1000, 10, 5), up('b:9877', 1000, 0)], notice: '' },
    { hosts: [up('a:9877', 3000, 30, 25), up('b:9877', 2000, 4)], notice: '' },
    // Prometheus has not scraped a again: its scrape time stands, so do its rates
    { hosts: [up('a:9877', 3000, 30, 25), up('b:9877', 3000, 4)], notice: '' },
    { hosts: [up('a:9877', 4000, 30, 25), up('b:9877', 4000, 4)], notice: '' },
  ], [1000, 2000, 3000, 4000]);
  const row = (s: typeof s1, host: string) => s.listeners.find((r) => r.host === host)!;
  t.is(row(s1, 'a:9877').overflowRate, 0, 'no rate before a second scrape');
  t.is(row(s2, 'a:9877').overflowRate, 10, '20 overflows over 2 s');
  t.is(row(s2, 'a:9877').acceptRate, 10);
  t.is(row(s2, 'b:9877').overflowRate, 4);
  t.is(row(s3, 'a:9877').overflowRate, 10, 'the same scrape: the rate stands');
  t.is(row(s3, 'b:9877').overflowRate, 0, 'a new scrape with no move: 0');
  t.is(row(s4, 'a:9877').overflowRate, 0);
  t.is(row(s2, 'a:9877').overflows, 30, 'counts as the exporter gave them');
  t.is(s2.namespaces.find((n) => n.host === 'a:9877')!.overflowRate, 10, "the namespace's kernel rate too");
  t.is(s2.attributedRate, 14);
  t.is(s2.hosts!.find((h) => h.host === 'a:9877')!.overflowRate, 10);
  t.is(s2.hosts!.find((h) => h.host === 'a:9877')!.hostname, 'a');
  t.not(row(s2, 'a:9877').id, row(s2, 'b:9877').id, 'the same listener on two hosts: two rows');
  t.is(s2.namespaces.length, 2, 'and two namespaces, though both have cookie 1');
});

test('a host that stops answering stays, down, with its last figures and when it was last seen; it comes back', async (t) => {
  const [, s2, s3] = await run([
    { hosts: [up('a:9877', 1000, 10), up('b:9877', 1000, 1)], notice: '' },
    { hosts: [up('a:9877', 2000, 20), down('b:9877', 2000)], notice: '' },
    { hosts: [up('a:9877', 3000, 20), up('b:9877', 3000, 7)], notice: '' },
  ], [1000, 2000, 3000]);
  const b = s2.hosts!.find((h) => h.host === 'b:9877')!;
  t.false(b.up);
  t.is(b.lastSeenMs, 1000);
  t.is(b.error, 'connection refused');
  const rows = s2.listeners.filter((r) => r.host === 'b:9877');
  t.is(rows.length, 1, 'its listener is still there');
  t.true(rows[0].hostDown);
  t.is(rows[0].overflows, 1, 'with its last count');
  t.is(rows[0].overflowRate, 0);
  t.true(renderTable(s2).includes('host b:9877 (b, 6.1.0): down, last seen 1s ago'), renderTable(s2));
  const back = s3.listeners.find((r) => r.host === 'b:9877')!;
  t.false(back.hostDown);
  t.is(back.overflows, 7);
  t.is(back.overflowRate, 6 / 2, 'the moves since the last scrape it answered, over the time since');
});

test('a host never seen has a row of its own in the table; one the source stops naming ages out after 120 s', async (t) => {
  const t0 = 1000;
  const polls: Poll[] = [
    { hosts: [up('a:9877', t0, 1), down('c:9877', t0)], notice: '' },
    { hosts: [down('c:9877', t0 + 1000)], notice: '' },
    { hosts: [down('c:9877', t0 + 2000)], notice: '' },
    { hosts: [down('c:9877', t0 + RETAIN_MS + 5000)], notice: '' },
  ];
  const [s1, s2, , s4] = await run(polls, [t0, t0 + 1000, t0 + 2000, t0 + RETAIN_MS + 5000]);
  t.deepEqual(s1.listeners.map((r) => r.host), ['a:9877'], 'the snapshot has only real rows');
  const shown = withDownHosts(s1);
  const c = shown.find((r) => r.host === 'c:9877')!;
  t.truthy(c, 'the table shows the down host');
  t.true(c.hostDown);
  t.is(c.port, 0);
  // no figure is known of it: '-', not a 0 that reads as a quiet listener
  t.regex(renderTable(s1), /^c:9877 +(- +)+host down$/m);
  const a = s2.hosts!.find((h) => h.host === 'a:9877')!;
  t.false(a.up, 'a host no longer named is down');
  t.is(a.error, 'no longer named by the source');
  t.truthy(s2.listeners.find((r) => r.host === 'a:9877'), 'its rows stay for now');
  t.deepEqual(s4.hosts!.map((h) => h.host), ['c:9877'], 'after 120 s it is gone');
  t.deepEqual(s4.listeners, []);
});

test("a host's acceptq restarted: its counts go on from before (a new start time), rates and a run's delta stay true", async (t) => {
  const polls: Poll[] = [
    { hosts: [up('a:9877', 1000, 10, 100)], notice: '' },
    { hosts: [up('a:9877', 2000, 30, 300)], notice: '' },
    { hosts: [down('a:9877', 3000)], notice: '' },
    // restarted: counts from 0, a new start time
    { hosts: [up('a:9877', 4000, 4, 40, 'a', 600)], notice: '' },
    { hosts: [up('a:9877', 5000, 9, 90, 'a', 600)], notice: '' },
  ];
  const snaps = await run(polls, [1000, 2000, 3000, 4000, 5000]);
  const row = (i: number) => snaps[i].listeners.find((r) => r.host === 'a:9877')!;
  const host = (i: number) => snaps[i].hosts!.find((h) => h.host === 'a:9877')!;
  t.is(row(3).overflows, 34, '30 before the restart, 4 since');
  t.is(row(3).overflowsSyn, 34);
  t.is(row(3).accepts, 340);
  t.is(row(3).overflowRate, 4 / 2, 'the new acceptq\'s 4 over the 2 s since the last scrape answered');
  t.is(row(4).overflows, 39);
  t.is(row(4).overflowRate, 5);
  t.is(snaps[3].namespaces[0].listenOverflows, 34, "the namespace's kernel count goes on too");
  t.is(snaps[3].namespaces[0].unattributed, 0, 'and its gap stays 0');
  t.is(host(2).restarts, 0);
  t.is(host(3).restarts, 1);
  t.is(host(3).restartedMs, 4000);
  t.is(host(3).startedMs, 600_000);
  t.regex(renderTable(snaps[4]), /acceptq restarted 1 time/);
  // a run across the restart: what happened during it, not a negative delta
  const summary = new RunSummary();
  for (const s of snaps) summary.add(s);
  t.is(summary.pressured()[0].overflows, 29, '39 - 10');
  t.is(summary.pressured()[0].accepts, 290);
});

test('a restart whose new counts already passed the old ones is told by its start time; without one, by a counter that fell', async (t) => {
  const passed = await run([
    { hosts: [up('a:9877', 1000, 3)], notice: '' },
    { hosts: [up('a:9877', 2000, 50, 0, 'a', 600)], notice: '' },
  ], [1000, 2000]);
  t.is(passed[1].listeners[0].overflows, 53, '3 before, 50 since');
  t.is(passed[1].hosts![0].restarts, 1);
  const old = await run([
    { hosts: [up('a:9877', 1000, 30, 0, 'a', null)], notice: '' },
    { hosts: [up('a:9877', 2000, 30, 0, 'a', null)], notice: '' },
    { hosts: [up('a:9877', 3000, 2, 0, 'a', null)], notice: '' },
    { hosts: [up('a:9877', 4000, 7, 0, 'a', null)], notice: '' },
  ], [1000, 2000, 3000, 4000]);
  t.is(old[1].hosts![0].restarts, 0, 'counts that hold still are no restart');
  t.is(old[2].listeners[0].overflows, 32);
  t.is(old[3].listeners[0].overflows, 37);
  t.is(old[3].listeners[0].overflowRate, 5);
  t.is(old[3].hosts![0].restarts, 1, 'one restart, not one a tick');
  t.is(old[3].hosts![0].startedMs, null);
});

test('a poll torn by a restart (some queries saw the old acceptq, some the new) is not shown: the last figures stand', async (t) => {
  const torn = up('a:9877', 2000, 60, 0, 'a', 600);
  torn.torn = true;
  const [, s2, s3] = await run([
    { hosts: [up('a:9877', 1000, 30)], notice: '' },
    { hosts: [torn], notice: '' },
    { hosts: [up('a:9877', 3000, 5, 0, 'a', 600)], notice: '' },
  ], [1000, 2000, 3000]);
  t.is(s2.listeners[0].overflows, 30);
  t.is(s2.hosts![0].restarts, 0);
  t.is(s3.listeners[0].overflows, 35);
  t.is(s3.hosts![0].restarts, 1);
});

test('a failing source is a notice; the hosts keep their state', async (t) => {
  const [, s2] = await run([
    { hosts: [up('a:9877', 1000, 3)], notice: '' },
    { hosts: [], notice: 'Prometheus http://p:9090: connection refused; retrying' },
  ], [1000, 2000]);
  t.is(s2.notice, 'Prometheus http://p:9090: connection refused; retrying');
  t.true(s2.hosts![0].up, 'not marked down for the source failing');
  t.is(s2.listeners[0].overflows, 3);
});

test("the fleet record: hosts[] with exactly docs/json.md's fields, a host on every row, no uid, inode or cgroup; filters keep each host's namespaces", async (t) => {
  const [, s2] = await run([
    { hosts: [up('a:9877', 1000, 1), up('b:9877', 1000, 2)], notice: '' },
    { hosts: [up('a:9877', 2000, 1), down('b:9877', 2000)], notice: '' },
  ], [1000, 2000]);
  const rec = jsonRecord(s2, 1) as any;
  t.is(rec.source, 'targets');
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'json.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### `hosts[]`'));
  const documented = section.split('\n').filter((l) => /^\| *`/.test(l)).flatMap((l) => [...l.split('|')[1].matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]));
  t.deepEqual(Object.keys(rec.hosts[0]).sort(), documented.sort());
  t.deepEqual(rec.hosts.map((h: any) => [h.host, h.up, h.lastSeen]), [['a:9877', true, new Date(2000).toISOString()], ['b:9877', false, new Date(1000).toISOString()]]);
  for (const l of rec.listeners) {
    t.truthy(l.host);
    t.false('uid' in l || 'inode' in l || 'cgroup' in l);
  }
  t.deepEqual(rec.namespaces.map((n: any) => n.host), ['a:9877', 'b:9877']);
  const only = filterSnapshot(s2, { text: 'b:9877' });
  t.deepEqual(only.namespaces.map((n) => n.host), ['b:9877'], "a host's rows keep its namespace, not another host's of the same cookie");
});
