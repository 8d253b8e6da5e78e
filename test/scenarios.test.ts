// Every lab scenario, against the kernel's own counters, with the probe set
// acceptq picks by itself (auto).
import test from 'ava';
import { AcceptqJson } from '../harness/acceptq';
import { checkScenario } from './support/scenario';

let aq: AcceptqJson;
/** The SYN-path scenario, once it has stopped: when, where, and the kernel's count. */
let synClosed: { at: number; netns: number; kernel: number } | undefined;
let ackNetns = 0;

test.before(async () => {
  aq = AcceptqJson.start();
  await aq.waitFor(() => true, 20000); // probes attached
});

test.after.always(async () => {
  await aq?.stop();
});

test.serial('SYN path: a listener that never accepts', async (t) => {
  const { rows, lab, kernel } = await checkScenario(t, aq, 'syn');
  t.true(rows[0].overflowsSyn > 0);
  await lab.stop();
  synClosed = { at: Date.now(), netns: lab.netns, kernel: kernel.TcpExtListenOverflows };
});

test.serial('final-ACK path, deterministic: 5 ACKs find the queue full', async (t) => {
  const { rows, kernel, lab } = await checkScenario(t, aq, 'ack');
  ackNetns = lab.netns;
  t.is(kernel.TcpExtListenOverflows, 5);
  t.is(rows[0].overflowsAck, 5);
  t.is(rows[0].overflowsSyn, 0);
});

test.serial('final-ACK path with SYN cookies', async (t) => {
  const { rows, kernel } = await checkScenario(t, aq, 'ack-cookie');
  t.is(rows[0].overflowsAck, kernel.TcpExtListenOverflows);
  t.is(rows[0].cookies, kernel.TcpExtSyncookiesSent, 'cookies = kernel SyncookiesSent');
  t.true(rows[0].cookies > 0);
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
  const { rows, kernel } = await checkScenario(t, aq, 'idle');
  t.is(kernel.TcpExtListenOverflows, 0);
  t.is(rows[0].overflows, 0);
});

test.serial('detail events name the remote end and the path', async (t) => {
  // events of the scenarios above arrived in earlier records
  t.truthy(synClosed && ackNetns, 'the syn and ack scenarios ran');
  const events = aq.records.flatMap((r) => r.events);
  const syn = events.filter((e) => e.netns === synClosed?.netns && e.port === 9000 && e.path === 'syn');
  t.true(syn.length > 0, 'SYN-path events for the syn scenario');
  t.true(syn.every((e) => e.remoteAddress === '127.0.0.1' && e.remotePort > 0), 'each from the lab\'s client');
  const ack = events.filter((e) => e.netns === ackNetns && e.port === 9100 && e.path === 'ack');
  t.is(ack.length, 5, 'one event per ACK-path overflow');
  t.true(ack.every((e) => e.remoteAddress === '127.0.0.2' && e.remotePort > 0), 'each from the lab\'s client');
  t.is(aq.records[aq.records.length - 1].lostEvents, 0);
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
