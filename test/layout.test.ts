// The ref-struct-di mirrors must match the C structs byte for byte: every
// struct and field the library reports has a mirror of the same size and
// offset, every mirror field (padding excepted) is reported, and, the structs
// having no implicit padding, reported fields and mirror padding cover every
// byte of each struct exactly once.
import test from 'ava';
import ref from '@2060.io/ref-napi';
import StructDi from 'ref-struct-di';
import { ABI_VERSION, MIRRORS } from '../src/native/structs';
import { abiVersion, layoutReport, type LayoutReport } from '../src/native/helper';
import { PROBE_SETS } from '../src/native/probe-sets';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../harness/paths';

const Struct = StructDi(ref);

interface CStruct {
  size?: number;
  fields: Map<string, { size: number; offset: number }>;
}

/** Every disagreement between the library's layout report and the mirrors, in words; [] if none. */
function layoutMismatches(report: LayoutReport[], mirrors: Record<string, any>): string[] {
  const problems: string[] = [];
  const structs = new Map<string, CStruct>();
  for (const e of report) {
    const dot = e.name.indexOf('.');
    const name = dot < 0 ? e.name : e.name.slice(0, dot);
    const s: CStruct = structs.get(name) ?? { fields: new Map() };
    structs.set(name, s);
    if (dot < 0) {
      if (s.size !== undefined) problems.push(`struct ${name} reported twice`);
      s.size = e.size;
    } else {
      const field = e.name.slice(dot + 1);
      if (s.fields.has(field)) problems.push(`${e.name} reported twice`);
      s.fields.set(field, { size: e.size, offset: e.offset });
    }
  }
  for (const [name, c] of structs) {
    const mirror = mirrors[name];
    if (!mirror) {
      problems.push(`struct ${name}: no mirror`);
      continue;
    }
    if (c.size === undefined) problems.push(`struct ${name}: the library reports its fields but not its size`);
    else if (mirror.size !== c.size) problems.push(`sizeof(struct ${name}): C ${c.size}, mirror ${mirror.size}`);
    if (!c.fields.size) problems.push(`struct ${name}: no field reported`);
    for (const [field, f] of c.fields) {
      const m = mirror.fields[field];
      if (!m) {
        problems.push(`${name}.${field}: in C, not in the mirror`);
        continue;
      }
      if (m.offset !== f.offset) problems.push(`offsetof(${name}, ${field}): C ${f.offset}, mirror ${m.offset}`);
      if (m.type.size !== f.size) problems.push(`sizeof(${name}.${field}): C ${f.size}, mirror ${m.type.size}`);
    }
    const spans: Array<{ what: string; offset: number; size: number }> = [...c.fields].map(([field, f]) => ({ what: field, ...f }));
    for (const [field, m] of Object.entries<any>(mirror.fields)) {
      if (c.fields.has(field)) continue;
      if (field.startsWith('_pad')) spans.push({ what: `${field} (mirror padding)`, offset: m.offset, size: m.type.size });
      else problems.push(`${name}.${field}: in the mirror, not reported by the library`);
    }
    // no implicit padding: reported fields and explicit padding tile the struct
    const size = c.size ?? mirror.size;
    let at = 0;
    for (const s of spans.sort((a, b) => a.offset - b.offset)) {
      if (s.offset > at) problems.push(`struct ${name}: bytes ${at}..${s.offset - 1} are neither a reported field nor padding`);
      if (s.offset < at) problems.push(`struct ${name}: ${s.what} at ${s.offset} overlaps what comes before (up to ${at})`);
      at = Math.max(at, s.offset + s.size);
    }
    if (at !== size) problems.push(`struct ${name}: reported fields and padding end at ${at}, the struct at ${size}`);
  }
  for (const name of Object.keys(mirrors)) if (!structs.has(name)) problems.push(`struct ${name}: mirrored, not reported by the library`);
  return problems;
}

/** The mirror with one more field at its end. */
function withExtraField(mirror: any, field: string): any {
  const fields: Record<string, any> = {};
  for (const [k, f] of Object.entries<any>(mirror.fields)) fields[k] = f.type;
  fields[field] = ref.types.uint32;
  return Struct(fields);
}

