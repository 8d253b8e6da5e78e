// Record a real run, replay it without root; broken files are refused with
// their line number; the parser and the flags survive a fuzz run.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AcceptqJson } from './support/acceptq';
import { checkScenario } from './support/scenario';
import { CLI } from './support/paths';
import { Tmux } from './support/tmux';
import { parseRecording, RecordingError, FORMAT_VERSION } from '../src/record/recording';
import { parseOptions, UsageError } from '../src/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-rec-'));
fs.chmodSync(dir, 0o755);
const file = path.join(dir, 'run.ndjson');
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];
let kernelCount = 0;
let labNetns = 0;

test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

const replay = (args: string[]) =>
  spawnSync(AS_NOBODY[0], [...AS_NOBODY.slice(1), process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 30000 });

test.serial('record a live run with an overflowing listener', async (t) => {
  const aq = AcceptqJson.start(['--record', file]);
  await aq.waitFor(() => true, 20000);
  const { lab, kernel } = await checkScenario(t, aq, 'syn');
  kernelCount = kernel.TcpExtListenOverflows;
  labNetns = lab.netns;
  await aq.fresh();
  t.is(await aq.stop(), 0);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  t.is(lines.length, aq.records.length + 1, 'a header and one line per record');
  t.regex(lines[0], /"acceptqRecording":\{"format":1,/);
});

test.serial('replayed as an unprivileged user: the same records', (t) => {
  const r = replay(['--replay', file, '--json']);
  t.is(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.is(recs.length, fs.readFileSync(file, 'utf8').trim().split('\n').length - 1);
  const last = recs[recs.length - 1];
  const row = last.listeners.find((l: any) => l.netns === labNetns && l.port === 9000);
  t.is(row.overflows, kernelCount, 'the recorded count, as the kernel had it');
  t.is(row.comm, 'acceptq-lab');
  const once = replay(['--replay', file, '--once', '--port', '9000']);
  t.is(once.status, 0, once.stderr);
  t.regex(once.stdout, new RegExp(`127\\.0\\.0\\.1:9000 .* ${kernelCount} `));
});

test.serial('replayed into the dashboard, unprivileged: pause and speed', async (t) => {
  const tm = Tmux.start(`acceptq-replay-${process.pid}`, `${AS_NOBODY.join(' ')} ${process.execPath} ${CLI} --replay ${file}; echo EXIT=$?; sleep 30`, 120, 40, { LANG: 'C.UTF-8' });
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
    ['newer', text.replace('"format":1', `"format":${FORMAT_VERSION + 1}`), /format version 2 is newer than this acceptq reads \(1\)/],
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

/** A small deterministic PRNG so a failing case can be reproduced. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

test.serial('fuzz: 3,000 mangled recordings never crash the parser', (t) => {
  const text = fs.readFileSync(file, 'utf8');
  const rand = rng(42);
  const junk = ['{', '}', '[', ']', '"', ':', ',', 'null', '1e999', '-1', 'true', '\u001b[2J', '\\u0000', '\n', 'NaN', '"x"'];
  let accepted = 0;
  let refused = 0;
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
      for (const snap of r.snapshots) for (const l of snap.listeners) t.false(/[\u0000-\u001f]/.test(l.comm + l.address), 'strings sanitised');
      accepted++;
    } catch (e) {
      if (!(e instanceof RecordingError)) t.fail(`case ${i}: ${(e as Error).stack}`);
      else t.true(e.line >= 0 && e.message.length > 0);
      refused++;
    }
  }
  t.log(`3,000 cases in ${Date.now() - t0} ms: ${accepted} accepted, ${refused} refused with a line number`);
  t.true(refused > 0);
});

test('fuzz: 5,000 random command lines are parsed or refused with a usage error', (t) => {
  const rand = rng(7);
  const words = ['--json', '--once', '--interval', '--duration', '--port', '--pid', '--netns', '--probe', '--events-per-sec', '--debug', '--record', '--replay', '--no-color', '-h', '-V', '0', '1', '-1', '0.5', '1e9', 'x', '', 'auto', 'fentry', '65536', '--', '--port=80', '-x', '\u001b'];
  let ok = 0;
  let usage = 0;
  for (let i = 0; i < 5000; i++) {
    const argv = Array.from({ length: Math.floor(rand() * 6) }, () => words[Math.floor(rand() * words.length)]);
    try {
      parseOptions(argv);
      ok++;
    } catch (e) {
      if (!(e instanceof UsageError)) t.fail(`${JSON.stringify(argv)}: ${(e as Error).stack}`);
      usage++;
    }
  }
  t.log(`${ok} parsed, ${usage} refused with a usage error`);
  t.true(ok > 0 && usage > 0);
});
