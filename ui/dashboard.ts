/**
 * The full-screen dashboard (blessed + blessed-contrib). It reads snapshots
 * from a SnapshotStream once per tick and never talks to the kernel itself.
 * Layout: header (reconciliation, the worst accept-queue wait, and a notice
 * when a listener starts dropping), queue gauges beside the drop-rate
 * sparklines (blessed-contrib's widget, a time axis under them), the listener
 * table, a footer of keys; overlays for the detail view (why the listener
 * overflows) and help. Below 80x24 a compact layout; below 60x12 a notice.
 * Keys and the mouse (click a row or a column header, the wheel) drive it.
 */
import fs from 'node:fs';
import blessed from 'blessed';
// the widget alone: the package's index loads every widget (maps, markdown), ~13 MB
import contribSparkline from 'blessed-contrib/lib/widget/sparkline';
import { endpoint } from '../src/model/address';
import { diagnose, SLOW_WAIT_MS, synRates, type Diagnosis } from '../src/model/diagnosis';
import { sanitize } from '../src/model/sanitize';
import { lossNotes } from '../src/model/losses';
import { duration, ESTIMATE_NOTE, figure, filterSnapshot, reconcile, sysctlText, type RowFilter } from '../src/model/view';
import type { ListenerRow, NamespaceRow, Snapshot, SnapshotStream } from '../src/model/types';
import { activity, columnAt, fitColumns, headerLine, NOW_MS, rowLine } from './columns';
import { ago, asciiBlocks, bar, DashboardState, histRows, HISTORY, sparkRange, sparkSeries, timeAxis, wrapText } from './viewmodel';
import { installTerminfoReader, nonUtf8LineDrawing, quietly, terminalName, type LineDrawingCaps } from './terminal';

const MIN_W = 60;
const MIN_H = 12;
const FOOTER = ' q quit  ↑↓/jk move  </> sort  s sort  r reverse  / filter  Enter detail  p pause  ? help';
const FOOTER_ASCII = FOOTER.replace('↑↓', 'up/dn');
/** Rows the mouse wheel moves the selection by, per step. */
const WHEEL_ROWS = 3;

/**
 * A bench hook (BENCHMARKS.md, part 6): with ACCEPTQ_FRAME_LOG=FILE, one JSON
 * line a frame is appended to FILE, with what its parts took. Opened as this
 * module loads, before the command line drops its privileges. Unset, nothing
 * is timed.
 */
const FRAME_LOG: number | null = process.env.ACCEPTQ_FRAME_LOG ? fs.openSync(process.env.ACCEPTQ_FRAME_LOG, 'a') : null;

/** One frame's timings, for the frame log. */
interface FrameTiming {
  /** What drew it: the interval's tick, a key, the mouse, a resize. */
  cause: 'tick' | 'key' | 'mouse' | 'resize';
  key?: string;
  start: number;
  /** stream.next(): the snapshot of every namespace, the event drain, the model. */
  nextMs: number;
  /** Taking it in (history, notices, selection), less the filtering and sorting in it. */
  ingestMs: number;
  /** Each panel's drawing, its own sorting and filtering included. */
  panels: Record<string, number>;
  renderMs: number;
}

/** UTF-8 locale? Otherwise draw with plain ASCII. */
export function utf8Locale(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(v);
}

const HELP = `acceptq dashboard. Press any key to close.

  Up/Down, j/k       move the selection (PgUp/PgDn, Home/End, g/G); until you move it,
                     it follows the worst listener (the top row)
  < and >, s         previous / next sort column (marked v or ^ in the table header)
  r                  reverse the sort
  /                  filter by text (address, port, comm, pid, namespace, service);
                     Enter keeps it, Esc clears it. It narrows every panel; their titles say so
  Enter              the selected listener's detail: why it overflows and on what figures,
                     backlog, sysctls, waits, overflows, accepts, arrivals (Esc closes it)
  x                  dismiss the header's notice of a listener that started dropping
                     (opening its detail view dismisses it too)
  p or Space         pause / resume
  + and -            replay speed (when replaying a recording)
  ? or F1            this help
  q, Esc, Ctrl-C     quit
  mouse              click a row to select it, a column header to sort by it (again to
                     reverse); the wheel moves the selection

  Marks before a row: ! dropping now (in the last 2 s, or two frames), * dropped in
  the last minute, x closed (it stays two minutes); > is the selection.
  QUEUE: the accept queue now against the listen() backlog (the kernel admits
  backlog + 1 per socket before it drops). PEAK: the deepest since the previous
  frame. OLDEST: how long its oldest connection has waited, now. WAITP99: the 99th
  percentile of the wait from handshake to accept() in the last interval. ARR/S,
  ACC/S: connections into the queue and accepted from it per second. SYN/ACK:
  overflows by the path that dropped them. The sparklines span the time under them.
  The header: the kernel's ListenOverflows/s against what acceptq attributed;
  "unattributed" adds up every namespace's gaps (overflows, SYN-queue drops,
  cookies; either sign counts); the worst wait: the listener whose connections
  wait longest now (its oldest waiting one, or its wait p99 if that is longer).
  ~ marks an estimate: a listener's split (its namespace's total is exact), and
  the wait p50 and p99 (from a histogram; mean, min, max and oldest are exact);
  "estimate" in the header: some namespace's split is one now.`;