test('the library speaks the binding ABI version', (t) => {
  t.is(abiVersion(), ABI_VERSION);
});

test('the probe sets the flags name are enum acq_probe, in its order', (t) => {
  const header = fs.readFileSync(path.join(ROOT, 'bpf', 'acceptq.h'), 'utf8');
  const body = /enum acq_probe \{([^}]*)\}/.exec(header);
  if (!body) return t.fail('no enum acq_probe in bpf/acceptq.h');
  const values = [...body[1].matchAll(/ACQ_PROBE_(\w+)\s*=\s*(\d+)/g)].map((m) => [m[1].toLowerCase(), Number(m[2])]);
  t.deepEqual(values, PROBE_SETS.map((name, i) => [name, i]));
});

test('the library layout and the mirrors agree both ways', (t) => {
  const report = layoutReport();
  const structs = new Set(report.map((e) => e.name.split('.')[0]));
  t.log(`${report.length} entries for ${structs.size} structs (${[...structs].join(', ')}); ${Object.keys(MIRRORS).length} mirrors`);
  t.deepEqual(layoutMismatches(report, MIRRORS), []);
});

test('the comparison sees a field added, dropped or moved on one side only', (t) => {
  // so that the test above can fail: every kind of drift, on every struct
  const report = layoutReport();
  t.deepEqual(layoutMismatches(report, MIRRORS), [], 'the unchanged layout agrees');
  for (const [name, mirror] of Object.entries<any>(MIRRORS)) {
    const fields = report.filter((e) => e.name.startsWith(`${name}.`));
    t.true(fields.length > 0, `${name} has reported fields`);
    // a field added in C (and reported) only, the struct grown or not
    const grown = report.map((e) => (e.name === name ? { ...e, size: e.size + 8 } : e));
    for (const r of [report, grown]) {
      const added = [...r, { name: `${name}.added_in_c`, size: 4, offset: mirror.size }];
      t.true(layoutMismatches(added, MIRRORS).some((p) => p.includes('added_in_c')), `${name}: a field in C only`);
    }
    // a field added to the mirror only
    const mirrors = { ...MIRRORS, [name]: withExtraField(mirror, 'added_in_ts') };
    t.true(layoutMismatches(report, mirrors).some((p) => p.includes('added_in_ts')), `${name}: a field in the mirror only`);
    for (const f of fields) {
      // a field the library stops reporting (or removed in C, not in the mirror)
      t.not(layoutMismatches(report.filter((e) => e !== f), MIRRORS).length, 0, `${f.name} dropped from the report`);
      // a field that moved or changed size on the C side
      t.not(layoutMismatches(report.map((e) => (e === f ? { ...e, offset: e.offset + 1 } : e)), MIRRORS).length, 0, `${f.name} moved`);
      t.not(layoutMismatches(report.map((e) => (e === f ? { ...e, size: e.size * 2 } : e)), MIRRORS).length, 0, `${f.name} resized`);
    }
    // a struct that grew on the C side only
    t.not(layoutMismatches(grown, MIRRORS).length, 0, `${name} grown in C only`);
    // a whole struct missing on either side
    const { [name]: _gone, ...fewer } = MIRRORS;
    t.not(layoutMismatches(report, fewer).length, 0, `${name} without a mirror`);
    t.not(layoutMismatches(report.filter((e) => e.name.split('.')[0] !== name), MIRRORS).length, 0, `${name} not reported`);
  }
  // a C field taking the place of mirror padding, reported but not mirrored
  const padded = Object.entries<any>(MIRRORS).find(([, m]) => Object.keys(m.fields).some((f) => f.startsWith('_pad')));
  if (padded) {
    const [name, m] = padded;
    const pad = Object.entries<any>(m.fields).find(([f]) => f.startsWith('_pad'))![1];
    const r = [...report, { name: `${name}.in_the_padding`, size: pad.type.size, offset: pad.offset }];
    t.true(layoutMismatches(r, MIRRORS).some((p) => p.includes('in_the_padding')), `${name}: a C field where the mirror pads`);
  }
});
