// Bad input to every command: each bad value refused with a message that
// names it, a non-zero exit, and nothing left behind (no file, no command
// run, no BPF link); every subcommand answers --help; a recording with
// numbers out of range or duplicate rows is refused naming its line.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../harness/paths';
import { acqLinkIds, fdinfoIds } from '../harness/links';
import { Collector } from '../src/model/collector';
import type { RawListener, RawNetns } from '../src/model/raw';
import { RecordingWriter } from '../src/record/writer';
import { RAW_STATS, rawListener, rawNetns } from './support/raw';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-input-'));
fs.chmodSync(dir, 0o755);
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * acceptq BPF links made since `before` that no running process holds: left
 * behind. (Links other acceptq runs on the machine hold are theirs.)
 */
function orphanLinks(before: Set<number>): number[] {
  const held = new Set<number>();
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      for (const id of fdinfoIds(Number(pid), 'link_id')) held.add(id);
    } catch {
      // exited
    }
  }
  return acqLinkIds().filter((id) => !before.has(id) && !held.has(id));
}

const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30000 });

test.serial('bad values for the dashboard, --once and --json: refused with their flag named, exit 2, nothing written or loaded', (t) => {
  const before = new Set(acqLinkIds());
  const file = path.join(dir, 'never.ndjson');
  const cases: Array<[string[], RegExp]> = [
    [['--pid', '0'], /^acceptq: --pid wants a whole number from 1 to \d+, not '0'$/m],
    [['--pid=-3'], /^acceptq: --pid wants a whole number/m],
    [['--duration', '0'], /^acceptq: --duration wants a number of seconds > 0 and <= \d+, not '0'$/m],
    [['--duration', 'soon'], /^acceptq: --duration wants a number of seconds/m],
    [['--interval', '0'], /^acceptq: --interval wants a number of seconds > 0/m],
    [['--port', '70000'], /^acceptq: --port wants a whole number from 1 to 65535, not '70000'$/m],
    [['--netns', '0'], /^acceptq: --netns wants a namespace's inode number or cookie/m],
    [['--netns', 'net:[4026531840]'], /^acceptq: --netns wants a namespace's inode number or cookie/m],
    [['--netns', '18446744073709551616'], /^acceptq: --netns wants .* 2\^64 - 1\), not '18446744073709551616'$/m],
    [['--probe', 'ebpf'], /^acceptq: --probe wants one of auto, tracepoint, fentry, kprobe, not 'ebpf'$/m],
    [['--events-per-sec=-1'], /^acceptq: --events-per-sec wants a whole number from 0 to 100000/m],
    [['--max-listeners', '1'], /^acceptq: --max-listeners wants a whole number from 64 to 1048576, not '1'$/m],
    [['--bogus'], /^acceptq: unknown option '--bogus' \(--help lists the options\)$/m],
    [['--port', '-1'], /^acceptq: --port wants a whole number from 1 to 65535, not '-1'$/m],
    [['--pid', '-3'], /^acceptq: --pid wants a whole number from 1 to \d+, not '-3'$/m],
    [['--interval', '-0.5'], /^acceptq: --interval wants a number of seconds > 0 and <= \d+, not '-0\.5'$/m],
    [['--debug', '-1'], /^acceptq: --debug wants a value; one that starts with '-' is written --debug=-1$/m],
    [['--port', '--once'], /^acceptq: --port wants a value before --once$/m],
    [['--port'], /^acceptq: --port wants a value$/m],
    [['--once=yes'], /^acceptq: --once takes no value$/m],
    [['stray'], /^acceptq: unexpected argument 'stray'/m],
    [['--probe', '\u001b[2J\u001b]0;owned\u0007'], /^acceptq: --probe wants one of .*, not '\?\[2J\?\]0;owned\?'$/m],
  ];
  for (const [args, re] of cases) {
    const r = cli(['--json', '--record', file, ...args]);
    const what = JSON.stringify(args);
    t.is(r.status, 2, what);
    t.regex(r.stderr, re, what);
    t.regex(r.stderr, /^[^\n]+\n$/, `${what}: one line, no usage`);
    // eslint-disable-next-line no-control-regex
    t.notRegex(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, `${what}: no control character reaches the terminal`);
    t.is(r.stdout, '', what);
    t.false(fs.existsSync(file), `${what}: no recording left behind`);
  }
  t.deepEqual(orphanLinks(before), [], 'no BPF link left behind');
});

test.serial('bad values for acceptq run: refused before the command runs, exit 2', (t) => {
  const before = new Set(acqLinkIds());
  const ran = path.join(dir, 'ran');
  const cases: Array<[string[], RegExp]> = [
    [['--interval', '0'], /^acceptq: --interval wants a number of seconds > 0 and <= 60, not '0'$/m],
    [['--interval', '61'], /^acceptq: --interval wants a number of seconds > 0 and <= 60, not '61'$/m],
    [['--interval', '1e-9'], /^acceptq: --interval wants a number of seconds/m],
    [['--interval', '-1'], /^acceptq: --interval wants a number of seconds > 0 and <= 60, not '-1'$/m],
    [['--probe', 'ebpf'], /^acceptq: --probe wants one of auto, tracepoint, fentry, kprobe, not 'ebpf'$/m],
    [['--bogus'], /^acceptq: unknown option '--bogus'/m],
    [['stray'], /^acceptq: unexpected argument 'stray'/m],
  ];
  for (const [args, re] of cases) {
    const what = args.join(' ');
    const r = cli(['run', ...args, '--', 'touch', ran]);
    t.is(r.status, 2, what);
    t.regex(r.stderr, re, what);
    t.regex(r.stderr, /^[^\n]+\n$/, `${what}: one line, no usage`);
    t.false(fs.existsSync(ran), `${what}: the command was not run`);
  }
  for (const args of [['run'], ['run', '--json'], ['run', '--json', '--']]) {
    const r = cli(args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, /^acceptq: acceptq run needs a command after --$/m, args.join(' '));
  }
  t.deepEqual(orphanLinks(before), [], 'no BPF link left behind');
});

test.serial('bad values for acceptq export: refused before anything is loaded or bound, exit 2', (t) => {
  const before = new Set(acqLinkIds());
  const cases: Array<[string[], RegExp]> = [
    [['--listen', 'nowhere'], /^acceptq: --listen wants ADDR:PORT, e\.g\. 127\.0\.0\.1:9877, not 'nowhere'$/m],
    [['--listen', '127.0.0.1:0'], /^acceptq: --listen wants ADDR:PORT.*not '127\.0\.0\.1:0'$/m],
    [['--listen', '127.0.0.1:70000'], /^acceptq: --listen wants ADDR:PORT.*not '127\.0\.0\.1:70000'$/m],
    [['--listen', ':9877'], /^acceptq: --listen wants ADDR:PORT/m],
    [['--port', '-1'], /^acceptq: --port wants a whole number from 1 to 65535, not '-1'$/m],
    [['--probe', 'ebpf'], /^acceptq: --probe wants one of auto, tracepoint, fentry, kprobe, not 'ebpf'$/m],
    [['--bogus'], /^acceptq: unknown option '--bogus'/m],
    [['stray'], /^acceptq: unexpected argument 'stray'/m],
  ];
  for (const [args, re] of cases) {
    const what = args.join(' ');
    const r = cli(['export', ...args]);
    t.is(r.status, 2, what);
    t.regex(r.stderr, re, what);
    t.regex(r.stderr, /^[^\n]+\n$/, `${what}: one line, no usage`);
    t.notRegex(r.stderr, /serving/, what);
  }
  t.deepEqual(orphanLinks(before), [], 'no BPF link left behind');
});

test('bad values for acceptq fleet and run --fleet: refused naming the flag, exit 2 (an unreadable credential: exit 1), nothing run', (t) => {
  const ran = path.join(dir, 'fleet-ran');
  const cases: Array<[string[], RegExp]> = [
    [[], /^acceptq: acceptq fleet wants one of --prometheus URL or --targets HOST:PORT,\.\.\.$/m],
    [['--prometheus', 'http://p:9090', '--targets', 'a:1'], /^acceptq: acceptq fleet wants one of/m],
    [['--prometheus', 'p:9090'], /^acceptq: --prometheus wants an http or https URL, not 'p:9090'$/m],
    [['--prometheus', 'not a url'], /^acceptq: --prometheus wants a URL/m],
    [['--targets', 'a:1', '--selector', 'job="x"'], /^acceptq: --selector goes with --prometheus$/m],
    [['--prometheus', 'http://p:9090', '--selector', '{job="x"}'], /^acceptq: --selector wants label matchers without braces/m],
    [['--targets', 'nohost'], /^acceptq: --targets wants HOST:PORT or http\(s\):\/\/HOST:PORT, not 'nohost'$/m],
    [['--targets', 'a:1,a:1'], /^acceptq: --targets names a target twice$/m],
    [['--targets', 'ftp://a:1'], /^acceptq: --targets wants HOST:PORT/m],
    [['--targets', 'a:1', '--cert-file', 'x'], /^acceptq: --cert-file and --key-file go together$/m],
    [['--targets', 'a:1', '--basic-auth-password-file', 'x'], /^acceptq: --basic-auth-password-file goes with --basic-auth-user$/m],
    [['--targets', 'a:1', '--basic-auth-user', 'u', '--bearer-token-file', 'x'], /cannot be used together$/m],
    [['--targets', 'a:1', '--timeout', '0'], /^acceptq: --timeout wants a number of seconds > 0 and <= 300, not '0'$/m],
    [['--targets', 'a:1', '--interval', 'x'], /^acceptq: --interval wants a number/m],
    [['--targets', 'a:1', '--once', '--json'], /^acceptq: --once and --json cannot be used together$/m],
    [['--targets', 'a:1', '--probe', 'fentry'], /^acceptq: unknown option '--probe'/m],
  ];
  for (const [args, re] of cases) {
    const what = args.join(' ') || '(nothing)';
    const r = cli(['fleet', ...args]);
    t.is(r.status, 2, what);
    t.regex(r.stderr, re, what);
    // the usage only for the bare command, which says nothing else
    if (args.length) t.regex(r.stderr, /^[^\n]+\n$/, `${what}: one line, no usage`);
    else t.regex(r.stderr, /^usage: acceptq fleet/m, `${what}: with fleet's usage`);
  }
  const runCases: Array<[string[], RegExp]> = [
    [['--targets', 'a:1'], /^acceptq: --prometheus, --targets and their options go with --fleet$/m],
    [['--fleet'], /^acceptq: acceptq fleet wants one of/m],
    [['--fleet', '--targets', 'a:1', '--probe', 'kprobe'], /^acceptq: --probe and --keep-root are for this host, not --fleet$/m],
  ];
  for (const [args, re] of runCases) {
    const r = cli(['run', ...args, '--', 'touch', ran]);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, re, args.join(' '));
  }
  t.false(fs.existsSync(ran), 'the command was not run');
  const missing = cli(['fleet', '--targets', '127.0.0.1:9', '--ca-file', path.join(dir, 'no-ca.pem'), '--once']);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /^acceptq fleet: cannot read the CA file .*no-ca\.pem: ENOENT$/m);
});

