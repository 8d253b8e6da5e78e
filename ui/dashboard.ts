/**
 * The full-screen dashboard (blessed + blessed-contrib): wires the panels
 * (ui/panels/), the keys (ui/keys.ts) and the mouse to a SnapshotStream read
 * once per tick. It never talks to the kernel itself: a stream is live,
 * a replay, or anything else that yields snapshots.
 * Layout: header, queue gauges beside the drop-rate sparklines, the listener
 * table, a footer of keys; overlays for the detail view and help. Below
 * 80x24 a compact layout (header and table); below 60x12 a notice.
 */
import blessed from 'blessed';
import { filterSnapshot, type RowFilter } from '../src/model/view';
import type { ListenerRow, SnapshotStream } from '../src/model/types';
import { NOW_MS } from './columns';
import { FrameLog, type FrameCause } from './frame-log';
import { keyAction, WHEEL_ROWS, type Action, type KeyMode } from './keys';
import { DetailPanel } from './panels/detail';
import { FooterPanel } from './panels/footer';
import { GaugesPanel } from './panels/gauges';
import { HeaderPanel, type LayoutMode } from './panels/header';
import { HelpPanel } from './panels/help';
import type { PanelContext } from './panels/paint';
import { SparklinesPanel } from './panels/sparklines';
import { TablePanel } from './panels/table';
import { installTerminfoReader, nonUtf8LineDrawing, quietly, terminalName, type LineDrawingCaps } from './terminal';
import { DashboardState, HISTORY } from './viewmodel';

const MIN_W = 60;
const MIN_H = 12;

/** UTF-8 locale? Otherwise draw with plain ASCII. */
export function utf8Locale(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(v);
}

/** What the dashboard needs of the command line. */
export interface DashboardOptions {
  /** Seconds between frames of a live run. */
  interval: number;
  /** Stop after this many seconds. */
  duration?: number;
  color: boolean;
  /** Only these listeners (--port, --pid, --netns), in every panel. */
  filter?: RowFilter;
}

/** The command line's filter in words: "netns 4026532177 port 80"; '' for none. */
function describeFilter(f: RowFilter | undefined): string {
  if (!f) return '';
  return [f.netns !== undefined ? `netns ${f.netns}` : '', f.port !== undefined ? `port ${f.port}` : '', f.pid !== undefined ? `pid ${f.pid}` : '']
    .filter(Boolean).join(' ');
}

/** Which layout a terminal of this size gets. */
export function layoutFor(w: number, h: number): LayoutMode {
  if (w < MIN_W || h < MIN_H) return 'small';
  return w < 80 || h < 24 ? 'compact' : 'full';
}

/** The terminal, with blessed reading its own terminfo entry (see ./terminal) and printing nothing while it does. */
function openScreen(ascii: boolean): blessed.Widgets.Screen {
  installTerminfoReader();
  const screen = quietly(() => blessed.screen({
    smartCSR: true,
    fullUnicode: !ascii,
    // Unicode text; lines still come from the terminal's ACS where its entry has one and no U8#1 (xterm, vt100)
    forceUnicode: !ascii,
    dockBorders: true,
    warnings: false,
    title: 'acceptq',
    terminal: terminalName(),
  }));
  if (ascii) nonUtf8LineDrawing(screen.tput as unknown as LineDrawingCaps);
  return screen;
}

/** The panels on one screen, what is shown over them, and what a key or a click does to them. */
class Dashboard {
  readonly state = new DashboardState();
  readonly log = new FrameLog(this.state);
  overlay: 'none' | 'detail' | 'help' = 'none';
  /** The filter being typed; null when not typing. */
  filterDraft: string | null = null;
  /** A recording played to its end. */
  ended = false;
  destroyed = false;
  readonly header: HeaderPanel;
  readonly gauges: GaugesPanel;
  readonly spark: SparklinesPanel;
  readonly table: TablePanel;
  readonly footer: FooterPanel;
  readonly detail: DetailPanel;
  readonly help: HelpPanel;
  /** A row drops "now" if it dropped within this many ms. */
  readonly nowMs: number;
  private readonly small: blessed.Widgets.BoxElement;

  /** Histories asked of the stream (by listener id, '' the total): once each. */
  private readonly backfilled = new Set<string>();

