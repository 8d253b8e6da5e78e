/**
 * The overflow-rate sparklines: every listener's attributed total, and the
 * selected listener's, over a time axis (blessed-contrib's widget, one a
 * series, so that two and the axis fit the panel at 80x24).
 */
import blessed from 'blessed';
import contribSparkline from 'blessed-contrib/lib/widget/sparkline';
import { endpoint } from '../../src/model/address';
import { ambiguousEndpoints, endpointSuffix, fitEndpoint, HISTORY, sparkRange, timeAxis } from '../viewmodel';
import { border, panelStyle, setSeries, setTitle, sparkOptions, type PanelContext } from './paint';

export class SparklinesPanel {
  readonly el: blessed.Widgets.BoxElement;
  private total: any;
  private selected: any;
  private axis: blessed.Widgets.BoxElement;

  constructor(private ctx: PanelContext) {
    this.el = blessed.box({ parent: ctx.screen, label: ' overflows/s ', border, tags: true, wrap: false, style: panelStyle(ctx) });
    this.total = contribSparkline(sparkOptions(ctx, this.el, 2));
    this.selected = contribSparkline(sparkOptions(ctx, this.el, 2));
    // the widget puts a blank line after each series: the axis is a line of its own under them
    this.axis = blessed.box({ parent: this.el, top: 0, left: 0, width: 10, height: 1, tags: false, wrap: false });
  }

  draw(): void {
    const { state } = this.ctx;
    // as many frames as fit (at most the history kept), the newest over "now" of the axis;
    // the widget draws its width less 2 points
    const inner = Math.max(6, (this.el.width as number) - 2);
    const points = Math.min(inner - 2, HISTORY);
    const lines = Math.max(1, (this.el.height as number) - 2);
    const sel = state.selected();
    const filtered = !!state.filter;
    setTitle(this.ctx, this.el, 'overflows/s');
    const total = filtered ? state.filteredTotalValues(points) : state.total.values().slice(-points);
    // two lines a series (its title, its line), a blank line between them where there is room, the axis under the last
    const gap = lines >= 6 ? 1 : 0;
    const showSel = !!sel && lines >= 5 + gap;
    for (const w of [this.total, this.selected]) {
      w.width = points + 2;
      w.left = 0;
    }
    this.total.top = 0;
    const who = filtered || this.ctx.fixedFilter ? 'matching' : 'all';
    setSeries(this.ctx, this.total, [{ name: `${who} listeners (attributed)`, values: total }], points);
    this.selected.hidden = !showSel;
    if (showSel) {
      this.selected.top = 2 + gap;
      const values = state.historyOf(sel!.id)?.values().slice(-points) ?? [];
      // the address whole (its port never cut), with its namespace where another row has the same one
      const room = points + 1 - sparkRange(values, points).length - 1 - ' (selected)'.length;
      const name = fitEndpoint(endpoint(sel!.family, sel!.address, sel!.port), room, this.ctx.ascii, endpointSuffix(sel!, ambiguousEndpoints(state.rows())));
      setSeries(this.ctx, this.selected, [{ name: `${name} (selected)`, values }], points);
    }
    this.axis.top = showSel ? 4 + gap : 2;
    this.axis.width = points;
    this.axis.setContent(timeAxis(points, this.ctx.source.intervalS));
  }
}
