/**
 * acceptq fleet: the dashboard (or --once, --json) over many hosts' `acceptq
 * export`, read through Prometheus or from the exporters themselves; and the
 * fleet flags `acceptq run --fleet` shares. No BPF, no root.
 */
import { HttpClient, readAuth } from '../../src/fleet/http';
import { PrometheusSource, TargetsSource, targetUrl, type FleetSource } from '../../src/fleet/sources';
import { FleetStream } from '../../src/fleet/stream';
import { integer, parseFlags, positiveNumber, UsageError } from '../args';
import { exitNow, exitOnFailure, onExit } from '../exit';
import type { Snapshot } from '../../src/model/types';
import type { Options } from '../options';
import { checkTerminal, runView } from '../views';
import { subcommandOptions } from './subcommand';

export const FLEET_SOURCE_USAGE = `  --prometheus URL        read the hosts from Prometheus (its HTTP API: a fixed
                          number of queries a tick, however many hosts)
  --selector MATCHERS     with --prometheus: only these series, e.g. 'job="acceptq"'
                          (default: every job that exports acceptq's metrics)
  --targets LIST          scrape these acceptq export endpoints directly:
                          HOST:PORT or https://HOST:PORT, comma-separated
  --ca-file FILE          verify the servers' TLS certificates against this CA
  --cert-file FILE, --key-file FILE   a client certificate
  --basic-auth-user USER  basic auth, the password read from
  --basic-auth-password-file FILE
  --bearer-token-file FILE  an Authorization: Bearer token
  --timeout SECONDS       a request's time limit (default: Prometheus 30; a target
                          the interval, from 2 to 10): a tick waits for its poll
`;

export const FLEET_USAGE = `usage: acceptq fleet (--prometheus URL [--selector MATCHERS] | --targets HOST:PORT,...)
                     [--once | --json] [--interval S] [--duration S] [--port PORT] [options]
  the dashboard of many hosts' listeners, from their acceptq export
${FLEET_SOURCE_USAGE}  --once                  print a table after one interval and exit
  --json                  print one JSON object per interval (NDJSON)
  --interval SECONDS      refresh interval (default 1)
  --duration SECONDS      stop after this long
  --port PORT             only listeners on this port
  --no-color              no colours (NO_COLOR is honoured too)
  -h, --help              this help
`;

/** The exit status of a fleet's --once, --json and run --fleet when no host answered at the end: an error, nothing was read. */
export const FLEET_DOWN_EXIT = 1;

/** Why a fleet's last snapshot tells nothing (every host down, or the source names none); null when a host answered. */
export function fleetDown(s: Snapshot | null): string | null {
  const hosts = s?.hosts ?? [];
  if (hosts.some((h) => h.up)) return null;
  if (!hosts.length) return `no host to watch${s?.notice ? `: ${s.notice}` : ''}`;
  const first = `${hosts[0].host}: ${hosts[0].error ?? 'down'}`;
  return hosts.length === 1 ? `the host is down (${first})` : `all ${hosts.length} hosts are down (${first}; ...)`;
}

/** The parseArgs options of a fleet source (shared by fleet and run --fleet). */
export const FLEET_SOURCE_ARGS = {
  prometheus: { type: 'string' },
  selector: { type: 'string' },
  targets: { type: 'string' },
  'ca-file': { type: 'string' },
  'cert-file': { type: 'string' },
  'key-file': { type: 'string' },
  'basic-auth-user': { type: 'string' },
  'basic-auth-password-file': { type: 'string' },
  'bearer-token-file': { type: 'string' },
  timeout: { type: 'string' },
} as const;

export interface FleetSourceOptions {
  prometheus?: string;
  selector: string;
  targets?: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  basicUser?: string;
  basicPasswordFile?: string;
  bearerTokenFile?: string;
  timeoutS?: number;
}

type SourceValues = { [K in keyof typeof FLEET_SOURCE_ARGS]?: string };

