// The dashboard over a real ssh session, in the terminal types people have:
// Debian's sshd on a loopback port, the ssh client in a tmux pane (a real
// terminal, whose TERM and LANG the client passes on), acceptq run by the
// remote shell. Each run watches only the sshd's own port (--port), so the
// table shows that listener and its owner.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installTerminfoReader, legacyTerminfo, terminalProblem } from '../ui/terminal';
import { acqLinkIds, awaitAttached, awaitGone, linksOf } from '../harness/links';
import { CLI } from '../harness/paths';
import { renderedPane, shq, Sshd } from './support/ssh';
import { Tmux } from '../harness/tmux';

let sshd: Sshd;
test.before(async () => {
  sshd = await Sshd.start();
});
test.after.always(async () => {
  await sshd?.stop();
});

let sessions = 0;
/**
 * The ssh client in a new tmux pane (120x40), running `remote` on the server;
 * the pane stays after the client ends, for its last screen to be read. The
 * pane's output is copied to a file as it comes (tmux pipe-pane): the client
 * waits for a key until the copy is on.
 */
async function sshPane(t: ExecutionContext, term: string, lang: string, remote: string): Promise<{ tm: Tmux; bytes: () => Buffer }> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-ssh-pane-')), 'pane');
  t.teardown(() => fs.rmSync(path.dirname(out), { recursive: true, force: true }));
  // the tmux server's own environment is not the test's: the locale and TERM are set here
  const local = `read go; env -u LC_ALL -u LC_CTYPE -u LC_MESSAGES TERM=${shq(term)} LANG=${shq(lang)} ${sshd.client(remote)}; sleep 600`;
  const tm = Tmux.start(`acceptq-ssh-${process.pid}-${++sessions}`, local, 120, 40);
  t.teardown(() => tm.kill());
  fs.writeFileSync(out, '');
  execFileSync('tmux', ['pipe-pane', '-o', '-t', tm.name, `cat >> ${shq(out)}`]);
  tm.keys('Enter');
  return { tm, bytes: () => fs.readFileSync(out) };
}

const remoteDashboard = () => `${shq(process.execPath)} ${shq(CLI)} --port ${sshd.port}; echo EXIT=$?`;
const nonEmpty = (screen: string) => screen.split('\n').map((l) => l.trimEnd()).filter(Boolean);
/** The table's column-header line. */
const tableHead = (screen: string) => screen.split('\n').find((l) => /\bLISTEN\b.*\bQUEUE\b/.test(l)) ?? '';

/** The acceptq processes under sshd (node running the CLI; not the shell that started it). */
const acceptqs = () => sshd.descendants().filter((d) => d.argv[0] === process.execPath && d.argv[1] === CLI);

