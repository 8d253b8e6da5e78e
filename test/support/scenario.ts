/**
 * One lab scenario checked against the kernel: acceptq's rows for the
 * scenario's namespace must account for exactly the kernel's counters.
 */
import type { ExecutionContext } from 'ava';
import type { AcceptqJson, JsonRecord } from '../../harness/acceptq';
import { startLabReporting, type LabListener, type LabRun } from '../../harness/lab';

export interface ScenarioResult {
  lab: LabRun;
  /** the lab's report: connects made, raw SYNs sent */
  report: { connects: number; rawSyns: number };
  record: JsonRecord;
  kernel: Record<string, number>;
  rows: Array<Record<string, any>>;
}

/** What a scenario stages, as the lab does it (not as acceptq or the kernel reports it). */
export interface Staged {
  /** the path its overflows take: SYNs to a full queue, or final ACKs that find it full */
  path?: 'syn' | 'ack';
  /**
   * overflows it stages, where the lab makes an exact number (the final-ACK scenarios). Otherwise: its
   * sockets' sk_drops, which each SYN dropped at a full queue moves once (an ACK dropped there moves it twice)
   */
  overflows?: number;
  /** its listener accepts (its queue moves while the lab runs); otherwise every queue holds still once the lab reports */
  accepting?: boolean;
  /** tcp_syncookies=2: the namespace answers every SYN the lab sent (connects and raw SYNs) with a cookie */
  cookieEverySyn?: boolean;
}

/** What each scenario of the lab stages (scripts/lab/lab.c says how). */
const STAGED: Record<string, Staged> = {
  syn: { path: 'syn' },
  v6: { path: 'syn' },
  reuseport: { path: 'syn' },
  twoaddr: { path: 'syn' },
  dualstack: { path: 'syn' },
  ack: { path: 'ack', overflows: 5 },
  'ack-cookie': { path: 'ack', overflows: 5, cookieEverySyn: true },
  idle: { accepting: true },
};

/** Run the scenario, wait for acceptq to have seen all of it, and compare. */
export async function checkScenario(t: ExecutionContext, aq: AcceptqJson, scenario: string): Promise<ScenarioResult> {
  const staged = STAGED[scenario];
  if (!staged) throw new Error(`${scenario}: no entry in STAGED saying what it stages`);
  const { lab, report } = await startLabReporting<{ pid: number; netns: number; listeners: LabListener[]; connects: number; rawSyns: number }>(scenario);
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
    // the deepest the queue got over the record's interval: a queue nobody accepts from held still at what ss shows
    // (the lab's traffic had stopped before); one that accepts never holds more than its backlog + 1 per socket
    if (staged.accepting) t.true(row.peakBacklog <= socks.reduce((s, l) => s + l.backlog + 1, 0), `${key}: peak within backlog + 1`);
    else t.is(row.peakBacklog, ssRows.reduce((s, x) => s + x.recvQ, 0), `${key}: peak = ss Recv-Q (the queue held still)`);
    if (socks[0].expectOverflow) {
      t.true(row.overflows > 0, `${key}: overflowed`);
      t.is(row.overflows, kernel.TcpExtListenOverflows, `${key}: overflows = kernel ListenOverflows`);
      // the path the lab staged them on takes them all
      if (!staged.path) throw new Error(`${scenario}: STAGED does not say which path its overflows take`);
      t.is(row[staged.path === 'syn' ? 'overflowsSyn' : 'overflowsAck'], kernel.TcpExtListenOverflows, `${key}: all on the ${staged.path} path`);
      t.is(row[staged.path === 'syn' ? 'overflowsAck' : 'overflowsSyn'], 0, `${key}: none on the other path`);
      t.truthy(row.lastOverflow, `${key}: last overflow time`);
    } else {
      t.is(row.overflows, 0, `${key}: no overflow on a listener that keeps up`);
    }
  }
  t.is(total, kernel.TcpExtListenOverflows, 'all overflows of the namespace attributed');
  const ns = record.namespaces.find((n) => n.netns === lab.netns);
  t.truthy(ns, 'namespace counters reported');
  // the namespace's counters against what was staged (here every listen drop is an overflow) and the
  // lab's own sockets' drop counts, not against a second read of netstat
  const dropsStaged = staged.overflows ?? lab.listeners.reduce((s, l) => s + l.skDrops, 0);
  const what = staged.overflows === undefined ? "the lab's sockets' sk_drops" : 'the overflows staged';
  t.is(ns?.listenDrops, dropsStaged, `namespace ListenDrops = ${what}`);
  t.is(ns?.listenOverflows, dropsStaged, `namespace ListenOverflows = ${what}`);
  t.is(ns?.syncookiesSent, staged.cookieEverySyn ? report.connects + report.rawSyns : 0, 'namespace SyncookiesSent as staged');
  t.is(ns?.unattributed, 0, 'nothing unattributed');
  return { lab, report, record, kernel, rows };
}
