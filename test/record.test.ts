// Record a real run, replay it without root; broken files are refused with
// their line number; the parser and the flags survive a fuzz run.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AcceptqJson } from '../harness/acceptq';
import { checkScenario } from './support/scenario';
import { CLI } from '../harness/paths';
import { Tmux } from '../harness/tmux';
import { asNobody, asNobodyShell } from '../harness/unprivileged';
import { parseRecording, RecordingError, FORMAT_VERSION } from '../src/record/recording';
import { EVENT_FIELDS, fieldList, LISTENER_FIELDS, NAMESPACE_FIELDS } from '../src/model/fields';
import { parseOptions, UsageError } from '../app/options';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-rec-'));
fs.chmodSync(dir, 0o755);
const file = path.join(dir, 'run.ndjson');
let kernelCount = 0;
let labNetns = 0;

test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

const replay = (args: string[]) => {
  const argv = asNobody([process.execPath, CLI, ...args]);
  return spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30000 });
};

test.serial('record a live run with an overflowing listener', async (t) => {
  const aq = AcceptqJson.start(['--record', file]);
  await aq.waitFor(() => true, 20000);
  const { lab, kernel } = await checkScenario(t, aq, 'syn');
  kernelCount = kernel.TcpExtListenOverflows;
  labNetns = lab.netns;
  await aq.fresh();
  t.is(await aq.stop(), 0);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  t.is(lines.length, aq.records.length + 2, 'a header, the baseline, and one line per record');
  t.regex(lines[0], new RegExp(`^\\{"acceptqRecording":\\{"format":${FORMAT_VERSION},`), 'the header, in the format this acceptq writes');
});

