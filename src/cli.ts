#!/usr/bin/env node
/**
 * acceptq command line: parses flags, checks privileges, opens the helper,
 * and hands snapshots to one view (dashboard, --once table, --json stream).
 * Every exit path closes the helper, which detaches the BPF links.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Collector } from './model/collector';
import { filterSnapshot, type RowFilter } from './model/view';
import type { Snapshot, SnapshotStream, StreamMeta } from './model/types';
import { readRecording, RecordingError } from './record/recording';
import { RecordingWriteError, RecordingWriter } from './record/writer';
import { dropCapabilities, Helper, HelperError, PROBE_SETS, type ProbeSet } from './native/helper';
import { jsonRecord } from './output/json';
import { HeapTrim } from './heap';
import { StreamTap } from './model/tap';
import { renderTable } from './output/table';
import { writeAll } from './output/write';
import { privilegeProblem } from './privileges';
import { parseRunOptions, RUN_USAGE, runUnderWatch, type RunOptions } from './cmd/run';
import { FILTER_FLAGS, integer, positiveNumber, rowFilter, UsageError } from './args';
import { parseExportOptions, EXPORT_USAGE, metricsUrl, OPEN, serveMetrics, type ExportOptions } from './cmd/export';
import type { WebConfig } from './export/web-config';
import { FLEET_SOURCE_ARGS, FLEET_USAGE, fleetSourceOptions, openFleet, type FleetSourceOptions } from './cmd/fleet';
import type { FleetStream } from './fleet/stream';

export const USAGE = `usage: acceptq [options]
       acceptq run [--json] [--fail-on-overflow] -- CMD [ARGS...]
       acceptq export [--listen ADDR:PORT] [OPTIONS]   (Prometheus /metrics; acceptq export --help)
       acceptq fleet (--prometheus URL | --targets HOST:PORT,...)   (many hosts' export)
  (no mode)             full-screen dashboard
  --once                print a table of listeners after one interval and exit
  --json                print one JSON object per interval (NDJSON)
  --interval SECONDS    refresh interval (default 1)
  --duration SECONDS    stop after this long (--json and dashboard)
  --port PORT           only listeners on this port
  --pid PID             only listeners owned by this process
  --netns ID            only listeners in this network namespace: its inode
                        number (any namespace that had it) or its cookie
  --probe SET           auto|tracepoint|fentry|kprobe (default auto)
  --events-per-sec N    detail events per listener per second (default 50)
  --max-listeners N     listening sockets tracked at once (default 65536; kernel
                        memory and the per-tick walk grow with it); also the
                        connections timed in accept queues at once
  --max-namespaces N    network namespaces with listeners tracked at once
                        (default 4096; 1 to 65536)
  --record FILE         also write every snapshot to FILE (replay it with --replay)
  --replay FILE         play a recording (no root needed); with the dashboard,
                        p pauses and +/- change the speed
  --debug FILE          write libbpf's log to FILE
  --keep-root           run on as root if dropping privileges fails (default: exit 1)
  --no-color            no colours (NO_COLOR is honoured too)
  -h, --help            this help
  -V, --version         version
`;

export { UsageError };

export interface Options {
  mode: 'dashboard' | 'once' | 'json';
  interval: number;
  duration?: number;
  filter: RowFilter;
  probe: ProbeSet;
  eventsPerSec: number;
  /** Listening sockets (and rows) the kernel side tracks at once; undefined = the library's 65,536. */
  maxListeners?: number;
  /** Network namespaces the kernel side tracks at once; undefined = the library's 4,096. */
  maxNamespaces?: number;
  debug?: string;
  record?: string;
  replay?: string;
  color: boolean;
  /** Run on as root, with a warning, when privileges cannot be dropped. */
  keepRoot?: boolean;
}