test('every command and subcommand takes --help: its usage on stdout, exit 0, nothing run', (t) => {
  const ran = path.join(dir, 'help-ran');
  const cases: Array<[string[], RegExp]> = [
    [['--help'], /^usage: acceptq \[options\]/],
    [['-h'], /^usage: acceptq \[options\]/],
    [['run', '--help'], /^usage: acceptq run /],
    [['run', '-h', '--', 'touch', ran], /^usage: acceptq run /],
    [['run', '--json', '--help', '--', 'touch', ran], /^usage: acceptq run /],
    [['export', '--help'], /^usage: acceptq export /],
    [['export', '-h'], /^usage: acceptq export /],
    [['export', '--listen', '127.0.0.1:9', '--help'], /^usage: acceptq export /],
    [['fleet', '--help'], /^usage: acceptq fleet /],
    [['fleet', '--targets', 'bad', '-h'], /^usage: acceptq fleet /],
    [['run', '--fleet', '--help', '--', 'touch', ran], /^usage: acceptq run /],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    const what = args.join(' ');
    t.is(r.status, 0, `${what}: ${r.stderr}`);
    t.regex(r.stdout, re, what);
    t.is(r.stderr, '', what);
  }
  t.false(fs.existsSync(ran), 'a --help before -- is acceptq\'s: the command is not run');
});

