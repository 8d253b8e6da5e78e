// The dashboard in a real terminal (tmux), driven as a person would: keys and the mouse.
//
// Every run watches a network namespace of its own (--netns): the lab's
// scenarios run in it, so that other tests' listeners on this machine (the
// same addresses and ports, in namespaces of theirs) never show.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import type { ListenerRow, Snapshot } from '../src/model/types';
import { activity, columnAt, fitColumns, headerLine, rowLine } from '../ui/columns';
import { asciiBlocks, DashboardState, fullestQueues, histRows, sparkline, sparkRange, sparkSeries, span, timeAxis, waitBound, wrapText } from '../ui/viewmodel';
import { fill, SORT_KEYS, sortRows } from '../src/model/view';
import { acqLinkIds, awaitAttached, linksOf } from '../harness/links';
import { LabRun } from '../harness/lab';
import { CLI, LAB } from '../harness/paths';
import { Tmux } from '../harness/tmux';
import { listenerRow, snapshotOf } from './support/rows';

/** A network namespace held open by a sleeping process. */
interface Netns {
  pid: number;
  inode: number;
  proc: ChildProcess;
}

async function newNetns(): Promise<Netns> {
  const own = fs.statSync('/proc/self/ns/net').ino;
  const proc = spawn('unshare', ['-n', 'sleep', '600'], { stdio: 'ignore' });
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      const inode = fs.statSync(`/proc/${proc.pid}/ns/net`).ino;
      if (inode !== own) return { pid: proc.pid!, inode, proc };
    } catch {
      // not there yet
    }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('unshare -n did not make a namespace');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A lab scenario inside the namespace; resolves once its overflows are staged (bounded). */