export function parseOptions(argv: string[]): Options | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        once: { type: 'boolean' },
        json: { type: 'boolean' },
        interval: { type: 'string' },
        duration: { type: 'string' },
        ...FILTER_FLAGS,
        probe: { type: 'string' },
        'events-per-sec': { type: 'string' },
        'max-listeners': { type: 'string' },
        'max-namespaces': { type: 'string' },
        debug: { type: 'string' },
        record: { type: 'string' },
        replay: { type: 'string' },
        'no-color': { type: 'boolean' },
        'keep-root': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.version) return 'version';
  if (v.once && v.json) throw new UsageError('--once and --json cannot be used together');
  const probe = (v.probe ?? 'auto') as ProbeSet;
  if (!PROBE_SETS.includes(probe)) throw new UsageError(`--probe wants one of ${PROBE_SETS.join(', ')}, not '${v.probe}'`);
  for (const f of ['debug', 'record', 'replay'] as const) {
    if (v[f] !== undefined && v[f] === '') throw new UsageError(`--${f} wants a file name`);
  }
  if (v.record !== undefined && v.replay !== undefined) throw new UsageError('--record and --replay cannot be used together');
  return {
    mode: v.once ? 'once' : v.json ? 'json' : 'dashboard',
    interval: positiveNumber('interval', v.interval, 3600) ?? 1,
    duration: positiveNumber('duration', v.duration, 365 * 86400),
    filter: rowFilter(v),
    probe,
    eventsPerSec: integer('events-per-sec', v['events-per-sec'], 0, 100000) ?? 50,
    maxListeners: integer('max-listeners', v['max-listeners'], 64, 1048576),
    maxNamespaces: integer('max-namespaces', v['max-namespaces'], 1, 65536),
    debug: v.debug,
    record: v.record,
    replay: v.replay,
    color: !v['no-color'] && !process.env.NO_COLOR,
    keepRoot: !!v['keep-root'],
  };
}

/** What ends a run, for stderr: a file's fault in a sentence (a recording changed under replay, a full disk), anything else with its stack. */
function failure(e: unknown): string {
  if (e instanceof RecordingError || e instanceof RecordingWriteError) return `acceptq: ${e.message}`;
  return `acceptq: ${(e as Error)?.stack ?? e}`;
}

/** Closers run once, on every way out. */
const closers: Array<() => void> = [];
let exiting = false;
export function onExit(fn: () => void): void {
  closers.push(fn);
}
export function exitNow(code: number, message?: string): never {
  if (!exiting) {
    exiting = true;
    for (const fn of closers.reverse()) {
      try {
        fn();
      } catch {
        // keep closing the rest
      }
    }
  }
  if (message) process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exit(code);
}

function openHelper(o: Options): Helper {
  const problem = privilegeProblem();
  if (problem) exitNow(1, problem);
  try {
    const h = Helper.open({ probe: o.probe, eventsPerSec: o.eventsPerSec, maxListeners: o.maxListeners, maxNamespaces: o.maxNamespaces, logPath: o.debug });
    onExit(() => h.close());
    return h;
  } catch (e) {
    if (e instanceof HelperError) exitNow(1, `acceptq: ${e.message}`);
    throw e;
  }
}

/**
 * Once everything is loaded, attached and bound: give up what the rest of
 * the run does not need. A failure ends the run unless --keep-root asked
 * to go on as root.
 */
function dropPrivileges(keepRoot: boolean | undefined): void {
  try {
    dropCapabilities();
  } catch (e) {
    const why = (e as Error).message;
    if (!keepRoot) exitNow(1, `acceptq: cannot drop privileges after attaching: ${why} (--keep-root runs on as root)`);
    process.stderr.write(`acceptq: warning: could not drop privileges, running on as root (--keep-root): ${why}\n`);
  }
}

const writeRecord = (text: string) => writeAll(text, () => exitNow(0));

async function runJson(o: Options, stream: SnapshotStream): Promise<void> {
  const interval = stream.live ? o.interval : stream.meta.intervalS;
  let prev: Snapshot | null = null; // for the diagnoses' SYN-side rates
  const write = (s: Snapshot) => {
    writeRecord(JSON.stringify(jsonRecord(filterSnapshot(s, o.filter), interval, prev)) + '\n');
    prev = s;
  };
  if (!stream.live) {
    // a recording: every record at once, for scripts
    for (let s = stream.next(); s; s = stream.next()) write(s);
    return;
  }
  const start = Date.now();
  const take = async () => {
    await stream.prepare?.();
    write(stream.next()!);
  };
  await take(); // first record as soon as the probes are attached
  for (;;) {
    const next = start + Math.ceil((Date.now() - start + 1) / (o.interval * 1000)) * o.interval * 1000;
    if (o.duration !== undefined && next - start > o.duration * 1000) {
      await sleep(Math.max(0, start + o.duration * 1000 - Date.now()));
      await take();
      return;
    }
    await sleep(Math.max(0, next - Date.now()));
    await take();
  }
}

