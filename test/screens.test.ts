// What a person reads on the dashboard, at every size from 60x20 to 200x50:
// a recording replayed in a real terminal (tmux), each panel read off the
// screen. Every address shown is one the recording has, whole (its port never
// cut); every cut is marked with the cut mark; '~' only before an estimated
// figure; the footer always has quit and help; the same queue shows the same
// limit in every panel; two listeners on one address in two namespaces can be
// told apart; the help and the detail view scroll to their last line, and
// what they scroll through is all there.
//
// The recording (test/fixtures/two-namespaces.ndjson) is a real one, cut
// down: `acceptq --json --record` while the lab ran syn (twice, in two
// namespaces: 127.0.0.1:9000 in both), delay 200, twoaddr, v6 and many, each
// in a namespace of its own; eight snapshots from the one before the first
// drops, the rows of other namespaces and most of "many" left out.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { endpoint } from '../src/model/address';
import type { DetailEvent, ListenerRow } from '../src/model/types';
import { CLI, ROOT } from '../harness/paths';
import { Tmux } from '../harness/tmux';
import { box } from './support/screen';
import { footerKeys } from '../ui/panels/footer';
import { helpLines } from '../ui/panels/help';
import { cut, cutWords, fitEndpoint, fitSuffix, wrapText } from '../ui/viewmodel';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'two-namespaces.ndjson');
const SIZES: Array<[number, number]> = [[60, 20], [80, 24], [100, 30], [120, 40], [200, 50]];

interface Recording {
  last: ListenerRow[];
  events: DetailEvent[];
}

function readRecording(): Recording {
  const snaps = fs.readFileSync(FIXTURE, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l));
  return { last: snaps[snaps.length - 1].listeners, events: snaps.flatMap((s) => s.events) };
}

const rec = readRecording();
/** Every endpoint the recording has: its listeners' and their clients'. */
const KNOWN = new Set([
  ...rec.last.map((r) => endpoint(r.family, r.address, r.port)),
  ...rec.events.map((e) => endpoint(e.remoteAddress.includes(':') ? 6 : 4, e.remoteAddress, e.remotePort)),
]);
const PORTS = new Set([...KNOWN].map((e) => e.slice(e.lastIndexOf(':') + 1)));
const HINTS = new Set(footerKeys(1000, false, true).trim().split(/ {2}/));

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

/**
 * What is wrong with a text as to addresses, cut marks and '~' (an empty
 * list: nothing). ascii: the locale is not UTF-8: the cut mark is '...'.
 */
function problems(text: string, where: string, ascii = false): string[] {
  const out: string[] = [];
  const mark = ascii ? '...' : '…';
  for (const m of text.matchAll(/(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d+/g)) {
    // a whole address is a known one; a shortened host part is marked, and its port is whole
    if (!KNOWN.has(m[0]) && !text.slice(0, m.index).endsWith(mark)) out.push(`${where}: "${m[0]}" is no address of the recording (cut?)`);
  }
  for (const m of text.matchAll(ascii ? /\.\.\.\]?:(\d+)/g : /…\]?:(\d+)/g)) if (!PORTS.has(m[1])) out.push(`${where}: a shortened address with port ${m[1]}, not a port of the recording`);
  if (ascii ? /:\d+\.\.\./.test(text) : /:\d+…/.test(text)) out.push(`${where}: a port cut`);
  if (ascii && text.includes('…')) out.push(`${where}: '…' in a locale that is not UTF-8`);
  for (const l of text.split('\n')) {
    // '~' marks an estimate: before a figure, and in the help's note of what it means
    if (/~(?!\d)/.test(l.replace('~ marks an estimate', ''))) out.push(`${where}: a '~' not before a figure: "${l.trim()}"`);
  }
  return out;
}

/** Pages of a scrollable overlay read with PgDn to its end: its lines put together by the position mark. */
async function readOverlay(tm: Tmux, label: RegExp): Promise<{ lines: string[]; titles: string[]; screens: string[] }> {
  const lines: string[] = [];
  const titles: string[] = [];
  const screens: string[] = [];
  for (let page = 0; page < 40; page++) {
    const screen = tm.capture();
    const b = box(screen, label);
    if (!b) throw new Error(`no ${label} on screen:\n${screen}`);
    screens.push(screen);
    titles.push(b.title);
    const m = /lines (\d+)-(\d+) of (\d+)/.exec(b.title);
    const from = m ? Number(m[1]) - 1 : 0;
    // a sparkline hidden while part of it is out of view leaves blank lines: what was seen of it stays
    b.lines.forEach((l, i) => { if (!lines[from + i]?.trim()) lines[from + i] = l; });
    if (!m) while (lines.length && !lines[lines.length - 1].trim()) lines.pop(); // all of it fits: the box's empty rest is no line of it
    if (!m || m[2] === m[3]) return { lines, titles, screens };
    tm.keys('PageDown');
    await settle();
  }
  throw new Error(`${label}: never reached its last line`);
}