  constructor(readonly screen: blessed.Widgets.Screen, o: DashboardOptions, private readonly stream: SnapshotStream, ascii: boolean) {
    const intervalS = stream.live ? o.interval : stream.meta.intervalS;
    const ctx: PanelContext = {
      screen, state: this.state, ascii, color: o.color,
      source: { live: stream.live, meta: stream.meta, intervalS, configuredS: o.interval },
      fixedFilter: describeFilter(o.filter), startedMs: Date.now(),
      // dropping now: in the last frame, or within 2 s (a slower interval: two frames)
      nowMs: Math.max(NOW_MS, 2 * intervalS * 1000),
      filterDraft: () => this.filterDraft,
    };
    this.nowMs = ctx.nowMs;
    this.header = new HeaderPanel(ctx);
    this.gauges = new GaugesPanel(ctx);
    this.spark = new SparklinesPanel(ctx);
    this.table = new TablePanel(ctx);
    this.footer = new FooterPanel(ctx);
    this.small = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%', hidden: true, tags: false });
    this.detail = new DetailPanel(ctx, 2);
    this.help = new HelpPanel(ctx, 2);
  }

  layout(): LayoutMode {
    return layoutFor(this.screen.width as number, this.screen.height as number);
  }

  /** Every panel to its place for the terminal's size (the header grows with a notice). */
  private place(mode: LayoutMode): void {
    const w = this.screen.width as number;
    const h = this.screen.height as number;
    const { header, gauges, spark, table, footer } = this;
    this.small.hidden = mode !== 'small';
    for (const el of [header.el, table.el, footer.el]) el.hidden = mode === 'small';
    gauges.el.hidden = spark.el.hidden = mode !== 'full';
    if (mode === 'small') return;
    const headH = header.height(mode);
    Object.assign(header.el, { top: 0, height: headH });
    footer.el.top = h - 1;
    let top = headH;
    if (mode === 'full') {
      const panelH = Math.max(6, Math.min(12, Math.floor(h * 0.3)));
      Object.assign(gauges.el, { top, left: 0, width: Math.floor(w / 2), height: panelH });
      Object.assign(spark.el, { top, left: Math.floor(w / 2), width: w - Math.floor(w / 2), height: panelH });
      top += panelH;
    }
    Object.assign(table.el, { top, left: 0, width: w, height: h - 1 - top });
    this.detail.place(headH, w, h - 1 - headH);
    Object.assign(this.help.el, { top: headH, left: 0, width: w, height: h - 1 - headH });
  }

  draw(): void {
    if (this.destroyed) return;
    const { log } = this;
    const mode = this.layout();
    this.place(mode);
    if (mode === 'small') {
      this.small.setContent(`acceptq: terminal too small (${this.screen.width}x${this.screen.height}); needs at least ${MIN_W}x${MIN_H}. q quits.`);
    } else {
      log.timed('header', () => this.header.draw(mode, this.ended));
      if (mode === 'full') {
        log.timed('gauges', () => this.gauges.draw());
        log.timed('spark', () => this.spark.draw());
      }
      log.timed('table', () => this.table.draw());
      this.footer.draw();
    }
    if (this.overlay === 'detail' && !log.timed('detail', () => this.detail.draw())) this.overlay = 'none';
    if (this.overlay !== 'detail' || mode === 'small') this.detail.hide();
    else this.detail.el.hidden = false;
    this.help.el.hidden = this.overlay !== 'help' || mode === 'small';
    if (!this.help.el.hidden) this.help.draw();
    log.render(() => this.screen.render());
  }

  /** What keys mean now. */
  keyMode(): KeyMode {
    return this.filterDraft !== null ? 'filter' : this.overlay === 'none' ? 'table' : this.overlay;
  }

  /** Clicks and the wheel reach the table (no overlay, not typing, not too small). */
  onTable(): boolean {
    return this.overlay === 'none' && this.filterDraft === null && this.layout() !== 'small';
  }

  private setFilter(draft: string | null, applied: string): void {
    this.filterDraft = draft;
    this.state.setFilter(applied);
  }

  /** An action's effect; 'quit' ends the dashboard, false: nothing to draw. */
  apply(a: Action): 'quit' | boolean {
    const { state } = this;
    const draft = this.filterDraft ?? '';
    switch (a.kind) {
      case 'quit': return 'quit';
      case 'clearFilterOrQuit':
        if (!state.filter) return 'quit';
        this.setFilter(null, '');
        break;
      case 'move': state.move(a.by); break;
      case 'moveTo': state.moveTo(a.to); break;
      case 'sort': state.cycleSort(a.step); break;
      case 'reverse': state.toggleReverse(); break;
      case 'filterStart': this.filterDraft = state.filter; break;
      case 'filterKeep': this.filterDraft = null; break;
      case 'filterClear': this.setFilter(null, ''); break;
      case 'filterType': this.setFilter(draft + a.text, draft + a.text); break;
      case 'filterBackspace': this.setFilter(draft.slice(0, -1), draft.slice(0, -1)); break;
      case 'detail': {
        // the person has looked at it, so its notice goes
        const r = state.selected();
        if (!r) return false;
        this.detail.open(r.id);
        this.overlay = 'detail';
        this.backfill(r);
        state.dismissNotice(r.id);
        break;
      }
      case 'closeOverlay': this.overlay = 'none'; break;
      case 'dismissNotice': { const n = state.notice(this.nowMs); if (n) state.dismissNotice(n.row.id); break; }
      case 'pause': state.paused = !state.paused; break;
      case 'speed': state.changeSpeed(a.step); break;
      case 'help': this.overlay = 'help'; this.help.reset(); break;
      case 'scroll': this.overlayPanel()?.scroll(a.by, a.unit); break;
      case 'scrollTo': this.overlayPanel()?.scrollTo(a.to); break;
    }
    return true;
  }

