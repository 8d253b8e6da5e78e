/** The accept-queue gauges: the fullest queues, each a bar against what it admits. */
import blessed from 'blessed';
import { endpoint } from '../../src/model/address';
import { SLOW_WAIT_MS } from '../../src/model/diagnosis';
import { duration } from '../../src/model/view';
import { bar } from '../viewmodel';
import { border, esc, panelStyle, setTitle, tag, type PanelContext } from './paint';

export class GaugesPanel {
  readonly el: blessed.Widgets.BoxElement;

  constructor(private ctx: PanelContext) {
    this.el = blessed.box({ parent: ctx.screen, label: ' accept queues ', border, tags: true, wrap: false, style: panelStyle(ctx) });
  }

  draw(): void {
    const { state, ascii } = this.ctx;
    const s = state.latest;
    const inner = (this.el.width as number) - 2;
    const lines = (this.el.height as number) - 2;
    setTitle(this.ctx, this.el, 'accept queues');
    if (!s) return;
    // the fullest queues among the rows the filter admits, from the table's sorted rows in one pass
    const cells = state.gaugeRows(lines).map((r) => {
      const cap = r.maxBacklog + Math.max(r.sockets, 1);
      const oldest = r.oldestWaitMs ?? null;
      return {
        r, cap, name: endpoint(r.family, r.address, r.port), depth: `${r.backlog}/${cap}`,
        oldest: `oldest ${duration(oldest)}`, slow: oldest !== null && oldest >= SLOW_WAIT_MS, more: `pk ${r.peakBacklog} syn ${r.synBacklog}`,
      };
    });
    const widest = (k: 'name' | 'depth' | 'oldest' | 'more') => Math.max(0, ...cells.map((c) => c[k].length));
    const [depthW, oldW, moreW] = [widest('depth'), widest('oldest'), widest('more')];
    const want = Math.min(22, Math.max(10, Math.floor(inner * 0.35)), Math.max(10, widest('name')));
    // beside the depth always its oldest wait; the peak and the SYN queue where the bar keeps 8 cells
    const core = 1 + depthW + 1 + oldW;
    const more = inner - want - 3 - (core + 1 + moreW) >= 8;
    const tailW = core + (more ? 1 + moreW : 0);
    const nameW = Math.max(8, Math.min(want, inner - 3 - tailW - 4));
    const barW = Math.max(4, inner - nameW - 3 - tailW);
    const out = cells.map((c) => {
      const b = bar(c.r.backlog, c.cap, barW, ascii);
      const full = c.r.backlog >= c.cap;
      const oldest = esc(c.oldest.padEnd(oldW));
      return `${esc(c.name.padEnd(nameW).slice(0, nameW))} [${tag(this.ctx, full ? 'red-fg' : 'green-fg', b)}] ${c.depth.padEnd(depthW)} ` +
        `${c.slow ? tag(this.ctx, 'yellow-fg', oldest) : oldest}${more ? ` ${c.more}` : ''}`;
    });
    if (!out.length && state.filter) out.push(`no open listener matches "${esc(state.filter)}"`);
    this.el.setContent(out.join('\n'));
  }
}
