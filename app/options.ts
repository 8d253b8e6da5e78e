/** The main command's flags (the dashboard, --once, --json on this host): its usage and their parsing. */
import type { RowFilter } from '../src/model/view';
import type { ProbeSet } from '../src/native/probe-sets';
import { checkDashValues, FILTER_FLAGS, integer, parseFlags, positiveNumber, probeSet, rowFilter, UsageError } from './args';

export const USAGE = `usage: acceptq [options]
       acceptq run [--json] [--fail-on-overflow] -- CMD [ARGS...]
       acceptq export [--web.listen-address ADDR:PORT] [OPTIONS]   (Prometheus /metrics; acceptq export --help)
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
  return checkDashValues(argv, parseMainOptions);
}

function parseMainOptions(argv: string[]): Options | 'help' | 'version' {
  const parsed = parseFlags(argv, {
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
  });
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.version) return 'version';
  if (v.once && v.json) throw new UsageError('--once and --json cannot be used together');
  const probe = probeSet(v.probe);
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