for (const [W, H] of SIZES) {
  test(`${W}x${H}: addresses whole, cuts marked, ~ only for estimates, quit and help in the footer, one limit, two namespaces told apart, help and detail scroll`, async (t) => {
    t.timeout(90000);
    const tm = Tmux.start(`acceptq-screens-${W}x${H}-${process.pid}`, `${process.execPath} ${CLI} --replay ${FIXTURE}; sleep 60`, W, H,
      { LANG: 'C.UTF-8', TERM: 'xterm-256color' });
    t.teardown(() => tm.kill());
    await tm.waitFor((s) => /listeners \d+\/\d+/.test(s));
    // the recording plays in 4 s and its last snapshot stays on screen
    await settle(5000);
    const screen = tm.capture();
    const all: string[] = problems(screen, 'main');
    const lines = screen.split('\n');

    // the footer: quit and help at every width, every hint whole
    const footer = lines.filter((l) => l.trim()).pop()!;
    t.regex(footer, /^ q quit {2}.*\? help\s*$/, `footer: ${footer}`);
    for (const h of footer.trim().split(/ {2}/)) t.true(HINTS.has(h), `a footer hint cut: "${h}"`);

    // the header's notice: cut at a whole word with the mark, if at all
    const notice = lines.find((l) => l.startsWith('! new: '));
    t.truthy(notice, 'a listener dropped: the notice shows');
    t.regex(notice!.trimEnd(), /(\d\d:\d\d:\d\d|more\)|detail|…)$/, `notice: ${notice}`);

    // the table: whole titles, the sort mark a space from its title; two rows of 127.0.0.1:9000 told apart
    const table = box(screen, /listeners \d+\/\d+/)!;
    const head = table.lines[0];
    t.regex(head, /OVF\/S v/, 'the sort mark apart from its title');
    for (const title of head.trim().split(/\s+/)) t.regex(title, /^([A-Z0-9/]+|v|\^)$/, `a column title cut: ${title}`);
    const nine = table.lines.filter((l) => l.includes('127.0.0.1:9000'));
    t.is(nine.length, 2);
    const ident = (l: string) => l.slice(0, l.search(/\d+\/\d+/));
    t.not(ident(nine[0]).slice(2), ident(nine[1]).slice(2), `the two 127.0.0.1:9000 rows look alike:\n${nine.join('\n')}`);
    // one unit a column of waits
    const at = head.indexOf('OLDEST');
    if (at >= 0) {
      const cells = table.lines.slice(1).map((l) => l.slice(at - 2, at + 8).trim()).filter((c) => c !== '-' && c);
      t.true(cells.every((c) => c.endsWith('s') && !c.endsWith('ms')) || cells.every((c) => c.endsWith('ms')), `OLDEST mixes units: ${cells}`);
    }

    // the queue's limit: the listen() backlog, the same in the table and the gauges
    const limits = new Map(rec.last.map((r) => [`${endpoint(r.family, r.address, r.port)}|${r.netns}`, `${r.backlog}/${r.maxBacklog}`]));
    const byEndpoint = (l: string) => rec.last.filter((r) => l.includes(`${endpoint(r.family, r.address, r.port)} `) || l.includes(`${endpoint(r.family, r.address, r.port)}…`));
    for (const l of table.lines.slice(1)) {
      const rows = byEndpoint(l);
      if (rows.length === 1) t.true(` ${l} `.includes(` ${limits.get(`${endpoint(rows[0].family, rows[0].address, rows[0].port)}|${rows[0].netns}`)} `), `table: ${l}`);
    }
    const gauges = box(screen, /accept queues/);
    if (W >= 80 && H >= 24) {
      t.truthy(gauges, 'the full layout has the gauges');
      for (const l of gauges!.lines.filter((x) => x.includes('['))) {
        const rows = byEndpoint(l);
        if (rows.length === 1) t.true(`${l} `.includes(`] ${limits.get(`${endpoint(rows[0].family, rows[0].address, rows[0].port)}|${rows[0].netns}`)} `), `gauges: ${l}`);
      }
      const g9 = gauges!.lines.filter((l) => l.includes('127.0.0.1:9000'));
      t.is(g9.length, 2);
      t.not(g9[0].slice(0, g9[0].indexOf('[')), g9[1].slice(0, g9[1].indexOf('[')), `the gauges' two 127.0.0.1:9000 look alike:\n${g9.join('\n')}`);
    }

    // the detail view of the selected listener: every event there, scrolled to; nothing cut unmarked
    tm.keys('Enter');
    await tm.waitFor((s) => /listener detail/.test(s));
    const detail = await readOverlay(tm, /listener detail/);
    const body = detail.lines.map((l) => l.trim()).join(' ');
    all.push(...detail.screens.flatMap((s, i) => problems(s, `detail page ${i + 1}`)));
    const m = /(\S+:\d+) {2}netns (\d+)/.exec(detail.lines[0]);
    t.truthy(m, `the detail's title: ${detail.lines[0]}`);
    const r = rec.last.find((x) => endpoint(x.family, x.address, x.port) === m![1] && String(x.netns) === m![2])!;
    const events = rec.events.filter((e) => e.listenerId === r.id).length;
    t.is(detail.lines.filter((l) => /^ {2}\d\d:\d\d:\d\d\.\d{3} +\w+ +from /.test(l)).length, Math.min(50, events), 'every event kept is there');
    t.regex(body, new RegExp(`queue ${r.backlog}/${r.maxBacklog} `), 'the detail: the same queue and limit');
    t.notRegex(body, /admits|acceptRate|arrivalRate|maxBacklog|oldestWaitMs/, 'in the words of the screen');
    t.regex(body, /since acceptq started/);
    // the namespace's SYN-side counters say what they count from, beside each
    for (const m of body.matchAll(/(TCPReqQFullDrop|SyncookiesSent) \d+ ?(.{0,21})/g)) t.is(m[2], 'since acceptq started', `${m[1]}: ${m[0]}`);
    // every figure whole, however small the terminal (the view scrolls): nothing in it cut
    t.regex(body, /tcp_abort_on_overflow \d/, 'the limit line, whole');
    t.false(detail.lines.some((l) => l.includes('…')), `a detail line cut:\n${detail.lines.filter((l) => l.includes('…')).join('\n')}`);
    if (detail.titles.length > 1) {
      t.regex(detail.titles[0], /lines 1-\d+ of \d+/, 'a position mark');
      tm.keys('Home');
      await settle();
      tm.keys('j');
      await settle();
      t.regex(box(tm.capture(), /listener detail/)!.title, /lines 2-/, 'j scrolls a line');
    }
    tm.keys('Escape');
    await tm.waitFor((s) => !/listener detail/.test(s));

    // the help: wrapped to its width, all of it there, page by page
    tm.keys('?');
    await tm.waitFor((s) => /help/.test(box(s, /help/)?.title ?? ''));
    const help = await readOverlay(tm, /─ help/);
    all.push(...help.screens.flatMap((s, i) => problems(s, `help page ${i + 1}`)));
    t.deepEqual(help.lines.map((l) => l.trimEnd()), helpLines(W - 2), 'the help, whole');
    if (help.titles.length > 1) t.regex(help.titles[0], /lines 1-\d+ of \d+/);
    tm.keys('x');
    await settle();
    t.truthy(box(tm.capture(), /─ help/), 'a key that is not a closing key leaves the help open');
    tm.keys('Escape');
    await tm.waitFor((s) => !box(s, /─ help/));

    t.deepEqual(all, []);
  });
}

