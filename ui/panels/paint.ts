/**
 * What every panel draws with: the screen, the view model, the source's
 * description, and the few text helpers (escaping, colour tags, titles,
 * sparkline series, header lines that fit) they share.
 */
import blessed from 'blessed';
import type { StreamMeta } from '../../src/model/types';
import { asciiBlocks, cut, cutWords, sparkRange, sparkSeries, type DashboardState } from '../viewmodel';

/** Where the snapshots come from, as the header and the time axes need it. */
export interface SourceInfo {
  live: boolean;
  meta: StreamMeta;
  /** Seconds between snapshots: the run's interval, or the recording's. */
  intervalS: number;
  /** The interval the command line asked for (the header says it). */
  configuredS: number;
}

export interface PanelContext {
  screen: blessed.Widgets.Screen;
  state: DashboardState;
  source: SourceInfo;
  /** Plain ASCII: the locale is not UTF-8. */
  ascii: boolean;
  color: boolean;
  /** The command line's filter in words ('' for none). */
  fixedFilter: string;
  /** When the dashboard started (Date.now()). */
  startedMs: number;
  /** A row drops "now" if it dropped within this many ms. */
  nowMs: number;
  /** The typed filter as it is being edited, or null when not editing. */
  filterDraft: () => string | null;
}

/** Line borders and their colour: every framed panel looks the same. */
export const border = { type: 'line' as const };
export const panelStyle = (ctx: PanelContext) => (ctx.color ? { border: { fg: 'cyan' }, label: { fg: 'cyan' } } : {});

export const esc = (s: string) => blessed.escape(s);

/** s in blessed's colour tag t, or plain without colour. */
export const tag = (ctx: PanelContext, t: string, s: string) => (ctx.color ? `{${t}}${s}{/${t}}` : s);

/** Every filter on (the command line's, the typed one), for the panels' titles; '' for none. */
export function filterNote(ctx: PanelContext): string {
  const parts = [ctx.fixedFilter, ctx.state.filter ? `"${ctx.state.filter}"` : ''].filter(Boolean);
  return parts.length ? `filter: ${parts.join(' + ')}` : '';
}

/** A panel's title, with the filter when one is on, cut to the panel's width (whole words, the cut marked). */
export function setTitle(ctx: PanelContext, el: blessed.Widgets.BoxElement, text: string): void {
  const note = filterNote(ctx);
  const full = note ? `${text} [${note}]` : text;
  // the label starts 2 cells in and must end inside the border (or blessed wraps it onto the
  // first line), a cell of the border before the corner
  const room = Math.max(4, (el.width as number) - 6);
  el.setLabel(` ${esc(cutWords(full, room, ctx.ascii))} `);
}

/**
 * Series into a blessed-contrib sparkline widget: it draws each title (with
 * a ':' after it), the newest width - 2 points under it, a blank line; it
 * starts with a blank line, which is skipped. Plain ASCII where the locale is
 * not UTF-8 (the widget draws Unicode blocks only).
 */
export function setSeries(ctx: PanelContext, w: any, series: Array<{ name: string; values: number[] }>, points: number): void {
  const room = Math.max(4, (w.width as number) - 1);
  // the name, cut where it must be, then what the line spans
  const title = (d: { name: string; values: number[] }) => {
    const range = sparkRange(d.values, points);
    const nameRoom = room - range.length - 1;
    return cut(`${cut(d.name, Math.max(0, nameRoom), ctx.ascii)} ${range}`, room, ctx.ascii);
  };
  w.setData(series.map((d) => esc(title(d))), series.map((d) => sparkSeries(d.values, points)));
  if (ctx.ascii) w.setContent(asciiBlocks(w.content));
  w.childBase = 1; // where blessed starts drawing its content
}

/** A blessed-contrib sparkline's options: tagged, unwrapped, red on the panel. */
export function sparkOptions(ctx: PanelContext, parent: blessed.Widgets.Node, height: number) {
  return {
    parent, top: 0, left: 0, width: 10, height, tags: true, wrap: false,
    style: { fg: ctx.color ? 'red' : undefined, titleFg: ctx.color ? 'white' : 'default' },
  };
}

/** A part of a header line: its text, how much it matters (10 most), its style tag. */
export interface Seg {
  plain: string;
  pri: number;
  style?: string;
  /** Where it does not fit whole, the room left gets as much of it as fits. */
  cut?: boolean;
  /** Shorter forms of it, tried in order where it does not fit. */
  alts?: string[];
}

export const seg = (plain: string, pri: number, style?: string): Seg => ({ plain, pri, style });

/**
 * The parts of a header line that fit the width, the most important first,
 * in their order, two spaces apart; a part marked cut fills what room is left
 * (whole words, the cut marked).
 */
export function fitLine(ctx: PanelContext, parts: Array<Seg | null>, width: number): string {
  const all = parts.filter((p): p is Seg => !!p);
  const kept = new Map<Seg, string>();
  let used = -2;
  for (const p of [...all].sort((a, b) => b.pri - a.pri)) {
    const text = [p.plain, ...(p.alts ?? [])].find((t) => used + 2 + t.length <= width);
    if (text !== undefined) {
      kept.set(p, text);
      used += 2 + text.length;
    }
  }
  const show = (p: Seg, text: string) => (p.style ? tag(ctx, p.style, esc(text)) : esc(text));
  const out: string[] = [];
  for (const p of all) {
    const text = kept.get(p);
    if (text !== undefined) out.push(show(p, text));
    else if (p.cut && width - used - 2 >= 10) {
      out.push(show(p, cutWords(p.plain, width - used - 2, ctx.ascii)));
      used = width;
    }
  }
  return out.join('  ');
}
