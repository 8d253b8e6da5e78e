/**
 * The full-screen dashboard (blessed). It reads snapshots from a
 * SnapshotStream once per tick and never talks to the kernel itself.
 * Layout: header (reconciliation, and a notice when a listener starts
 * dropping), queue gauges beside the drop-rate sparklines, the listener
 * table, a footer of keys; overlays for the detail view and help. Below
 * 80x24 a compact layout; below 60x12 a notice. Keys and the mouse (click a
 * row or a column header, the wheel) drive it.
 */
import blessed from 'blessed';
import { endpoint } from '../src/model/address';
import { sanitize } from '../src/model/sanitize';
import { ESTIMATE_NOTE, figure, fill, filterSnapshot, reconcile, type RowFilter } from '../src/model/view';
import type { ListenerRow, NamespaceRow, Snapshot, SnapshotStream } from '../src/model/types';
import { activity, columnAt, fitColumns, headerLine, NOW_MS, rowLine } from './columns';
import { ago, bar, DashboardState, HISTORY, sparkline, timeAxis } from './viewmodel';

const MIN_W = 60;
const MIN_H = 12;
const FOOTER = ' q quit  ↑↓/jk move  </> sort  s sort  r reverse  / filter  Enter detail  p pause  ? help';
const FOOTER_ASCII = FOOTER.replace('↑↓', 'up/dn');
/** Rows the mouse wheel moves the selection by, per step. */
const WHEEL_ROWS = 3;

/** UTF-8 locale? Otherwise draw with plain ASCII. */
export function utf8Locale(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(v);
}

const HELP = `acceptq dashboard

  Up/Down, j/k       move the selection (PgUp/PgDn, Home/End, g/G); until you move it,
                     it follows the worst listener (the top row)
  < and >            previous / next sort column (marked v or ^ in the table header)
  s                  next sort column
  r                  reverse the sort
  /                  filter by text (address, port, comm, pid, namespace); Enter keeps it,
                     Esc clears it. It narrows every panel; their titles say so
  Enter              detail view of the selected listener (Esc or Enter to close)
  x                  dismiss the header's notice of a listener that started dropping
                     (opening its detail view dismisses it too)
  p or Space         pause / resume
  + and -            replay speed (when replaying a recording)
  ? or F1            this help
  q, Esc, Ctrl-C     quit
  mouse              click a row to select it, a column header to sort by it (again to
                     reverse); the wheel moves the selection

  Marks before a row: ! dropping now (in the last 2 s, or two frames), * dropped in
  the last minute, x closed; > is the selection.

  QUEUE is the accept queue now against the listen() backlog: the kernel admits
  backlog + 1 per socket before it drops. PEAK is the deepest it got since the
  previous frame. SYN/ACK splits overflows by the path that dropped them.
  Closed listeners are marked x and stay for two minutes. The sparklines span
  the time under them, from the left end ("-3m") to now at the right end.
  The header: the kernel's ListenOverflows/s against what acceptq attributed;
  "unattributed" adds up every namespace's gaps (overflows, SYN-queue drops,
  cookies; either sign counts). ~ marks a listener's estimated split (its
  namespace's total is exact); "estimate": some namespace's split is one now.

  Press any key to close.`;

