// The dashboard's keys: what each does in each mode (ui/keys.ts), as the help describes them.
import test from 'ava';
import { keyAction, KEY_HELP, PAGE_ROWS } from '../ui/keys';
import { helpLines } from '../ui/panels/help';

test('table keys: movement, sorting, filter, detail, quit', (t) => {
  t.deepEqual(keyAction('table', 'q'), { kind: 'quit' });
  t.deepEqual(keyAction('table', 'C-c'), { kind: 'quit' });
  t.deepEqual(keyAction('table', 'escape'), { kind: 'clearFilterOrQuit' });
  t.deepEqual(keyAction('table', 'up'), { kind: 'move', by: -1 });
  t.deepEqual(keyAction('table', 'k'), { kind: 'move', by: -1 });
  t.deepEqual(keyAction('table', 'j'), { kind: 'move', by: 1 });
  t.deepEqual(keyAction('table', 'pagedown'), { kind: 'move', by: PAGE_ROWS });
  t.deepEqual(keyAction('table', 'g'), { kind: 'moveTo', to: 'first' });
  // G is 'S-g' on most terminals, and only the typed character on some
  t.deepEqual(keyAction('table', 'S-g'), { kind: 'moveTo', to: 'last' });
  t.deepEqual(keyAction('table', 'unknown-name', 'G'), { kind: 'moveTo', to: 'last' });
  t.deepEqual(keyAction('table', 's'), { kind: 'sort', step: 1 });
  t.deepEqual(keyAction('table', ','), { kind: 'sort', step: -1 });
  t.deepEqual(keyAction('table', 'S-,', '<'), { kind: 'sort', step: -1 });
  t.deepEqual(keyAction('table', 'r'), { kind: 'reverse' });
  t.deepEqual(keyAction('table', '/'), { kind: 'filterStart' });
  t.deepEqual(keyAction('table', 'return'), { kind: 'detail' });
  t.deepEqual(keyAction('table', 'space'), { kind: 'pause' });
  t.deepEqual(keyAction('table', '-'), { kind: 'speed', step: -1 });
  t.deepEqual(keyAction('table', 'f1'), { kind: 'help' });
  t.is(keyAction('table', 'z', 'z'), null);
});

test("the keys a person tries first, as in htop: F1 help, F3 search, F6 sort, F10 quit", (t) => {
  t.deepEqual(keyAction('table', 'f1'), { kind: 'help' });
  t.deepEqual(keyAction('table', 'f3'), { kind: 'filterStart' });
  t.deepEqual(keyAction('table', 'f6'), { kind: 'sort', step: 1 });
  t.deepEqual(keyAction('table', 'f10'), { kind: 'quit' });
  const help = helpLines(200).join('\n');
  for (const k of ['F1', 'F3', 'F6', 'F10']) t.regex(help, new RegExp(`\\b${k}\\b`), `the help names ${k}`);
});

test('Enter acts once: blessed reports it as return and again as enter', (t) => {
  for (const mode of ['table', 'filter', 'help', 'detail'] as const) t.is(keyAction(mode, 'enter'), null);
});

test('while typing a filter, keys are text', (t) => {
  t.deepEqual(keyAction('filter', 'q', 'q'), { kind: 'filterType', text: 'q' });
  t.deepEqual(keyAction('filter', '/', '/'), { kind: 'filterType', text: '/' });
  t.deepEqual(keyAction('filter', 'return'), { kind: 'filterKeep' });
  t.deepEqual(keyAction('filter', 'escape'), { kind: 'filterClear' });
  t.deepEqual(keyAction('filter', 'backspace', '\x7f'), { kind: 'filterBackspace' });
  t.is(keyAction('filter', 'up'), null);
  t.deepEqual(keyAction('filter', 'C-c'), { kind: 'quit' });
});

test('overlays: ?, F1, Esc or q close the help, Esc, Enter or q the detail view; the other keys scroll them or do nothing', (t) => {
  for (const mode of ['help', 'detail'] as const) {
    t.deepEqual(keyAction(mode, 'escape'), { kind: 'closeOverlay' });
    t.deepEqual(keyAction(mode, 'q', 'q'), { kind: 'closeOverlay' });
    t.deepEqual(keyAction(mode, 'j', 'j'), { kind: 'scroll', by: 1, unit: 'line' });
    t.deepEqual(keyAction(mode, 'down'), { kind: 'scroll', by: 1, unit: 'line' });
    t.deepEqual(keyAction(mode, 'k', 'k'), { kind: 'scroll', by: -1, unit: 'line' });
    t.deepEqual(keyAction(mode, 'up'), { kind: 'scroll', by: -1, unit: 'line' });
    t.deepEqual(keyAction(mode, 'pagedown'), { kind: 'scroll', by: 1, unit: 'page' });
    t.deepEqual(keyAction(mode, 'pageup'), { kind: 'scroll', by: -1, unit: 'page' });
    t.deepEqual(keyAction(mode, 'home'), { kind: 'scrollTo', to: 'first' });
    t.deepEqual(keyAction(mode, 'end'), { kind: 'scrollTo', to: 'last' });
    t.deepEqual(keyAction(mode, 'unknown-name', 'G'), { kind: 'scrollTo', to: 'last' });
    t.is(keyAction(mode, 'x', 'x'), null, 'x does nothing');
  }
  t.deepEqual(keyAction('help', '?', '?'), { kind: 'closeOverlay' });
  t.deepEqual(keyAction('help', 'f1'), { kind: 'closeOverlay' });
  t.deepEqual(keyAction('detail', 'return'), { kind: 'closeOverlay' });
});

test('the help lists every key line, aligned, wrapped to its width (no line longer)', (t) => {
  for (const width of [56, 76, 96, 196]) {
    const help = helpLines(width);
    t.true(help.every((l) => l.length <= width), `every line fits ${width}`);
    for (const [keys] of KEY_HELP) t.true(help.some((l) => l.startsWith(`  ${keys} `)), keys);
    const starts = help.filter((l) => KEY_HELP.some(([k]) => l.startsWith(`  ${k} `)))
      .map((l) => l.search(/ {2,}\S/) + l.slice(l.search(/ {2,}\S/)).search(/\S/));
    t.is(new Set(starts).size, 1);
    t.false(help.some((l) => l.includes('~ ') && !l.includes('~ marks an estimate')), 'no ~ but the estimate note');
  }
});

test("the help's key column, derived from the key table, names keys as a person reads them", (t) => {
  const tokens = KEY_HELP.filter(([k]) => k !== 'mouse').flatMap(([k]) => k.split(', ').flatMap((part) => (part === '/' ? [part] : part.split('/'))));
  // one character as typed, or a label (Up, PgDn, F6, Esc, Ctrl-C): never blessed's own names (pagedown, f6, S-g)
  for (const token of tokens) t.true(token.length === 1 || /^[A-Z][A-Za-z0-9-]*$/.test(token), token);
  const help = KEY_HELP.map(([k]) => k).join(', ');
  for (const key of ['Up', 'Down', 'k', 'j', 'PgUp', 'PgDn', 'Home', 'End', 'g', 'G', 's', 'F6', 'r', 'F3', 'Enter', 'x', 'Space', '+', '-', 'F1', 'q', 'F10', 'Ctrl-C', 'Esc']) {
    t.true(help.split(/, |\//).includes(key), `${key} in ${help}`);
  }
});