/** The fleet source of parsed flags; throws Error with a message for usage problems. */
export function fleetSourceOptions(v: SourceValues): FleetSourceOptions {
  if (!v.prometheus === !v.targets) throw new Error('acceptq fleet wants one of --prometheus URL or --targets HOST:PORT,...');
  if (v.prometheus !== undefined) {
    let u: URL;
    try {
      u = new URL(v.prometheus);
    } catch {
      throw new Error(`--prometheus wants a URL (http://HOST:9090), not '${v.prometheus}'`);
    }
    if (!/^https?:$/.test(u.protocol)) throw new Error(`--prometheus wants an http or https URL, not '${v.prometheus}'`);
  }
  if (v.selector !== undefined) {
    if (!v.prometheus) throw new Error('--selector goes with --prometheus');
    if (!/^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"/.test(v.selector) || /[{}]/.test(v.selector)) {
      throw new Error(`--selector wants label matchers without braces, e.g. 'job="acceptq"', not '${v.selector}'`);
    }
  }
  const targets = v.targets?.split(',').map((t) => t.trim()).filter(Boolean);
  if (targets) {
    if (!targets.length) throw new Error('--targets wants at least one HOST:PORT');
    targets.forEach(targetUrl); // throws on a bad one
    if (new Set(targets).size !== targets.length) throw new Error('--targets names a target twice');
  }
  if ((v['cert-file'] === undefined) !== (v['key-file'] === undefined)) throw new Error('--cert-file and --key-file go together');
  if (v['basic-auth-user'] !== undefined && v['bearer-token-file'] !== undefined) throw new Error('--basic-auth-user and --bearer-token-file cannot be used together');
  if (v['basic-auth-password-file'] !== undefined && v['basic-auth-user'] === undefined) throw new Error('--basic-auth-password-file goes with --basic-auth-user');
  const timeoutS = positiveNumber('timeout', v.timeout, 300);
  return {
    prometheus: v.prometheus, selector: v.selector?.trim() ?? '', targets, caFile: v['ca-file'], certFile: v['cert-file'], keyFile: v['key-file'],
    basicUser: v['basic-auth-user'], basicPasswordFile: v['basic-auth-password-file'], bearerTokenFile: v['bearer-token-file'], timeoutS,
  };
}

/** The source and its stream; throws HttpError when a credential file cannot be read. */
export function openFleet(o: FleetSourceOptions, intervalS: number): FleetStream {
  // a big fleet's queries can take Prometheus longer than a tick: the dashboard waits, and says its age
  const timeoutS = o.timeoutS ?? (o.prometheus ? 30 : Math.min(Math.max(intervalS, 2), 10));
  const http = new HttpClient(readAuth(o), Math.round(timeoutS * 1000));
  const source: FleetSource = o.prometheus ? new PrometheusSource(o.prometheus, o.selector, http) : new TargetsSource(o.targets!, http);
  return new FleetStream(source, intervalS);
}

/** A fleet's stream, its connections closed on the way out; a credential file it cannot read: one line, exit 1. */
export function openFleetOrExit(o: FleetSourceOptions, intervalS: number, who: string): FleetStream {
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
  const { values: v } = parseFlags(argv, {
    ...FLEET_SOURCE_ARGS, once: { type: 'boolean' }, json: { type: 'boolean' }, interval: { type: 'string' }, duration: { type: 'string' },
    port: { type: 'string' }, 'no-color': { type: 'boolean' },
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

/** acceptq fleet: the views over a fleet's stream. */
export async function fleetMain(argv: string[]): Promise<void> {
  const o = subcommandOptions(argv, parseFleetArgs, FLEET_USAGE);
  exitOnFailure();
  if (o.mode === 'dashboard') await checkTerminal();
  const stream = openFleetOrExit(o.source, o.interval, 'acceptq fleet');
  await runView(o, stream);
  // output for a script: it must not pass for a quiet fleet when nothing answered
  const down = o.mode === 'dashboard' ? null : fleetDown(stream.last);
  if (down) exitNow(FLEET_DOWN_EXIT, `acceptq fleet: ${down}`);
  exitNow(0);
}
