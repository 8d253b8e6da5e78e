/**
 * Every key of the dashboard, in one table: what it does in each mode, and
 * the help's lines about it, derived from the table. keyAction is pure (a key and a mode in, an
 * action out); the dashboard applies the action.
 */

/** What the dashboard shows on top of the panels: it decides what a key means. */
export type KeyMode = 'table' | 'filter' | 'help' | 'detail';

export type Action =
  | { kind: 'quit' }
  | { kind: 'move'; by: number }
  | { kind: 'moveTo'; to: 'first' | 'last' }
  | { kind: 'sort'; step: 1 | -1 }
  | { kind: 'reverse' }
  | { kind: 'filterStart' }
  | { kind: 'filterKeep' }
  | { kind: 'filterClear' }
  | { kind: 'filterType'; text: string }
  | { kind: 'filterBackspace' }
  /** Esc on the table: clear the typed filter, or quit when there is none. */
  | { kind: 'clearFilterOrQuit' }
  | { kind: 'detail' }
  | { kind: 'closeOverlay' }
  /** Scroll the overlay (help, detail) by lines or pages, or to its first or last line. */
  | { kind: 'scroll'; by: number; unit: 'line' | 'page' }
  | { kind: 'scrollTo'; to: 'first' | 'last' }
  | { kind: 'dismissNotice' }
  | { kind: 'pause' }
  | { kind: 'speed'; step: 1 | -1 }
  | { kind: 'help' };

/** Rows PgUp/PgDn move the selection by. */
export const PAGE_ROWS = 10;
/** Rows the mouse wheel moves the selection by, per step. */
export const WHEEL_ROWS = 3;

/**
 * The table's keys: blessed's key names (key.full, e.g. 'S-g') and, for
 * keys blessed names differently across terminals, the character typed.
 */
type KeyTable = Array<{ names: string[]; chars?: string[]; action: Action }>;

/** A key's action in a table of keys: by blessed's name, else by the character typed. */
function lookup(keys: KeyTable, name: string, ch?: string): Action | null {
  return (keys.find((k) => k.names.includes(name)) ?? keys.find((k) => ch !== undefined && k.chars?.includes(ch)))?.action ?? null;
}

/** Keys that scroll an overlay (the help, the detail view) that does not fit, as in the table. */
const SCROLL_KEYS: KeyTable = [
  { names: ['up', 'k'], action: { kind: 'scroll', by: -1, unit: 'line' } },
  { names: ['down', 'j'], action: { kind: 'scroll', by: 1, unit: 'line' } },
  { names: ['pageup'], action: { kind: 'scroll', by: -1, unit: 'page' } },
  { names: ['pagedown', 'space'], action: { kind: 'scroll', by: 1, unit: 'page' } },
  { names: ['home', 'g'], action: { kind: 'scrollTo', to: 'first' } },
  { names: ['end', 'S-g'], chars: ['G'], action: { kind: 'scrollTo', to: 'last' } },
];

/** Keys that close an overlay: the help's, the detail view's (the other keys scroll it, or do nothing). */
const CLOSE_KEYS: Record<'help' | 'detail', KeyTable> = {
  help: [{ names: ['escape', '?', 'f1', 'q'], chars: ['?'], action: { kind: 'closeOverlay' } }],
  detail: [{ names: ['escape', 'return', 'q'], action: { kind: 'closeOverlay' } }],
};

/** Ctrl-C quits whatever the mode. */
const QUIT_ANYWHERE = 'C-c';

/** How the help writes blessed's key names. */
const KEY_LABELS: Record<string, string> = {
  up: 'Up', down: 'Down', pageup: 'PgUp', pagedown: 'PgDn', home: 'Home', end: 'End', 'S-g': 'G', escape: 'Esc',
  return: 'Enter', space: 'Space', f1: 'F1', f3: 'F3', f6: 'F6', f10: 'F10', [QUIT_ANYWHERE]: 'Ctrl-C',
};

/**
 * A table's keys as the help writes them: each key's first names together,
 * then its second names, and so on ("Up/Down, k/j" for up or k, down or j).
 */
function keysLabel(keys: KeyTable): string {
  const label = (n: string) => KEY_LABELS[n] ?? n;
  const depth = Math.max(...keys.map((k) => k.names.length));
  return Array.from({ length: depth }, (_, i) => keys.flatMap((k) => (k.names[i] === undefined ? [] : [label(k.names[i])])).join('/')).join(', ');
}

const SCROLL_HELP = `${keysLabel(SCROLL_KEYS)} scroll it`;