async function runOnce(o: Options, stream: SnapshotStream): Promise<void> {
  let prev: Snapshot | null = null;
  await stream.prepare?.();
  let last = stream.next();
  if (stream.live) {
    await sleep(o.interval * 1000);
    prev = last;
    await stream.prepare?.();
    last = stream.next();
  } else {
    for (let s = stream.next(); s; s = stream.next()) [prev, last] = [last, s];
  }
  if (last) writeRecord(renderTable(filterSnapshot(last, o.filter), prev));
}

/** Passes snapshots through, writing each to a recording. */
class RecordingTee extends StreamTap {
  constructor(inner: SnapshotStream, private readonly writer: RecordingWriter) {
    super(inner);
  }
  protected see(s: Snapshot): void {
    this.writer.write(s);
  }
}

function openReplay(path: string): SnapshotStream {
  try {
    const replay = readRecording(path);
    onExit(() => replay.close());
    return replay;
  } catch (e) {
    if (e instanceof RecordingError) exitNow(1, `acceptq: ${path}: ${e.message}`);
    throw e;
  }
}

/** -h or --help among a subcommand's own options (before a `--`, after which the words are the command's). */
export function wantsHelp(argv: string[]): boolean {
  const own = argv.indexOf('--') < 0 ? argv : argv.slice(0, argv.indexOf('--'));
  return own.includes('--help') || own.includes('-h');
}

/** A subcommand's options (bad ones: its usage and exit 2; --help: its usage, exit 0); from here a signal ends it cleanly. */
function subcommandOptions<T extends { probe: string }>(argv: string[], parse: (argv: string[]) => T, usage: string): T {
  if (wantsHelp(argv)) {
    process.stdout.write(usage);
    exitNow(0);
  }
  let o: T;
  try {
    o = parse(argv);
  } catch (e) {
    exitNow(2, `acceptq: ${(e as Error).message}\n${usage}`);
  }
  if (!PROBE_SETS.includes(o.probe as ProbeSet)) exitNow(2, `acceptq: --probe wants one of ${PROBE_SETS.join(', ')}\n${usage}`);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => exitNow(0));
  return o;
}

