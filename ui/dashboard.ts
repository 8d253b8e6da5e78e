/**
 * The full-screen dashboard (blessed + blessed-contrib). It reads snapshots
 * from a SnapshotStream once per tick and never talks to the kernel itself.
 * Layout: header (reconciliation), queue gauges beside the drop-rate
 * sparkline, the listener table, a footer of keys; overlays for the detail
 * view and help. Below 80x24 a compact layout; below 60x12 a notice.
 */
import blessed from 'blessed';
// the widget alone: the package's index loads every widget (maps, markdown), ~13 MB
import contribSparkline from 'blessed-contrib/lib/widget/sparkline';
import { endpoint } from '../src/model/address';
import { sanitize } from '../src/model/sanitize';
import { ESTIMATE_NOTE, figure, fill, reconcile } from '../src/model/view';
import type { ListenerRow, NamespaceRow, SnapshotStream } from '../src/model/types';
import { fitColumns, headerLine, rowLine } from './columns';
import { ago, bar, DashboardState, sparkline } from './viewmodel';

const MIN_W = 60;
const MIN_H = 12;
const FOOTER = ' q quit  ↑↓/jk move  </> sort  s sort  r reverse  / filter  Enter detail  p pause  ? help';
const FOOTER_ASCII = FOOTER.replace('↑↓', 'up/dn');

/** UTF-8 locale? Otherwise draw with plain ASCII. */
export function utf8Locale(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(v);
}

