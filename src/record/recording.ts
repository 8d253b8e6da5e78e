/**
 * Recordings: a header line, then one model snapshot per line (NDJSON).
 * Written while a live run goes on, replayed later without root or BPF.
 * A replayed file is data only: every field is checked, every string
 * sanitised, nothing in it is executed. Rows are read field by field from
 * the model's tables (src/model/fields.ts).
 *
 * Format 2 added listeners[].estimate, requestedBacklog, arrivals,
 * accepts, arrivalRate, acceptRate, oldestWaitMs and the wait summary
 * (waitCount ... waitHist), and namespaces[].unattributedSynDrops,
 * unattributedCookies, unmatched, estimate and the four sysctls; a format-1
 * recording replays with estimate false, counts, rates and gaps 0, and
 * unknown for the rest: null (requestedBacklog, the waits, the sysctls) and
 * an empty waitHist, which also tells the diagnosis it has nothing to go on.
 *
 * Format 3 added listeners[].cgroup and service; an older recording replays
 * them as '' (unknown).
 *
 * Format 4 added events[].netnsCookie, listeners[].inode and the snapshot's lostArrivals,
 * lostWaits and lostListens (an older recording replays those as 0: it
 * could not tell), and holds a namespace id of the
 * pre-5.14 form (inode | 1 << 63) as the model does (src/model/netns.ts);
 * an older recording's events take the id from their listenerId, and its
 * pre-5.14 ids (rounded doubles) are put right from the inode beside them.
 *
 * Format 5 added listeners[].host and hostDown and namespaces[].host (a
 * fleet's; an older recording, a local run, replays them as '' and false).
 *
 * A recording is read as a stream, a line at a time, twice: once to check
 * every line before anything is shown, then to play it (memory stays that of
 * one snapshot, however long the file; src/record/lines.ts).
 */
import fs from 'node:fs';
import { listenerId } from '../model/collector';
import { EVENT_FIELDS, fieldList, LISTENER_FIELDS, NAMESPACE_FIELDS, type FieldSpec, type FieldTable } from '../model/fields';
import { netnsIdFromRecording } from '../model/netns';
import { WAIT_BUCKETS } from '../model/raw';
import { sanitize } from '../model/sanitize';
import { EVENT_PATHS, type DetailEvent, type ListenerRow, type NamespaceRow, type Snapshot, type SnapshotStream, type StreamMeta } from '../model/types';
import { LineReader, LineTooLong, type Line } from './lines';

export const FORMAT_VERSION = 5;
/** The largest recording replayed; the writer starts a new part before it (src/record/writer.ts). */
export const MAX_BYTES = 1024 * 1024 * 1024;
const MAX_ROWS = 1_000_000;
/** The longest interval a recording may say it has (as --interval). */
const MAX_INTERVAL_S = 3600;

export class RecordingError extends Error {
  constructor(message: string, readonly line: number) {
    super(line > 0 ? `line ${line}: ${message}` : message);
  }
}

export interface RecordingHeader extends StreamMeta {
  format: number;
  started: string;
}

// ---- validation: a field at a time, with the line it came from ----

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string, line: number): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RecordingError(`${what} is not an object`, line);
  return v as Obj;
}

function num(o: Obj, k: string, line: number, least = 0, most = Number.MAX_SAFE_INTEGER, whole = false): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RecordingError(`${k} is not a number`, line);
  if (v < least || v > most || (whole && !Number.isInteger(v))) {
    throw new RecordingError(`${k} is ${v}, not a ${whole ? 'whole ' : ''}number from ${least} to ${most}`, line);
  }
  return v;
}

function str(o: Obj, k: string, line: number, max = 256): string {
  const v = o[k];
  if (typeof v !== 'string') throw new RecordingError(`${k} is not a string`, line);
  return sanitize(v.slice(0, max));
}

function bool(o: Obj, k: string, line: number): boolean {
  if (typeof o[k] !== 'boolean') throw new RecordingError(`${k} is not true or false`, line);
  return o[k] as boolean;
}

function arr(o: Obj, k: string, line: number): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw new RecordingError(`${k} is not a list`, line);
  if (v.length > MAX_ROWS) throw new RecordingError(`${k} has more than ${MAX_ROWS} entries`, line);
  return v;
}

/** One field's value, checked against its kind. */
function field(o: Obj, k: string, f: FieldSpec, line: number): unknown {
  if (f.nullable && o[k] === null) return null;
  switch (f.kind) {
    case 'number': return num(o, k, line, ...(f.range ?? [0, Number.MAX_SAFE_INTEGER]), true);
    case 'rate': case 'time': case 'ms': return num(o, k, line, ...(f.range ?? [0, Number.MAX_SAFE_INTEGER]));
    case 'netnsId': return num(o, k, line, -(2 ** 32 - 1), 2 ** 64, true);
    case 'histogram': {
      const v = o[k];
      if (!Array.isArray(v) || v.length !== WAIT_BUCKETS || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
        throw new RecordingError(`${k} is not a list of ${WAIT_BUCKETS} counts`, line);
      }
      return v.slice();
    }
    case 'text': return str(o, k, line, f.max);
    case 'boolean': return bool(o, k, line);
    case 'family': {
      const v = num(o, k, line);
      if (v !== 4 && v !== 6) throw new RecordingError(`${k} is neither 4 nor 6`, line);
      return v;
    }
    case 'path': {
      const v = str(o, k, line, 16);
      if (!(EVENT_PATHS as readonly string[]).includes(v)) throw new RecordingError(`unknown event path '${v}'`, line);
      return v;
    }
  }
}

