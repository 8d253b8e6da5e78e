/**
 * One lab scenario checked against the kernel: acceptq's rows for the
 * scenario's namespace must account for exactly the kernel's counters.
 */
import type { ExecutionContext } from 'ava';
import type { AcceptqJson, JsonRecord } from '../../harness/acceptq';
import { startLab, type LabRun } from '../../harness/lab';

export interface ScenarioResult {
  lab: LabRun;
  record: JsonRecord;
  kernel: Record<string, number>;
  rows: Array<Record<string, any>>;
}

/** Run the scenario, wait for acceptq to have seen all of it, and compare. */
export async function checkScenario(t: ExecutionContext, aq: AcceptqJson, scenario: string): Promise<ScenarioResult> {
  const lab = await startLab(scenario);
  t.teardown(() => lab.stop());
  // the lab has stopped its traffic: the kernel's counters hold still now
  const kernel = lab.netstat();
  const ss = lab.ssListen();
  const record = await aq.waitFor(
    (r) => Date.parse(r.time) > Date.now() - 100 && r.listeners.some((l) => l.netns === lab.netns),
    20000,
    aq.records.length,
  );
  const rows = record.listeners.filter((l) => l.netns === lab.netns && !l.closed);
  const total = rows.reduce((s, l) => s + l.overflows, 0);

  t.log(`${scenario}: acceptq ${total} overflows (${rows.map((r) => `${r.address}:${r.port}=${r.overflowsSyn}syn+${r.overflowsAck}ack`).join(', ')}), kernel ListenOverflows ${kernel.TcpExtListenOverflows}`);

  // every listener the lab made is one row, with its owner
  const expectedRows = new Map<string, typeof lab.listeners>();
  for (const l of lab.listeners) {
    const k = `${l.address}:${l.port}`;
    expectedRows.set(k, [...(expectedRows.get(k) ?? []), l]);
  }
  t.is(rows.length, expectedRows.size, 'one row per address:port');
  for (const [key, socks] of expectedRows) {
    const row = rows.find((r) => `${r.address}:${r.port}` === key);
    if (!row) {
      t.fail(`no row for ${key}`);
      continue;
    }
    t.is(row.sockets, socks.length, `${key}: sockets`);
    t.is(row.pid, lab.pid, `${key}: owner pid`);
    t.is(row.comm, 'acceptq-lab', `${key}: owner comm`);
    // queue depth and limit as ss -lnt shows them (summed over a SO_REUSEPORT group)
    const ssRows = ss.filter((s) => `${s.address}:${s.port}` === key);
    t.is(row.backlog, ssRows.reduce((s, x) => s + x.recvQ, 0), `${key}: backlog = ss Recv-Q`);
    t.is(row.maxBacklog, ssRows.reduce((s, x) => s + x.sendQ, 0), `${key}: maxBacklog = ss Send-Q`);
    t.true(row.peakBacklog >= row.backlog, `${key}: peak >= current`);
    if (socks[0].expectOverflow) {
      t.true(row.overflows > 0, `${key}: overflowed`);
      t.is(row.overflows, kernel.TcpExtListenOverflows, `${key}: overflows = kernel ListenOverflows`);
      t.is(row.overflowsSyn + row.overflowsAck, row.overflows, `${key}: split by path adds up`);
      t.truthy(row.lastOverflow, `${key}: last overflow time`);
    } else {
      t.is(row.overflows, 0, `${key}: no overflow on a listener that keeps up`);
    }
  }
  t.is(total, kernel.TcpExtListenOverflows, 'all overflows of the namespace attributed');
  const ns = record.namespaces.find((n) => n.netns === lab.netns);
  t.truthy(ns, 'namespace counters reported');
  t.is(ns?.listenOverflows, kernel.TcpExtListenOverflows, 'namespace ListenOverflows as the kernel has it');
  t.is(ns?.listenDrops, kernel.TcpExtListenDrops, 'namespace ListenDrops as the kernel has it');
  t.is(ns?.syncookiesSent, kernel.TcpExtSyncookiesSent, 'namespace SyncookiesSent as the kernel has it');
  t.is(ns?.unattributed, 0, 'nothing unattributed');
  return { lab, record, kernel, rows };
}