const HELP = `acceptq dashboard

  Up/Down, j/k       move the selection (PgUp/PgDn, Home/End, g/G)
  < and >            previous / next sort column (marked v or ^ in the table header)
  s                  next sort column
  r                  reverse the sort
  /                  filter by text (address, port, comm, pid, namespace); Enter keeps it,
                     Esc clears it
  Enter              detail view of the selected listener (Esc or Enter to close)
  p or Space         pause / resume
  + and -            replay speed (when replaying a recording)
  ? or F1            this help
  q, Esc, Ctrl-C     quit

  QUEUE is the accept queue now against the listen() backlog: the kernel admits
  backlog + 1 per socket before it drops. PEAK is the deepest it got since the
  previous frame. SYN/ACK splits overflows by the path that dropped them.
  Closed listeners are marked x and stay for two minutes.
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
}

export async function runDashboard(o: DashboardOptions, stream: SnapshotStream, onExit: (fn: () => void) => void): Promise<void> {
  const ascii = !utf8Locale();
  const color = o.color;
  const state = new DashboardState();
  const started = Date.now();
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

  const border = ascii ? undefined : { type: 'line' as const };
  const panelStyle = color ? { border: { fg: 'cyan' }, label: { fg: 'cyan' } } : {};
  const header = blessed.box({ parent: screen, top: 0, left: 0, height: 2, width: '100%', tags: true });
  const gauges = blessed.box({ parent: screen, label: ' accept queues ', border, tags: true, style: panelStyle });
  const spark = ascii
    ? blessed.box({ parent: screen, label: ' overflows/s ', tags: true })
    : contribSparkline({ parent: screen, label: ' overflows/s ', border, tags: true, style: { fg: color ? 'red' : undefined, titleFg: color ? 'white' : undefined, ...panelStyle } });
  const table = blessed.box({ parent: screen, label: ' listeners ', border, tags: true, style: panelStyle });
  const footer = blessed.box({ parent: screen, left: 0, height: 1, width: '100%', tags: false, style: color ? { fg: 'black', bg: 'cyan' } : { inverse: true } });
  const small = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%', hidden: true, tags: false });
  const overlay = blessed.box({ parent: screen, top: 1, left: 1, width: '100%-2', height: '100%-2', border: border ?? { type: 'bg' as const }, hidden: true, tags: true, style: panelStyle });
  let overlayKind: 'none' | 'detail' | 'help' = 'none';
  let filterEditing = false;
  let filterDraft = '';
  let scroll = 0;

  const esc = (s: string) => blessed.escape(s);
  const tag = (t: string, s: string) => (color ? `{${t}}${s}{/${t}}` : s);

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
    const headH = mode === 'full' ? 2 : 1;
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
    header.setContent(mode === 'full' ? `${line1}\n${recon}` : recon);
  }

  function drawGauges(): void {
    const s = state.latest;
    const inner = (gauges.width as number) - (border ? 2 : 0);
    const lines = (gauges.height as number) - (border ? 2 : 0);
    if (!s) return;
    const rows = s.listeners.filter((r) => !r.closed && r.maxBacklog > 0).sort((a, b) => fill(b) - fill(a) || b.overflowRate - a.overflowRate).slice(0, lines);
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
    gauges.setContent(out.join('\n'));
  }

  function drawSpark(): void {
    const inner = Math.max(4, (spark.width as number) - (ascii ? 0 : 4));
    const sel = state.selected();
    const titles = ['all listeners (attributed)'];
    const data = [state.total.last(inner)];
    if (sel) {
      titles.push(`${endpoint(sel.family, sel.address, sel.port)} (selected)`);
      data.push(state.historyOf(sel.id)?.last(inner) ?? []);
    }
    if (ascii) {
      spark.setContent(titles.map((t, i) => `${esc(t)} max ${rate(Math.max(0, ...data[i]))}\n${sparkline(data[i], inner, true)}`).join('\n'));
    } else {
      // blessed-contrib draws the first points of its array: hand it exactly the newest that fit
      (spark as any).setData(titles.map((t, i) => `${t} max ${rate(Math.max(0, ...data[i]))}`), data);
    }
  }

  function drawTable(): void {
    const now = Date.now();
    const inner = (table.width as number) - (border ? 2 : 0);
    const visible = Math.max(1, (table.height as number) - (border ? 2 : 0) - 1);
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
      let line = esc(rowLine(cols, r, r.id === state.selectedId, now));
      if (r.closed) line = line.replace(/^(.)./, '$1x');
      if (r.id === state.selectedId) line = color ? `{inverse}${line}{/inverse}` : line;
      else if (r.closed) line = tag('gray-fg', line);
      else if (r.overflowRate > 0) line = tag('red-fg', line);
      lines.push(line);
    }
    if (!rows.length) lines.push(state.filter ? `  no listener matches "${esc(state.filter)}"` : '  no TCP listeners yet');
    table.setLabel(` listeners ${rows.length ? `${idx + 1}/${rows.length}` : ''} `);
    table.setContent(lines.join('\n'));
  }

  function drawDetail(r: ListenerRow): void {
    const inner = Math.max(10, (overlay.width as number) - 4);
    const hist = state.historyOf(r.id)?.values() ?? [];
    const events = state.eventsOf(r.id).slice(-Math.max(1, (overlay.height as number) - 19)).reverse();
    const now = Date.now();
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
      sparkline(hist, inner, ascii),
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
      const keys = ascii ? FOOTER_ASCII : FOOTER;
      footer.setContent(filterEditing ? ` filter: ${filterDraft}_   (Enter keep, Esc clear)` : keys.slice(0, screen.width as number));
    }
    overlay.hidden = overlayKind === 'none' || mode === 'small';
    if (overlayKind === 'help') {
      overlay.setLabel(' help ');
      overlay.setContent(esc(HELP));
    } else if (overlayKind === 'detail') {
      const r = state.selected();
      if (r) drawDetail(r);
      else overlayKind = 'none';
    }
    screen.render();
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
          else state.ingest(s);
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
        case 'r': state.reverse = !state.reverse; break;
        case '/': filterEditing = true; filterDraft = state.filter; break;
        case 'return': if (state.selected()) overlayKind = 'detail'; break;
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

    if (o.duration !== undefined) setTimeout(() => finish(), o.duration * 1000);
    tick();
  });
}