  /** The overlay shown, which the scroll keys move. */
  private overlayPanel(): DetailPanel | HelpPanel | null {
    return this.overlay === 'detail' ? this.detail : this.overlay === 'help' ? this.help : null;
  }

  /**
   * A listener's history (null: the total's) from before the dashboard
   * started, where the stream keeps it (a fleet through Prometheus): asked
   * once, drawn when it comes; none if the source fails to give it.
   */
  backfill(r: ListenerRow | null): void {
    const key = r?.id ?? '';
    if (!this.stream.history || this.backfilled.has(key)) return;
    this.backfilled.add(key);
    this.stream.history(r, HISTORY).then((past) => {
      if (!past || this.destroyed) return;
      this.state.seedHistory(r?.id ?? null, past);
      this.draw();
    }, () => undefined);
  }

  /** A click on the table: a column header sorts by it (again: reversed), a row is selected. */
  click(x: number, y: number): boolean {
    const hit = this.table.hit(x, y);
    if (hit.column?.sort) this.state.sortBy(hit.column.sort);
    else if (hit.row) this.state.select(hit.row.id);
    else return false;
    return true;
  }
}

export async function runDashboard(o: DashboardOptions, stream: SnapshotStream, onExit: (fn: () => void) => void): Promise<void> {
  const ascii = !utf8Locale();
  const screen = openScreen(ascii);
  const d = new Dashboard(screen, o, stream, ascii);
  const { state, log } = d;
  const destroy = () => {
    if (d.destroyed) return;
    d.destroyed = true;
    screen.destroy();
  };
  onExit(destroy);

  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown) => {
      if (timer) clearTimeout(timer);
      destroy();
      if (err) reject(err);
      else resolve();
    };
    const frame = (cause: FrameCause, fn: () => boolean | 'quit', key?: string) => {
      log.start(cause, key);
      const r = fn();
      if (r === 'quit') return finish();
      if (r) d.draw();
    };

    const tick = async () => {
      const began = Date.now();
      try {
        // a fleet's scrapes: keys and the mouse are answered while they are under way
        if (!state.paused && !d.ended && stream.prepare) await log.prepared(() => stream.prepare!(), stream.requests === undefined ? undefined : () => stream.requests!);
        if (d.destroyed) return;
        log.start('tick');
        if (!state.paused && !d.ended) {
          let s: ReturnType<SnapshotStream['next']> = null;
          log.ingest(() => { s = stream.next(); }, () => {
            if (s === null) d.ended = true;
            else state.ingest(o.filter ? filterSnapshot(s, o.filter) : s);
          });
        }
        d.draw();
      } catch (e) {
        finish(e);
        return;
      }
      const period = stream.live ? o.interval * 1000 : (stream.meta.intervalS * 1000) / state.speed;
      // a fleet's poll is part of the interval, not added to it (one slower than the interval: the next tick at once)
      timer = setTimeout(() => void tick(), stream.prepare ? Math.max(0, began + period - Date.now()) : period);
    };

    screen.on('resize', () => frame('resize', () => true));
    screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string }) => {
      const name = key?.full ?? key?.name ?? ch ?? '';
      const mode = d.keyMode();
      const a = keyAction(mode, name, ch);
      // a key that does nothing still redraws under an overlay or while typing (as it always has)
      frame('key', () => (a ? d.apply(a) : mode !== 'table'), name);
    });
    // the mouse, not under an overlay; on the press, not the release (blessed reads one mouse report per read)
    d.table.el.on('mousedown', (data: { x: number; y: number; button?: string }) => {
      if (data.button === 'left' && d.onTable()) frame('mouse', () => d.click(data.x, data.y));
    });
    const wheel = (dir: 1 | -1) => () => {
      if (d.onTable()) frame('mouse', () => d.apply({ kind: 'move', by: dir * WHEEL_ROWS }));
    };
    d.table.el.on('wheeldown', wheel(1));
    d.table.el.on('wheelup', wheel(-1));
    // the overlays take the clicks over what they cover; a click closes the help
    d.help.el.on('mousedown', () => frame('mouse', () => d.apply({ kind: 'closeOverlay' })));

    if (o.duration !== undefined) setTimeout(() => finish(), o.duration * 1000);
    d.backfill(null);
    void tick();
  });
}
