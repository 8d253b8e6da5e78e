/**
 * Decoders of C records into the model's raw records, compiled from a
 * field table (src/native/structs.ts): one plain function per struct that
 * reads every field at its constant offset. At 10,000 rows a tick, a
 * keyed lookup or a closure call per field was the decoder's main cost;
 * a function written out once costs what a hand-written one does.
 */
import { netnsIdFromWords } from '../model/netns';
import type { AbiField, CType } from './structs';

/** Reads that are more than one Buffer method (the compiled code calls them as r.*). */
export const reads = {
  // two 32-bit halves: exact below 2^53, and no BigInt per field
  u64: (b: Buffer, at: number): number => b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 4294967296,
  // a namespace's u64 id is above 2^53 before 5.14 (inode | 1 << 63): src/model/netns.ts keeps it exact
  netnsId: (b: Buffer, at: number): number => netnsIdFromWords(b.readUInt32LE(at), b.readUInt32LE(at + 4)),
  bytes: (b: Buffer, at: number, n: number): Buffer => Buffer.from(b.subarray(at, at + n)),
  text: (b: Buffer, at: number, n: number): string => {
    let end = at;
    while (end < at + n && b[end] !== 0) end++;
    return b.toString('utf8', at, end);
  },
  /** A __u32 the library could not read (ACQ_UNKNOWN) is null. */
  orNull: (v: number): number | null => (v === 0xffffffff ? null : v),
  u32s: (b: Buffer, at: number, n: number): number[] => {
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = b.readUInt32LE(at + 4 * i);
    return out;
  },
};

/** The expression that reads a field of type t at `base + off`. */
function readExpr(t: CType, off: number): string {
  const at = `base + ${off}`;
  if (t === 'u8') return `b[${at}]`;
  if (t === 'u16') return `b.readUInt16LE(${at})`;
  if (t === 'u32') return `b.readUInt32LE(${at})`;
  if (t === 'u64') return `r.u64(b, ${at})`;
  if ('bytes' in t) return `r.bytes(b, ${at}, ${t.bytes})`;
  if ('text' in t) return `r.text(b, ${at}, ${t.text})`;
  return `r.u32s(b, ${at}, ${t.u32s})`;
}

/**
 * decode(buffer, base): the record at `base`, as the table says. `struct`
 * is the table's mirror, which knows each field's offset.
 */
export function compileDecoder<T>(fields: readonly AbiField[], struct: any): (b: Buffer, base: number) => T {
  const off = (c: string): number => {
    const f = struct.fields[c];
    if (!f) throw new Error(`decoder: no field ${c} in the mirror`);
    return f.offset;
  };
  const props: string[] = [];
  // a nested object's fields (js `group.name`), written as one property at its first field's place
  const groups = new Map<string, string[]>();
  for (const f of fields) {
    if (f.bits) {
      for (const [name, bit] of Object.entries(f.bits)) props.push(`${name}: (b.readUInt32LE(base + ${off(f.c)}) & ${bit}) !== 0`);
      continue;
    }
    if (!f.js) continue;
    let v = f.as === 'netnsId' ? `r.netnsId(b, base + ${off(f.c)})` : readExpr(f.type, off(f.c));
    if (f.as === 'family') v = `(${v} === 6 ? 6 : 4)`;
    if (f.as === 'bool') v = `${v} !== 0`;
    if (f.as === 'orNull') v = `r.orNull(${v})`;
    if (f.knownBy) v = `(b.readUInt32LE(base + ${off(f.knownBy)}) ? ${v} : null)`;
    const [group, name] = f.js.includes('.') ? f.js.split('.') : [null, f.js];
    if (!group) {
      props.push(`${name}: ${v}`);
      continue;
    }
    if (!groups.has(group)) {
      groups.set(group, []);
      props.push(group);
    }
    groups.get(group)!.push(`${name}: ${v}`);
  }
  const body = props.map((p) => (groups.has(p) ? `${p}: { ${groups.get(p)!.join(', ')} }` : p));
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('r', `return function decode(b, base) {\n  return {\n    ${body.join(',\n    ')}\n  };\n};`)(reads);
}