function hms(ms: number): string {
  const s = Math.floor(ms / 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
}

const rate = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** A part of a header line: its text, how much it matters (10 most), its style tag. */
interface Seg {
  plain: string;
  pri: number;
  style?: string;
  /** Where it does not fit whole, the room left gets as much of it as fits. */
  cut?: boolean;
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

/** "12:03:11", local time. */
function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The command line's filter in words: "netns 4026532177 port 80"; '' for none. */
function describeFilter(f: RowFilter | undefined): string {
  if (!f) return '';
  return [f.netns !== undefined ? `netns ${f.netns}` : '', f.port !== undefined ? `port ${f.port}` : '', f.pid !== undefined ? `pid ${f.pid}` : '']
    .filter(Boolean).join(' ');
}

/** Only the listeners (and their namespaces) of the command line's filter, and the rates of those. */
function narrow(s: Snapshot, f: RowFilter | undefined): Snapshot {
  if (!describeFilter(f)) return s;
  const n = filterSnapshot(s, f!);
  return {
    ...n,
    attributedRate: n.listeners.reduce((sum, l) => sum + l.overflowRate, 0),
    kernelRate: n.namespaces.reduce((sum, ns) => sum + ns.overflowRate, 0),
  };
}

export async function runDashboard(o: DashboardOptions, stream: SnapshotStream, onExit: (fn: () => void) => void): Promise<void> {
  const ascii = !utf8Locale();
  const color = o.color;
  const state = new DashboardState();
  const started = Date.now();
  const intervalS = stream.live ? o.interval : stream.meta.intervalS;
  // dropping now: in the last frame, or within 2 s (a slower interval: two frames)
  const nowMs = Math.max(NOW_MS, 2 * intervalS * 1000);
  const fixedFilter = describeFilter(o.filter);
  let ended = false;

  // blessed reads the terminal's own terminfo entry (see ./terminal), and nothing it prints while reading it
  // reaches the terminal
  installTerminfoReader();
  // the frame being timed (ACCEPTQ_FRAME_LOG only), and its rows' filtering and sorting
  let frame: FrameTiming | null = null;
  const startFrame = (cause: FrameTiming['cause'], key?: string) => {
    if (FRAME_LOG === null) return;
    frame = { cause, key, start: performance.now(), nextMs: 0, ingestMs: 0, panels: {}, renderMs: 0 };
    state.timing = { sorts: 0, sortMs: 0, filterMs: 0 };
  };
  /** fn(), its time added to the frame's panel `name` when a frame is timed. */
  const timed = <T>(name: string, fn: () => T): T => {
    if (!frame) return fn();
    const t = performance.now();
    const r = fn();
    frame.panels[name] = (frame.panels[name] ?? 0) + performance.now() - t;
    return r;
  };
  /**
   * screen.render(), timed when a frame is. blessed writes what it drew to
   * the terminal from a setImmediate of its own, queued before the one that
   * then logs the frame.
   */
  const render = () => {
    const f = frame;
    const sorting = state.timing;
    if (!f || !sorting || FRAME_LOG === null) return screen.render();
    const t = performance.now();
    screen.render();
    const renderEnd = performance.now();
    f.renderMs = renderEnd - t;
    frame = null;
    state.timing = null;
    const listeners = state.latest?.listeners.length ?? 0;
    const rows = state.rows().length;
    setImmediate(() => {
      const end = performance.now();
      const ms = (v: number) => Math.round(v * 1000) / 1000;
      const line = {
        at: Date.now(), cause: f.cause, key: f.key, listeners, rows, frameMs: ms(end - f.start), nextMs: ms(f.nextMs), ingestMs: ms(f.ingestMs),
        sorts: sorting.sorts, sortMs: ms(sorting.sortMs), filterMs: ms(sorting.filterMs),
        panels: Object.fromEntries(Object.entries(f.panels).map(([k, v]) => [k, ms(v)])),
        renderMs: ms(f.renderMs), writeMs: ms(end - renderEnd),
      };
      try {
        fs.writeSync(FRAME_LOG, JSON.stringify(line) + '\n');
      } catch {
        // a bench hook: the dashboard goes on
      }
    });
  };

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

  // line borders on every panel: blessed draws them with the terminal's line-drawing set,
  // or + - | where it has neither that nor Unicode (a label never covers a first line)
  const border = { type: 'line' as const };
  const panelStyle = color ? { border: { fg: 'cyan' }, label: { fg: 'cyan' } } : {};
  // lines are cut to fit before they are set: no wrapping (blessed breaks a full-width
  // line that ends in a colour tag at a space near its end)
  const header = blessed.box({ parent: screen, top: 0, left: 0, height: 2, width: '100%', tags: true, wrap: false });
  const gauges = blessed.box({ parent: screen, label: ' accept queues ', border, tags: true, wrap: false, style: panelStyle });
  const spark = blessed.box({ parent: screen, label: ' overflows/s ', border, tags: true, wrap: false, style: panelStyle });
  // blessed-contrib's sparkline widget draws the series: one widget a series here, so that
  // two of them and the time axis fit the panel at 80x24 (the widget puts a blank line after
  // each series); the axis is a line of its own under them
  const sparkStyle = () => ({ fg: color ? 'red' : undefined, titleFg: color ? 'white' : 'default' });
  const sparkOpts = (parent: blessed.Widgets.Node, height: number) =>
    ({ parent, top: 0, left: 0, width: 10, height, tags: true, wrap: false, style: sparkStyle() });
  const sparkTotal = contribSparkline(sparkOpts(spark, 2));
  const sparkSel = contribSparkline(sparkOpts(spark, 2));
  const sparkAxis = blessed.box({ parent: spark, top: 0, left: 0, width: 10, height: 1, tags: false, wrap: false });
  const table = blessed.box({ parent: screen, label: ' listeners ', border, tags: true, wrap: false, style: panelStyle });
  const footer = blessed.box({ parent: screen, left: 0, height: 1, width: '100%', tags: false, style: color ? { fg: 'black', bg: 'cyan' } : { inverse: true } });
  const small = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%', hidden: true, tags: false });
  // covers the panels whole (their borders too), between the header and the footer
  const overlay = blessed.box({ parent: screen, top: 2, left: 0, width: '100%', height: '100%-3', border, hidden: true, tags: true, style: panelStyle });
  // the detail view's overflows, accepts and arrivals per second: one widget, three series, the axis under it
  const detailSpark = contribSparkline(sparkOpts(overlay, 8));
  const detailAxis = blessed.box({ parent: overlay, top: 0, left: 0, width: 10, height: 1, hidden: true, tags: false, wrap: false });
  let overlayKind: 'none' | 'detail' | 'help' = 'none';
  /** The listener the detail view shows (the one Enter was pressed on). */
  let detailId: string | null = null;
  let filterEditing = false;
  let filterDraft = '';
  let scroll = 0;

  const esc = (s: string) => blessed.escape(s);
  const tag = (t: string, s: string) => (color ? `{${t}}${s}{/${t}}` : s);

  /**
   * Series into a blessed-contrib sparkline widget: it draws each title (with
   * a ':' after it), the newest width - 2 points under it, a blank line; it
   * starts with a blank line, which is skipped. Plain ASCII where the locale is
   * not UTF-8 (the widget draws Unicode blocks only).
   */
  function setSeries(w: any, series: Array<{ name: string; values: number[] }>, points: number): void {
    const room = Math.max(4, (w.width as number) - 1);
    // the name, cut where it must be, then what the line spans
    const title = (d: { name: string; values: number[] }) => {
      const range = sparkRange(d.values, points);
      const nameRoom = room - range.length - 1;
      const name = d.name.length <= nameRoom ? d.name : d.name.slice(0, Math.max(0, nameRoom - 1)) + '~';
      return `${name} ${range}`.slice(0, room);
    };
    w.setData(series.map((d) => esc(title(d))), series.map((d) => sparkSeries(d.values, points)));
    if (ascii) w.setContent(asciiBlocks(w.content));
    w.childBase = 1; // where blessed starts drawing its content
  }

  const seg = (plain: string, pri: number, style?: string): Seg => ({ plain, pri, style });

  /**
   * The parts of a header line that fit the width, the most important first,
   * in their order, two spaces apart; a part marked cut fills what room is left.
   */
  function fitLine(parts: Array<Seg | null>, width: number): string {
    const all = parts.filter((p): p is Seg => !!p);
    const kept = new Set<Seg>();
    let used = -2;
    for (const p of [...all].sort((a, b) => b.pri - a.pri)) {
      if (used + 2 + p.plain.length <= width) {
        kept.add(p);
        used += 2 + p.plain.length;
      }
    }
    const show = (p: Seg, text: string) => (p.style ? tag(p.style, esc(text)) : esc(text));
    const out: string[] = [];
    for (const p of all) {
      if (kept.has(p)) out.push(show(p, p.plain));
      else if (p.cut && width - used - 2 >= 10) {
        out.push(show(p, p.plain.slice(0, width - used - 3) + '~'));
        used = width;
      }
    }
    return out.join('  ');
  }

  /** Every filter on (the command line's, the typed one), for the panels' titles; '' for none. */
  function filterNote(): string {
    const parts = [fixedFilter, state.filter ? `"${state.filter}"` : ''].filter(Boolean);
    return parts.length ? `filter: ${parts.join(' + ')}` : '';
  }

  /** A panel's title, with the filter when one is on, cut to the panel's width. */
  function title(el: blessed.Widgets.BoxElement, text: string): void {
    const note = filterNote();
    const full = note ? `${text} [${note}]` : text;
    // the label starts 2 cells in and must end inside the border (or blessed wraps it onto the
    // first line), a cell of the border before the corner
    const room = Math.max(4, (el.width as number) - 6);
    el.setLabel(` ${esc(full.length > room ? full.slice(0, room - 1) + '~' : full)} `);
  }

  /** The notice line: a listener that started dropping, until the person looks. */
  function noticeLine(width: number): string | null {
    const n = state.notice();
    if (!n) return null;
    const r = n.row;
    const who = `${endpoint(r.family, r.address, r.port)}${r.pid ? ` ${sanitize(r.comm)}` : ''}`;
    const what = r.overflowRate > 0
      ? `dropping ${figure(rate(r.overflowRate), r.estimate)}/s since ${clock(r.firstOverflowMs ?? n.notice.seenMs)}`
      : `dropped ${figure(r.overflows, r.estimate)} since ${clock(r.firstOverflowMs ?? n.notice.seenMs)}, last ${clock(r.lastOverflowMs ?? n.notice.seenMs)}`;
    const more = n.more ? `  (+${n.more} more)` : '';
    const keys = '  x dismiss, Enter on its row: detail';
    let text = `! new: ${who} ${what}${more}`;
    if (text.length + keys.length <= width) text += keys;
    if (text.length > width) text = text.slice(0, width);
    return tag('red-fg', tag('bold', esc(text)));
  }

  function layout(): 'small' | 'compact' | 'full' {
    const w = screen.width as number;
    const h = screen.height as number;
    if (w < MIN_W || h < MIN_H) return 'small';
    return w < 80 || h < 24 ? 'compact' : 'full';
  }

  function place(): void {
    const w = screen.width as number;
    const h = screen.height as number;
    const mode = layout();
    small.hidden = mode !== 'small';
    for (const el of [header, table, footer]) el.hidden = mode === 'small';
    gauges.hidden = spark.hidden = mode !== 'full';
    if (mode === 'small') return;
    const headH = (mode === 'full' ? 2 : 1) + (state.notice() ? 1 : 0);
    header.top = 0;
    header.height = headH;
    footer.top = h - 1;
    let top = headH;
    if (mode === 'full') {
      const panelH = Math.max(6, Math.min(12, Math.floor(h * 0.3)));
      gauges.top = spark.top = top;
      gauges.left = 0;
      gauges.width = Math.floor(w / 2);
      spark.left = Math.floor(w / 2);
      spark.width = w - Math.floor(w / 2);
      gauges.height = spark.height = panelH;
      top += panelH;
    }
    table.top = top;
    table.left = 0;
    table.width = w;
    table.height = h - 1 - top;
    overlay.top = headH;
    overlay.left = 0;
    overlay.width = w;
    overlay.height = h - 1 - headH;
  }

  function drawHeader(mode: 'compact' | 'full'): void {
    const s = state.latest;
    const m = stream.meta;
    const width = screen.width as number;
    const flags = [
      state.paused ? seg('[PAUSED]', 9, 'yellow-fg') : null,
      ended ? seg('[END OF RECORDING]', 9, 'yellow-fg') : null,
      !stream.live ? seg(`replay x${state.speed}`, 9) : null,
      state.filter ? seg(`filter: ${state.filter}`, 9) : null,
    ];
    const counts = s ? seg(`listeners ${s.listeners.length}  lost events ${s.lostEvents}`, 7) : null;
    const line1: Array<Seg | null> = [
      seg('acceptq', 10, 'bold'), ...flags, seg(m.host, 3), seg(m.kernel, 2), seg(`probe ${s?.probe ?? m.probe}`, 4),
      seg(`every ${o.interval}s`, 5), seg(`up ${hms(Date.now() - started)}`, 6), counts,
    ];
    if (!s) {
      header.setContent(fitLine(line1, width));
      return;
    }
    // the size of every namespace's gaps, either way: a +3 here does not hide a -3 there
    const r = reconcile(s.namespaces);
    const w = state.worstWait;
    const worst = w
      ? seg(`worst wait ${endpoint(w.row.family, w.row.address, w.row.port)} ${w.kind === 'p99' ? `p99 ${figure(duration(w.ms), true)}` : `oldest ${duration(w.ms)}`}`,
        8, w.ms >= SLOW_WAIT_MS ? 'yellow-fg' : undefined)
      : seg('worst wait -', 8);
    const line2: Array<Seg | null> = [
      seg(`kernel ListenOverflows ${rate(s.kernelRate)}/s`, 10), seg(`attributed ${rate(s.attributedRate)}/s`, 10),
      r.gap ? seg(`unattributed ${r.gap} (${r.namespaces} netns)`, 10, 'red-fg') : seg('unattributed 0', 10),
      r.estimate ? seg('estimate', 9, 'yellow-fg') : null,
      worst,
      // the compact layout has no first line: the counts go here
      mode === 'full' ? null : counts,
      s.mapFull ? seg(`maps full: ${s.mapFull} not tracked`, 9, 'red-fg') : null,
      ...lossNotes(s).map((n) => seg(n.slice(0, n.indexOf(' (')), 9, 'red-fg')),
      s.notice ? { ...seg(`notice: ${s.notice}`, 6, 'yellow-fg'), cut: true } : null,
    ];
    // where the reconciliation leaves no room for the worst wait, it goes up to the first line
    const needed = (segs: Array<Seg | null>) => segs.reduce((n, x) => n + (x && x.pri >= 8 ? x.plain.length + 2 : 0), -2);
    if (mode === 'full' && needed(line2) > width) {
      line2.splice(line2.indexOf(worst), 1);
      line1.splice(1 + flags.length, 0, worst);
    }
    const notice = noticeLine(width);
    header.setContent([mode === 'full' ? fitLine(line1, width) : '', fitLine(line2, width), notice ?? ''].filter(Boolean).join('\n'));
  }

  function drawGauges(): void {
    const s = state.latest;
    const inner = (gauges.width as number) - 2;
    const lines = (gauges.height as number) - 2;
    title(gauges, 'accept queues');
    if (!s) return;
    // the rows the filter admits, like every panel
    // the fullest queues, from the table's sorted rows in one pass (no second sort)
    const rows = state.gaugeRows(lines);
    const cells = rows.map((r) => {
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
      return `${esc(c.name.padEnd(nameW).slice(0, nameW))} [${full ? tag('red-fg', b) : tag('green-fg', b)}] ${c.depth.padEnd(depthW)} ` +
        `${c.slow ? tag('yellow-fg', oldest) : oldest}${more ? ` ${c.more}` : ''}`;
    });
    if (!out.length && state.filter) out.push(`no open listener matches "${esc(state.filter)}"`);
    gauges.setContent(out.join('\n'));
  }

  function drawSpark(): void {
    // as many frames as fit (at most the history kept), the newest over "now" of the axis;
    // the widget draws its width less 2 points
    const inner = Math.max(6, (spark.width as number) - 2);
    const points = Math.min(inner - 2, HISTORY);
    const lines = Math.max(1, (spark.height as number) - 2);
    const sel = state.selected();
    const filtered = !!state.filter;
    title(spark, 'overflows/s');
    const total = filtered ? state.filteredTotalValues(points) : state.total.values().slice(-points);
    const series = (name: string, values: number[]) => [{ name, values }];
    // two lines a series (its title, its line), a blank line between them where there is room, the axis under the last
    const gap = lines >= 6 ? 1 : 0;
    const showSel = !!sel && lines >= 5 + gap;
    for (const w of [sparkTotal, sparkSel]) {
      w.width = points + 2;
      w.left = 0;
    }
    sparkTotal.top = 0;
    setSeries(sparkTotal, series(`${filtered || fixedFilter ? 'matching' : 'all'} listeners (attributed)`, total), points);
    sparkSel.hidden = !showSel;
    if (showSel) {
      sparkSel.top = 2 + gap;
      setSeries(sparkSel, series(`${endpoint(sel!.family, sel!.address, sel!.port)} (selected)`, state.historyOf(sel!.id)?.values().slice(-points) ?? []), points);
    }
    sparkAxis.top = showSel ? 4 + gap : 2;
    sparkAxis.width = points;
    sparkAxis.setContent(timeAxis(points, intervalS));
  }

  function drawTable(): void {
    // the snapshot's time: what the rows say is as of then (a replay, a pause)
    const now = state.latest?.timeMs ?? Date.now();
    const inner = (table.width as number) - 2;
    const visible = Math.max(1, (table.height as number) - 2 - 1);
    const cols = fitColumns(inner);
    const rows = state.rows();
    const idx = rows.findIndex((r) => r.id === state.selectedId);
    if (idx >= 0) {
      if (idx < scroll) scroll = idx;
      if (idx >= scroll + visible) scroll = idx - visible + 1;
    }
    scroll = Math.max(0, Math.min(scroll, Math.max(0, rows.length - visible)));
    const lines = [tag('bold', esc(headerLine(cols, state.sortKey, state.reverse)))];
    for (const r of rows.slice(scroll, scroll + visible)) {
      // the marks ('!' dropping now, '*' recently, 'x' closed) say it without colour too
      const act = activity(r, now, nowMs);
      let line = esc(rowLine(cols, r, r.id === state.selectedId, now, nowMs));
      if (act === 'now') line = tag('red-fg', tag('bold', line));
      else if (act === 'recent') line = tag('yellow-fg', line);
      else if (act === 'closed') line = tag('gray-fg', line);
      if (r.id === state.selectedId) line = color ? `{inverse}${line}{/inverse}` : line;
      lines.push(line);
    }
    if (!rows.length) lines.push(state.filter ? `  no listener matches "${esc(state.filter)}"` : '  no TCP listeners yet');
    title(table, `listeners${rows.length ? ` ${idx + 1}/${rows.length}` : ''}`);
    table.setContent(lines.join('\n'));
  }

  /** The table row (or the header: 'header') under a point of the screen. */
  function tableHit(x: number, y: number): { row?: ListenerRow; header?: boolean; col?: number } {
    const b = 1; // the border
    const line = y - (table.atop as number) - b;
    const col = x - (table.aleft as number) - b;
    if (line < 0 || col < 0 || col >= (table.width as number) - 2 * b) return {};
    if (line === 0) return { header: true, col };
    const visible = Math.max(1, (table.height as number) - 2 * b - 1);
    if (line > visible) return {};
    return { row: state.rows()[scroll + line - 1], col };
  }

  /** Why a listener overflows: its diagnosis from the latest two snapshots (the SYN-side rates need both), once a snapshot. */
  let diagnosed: { snapshot: Snapshot; id: string; d: Diagnosis | null } | null = null;
  function diagnosisOf(r: ListenerRow, ns: NamespaceRow | undefined): Diagnosis | null {
    const s = state.latest;
    if (!s) return null;
    if (diagnosed?.snapshot !== s || diagnosed.id !== r.id) {
      diagnosed = { snapshot: s, id: r.id, d: diagnose(r, ns, state.previous ? synRates(r, state.previousRow(r.id), s.elapsed) : undefined) };
    }
    return diagnosed.d;
  }

  /**
   * The detail view, as many of its parts as fit the overlay: the less
   * important go first (the recent events, blank lines, the SYN-side lines
   * as one, histogram rows, wrapped lines); the sparklines (a
   * blessed-contrib widget over lines kept blank for it) last.
   */
  function drawDetail(r: ListenerRow): void {
    const W = Math.max(20, (overlay.width as number) - 2);
    const H = Math.max(1, (overlay.height as number) - 2);
    const now = state.latest?.timeMs ?? Date.now();
    const est = (v: number | string) => figure(v, r.estimate);
    const approx = (ms: number | null | undefined) => (ms == null ? '-' : figure(duration(ms), true));
    const ns: NamespaceRow | undefined = state.latest?.namespaces.find((n) => n.cookie === r.netnsCookie);
    /** Plain text cut to the width, escaped. */
    const line = (text: string) => esc(text.length > W ? text.slice(0, W - 1) + '~' : text);
    const wrapped = (text: string, max: number) => wrapText(text, W, '  ', max).map(esc);
    const cap = r.maxBacklog + Math.max(1, r.sockets);

    const d = diagnosisOf(r, ns);
    const diagnosis = (max: number): string[] => {
      if (d) return [...wrapped(`diagnosis: ${d.verdict}`, max).map((l) => tag('yellow-fg', l)), ...wrapped(`  basis: ${d.basis}`, max)];
      if (r.closed) return [line('diagnosis: none (closed)')];
      if (!r.waitHist?.length) return [line('diagnosis: none (no accept-queue traffic figures: a format-1 recording)')];
      // the model finds nothing to explain when nothing drops now; a full queue (just taken from) drops the next one
      const full = r.backlog > 0 && r.backlog >= r.maxBacklog;
      return wrapped(full ? `diagnosis: nothing dropped in the last interval, but its queue is full: the next connection overflows`
        : `diagnosis: keeps up: nothing dropped in the last interval`, max);
    };

    const sockets = Math.max(1, r.sockets);
    const cut = r.requestedBacklog != null && ns?.somaxconn != null && r.requestedBacklog / sockets > ns.somaxconn;
    const backlog = (max: number) => wrapped(
      (r.requestedBacklog != null
        ? `backlog: listen() asked ${r.requestedBacklog}, in effect ${r.maxBacklog}${r.sockets > 1 ? ` (over ${r.sockets} sockets)` : ''}${cut ? ', cut by net.core.somaxconn' : ''}`
        : `backlog: in effect ${r.maxBacklog} (what listen() asked is not known: it listened before acceptq started)`) +
      (ns ? (sysctlText(ns) || "; the namespace's sysctls are not known") : ''),
      max);
    const facts = (max: number): string[] => [
      line(`sockets ${r.sockets}  accept queue ${r.backlog}/${r.maxBacklog} (admits ${cap})  peak ${r.peakBacklog}  SYN queue ${r.synBacklog}`),
      line(`arrivals ${r.arrivals ?? 0} (${rate(r.arrivalRate ?? 0)}/s)  accepts ${r.accepts ?? 0} (${rate(r.acceptRate ?? 0)}/s)  ` +
        (r.oldestWaitMs == null ? 'none waiting now' : `oldest waiting ${duration(r.oldestWaitMs)}`)),
      ...backlog(Math.max(2, max)),
      line(`overflows ${est(r.overflows)} (SYN path ${est(r.overflowsSyn)}, ACK path ${est(r.overflowsAck)})  ${est(rate(r.overflowRate))}/s  first ${ago(r.firstOverflowMs, now)} ago  last ${ago(r.lastOverflowMs, now)} ago`),
    ];
    // beside the listener's share: its namespace's exact kernel count and the gap
    const nsPart = (kernel: string, v: number | undefined, gap: number | undefined) => (ns ? `   netns ${kernel} ${v}, unattributed ${gap}` : '');
    const synFull = [
      line(`SYN-queue drops ${est(r.synDrops)}` + nsPart('TCPReqQFullDrop', ns?.reqQFullDrops, ns?.unattributedSynDrops)),
      line(`SYN cookies ${est(r.cookies)}` + nsPart('SyncookiesSent', ns?.syncookiesSent, ns?.unattributedCookies)),
      ns
        ? line(`netns ${ns.netns}: ListenOverflows ${ns.listenOverflows}, unattributed ${ns.unattributed}; unmatched ${ns.unmatched}`) +
          (ns.estimate ? '  ' + tag('yellow-fg', 'split among its listeners: estimate') : '')
        : line(`netns ${r.netns}: its kernel counters were not read`),
    ];
    const synShort = [line(`SYN-queue drops ${est(r.synDrops)}, SYN cookies ${est(r.cookies)}` +
      (ns ? `; netns ${ns.netns}: ListenOverflows ${ns.listenOverflows}, unattributed ${ns.unattributed}/${ns.unattributedSynDrops}/${ns.unattributedCookies}` : ''))];
    const estimate = (max: number) => (r.estimate ? wrapped(ESTIMATE_NOTE, max).map((l) => tag('yellow-fg', l)) : []);

    // the last interval's waits: exact count, mean, min, max; p50 and p99 estimated from the histogram
    const waits = !r.waitHist?.length
      ? 'wait: not recorded (a format-1 recording)'
      : r.waitCount > 0
        ? `wait, last interval (${r.waitCount} timed): p50 ${approx(r.waitP50Ms)}  p99 ${approx(r.waitP99Ms)}  ` +
          `mean ${duration(r.waitMeanMs)}  min ${duration(r.waitMinMs)}  max ${duration(r.waitMaxMs)}`
        : 'wait, last interval: no accept() timed';
    const hist = (rows: number): string[] => {
      const h = histRows(r.waitHist ?? [], rows, ascii);
      if (!h.length) return [];
      const labelW = Math.max(...h.map((x) => x.label.length));
      const most = Math.max(...h.map((x) => x.count));
      const barW = Math.max(4, Math.min(40, W - labelW - String(most).length - 6));
      return h.map((x) => {
        const n = x.count ? Math.max(1, Math.round((x.count / most) * barW)) : 0;
        return line(`  ${x.label.padStart(labelW)} ${(ascii ? '#' : '█').repeat(n)}${n ? ' ' : ''}${x.count}`);
      });
    };

    const events = state.eventsOf(r.id);
    const eventLine = (e: (typeof events)[number]) =>
      line(`  ${new Date(e.timeMs).toISOString().slice(11, 23)}  ${e.path.padEnd(8)} from ${endpoint(e.remoteAddress.includes(':') ? 6 : 4, e.remoteAddress, e.remotePort)}  queue ${e.backlog}/${e.maxBacklog} syn ${e.synBacklog}`);

    // richest first; the first that fits is drawn (the last whatever fits)
    // (diag: lines each for the verdict and its basis; wrap: for the other long lines;
    // series: 3 overflows, accepts and arrivals per second, 2 the last two, 0 none)
    const layouts = [
      { blanks: true, synFull: true, hist: 8, diag: 3, wrap: 3, series: 3 },
      { blanks: true, synFull: true, hist: 4, diag: 2, wrap: 2, series: 3 },
      { blanks: false, synFull: true, hist: 4, diag: 2, wrap: 2, series: 3 },
      { blanks: false, synFull: false, hist: 3, diag: 2, wrap: 2, series: 3 },
      { blanks: false, synFull: false, hist: 2, diag: 2, wrap: 2, series: 2 },
      { blanks: false, synFull: false, hist: 1, diag: 2, wrap: 1, series: 2 },
      { blanks: false, synFull: false, hist: 1, diag: 1, wrap: 1, series: 2 },
      { blanks: false, synFull: false, hist: 1, diag: 1, wrap: 1, series: 0 },
    ];
    let lines: string[] = [];
    let sparkAt = -1;
    let series = 0;
    for (const l of layouts) {
      const blank = l.blanks ? [''] : [];
      lines = [
        tag('bold', line(`${endpoint(r.family, r.address, r.port)}  netns ${r.netns}  ${r.pid ? `pid ${r.pid} ${sanitize(r.comm)}` : 'owner unknown'}${r.service ? `  service ${sanitize(r.service)}` : ''}  uid ${r.uid}  ${r.closed ? 'closed' : 'open'}`)),
        ...diagnosis(l.diag),
        ...blank,
        ...facts(l.wrap),
        ...(l.synFull ? synFull : synShort),
        ...estimate(l.wrap),
        ...blank,
        ...wrapped(waits, l.wrap),
        ...hist(l.hist),
      ];
      sparkAt = -1;
      series = l.series;
      if (series) {
        lines.push(...blank);
        sparkAt = lines.length;
        // kept blank for the widget (a title and a line a series, a blank line between them), then its axis
        lines.push(...new Array<string>(3 * series - 1 + 1).fill(''));
      }
      if (lines.length <= H) break;
    }
    // the recent detail events in what is left: a blank line first where there is room for two
    const left = H - lines.length;
    const gapBefore = left >= 4 ? 1 : 0;
    if (left - gapBefore >= 2) {
      if (gapBefore) lines.push('');
      const shown = events.slice(-(left - gapBefore - 1)).reverse();
      const of = shown.length < events.length ? ` of ${events.length}` : '';
      lines.push(line(`recent detail events (${shown.length}${of}, newest first)${shown.length ? ':' : ''}`), ...shown.map(eventLine));
    }
    overlay.setLabel(' listener detail (Esc or Enter: close) ');
    overlay.setContent(lines.slice(0, H).join('\n'));

    const points = Math.min(W - 2, HISTORY);
    detailSpark.hidden = detailAxis.hidden = sparkAt < 0;
    if (sparkAt >= 0) {
      detailSpark.top = sparkAt;
      detailSpark.width = points + 2;
      detailSpark.height = 3 * series - 1;
      detailAxis.top = sparkAt + 3 * series - 1;
      detailAxis.width = points;
      const traffic = state.trafficOf(r.id, points);
      setSeries(detailSpark, [
        { name: 'overflows/s', values: state.historyOf(r.id)?.values().slice(-points) ?? [] },
        { name: 'accepts/s', values: traffic.accepts },
        { name: 'arrivals/s', values: traffic.arrivals },
      ].slice(3 - series), points);
      detailAxis.setContent(timeAxis(points, intervalS));
    }
  }

  function draw(): void {
    if (destroyed) return;
    place();
    const mode = layout();
    if (mode === 'small') {
      small.setContent(`acceptq: terminal too small (${screen.width}x${screen.height}); needs at least ${MIN_W}x${MIN_H}. q quits.`);
    } else {
      timed('header', () => drawHeader(mode));
      if (mode === 'full') {
        timed('gauges', drawGauges);
        timed('spark', drawSpark);
      }
      timed('table', drawTable);
      let keys = ascii ? FOOTER_ASCII : FOOTER;
      if (state.notice()) keys = keys.replace('  ? help', '  x dismiss  ? help');
      footer.setContent(filterEditing ? ` filter: ${filterDraft}_   (Enter keep, Esc clear)` : keys.slice(0, screen.width as number));
    }
    // the help wraps on a narrow terminal; the detail view's lines are cut or wrapped to fit
    (overlay as unknown as { wrap: boolean }).wrap = overlayKind === 'help';
    if (overlayKind === 'help') {
      overlay.setLabel(' help: any key closes it ');
      overlay.setContent(esc(HELP));
    } else if (overlayKind === 'detail') {
      const r = state.rows().find((x) => x.id === detailId);
      if (r) timed('detail', () => drawDetail(r));
      else overlayKind = 'none';
    }
    if (overlayKind !== 'detail') detailSpark.hidden = detailAxis.hidden = true;
    overlay.hidden = overlayKind === 'none' || mode === 'small';
    render();
  }

  /** The detail view of the selected listener; the person has looked at it, so its notice goes. */
  function openDetail(): void {
    const r = state.selected();
    if (!r) return;
    detailId = r.id;
    overlayKind = 'detail';
    state.dismissNotice(r.id);
  }

  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown) => {
      if (timer) clearTimeout(timer);
      destroy();
      if (err) reject(err);
      else resolve();
    };

    const tick = () => {
      try {
        startFrame('tick');
        if (!state.paused && !ended) {
          const t0 = frame ? performance.now() : 0;
          const s = stream.next();
          const t1 = frame ? performance.now() : 0;
          if (s === null) ended = true;
          else state.ingest(narrow(s, o.filter));
          if (frame && state.timing) {
            frame.nextMs = t1 - t0;
            // the rows' filtering and sorting (for the selection) are counted apart
            frame.ingestMs = performance.now() - t1 - state.timing.sortMs - state.timing.filterMs;
          }
        }
        draw();
      } catch (e) {
        finish(e);
        return;
      }
      const period = stream.live ? o.interval * 1000 : (stream.meta.intervalS * 1000) / state.speed;
      timer = setTimeout(tick, period);
    };

    screen.on('resize', () => {
      startFrame('resize');
      draw();
    });
    screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string; ctrl?: boolean }) => {
      const name = key?.full ?? key?.name ?? ch ?? '';
      startFrame('key', name);
      // blessed reports Enter twice, as 'return' and again as 'enter': act once
      if (name === 'enter') return;
      if (name === 'C-c') return finish();
      if (filterEditing) {
        if (name === 'return') filterEditing = false;
        else if (name === 'escape') {
          filterEditing = false;
          filterDraft = '';
          state.setFilter('');
        } else if (name === 'backspace') {
          filterDraft = filterDraft.slice(0, -1);
          state.setFilter(filterDraft);
        } else if (ch && ch.length === 1 && ch >= ' ' && ch !== '\x7f') {
          filterDraft += ch;
          state.setFilter(filterDraft);
        }
        return draw();
      }
      if (overlayKind === 'help') {
        overlayKind = 'none';
        return draw();
      }
      if (overlayKind === 'detail') {
        if (name === 'escape' || name === 'return' || name === 'q') overlayKind = 'none';
        return draw();
      }
      switch (name) {
        case 'q':
          return finish();
        case 'escape':
          if (state.filter) {
            filterDraft = '';
            state.setFilter('');
            break;
          }
          return finish();
        case 'up': case 'k': state.move(-1); break;
        case 'down': case 'j': state.move(1); break;
        case 'pageup': state.move(-10); break;
        case 'pagedown': state.move(10); break;
        case 'home': case 'g': state.moveTo('first'); break;
        case 'end': case 'S-g': state.moveTo('last'); break;
        case '<': case ',': state.cycleSort(-1); break;
        case '>': case '.': case 's': state.cycleSort(1); break;
        case 'r': state.toggleReverse(); break;
        case '/': filterEditing = true; filterDraft = state.filter; break;
        case 'return': openDetail(); break;
        case 'x': { const n = state.notice(); if (n) state.dismissNotice(n.row.id); break; }
        case 'p': case 'space': state.paused = !state.paused; break;
        case '+': case '=': state.changeSpeed(1); break;
        case '-': state.changeSpeed(-1); break;
        case '?': case 'f1': overlayKind = 'help'; break;
        default:
          if (ch === '<') state.cycleSort(-1);
          else if (ch === '>') state.cycleSort(1);
          else if (ch === '?') overlayKind = 'help';
          else if (ch === 'G') state.moveTo('last');
          else if (ch === '+') state.changeSpeed(1);
          else return;
      }
      draw();
    });

    // the mouse: a click on a row selects it, on a column header sorts by it
    // (again: reversed), the wheel moves the selection; not under an overlay.
    // On the press, not the release: blessed reads one mouse report per read.
    table.on('mousedown', (data: { x: number; y: number; button?: string }) => {
      if (data.button !== 'left') return;
      if (overlayKind !== 'none' || filterEditing || layout() === 'small') return;
      startFrame('mouse');
      const hit = tableHit(data.x, data.y);
      if (hit.header) {
        const c = columnAt(fitColumns((table.width as number) - 2), hit.col!);
        if (!c?.sort) return;
        state.sortBy(c.sort);
      } else if (hit.row) state.select(hit.row.id);
      else return;
      draw();
    });
    const wheel = (dir: 1 | -1) => () => {
      if (overlayKind !== 'none' || filterEditing || layout() === 'small') return;
      startFrame('mouse');
      state.move(dir * WHEEL_ROWS);
      draw();
    };
    table.on('wheeldown', wheel(1));
    table.on('wheelup', wheel(-1));
    // the overlays take the clicks over what they cover; a click closes the help
    overlay.on('mousedown', () => {
      if (overlayKind === 'help') {
        startFrame('mouse');
        overlayKind = 'none';
        draw();
      }
    });

    if (o.duration !== undefined) setTimeout(() => finish(), o.duration * 1000);
    tick();
  });
}
