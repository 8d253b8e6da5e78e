// Every lab scenario, against the kernel's own counters, with the probe set
// acceptq picks by itself (auto).
import test from 'ava';
import { AcceptqJson } from '../harness/acceptq';
import { checkScenario } from './support/scenario';

let aq: AcceptqJson;
/** The SYN-path scenario, once it has stopped: when, where, the kernel's count, and the clients that found the queue full. */
let synClosed: { from: number; at: number; netns: number; kernel: number; refusedClients: number } | undefined;
/** The final-ACK scenario: when and where (a namespace's inode number is reused once it is gone). */
let ackRan: { from: number; to: number; netns: number } | undefined;

test.before(async () => {
  aq = AcceptqJson.start();
  await aq.waitFor(() => true, 20000); // probes attached
});

test.after.always(async () => {
  await aq?.stop();
});

test.serial('SYN path: a listener that never accepts', async (t) => {
  const from = Date.now();
  const { lab, kernel, report } = await checkScenario(t, aq, 'syn');
  await lab.stop();
  // the queue admits backlog + 1 (2 + 1); every later client's SYNs found it full
  const refusedClients = report.connects - (lab.listeners[0].backlog + 1);
  synClosed = { from, at: Date.now(), netns: lab.netns, kernel: kernel.TcpExtListenOverflows, refusedClients };
});

test.serial('final-ACK path, deterministic: 5 ACKs find the queue full', async (t) => {
  const from = Date.now();
  const { rows, record, lab } = await checkScenario(t, aq, 'ack');
  ackRan = { from, to: Date.now(), netns: lab.netns };
  t.is(rows[0].overflowsAck, 5, 'the 5 ACKs staged');
  t.is(rows[0].overflowsSyn, 0);
  t.is(record.namespaces.find((n) => n.netns === lab.netns)?.listenOverflows, 5, 'the namespace: the 5 staged');
});

test.serial('final-ACK path with SYN cookies', async (t) => {
  const { rows, kernel, report } = await checkScenario(t, aq, 'ack-cookie');
  t.is(rows[0].overflowsAck, 5, 'the 5 ACKs staged');
  t.is(rows[0].cookies, kernel.TcpExtSyncookiesSent, 'cookies = kernel SyncookiesSent');
  t.is(rows[0].cookies, report.connects + report.rawSyns, 'one cookie per SYN the lab sent (tcp_syncookies=2)');
});

test.serial('IPv6', async (t) => {
  const { rows } = await checkScenario(t, aq, 'v6');
  t.is(rows[0].family, 6);
  t.is(rows[0].address, '::1');
});

test.serial('SO_REUSEPORT group: one row, three sockets', async (t) => {
  const { rows } = await checkScenario(t, aq, 'reuseport');
  t.is(rows[0].sockets, 3);
});

test.serial('two listeners on one port at different addresses', async (t) => {
  await checkScenario(t, aq, 'twoaddr');
});

test.serial('IPv4 connections to a dual-stack [::] listener', async (t) => {
  const { rows } = await checkScenario(t, aq, 'dualstack');
  t.is(rows[0].family, 6);
  t.is(rows[0].address, '::');
});

test.serial('a listener that keeps up shows zero', async (t) => {
  const { rows, report } = await checkScenario(t, aq, 'idle');
  t.is(rows[0].overflows, 0);
  // it took every connection the lab made (5 rounds of 10), all since acceptq started
  t.is(rows[0].arrivals, report.connects, 'arrivals = the connects staged');
  t.is(rows[0].accepts, report.connects, 'accepts = the connects staged');
});

test.serial('detail events name the remote end and the path', async (t) => {
  // events of the scenarios above arrived in earlier records
  if (!synClosed || !ackRan) return t.fail('the syn and ack scenarios did not run');
  const events = aq.records.flatMap((r) => r.events);
  const during = (from: number, to: number, netns: number) =>
    events.filter((e) => e.netns === netns && Date.parse(e.time) >= from && Date.parse(e.time) <= to);
  t.is(aq.records.reduce((n, r) => n + r.suppressedEvents, 0), 0, 'none held back by --events-per-sec');
  t.is(aq.records[aq.records.length - 1].lostEvents, 0);
  // the syn scenario: one event per overflow the kernel counted in its namespace, each a SYN to the full 127.0.0.1:9000
  const inSyn = during(synClosed.from, synClosed.at, synClosed.netns);
  t.is(inSyn.length, synClosed.kernel, 'one event per overflow of the namespace');
  t.deepEqual(inSyn.filter((e) => !(e.address === '127.0.0.1' && e.port === 9000 && e.path === 'syn')), [], 'each a SYN to 127.0.0.1:9000');
  t.deepEqual(inSyn.filter((e) => !(e.backlog === 3 && e.maxBacklog === 2)), [], 'each when its queue was full: 3 of backlog 2');
  t.true(inSyn.every((e) => e.remoteAddress === '127.0.0.1'), 'each from the lab\'s clients');
  t.is(new Set(inSyn.map((e) => e.remotePort)).size, synClosed.refusedClients, 'from every client the full queue refused, and no other');
  // the ack scenario: the 5 raw handshakes the lab completed into a full queue, from 127.0.0.2:40000-40004
  const inAck = during(ackRan.from, ackRan.to, ackRan.netns);
  t.deepEqual(inAck.filter((e) => !(e.address === '127.0.0.1' && e.port === 9100 && e.path === 'ack')), [], 'each a final ACK to 127.0.0.1:9100');
  t.deepEqual(inAck.map((e) => `${e.remoteAddress}:${e.remotePort}`).sort(), [0, 1, 2, 3, 4].map((i) => `127.0.0.2:${40000 + i}`), 'one per staged handshake');
  t.deepEqual(inAck.filter((e) => !(e.backlog === 9 && e.maxBacklog === 8)), [], 'each when its queue was full: 9 of backlog 8');
});

test.serial('a closed listener keeps its row and its counts for at least 60 s', async (t) => {
  t.timeout(120000);
  if (!synClosed) return t.fail('the SYN-path scenario did not run');
  t.true(synClosed.kernel > 0, 'the kernel counted overflows in that namespace');
  const wait = synClosed.at + 61000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const rec = await aq.fresh();
  const row = rec.listeners.find((l) => l.netns === synClosed!.netns && l.port === 9000);
  t.truthy(row, 'still there 61 s after it closed');
  t.true(row?.closed, 'marked closed');
  t.is(row?.overflows, synClosed.kernel, 'with the count the kernel had for its namespace');
  t.is(row?.sockets, 0);
});

test.serial('a listener older than acceptq: found by the iterator, owner found through its inode', async (t) => {
  const { startLab } = await import('../harness/lab');
  const lab = await startLab('syn');
  t.teardown(() => lab.stop());
  const late = AcceptqJson.start();
  t.teardown(() => late.stop());
  const rec = await late.waitFor((r) => r.listeners.some((l) => l.netns === lab.netns && l.pid !== 0), 20000);
  const row = rec.listeners.find((l) => l.netns === lab.netns)!;
  t.is(row.pid, lab.pid);
  t.is(row.comm, 'acceptq-lab');
  t.is(`${row.backlog}/${row.maxBacklog}`, '3/2');
  t.is(row.overflows, 0, 'counts start when acceptq starts');
  t.is(rec.namespaces.find((n) => n.netns === lab.netns)?.listenOverflows, 0, 'so do the kernel deltas');
});