// ---- recordings with numbers out of range ----

const raw = (port: number): RawListener => rawListener({ port, comm: 'srv', overflowsSyn: 3, overflowsAck: 1 });
const rawNs: RawNetns = rawNetns({ listenOverflows: 4, listenDrops: 4, attributed: 4 });

/** A valid three-line recording (header, two snapshots of listeners :80 and :443), as parsed lines. */
function recording(): any[] {
  const stats = RAW_STATS;
  let now = 1_700_000_000_000;
  const c = new Collector({ probe: 'tracepoint', snapshot: () => ({ listeners: [raw(80), raw(443)], namespaces: [rawNs], stats }), drain: () => [] }, 1, () => (now += 1000));
  const f = path.join(dir, 'valid.ndjson');
  const w = new RecordingWriter(f, c.meta);
  w.write(c.tick());
  w.write(c.tick());
  w.close();
  return fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('a replayed recording with a number out of range or duplicate rows: refused naming the line and field, exit 1, nothing shown', (t) => {
  const valid = path.join(dir, 'valid.ndjson');
  recording();
  const ok = cli(['--replay', valid, '--json']);
  t.is(ok.status, 0, ok.stderr);
  t.is(ok.stdout.trim().split('\n').length, 1, 'the unchanged recording replays: a record for its second snapshot (the first is the baseline)');

  const cases: Array<[string, (lines: any[]) => void, RegExp]> = [
    ['port 70000', (l) => (l[2].listeners[1].port = 70000), /line 3: port is 70000, not a whole number from 0 to 65535$/],
    ['a negative count', (l) => (l[1].listeners[0].synDrops = -5), /line 2: synDrops is -5, not a whole number from 0 to/],
    ['a negative overflow count', (l) => {
      l[1].listeners[0].overflowsSyn = -1;
      l[1].listeners[0].overflows = 0;
    }, /line 2: overflowsSyn is -1, not a whole number from 0 to/],
    ['a count that is not whole', (l) => (l[2].namespaces[0].listenOverflows = 4.5), /line 3: listenOverflows is 4\.5, not a whole number/],
    ['a negative rate', (l) => (l[2].listeners[0].overflowRate = -2), /line 3: overflowRate is -2, not a number from 0 to/],
    ['an event port out of range', (l) => (l[2].events = [{ timeMs: 1, listenerId: l[2].listeners[0].id, netns: 4026531840, netnsCookie: 1, address: '127.0.0.1', port: 80, remoteAddress: '127.0.0.1', remotePort: 65536, path: 'syn', backlog: 0, maxBacklog: 128, synBacklog: 0 }]), /line 3: remotePort is 65536, not a whole number from 0 to 65535$/],
    ['pid past the kernel\'s limit', (l) => (l[1].listeners[0].pid = 2 ** 31), /line 2: pid is 2147483648, not a whole number from 0 to 4194304$/],
    ['intervalS 0', (l) => (l[0].acceptqRecording.intervalS = 0), /line 1: intervalS is 0, not a number of seconds > 0 and <= 3600$/],
    ['intervalS negative', (l) => (l[0].acceptqRecording.intervalS = -1), /line 1: intervalS is -1, not a number from 0 to 3600$/],
    ['two listeners with one id', (l) => l[2].listeners.push({ ...l[2].listeners[0] }), /line 3: two listeners with the same id 1\|4\|127\.0\.0\.1\|80$/],
    ['two namespaces with one id', (l) => l[1].namespaces.push({ ...l[1].namespaces[0] }), /line 2: two namespaces with the same id 1$/],
    ['overflows that do not add up', (l) => (l[1].listeners[1].overflows = 9), /line 2: listener 1\|4\|127\.0\.0\.1\|443: overflows 9 is not overflowsSyn \+ overflowsAck$/],
  ];
  for (const [name, change, re] of cases) {
    const lines = recording();
    change(lines);
    const f = path.join(dir, `${name.replace(/\W+/g, '-')}.ndjson`);
    fs.writeFileSync(f, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    for (const mode of ['--json', '--once']) {
      const r = cli(['--replay', f, mode]);
      t.is(r.status, 1, `${name} ${mode}`);
      t.is(r.stdout, '', `${name} ${mode}: nothing replayed`);
      t.is(r.stderr.trim().split('\n').length, 1, `${name} ${mode}: one line`);
      t.regex(r.stderr.trim(), new RegExp(`^acceptq: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${re.source}`), `${name} ${mode}`);
    }
  }
});

test.serial('--replay of a missing file or of a --json capture: the file named and what is wrong with it, whatever stdout is, exit 1', (t) => {
  const missing = path.join(dir, 'no-such-recording.ndjson');
  // stdout is a pipe here: the dashboard could not run, but the file is the first fault
  for (const mode of [[], ['--json'], ['--once']]) {
    const r = cli(['--replay', missing, ...mode]);
    t.is(r.status, 1, `${mode}: ${r.stderr}`);
    t.regex(r.stderr, /^acceptq: .*no-such-recording\.ndjson: cannot read .*ENOENT\n$/, String(mode));
  }
  // what --json writes is not a recording: said so, with how to make one
  const capture = path.join(dir, 'capture.ndjson');
  const live = cli(['--json', '--interval', '0.2', '--duration', '0.2']);
  t.is(live.status, 0, live.stderr);
  fs.writeFileSync(capture, live.stdout);
  for (const mode of [[], ['--json'], ['--once']]) {
    const r = cli(['--replay', capture, ...mode]);
    t.is(r.status, 1, String(mode));
    t.is(r.stderr, `acceptq: ${capture}: a --json capture, not a recording (record one with --record FILE)\n`, String(mode));
  }
});
