/**
 * The listener table: the sorted, filtered rows that fit, the selection kept
 * in view, marks and colours by activity; and which row or column header a
 * mouse click hit.
 */
import blessed from 'blessed';
import type { ListenerRow } from '../../src/model/types';
import { activity, columnAt, columnUnits, fitColumns, headerLine, rowLine, type Column } from '../columns';
import { ambiguousEndpoints, endpointSuffix } from '../viewmodel';
import { border, esc, panelStyle, setTitle, tag, type PanelContext } from './paint';

/** What a click on the table hit: a row, a column header, or nothing. */
export interface TableHit {
  row?: ListenerRow;
  column?: Column;
}

export class TablePanel {
  readonly el: blessed.Widgets.BoxElement;
  /** The first row shown. */
  private scroll = 0;

  constructor(private ctx: PanelContext) {
    this.el = blessed.box({ parent: ctx.screen, label: ' listeners ', border, tags: true, wrap: false, style: panelStyle(ctx) });
  }

  /** Rows from many hosts: the HOST column shows. */
  private fleet(): boolean {
    return !!this.ctx.state.latest?.hosts;
  }

  /** Rows that fit under the column header. */
  private visible(): number {
    return Math.max(1, (this.el.height as number) - 2 - 1);
  }

  draw(): void {
    const { state, nowMs } = this.ctx;
    // the snapshot's time: what the rows say is as of then (a replay, a pause)
    const now = state.latest?.timeMs ?? Date.now();
    const visible = this.visible();
    const cols = fitColumns((this.el.width as number) - 2, this.fleet());
    const rows = state.rows();
    const idx = rows.findIndex((r) => r.id === state.selectedId);
    if (idx >= 0) {
      if (idx < this.scroll) this.scroll = idx;
      if (idx >= this.scroll + visible) this.scroll = idx - visible + 1;
    }
    this.scroll = Math.max(0, Math.min(this.scroll, Math.max(0, rows.length - visible)));
    const t = (style: string, s: string) => tag(this.ctx, style, s);
    const lines = [t('bold', esc(headerLine(cols, state.sortKey, state.reverse, this.ctx.ascii)))];
    const shown = rows.slice(this.scroll, this.scroll + visible);
    // one unit a column of waits, over the rows shown
    const units = columnUnits(cols, shown);
    const ambiguous = ambiguousEndpoints(rows);
    for (const r of shown) {
      // the marks ('!' dropping now, '*' recently, 'x' closed) say it without colour too
      const act = activity(r, now, nowMs);
      let line = esc(rowLine(cols, r, r.id === state.selectedId, now, nowMs, units, this.ctx.ascii, endpointSuffix(r, ambiguous)));
      if (act === 'now') line = t('red-fg', t('bold', line));
      else if (act === 'recent') line = t('yellow-fg', line);
      else if (act === 'closed' || act === 'down') line = t('gray-fg', line);
      if (r.id === state.selectedId) line = t('inverse', line);
      lines.push(line);
    }
    if (!rows.length) lines.push(state.filter ? `  no listener matches "${esc(state.filter)}"` : '  no TCP listeners yet');
    setTitle(this.ctx, this.el, `listeners${rows.length ? ` ${idx + 1}/${rows.length}` : ''}`);
    this.el.setContent(lines.join('\n'));
  }

  /** The row, or the column header, under a point of the screen. */
  hit(x: number, y: number): TableHit {
    const b = 1; // the border
    const line = y - (this.el.atop as number) - b;
    const col = x - (this.el.aleft as number) - b;
    const inner = (this.el.width as number) - 2 * b;
    if (line < 0 || col < 0 || col >= inner) return {};
    if (line === 0) return { column: columnAt(fitColumns(inner, this.fleet()), col) };
    if (line > this.visible()) return {};
    return { row: this.ctx.state.rows()[this.scroll + line - 1] };
  }
}
