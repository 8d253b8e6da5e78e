/**
 * Each record's fields, listed once: their kind, their name in the --json
 * record (docs/json.md), and the recording format that added them. The
 * JSON writer (src/output/json.ts) and the recording reader
 * (src/record/recording.ts) are driven by these tables; the compiler checks
 * that every table names every field of its interface and no other.
 */
import type { DetailEvent, HostRow, ListenerRow, NamespaceRow } from './types';

export type FieldKind =
  | 'number' // a finite number
  | 'rate' // a number per second (rounded in JSON)
  | 'time' // Unix ms (ISO 8601 in JSON)
  | 'text' // a string from the kernel or a file: sanitised, at most `max` characters
  | 'boolean'
  | 'family' // 4 or 6
  | 'path' // an EventPath
  | 'ms' // a duration in milliseconds (rounded to the microsecond in JSON)
  | 'histogram' // WAIT_BUCKETS counts, one per log2 bucket ([] when unknown)
  | 'netnsId'; // a namespace's id (src/model/netns.ts): a number in the model, its exact decimal text in JSON

export interface FieldSpec {
  kind: FieldKind;
  /** The field's name in the --json record; null: not in it. Default: its own name. */
  json?: string | null;
  /** May be null (a time not yet seen). */
  nullable?: boolean;
  /** Longest accepted string (text). */
  max?: number;
  /** Recording format that added the field; older recordings read as null (if nullable), 0, false or no buckets ([]: unknown). */
  since?: number;
  /**
   * [least, most] a recording's value must lie in (kinds number, rate, ms,
   * time). Default: a number is a whole number from 0 to 2^53 - 1, the
   * others are at least 0.
   */
  range?: readonly [number, number];
}

export type FieldTable<T> = { readonly [K in keyof T]-?: FieldSpec };

const num: FieldSpec = { kind: 'number' };
const port: FieldSpec = { kind: 'number', range: [0, 65535] };
const u32: FieldSpec = { kind: 'number', range: [0, 2 ** 32 - 1] };
const pid: FieldSpec = { kind: 'number', range: [0, 2 ** 22] }; // PID_MAX_LIMIT
/** A gap, kernel minus credited: either sign. */
const gap = (more: Partial<FieldSpec> = {}): FieldSpec => ({ kind: 'number', range: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], ...more });
const bool: FieldSpec = { kind: 'boolean' };
const internal = (kind: FieldKind, more: Partial<FieldSpec> = {}): FieldSpec => ({ kind, json: null, ...more });

export const LISTENER_FIELDS: FieldTable<ListenerRow> = {
  id: internal('text', { max: 512 }),
  host: { kind: 'text', max: 256, since: 5 },
  hostDown: internal('boolean', { since: 5 }),
  netns: u32,
  netnsCookie: { kind: 'netnsId', json: 'netnsCookie' },
  family: { kind: 'family' },
  address: { kind: 'text', max: 64 },
  port,
  pid: pid,
  comm: { kind: 'text', max: 16 },
  uid: u32,
  cgroupId: internal('number'),
  inode: { kind: 'number', since: 4 },
  cgroup: { kind: 'text', max: 256, since: 3 },
  service: { kind: 'text', max: 256, since: 3 },
  sockets: num,
  backlog: num,
  maxBacklog: num,
  requestedBacklog: { kind: 'number', nullable: true, since: 2 },
  peakBacklog: num,
  synBacklog: num,
  overflows: num,
  overflowsSyn: num,
  overflowsAck: num,
  synDrops: num,
  cookies: num,
  estimate: { kind: 'boolean', since: 2 },
  overflowRate: { kind: 'rate' },
  arrivals: { kind: 'number', since: 2 },
  accepts: { kind: 'number', since: 2 },
  arrivalRate: { kind: 'rate', since: 2 },
  acceptRate: { kind: 'rate', since: 2 },
  oldestWaitMs: { kind: 'ms', nullable: true, since: 2 },
  waitCount: { kind: 'number', since: 2 },
  waitMeanMs: { kind: 'ms', nullable: true, since: 2 },
  waitMinMs: { kind: 'ms', nullable: true, since: 2 },
  waitMaxMs: { kind: 'ms', nullable: true, since: 2 },
  waitP50Ms: { kind: 'ms', nullable: true, since: 2 },
  waitP99Ms: { kind: 'ms', nullable: true, since: 2 },
  waitHist: { kind: 'histogram', since: 2 },
  firstOverflowMs: { kind: 'time', json: 'firstOverflow', nullable: true },
  lastOverflowMs: { kind: 'time', json: 'lastOverflow', nullable: true },
  closed: bool,
  closedMs: internal('time', { nullable: true }),
};

export const NAMESPACE_FIELDS: FieldTable<NamespaceRow> = {
  host: { kind: 'text', max: 256, since: 5 },
  netns: u32,
  cookie: { kind: 'netnsId', json: 'netnsCookie' },
  pid: pid,
  listenOverflows: num,
  listenDrops: num,
  syncookiesSent: num,
  reqQFullDrops: num,
  unattributed: gap(),
  unattributedSynDrops: gap({ since: 2 }),
  unattributedCookies: gap({ since: 2 }),
  unmatched: { kind: 'number', since: 2 },
  estimate: { kind: 'boolean', since: 2 },
  overflowRate: { kind: 'rate' },
  gone: internal('boolean'),
  somaxconn: { kind: 'number', nullable: true, since: 2 },
  maxSynBacklog: { kind: 'number', nullable: true, since: 2 },
  syncookies: { kind: 'number', nullable: true, since: 2 },
  abortOnOverflow: { kind: 'number', nullable: true, since: 2 },
};

export const EVENT_FIELDS: FieldTable<DetailEvent> = {
  timeMs: { kind: 'time', json: 'time' },
  listenerId: internal('text', { max: 512 }),
  netns: u32,
  netnsCookie: { kind: 'netnsId', since: 4 },
  address: { kind: 'text', max: 64 },
  port,
  remoteAddress: { kind: 'text', max: 64 },
  remotePort: port,
  path: { kind: 'path' },
  backlog: num,
  maxBacklog: num,
  synBacklog: num,
};

export const HOST_FIELDS: FieldTable<HostRow> = {
  host: { kind: 'text', max: 256 },
  up: bool,
  lastSeenMs: { kind: 'time', json: 'lastSeen', nullable: true },
  error: { kind: 'text', max: 512, nullable: true },
  hostname: { kind: 'text', max: 256, nullable: true },
  kernel: { kind: 'text', max: 256, nullable: true },
  probe: { kind: 'text', max: 64, nullable: true },
  startedMs: { kind: 'time', json: 'started', nullable: true },
  restarts: num,
  restartedMs: { kind: 'time', json: 'restarted', nullable: true },
  overflowRate: { kind: 'rate' },
  gap: num,
  lostEvents: num,
};

/** Listener fields a fleet's exporters do not give (its rows leave them out of JSON). */
export const NOT_IN_FLEET: ReadonlyArray<keyof ListenerRow> = ['uid', 'inode', 'cgroup'];

/** A table's entries, in order, for loops that run once per row. */
export function fieldList<T>(table: FieldTable<T>): Array<[keyof T & string, FieldSpec]> {
  return Object.entries(table) as Array<[keyof T & string, FieldSpec]>;
}

/** A listener's cumulative counts: exact, or all an estimate when the row says so. */
export const COUNT_FIELDS = ['overflows', 'overflowsSyn', 'overflowsAck', 'synDrops', 'cookies'] as const;
export type CountField = (typeof COUNT_FIELDS)[number];