test.serial('replayed as an unprivileged user: the same records', (t) => {
  const r = replay(['--replay', file, '--json']);
  t.is(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.is(recs.length, fs.readFileSync(file, 'utf8').trim().split('\n').length - 2, 'every snapshot but the header and the baseline');
  const last = recs[recs.length - 1];
  const row = last.listeners.find((l: any) => l.netns === labNetns && l.port === 9000);
  t.is(row.overflows, kernelCount, 'the recorded count, as the kernel had it');
  t.is(row.comm, 'acceptq-lab');
  const once = replay(['--replay', file, '--once', '--port', '9000']);
  t.is(once.status, 0, once.stderr);
  t.regex(once.stdout, new RegExp(`127\\.0\\.0\\.1:9000 .* ${kernelCount} `));
});

test.serial('replayed into the dashboard, unprivileged: pause and speed', async (t) => {
  const tm = Tmux.start(`acceptq-replay-${process.pid}`, `${asNobodyShell([process.execPath, CLI, '--replay', file])}; echo EXIT=$?; sleep 30`, 120, 40, { LANG: 'C.UTF-8' });
  t.teardown(() => tm.kill());
  await tm.waitFor((s) => s.includes('replay x1') && s.includes('127.0.0.1:9000'));
  tm.keys('+');
  await tm.waitFor((s) => s.includes('replay x2'));
  tm.keys('p');
  await tm.waitFor((s) => s.includes('[PAUSED]'));
  tm.keys('p');
  await tm.waitFor((s) => s.includes('[END OF RECORDING]'), 30000);
  tm.keys('q');
  await tm.waitFor((s) => s.includes('EXIT=0'));
  t.pass();
});

test.serial('truncated, corrupt and newer files: a clear message with the line, exit 1', (t) => {
  const text = fs.readFileSync(file, 'utf8');
  const cases: Array<[string, string, RegExp]> = [
    ['truncated', text.slice(0, text.length - 40), /line \d+: .*(truncated|cut short)/],
    ['corrupt', text.replace(/"listeners":\[/, '"listeners":7,"was":['), /line 2: listeners is not a list/],
    ['garbled', text.replace(/\n\{"timeMs"/, '\n{"timeMs"x'), /line 2: not JSON .*truncated or corrupt/],
    ['newer', text.replace(`"format":${FORMAT_VERSION}`, `"format":${FORMAT_VERSION + 1}`), new RegExp(`format version ${FORMAT_VERSION + 1} is newer than this acceptq reads \\(${FORMAT_VERSION}\\)`)],
    ['not a recording', 'hello\n', /line 1: not an acceptq recording/],
    ['empty', '', /empty file/],
  ];
  for (const [name, body, re] of cases) {
    const f = path.join(dir, `${name.replace(/ /g, '-')}.ndjson`);
    fs.writeFileSync(f, body);
    fs.chmodSync(f, 0o644);
    const r = replay(['--replay', f, '--json']);
    t.is(r.status, 1, name);
    t.regex(r.stderr, re, name);
    t.is(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
    t.is(r.stdout, '', `${name}: nothing replayed`);
  }
  const missing = replay(['--replay', path.join(dir, 'nope'), '--json']);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /cannot read .*ENOENT/);
});

/** Every string anywhere in a value. */
function stringsIn(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(stringsIn);
  if (v && typeof v === 'object') return Object.values(v).flatMap(stringsIn);
  return [];
}

// what sanitize() replaces: C0 and C1 control characters and DEL
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const HOSTILE = '\u001b[2J\u0007x\u009b\u0000';

type Level = 'header' | 'snapshot' | 'listeners' | 'namespaces' | 'events';
/** Fields that may be null (a time not reached yet, a figure not known): null is read, not refused. From the model's field tables. */
const NULLABLE = new Set([LISTENER_FIELDS, NAMESPACE_FIELDS, EVENT_FIELDS].flatMap((f) => fieldList<any>(f).filter(([, s]) => s.nullable).map(([k]) => k)));
/** Values of the right type that the validator must still refuse. */
const OUT_OF_RANGE: Record<string, unknown[]> = {
  family: [0, 5, 4.5, -4],
  path: ['bogus', '', 'SYN', HOSTILE],
  format: [0, -1, 1.5, FORMAT_VERSION + 1],
};
const RAW = '"__raw_json__"';

test.serial('every field of every line is checked: wrong type, missing or out of range is refused with its line', (t) => {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  // a snapshot line with listeners, namespaces and events in it: the syn scenario's
  const at = lines.map((l, i) => ({ i, o: i ? JSON.parse(l) : null })).filter(({ i, o }) => i >= 1 && o.listeners.length && o.namespaces.length && o.events.length).pop()!;
  t.truthy(at, 'the recording has a line with listeners, namespaces and events');
  const lineNo = at.i + 1;
  const parsed = parseRecording(lines.join('\n') + '\n');
  const snap = parsed.snapshots[at.i - 1];

  /** The file with one field of line `lineNo` (or the header) changed (undefined: deleted; raw: JSON text as is). */
  const mutate = (level: Level, key: string, value: unknown, raw?: string): { text: string; line: number } => {
    const header = level === 'header';
    const o = JSON.parse(lines[header ? 0 : at.i]);
    const target = header ? o.acceptqRecording : level === 'snapshot' ? o : o[level][0];
    if (value === undefined && raw === undefined) delete target[key];
    else target[key] = raw === undefined ? value : '__raw_json__';
    let line = JSON.stringify(o);
    if (raw !== undefined) line = line.replace(RAW, raw);
    const out = [...lines];
    out[header ? 0 : at.i] = line;
    return { text: out.join('\n') + '\n', line: header ? 1 : lineNo };
  };
  const refused = (what: string, key: string, m: { text: string; line: number }, mentions = key) => {
    const e = t.throws(() => parseRecording(m.text), { instanceOf: RecordingError }, `${what}: refused`);
    if (!e) return;
    t.is(e.line, m.line, `${what}: the line number`);
    t.true(e.message.startsWith(`line ${m.line}: `) && e.message.includes(mentions), `${what}: ${e.message}`);
  };

  const levels: Array<[Level, Record<string, unknown>, Record<string, unknown>]> = [
    ['header', JSON.parse(lines[0]).acceptqRecording, parsed.header as unknown as Record<string, unknown>],
    ['snapshot', at.o, snap as unknown as Record<string, unknown>],
    ['listeners', at.o.listeners[0], snap.listeners[0] as unknown as Record<string, unknown>],
    ['namespaces', at.o.namespaces[0], snap.namespaces[0] as unknown as Record<string, unknown>],
    ['events', at.o.events[0], snap.events[0] as unknown as Record<string, unknown>],
  ];
  let checked = 0;
  for (const [level, written, read] of levels) {
    // the validator reads exactly what acceptq writes: no field goes unchecked
    t.deepEqual(Object.keys(read).sort(), Object.keys(written).sort(), `${level}: fields written = fields read`);
    for (const [key, value] of Object.entries(written)) {
      const what = `${level}.${key}`;
      checked++;
      if (level === 'snapshot' && key === 'notice') {
        // optional: a missing or non-string notice reads as none; a string is sanitised
        for (const v of [undefined, 7, null, {}]) t.is(parseRecording(mutate(level, key, v).text).snapshots[at.i - 1].notice, '', `${what} = ${JSON.stringify(v)}`);
        t.false(CONTROL.test(parseRecording(mutate(level, key, HOSTILE).text).snapshots[at.i - 1].notice), `${what}: sanitised`);
        continue;
      }
      refused(`${what} missing`, key, mutate(level, key, undefined));
      if (Array.isArray(value)) {
        for (const v of [7, 'x', {}, null, true]) refused(`${what} = ${JSON.stringify(v)}`, key, mutate(level, key, v));
        if (value.length && value.every((x) => typeof x === 'number')) {
          // a histogram: as many counts as written, each a count
          for (const v of ['x', -1, null, {}]) refused(`${what}[0] = ${JSON.stringify(v)}`, key, mutate(level, key, [v, ...value.slice(1)]));
          refused(`${what} one short`, key, mutate(level, key, value.slice(1)));
          continue;
        }
        // an entry that is not an object
        for (const v of [7, null, [], 'x']) refused(`${what}[0] = ${JSON.stringify(v)}`, key, mutate(level, key, [v, ...value.slice(1)]), 'is not an object');
        continue;
      }
      const wrongTypes: unknown[] = [{}, []];
      if (typeof value === 'number' || (value === null && NULLABLE.has(key))) {
        wrongTypes.push('7', '', true);
        if (!NULLABLE.has(key)) wrongTypes.push(null);
        for (const raw of ['1e999', '-1e999']) refused(`${what} = ${raw}`, key, mutate(level, key, undefined, raw));
      } else if (typeof value === 'string') {
        wrongTypes.push(7, null, true);
      } else if (typeof value === 'boolean') {
        wrongTypes.push('true', 1, 0, null);
      } else {
        t.fail(`${what}: a ${typeof value} field this test does not know how to corrupt`);
      }
      for (const v of wrongTypes) refused(`${what} = ${JSON.stringify(v)}`, key, mutate(level, key, v));
      for (const v of OUT_OF_RANGE[key] ?? []) refused(`${what} = ${JSON.stringify(v)} (out of range)`, key, mutate(level, key, v), key === 'format' ? 'format version' : key);
      if (NULLABLE.has(key)) {
        const r = parseRecording(mutate(level, key, null).text);
        const row = (level === 'listeners' || level === 'namespaces' ? r.snapshots[at.i - 1][level][0] : null) as Record<string, unknown> | null;
        t.is(row?.[key], null, `${what} = null is read as not yet`);
      }
      if (typeof value === 'string' && !(key in OUT_OF_RANGE)) {
        // any string is read, but never with a control character in it
        const r = parseRecording(mutate(level, key, HOSTILE + value).text);
        t.false(stringsIn(r).some((s) => CONTROL.test(s)), `${what}: sanitised`);
      }
    }
  }
  // and the line structure itself
  for (const v of ['{"acceptqRecording":7}', '{"acceptqRecording":[]}', '{}', '[]', '7']) {
    refused(`line 1 = ${v}`, '', { text: [v, ...lines.slice(1)].join('\n') + '\n', line: 1 }, 'the header is not an object');
  }
  for (const v of ['[]', '7', 'null', '"x"']) {
    const out = [...lines];
    out[at.i] = v;
    refused(`line ${lineNo} = ${v}`, '', { text: out.join('\n') + '\n', line: lineNo }, 'the snapshot is not an object');
  }
  t.log(`${checked} fields corrupted one at a time (line ${lineNo} of ${lines.length})`);
  t.true(checked > 50);
});

test.serial('a corrupt field through the real replay: its line and field, exit 1', (t) => {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const i = lines.length - 1;
  const cases: Array<[string, (o: any) => void, RegExp]> = [
    ['port a string', (o) => (o.listeners[0].port = '80'), new RegExp(`^acceptq: .*: line ${i + 1}: port is not a number`)],
    ['family 5', (o) => (o.listeners[0].family = 5), new RegExp(`^acceptq: .*: line ${i + 1}: family is neither 4 nor 6`)],
    ['gone missing', (o) => delete o.namespaces[0].gone, new RegExp(`^acceptq: .*: line ${i + 1}: gone is not true or false`)],
    ['kernelRate 1e999', (o) => (o.kernelRate = '__raw_json__'), new RegExp(`^acceptq: .*: line ${i + 1}: kernelRate is not a number`)],
  ];
  for (const [name, change, re] of cases) {
    const o = JSON.parse(lines[i]);
    change(o);
    const out = [...lines];
    out[i] = JSON.stringify(o).replace(RAW, '1e999');
    const f = path.join(dir, `field-${name.replace(/ /g, '-')}.ndjson`);
    fs.writeFileSync(f, out.join('\n') + '\n');
    fs.chmodSync(f, 0o644);
    const r = replay(['--replay', f, '--json']);
    t.is(r.status, 1, name);
    t.regex(r.stderr, re, name);
    t.is(r.stdout, '', `${name}: nothing replayed`);
  }
});

/** A small deterministic PRNG so a failing case can be reproduced. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

test.serial('fuzz: 3,000 mangled recordings never crash the parser', (t) => {
  const text = fs.readFileSync(file, 'utf8');
  const lineCount = text.split('\n').length;
  const rand = rng(42);
  const junk = ['{', '}', '[', ']', '"', ':', ',', 'null', '1e999', '-1', 'true', '\u001b[2J', '\\u0000', '\\u009b', '\n', 'NaN', '"x"'];
  let accepted = 0;
  let refused = 0;
  let hostile = 0;
  const t0 = Date.now();
  for (let i = 0; i < 3000; i++) {
    let s = text;
    const edits = 1 + Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * s.length);
      const op = rand();
      if (op < 0.3) s = s.slice(0, at); // truncate
      else if (op < 0.6) s = s.slice(0, at) + junk[Math.floor(rand() * junk.length)] + s.slice(at);
      else if (op < 0.8) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 20));
      else s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 256)) + s.slice(at + 1);
    }
    try {
      const r = parseRecording(s);
      // every string of the result, not only some: header, probe, notice, rows, events
      const bad = stringsIn(r).filter((x) => CONTROL.test(x));
      if (bad.length) t.fail(`case ${i}: control characters kept in ${JSON.stringify(bad)}`);
      if (/\\u00(0|1|7f|[89])/i.test(s)) hostile++;
      accepted++;
    } catch (e) {
      if (!(e instanceof RecordingError)) {
        t.fail(`case ${i}: ${(e as Error).stack}`);
      } else if (e.line < 0 || e.line > lineCount || (e.line > 0 && !e.message.startsWith(`line ${e.line}: `))) {
        t.fail(`case ${i}: refused without a valid line number (${e.line}): ${e.message}`);
      }
      refused++;
    }
  }
  t.log(`3,000 cases in ${Date.now() - t0} ms: ${accepted} accepted (${hostile} with an escaped control character), ${refused} refused with a line number`);
  t.true(accepted > 0 && refused > 0, 'both outcomes occur');
});

/** Flags the README's table documents that take a value, and their rules (the test's own reading of it). */
const VALUE_RULES: Record<string, (v: string) => boolean> = {
  interval: (v) => /^\d+(\.\d+)?$/.test(v) && Number(v) > 0 && Number(v) <= 3600, // seconds, at most an hour
  duration: (v) => /^\d+(\.\d+)?$/.test(v) && Number(v) > 0 && Number(v) <= 365 * 86400, // seconds, at most a year
  port: (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535,
  pid: (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 2 ** 31,
  netns: (v) => /^\d+$/.test(v) && BigInt(v) >= 1n && BigInt(v) <= 2n ** 64n - 1n, // an inode number or a cookie
  probe: (v) => ['auto', 'tracepoint', 'fentry', 'kprobe'].includes(v),
  'events-per-sec': (v) => /^\d+$/.test(v) && Number(v) <= 100000,
  'max-listeners': (v) => /^\d+$/.test(v) && Number(v) >= 64 && Number(v) <= 1048576,
  debug: (v) => v !== '',
  record: (v) => v !== '',
  replay: (v) => v !== '',
};
const SWITCHES = ['json', 'once', 'no-color', 'keep-root', 'help', 'version'];

/**
 * What a command line should give, worked out from the documented flags alone:
 * the flags' values, or the words any refusal must name (one of them).
 */
function expected(argv: string[]): { values: Record<string, string | true> } | { culprits: string[] } {
  const values: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    if (w === '--') {
      if (i + 1 < argv.length) return { culprits: [argv[i + 1]] }; // no positional arguments
      break;
    }
    if (w === '-h' || w === '-V') {
      values[w === '-h' ? 'help' : 'version'] = true;
      continue;
    }
    if (!w.startsWith('-') || w === '-') return { culprits: [w] };
    const eq = w.indexOf('=');
    const name = w.startsWith('--') ? w.slice(2, eq < 0 ? undefined : eq) : w.slice(1);
    if (!w.startsWith('--') || (!(name in VALUE_RULES) && !SWITCHES.includes(name))) return { culprits: [w] };
    if (SWITCHES.includes(name)) {
      if (eq >= 0) return { culprits: [`--${name}`] };
      values[name] = true;
    } else if (eq >= 0) values[name] = w.slice(eq + 1);
    else if (i + 1 >= argv.length || argv[i + 1].startsWith('-')) return { culprits: [`--${name}`] }; // missing or ambiguous
    else values[name] = argv[++i];
  }
  if (values.help || values.version) return { values };
  const culprits: string[] = [];
  if (values.once && values.json) culprits.push('--once');
  if (values.record !== undefined && values.replay !== undefined) culprits.push('--record');
  for (const [name, ok] of Object.entries(VALUE_RULES)) if (values[name] !== undefined && !ok(values[name] as string)) culprits.push(`--${name}`);
  return culprits.length ? { culprits } : { values };
}

test('fuzz: 5,000 random command lines: the valid ones parsed to their values, every invalid one refused naming its fault', (t) => {
  const rand = rng(7);
  const words = ['--json', '--once', '--interval', '--duration', '--port', '--pid', '--netns', '--probe', '--events-per-sec', '--max-listeners',
    '--debug', '--record', '--replay', '--no-color', '-h', '-V', '0', '1', '-1', '0.5', '1e9', '64', 'x', '', 'auto', 'fentry', '65536',
    '4294967296', '--', '--port=80', '--port=0', '-x', '\u001b'];
  let ok = 0;
  const refusedLines: string[][] = [];
  for (let i = 0; i < 5000; i++) {
    const argv = Array.from({ length: Math.floor(rand() * 6) }, () => words[Math.floor(rand() * words.length)]);
    const want = expected(argv);
    let got: ReturnType<typeof parseOptions> | undefined;
    let error: unknown;
    try {
      got = parseOptions(argv);
    } catch (e) {
      error = e;
    }
    const line = JSON.stringify(argv);
    if ('culprits' in want) {
      refusedLines.push(argv);
      if (!(error instanceof UsageError)) {
        t.fail(`${line}: should be refused (${want.culprits.join(' or ')}), got ${error ? (error as Error).stack : JSON.stringify(got)}`);
        continue;
      }
      if (!want.culprits.some((c) => error.message.includes(c))) t.fail(`${line}: the refusal "${error.message}" names none of ${want.culprits.join(', ')}`);
      continue;
    }
    if (error) {
      t.fail(`${line}: valid, but refused: ${(error as Error).message}`);
      continue;
    }
    ok++;
    const v = want.values;
    if (v.help || v.version) {
      if (got !== (v.help ? 'help' : 'version')) t.fail(`${line}: ${JSON.stringify(got)}`);
      continue;
    }
    const o = got as Exclude<typeof got, 'help' | 'version' | undefined>;
    const num = (k: string) => (v[k] === undefined ? undefined : Number(v[k]));
    const wantOpts = {
      mode: v.once ? 'once' : v.json ? 'json' : 'dashboard', interval: num('interval') ?? 1, duration: num('duration'),
      // --netns as the decimal text of its number (a cookie can pass 2^53)
      filter: { port: num('port'), pid: num('pid'), netns: v.netns === undefined ? undefined : BigInt(v.netns).toString() }, probe: v.probe ?? 'auto',
      eventsPerSec: num('events-per-sec') ?? 50, maxListeners: num('max-listeners'), debug: v.debug, record: v.record, replay: v.replay,
      keepRoot: !!v['keep-root'],
    };
    const { color: _color, ...gotOpts } = o;
    if (JSON.stringify(gotOpts) !== JSON.stringify(wantOpts)) t.fail(`${line}: parsed ${JSON.stringify(gotOpts)}, documented ${JSON.stringify(wantOpts)}`);
  }
  t.log(`${ok} parsed as documented, ${refusedLines.length} refused naming their fault`);
  t.true(ok > 500 && refusedLines.length > 500, 'both outcomes are exercised');
  // through the real program: a usage error is one line, exit 2, nothing on stdout (no BPF is loaded before)
  for (const argv of refusedLines.slice(0, 25)) {
    const r = spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', timeout: 30000 });
    t.is(r.status, 2, `${JSON.stringify(argv)}: ${r.stderr}`);
    t.is(r.stdout, '', JSON.stringify(argv));
    t.regex(r.stderr, /^acceptq: [^\n]+\n$/, JSON.stringify(argv));
  }
});