async function labIn(ns: Netns, scenario: string, holdS = 120): Promise<LabRun> {
  const proc = spawn('nsenter', ['-t', String(ns.pid), '-n', LAB, ...scenario.split(' '), '--hold', String(holdS)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`lab ${scenario}: no report within 60 s: ${stderr}`));
    }, 60000);
    readline.createInterface({ input: proc.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lab ${scenario} exited with ${code}: ${stderr}`));
    });
  });
  const info = JSON.parse(first);
  return new LabRun(scenario, info.pid, info.netns, info.listeners, proc);
}

const lines = (screen: string) => screen.split('\n');
/** Index of the table's column-header line. */
const headAt = (screen: string) => lines(screen).findIndex((l) => /\bLISTEN\b.*\bQUEUE\b/.test(l));
/** Index of the table line holding text (below the column header); -1 if none. */
const rowAt = (screen: string, text: string) => {
  const head = headAt(screen);
  const i = lines(screen).slice(head + 1).findIndex((l) => l.includes(text));
  return i < 0 ? -1 : head + 1 + i;
};
/** The table line holding text (below the LISTEN header); other lines otherwise. */
const line = (screen: string, text: string) => {
  const head = headAt(screen);
  return (head >= 0 ? lines(screen).slice(head + 1) : lines(screen)).find((l) => l.includes(text));
};
const cells = (l: string | undefined) => (l ?? '').replace(/^[x│|>!*\s]+/, '').split(/\s+/);
/** The two characters in front of a row's address: the selection ('>') and its activity mark. */
const marks = (screen: string, addr: string) => {
  const l = line(screen, `${addr} `);
  if (!l) return null;
  const chars = [...l];
  const at = [...l.slice(0, l.indexOf(`${addr} `))].length;
  return { selected: chars[at - 2] === '>', mark: chars[at - 1] };
};
/** Which table row (1 = the first below the column header) is selected; 0 for none. */
const selectedAt = (screen: string) => lines(screen).slice(headAt(screen) + 1).findIndex((l) => /^[│x|]?>/.test(l)) + 1;
const settle = (ms = 250) => new Promise((r) => setTimeout(r, ms));

/** Move the selection to the row holding text: to the top, then down. */
async function selectRow(tm: Tmux, text: string): Promise<void> {
  // each key is given time to be drawn before the screen is read again
  tm.keys('g');
  await settle();
  for (let i = 0; i < 20 && !marks(tm.capture(), text)?.selected; i++) {
    tm.keys('j');
    await settle();
  }
}

test.serial('overflowing and idle listeners: follow the worst, marks, notice, sparkline axis, mouse, filter, detail, resize, quit', async (t) => {
  t.timeout(180000);
  const ns = await newNetns();
  t.teardown(() => ns.proc.kill('SIGKILL'));
  const tm = Tmux.start(`acceptq-test-${process.pid}`, `${process.execPath} ${CLI} --interval 0.5 --netns ${ns.inode}; echo EXIT=$?; sleep 60`, 120, 40, { LANG: 'C.UTF-8', TERM: 'xterm-256color' });
  t.teardown(() => tm.kill());
  await tm.waitFor((s) => s.includes('acceptq') && s.includes('listeners'));
  const pid = tm.programPid();
  const links = await awaitAttached(pid);

  // an idle listener comes first: the selection starts on it
  const idle = await labIn(ns, 'idle');
  t.teardown(() => idle.stop());
  await tm.waitFor((s) => !!marks(s, '127.0.0.1:9500')?.selected);

  // then one starts dropping: the selection follows it (no key pressed), its row
  // is marked '!' and the header names it, while it drops
  const dropping = tm.waitFor((s) => marks(s, '127.0.0.1:9000')?.mark === '!' && marks(s, '127.0.0.1:9000')!.selected &&
    /! new: 127\.0\.0\.1:9000 acceptq-lab dropping [\d.]+\/s since \d\d:\d\d:\d\d/.test(s), 30000);
  dropping.catch(() => {}); // awaited below; the lab may fail first
  const syn = await labIn(ns, 'syn');
  t.teardown(() => syn.stop());
  let screen = await dropping;
  t.regex(screen, /x dismiss/, 'the footer says how to dismiss the notice');
  const kernel = syn.netstat().TcpExtListenOverflows;

  // the overflowing listener with its drops, the idle one with none; '*' once it stopped
  screen = await tm.waitFor((s) => cells(line(s, '127.0.0.1:9000 ')).includes(String(kernel)) && marks(s, '127.0.0.1:9000')?.mark === '*');
  t.true(marks(screen, '127.0.0.1:9000')!.selected, 'the selection stays on the worst listener');
  t.deepEqual(marks(screen, '127.0.0.1:9500'), { selected: false, mark: ' ' }, 'the idle listener: no mark');
  // at 120 columns: LISTEN PID/COMM QUEUE OLDEST WAITP99 ARR/S ACC/S OVERFLOWS OVF/S
  t.regex(lines(screen)[headAt(screen)], /LISTEN +PID\/COMM +QUEUE +OLDEST +WAITP99 +ARR\/S +ACC\/S +OVERFLOWS +OVF\/S v/);
  const synRow = cells(line(screen, '127.0.0.1:9000 '));
  t.true(synRow.includes(`${syn.pid}/acceptq-lab`), 'pid/comm shown');
  t.true(synRow.includes('3/2'), 'queue 3 of 2');
  t.true(synRow.includes(String(kernel)), 'its overflows');
  // never accepted: the three in its queue wait on (OLDEST), no accept was timed (WAITP99 -)
  t.regex(synRow[synRow.indexOf('3/2') + 1], /^\d+(\.\d+)?m?s$/, 'the oldest waiting connection\'s age');
  t.is(synRow[synRow.indexOf('3/2') + 2], '-', 'no wait p99: nothing accepted');
  t.regex(screen, /worst wait 127\.0\.0\.1:9000 oldest \d+(\.\d+)?m?s/, 'the header: the worst wait is its oldest connection\'s');
  const idleRow = cells(line(screen, '127.0.0.1:9500 '));
  t.true(idleRow.includes('0/64'), 'idle queue');
  t.deepEqual(idleRow.slice(idleRow.indexOf('0/64') + 1, idleRow.indexOf('0/64') + 6), ['-', '-', '0.0', '0.0', '0'], 'idle: nothing waits, no traffic, no overflow');
  t.regex(screen, new RegExp(`! new: 127\\.0\\.0\\.1:9000 acceptq-lab dropped ${kernel} since \\d\\d:\\d\\d:\\d\\d, last \\d\\d:\\d\\d:\\d\\d`), 'the notice stays until dismissed');

  // the sparklines, in the right-hand panel under their titles, and their time axis:
  // 58 frames of 0.5 s fit (a 60-column panel), the newest at the right end
  const ls = lines(screen);
  // (blessed-contrib's widget: 56 points in a 58-cell panel, the frames before the start at zero)
  const sparkAt = ls.findIndex((l) => /matching listeners \(attributed\) max \d+(\.\d)?:/.test(l));
  t.true(sparkAt >= 0, 'the drop-rate sparkline is there');
  const col = [...ls[sparkAt]].join('').indexOf('matching listeners');
  const sparkLine = [...ls[sparkAt + 1]].slice(col).join('');
  t.regex(sparkLine, /^▁+[▂▃▄▅▆▇█]/, 'and it drew the drops');
  t.regex([...ls[sparkAt + 4]].slice(col).join(''), /^▁*[▂▃▄▅▆▇█]/, 'the selected listener\'s sparkline too');
  const axisAt = ls.findIndex((l) => /-28s +-14s +now/.test(l));
  t.true(axisAt > sparkAt, 'a time axis under the sparklines: -28s ... now');
  t.is([...ls[axisAt]].join('').indexOf('now') + 2, [...ls[sparkAt + 1]].join('').search(/[▁▂▃▄▅▆▇█][^▁▂▃▄▅▆▇█]*$/), '"now" ends where the newest point is');
  t.regex(screen, /127\.0\.0\.1:9000 +\[█+\] 3\/2 +oldest \d+(\.\d+)?m?s/, 'a full accept-queue gauge, its oldest wait beside the depth');
  t.regex(screen, /kernel ListenOverflows [\d.]+\/s +attributed [\d.]+\/s +unattributed \d+/, 'the reconciliation in the header');
  t.regex(screen, new RegExp(`listeners 1/2 \\[filter: netns ${ns.inode}\\]`), 'the table says which listeners it shows');

  // x dismisses the notice
  tm.keys('x');
  // (the footer's line may be drawn a moment after the header's)
  screen = await tm.waitFor((s) => !s.includes('! new:') && !s.includes('x dismiss'));

  // the mouse: a click on the idle row selects it, and from then on the selection stays
  // there while another listener starts dropping (and gets a notice)
  await tm.click(10, rowAt(screen, '127.0.0.1:9500 '));
  await tm.waitFor((s) => !!marks(s, '127.0.0.1:9500')?.selected);
  const reuse = await labIn(ns, 'reuseport');
  t.teardown(() => reuse.stop());
  screen = await tm.waitFor((s) => /! new: 127\.0\.0\.1:9300 acceptq-lab dropped/.test(s) && !!line(s, '127.0.0.1:9300 '));
  t.true(marks(screen, '127.0.0.1:9500')!.selected, 'the person\'s selection stays');

  // a click on a column header sorts by it, again reverses it
  let head = lines(screen)[headAt(screen)];
  await tm.click([...head].join('').indexOf('OLDEST') + 1, headAt(screen));
  screen = await tm.waitFor((s) => /OLDEST v/.test(s));
  t.true(rowAt(screen, '127.0.0.1:9000 ') < rowAt(screen, '127.0.0.1:9500 '), 'the one with connections waiting first');
  head = lines(screen)[headAt(screen)];
  await tm.click([...head].join('').indexOf('OLDEST') + 1, headAt(screen));
  screen = await tm.waitFor((s) => /OLDEST \^/.test(s));
  t.true(marks(screen, '127.0.0.1:9500')!.selected, 'the selection followed its listener');
  head = lines(screen)[headAt(screen)];
  await tm.click([...head].join('').indexOf('OVF/S') + 1, headAt(screen));
  screen = await tm.waitFor((s) => /OVF\/S v/.test(s));

  // the wheel moves the selection (three rows a step): to the top, then the bottom
  const tableRow = headAt(screen) + 1;
  tm.wheel(30, tableRow, 'up');
  screen = await tm.waitFor((s) => selectedAt(s) === 1);
  tm.wheel(30, tableRow, 'down');
  screen = await tm.waitFor((s) => selectedAt(s) === 3);
  t.truthy(line(screen, '127.0.0.1:9300 ') && line(screen, '127.0.0.1:9000 ') && line(screen, '127.0.0.1:9500 '), 'three rows');

  // Enter on the new dropper's row (clicked): its detail view, which covers the
  // panels whole, borders too; the person looked, so its notice is gone
  await tm.click(10, rowAt(screen, '127.0.0.1:9300 '));
  await tm.waitFor((s) => !!marks(s, '127.0.0.1:9300')?.selected);
  tm.keys('Enter');
  screen = await tm.waitFor((s) => s.includes('listener detail') && /wait, last interval/.test(s));
  t.false(screen.includes('! new:'), 'notice gone once looked at');
  const dl = lines(screen);
  const top = dl.findIndex((l) => l.includes('listener detail'));
  t.is(top, 2, 'right under the header');
  const body = dl.slice(top + 1, 38);
  t.true(body.every((l) => /^[│x].*[│x]$/.test(l) && [...l].length === 120), 'its own border at both edges, on every line');
  t.regex(dl[38], /^[└m][─q]{118}[┘j]$/, 'its bottom border right above the footer');
  t.false(/LISTEN|accept queues|overflows\/s \[/.test(body.join('\n')), 'nothing of the panels shows through');
  t.regex(screen, /overflows \d+ \(SYN path \d+, ACK path 0\)/);
  t.regex(screen, /-\d+s +-\d+s +now/, 'a time axis under its sparklines');
  t.regex(screen, /overflows\/s max \d+(\.\d)?:[\s\S]*accepts\/s max 0\.0:[\s\S]*arrivals\/s max \d+(\.\d)?:/, 'overflows, accepts and arrivals per second');
  t.regex(screen, /diagnosis: (nothing dropped in the last interval, but its queue is full|[^]*?basis: )/, 'why it overflows, and the figures it rests on');
  t.regex(screen, /limit: listen\(\) asked 6, in effect 6 \(over 3 sockets\); somaxconn \d+, tcp_max_syn_backlog \d+/, 'the backlog asked for, the one in effect, the sysctls');
  t.regex(screen, /wait, last interval: no accept\(\) timed/);
  // its recent events after them: at its end (End scrolls there where they do not fit)
  tm.keys('End');
  await tm.waitFor((s) => s.includes('listener detail') && /syn +from 127\.0\.0\.1:\d+/.test(s));
  tm.keys('Escape');
  await tm.waitFor((s) => !s.includes('listener detail'));

  // select the syn listener, then reverse the sort: the rows reorder, the selection stays
  await selectRow(tm, '127.0.0.1:9000');
  screen = tm.capture();
  t.true(marks(screen, '127.0.0.1:9000')!.selected, 'syn listener selected');
  const before = rowAt(screen, '127.0.0.1:9000 ') < rowAt(screen, '127.0.0.1:9500 ');
  tm.keys('r');
  screen = await tm.waitFor((s) => (rowAt(s, '127.0.0.1:9000 ') < rowAt(s, '127.0.0.1:9500 ')) !== before);
  t.true(marks(screen, '127.0.0.1:9000')!.selected, 'selection followed its listener');
  tm.keys('>');
  screen = await tm.waitFor((s) => /OVERFLOWS [v^]/.test(s));
  t.true(marks(screen, '127.0.0.1:9000')!.selected, 'still selected after a new sort column');
  // then the waits and the rates, by key
  tm.keys('>');
  await tm.waitFor((s) => /WAITP99 [v^]/.test(s));
  tm.keys('s');
  await tm.waitFor((s) => /OLDEST [v^]/.test(s));
  tm.keys('>');
  await tm.waitFor((s) => /ACC\/S [v^]/.test(s));
  tm.keys('>');
  await tm.waitFor((s) => /ARR\/S [v^]/.test(s));
  tm.keys('<', '<', '<', '<');
  await tm.waitFor((s) => /OVERFLOWS [v^]/.test(s));

  // the filter narrows every panel, and their titles say so; Esc clears it
  tm.keys('/', '9', '5', '0', '0', 'Enter');
  screen = await tm.waitFor((s) => s.includes('filter: 9500') && !line(s, '127.0.0.1:9000 ') && !!line(s, '127.0.0.1:9500 '));
  t.is(screen.slice(screen.indexOf('LISTEN')).split('\n').filter((l) => /\d+\.\d+\.\d+\.\d+:\d+/.test(l)).length, 1, 'one row left');
  const gaugesOf = (s: string) => lines(s).slice(0, headAt(s) - 1).map((l) => [...l].slice(0, 60).join('')).join('\n');
  t.regex(gaugesOf(screen), /127\.0\.0\.1:9500 +\[/, 'the gauge of the listener matching');
  t.notRegex(gaugesOf(screen), /127\.0\.0\.1:9(000|300) +\[/, 'no gauge of the others');
  t.regex(screen, new RegExp(`accept queues \\[filter: netns ${ns.inode} \\+ "9500"\\]`), 'the gauges\' title says so');
  t.regex(screen, /overflows\/s \[filter: netns \d+ \+ "9500"\]/, 'the sparklines\' title says so');
  t.regex(screen, /listeners 1\/1 \[filter: netns \d+ \+ "9500"\]/, 'the table\'s title says so');
  t.regex(screen, /matching listeners \(attributed\) max 0\.0/, 'the total is of the listeners matching: the idle one');
  tm.keys('Escape');
  screen = await tm.waitFor((s) => !!line(s, '127.0.0.1:9000 ') && !s.includes('filter: 9500'));
  t.regex(screen, new RegExp(`accept queues \\[filter: netns ${ns.inode}\\]`), 'only the command line\'s filter again');

  // resizing keeps everything inside the frame
  tm.resize(70, 20);
  screen = await tm.waitFor((s) => s.split('\n').length <= 21 && !!line(s, '127.0.0.1:9000 '));
  t.true(screen.split('\n').every((l) => [...l].length <= 70), 'nothing wider than 70 columns');
  tm.resize(50, 10);
  screen = await tm.waitFor((s) => s.includes('terminal too small'));
  tm.resize(120, 40);
  await tm.waitFor((s) => !!line(s, '127.0.0.1:9000 ') && s.includes('accept queues'));

  // help (it tells of the notice and the marks), then quit: terminal restored, links gone
  tm.keys('?');
  screen = await tm.waitFor((s) => /─ help/.test(s));
  t.regex(screen, /x +dismiss the header's notice/);
  t.regex(screen, /! dropping now/);
  tm.keys('?');
  await tm.waitFor((s) => !/─ help/.test(s));
  t.true(linksOf(pid).length >= 4);
  tm.keys('q');
  screen = await tm.waitFor((s) => s.includes('EXIT='));
  t.truthy(line(screen, 'EXIT=0'), 'exit status 0');
  t.is(tm.display('#{alternate_on}'), '0', 'back from the alternate screen');
  t.is(tm.display('#{cursor_flag}'), '1', 'cursor visible');
  t.is(tm.display('#{mouse_any_flag}#{mouse_button_flag}#{mouse_standard_flag}#{mouse_sgr_flag}'), '0000', 'mouse reporting off');
  t.deepEqual(acqLinkIds().filter((id) => links.includes(id)), [], 'no acceptq link left');
});

test.serial('why it overflows: waits, rates, the worst wait, the detail view\'s histogram and diagnosis; at 120 and 80 columns', async (t) => {
  t.timeout(150000);
  const ns = await newNetns();
  t.teardown(() => ns.proc.kill('SIGKILL'));
  const tm = Tmux.start(`acceptq-wait-${process.pid}`, `${process.execPath} ${CLI} --interval 0.5 --netns ${ns.inode}; echo EXIT=$?; sleep 60`, 120, 40, { LANG: 'C.UTF-8', TERM: 'xterm-256color' });
  t.teardown(() => tm.kill());
  await tm.waitFor((s) => s.includes('acceptq') && s.includes('listeners'));
  await awaitAttached(tm.programPid());

  // each connection accepted 200 ms after its handshake, 40 a second for 4 s: while they come,
  // the row shows the wait and both rates; then pause, so that the frame stays to be read
  /** A cell of the listener's row, by its column (right-aligned: it ends where the column's title does). */
  const waitCell = (s: string, col: string) => {
    const head = [...(lines(s)[headAt(s)] ?? '')].join('');
    const l = line(s, '127.0.0.1:9850 ');
    const m = new RegExp(`${col.replace('/', '\\/')}[v^]?`).exec(head);
    if (!l || !m) return '';
    return [...l].join('').slice(0, m.index + m[0].length).trim().split(/\s+/).pop() ?? '';
  };
  /** A figure of a cell: a wait in ms ("~200ms", "1.2s"), or a rate. */
  const num = (cell: string) => parseFloat(cell.replace('~', '')) * (/\ds$/.test(cell) ? 1000 : 1);
  const waiting = tm.waitFor((s) => /^~\d+ms$/.test(waitCell(s, 'WAITP99')) && num(waitCell(s, 'ARR/S')) > 0 && num(waitCell(s, 'ACC/S')) > 0, 30000);
  waiting.catch(() => {}); // awaited below; the lab may fail first
  const delay = labIn(ns, 'delay 200', 10);
  delay.then((lab) => t.teardown(() => lab.stop()), () => {});
  await waiting;
  tm.keys('p');
  let screen = await tm.waitFor((s) => s.includes('[PAUSED]'));
  const p99 = num(waitCell(screen, 'WAITP99'));
  t.true(p99 >= 150 && p99 <= 400, `the wait p99 is about the delay: ${waitCell(screen, 'WAITP99')}`);
  t.regex(waitCell(screen, 'OLDEST'), /^(-|\d+(\.\d+)?ms)$/, 'the oldest waiting connection');
  t.true(num(waitCell(screen, 'ARR/S')) > 0 && num(waitCell(screen, 'ACC/S')) > 0, `arrivals and accepts per second: ${waitCell(screen, 'ARR/S')} ${waitCell(screen, 'ACC/S')}`);
  t.regex(screen, /worst wait 127\.0\.0\.1:9850 (p99 ~|oldest )\d+(\.\d+)?ms/, 'the header names the worst wait');
  t.regex(screen, /127\.0\.0\.1:9850 +\[[░█]+\] \d+\/1024 +oldest (-|\d+(\.\d+)?ms)/, 'the gauge: the oldest wait beside the depth');

  // the detail view: the last interval's waits and their histogram (200 ms: the 131-262 ms bucket),
  // accepts and arrivals per second (blessed-contrib's sparkline), the backlog, the diagnosis
  tm.keys('Enter');
  // (the whole view drawn: its sparklines' last title too)
  screen = await tm.waitFor((s) => s.includes('listener detail') && /arrivals\/s max/.test(s));
  t.regex(screen, /wait, last interval \(\d+ timed\): p50 ~\d+ms +p99 ~\d+ms +mean \d+ms +min \d+ms +max \d+ms/, 'p50 and p99 marked as estimates');
  t.regex(screen, /^[│x] +131ms-262ms █+ \d+ +[│x]$/m, 'the histogram\'s bucket, labelled');
  const dl = lines(screen);
  for (const series of ['accepts/s', 'arrivals/s']) {
    const at = dl.findIndex((l) => new RegExp(`^[│x]${series.replace('/', '\\/')} max (\\d+\\.\\d|\\d{3,}):`).test(l));
    t.true(at > 0, `${series}: a sparkline with its scale`);
    t.regex(dl[at + 1], /^[│x]▁*[▂▃▄▅▆▇█]/, `${series}: it drew the rate`);
  }
  t.regex(screen, /overflows\/s max 0\.0:/);
  t.regex(screen, /^[│x]-\d+s +-\d+s +now +[│x]$/m, 'the time axis under them');
  t.regex(screen, /diagnosis: keeps up: nothing dropped in the last interval/, 'nothing to explain: it keeps up');
  t.regex(screen, /limit: listen\(\) asked 1024, in effect 1024; somaxconn 4096, tcp_max_syn_backlog \d+, tcp_syncookies \d/, 'the backlog asked for and in effect, the sysctls');
  t.regex(screen, /tcp_abort_on_overflow 0/);

  // the same at 80x24: everything in the frame, the table down to its most important columns
  tm.resize(80, 24);
  // (drawn again for the new size: the overlay's corner at the 80th column)
  screen = await tm.waitFor((s) => s.split('\n').length <= 25 && lines(s).some((l) => /listener detail.*[┐k]$/.test(l) && [...l].length === 80));
  t.regex(screen, /131ms-262ms █+ \d+/);
  t.true(screen.split('\n').every((l) => [...l].length <= 80), 'nothing wider than 80 columns');
  t.regex(screen, /accepts\/s max/);
  t.regex(screen, /arrivals\/s max/);
  t.regex(screen, /diagnosis: keeps up/);
  t.regex(screen, /somaxconn 4096/);
  tm.keys('Escape');
  screen = await tm.waitFor((s) => !s.includes('listener detail') && headAt(s) > 0);
  t.regex(lines(screen)[headAt(screen)], /^[│x] +LISTEN +QUEUE +OLDEST +WAITP99 +OVERFLOWS +OVF\/S v +[│x]$/, 'at 80 columns: LISTEN QUEUE OLDEST WAITP99 OVERFLOWS OVF/S');
  t.regex(lines(screen)[0], /acceptq +\[PAUSED\] +worst wait 127\.0\.0\.1:9850 /, 'the worst wait, on the first line where the second has no room');
  t.truthy(lines(screen).find((l) => /127\.0\.0\.1:9850 \(selected\)/.test(l)), 'the selected listener\'s sparkline still shows');
  t.truthy(lines(screen).find((l) => /-\d+s +-\d+s +now/.test(l)), 'and the axis');
  tm.resize(120, 40);
  await tm.waitFor((s) => s.split('\n').length >= 40 && s.includes('ARR/S'));
  tm.keys('p');
  await tm.waitFor((s) => !s.includes('[PAUSED]'));
  await delay;

  // a server that accepts every 5 ms while clients connect faster: a diagnosis with its basis;
  // it drops, so it is the worst listener, which the selection follows
  const dropping = tm.waitFor((s) => marks(s, '127.0.0.1:9800')?.mark === '!' && !!marks(s, '127.0.0.1:9800')?.selected && /~\d+(\.\d+)?ms/.test(line(s, '127.0.0.1:9800 ') ?? ''), 30000);
  dropping.catch(() => {});
  const pace = labIn(ns, 'pace 5', 10);
  pace.then((lab) => t.teardown(() => lab.stop()), () => {});
  await dropping;
  tm.keys('p', 'Enter');
  screen = await tm.waitFor((s) => s.includes('listener detail') && s.includes('[PAUSED]'));
  t.regex(screen, /diagnosis: (?!keeps up).+/, 'a verdict');
  t.regex(screen, /basis: .*accepts [\d.]+\/s/, 'and the figures it rests on');
  t.regex(screen, /limit: listen\(\) asked 8, in effect 8;/);
  t.regex(screen, /^[│x] +[\d.]+[µm]?s-[\d.]+[µm]?s █+ \d+ +[│x]$/m, 'a histogram');
  tm.keys('Escape'); // alone: an Escape and a key right after it read as Alt and that key
  await tm.waitFor((s) => !s.includes('listener detail'));
  tm.keys('p');
  await tm.waitFor((s) => !s.includes('[PAUSED]'));

  // the help tells of the new columns and the estimates
  tm.keys('?');
  screen = await tm.waitFor((s) => /─ help/.test(s));
  // page by page to its end: what it says of the columns and the estimates
  for (let i = 0; i < 10 && !/~ marks an estimate/.test(screen); i++) {
    tm.keys('PageDown');
    await new Promise((r) => setTimeout(r, 250));
    screen = tm.capture();
  }
  t.regex(screen, /WAITP99: the 99th\s|~ marks an estimate/);
  t.regex(screen, /~ marks an estimate/);
  tm.keys('q');
  await tm.waitFor((s) => !/─ help/.test(s));
  tm.keys('q');
  await tm.waitFor((s) => s.includes('EXIT=0'));
  await pace;
});

test.serial('NO_COLOR and a non-UTF-8 locale: no colour, plain ASCII, the marks still there', async (t) => {
  t.timeout(90000);
  const ns = await newNetns();
  t.teardown(() => ns.proc.kill('SIGKILL'));
  const tm = Tmux.start(`acceptq-ascii-${process.pid}`, `${process.execPath} ${CLI} --interval 0.5 --netns ${ns.inode}; echo EXIT=$?; sleep 30`, 100, 30, { LANG: 'C', LC_ALL: 'C', NO_COLOR: '1', TERM: 'linux' });
  t.teardown(() => tm.kill());
  await tm.waitFor((s) => s.includes('listeners') && s.includes('overflows/s'));
  await awaitAttached(tm.programPid());
  const dropping = tm.waitFor((s) => marks(s, '127.0.0.1:9000')?.mark === '!' && s.includes('! new: 127.0.0.1:9000'), 30000);
  dropping.catch(() => {}); // awaited below; the lab may fail first
  const syn = await labIn(ns, 'syn');
  t.teardown(() => syn.stop());
  await dropping;
  const screen = await tm.waitFor((s) => marks(s, '127.0.0.1:9000')?.mark === '*');
  t.notRegex(screen, /[▁▂▃▄▅▆▇█░]/, 'no Unicode blocks');
  t.regex(screen, /-\d+s +-\d+s +now/, 'the time axis');
  const colours = (await import('node:child_process')).execFileSync('tmux', ['capture-pane', '-p', '-e', '-t', tm.name], { encoding: 'utf8' });
  t.notRegex(colours, /\x1b\[[0-9;]*3[1-7]m/, 'no foreground colours');
  // the detail view's sparklines (blessed-contrib's, in ASCII here) and its axis
  tm.keys('Enter');
  const detail = await tm.waitFor((s) => s.includes('listener detail') && /arrivals\/s max/.test(s));
  t.notRegex(detail, /[▁▂▃▄▅▆▇█░µ≥]/, 'no Unicode there either');
  t.regex(detail, /overflows\/s max \d+(\.\d)?:[^\n]*\n[|x]_*[.\-:=+*#]/, 'the drops drawn in ASCII');
  t.regex(detail, /-\d+s +-\d+s +now/);
  tm.keys('Escape');
  await tm.waitFor((s) => !s.includes('listener detail'));
  tm.keys('q');
  await tm.waitFor((s) => s.includes('EXIT=0'));
});

// The state behind the screen, without a terminal: frames made up here.
const row = (port: number, over: Partial<ListenerRow> = {}): ListenerRow => listenerRow({ port, ...over });
const frame = (timeMs: number, listeners: ListenerRow[]): Snapshot => snapshotOf(timeMs, listeners, { snapshotMs: 0 });

test('view model: the selection follows the worst listener until moved; notices; the filtered total; the marks; the axis', (t) => {
  const st = new DashboardState();
  const idle = row(80);
  st.ingest(frame(1000, [idle]));
  t.is(st.selectedId, idle.id, 'the only row');
  t.is(st.notice(), null, 'nothing new in the first frame');
  const hot = row(9800, { overflows: 958, overflowRate: 958, firstOverflowMs: 1500, lastOverflowMs: 1900 });
  st.ingest(frame(2000, [idle, hot]));
  t.is(st.selectedId, hot.id, 'follows the worst');
  t.is(st.notice()?.row.id, hot.id, 'a notice: it started dropping');
  st.toggleReverse();
  t.is(st.selectedId, idle.id, 'follows the top of the sort, whichever it is');
  st.toggleReverse();
  st.move(1);
  t.is(st.selectedId, idle.id);
  const worse = row(9900, { overflows: 5000, overflowRate: 5000, firstOverflowMs: 2500, lastOverflowMs: 2900 });
  st.ingest(frame(3000, [idle, hot, worse]));
  t.is(st.selectedId, idle.id, 'moved by the person: stays');
  t.is(st.notice()?.row.id, hot.id, 'the oldest notice first');
  t.is(st.notice()?.more, 1);
  st.dismissNotice(hot.id);
  t.is(st.notice()?.row.id, worse.id);
  st.ingest(frame(4000, [idle, hot]));
  t.is(st.notice(), null, 'a notice goes with its listener');

  // the total of the listeners a filter admits, frame by frame, aligned on the newest
  st.setFilter('98');
  t.deepEqual(st.filteredTotalValues(10), [958, 958, 958]);
  t.deepEqual(st.filteredTotalValues(2), [958, 958]);
  st.setFilter('');

  // marks: '!' now, '*' within a minute, 'x' closed, nothing otherwise
  const cols = fitColumns(120);
  t.is(activity(row(1, { overflowRate: 3 }), 10_000), 'now');
  t.is(activity(row(1, { lastOverflowMs: 9_000 }), 10_000), 'now');
  t.is(activity(row(1, { lastOverflowMs: 1_000 }), 10_000), 'recent');
  t.is(activity(row(1, { lastOverflowMs: 1_000 }), 100_000), 'idle');
  t.is(activity(row(1, { closed: true, overflowRate: 3 }), 10_000), 'closed');
  t.is(rowLine(cols, row(1, { overflowRate: 3 }), true, 10_000).slice(0, 12), '>!127.0.0.1:');
  t.is(rowLine(cols, row(1, { lastOverflowMs: 1_000 }), false, 10_000).slice(0, 3), ' *1');
  t.is(columnAt(cols, 0), undefined, 'the mark column');
  t.is(columnAt(cols, 2)?.title, 'LISTEN');

  // sparklines end at the right; the axis says how far back the left end is
  t.is(sparkline([0, 4, 8], 5, true, true), '  _:#', 'blank: no frame yet; _ zero');
  t.is(sparkline([0, 1, 100], 3, false, true), '▁▂█', 'a small value still shows');
  t.is(span(45), '45s');
  t.is(span(180), '3m');
  t.is(span(90), '1m30s');
  const axis = timeAxis(180, 1, 40);
  t.is(axis.length, 40);
  t.regex(axis, /^-3m +-1m30s +now$/, 'the left end 3 minutes back, the middle, now at the right end');
  t.is(axis.indexOf('-1m30s'), 17, 'the middle mark in the middle');
  t.regex(timeAxis(58, 0.5), /^-29s +-15s +now$/);
});

test('view model: the traffic columns, their sort, the worst wait, the rate rings, the histogram, the series for blessed-contrib', (t) => {
  // the columns at 80 and 120 characters (the table's inner width: 78 and 118)
  const titles = (w: number) => fitColumns(w).map((c) => c.title).join(' ');
  t.is(titles(78), 'LISTEN QUEUE OLDEST WAITP99 OVERFLOWS OVF/S');
  t.is(titles(118), 'LISTEN PID/COMM QUEUE OLDEST WAITP99 ARR/S ACC/S OVERFLOWS OVF/S');
  for (const w of [58, 78, 98, 118, 158]) t.true(headerLine(fitColumns(w), 'wait', true).length <= w, `the header fits ${w}`);
  const waits = row(1, { waitP99Ms: 204.3, oldestWaitMs: 150, acceptRate: 40, arrivalRate: 41.25, waitHist: [] });
  const cols = fitColumns(118);
  const cell = (title: string, r: ListenerRow) => cols.find((c) => c.title === title)!.text(r, 0);
  t.is(cell('WAITP99', waits), '~204ms', 'the p99 is an estimate: ~');
  t.is(cell('OLDEST', waits), '150ms');
  t.is(cell('ACC/S', waits), '40.0');
  t.is(cell('ARR/S', row(1, { arrivalRate: 1234.5 })), '1235');
  t.is(cell('WAITP99', row(1, { waitP99Ms: null })), '-');
  t.is(cell('OLDEST', row(1, { oldestWaitMs: null })), '-');
  t.regex(headerLine(cols, 'wait', false), /WAITP99 v/);
  t.regex(headerLine(cols, 'accepts', true), /ACC\/S \^/);

  // sorted by them: high first, none (null) last; ties by overflows/s
  const a = row(1, { waitP99Ms: 5, oldestWaitMs: null, acceptRate: 1, arrivalRate: 9 });
  const b = row(2, { waitP99Ms: null, oldestWaitMs: 3000, acceptRate: 7, arrivalRate: 2 });
  const c = row(3, { waitP99Ms: 50, oldestWaitMs: 10, acceptRate: 7, arrivalRate: 0, overflowRate: 4 });
  const ports = (k: Parameters<typeof sortRows>[1], rev = false) => sortRows([a, b, c], k, rev).map((r) => r.port);
  t.deepEqual(ports('wait'), [3, 1, 2]);
  t.deepEqual(ports('wait', true), [2, 1, 3]);
  t.deepEqual(ports('oldest'), [2, 3, 1]);
  t.deepEqual(ports('accepts'), [3, 2, 1], 'a tie: the one dropping first');
  t.deepEqual(ports('arrivals'), [1, 2, 3]);
  t.deepEqual(ports('rate'), [3, 1, 2], 'the model\'s keys as before');
  const st = new DashboardState();
  const keys: string[] = [];
  for (let i = 0; i < 6; i++) {
    keys.push(st.sortKey);
    st.cycleSort(1);
  }
  t.deepEqual(keys, ['rate', 'overflows', 'wait', 'oldest', 'accepts', 'arrivals'], '> goes through the waits and rates');
  st.sortBy('oldest');
  t.is(st.sortKey, 'oldest');

  // the worst wait: the longest of every open listener's oldest and p99; rate rings only once there is traffic
  st.ingest(frame(1000, [a, b, c, row(4, { closed: true, oldestWaitMs: 99999 })]));
  t.is(st.worstWait?.row.port, 2);
  t.deepEqual([st.worstWait?.kind, st.worstWait?.ms], ['oldest', 3000]);
  st.ingest(frame(2000, [row(1, { waitP99Ms: 250, oldestWaitMs: 200, acceptRate: 3, arrivalRate: 4 }), row(5)]));
  t.deepEqual([st.worstWait?.row.port, st.worstWait?.kind, st.worstWait?.ms], [1, 'p99', 250]);
  t.deepEqual(st.trafficOf(a.id, 3), { accepts: [0, 1, 3], arrivals: [0, 9, 4] }, 'zeros before the first frame');
  t.deepEqual(st.trafficOf(row(5).id, 2), { accepts: [0, 0], arrivals: [0, 0] }, 'an idle listener: no ring, zeros');
  t.is(st.previous?.timeMs, 1000, 'the snapshot before, for the diagnosis');
  t.is(st.previousRow(a.id)?.acceptRate, 1);
  st.ingest(frame(3000, [row(5)]));
  t.is(st.worstWait, null, 'nothing waits');
  t.deepEqual(st.trafficOf(a.id, 2), { accepts: [0, 0], arrivals: [0, 0] }, 'a ring goes with its listener');

  // the wait histogram: from the lowest bucket with a count to the highest, labelled in µs, ms, s
  const hist = new Array<number>(24).fill(0);
  hist[17] = 40;
  t.deepEqual(histRows(hist, 8), [{ label: '131ms-262ms', count: 40 }], '200 ms waits');
  hist[3] = 2;
  hist[10] = 1;
  t.deepEqual(histRows(hist, 8).map((h) => h.label), ['8µs-32µs', '32µs-128µs', '128µs-512µs', '512µs-2.05ms', '2.05ms-8.19ms', '8.19ms-32.8ms', '32.8ms-131ms', '131ms-262ms'],
    'two buckets a row, to fit 8 rows');
  t.deepEqual(histRows(hist, 8).map((h) => h.count), [2, 0, 0, 1, 0, 0, 0, 40]);
  t.is(histRows(hist, 20).length, 15, 'a bucket a row where they fit');
  t.is(histRows(hist, 20, true)[0].label, '8us-16us');
  const open = new Array<number>(24).fill(0);
  open[0] = 1;
  open[23] = 1;
  t.deepEqual(histRows(open, 30).map((h) => h.label).filter((l, i, all) => i === 0 || i === all.length - 1), ['0µs-2µs', '≥8.39s']);
  t.deepEqual(histRows(new Array<number>(24).fill(0), 8), []);
  t.deepEqual([waitBound(512), waitBound(1024), waitBound(131072), waitBound(1048576)], ['512µs', '1.02ms', '131ms', '1.05s']);

  // blessed-contrib's sparkline: n whole numbers, the newest last, zeros for the frames before
  t.deepEqual(sparkSeries([0.5, 1], 4), [0, 0, 500000, 1000000]);
  t.deepEqual(sparkSeries([3, 4, 5], 2), [800000, 1000000]);
  t.deepEqual(sparkSeries([], 2), [0, 0]);
  t.is(sparkRange([0.5, 1], 4), 'max 1.0');
  t.is(sparkRange([38, 42, 40], 3), 'min 38.0 max 42.0', 'its lowest block is the lowest point');
  t.is(sparkRange([38, 42], 3), 'max 42.0', 'a frame before the first is a zero');
  t.is(asciiBlocks('▁▂█x'), '_.#x');
  t.deepEqual(wrapText('basis: acceptRate 5/s, arrivalRate 9/s', 20), ['basis: acceptRate', '  5/s, arrivalRate', '  9/s']);
  t.deepEqual(wrapText('a b c d e f g h', 5, '  ', 2), ['a b c', '  d…']);
});

// A small deterministic generator: the cases below are the same every run.
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296);
}

test('view model: a sort started from the last snapshot\'s order is the full sort, whatever moved, came or went', (t) => {
  const rnd = lcg(7);
  const pick = <T>(v: readonly T[]): T => v[Math.floor(rnd() * v.length)];
  const make = (port: number): ListenerRow => {
    const overflows = pick([0, 0, 0, 3, 40]);
    return row(port, { netnsCookie: pick([1, 2]), id: `${pick([1, 2])}|4|127.0.0.1|${port}`, overflows, overflowRate: pick([0, 0, 1.5, 7]),
      backlog: pick([0, 2, 8]), peakBacklog: pick([0, 8]), acceptRate: pick([0, 9]), waitP99Ms: pick([null, 1, 30]), comm: pick(['a', 'b']) });
  };
  let cases = 0;
  for (const key of SORT_KEYS) {
    for (const reverse of [false, true]) {
      const st = new DashboardState();
      st.sortKey = key;
      st.reverse = reverse;
      let rows = Array.from({ length: 300 }, (_, i) => make(1000 + i));
      for (let tick = 0; tick < 6; tick++) {
        st.ingest(frame(1000 * (tick + 1), rows));
        t.deepEqual(st.rows().map((r) => r.id), sortRows(rows, key, reverse).map((r) => r.id), `${key}${reverse ? ' reversed' : ''}, tick ${tick}`);
        cases++;
        // the next snapshot as the helper gives it: most rows the same objects at the same places, some
        // changed in place, new ones at the end, a few gone (the rows after them one place up)
        rows = rows.map((r) => (rnd() < 0.05 ? { ...make(r.port), id: r.id, netnsCookie: r.netnsCookie } : r));
        for (let i = 0; i < 2; i++) rows.splice(rows.length - 1 - Math.floor(rnd() * 30), 1);
        for (let i = 0; i < 8; i++) rows.push(make(5000 + tick * 10 + i));
      }
    }
  }
  t.is(cases, SORT_KEYS.length * 2 * 6);
});

test('view model: the gauges\' fullest queues are the first k of the open rows sorted by fill, then overflows/s', (t) => {
  const rnd = lcg(11);
  for (let c = 0; c < 200; c++) {
    const rows = Array.from({ length: 1 + Math.floor(rnd() * 60) }, (_, i) =>
      row(2000 + i, { backlog: Math.floor(rnd() * 9), maxBacklog: rnd() < 0.1 ? 0 : 8, sockets: 1 + Math.floor(rnd() * 2),
        overflowRate: Math.floor(rnd() * 3), closed: rnd() < 0.1 }));
    const k = Math.floor(rnd() * 12);
    const expect = rows
      .filter((r) => !r.closed && r.maxBacklog > 0)
      .map((r, i) => ({ r, i }))
      .sort((a, b) => fill(b.r) - fill(a.r) || b.r.overflowRate - a.r.overflowRate || a.i - b.i)
      .slice(0, k)
      .map((x) => x.r.id);
    t.deepEqual(fullestQueues(rows, k).map((r) => r.id), expect, `case ${c}`);
  }
});

test('view model: the notice is about what drops now: a dropping listener before one that stopped, none once they closed or went quiet', (t) => {
  const st = new DashboardState();
  const a = row(9000);
  const b = row(9300);
  st.ingest(frame(1000, [a, b]));
  // a drops, then stops; b starts dropping while a's notice is still there
  st.ingest(frame(2000, [{ ...a, overflows: 175, overflowRate: 175, firstOverflowMs: 1500, lastOverflowMs: 2000 }, b]));
  t.is(st.notice()?.row.id, a.id);
  const aQuiet = { ...a, overflows: 175, overflowRate: 0, firstOverflowMs: 1500, lastOverflowMs: 2000 };
  st.ingest(frame(10_000, [aQuiet, { ...b, overflows: 40, overflowRate: 40, firstOverflowMs: 9500, lastOverflowMs: 10_000 }]));
  const n = st.notice();
  t.is(n?.row.id, b.id, 'the one dropping now, not the one that dropped 8 s ago');
  t.is(n?.more, 1, 'the other still counted');
  // b stops too: the oldest notice of those that dropped within the last minute
  st.ingest(frame(20_000, [aQuiet, { ...b, overflows: 40, overflowRate: 0, firstOverflowMs: 9500, lastOverflowMs: 10_000 }]));
  t.is(st.notice()?.row.id, a.id, 'neither drops now: the oldest notice of the last minute');
  // every listener closed: no notice
  st.ingest(frame(21_000, [{ ...aQuiet, closed: true, closedMs: 20_500 }, { ...b, overflows: 40, lastOverflowMs: 10_000, closed: true, closedMs: 20_500 }]));
  t.is(st.notice(), null, 'closed listeners: nothing drops now');
  // quiet for more than a minute: gone too
  const st2 = new DashboardState();
  st2.ingest(frame(1000, [a]));
  st2.ingest(frame(2000, [{ ...a, overflows: 5, overflowRate: 5, firstOverflowMs: 1500, lastOverflowMs: 2000 }]));
  st2.ingest(frame(70_000, [{ ...a, overflows: 5, overflowRate: 0, firstOverflowMs: 1500, lastOverflowMs: 2000 }]));
  t.is(st2.notice(), null, 'quiet for over a minute');
});
