/**
 * Every key of the dashboard, in one table: what it does in each mode, and
 * the help's lines about it. keyAction is pure (a key and a mode in, an
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
const TABLE_KEYS: Array<{ names: string[]; chars?: string[]; action: Action }> = [
  { names: ['q'], action: { kind: 'quit' } },
  { names: ['escape'], action: { kind: 'clearFilterOrQuit' } },
  { names: ['up', 'k'], action: { kind: 'move', by: -1 } },
  { names: ['down', 'j'], action: { kind: 'move', by: 1 } },
  { names: ['pageup'], action: { kind: 'move', by: -PAGE_ROWS } },
  { names: ['pagedown'], action: { kind: 'move', by: PAGE_ROWS } },
  { names: ['home', 'g'], action: { kind: 'moveTo', to: 'first' } },
  { names: ['end', 'S-g'], chars: ['G'], action: { kind: 'moveTo', to: 'last' } },
  { names: ['<', ','], chars: ['<'], action: { kind: 'sort', step: -1 } },
  { names: ['>', '.', 's'], chars: ['>'], action: { kind: 'sort', step: 1 } },
  { names: ['r'], action: { kind: 'reverse' } },
  { names: ['/'], action: { kind: 'filterStart' } },
  { names: ['return'], action: { kind: 'detail' } },
  { names: ['x'], action: { kind: 'dismissNotice' } },
  { names: ['p', 'space'], action: { kind: 'pause' } },
  { names: ['+', '='], chars: ['+'], action: { kind: 'speed', step: 1 } },
  { names: ['-'], action: { kind: 'speed', step: -1 } },
  { names: ['?', 'f1'], chars: ['?'], action: { kind: 'help' } },
];

/** The help's lines about keys: what to press, what it does. */
export const KEY_HELP: Array<[keys: string, what: string]> = [
  ['Up/Down, j/k', 'move the selection (PgUp/PgDn, Home/End, g/G); until you move it,\nit follows the worst listener (the top row)'],
  ['< and >, s', 'previous / next sort column (marked v or ^ in the table header)'],
  ['r', 'reverse the sort'],
  ['/', 'filter by text (address, port, comm, pid, namespace, service);\nEnter keeps it, Esc clears it. It narrows every panel; their titles say so'],
  ['Enter', 'the selected listener\'s detail: why it overflows and on what figures,\nbacklog, sysctls, waits, overflows, accepts, arrivals (Esc closes it)'],
  ['x', 'dismiss the header\'s notice of a listener that started dropping\n(opening its detail view dismisses it too)'],
  ['p or Space', 'pause / resume'],
  ['+ and -', 'replay speed (when replaying a recording)'],
  ['? or F1', 'this help'],
  ['q, Esc, Ctrl-C', 'quit'],
  ['mouse', 'click a row to select it, a column header to sort by it (again to\nreverse); the wheel moves the selection'],
];

/**
 * What a key does in a mode; null: nothing. name is blessed's full key name,
 * ch the character typed (if any).
 */
export function keyAction(mode: KeyMode, name: string, ch?: string): Action | null {
  // blessed reports Enter twice, as 'return' and again as 'enter': act once
  if (name === 'enter') return null;
  if (name === 'C-c') return { kind: 'quit' };
  switch (mode) {
    case 'filter':
      if (name === 'return') return { kind: 'filterKeep' };
      if (name === 'escape') return { kind: 'filterClear' };
      if (name === 'backspace') return { kind: 'filterBackspace' };
      if (ch && ch.length === 1 && ch >= ' ' && ch !== '\x7f') return { kind: 'filterType', text: ch };
      return null;
    case 'help':
      return { kind: 'closeOverlay' };
    case 'detail':
      return name === 'escape' || name === 'return' || name === 'q' ? { kind: 'closeOverlay' } : null;
    case 'table':
      return (TABLE_KEYS.find((k) => k.names.includes(name)) ?? TABLE_KEYS.find((k) => ch !== undefined && k.chars?.includes(ch)))?.action ?? null;
  }
}
