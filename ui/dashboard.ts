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
import type { SnapshotStream } from '../src/model/types';
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
import { DashboardState } from './viewmodel';

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

export async function runDashboard(o: DashboardOptions, stream: SnapshotStream, onExit: (fn: () => void) => void): Promise<void> {
  const ascii = !utf8Locale();
  const state = new DashboardState();
  const intervalS = stream.live ? o.interval : stream.meta.intervalS;
  let ended = false;
  let overlay: 'none' | 'detail' | 'help' = 'none';
  let filterDraft: string | null = null;

  // blessed reads the terminal's own terminfo entry (see ./terminal), and nothing it prints while reading it
  // reaches the terminal
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
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    screen.destroy();
  };
  onExit(destroy);

  const ctx: PanelContext = {
    screen, state, ascii, color: o.color,
    source: { live: stream.live, meta: stream.meta, intervalS, configuredS: o.interval },
    fixedFilter: describeFilter(o.filter), startedMs: Date.now(),
    // dropping now: in the last frame, or within 2 s (a slower interval: two frames)
    nowMs: Math.max(NOW_MS, 2 * intervalS * 1000),
    filterDraft: () => filterDraft,
  };
  const header = new HeaderPanel(ctx);
  const gauges = new GaugesPanel(ctx);
  const spark = new SparklinesPanel(ctx);
  const table = new TablePanel(ctx);
  const footer = new FooterPanel(ctx);
  const small = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%', hidden: true, tags: false });
  const detail = new DetailPanel(ctx, 2);
  const help = new HelpPanel(ctx, 2);
  const log = new FrameLog(state);
  const layout = () => layoutFor(screen.width as number, screen.height as number);

  /** Every panel to its place for the terminal's size (the header grows with a notice). */
  function placePanels(mode: LayoutMode): void {
    const w = screen.width as number;
    const h = screen.height as number;
    small.hidden = mode !== 'small';
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
    detail.place(headH, w, h - 1 - headH);
    Object.assign(help.el, { top: headH, left: 0, width: w, height: h - 1 - headH });
  }

  function draw(): void {
    if (destroyed) return;
    const mode = layout();
    placePanels(mode);
    if (mode === 'small') {
      small.setContent(`acceptq: terminal too small (${screen.width}x${screen.height}); needs at least ${MIN_W}x${MIN_H}. q quits.`);
    } else {
      log.timed('header', () => header.draw(mode, ended));
      if (mode === 'full') {
        log.timed('gauges', () => gauges.draw());
        log.timed('spark', () => spark.draw());
      }
      log.timed('table', () => table.draw());
      footer.draw();
    }
    if (overlay === 'detail' && !log.timed('detail', () => detail.draw())) overlay = 'none';
    if (overlay !== 'detail' || mode === 'small') detail.hide();
    else detail.el.hidden = false;
    help.el.hidden = overlay !== 'help' || mode === 'small';
    log.render(() => screen.render());
  }

  const keyMode = (): KeyMode => (filterDraft !== null ? 'filter' : overlay === 'none' ? 'table' : overlay);
  const setFilter = (draft: string | null, applied: string) => {
    filterDraft = draft;
    state.setFilter(applied);
  };

  /** An action's effect on the state; 'quit' ends the dashboard, false: nothing to draw. */
  function apply(a: Action): 'quit' | boolean {
    switch (a.kind) {
      case 'quit': return 'quit';
      case 'clearFilterOrQuit':
        if (!state.filter) return 'quit';
        setFilter(null, '');
        break;
      case 'move': state.move(a.by); break;
      case 'moveTo': state.moveTo(a.to); break;
      case 'sort': state.cycleSort(a.step); break;
      case 'reverse': state.toggleReverse(); break;
      case 'filterStart': filterDraft = state.filter; break;
      case 'filterKeep': filterDraft = null; break;
      case 'filterClear': setFilter(null, ''); break;
      case 'filterType': setFilter(filterDraft + a.text, filterDraft + a.text); break;
      case 'filterBackspace': setFilter(filterDraft!.slice(0, -1), filterDraft!.slice(0, -1)); break;
      case 'detail': {
        // the person has looked at it, so its notice goes
        const r = state.selected();
        if (!r) return false;
        detail.id = r.id;
        overlay = 'detail';
        state.dismissNotice(r.id);
        break;
      }
      case 'closeOverlay': overlay = 'none'; break;
      case 'dismissNotice': { const n = state.notice(); if (n) state.dismissNotice(n.row.id); break; }
      case 'pause': state.paused = !state.paused; break;
      case 'speed': state.changeSpeed(a.step); break;
      case 'help': overlay = 'help'; break;
    }
    return true;
  }

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
      if (r) draw();
    };

    const tick = () => {
      try {
        log.start('tick');
        if (!state.paused && !ended) {
          let s: ReturnType<SnapshotStream['next']> = null;
          log.ingest(() => { s = stream.next(); }, () => {
            if (s === null) ended = true;
            else state.ingest(o.filter ? filterSnapshot(s, o.filter) : s);
          });
        }
        draw();
      } catch (e) {
        finish(e);
        return;
      }
      const period = stream.live ? o.interval * 1000 : (stream.meta.intervalS * 1000) / state.speed;
      timer = setTimeout(tick, period);
    };

    screen.on('resize', () => frame('resize', () => true));
    screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string }) => {
      const name = key?.full ?? key?.name ?? ch ?? '';
      const mode = keyMode();
      const a = keyAction(mode, name, ch);
      // a key that does nothing still redraws under an overlay or while typing (as it always has)
      frame('key', () => (a ? apply(a) : mode !== 'table'), name);
    });

    // the mouse: a click on a row selects it, on a column header sorts by it
    // (again: reversed), the wheel moves the selection; not under an overlay.
    // On the press, not the release: blessed reads one mouse report per read.
    const onTable = () => overlay === 'none' && filterDraft === null && layout() !== 'small';
    table.el.on('mousedown', (data: { x: number; y: number; button?: string }) => {
      if (data.button !== 'left' || !onTable()) return;
      frame('mouse', () => {
        const hit = table.hit(data.x, data.y);
        if (hit.column?.sort) state.sortBy(hit.column.sort);
        else if (hit.row) state.select(hit.row.id);
        else return false;
        return true;
      });
    });
    const wheel = (dir: 1 | -1) => () => {
      if (onTable()) frame('mouse', () => apply({ kind: 'move', by: dir * WHEEL_ROWS }));
    };
    table.el.on('wheeldown', wheel(1));
    table.el.on('wheelup', wheel(-1));
    // the overlays take the clicks over what they cover; a click closes the help
    help.el.on('mousedown', () => frame('mouse', () => apply({ kind: 'closeOverlay' })));

    if (o.duration !== undefined) setTimeout(() => finish(), o.duration * 1000);
    tick();
  });
}
