// The dashboard in a real terminal (tmux), driven as a person would.
import test from 'ava';
import { acqLinkIds, awaitAttached, linksOf } from './support/links';
import { startLab } from './support/lab';
import { CLI } from './support/paths';
import { Tmux } from './support/tmux';

/** The table line (below the LISTEN header) holding text; other lines otherwise. */
const line = (screen: string, text: string) => {
  const lines = screen.split('\n');
  const head = lines.findIndex((l) => /\bLISTEN\b/.test(l));
  return (head >= 0 ? lines.slice(head + 1) : lines).find((l) => l.includes(text));
};
const cells = (l: string | undefined) => (l ?? '').replace(/^[x│|>\s]+/, '').split(/\s+/);

/** Move the selection to the row holding text: to the top, then down. */
async function selectRow(tm: Tmux, text: string): Promise<void> {
  // each key is given time to be drawn before the screen is read again
  const settle = () => new Promise((r) => setTimeout(r, 250));
  tm.keys('g');
  await settle();
  for (let i = 0; i < 20 && !line(tm.capture(), `> ${text}`); i++) {
    tm.keys('j');
    await settle();
  }
}

test.serial('overflowing and idle listeners, sparkline, sort, filter, detail, resize, quit', async (t) => {
  t.timeout(150000);
  const tm = Tmux.start(`acceptq-test-${process.pid}`, `${process.execPath} ${CLI} --interval 0.5; echo EXIT=$?; sleep 60`, 120, 40, { LANG: 'C.UTF-8', TERM: 'xterm-256color' });
  t.teardown(() => tm.kill());
  await tm.waitFor((s) => s.includes('acceptq') && s.includes('listeners'));
  const pid = tm.programPid();
  const links = await awaitAttached(pid);

  const syn = await startLab('syn');
  t.teardown(() => syn.stop());
  const idle = await startLab('idle');
  t.teardown(() => idle.stop());
  const kernel = syn.netstat().TcpExtListenOverflows;

  // the overflowing listener with its drops, the idle one with none
  let screen = await tm.waitFor((s) => cells(line(s, '127.0.0.1:9000 ')).includes(String(kernel)) && !!line(s, '127.0.0.1:9500 '));
  const synRow = cells(line(screen, '127.0.0.1:9000 '));
  t.true(synRow.includes(String(syn.netns)), 'namespace shown');
  t.true(synRow.includes(`${syn.pid}/acceptq-lab`), 'pid/comm shown');
  t.true(synRow.includes('3/2'), 'queue 3 of 2');
  t.true(synRow.includes(`${kernel}/0`), 'all on the SYN path');
  const idleRow = cells(line(screen, '127.0.0.1:9500 '));
  t.true(idleRow.includes('0/64'), 'idle queue');
  t.true(idleRow.includes('0/0'), 'idle: no overflow on either path');
  const lines = screen.split('\n');
  const sparkAt = lines.findIndex((l) => l.includes('all listeners (attributed)'));
  t.true(sparkAt >= 0, 'the drop-rate sparkline is there');
  // the sparkline sits in the right-hand panel, under its title
  const col = [...lines[sparkAt]].join('').indexOf('all listeners');
  t.regex([...lines[sparkAt + 1]].slice(col).join(''), /[▂▃▄▅▆▇█]/, 'and it drew the drops');
  t.regex(screen, /127\.0\.0\.1:9000 +\[█+\] 3\/3/, 'a full accept-queue gauge');
  t.regex(screen, /kernel ListenOverflows [\d.]+\/s +attributed [\d.]+\/s +unattributed \d+/, 'the reconciliation in the header');

  // select the syn listener, then reverse the sort: the rows reorder, the selection stays
  await selectRow(tm, '127.0.0.1:9000 ');
  screen = tm.capture();
  t.truthy(line(screen, '> 127.0.0.1:9000 '), 'syn listener selected');
  const tableOf = (s: string) => s.slice(s.indexOf('LISTEN'));
  const before = tableOf(screen).indexOf('127.0.0.1:9000 ') < tableOf(screen).indexOf('127.0.0.1:9500 ');
  tm.keys('r');
  screen = await tm.waitFor((s) => (tableOf(s).indexOf('127.0.0.1:9000 ') < tableOf(s).indexOf('127.0.0.1:9500 ')) !== before);
  t.truthy(line(screen, '> 127.0.0.1:9000 '), 'selection followed its listener');
  tm.keys('>');
  screen = await tm.waitFor((s) => /OVERFLOWS[v^]/.test(s));
  t.truthy(line(screen, '> 127.0.0.1:9000 '), 'still selected after a new sort column');

  // the filter narrows the table; Esc clears it
  tm.keys('/', '9', '5', '0', '0', 'Enter');
  screen = await tm.waitFor((s) => s.includes('filter: 9500') && !line(s, '127.0.0.1:9000 ') && !!line(s, '127.0.0.1:9500 '));
  t.is(screen.slice(screen.indexOf('LISTEN')).split('\n').filter((l) => /\d+\.\d+\.\d+\.\d+:\d+/.test(l)).length, 1, 'one row left');
  tm.keys('Escape');
  screen = await tm.waitFor((s) => !!line(s, '127.0.0.1:9000 ') && !s.includes('filter: 9500'));

  // the detail view of the selected listener names the remote ends
  await selectRow(tm, '127.0.0.1:9000 ');
  tm.keys('Enter');
  screen = await tm.waitFor((s) => s.includes('listener detail') && /syn +from 127\.0\.0\.1:\d+/.test(s));
  t.regex(screen, new RegExp(`overflows ${kernel} \\(SYN path ${kernel}, ACK path 0\\)`));
  tm.keys('Escape');
  await tm.waitFor((s) => !s.includes('listener detail'));

  // resizing keeps everything inside the frame
  tm.resize(70, 20);
  screen = await tm.waitFor((s) => s.split('\n').length <= 21 && !!line(s, '127.0.0.1:9000 '));
  t.true(screen.split('\n').every((l) => [...l].length <= 70), 'nothing wider than 70 columns');
  tm.resize(50, 10);
  screen = await tm.waitFor((s) => s.includes('terminal too small'));
  tm.resize(120, 40);
  await tm.waitFor((s) => !!line(s, '127.0.0.1:9000 ') && s.includes('accept queues'));

  // help, then quit: terminal restored, links gone
  tm.keys('?');
  await tm.waitFor((s) => s.includes('Press any key to close'));
  tm.keys('x');
  await tm.waitFor((s) => !s.includes('Press any key to close'));
  t.true(linksOf(pid).length >= 4);
  tm.keys('q');
  screen = await tm.waitFor((s) => s.includes('EXIT='));
  t.truthy(line(screen, 'EXIT=0'), 'exit status 0');
  t.is(tm.display('#{alternate_on}'), '0', 'back from the alternate screen');
  t.is(tm.display('#{cursor_flag}'), '1', 'cursor visible');
  t.deepEqual(acqLinkIds().filter((id) => links.includes(id)), [], 'no acceptq link left');
});

test.serial('NO_COLOR and a non-UTF-8 locale: no colour, plain ASCII', async (t) => {
  const tm = Tmux.start(`acceptq-ascii-${process.pid}`, `${process.execPath} ${CLI} --interval 0.5; echo EXIT=$?; sleep 30`, 100, 30, { LANG: 'C', LC_ALL: 'C', NO_COLOR: '1', TERM: 'linux' });
  t.teardown(() => tm.kill());
  const screen = await tm.waitFor((s) => s.includes('listeners') && s.includes('overflows/s'));
  t.notRegex(screen, /[▁▂▃▄▅▆▇█░]/, 'no Unicode blocks');
  const colours = (await import('node:child_process')).execFileSync('tmux', ['capture-pane', '-p', '-e', '-t', tm.name], { encoding: 'utf8' });
  t.notRegex(colours, /\x1b\[[0-9;]*3[1-7]m/, 'no foreground colours');
  tm.keys('q');
  await tm.waitFor((s) => s.includes('EXIT=0'));
  t.pass();
});