test('a locale that is not UTF-8 (80x24): the cut mark is ..., addresses whole, the footer keeps quit and help', async (t) => {
  t.timeout(60000);
  const tm = Tmux.start(`acceptq-screens-ascii-${process.pid}`, `${process.execPath} ${CLI} --replay ${FIXTURE}; sleep 60`, 80, 24,
    { LANG: 'C', LC_ALL: 'C', NO_COLOR: '1', TERM: 'xterm-256color' });
  t.teardown(() => tm.kill());
  await tm.waitFor((s) => /listeners \d+\/\d+/.test(s));
  await settle(5000);
  const screen = tm.capture();
  t.deepEqual(problems(screen, 'main', true), []);
  t.regex(screen, /\.\.\./, 'something is cut at 80 columns (the namespace of 127.0.0.1:9000), with ...');
  t.regex(screen.split('\n').filter((l) => l.trim()).pop()!, /^ q quit {2}.*\? help\s*$/);
  tm.keys('Enter');
  await tm.waitFor((s) => /listener detail/.test(s));
  const detail = await readOverlay(tm, /listener detail/);
  t.deepEqual(detail.screens.flatMap((s, i) => problems(s, `detail page ${i + 1}`, true)), []);
});

test('the cut helpers: the mark where cut, whole words, an address\'s port never cut, the namespace\'s last digits', (t) => {
  t.is(cut('abcdef', 6), 'abcdef');
  t.is(cut('abcdefgh', 6), 'abcde…');
  t.is(cut('abcdefgh', 6, true), 'abc...');
  t.is(cutWords('dropped 51 since 01:33:02, last 01:33:04', 30), 'dropped 51 since 01:33:02,…');
  t.is(fitEndpoint('127.0.0.1:8080', 14), '127.0.0.1:8080');
  t.is(fitEndpoint('127.0.0.1:8080', 12), '127.0.…:8080', 'the host part goes, never the port');
  t.is(fitEndpoint('[2001:db8::1234:5678]:443', 16), '[2001:db8:…]:443');
  t.is(fitEndpoint('127.0.0.1:8080', 4), '8080');
  t.is(fitEndpoint('127.0.0.1:9000', 26, false, ' netns 4026532239'), '127.0.0.1:9000 netns …2239');
  t.is(fitSuffix(' netns 4026532239', 6), ' …2239');
  t.is(fitSuffix(' netns 4026532239', 4), '');
  t.deepEqual(wrapText('a b c d e f g h', 5, '  ', 2), ['a b c', '  d…']);
});
