/**
 * acceptq run [options] -- CMD [ARGS...]: watch while a command (a load
 * test, a benchmark) runs, then summarise every listener that saw queue
 * pressure, and exit with the command's status (or 3 with
 * --fail-on-overflow when anything overflowed).
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseFlags, positiveNumber, probeSet } from '../args';
import { endpoint } from '../../src/model/address';
import { sanitize } from '../../src/model/sanitize';
import { RunSummary, type ListenerSummary, type NamespaceSummary } from '../../src/model/summary';
import { diagnosisNote, durationIn, ESTIMATE_NOTE, figure, gapText, perSecond, unitFor } from '../../src/model/view';
import { hostRecord } from '../../src/output/json';
import { writeAll } from '../../src/output/write';
import { hostLine } from '../../src/output/table';
import type { HostRow, Snapshot, SnapshotStream } from '../../src/model/types';
import { FLEET_DOWN_EXIT, FLEET_SOURCE_ARGS, FLEET_SOURCE_USAGE, fleetDown, fleetSourceOptions, openFleetOrExit, type FleetSourceOptions } from './fleet';
import { exitNow } from '../exit';
import { dropPrivileges, openHelper } from '../local';
import { Collector } from '../../src/model/collector';
import type { ProbeSet } from '../../src/native/probe-sets';
import type { Options } from '../options';
import { subcommandOptions } from './subcommand';

export const OVERFLOW_EXIT = 3;

export const RUN_USAGE = `usage: acceptq run [--json] [--fail-on-overflow] [--interval S] [--probe SET] [--keep-root] [-h|--help] -- CMD [ARGS...]
       acceptq run --fleet (--prometheus URL | --targets HOST:PORT,...) [options] -- CMD [ARGS...]
  runs CMD with acceptq attached (or, with --fleet, watching many hosts'
  acceptq export), then prints every listener that saw queue pressure during
  the run; exits with CMD's status, or ${OVERFLOW_EXIT} with --fail-on-overflow
  when any listener overflowed
  --fleet                 watch a fleet instead of this host (no root needed):
${FLEET_SOURCE_USAGE}`;

export interface RunOptions {
  /** Watch a fleet (its source) instead of this host. */
  fleet?: FleetSourceOptions;
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
  const { values } = parseFlags(argv.slice(0, dash), {
    json: { type: 'boolean' },
    'fail-on-overflow': { type: 'boolean' },
    interval: { type: 'string' },
    probe: { type: 'string' },
    'keep-root': { type: 'boolean' },
    fleet: { type: 'boolean' },
    ...FLEET_SOURCE_ARGS,
  });
  const { fleet, json: _j, 'fail-on-overflow': _f, interval: _i, probe: _p, 'keep-root': _k, ...source } = values;
  const sourceGiven = Object.values(source).some((v) => v !== undefined);
  if (sourceGiven && !fleet) throw new Error('--prometheus, --targets and their options go with --fleet');
  if (fleet && (values.probe !== undefined || values['keep-root'])) throw new Error('--probe and --keep-root are for this host, not --fleet');
  const interval = positiveNumber('interval', values.interval, 60) ?? 0.5;
  return {
    fleet: fleet ? fleetSourceOptions(source) : undefined,
    json: !!values.json,
    failOnOverflow: !!values['fail-on-overflow'],
    interval,
    probe: probeSet(values.probe),
    keepRoot: !!values['keep-root'],
    command: argv.slice(dash + 1),
  };
}

const time = (ms: number | null) => (ms ? new Date(ms).toISOString().slice(11, 23) : '-');

/**
 * The summary table (a fleet's: a HOST column first); '~' marks estimated
 * figures; a note per listener with a diagnosis; then every namespace whose
 * gaps moved during the run, and a fleet's hosts that were down.
 */
