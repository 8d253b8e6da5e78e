/**
 * The NDJSON record: the stable contract scripts build on (documented in
 * docs/json.md). Rows are written field by field from the model's tables
 * (src/model/fields.ts), so a field added there appears here.
 */
import { EVENT_FIELDS, fieldList, HOST_FIELDS, LISTENER_FIELDS, NAMESPACE_FIELDS, NOT_IN_FLEET, type FieldSpec, type FieldTable } from '../model/fields';
import { diagnoseSnapshot } from '../model/diagnosis';
import { netnsCookieText } from '../model/netns';
import { sanitize } from '../model/sanitize';
import type { HostRow, ListenerRow, Snapshot } from '../model/types';

const iso = (ms: number | null): string | null => (ms ? new Date(ms).toISOString() : null);
const round = (v: number): number => Math.round(v * 1000) / 1000;

type Convert = (v: any) => unknown;
const same: Convert = (v) => v;
const CONVERT: Partial<Record<FieldSpec['kind'], Convert>> = {
  rate: round,
  ms: (v: number | null) => (v === null ? null : round(v)),
  time: iso,
  text: (v: string | null) => (v === null ? null : sanitize(v)),
  netnsId: netnsCookieText,
};

/**
 * A writer for one kind of row: each field that goes out, under its JSON
 * name, converted by kind. Compiled once into one object literal from the
 * table's names (src/model/fields.ts, never from data): built key by key,
 * 10,000 rows took three times as long.
 */
function writer<T>(table: FieldTable<T>): (row: T) => Record<string, unknown> {
  const fields = fieldList(table).filter(([, f]) => f.json !== null);
  const convert = fields.map(([, f]) => CONVERT[f.kind] ?? same);
  const props = fields.map(([k, f], i) => {
    const read = `r[${JSON.stringify(k)}]`;
    return `${JSON.stringify(f.json ?? k)}: ${convert[i] === same ? read : `c[${i}](${read})`}`;
  });
  return new Function('c', `return (r) => ({ ${props.join(', ')} });`)(convert);
}

const listenerJson = writer(LISTENER_FIELDS);
const namespaceJson = writer(NAMESPACE_FIELDS);
const eventJson = writer(EVENT_FIELDS);
const hostJson = writer(HOST_FIELDS);
/** A fleet's host as a record's hosts[] has it. */
export const hostRecord = (h: HostRow) => hostJson(h);
const fleetListenerJson = (() => {
  const left = new Set<string>(NOT_IN_FLEET);
  return writer(Object.fromEntries(Object.entries(LISTENER_FIELDS).filter(([k]) => !left.has(k))) as typeof LISTENER_FIELDS);
})();

/**
 * One record. Each listener also gets its `diagnosis` (null if none), which
 * needs the snapshot before this one (prev) for the SYN side's rates.
 */
export function jsonRecord(s: Snapshot, intervalS: number, prev: Snapshot | null = null): Record<string, unknown> {
  const diagnoses = diagnoseSnapshot(s, prev);
  return {
    ...recordHead(s, intervalS),
    listeners: s.listeners.map((r) => {
      const o = (s.hosts ? fleetListenerJson : listenerJson)(r);
      o.diagnosis = diagnoses.get(r.id) ?? null;
      return o;
    }),
    events: s.events.map(eventJson),
  };
}

/** What a record holds before its listeners, in its order. */
function recordHead(s: Snapshot, intervalS: number): Record<string, unknown> {
  return {
    time: new Date(s.timeMs).toISOString(),
    interval: intervalS,
    probe: s.probe,
    ...(s.source ? { source: s.source } : {}),
    ...(s.notice ? { notice: s.notice } : {}),
    lostEvents: s.lostEvents,
    suppressedEvents: s.suppressedEvents,
    mapFull: s.mapFull,
    lostArrivals: s.lostArrivals,
    lostWaits: s.lostWaits,
    lostListens: s.lostListens,
    ...(s.hosts ? { hosts: s.hosts.map(hostJson) } : {}),
    namespaces: s.namespaces.map(namespaceJson),
  };
}

/**
 * A listener's JSON text without its diagnosis, closing brace left off,
 * kept while the row object lives: the collector keeps the object of a row
 * that did not move, so an idle row is written out once, not every tick.
 */
const listenerText = new WeakMap<ListenerRow, string>();
const fleetListenerText = new WeakMap<ListenerRow, string>();

/** JSON.stringify(jsonRecord(s, intervalS, prev)), the same text, with each unchanged row's text reused. */
export function jsonRecordText(s: Snapshot, intervalS: number, prev: Snapshot | null = null): string {
  const diagnoses = diagnoseSnapshot(s, prev);
  const [write, texts] = s.hosts ? [fleetListenerJson, fleetListenerText] : [listenerJson, listenerText];
  const rows = s.listeners.map((r) => {
    let text = texts.get(r);
    if (text === undefined) texts.set(r, (text = JSON.stringify(write(r)).slice(0, -1)));
    return `${text},"diagnosis":${JSON.stringify(diagnoses.get(r.id) ?? null)}}`;
  });
  const head = JSON.stringify(recordHead(s, intervalS)).slice(0, -1);
  return `${head},"listeners":[${rows.join(',')}],"events":${JSON.stringify(s.events.map(eventJson))}}`;
}