/** What a field added after a recording's format reads as: unknown (null, an empty histogram, '') if it may be, else nothing happened, nothing estimated. */
function absent(f: FieldSpec): unknown {
  if (f.nullable) return null;
  return f.kind === 'boolean' ? false : f.kind === 'histogram' ? [] : f.kind === 'text' ? '' : 0;
}

/** A reader for one kind of row: every field of the table, checked. */
function reader<T>(table: FieldTable<T>, what: string): (v: unknown, line: number, format: number) => T {
  const fields = fieldList(table);
  return (v, line, format) => {
    const o = obj(v, what, line);
    const out: Record<string, unknown> = {};
    for (const [k, f] of fields) out[k] = (f.since ?? 1) > format && o[k] === undefined ? absent(f) : field(o, k, f, line);
    return out as T;
  };
}

const listener = reader(LISTENER_FIELDS, 'a listener');
const namespace = reader(NAMESPACE_FIELDS, 'a namespace');
const event = reader(EVENT_FIELDS, 'an event');

/** An older recording's namespace ids put right (see the top); ids rebuilt from them. */
function upgradeIds(listeners: ListenerRow[], namespaces: NamespaceRow[], events: DetailEvent[], format: number): void {
  if (format >= 4) return;
  for (const r of listeners) {
    r.netnsCookie = netnsIdFromRecording(r.netnsCookie, r.netns);
    r.id = listenerId(r.netnsCookie, r.family, r.address, r.port);
  }
  for (const n of namespaces) n.cookie = netnsIdFromRecording(n.cookie, n.netns);
  for (const e of events) {
    e.netnsCookie = netnsIdFromRecording(Number(e.listenerId.split('|')[0]) || 0, e.netns);
    const r = listeners.find((l) => l.netnsCookie === e.netnsCookie && l.address === e.address && l.port === e.port);
    if (r) e.listenerId = r.id;
  }
}

/** Two rows of one snapshot with the same identity: the recording cannot say which figure is whose. */
function unique<T>(rows: T[], key: (r: T) => string | number, what: string, line: number): void {
  const seen = new Set<string | number>();
  for (const r of rows) {
    const k = key(r);
    if (seen.has(k)) throw new RecordingError(`two ${what} with the same id ${k}`, line);
    seen.add(k);
  }
}

/** One snapshot line of a recording in `format`, checked field by field. */
export function parseSnapshot(text: string, line: number, format = FORMAT_VERSION): Snapshot {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RecordingError(`not JSON (${(e as Error).message}): truncated or corrupt`, line);
  }
  const o = obj(v, 'the snapshot', line);
  const listeners = arr(o, 'listeners', line).map((x) => listener(x, line, format));
  const namespaces = arr(o, 'namespaces', line).map((x) => namespace(x, line, format));
  const events = arr(o, 'events', line).map((x) => event(x, line, format));
  upgradeIds(listeners, namespaces, events, format);
  unique(listeners, (r) => r.id, 'listeners', line);
  unique(namespaces, (n) => n.cookie, 'namespaces', line);
  for (const r of listeners) {
    if (r.overflows !== r.overflowsSyn + r.overflowsAck) {
      throw new RecordingError(`listener ${r.id}: overflows ${r.overflows} is not overflowsSyn + overflowsAck`, line);
    }
  }
  return {
    timeMs: num(o, 'timeMs', line),
    elapsed: num(o, 'elapsed', line),
    probe: str(o, 'probe', line, 32),
    notice: typeof o.notice === 'string' ? sanitize(o.notice.slice(0, 1024)) : '',
    lostEvents: num(o, 'lostEvents', line),
    suppressedEvents: num(o, 'suppressedEvents', line),
    mapFull: num(o, 'mapFull', line),
    lostArrivals: format >= 4 ? num(o, 'lostArrivals', line) : 0,
    lostWaits: format >= 4 ? num(o, 'lostWaits', line) : 0,
    lostListens: format >= 4 ? num(o, 'lostListens', line) : 0,
    snapshotMs: num(o, 'snapshotMs', line),
    listeners,
    namespaces,
    events,
    attributedRate: num(o, 'attributedRate', line),
    kernelRate: num(o, 'kernelRate', line),
  };
}

