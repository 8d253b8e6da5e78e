/** The accept-queue gauges: the fullest queues, each a bar against its limit (the listen() backlog). */
import blessed from 'blessed';
import { endpoint } from '../../src/model/address';
import { SLOW_WAIT_MS } from '../../src/model/diagnosis';
import { durationIn, queueText, unitFor } from '../../src/model/view';
import { ambiguousEndpoints, bar, endpointSuffix, fitEndpoint } from '../viewmodel';

/** The least of a namespace that tells two like addresses apart: " netns …239". */
const SUFFIX_MIN = 11;
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
    // the fullest queues among the rows the filter admits, from the table's sorted rows in one pass;
    // each against its limit, the listen() backlog (as the table and ss show it)
    const shown = state.gaugeRows(lines);
    const ambiguous = ambiguousEndpoints(state.rows());
    // one unit for the oldest waits shown
    const unit = unitFor(shown.map((r) => r.oldestWaitMs));
    const cells = shown.map((r) => {
      const oldest = r.oldestWaitMs ?? null;
      return {
        r, ep: endpoint(r.family, r.address, r.port), suffix: endpointSuffix(r, ambiguous), depth: queueText(r),
        oldest: `oldest ${durationIn(oldest, unit)}`, slow: oldest !== null && oldest >= SLOW_WAIT_MS, more: `pk ${r.peakBacklog} syn ${r.synBacklog}`,
      };
    });
    const widest = (f: (c: (typeof cells)[number]) => string) => Math.max(0, ...cells.map((c) => f(c).length));
    const [epW, sufW, depthW, oldW, moreW] = [widest((c) => c.ep), widest((c) => c.suffix), widest((c) => c.depth), widest((c) => c.oldest), widest((c) => c.more)];
    // by what matters most: the address whole (the bar shortens first), the depth, what tells two like addresses
    // apart (their namespace, at least its last digits), the oldest wait, the rest of the namespace, the peak and SYN queue
    const MIN_BAR = 4;
    let room = inner - (3 + MIN_BAR + 1 + depthW); // for the name and what follows the depth: " [" bar "] " depth
    const old = epW + Math.min(sufW, SUFFIX_MIN) + 1 + oldW <= room;
    if (old) room -= 1 + oldW;
    const more = epW + sufW + 1 + moreW + 4 <= room;
    if (more) room -= 1 + moreW;
    const nameW = Math.max(1, Math.min(epW + sufW, room));
    const tailW = depthW + (old ? 1 + oldW : 0) + (more ? 1 + moreW : 0);
    const barW = Math.max(MIN_BAR, Math.min(40, inner - nameW - 4 - tailW));
    const out = cells.map((c) => {
      const b = bar(c.r.backlog, c.r.maxBacklog, barW, ascii);
      // full: the next connection is dropped (the kernel admits one more than the limit)
      const full = c.r.backlog > c.r.maxBacklog;
      const oldest = esc(c.oldest.padEnd(oldW));
      return `${esc(fitEndpoint(c.ep, nameW, ascii, c.suffix).padEnd(nameW))} [${tag(this.ctx, full ? 'red-fg' : 'green-fg', b)}] ${c.depth.padEnd(depthW)}` +
        `${old ? ` ${c.slow ? tag(this.ctx, 'yellow-fg', oldest) : oldest}` : ''}${more ? ` ${c.more}` : ''}`;
    });
    if (!out.length && state.filter) out.push(`no open listener matches "${esc(state.filter)}"`);
    this.el.setContent(out.join('\n'));
  }
}
