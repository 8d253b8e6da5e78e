/**
 * The help overlay: the keys (from the key table), the marks, the columns,
 * the header; wrapped to its width, scrolled like the table where it does not
 * fit.
 */
import blessed from 'blessed';
import { KEY_HELP } from '../keys';
import { cutWords, scrollWindow, wrapText } from '../viewmodel';
import { border, esc, panelStyle, type PanelContext } from './paint';

/** The legend, a paragraph a line (wrapped to the help's width). */
const LEGEND = [
  'Marks before a row: ! dropping now (in the last 2 s, or two frames), * dropped in the last minute, x closed (it stays two minutes); > is the selection.',
  'QUEUE (and the accept-queue gauges, and the detail view): the accept queue now against its limit, the listen() backlog as the kernel holds it ' +
    '(the Send-Q that ss -lnt shows). The kernel admits one more connection than that limit (per socket of a group) before it drops: ' +
    'a queue of 5/4 is full, the next connection is dropped.',
  'PEAK: the deepest since the previous frame. OLDEST: how long its oldest connection has waited, now. WAITP99: the 99th percentile of the wait ' +
    'from handshake to accept() in the last interval; each column of waits is in one unit (ms, or s once any is a second or more). ' +
    'ARR/S, ACC/S: connections into the queue and accepted from it per second. SYN/ACK: overflows by the path that dropped them. ' +
    'The sparklines span the time under them.',
  'The header: the kernel\'s ListenOverflows/s against what acceptq attributed; "unattributed" adds up every namespace\'s gaps ' +
    '(overflows, SYN-queue drops, cookies; either sign counts); the worst wait: the listener whose connections wait longest now ' +
    '(its oldest waiting one, or its wait p99 if that is longer). Where one address and port is listened on in two namespaces, ' +
    'the namespace follows it.',
  '~ marks an estimate, and only that: a listener\'s split (its namespace\'s total is exact), and the wait p50 and p99 ' +
    '(from a histogram; mean, min, max and oldest are exact); "estimate" in the header: some namespace\'s split is one now.',
];

/** The cut mark, in words (the help says what it is in the locale's own). */
const cutNote = (ascii: boolean) => `${ascii ? '...' : '…'} marks text cut short to fit; an address's port is never cut.`;

/** The whole help text at a width: the key lines in two columns (their text wrapped beside the keys), then the legend. */
export function helpLines(width: number, ascii = false): string[] {
  const keyW = Math.max(...KEY_HELP.map(([k]) => k.length)) + 4;
  const pad = ' '.repeat(2 + keyW);
  const keys = KEY_HELP.flatMap(([k, what]) => {
    const lines = wrapText(what, Math.max(10, width - pad.length), '', Infinity, ascii);
    return lines.map((l, i) => (i ? pad : `  ${k.padEnd(keyW)}`) + l);
  });
  const para = (p: string) => wrapText(`  ${p}`, width, '  ', Infinity, ascii);
  return [...wrapText('acceptq dashboard: its keys, then what the marks, columns and header say', width, '  ', Infinity, ascii), '', ...keys, '', ...[...LEGEND, cutNote(ascii)].flatMap((p) => [...para(p), ''])].slice(0, -1);
}

export class HelpPanel {
  readonly el: blessed.Widgets.BoxElement;
  /** The first line shown. */
  private offset = 0;
  private total = 0;

  constructor(private ctx: PanelContext, top: number) {
    // covers the panels whole (their borders too), between the header and the footer; its lines are wrapped here, to its width
    this.el = blessed.box({
      parent: ctx.screen, top, left: 0, width: '100%', height: '100%-3', border, hidden: true, tags: true, wrap: false,
      label: ' help ', style: panelStyle(ctx),
    });
  }

  /** Rows of text inside the border. */
  private rows(): number {
    return Math.max(1, (this.el.height as number) - 2);
  }

  /** Scroll by lines (or pages of its height), or to its start or end. */
  scroll(by: number, unit: 'line' | 'page'): void {
    this.offset += unit === 'page' ? by * Math.max(1, this.rows() - 1) : by;
  }

  scrollTo(to: 'first' | 'last'): void {
    this.offset = to === 'first' ? 0 : this.total;
  }

  /** Opened again: from the top. */
  reset(): void {
    this.offset = 0;
  }

  draw(): void {
    const lines = helpLines(Math.max(20, (this.el.width as number) - 2), this.ctx.ascii);
    this.total = lines.length;
    const win = scrollWindow(lines, this.offset, this.rows());
    this.offset = win.offset;
    const label = win.mark ? `help: ${win.mark} (j/k, PgUp/PgDn scroll; Esc closes)` : 'help (Esc closes)';
    // inside the border, as a panel's title (blessed wraps a longer label onto the first line)
    this.el.setLabel(` ${esc(cutWords(label, Math.max(4, (this.el.width as number) - 6), this.ctx.ascii))} `);
    this.el.setContent(win.shown.map(esc).join('\n'));
  }
}
