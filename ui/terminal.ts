/**
 * The terminal's capabilities, as blessed reads them from terminfo, and
 * whether the dashboard can draw on it at all.
 *
 * blessed 0.1.81 reads only the legacy terminfo format, and finds the
 * extended capabilities (U8, E3, ...) only after a string table of even size.
 * ncurses 6.1 and later write entries with a number above 32767
 * (pairs#0x10000: xterm-256color, screen-256color, tmux-256color) in the
 * extended-number format; blessed misreads those and falls back on an entry
 * of its own (plain xterm for screen and tmux: 8 colours, xterm's sequences),
 * and for screen-256color it first prints "Error on
 * screen-256color.plab_norm: ..." into the terminal. Each entry is rewritten
 * in memory into the form blessed reads:
 * 16-bit numbers (clamped to 32767, as ncurses' legacy API reads them), the
 * string table padded to an even size. Nothing on disk changes.
 */
import path from 'node:path';

/** blessed's terminfo reader, the part used here (its package has no types for it). */
interface Tput {
  error: Error | null;
  strings: Record<string, string | undefined>;
}
interface TputClass {
  new (options: { terminal: string }): Tput;
  prototype: { parseTerminfo(data: Buffer, file: string): unknown };
  ipaths: Array<string | string[]>;
  _tprefix(paths: Array<string | string[]>, term: string, soft?: boolean): string | undefined;
}

const TputImpl = require('blessed/lib/tput') as TputClass;

const LEGACY_MAGIC = 0o432;
/** ncurses 6.1's extended-number format: 32-bit numbers. */
const WIDE_MAGIC = 0o1036;

/**
 * A compiled terminfo entry in the form blessed reads (see above); other data
 * (termcap, or not terminfo) is returned as it is.
 */
export function legacyTerminfo(data: Buffer): Buffer {
  if (data.length < 12) return data;
  const u16 = (at: number) => data.readUInt16LE(at);
  const magic = u16(0);
  if (magic !== LEGACY_MAGIC && magic !== WIDE_MAGIC) return data;
  const width = magic === WIDE_MAGIC ? 4 : 2;
  const parts: Buffer[] = [];
  /** n numbers at `at`, written as 16-bit ones; returns where they end. */
  const numbers = (at: number, n: number): number => {
    const out = Buffer.alloc(2 * n);
    for (let k = 0; k < n; k++) {
      const v = width === 4 ? data.readInt32LE(at + 4 * k) : data.readInt16LE(at + 2 * k);
      out.writeInt16LE(Math.max(-32768, Math.min(32767, v)), 2 * k);
    }
    parts.push(out);
    return at + width * n;
  };
  const [names, bools, nums, strings, table] = [u16(2), u16(4), u16(6), u16(8), u16(10)];
  const header = Buffer.from(data.subarray(0, 12));
  header.writeUInt16LE(LEGACY_MAGIC, 0);
  header.writeUInt16LE(table + (table % 2), 10); // the padding byte becomes part of the table
  parts.push(header);
  let at = 12 + names + bools + ((names + bools) % 2);
  parts.push(data.subarray(12, at));
  at = numbers(at, nums);
  const end = at + 2 * strings + table;
  parts.push(data.subarray(at, end));
  if (table % 2) parts.push(Buffer.alloc(1));
  at = end + (end % 2);
  // the extended capabilities (AX, U8, E3, ...): booleans, numbers, then strings and names as they are
  if (at + 10 <= data.length) {
    const [extBools, extNums] = [u16(at), u16(at + 2)];
    const numsAt = at + 10 + extBools + (extBools % 2);
    parts.push(data.subarray(at, numsAt));
    parts.push(data.subarray(numbers(numsAt, extNums)));
  }
  return Buffer.concat(parts);
}

let installed = false;

/** Makes blessed read every entry through legacyTerminfo (once per process). */
export function installTerminfoReader(): void {
  if (installed) return;
  installed = true;
  const parse = TputImpl.prototype.parseTerminfo;
  TputImpl.prototype.parseTerminfo = function (data: Buffer, file: string) {
    return parse.call(this, legacyTerminfo(data), file);
  };
}

/**
 * Runs fn with console.error silenced: blessed writes its compiler's dump of
 * a capability it cannot compile there (then uses its own xterm entry), which
 * would land in the terminal under the dashboard.
 */
export function quietly<T>(fn: () => T): T {
  const error = console.error;
  console.error = () => undefined;
  try {
    return fn();
  } finally {
    console.error = error;
  }
}

/** blessed's reading of an entry, the part its line drawing depends on. */
export interface LineDrawingCaps {
  numbers: Record<string, unknown>;
  info: unknown;
  brokenACS: boolean;
  detectBrokenACS(info: unknown): boolean;
}

/**
 * Where the locale is not UTF-8: lines from the terminal's alternate
 * character set, as ncurses draws them there, or ASCII where that set is a
 * PC one (the Linux console). U8#1 (screen, tmux, linux) says that a terminal
 * in UTF-8 mode draws no ACS; blessed would take it to write UTF-8 lines in
 * any locale.
 */
export function nonUtf8LineDrawing(tput: LineDrawingCaps): void {
  delete tput.numbers.U8;
  tput.brokenACS = tput.detectBrokenACS(tput.info);
}

/** The terminal type the dashboard draws for: $TERM, xterm where it is not set. */
export function terminalName(env: NodeJS.ProcessEnv = process.env): string {
  return env.TERM || 'xterm';
}

/**
 * Why the dashboard cannot draw on this terminal type (one line), or null
 * when it can: no terminfo entry of that exact name (blessed would take a
 * similar name's, or xterm's), or one without cursor addressing (dumb).
 */
export function terminalProblem(term: string): string | null {
  // blessed looks entries up in lower case, and takes a name with a '/' as a file
  const name = term.toLowerCase();
  if (name.includes(path.sep) || !TputImpl._tprefix(TputImpl.ipaths, name)) {
    return `acceptq: no terminfo entry for TERM=${term}: set TERM to your terminal's type, or use --once or --json`;
  }
  installTerminfoReader();
  const tput = quietly(() => new TputImpl({ terminal: name }));
  if (!tput.strings.cursor_address) {
    return `acceptq: TERM=${term} cannot draw the dashboard (no cursor movement): use --once or --json`;
  }
  return null;
}