export function renderSummary(rows: ListenerSummary[], head: string, namespaces: NamespaceSummary[] = [], hosts: string[] = []): string {
  const fleet = rows.some((r) => r.host) || hosts.length > 0;
  const H = [...(fleet ? ['HOST'] : []), 'LISTEN', 'NETNS', 'PID/COMM', 'OVERFLOWS', 'SYN', 'ACK', 'SYNDROP', 'COOKIES', 'PEAK/CAP', 'WORST/S',
    'ARRIVED', 'ACCEPTED', 'MAXWAIT', 'FIRST', 'LAST', 'STATE'];
  const left = new Set(['HOST', 'LISTEN', 'NETNS', 'PID/COMM', 'STATE']);
  const waitUnit = unitFor(rows.map((r) => r.worstWaitMs));
  const cells = rows.map((r) => {
    const est = (v: number | string) => figure(v, r.estimate);
    return [
      ...(fleet ? [sanitize(r.host)] : []),
      endpoint(r.family, r.address, r.port), String(r.netns), r.pid ? `${r.pid}/${sanitize(r.comm)}` : '-',
      est(r.overflows), est(r.overflowsSyn), est(r.overflowsAck), est(r.synDrops), est(r.cookies),
      `${r.peakBacklog}/${r.capacity || '-'}`, est(perSecond(r.worstRate)), String(r.arrivals), String(r.accepts),
      durationIn(r.worstWaitMs, waitUnit), time(r.firstOverflowMs), time(r.lastOverflowMs), r.closed ? 'closed' : 'open',
    ];
  });
  const w = H.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const fmt = (c: string[]) => c.map((x, i) => (left.has(H[i]) ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ').trimEnd();
  return [
    head,
    ...(rows.length ? [fmt(H), ...cells.map(fmt)] : []),
    ...(rows.some((r) => r.estimate) ? [ESTIMATE_NOTE] : []),
    ...rows.flatMap((r) => (r.diagnosis ? [diagnosisNote(r, r.diagnosis)] : [])),
    ...namespaces.map((n) => `${n.host ? `${sanitize(n.host)} ` : ''}netns ${n.netns} during the run: ${gapText(n)}`),
    ...hosts,
  ].join('\n') + '\n';
}

/** A fleet's hosts over a run: each that was down at some tick, as last seen. */
class HostWatch {
  private down = new Map<string, HostRow>();
  private last: HostRow[] = [];

  add(s: Snapshot): void {
    this.last = s.hosts ?? [];
    for (const h of this.last) if (!h.up) this.down.set(h.host, h);
  }

  /** A line per host that was down during the run: its state at the end. */
  lines(now: number): string[] {
    return this.last.filter((h) => this.down.has(h.host)).map((h) => (h.up ? `${hostLine(this.down.get(h.host)!, now)} (during the run; up at its end)` : hostLine(h, now)));
  }

  /** Each host that was down, as hosts[] has it at the end, with the error it was down with. */
  json(): Array<Record<string, unknown>> {
    return this.last.filter((h) => this.down.has(h.host)).map((h) => hostRecord(h.up ? { ...h, error: this.down.get(h.host)!.error } : h));
  }
}

/** A command that could not be started, as a shell says it: 127 not found, 126 found but not runnable. */
export function cannotRun(command: string, e: NodeJS.ErrnoException): [number, string] {
  if (e.code === 'ENOENT') return [127, `acceptq run: ${command}: command not found`];
  const why = e.code === 'EACCES' ? 'permission denied' : e.code ?? e.message;
  return [126, `acceptq run: ${command}: ${why}`];
}

/**
 * Run the command under watch; resolves with the exit status to use.
 * settle: after the command, wait until the figures are from after it ended
 * (a fleet's: until every host that answers was scraped since).
 */
export async function runUnderWatch(o: RunOptions, stream: SnapshotStream, afterSpawn: () => void, settle?: (afterMs: number) => Promise<void>): Promise<number> {
  const summary = new RunSummary();
  const hosts = new HostWatch();
  let last: Snapshot | null = null;
  const take = async () => {
    await stream.prepare?.();
    const s = (last = stream.next()!);
    summary.add(s);
    hosts.add(s);
  };
  await take();
  const started = Date.now();
  const child = spawn(o.command[0], o.command.slice(1), { stdio: 'inherit' });
  afterSpawn();
  // the terminal's Ctrl-C reaches the command too; acceptq waits for it and summarises
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(sig);
    process.on(sig, forward(sig));
  }
  let running = true;
  const watching = (async () => {
    while (running) {
      await sleep(o.interval * 1000);
      if (running) await take();
    }
  })();
  const status = await new Promise<number>((resolve) => {
    // nothing ran, so there is nothing to summarise: a line and a shell's status
    child.on('error', (e: NodeJS.ErrnoException) => exitNow(...cannotRun(o.command[0], e)));
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? (require('node:os').constants.signals[signal] ?? 0) : 0)));
  });
  const ended = Date.now();
  running = false;
  await watching;
  if (settle) await settle(ended);
  await take();
  const seconds = (ended - started) / 1000;
  const rows = summary.pressured();
  const namespaces = summary.gaps();
  if (o.json) {
    const down = o.fleet ? { hostsDown: hosts.json() } : {};
    writeAll(JSON.stringify({ command: o.command, status, seconds, listeners: rows, namespaces, ...down }) + '\n', () => undefined);
  } else {
    const head = `acceptq run: ${sanitize(o.command.join(' '))} exited with status ${status} after ${seconds.toFixed(1)} s; ` +
      `${rows.length} listener${rows.length === 1 ? '' : 's'} saw queue pressure`;
    writeAll(renderSummary(rows, head, namespaces, hosts.lines(Date.now())), () => undefined);
  }
  // a fleet that did not answer at the end watched nothing: that must not pass for a run without pressure
  const down = o.fleet ? fleetDown(last) : null;
  if (down) {
    process.stderr.write(`acceptq run: ${sanitize(down)}\n`);
    return FLEET_DOWN_EXIT;
  }
  return o.failOnOverflow && summary.anyOverflow() ? OVERFLOW_EXIT : status;
}

/** acceptq run: its options, then the command under watch (this host's, or a fleet's); exits with its status. */
export async function runMain(argv: string[]): Promise<void> {
  const ro = subcommandOptions(argv, parseRunOptions, RUN_USAGE);
  if (ro.fleet) {
    const fleet = openFleetOrExit(ro.fleet, ro.interval, 'acceptq run');
    exitNow(await runUnderWatch(ro, fleet, () => undefined, (t) => fleet.settle(t)));
  }
  const o: Options = { mode: 'json', interval: ro.interval, filter: {}, probe: ro.probe as ProbeSet, eventsPerSec: 0, color: false };
  const collector = new Collector(openHelper(o), ro.interval);
  // the command keeps the privileges it was started with; acceptq drops its own
  const status = await runUnderWatch(ro, collector, () => dropPrivileges(ro.keepRoot));
  exitNow(status);
}
