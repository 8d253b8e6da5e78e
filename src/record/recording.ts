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
 * Format 4 added the snapshot's lostArrivals, lostWaits and lostListens; an
 * older recording replays them as 0 (it could not tell).
 */
import fs from 'node:fs';
import { EVENT_FIELDS, fieldList, LISTENER_FIELDS, NAMESPACE_FIELDS, type FieldSpec, type FieldTable } from '../model/fields';
import { WAIT_BUCKETS } from '../model/raw';
import { sanitize } from '../model/sanitize';
import { EVENT_PATHS, type Snapshot, type SnapshotStream, type StreamMeta } from '../model/types';

export const FORMAT_VERSION = 4;
const MAX_BYTES = 1024 * 1024 * 1024;
const MAX_ROWS = 1_000_000;

export class RecordingError extends Error {
  constructor(message: string, readonly line: number) {
    super(line > 0 ? `line ${line}: ${message}` : message);
  }
}

export interface RecordingHeader extends StreamMeta {
  format: number;
  started: string;
}

/** Appends snapshots to a file opened before privileges are dropped. */
export class RecordingWriter {
  private fd: number;

  constructor(path: string, meta: StreamMeta) {
    this.fd = fs.openSync(path, 'w', 0o644);
    const header: RecordingHeader = { format: FORMAT_VERSION, started: new Date().toISOString(), ...meta };
    fs.writeSync(this.fd, JSON.stringify({ acceptqRecording: header }) + '\n');
  }

  write(s: Snapshot): void {
    if (this.fd >= 0) fs.writeSync(this.fd, JSON.stringify(s) + '\n');
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

// ---- validation: a field at a time, with the line it came from ----

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string, line: number): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RecordingError(`${what} is not an object`, line);
  return v as Obj;
}

function num(o: Obj, k: string, line: number): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RecordingError(`${k} is not a number`, line);
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
    case 'number': case 'rate': case 'time': case 'ms': return num(o, k, line);
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

/** One snapshot line of a recording in `format`, checked field by field. */
export function parseSnapshot(text: string, line: number, format = FORMAT_VERSION): Snapshot {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RecordingError(`not JSON (${(e as Error).message}): truncated or corrupt`, line);
  }
  const o = obj(v, 'the snapshot', line);
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
    listeners: arr(o, 'listeners', line).map((x) => listener(x, line, format)),
    namespaces: arr(o, 'namespaces', line).map((x) => namespace(x, line, format)),
    events: arr(o, 'events', line).map((x) => event(x, line, format)),
    attributedRate: num(o, 'attributedRate', line),
    kernelRate: num(o, 'kernelRate', line),
  };
}

export function parseHeader(text: string): RecordingHeader {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new RecordingError('not an acceptq recording (the first line is not its header)', 1);
  }
  const h = obj(obj(v, 'the header', 1).acceptqRecording, 'not an acceptq recording: the header', 1);
  const format = num(h, 'format', 1);
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
    intervalS: num(h, 'intervalS', 1),
  };
}

/** A whole recording, checked line by line before anything is shown. */
export function parseRecording(text: string): { header: RecordingHeader; snapshots: Snapshot[] } {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else if (lines.length > 1) throw new RecordingError('the last line is cut short: truncated file', lines.length);
  if (!lines.length) throw new RecordingError('empty file: not an acceptq recording', 0);
  const header = parseHeader(lines[0]);
  const snapshots = lines.slice(1).map((l, i) => parseSnapshot(l, i + 2, header.format));
  if (!snapshots.length) throw new RecordingError('the recording holds no snapshot', 1);
  return { header, snapshots };
}

export function readRecording(path: string): { header: RecordingHeader; snapshots: Snapshot[] } {
  let size: number;
  try {
    size = fs.statSync(path).size;
  } catch (e) {
    throw new RecordingError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 0);
  }
  if (size > MAX_BYTES) throw new RecordingError(`${path} is larger than ${MAX_BYTES} bytes`, 0);
  return parseRecording(fs.readFileSync(path, 'utf8'));
}

/** Plays a recording back as a stream; the dashboard paces it. */
export class ReplayStream implements SnapshotStream {
  readonly live = false;
  readonly meta: StreamMeta;
  private i = 0;

  constructor(private readonly snapshots: Snapshot[], header: RecordingHeader) {
    this.meta = { host: header.host, kernel: header.kernel, probe: header.probe, intervalS: header.intervalS };
  }

  next(): Snapshot | null {
    return this.i < this.snapshots.length ? this.snapshots[this.i++] : null;
  }
}