/** The acceptq the sshd's session runs (bounded wait for it to start). */
async function remoteAcceptq(): Promise<number> {
  const deadline = Date.now() + 20000;
  for (;;) {
    const p = acceptqs()[0];
    if (p) return p.pid;
    if (Date.now() > deadline) throw new Error(`no acceptq under sshd; sshd log:\n${sshd.logText}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('terminfo: every terminal type the tests use is read from its own entry, without a word on stderr', (t) => {
  installTerminfoReader();
  const Tput = require('blessed/lib/tput'); // blessed's terminfo reader, as the dashboard's screen uses it
  for (const term of ['xterm-256color', 'screen-256color', 'tmux-256color', 'linux', 'vt100']) {
    const error = console.error;
    let said = '';
    console.error = (...a: unknown[]) => (said += a.join(' '));
    let tput;
    try {
      tput = new Tput({ terminal: term });
    } finally {
      console.error = error;
    }
    t.is(tput.error, null, `${term}: no read error`);
    t.is(said, '', `${term}: nothing printed`);
    t.true(tput.info.names.includes(term) || tput.info.name === term, `${term}: its own entry, not a fallback (${tput.info.name})`);
    t.truthy(tput.strings.cursor_address, `${term}: cursor addressing`);
    t.truthy(tput.strings.acs_chars, `${term}: line drawing`);
  }
  // the 256-colour entries keep their colours (blessed's fallback had 8)
  t.is(new Tput({ terminal: 'screen-256color' }).numbers.max_colors, 256);
  // linux and tmux say that they draw lines in UTF-8 (U8#1, an extended capability)
  t.is(new Tput({ terminal: 'tmux-256color' }).numbers.U8, 1);
  t.is(new Tput({ terminal: 'linux' }).numbers.U8, 1);
  t.is(terminalProblem('xterm-256color'), null);
  t.regex(terminalProblem('dumb')!, /^acceptq: TERM=dumb cannot draw the dashboard .*--once or --json$/);
  t.regex(terminalProblem('nosuchterm')!, /^acceptq: no terminfo entry for TERM=nosuchterm: .*--once or --json$/);
  // ncurses' 32-bit entry into blessed's 16-bit form: a legacy entry with an even string table stays as it is
  const file = (term: string) => fs.readFileSync(new Tput({ terminal: term }).info.file);
  t.is(file('screen-256color').readUInt16LE(0), 0o1036, 'screen-256color is in the extended-number format here');
  t.is(legacyTerminfo(file('screen-256color')).readUInt16LE(0), 0o432);
  const vt100 = file('vt100');
  if (vt100.readUInt16LE(0) === 0o432 && vt100.readUInt16LE(10) % 2 === 0) t.deepEqual(legacyTerminfo(vt100), vt100);
});

// [TERM, LANG]: a UTF-8 locale draws lines in Unicode; a C locale with the terminal's
// alternate character set where it has one (xterm, vt100)
const CASES: Array<[string, string]> = [
  ['xterm-256color', 'C.UTF-8'],
  ['screen-256color', 'C.UTF-8'],
  ['tmux-256color', 'C.UTF-8'],
  ['linux', 'C.UTF-8'],
  ['vt100', 'C.UTF-8'],
  ['vt100', 'C'],
  ['screen-256color', 'C'],
];

for (const [term, lang] of CASES) {
  test.serial(`over ssh, TERM=${term} LANG=${lang}: draws, lines, keys, q exits 0, nothing left on the terminal`, async (t) => {
    t.timeout(60000);
    const { tm, bytes } = await sshPane(t, term, lang, remoteDashboard());
    const row = `127.0.0.1:${sshd.port}`;
    let screen = await tm.waitFor((s) => /^acceptq /.test(s) && /probe \w+/.test(s) && !!tableHead(s) && s.includes(row), 30000);
    const pid = await remoteAcceptq();
    const links = await awaitAttached(pid);

    // the header, the table with sshd's listener and its owner, the footer; no stray text
    t.regex(screen, /^acceptq .* probe \w+ +every 1s/);
    const lines = screen.split('\n');
    const head = lines.findIndex((l) => l === tableHead(screen));
    t.regex(lines.slice(head + 1).find((l) => l.includes(row)) ?? '', new RegExp(`${row} +\\S+ +\\d+/\\d+ `), 'the table row of the sshd the session came through');
    t.regex(screen, /q quit/);
    for (const bad of ['Error on', '\x1b', '[?', 'undefined', 'NaN']) t.false(screen.includes(bad), `no "${JSON.stringify(bad)}" on the screen`);

    // line drawing: the panels' borders as the terminal shows them, not the letters behind them
    const shown = renderedPane(tm.name);
    t.regex(shown.text, /┌─ accept queues [^\n]*─┐┌─ overflows\/s [^\n]*─┐/);
    t.regex(shown.text, /┌─ listeners [^\n]*─┐/);
    t.regex(shown.text, /└─+┘/);
    // the listener table's panel: every line between its corners framed on both sides
    const rendered = shown.text.split('\n').map((l) => l.trimEnd());
    const top = rendered.findIndex((l) => l.startsWith('┌─ listeners'));
    const bottom = rendered.findIndex((l, i) => i > top && l.startsWith('└'));
    t.true(top >= 0 && bottom > top + 2, 'the table panel');
    t.deepEqual(rendered.slice(top + 1, bottom).filter((l) => !/^│.*│$/.test(l)), [], 'framed by │ on both sides');
    t.regex(rendered[bottom], /^└─+┘$/);
    t.notRegex(shown.text, /[lmqkjxtuvw]qqq|qqq[kjxtuvw]/, 'no line-drawing letters as text');
    t.log(`${term} ${lang}: lines drawn with ${shown.acs ? "the terminal's alternate character set" : 'Unicode'}`);
    // (a locale that is not UTF-8: the terminal's own line drawing, never UTF-8 bytes)
    if (lang === 'C') t.true(shown.acs, 'drawn with the terminal\'s alternate character set');

    // keys: s sorts by the next column (its mark after its title); ? opens the help, ? closes it
    t.regex(tableHead(screen), /OVF\/S v/);
    tm.keys('s');
    screen = await tm.waitFor((s) => /OVERFLOWS v/.test(tableHead(s)));
    tm.keys('?');
    screen = await tm.waitFor((s) => s.includes('acceptq dashboard: its keys'));
    tm.keys('?');
    screen = await tm.waitFor((s) => !s.includes('acceptq dashboard: its keys') && s.includes(row));

    // q: exit 0, every link gone, and the terminal as it was: only the shell's line on it
    tm.keys('q');
    screen = await tm.waitFor((s) => /EXIT=\d+/.test(s));
    t.deepEqual(nonEmpty(screen), ['EXIT=0']);
    t.deepEqual((await awaitGone({ links })).links, [], 'its BPF links are gone');
    t.false(bytes().includes('Error on'), 'nothing of blessed\'s terminfo errors was ever written');
  });
}

for (const term of ['dumb', 'nosuchterm']) {
  test.serial(`over ssh, TERM=${term}: one line saying to use --once or --json, exit 2, the terminal untouched`, async (t) => {
    t.timeout(30000);
    const { tm, bytes } = await sshPane(t, term, 'C.UTF-8', remoteDashboard());
    const screen = await tm.waitFor((s) => /EXIT=\d+/.test(s));
    const lines = nonEmpty(screen);
    t.is(lines.length, 2, screen);
    t.regex(lines[0], term === 'dumb'
      ? /^acceptq: TERM=dumb cannot draw the dashboard \(no cursor movement\): use --once or --json$/
      : /^acceptq: no terminfo entry for TERM=nosuchterm: set TERM to your terminal's type, or use --once or --json$/);
    t.is(lines[1], 'EXIT=2');
    t.false(bytes().includes(0x1b), 'not one escape sequence was written to the terminal');
  });
}

test.serial('over ssh: the ssh client killed mid-run: acceptq exits and its BPF links go', async (t) => {
  t.timeout(60000);
  const before = new Set(acqLinkIds());
  const { tm } = await sshPane(t, 'xterm-256color', 'C.UTF-8', remoteDashboard());
  await tm.waitFor((s) => s.includes(`127.0.0.1:${sshd.port}`) && !!tableHead(s), 30000);
  const pid = await remoteAcceptq();
  const links = await awaitAttached(pid);
  t.deepEqual(linksOf(pid).sort(), [...links].sort());

  const client = tm.programPid();
  t.is(fs.readFileSync(`/proc/${client}/comm`, 'utf8').trim(), 'ssh', 'the pane runs the ssh client');
  process.kill(client, 'SIGKILL');

  // within a few seconds: no acceptq under sshd, none of its links, no acceptq link the test did not find there
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline && (fs.existsSync(`/proc/${pid}`) || acceptqs().length)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  t.false(fs.existsSync(`/proc/${pid}`), 'acceptq exited');
  t.deepEqual(acceptqs(), [], 'no acceptq left under sshd');
  t.deepEqual((await awaitGone({ links })).links, [], 'its BPF links are gone');
  t.deepEqual(acqLinkIds().filter((id) => !before.has(id)), [], 'no acceptq BPF link remains');
});
