// Every lab scenario, against the kernel's own counters, with the probe set
// acceptq picks by itself (auto).
import test from 'ava';
import { AcceptqJson } from './support/acceptq';
import { checkScenario } from './support/scenario';

let aq: AcceptqJson;

test.before(async () => {
  aq = AcceptqJson.start();
  await aq.waitFor(() => true, 20000); // probes attached
});

test.after.always(async () => {
  await aq?.stop();
});

test.serial('SYN path: a listener that never accepts', async (t) => {
  const { rows } = await checkScenario(t, aq, 'syn');
  t.true(rows[0].overflowsSyn > 0);
});

test.serial('final-ACK path, deterministic: 5 ACKs find the queue full', async (t) => {
  const { rows, kernel } = await checkScenario(t, aq, 'ack');
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

test.serial('a listener that keeps up shows zero', async (t) => {
  const { rows, kernel } = await checkScenario(t, aq, 'idle');
  t.is(kernel.TcpExtListenOverflows, 0);
  t.is(rows[0].overflows, 0);
});

test.serial('detail events name the remote end and the path', async (t) => {
  // events of the scenarios above arrived in earlier records
  const events = aq.records.flatMap((r) => r.events);
  const syn = events.filter((e) => e.port === 9000 && e.path === 'syn');
  t.true(syn.length > 0, 'SYN-path events for the syn scenario');
  t.is(syn[0].remoteAddress, '127.0.0.1');
  t.true(syn[0].remotePort > 0);
  const ack = events.filter((e) => e.port === 9100 && e.path === 'ack');
  t.is(ack.length, 5, 'one event per ACK-path overflow');
  t.is(ack[0].remoteAddress, '127.0.0.2');
  t.is(aq.records[aq.records.length - 1].lostEvents, 0);
});