function interval(h: Obj): number {
  const v = num(h, 'intervalS', 1, 0, MAX_INTERVAL_S);
  if (v === 0) throw new RecordingError(`intervalS is 0, not a number of seconds > 0 and <= ${MAX_INTERVAL_S}`, 1);
  return v;
}

/** A line of `acceptq --json` (or `acceptq run --json`) output, which people hand to --replay for a recording. */
function isJsonRecord(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (typeof o.time === 'string' && 'interval' in o && Array.isArray(o.listeners)) || (Array.isArray(o.command) && 'status' in o);
}

export function parseHeader(text: string): RecordingHeader {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new RecordingError('not an acceptq recording (the first line is not its header)', 1);
  }
  if (isJsonRecord(v)) throw new RecordingError('a --json capture, not a recording (record one with --record FILE)', 0);
  const h = obj(obj(v, 'the header', 1).acceptqRecording, 'not an acceptq recording: the header', 1);
  const format = num(h, 'format', 1, -Number.MAX_VALUE, Number.MAX_VALUE); // its range is checked below, by name
  if (!Number.isInteger(format) || format < 1) throw new RecordingError('bad format version', 1);
  if (format > FORMAT_VERSION) {
    throw new RecordingError(`recording format version ${format} is newer than this acceptq reads (${FORMAT_VERSION}): use a newer acceptq`, 1);
  }
  return {
    format,
    started: str(h, 'started', 1, 64),
    host: str(h, 'host', 1, 256),
    kernel: str(h, 'kernel', 1, 256),
    probe: str(h, 'probe', 1, 32),
    intervalS: interval(h),
  };
}

/** A whole recording in a string, checked line by line (tests; files go through readRecording). */
export function parseRecording(text: string): { header: RecordingHeader; snapshots: Snapshot[] } {
  const lines = text.split('\n');
  const cut = lines[lines.length - 1] !== '';
  if (!cut) lines.pop();
  const snapshots: Snapshot[] = [];
  const header = checkLines(lines.map((l, i) => ({ text: l, number: i + 1, cut: cut && i === lines.length - 1 }))[Symbol.iterator](), (s) => snapshots.push(s));
  return { header, snapshots };
}

/** Checks a recording's lines in order; each snapshot goes to `each`. Returns the header. */
function checkLines(lines: Iterator<Line>, each: (s: Snapshot) => void = () => undefined): RecordingHeader {
  const first = lines.next();
  if (first.done) throw new RecordingError('empty file: not an acceptq recording', 0);
  let l = first.value;
  if (l.cut && l.number > 1) throw new RecordingError('the last line is cut short: truncated file', l.number);
  const header = parseHeader(l.text);
  let count = 0;
  for (let r = lines.next(); !r.done; r = lines.next()) {
    l = r.value;
    if (l.cut) throw new RecordingError('the last line is cut short: truncated file', l.number);
    each(parseSnapshot(l.text, l.number, header.format));
    count++;
  }
  if (!count) throw new RecordingError('the recording holds no snapshot', 1);
  return header;
}

/** A file's lines as an iterator; a line too long for one string is a RecordingError naming it. */
function* fileLines(reader: LineReader): Generator<Line> {
  for (;;) {
    let l: Line | null;
    try {
      l = reader.next();
    } catch (e) {
      if (e instanceof LineTooLong) throw new RecordingError(e.message, e.line);
      throw e;
    }
    if (!l) return;
    yield l;
  }
}

function openLines(path: string): LineReader {
  try {
    return new LineReader(path);
  } catch (e) {
    throw new RecordingError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 0);
  }
}

/** A recording file checked whole (a line at a time, nothing kept), then opened for playing. */
export function readRecording(path: string): ReplayStream {
  let size: number;
  try {
    size = fs.statSync(path).size;
  } catch (e) {
    throw new RecordingError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 0);
  }
  if (size > MAX_BYTES) throw new RecordingError(`${path} is larger than ${MAX_BYTES} bytes`, 0);
  const reader = openLines(path);
  let header: RecordingHeader;
  try {
    header = checkLines(fileLines(reader));
  } finally {
    reader.close();
  }
  return new ReplayStream(path, header);
}

/** Plays a checked recording back as a stream, a line at a time; the dashboard paces it. */
export class ReplayStream implements SnapshotStream {
  readonly live = false;
  readonly meta: StreamMeta;
  private lines: Generator<Line> | null;
  private reader: LineReader | null;

  constructor(path: string, private readonly header: RecordingHeader) {
    this.meta = { host: header.host, kernel: header.kernel, probe: header.probe, intervalS: header.intervalS };
    this.reader = openLines(path);
    this.lines = fileLines(this.reader);
    this.lines.next(); // the header, checked already
  }

  /** The next snapshot; null at the end (the file is closed then). */
  next(): Snapshot | null {
    const r = this.lines?.next();
    if (!r || r.done || r.value.cut) {
      this.close();
      return null;
    }
    return parseSnapshot(r.value.text, r.value.number, this.header.format);
  }

  close(): void {
    this.reader?.close();
    this.reader = null;
    this.lines = null;
  }
}
