/** The footer: the main keys that fit (quit and help always), or the filter being typed. */
import blessed from 'blessed';
import type { PanelContext } from './paint';

/** A key hint: its text (ASCII where that differs), how much it matters (10: always shown). */
interface Hint {
  text: string;
  ascii?: string;
  pri: number;
  /** Only while the header shows a notice. */
  notice?: boolean;
}

// in their order on the line; the least important go first, whole, when the terminal is narrow
const HINTS: Hint[] = [
  { text: 'q quit', pri: 10 },
  { text: '↑↓/jk move', ascii: 'up/dn/jk move', pri: 5 },
  { text: '</>/s sort', pri: 6 },
  { text: 'r reverse', pri: 3 },
  { text: '/ filter', pri: 7 },
  { text: 'Enter detail', pri: 8 },
  { text: 'p pause', pri: 4 },
  { text: 'x dismiss', pri: 9, notice: true },
  { text: '? help', pri: 10 },
];

/** The hints that fit in width, two spaces apart after a leading space; quit and help are kept whatever the width. */
export function footerKeys(width: number, ascii: boolean, notice: boolean): string {
  const hints = HINTS.filter((h) => notice || !h.notice).map((h) => ({ ...h, text: (ascii && h.ascii) || h.text }));
  const kept = new Set<Hint>();
  let used = -1; // a leading space, two between hints
  for (const h of [...hints].sort((a, b) => b.pri - a.pri)) {
    if (h.pri >= 10 || used + 2 + h.text.length <= width) {
      kept.add(h);
      used += 2 + h.text.length;
    }
  }
  return ' ' + hints.filter((h) => kept.has(h)).map((h) => h.text).join('  ');
}

export class FooterPanel {
  readonly el: blessed.Widgets.BoxElement;

  constructor(private ctx: PanelContext) {
    const style = ctx.color ? { fg: 'black', bg: 'cyan' } : { inverse: true };
    this.el = blessed.box({ parent: ctx.screen, left: 0, height: 1, width: '100%', tags: false, style });
  }

  draw(): void {
    const draft = this.ctx.filterDraft();
    if (draft !== null) {
      this.el.setContent(` filter: ${draft}_   (Enter keep, Esc clear)`);
      return;
    }
    this.el.setContent(footerKeys(this.ctx.screen.width as number, this.ctx.ascii, !!this.ctx.state.notice(this.ctx.nowMs)));
  }
}
