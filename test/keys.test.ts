// The dashboard's keys: what each does in each mode (ui/keys.ts), as the help describes them.
import test from 'ava';
import { keyAction, KEY_HELP, PAGE_ROWS } from '../ui/keys';
import { helpText } from '../ui/panels/help';

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

test('overlays: any key closes the help; Esc, Enter or q the detail view', (t) => {
  t.deepEqual(keyAction('help', 'x', 'x'), { kind: 'closeOverlay' });
  t.deepEqual(keyAction('detail', 'q'), { kind: 'closeOverlay' });
  t.deepEqual(keyAction('detail', 'escape'), { kind: 'closeOverlay' });
  t.deepEqual(keyAction('detail', 'return'), { kind: 'closeOverlay' });
  t.is(keyAction('detail', 'j'), null);
});

test('the help lists every key line, aligned', (t) => {
  const help = helpText().split('\n');
  for (const [keys] of KEY_HELP) t.true(help.some((l) => l.startsWith(`  ${keys} `)), keys);
  const starts = help.filter((l) => /^  \S.* {2,}\S/.test(l) && KEY_HELP.some(([k]) => l.startsWith(`  ${k} `)))
    .map((l) => l.search(/ {2,}\S/) + l.slice(l.search(/ {2,}\S/)).search(/\S/));
  t.is(new Set(starts).size, 1);
});