function hms(ms: number): string {
  const s = Math.floor(ms / 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
}

const rate = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

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

  const screen = blessed.screen({
    smartCSR: true,
    fullUnicode: !ascii,
    forceUnicode: !ascii, // box drawing as Unicode, not the terminal's ACS (tmux, screen)
    dockBorders: true,
    warnings: false,
    title: 'acceptq',
    terminal: process.env.TERM || 'xterm',
  });
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
  const table = blessed.box({ parent: screen, label: ' listeners ', border, tags: true, wrap: false, style: panelStyle });
  const footer = blessed.box({ parent: screen, left: 0, height: 1, width: '100%', tags: false, style: color ? { fg: 'black', bg: 'cyan' } : { inverse: true } });
  const small = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%', hidden: true, tags: false });
  // covers the panels whole (their borders too), between the header and the footer
  const overlay = blessed.box({ parent: screen, top: 2, left: 0, width: '100%', height: '100%-3', border, hidden: true, tags: true, style: panelStyle });
  let overlayKind: 'none' | 'detail' | 'help' = 'none';
  /** The listener the detail view shows (the one Enter was pressed on). */
  let detailId: string | null = null;
  let filterEditing = false;
  let filterDraft = '';
  let scroll = 0;

  const esc = (s: string) => blessed.escape(s);
  const tag = (t: string, s: string) => (color ? `{${t}}${s}{/${t}}` : s);

  /** Every filter on (the command line's, the typed one), for the panels' titles; '' for none. */
  function filterNote(): string {
    const parts = [fixedFilter, state.filter ? `"${state.filter}"` : ''].filter(Boolean);
    return parts.length ? `filter: ${parts.join(' + ')}` : '';
  }

  /** A panel's title, with the filter when one is on, cut to the panel's width. */
  function title(el: blessed.Widgets.BoxElement, text: string): void {
    const note = filterNote();
    const full = note ? `${text} [${note}]` : text;
    const room = Math.max(4, (el.width as number) - 4);
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
    const flags = [
      state.paused ? tag('yellow-fg', '[PAUSED]') : '',
      ended ? tag('yellow-fg', '[END OF RECORDING]') : '',
      !stream.live ? `replay x${state.speed}` : '',
      state.filter ? `filter: ${esc(state.filter)}` : '',
    ].filter(Boolean).join(' ');
    const line1 = `{bold}acceptq{/bold}  ${esc(m.host)}  ${esc(m.kernel)}  probe ${esc(s?.probe ?? m.probe)}  every ${o.interval}s  up ${hms(Date.now() - started)}  ${flags}`;
    if (!s) {
      header.setContent(line1);
      return;
    }
    // the size of every namespace's gaps, either way: a +3 here does not hide a -3 there
    const r = reconcile(s.namespaces);
    const recon = `kernel ListenOverflows ${rate(s.kernelRate)}/s  attributed ${rate(s.attributedRate)}/s  ` +
      (r.gap ? tag('red-fg', `unattributed ${r.gap} (${r.namespaces} netns)`) : 'unattributed 0') +
      (r.estimate ? '  ' + tag('yellow-fg', 'estimate') : '') +
      `  listeners ${s.listeners.length}  lost events ${s.lostEvents}` +
      (s.mapFull ? '  ' + tag('red-fg', `maps full: ${s.mapFull} not tracked`) : '') +
      (s.notice ? '  ' + tag('yellow-fg', `notice: ${esc(s.notice)}`) : '');
    const notice = noticeLine(screen.width as number);
    header.setContent([mode === 'full' ? line1 : '', recon, notice ?? ''].filter(Boolean).join('\n'));
  }

  function drawGauges(): void {
    const s = state.latest;
    const inner = (gauges.width as number) - 2;
    const lines = (gauges.height as number) - 2;
    title(gauges, 'accept queues');
    if (!s) return;
    // the rows the filter admits, like every panel
    const rows = state.rows().filter((r) => !r.closed && r.maxBacklog > 0).sort((a, b) => fill(b) - fill(a) || b.overflowRate - a.overflowRate).slice(0, lines);
    const out = rows.map((r) => {
      const cap = r.maxBacklog + Math.max(r.sockets, 1);
      const name = endpoint(r.family, r.address, r.port);
      const nameW = Math.min(22, Math.max(10, Math.floor(inner * 0.35)));
      const tail = ` ${r.backlog}/${cap} pk ${r.peakBacklog} syn ${r.synBacklog}`.padEnd(24);
      const barW = Math.max(4, inner - nameW - tail.length - 3);
      const b = bar(r.backlog, cap, barW, ascii);
      const full = r.backlog >= cap;
      return `${esc(name.padEnd(nameW).slice(0, nameW))} [${full ? tag('red-fg', b) : tag('green-fg', b)}]${tail}`;
    });
    if (!out.length && state.filter) out.push(`no open listener matches "${esc(state.filter)}"`);
    gauges.setContent(out.join('\n'));
  }

  function drawSpark(): void {
    // as many frames as fit (at most the history kept), the newest at the right end
    const width = Math.max(4, (spark.width as number) - 2);
    const points = Math.min(width, HISTORY);
    const lines = Math.max(1, (spark.height as number) - 2);
    const sel = state.selected();
    const filtered = !!state.filter;
    title(spark, 'overflows/s');
    const sets: Array<{ title: string; values: number[] }> = [
      { title: filtered || fixedFilter ? 'matching listeners (attributed)' : 'all listeners (attributed)', values: filtered ? state.filteredTotalValues(points) : state.total.values().slice(-points) },
    ];
    if (sel) sets.push({ title: `${endpoint(sel.family, sel.address, sel.port)} (selected)`, values: state.historyOf(sel.id)?.values().slice(-points) ?? [] });
    const pad = (line: string) => ' '.repeat(width - points) + line;
    const out: string[] = [];
    sets.forEach((d, i) => {
      // two lines each, the axis after them: a blank line between them where there is room
      const need = out.length + (i && lines >= 6 ? 1 : 0) + 3;
      if (need > lines && i) return;
      if (i && lines >= 6) out.push('');
      out.push(`${tag('bold', esc(d.title))} max ${rate(Math.max(0, ...d.values))}`);
      out.push(pad(tag('red-fg', sparkline(d.values, points, ascii, true))));
    });
    out.push(pad(timeAxis(points, intervalS)));
    spark.setContent(out.slice(0, lines).join('\n'));
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

  function drawDetail(r: ListenerRow): void {
    const inner = Math.max(10, (overlay.width as number) - 4);
    const hist = state.historyOf(r.id)?.values() ?? [];
    const events = state.eventsOf(r.id).slice(-Math.max(1, (overlay.height as number) - 20)).reverse();
    const now = state.latest?.timeMs ?? Date.now();
    const est = (v: number | string) => figure(v, r.estimate);
    const ns: NamespaceRow | undefined = state.latest?.namespaces.find((n) => n.cookie === r.netnsCookie);
    // beside the listener's share: its namespace's exact kernel count and the gap
    const nsPart = (kernel: string, v: number | undefined, gap: number | undefined) =>
      (ns ? `   netns ${kernel} ${v}, unattributed ${gap}` : '');
    const lines = [
      `{bold}${esc(endpoint(r.family, r.address, r.port))}{/bold}  netns ${r.netns}  ${r.pid ? `pid ${r.pid} ${esc(sanitize(r.comm))}` : 'owner unknown'}  uid ${r.uid}  ${r.closed ? tag('yellow-fg', 'closed') : 'open'}`,
      `sockets ${r.sockets}  accept queue ${r.backlog}/${r.maxBacklog} (admits ${r.maxBacklog + Math.max(1, r.sockets)})  peak ${r.peakBacklog}  SYN queue ${r.synBacklog}`,
      `overflows ${est(r.overflows)} (SYN path ${est(r.overflowsSyn)}, ACK path ${est(r.overflowsAck)})  ${est(rate(r.overflowRate))}/s  first ${ago(r.firstOverflowMs, now)} ago  last ${ago(r.lastOverflowMs, now)} ago`,
      `SYN-queue drops ${est(r.synDrops)}` + nsPart('TCPReqQFullDrop', ns?.reqQFullDrops, ns?.unattributedSynDrops),
      `SYN cookies ${est(r.cookies)}` + nsPart('SyncookiesSent', ns?.syncookiesSent, ns?.unattributedCookies),
      ns
        ? `netns ${ns.netns}: ListenOverflows ${ns.listenOverflows}, unattributed ${ns.unattributed}; unmatched ${ns.unmatched}` +
          (ns.estimate ? '  ' + tag('yellow-fg', 'split among its listeners: estimate') : '')
        : `netns ${r.netns}: its kernel counters were not read`,
      ...(r.estimate ? [tag('yellow-fg', esc(ESTIMATE_NOTE))] : []),
      '',
      `overflows/s, last ${hist.length} frames (max ${rate(Math.max(0, ...hist))}):`,
      sparkline(hist, inner, ascii, true),
      timeAxis(Math.min(inner, HISTORY), intervalS, inner),
      '',
      `recent detail events (${events.length}):`,
      ...events.map((e) => `  ${new Date(e.timeMs).toISOString().slice(11, 23)}  ${e.path.padEnd(8)} from ${esc(endpoint(e.remoteAddress.includes(':') ? 6 : 4, e.remoteAddress, e.remotePort))}  queue ${e.backlog}/${e.maxBacklog} syn ${e.synBacklog}`),
      '',
      'Esc or Enter to close',
    ];
    overlay.setLabel(' listener detail ');
    overlay.setContent(lines.join('\n'));
  }

  function draw(): void {
    if (destroyed) return;
    place();
    const mode = layout();
    if (mode === 'small') {
      small.setContent(`acceptq: terminal too small (${screen.width}x${screen.height}); needs at least ${MIN_W}x${MIN_H}. q quits.`);
    } else {
      drawHeader(mode);
      if (mode === 'full') {
        drawGauges();
        drawSpark();
      }
      drawTable();
      let keys = ascii ? FOOTER_ASCII : FOOTER;
      if (state.notice()) keys = keys.replace('  ? help', '  x dismiss  ? help');
      footer.setContent(filterEditing ? ` filter: ${filterDraft}_   (Enter keep, Esc clear)` : keys.slice(0, screen.width as number));
    }
    if (overlayKind === 'help') {
      overlay.setLabel(' help ');
      overlay.setContent(esc(HELP));
    } else if (overlayKind === 'detail') {
      const r = state.rows().find((x) => x.id === detailId);
      if (r) drawDetail(r);
      else overlayKind = 'none';
    }
    overlay.hidden = overlayKind === 'none' || mode === 'small';
    screen.render();
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
        if (!state.paused && !ended) {
          const s = stream.next();
          if (s === null) ended = true;
          else state.ingest(narrow(s, o.filter));
        }
        draw();
      } catch (e) {
        finish(e);
        return;
      }
      const period = stream.live ? o.interval * 1000 : (stream.meta.intervalS * 1000) / state.speed;
      timer = setTimeout(tick, period);
    };

    screen.on('resize', () => draw());
    screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string; ctrl?: boolean }) => {
      const name = key?.full ?? key?.name ?? ch ?? '';
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
      state.move(dir * WHEEL_ROWS);
      draw();
    };
    table.on('wheeldown', wheel(1));
    table.on('wheelup', wheel(-1));
    // the overlays take the clicks over what they cover; a click closes the help
    overlay.on('mousedown', () => {
      if (overlayKind === 'help') {
        overlayKind = 'none';
        draw();
      }
    });

    if (o.duration !== undefined) setTimeout(() => finish(), o.duration * 1000);
    tick();
  });
}
