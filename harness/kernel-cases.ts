/**
 * The cases the kernel matrix (scripts/kernels) runs in every kernel and
 * probe set: each staged in a network namespace of its own and compared
 * with that namespace's kernel counters, as harness/servers.ts does for
 * servers at capacity. Listed once here; scripts/kernels.d/cases.ts runs
 * them, and the matrix's table is made from what they return.
 */
import type { AcceptqJson, JsonRecord } from './acceptq';
import { startLabReporting } from './lab';
import {
  CASES,
  eq,
  groupChecks,
  killPid,
  labCase,
  positive,
  rowAt,
  skDropsBound,
  truthy,
  type CaseDef,
  type CaseResult,
  type Check,
  type Cleanup,
} from './servers';

const serverCase = (id: string): CaseDef => {
  const c = CASES.find((x) => x.id === id);
  if (!c) throw new Error(`no server case ${id}`);
  return c;
};

/** A lab scenario whose every overflow goes one way (SYN or final ACK). */
const labPathCase = (id: string, title: string, port: number, path: 'overflowsSyn' | 'overflowsAck', more: (r: CaseResult) => Check[] = () => []): CaseDef => ({
  id,
  title,
  run: (aq, c) =>
    labCase(id, id, aq, c, (r, ls) => [
      eq('one row', r.rows.length, 1),
      eq(`every overflow on the ${path === 'overflowsSyn' ? 'SYN' : 'final-ACK'} path`, rowAt(r, port)?.[path], r.kernel.TcpExtListenOverflows),
      ...skDropsBound(r, ls),
      ...more(r),
    ]),
});

/**
 * Why it overflows, against a lab whose truth is set: 160 connections, each
 * accepted a fixed delay after its handshake. Arrivals, accepts and waits
 * timed are counts, so exact; the wait itself is bounded by what the lab
 * measured (emulated kernels are slow, so no fixed tolerance).
 */
const DELAY_MS = 200;
async function whyCase(aq: AcceptqJson, cleanup: Cleanup): Promise<CaseResult> {
  const { lab, report } = await startLabReporting<any>(`delay ${DELAY_MS}`, 120, 120000);
  cleanup.add(() => killPid(lab.pid));
  const n: number = report.connects;
  const port: number = report.listeners[0].port;
  const mine = (r: JsonRecord) => r.listeners.find((l) => l.netns === lab.netns && l.port === port && l.pid === lab.pid);
  let record: JsonRecord | undefined;
  try {
    record = await aq.waitFor((r) => Date.parse(r.time) > report.endMs + DELAY_MS && mine(r)?.accepts === n, 30000);
    await aq.fresh(); // every accept() timed is in a record by then
  } catch {
    record = aq.records[aq.records.length - 1];
  }
  const rows = aq.records.map(mine).filter((x): x is Record<string, any> => !!x);
  const last = rows[rows.length - 1] ?? {};
  const timed = rows.reduce((s, x) => s + (x.waitCount ?? 0), 0);
  const mins = rows.map((x) => x.waitMinMs).filter((x): x is number => typeof x === 'number');
  const maxs = rows.map((x) => x.waitMaxMs).filter((x): x is number => typeof x === 'number');
  const minW = mins.length ? Math.min(...mins) : NaN;
  const maxW = maxs.length ? Math.max(...maxs) : NaN;
  const labMin: number = report.labWaitMinMs;
  const labMax: number = report.labWaitMaxMs;
  // the lab times from its connect() returning, acceptq from the server's end of the
  // handshake, which comes an ACK's transit later (up to a few ms under emulation)
  const low = Math.min(labMin - 2, DELAY_MS * 0.95);
  const checks: Check[] = [
    eq('the lab made its connects', n, 160, 'setup'),
    eq('and accepted every one', report.listeners[0].accepted, n, 'setup'),
    eq('arrivals = connects', last.arrivals, n),
    eq('accepts = connects', last.accepts, n),
    eq('one wait timed per accept()', timed, n),
    truthy(`shortest wait ${minW} ms within [${low}, ${labMax + 2}] ms (the lab's ${labMin} to ${labMax})`, minW >= low && minW <= labMax + 2),
    truthy(`longest wait ${maxW} ms within [${low}, ${labMax + 2}] ms`, maxW >= low && maxW <= labMax + 2),
    eq('no overflow', last.overflows, 0),
  ];
  const r: CaseResult = {
    id: 'why',
    netns: lab.netns,
    kernel: lab.netstat(),
    acceptq: { overflows: last.overflows ?? 0, overflowsSyn: 0, overflowsAck: 0, synDrops: 0, cookies: 0 },
    ns: record?.namespaces.find((x) => x.netns === lab.netns),
    rows: [last],
    record: record!,
    load: { connects: n, delayMs: DELAY_MS, labWaitMinMs: labMin, labWaitMaxMs: labMax, acceptqWaitMinMs: minW, acceptqWaitMaxMs: maxW },
    checks,
    exact: checks.filter((c) => c.kind === 'accuracy').every((c) => c.ok),
    settled: true,
  };
  return r;
}

export const KERNEL_CASES: CaseDef[] = [
  labPathCase('syn', 'SYN-path overflow (a listener that never accepts)', 9000, 'overflowsSyn'),
  labPathCase('ack', 'final-ACK-path overflow, no cookies', 9100, 'overflowsAck', (r) => [eq('5 final ACKs', rowAt(r, 9100)?.overflowsAck, 5)]),
  labPathCase('ack-cookie', 'final-ACK-path overflow through SYN cookies', 9150, 'overflowsAck', (r) => [
    positive('ACK-path overflows', rowAt(r, 9150)?.overflowsAck ?? 0),
  ]),
  labPathCase('v6', 'IPv6 SYN-path overflow', 9200, 'overflowsSyn'),
  {
    id: 'reuseport',
    title: 'SO_REUSEPORT group of 3, none accepting',
    run: (aq, c) => labCase('reuseport', 'reuseport', aq, c, (r, ls) => groupChecks(r, ls, 9300)),
  },
  serverCase('nobind'),
  serverCase('pace'),
  serverCase('reuseport-mixed'),
  {
    id: 'nocookie-flood',
    title: 'tcp_syncookies=0, a full SYN queue: SYN-queue drops',
    run: (aq, c) =>
      labCase(
        'nocookie-flood',
        'nocookie-flood',
        aq,
        c,
        (r, ls) => [eq('no SYN cookie', r.kernel.TcpExtSyncookiesSent, 0, 'setup'), eq('one row', r.rows.length, 1), ...skDropsBound(r, ls)],
        'syn-drops',
      ),
  },
  serverCase('cookie-flood'),
  serverCase('nginx-ab'),
  { id: 'why', title: 'why: arrivals, accepts and waits of a server that accepts 200 ms late', run: whyCase },
];
