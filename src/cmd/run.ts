/**
 * acceptq run [options] -- CMD [ARGS...]: watch while a command (a load
 * test, a benchmark) runs, then summarise every listener that saw queue
 * pressure, and exit with the command's status (or 3 with
 * --fail-on-overflow when anything overflowed).
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { endpoint } from '../model/address';
import { sanitize } from '../model/sanitize';
import { RunSummary, type ListenerSummary, type NamespaceSummary } from '../model/summary';
import { diagnosisNote, duration, ESTIMATE_NOTE, figure, gapText } from '../model/view';
import { writeAll } from '../output/write';
import type { Collector } from '../model/collector';

export const OVERFLOW_EXIT = 3;

export const RUN_USAGE = `usage: acceptq run [--json] [--fail-on-overflow] [--interval S] [--probe SET] [--keep-root] [-h|--help] -- CMD [ARGS...]
  runs CMD with acceptq attached, then prints every listener that saw queue
  pressure during the run; exits with CMD's status, or ${OVERFLOW_EXIT} with
  --fail-on-overflow when any listener overflowed
`;

export interface RunOptions {
  json: boolean;
  failOnOverflow: boolean;
  interval: number;
  probe: string;
  keepRoot: boolean;
  command: string[];
}

/** Throws Error with a message for usage problems. */
export function parseRunOptions(argv: string[]): RunOptions {
  const dash = argv.indexOf('--');
  if (dash < 0 || dash === argv.length - 1) throw new Error('acceptq run needs a command after --');
  const { values } = parseArgs({
    args: argv.slice(0, dash),
    strict: true,
    allowPositionals: false,
    options: {
      json: { type: 'boolean' },
      'fail-on-overflow': { type: 'boolean' },
      interval: { type: 'string' },
      probe: { type: 'string' },
      'keep-root': { type: 'boolean' },
    },
  });
  const interval = values.interval === undefined ? 0.5 : Number(values.interval);
  if (!(interval > 0 && interval <= 60) || (values.interval !== undefined && !/^\d+(\.\d+)?$/.test(values.interval))) {
    throw new Error(`--interval wants seconds > 0 and <= 60, not '${values.interval}'`);
  }
  return {
    json: !!values.json,
    failOnOverflow: !!values['fail-on-overflow'],
    interval,
    probe: values.probe ?? 'auto',
    keepRoot: !!values['keep-root'],
    command: argv.slice(dash + 1),
  };
}

const time = (ms: number | null) => (ms ? new Date(ms).toISOString().slice(11, 23) : '-');

/**
 * The summary table; '~' marks estimated figures; a note per listener with
 * a diagnosis; then every namespace whose gaps moved during the run.
 */
export function renderSummary(rows: ListenerSummary[], head: string, namespaces: NamespaceSummary[] = []): string {
  const H = ['LISTEN', 'NETNS', 'PID/COMM', 'OVERFLOWS', 'SYN', 'ACK', 'SYNDROP', 'COOKIES', 'PEAK/CAP', 'WORST/S',
    'ARRIVED', 'ACCEPTED', 'MAXWAIT', 'FIRST', 'LAST', 'STATE'];
  const left = new Set(['LISTEN', 'NETNS', 'PID/COMM', 'STATE']);
  const cells = rows.map((r) => {
    const est = (v: number | string) => figure(v, r.estimate);
    return [
      endpoint(r.family, r.address, r.port), String(r.netns), r.pid ? `${r.pid}/${sanitize(r.comm)}` : '-',
      est(r.overflows), est(r.overflowsSyn), est(r.overflowsAck), est(r.synDrops), est(r.cookies),
      `${r.peakBacklog}/${r.capacity || '-'}`, est(r.worstRate.toFixed(1)), String(r.arrivals), String(r.accepts),
      duration(r.worstWaitMs), time(r.firstOverflowMs), time(r.lastOverflowMs), r.closed ? 'closed' : 'open',
    ];
  });
  const w = H.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const fmt = (c: string[]) => c.map((x, i) => (left.has(H[i]) ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ').trimEnd();
  return [
    head,
    ...(rows.length ? [fmt(H), ...cells.map(fmt)] : []),
    ...(rows.some((r) => r.estimate) ? [ESTIMATE_NOTE] : []),
    ...rows.flatMap((r) => (r.diagnosis ? [diagnosisNote(r, r.diagnosis)] : [])),
    ...namespaces.map((n) => `netns ${n.netns} during the run: ${gapText(n)}`),
  ].join('\n') + '\n';
}

/** Run the command under watch; resolves with the exit status to use. */
export async function runUnderWatch(o: RunOptions, collector: Collector, afterSpawn: () => void): Promise<number> {
  const summary = new RunSummary();
  summary.add(collector.tick());
  const started = Date.now();
  const child = spawn(o.command[0], o.command.slice(1), { stdio: 'inherit' });
  afterSpawn();
  // the terminal's Ctrl-C reaches the command too; acceptq waits for it and summarises
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(sig);
    process.on(sig, forward(sig));
  }
  const timer = setInterval(() => summary.add(collector.tick()), o.interval * 1000);
  const status = await new Promise<number>((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`acceptq run: cannot run ${o.command[0]}: ${e.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? (require('node:os').constants.signals[signal] ?? 0) : 0)));
  });
  clearInterval(timer);
  summary.add(collector.tick());
  const seconds = (Date.now() - started) / 1000;
  const rows = summary.pressured();
  const namespaces = summary.gaps();
  if (o.json) {
    writeAll(JSON.stringify({ command: o.command, status, seconds, listeners: rows, namespaces }) + '\n', () => undefined);
  } else {
    const head = `acceptq run: ${o.command.join(' ')} exited with status ${status} after ${seconds.toFixed(1)} s; ` +
      `${rows.length} listener${rows.length === 1 ? '' : 's'} saw queue pressure`;
    writeAll(renderSummary(rows, head, namespaces), () => undefined);
  }
  return o.failOnOverflow && summary.anyOverflow() ? OVERFLOW_EXIT : status;
}
