/** The footer: the main keys, or the filter being typed. */
import blessed from 'blessed';
import type { PanelContext } from './paint';

const KEYS = ' q quit  ↑↓/jk move  </> sort  s sort  r reverse  / filter  Enter detail  p pause  ? help';
const KEYS_ASCII = KEYS.replace('↑↓', 'up/dn');

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
    let keys = this.ctx.ascii ? KEYS_ASCII : KEYS;
    if (this.ctx.state.notice()) keys = keys.replace('  ? help', '  x dismiss  ? help');
    this.el.setContent(keys.slice(0, this.ctx.screen.width as number));
  }
}