async function runMain(argv: string[]): Promise<void> {
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

async function exportMain(argv: string[]): Promise<void> {
  const eo = subcommandOptions(argv, parseExportOptions, EXPORT_USAGE);
  let web: WebConfig = OPEN;
  const { loadWebConfig, WebConfigError } = await import('./export/web-config'); // YAML: only export reads any
  try {
    // before anything is loaded: a bad file is a line and exit 1, nothing attached or bound
    if (eo.webConfigFile !== undefined) web = loadWebConfig(eo.webConfigFile);
  } catch (e) {
    if (e instanceof WebConfigError) exitNow(1, `acceptq: ${e.message}`);
    throw e;
  }
  const o: Options = { mode: 'json', interval: 1, filter: {}, probe: eo.probe as ProbeSet, eventsPerSec: 0, color: false };
  const collector = new Collector(openHelper(o), 1);
  const first = collector.tick();
  let server;
  try {
    server = await serveMetrics(eo, collector, first, web);
  } catch (e) {
    exitNow(1, `acceptq: cannot listen on ${eo.host}:${eo.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  onExit(() => server.close());
  dropPrivileges(eo.keepRoot); // after bind: a port below 1024 needed root
  const guards = [web.tls && `TLS${web.tls.clientAuth !== 'NoClientCert' ? `, ${web.tls.clientAuth}` : ''}`, web.users.size && 'basic auth'].filter(Boolean);
  process.stderr.write(`acceptq: serving ${metricsUrl(eo, web)}${guards.length ? ` (${guards.join(', ')})` : ''}\n`);
  await new Promise(() => undefined); // until a signal
}

/** A fleet's stream, its connections closed on the way out; a credential file it cannot read: one line, exit 1. */
function openFleetOrExit(o: FleetSourceOptions, intervalS: number, who: string): FleetStream {
  let stream: FleetStream;
  try {
    stream = openFleet(o, intervalS);
  } catch (e) {
    exitNow(1, `${who}: ${(e as Error).message}`);
  }
  onExit(() => stream.source.http.close());
  return stream;
}

/** The fleet's own flags, and its source's. */
function parseFleetArgs(argv: string[]): Options & { source: FleetSourceOptions } {
  const { values: v } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      ...FLEET_SOURCE_ARGS, once: { type: 'boolean' }, json: { type: 'boolean' }, interval: { type: 'string' }, duration: { type: 'string' },
      port: { type: 'string' }, 'no-color': { type: 'boolean' },
    },
  });
  if (v.once && v.json) throw new UsageError('--once and --json cannot be used together');
  return {
    mode: v.once ? 'once' : v.json ? 'json' : 'dashboard',
    interval: positiveNumber('interval', v.interval, 3600) ?? 1,
    duration: positiveNumber('duration', v.duration, 365 * 86400),
    filter: { port: integer('port', v.port, 1, 65535) },
    probe: 'auto', eventsPerSec: 0,
    color: !v['no-color'] && !process.env.NO_COLOR,
    source: fleetSourceOptions(v),
  };
}

async function fleetMain(argv: string[]): Promise<void> {
  const o = subcommandOptions(argv, parseFleetArgs, FLEET_USAGE);
  process.on('uncaughtException', (e) => exitNow(1, failure(e)));
  process.stdout.on('error', (e: NodeJS.ErrnoException) => exitNow(e.code === 'EPIPE' ? 0 : 1));
  if (o.mode === 'dashboard') await checkTerminal();
  await runView(o, openFleetOrExit(o.source, o.interval, 'acceptq fleet'));
  exitNow(0);
}

/** Before anything is attached or drawn, the dashboard's terminal is checked: a bad one is left as it was. */
async function checkTerminal(): Promise<void> {
  if (!process.stdout.isTTY) exitNow(2, 'acceptq: the dashboard needs a terminal; use --once or --json for output to a pipe or file');
  const { terminalName, terminalProblem } = await import('../ui/terminal');
  const problem = terminalProblem(terminalName());
  if (problem) exitNow(2, problem);
}

/** The view the options ask for, over a stream (live, a replay or a fleet). */
async function runView(o: Options, stream: SnapshotStream): Promise<void> {
  if (o.mode === 'json') await runJson(o, stream);
  else if (o.mode === 'once') await runOnce(o, stream);
  else await (await import('../ui/dashboard')).runDashboard(o, stream, onExit);
}

export async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'run') return runMain(argv.slice(1));
  if (argv[0] === 'export') return exportMain(argv.slice(1));
  if (argv[0] === 'fleet') return fleetMain(argv.slice(1));
  let o: Options;
  try {
    const r = parseOptions(argv);
    if (r === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    if (r === 'version') {
      process.stdout.write(`acceptq ${require('../../package.json').version}\n`);
      return;
    }
    o = r;
  } catch (e) {
    if (e instanceof UsageError) exitNow(2, `acceptq: ${e.message}\n${USAGE}`);
    throw e;
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => exitNow(0));
  process.on('uncaughtException', (e) => exitNow(1, failure(e)));
  process.stdout.on('error', (e: NodeJS.ErrnoException) => exitNow(e.code === 'EPIPE' ? 0 : 1));

  if (o.mode === 'dashboard') await checkTerminal();
  let stream: SnapshotStream;
  if (o.replay) {
    stream = openReplay(o.replay); // a file only: no root, no BPF
  } else {
    stream = new HeapTrim(new Collector(openHelper(o), o.interval));
    if (o.record) {
      let writer: RecordingWriter;
      try {
        writer = new RecordingWriter(o.record, stream.meta);
      } catch (e) {
        exitNow(1, `acceptq: cannot write ${o.record}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      onExit(() => writer.close());
      stream = new RecordingTee(stream, writer);
    }
  }
  if (o.mode === 'dashboard') await import('../ui/dashboard'); // loaded while privileged: the files may be root's alone
  if (stream.live) dropPrivileges(o.keepRoot);
  await runView(o, stream);
  exitNow(0);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => exitNow(1, failure(e)));
}