/**
 * The table's keys, in groups of one help line each: the keys and what they
 * do are written once, here; the table and the help both come from it.
 * The function keys as htop has them: F1 help, F3 search (the filter), F6
 * sort, F10 quit.
 */
const TABLE_GROUPS: Array<{ what: string; keys: KeyTable }> = [
  {
    what: 'move the selection; until you move it, it follows the worst listener (the top row)',
    keys: [
      { names: ['up', 'k'], action: { kind: 'move', by: -1 } },
      { names: ['down', 'j'], action: { kind: 'move', by: 1 } },
    ],
  },
  {
    what: 'move it a page, or to the first or last row',
    keys: [
      { names: ['pageup'], action: { kind: 'move', by: -PAGE_ROWS } },
      { names: ['pagedown'], action: { kind: 'move', by: PAGE_ROWS } },
      { names: ['home', 'g'], action: { kind: 'moveTo', to: 'first' } },
      { names: ['end', 'S-g'], chars: ['G'], action: { kind: 'moveTo', to: 'last' } },
    ],
  },
  {
    what: 'previous / next sort column (marked v or ^ after its title in the table header)',
    keys: [
      { names: ['<', ','], chars: ['<'], action: { kind: 'sort', step: -1 } },
      { names: ['>', '.', 's', 'f6'], chars: ['>'], action: { kind: 'sort', step: 1 } },
    ],
  },
  { what: 'reverse the sort', keys: [{ names: ['r'], action: { kind: 'reverse' } }] },
  {
    what: 'filter by text (address, port, comm, pid, namespace, service); Enter keeps it, Esc clears it. It narrows every panel; their titles say so',
    keys: [{ names: ['/', 'f3'], action: { kind: 'filterStart' } }],
  },
  {
    what: `the selected listener's detail: why it overflows and on what figures, queue and limit, sysctls, waits, overflows, accepts, arrivals, recent events (${SCROLL_HELP}; ${keysLabel(CLOSE_KEYS.detail)} close it)`,
    keys: [{ names: ['return'], action: { kind: 'detail' } }],
  },
  {
    what: "dismiss the header's notice of a listener that started dropping (opening its detail view dismisses it too)",
    keys: [{ names: ['x'], action: { kind: 'dismissNotice' } }],
  },
  { what: 'pause / resume', keys: [{ names: ['p', 'space'], action: { kind: 'pause' } }] },
  {
    what: 'replay speed (when replaying a recording)',
    keys: [
      { names: ['+', '='], chars: ['+'], action: { kind: 'speed', step: 1 } },
      { names: ['-'], action: { kind: 'speed', step: -1 } },
    ],
  },
  {
    what: `this help (${SCROLL_HELP}; ${keysLabel(CLOSE_KEYS.help)} close it)`,
    keys: [{ names: ['?', 'f1'], chars: ['?'], action: { kind: 'help' } }],
  },
  { what: 'quit', keys: [{ names: ['q', 'f10', QUIT_ANYWHERE], action: { kind: 'quit' } }] },
  { what: 'clear the filter, or quit when there is none', keys: [{ names: ['escape'], action: { kind: 'clearFilterOrQuit' } }] },
];

const TABLE_KEYS: KeyTable = TABLE_GROUPS.flatMap((g) => g.keys);

/** The help's lines about keys: what to press, what it does (one line each; the help wraps them to its width). */
export const KEY_HELP: Array<[keys: string, what: string]> = [
  ...TABLE_GROUPS.map((g): [string, string] => [keysLabel(g.keys), g.what]),
  ['mouse', 'click a row to select it, a column header to sort by it (again to reverse); the wheel moves the selection'],
];

/**
 * What a key does in a mode; null: nothing. name is blessed's full key name,
 * ch the character typed (if any).
 */
export function keyAction(mode: KeyMode, name: string, ch?: string): Action | null {
  // blessed reports Enter twice, as 'return' and again as 'enter': act once
  if (name === 'enter') return null;
  if (name === QUIT_ANYWHERE) return { kind: 'quit' };
  switch (mode) {
    case 'filter':
      if (name === 'return') return { kind: 'filterKeep' };
      if (name === 'escape') return { kind: 'filterClear' };
      if (name === 'backspace') return { kind: 'filterBackspace' };
      if (ch && ch.length === 1 && ch >= ' ' && ch !== '\x7f') return { kind: 'filterType', text: ch };
      return null;
    case 'help':
    case 'detail':
      return lookup(CLOSE_KEYS[mode], name, ch) ?? lookup(SCROLL_KEYS, name, ch);
    case 'table':
      return lookup(TABLE_KEYS, name, ch);
  }
}
