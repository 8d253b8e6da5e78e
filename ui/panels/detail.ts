/**
 * The detail view of one listener: why it overflows (the diagnosis and its
 * basis), its queue and backlog, overflows against its namespace's kernel
 * counters, its waits, a sparkline of its overflows, accepts and arrivals,
 * and its recent detail events: every figure whole (the view scrolls), as
 * much of the histogram and the sparkline as fit its first page.
 */
import blessed from 'blessed';
import contribSparkline from 'blessed-contrib/lib/widget/sparkline';
import { endpoint } from '../../src/model/address';
import { diagnose, synRates, type Diagnosis } from '../../src/model/diagnosis';
import { netnsCookieText } from '../../src/model/netns';
import { sanitize } from '../../src/model/sanitize';
import { ago, durationIn, ESTIMATE_NOTE, figure, hostAbout, perSecond, queueText, SINCE_START, sysctlText } from '../../src/model/view';
import type { ListenerRow, NamespaceRow, Snapshot } from '../../src/model/types';
import { cutWords, histRows, HISTORY, scrollWindow, timeAxis, wrapText } from '../viewmodel';
import { border, esc, panelStyle, setSeries, sparkOptions, tag, type PanelContext } from './paint';

/** How much of each part a layout of the view shows. */
interface Layout {
  /** Blank lines between parts. */
  blanks: boolean;
  /** The SYN-side figures on three lines (else one). */
  synFull: boolean;
  /** Lines of the wait histogram. */
  hist: number;
  /** Series in the sparkline: 3 overflows, accepts and arrivals per second, 2 the last two, 0 none. */
  series: number;
}

// richest first; the first whose parts fit is drawn (the last: the view scrolls to the rest). The figures are never cut
const LAYOUTS: Layout[] = [
  { blanks: true, synFull: true, hist: 8, series: 3 },
  { blanks: true, synFull: true, hist: 4, series: 3 },
  { blanks: false, synFull: true, hist: 4, series: 3 },
  { blanks: false, synFull: false, hist: 3, series: 3 },
  { blanks: false, synFull: false, hist: 2, series: 2 },
  { blanks: false, synFull: false, hist: 1, series: 2 },
];

/** Text for one listener at one width: each part of the view as lines. */
class DetailText {
  constructor(private ctx: PanelContext, private r: ListenerRow, private ns: NamespaceRow | undefined,
    private d: Diagnosis | null, private W: number) {}

  /** Plain text in lines of the width, escaped: nothing cut (the view scrolls; a part cut to fit would be lost on every page). */
  line = (text: string) => wrapText(text, this.W, '  ', Infinity, this.ctx.ascii).map(esc);
  private est = (v: number | string) => figure(v, this.r.estimate);
  private yellow = (l: string) => tag(this.ctx, 'yellow-fg', l);

  title(): string[] {
    const r = this.r;
    const owner = r.pid ? `pid ${r.pid} ${sanitize(r.comm)}` : 'owner unknown';
    // a fleet's row: its host first; the exporters do not give the owner's uid
    const host = this.r.host ? this.hostText() : '';
    return this.line(`${host}${endpoint(r.family, r.address, r.port)}  netns ${r.netns} cookie ${netnsCookieText(r.netnsCookie)}  ${owner}` +
      `${r.service ? `  service ${sanitize(r.service)}` : ''}${r.host ? '' : `  uid ${r.uid}`}  ${r.hostDown ? 'host down' : r.closed ? 'closed' : 'open'}`)
      .map((l) => tag(this.ctx, 'bold', l));
  }

  /** "host web-1:9877 (web-1, 6.1.0) " or "host web-1:9877 (down, last seen 00:00:12 ago) ". */
  private hostText(): string {
    const h = this.ctx.state.latest?.hosts?.find((x) => x.host === this.r.host);
    const about = !h ? '' : h.up ? hostAbout(h)
      : `down, last seen ${ago(h.lastSeenMs, this.ctx.state.latest?.timeMs ?? Date.now())} ago`;
    return `host ${sanitize(this.r.host)}${about ? ` (${about})` : ''}  `;
  }

  diagnosis(): string[] {
    const { r, d } = this;
    // whole, however long: it is what the view is for (the view scrolls)
    if (d) return [...this.line(`diagnosis: ${d.verdict}`).map(this.yellow), ...this.line(`  basis: ${d.basis}`)];
    if (r.closed) return this.line('diagnosis: none (closed)');
    if (!r.waitHist?.length) {
      return this.line(r.host ? "diagnosis: none (a fleet's exporters give no wait histogram)" : 'diagnosis: none (no accept-queue traffic figures: a format-1 recording)');
    }
    // the model finds nothing to explain when nothing drops now; a full queue (just taken from) drops the next one
    const full = r.backlog > 0 && r.backlog >= r.maxBacklog;
    return this.line(full ? 'diagnosis: nothing dropped in the last interval, but its queue is full: the next connection overflows'
      : 'diagnosis: keeps up: nothing dropped in the last interval');
  }

  private backlog(): string[] {
    const { r, ns } = this;
    const cut = r.requestedBacklog != null && ns?.somaxconn != null && r.requestedBacklog / Math.max(1, r.sockets) > ns.somaxconn;
    const asked = r.requestedBacklog != null
      ? `limit: listen() asked ${r.requestedBacklog}, in effect ${r.maxBacklog}${r.sockets > 1 ? ` (over ${r.sockets} sockets)` : ''}${cut ? ', cut by net.core.somaxconn' : ''}`
      : `limit: ${r.maxBacklog} (what listen() asked is not known: it listened before acceptq started)`;
    return this.line(asked + (ns ? (sysctlText(ns) || "; the namespace's sysctls are not known") : ''));
  }

  facts(now: number): string[] {
    const { r, est } = this;
    return [
      ...this.line(`sockets ${r.sockets}  queue ${queueText(r)}  peak ${r.peakBacklog}  SYN queue ${r.synBacklog}`),
      ...this.line(`arrivals ${r.arrivals ?? 0} (${perSecond(r.arrivalRate)}/s)  accepts ${r.accepts ?? 0} (${perSecond(r.acceptRate)}/s)  ` +
        (r.oldestWaitMs == null ? 'none waiting now' : `oldest wait ${durationIn(r.oldestWaitMs)}`)),
      ...this.backlog(),
      ...this.line(`overflows ${est(r.overflows)} (SYN path ${est(r.overflowsSyn)}, ACK path ${est(r.overflowsAck)})  ${est(perSecond(r.overflowRate))}/s  ` +
        `first ${ago(r.firstOverflowMs, now)} ago  last ${ago(r.lastOverflowMs, now)} ago`),
    ];
  }

  /** The SYN-side figures beside the namespace's exact kernel counts and the gaps. */
  syn(full: boolean): string[] {
    const { r, ns, est } = this;
    if (!full) {
      return this.line(`SYN-queue drops ${est(r.synDrops)}, SYN cookies ${est(r.cookies)}` +
        (ns ? `; netns ${ns.netns} ${SINCE_START}: ListenOverflows ${ns.listenOverflows}, unattributed ${ns.unattributed}/${ns.unattributedSynDrops}/${ns.unattributedCookies}` : ''));
    }
    // the namespace's counters, like the line under them, count from when acceptq started
    const nsPart = (kernel: string, v: number | undefined, gap: number | undefined) => (ns ? `   netns ${kernel} ${v} ${SINCE_START}, unattributed ${gap}` : '');
    return [
      ...this.line(`SYN-queue drops ${est(r.synDrops)}` + nsPart('TCPReqQFullDrop', ns?.reqQFullDrops, ns?.unattributedSynDrops)),
      ...this.line(`SYN cookies ${est(r.cookies)}` + nsPart('SyncookiesSent', ns?.syncookiesSent, ns?.unattributedCookies)),
      ...(ns
        ? [...this.line(`netns ${ns.netns} ${SINCE_START}: ListenOverflows ${ns.listenOverflows}, unattributed ${ns.unattributed}; unmatched ${ns.unmatched}`),
          ...(ns.estimate ? [this.yellow('  split among its listeners: estimate')] : [])]
        : this.line(`netns ${this.r.netns}: its kernel counters were not read`)),
    ];
  }

  estimate(): string[] {
    return this.r.estimate ? this.line(ESTIMATE_NOTE).map(this.yellow) : [];
  }

  /** The last interval's waits: exact count, mean, min, max; p50 and p99 estimated from the histogram. */
  waits(): string[] {
    const r = this.r;
    const approx = (ms: number | null | undefined) => (ms == null ? '-' : figure(durationIn(ms), true));
    const text = r.host
      ? (r.waitCount > 0 ? `wait, last interval (${r.waitCount} timed): mean ${durationIn(r.waitMeanMs)} (the exporter gives no spread)` : 'wait, last interval: no accept() timed')
      : !r.waitHist?.length
      ? 'wait: not recorded (a format-1 recording)'
      : r.waitCount > 0
        ? `wait, last interval (${r.waitCount} timed): p50 ${approx(r.waitP50Ms)}  p99 ${approx(r.waitP99Ms)}  ` +
          `mean ${durationIn(r.waitMeanMs)}  min ${durationIn(r.waitMinMs)}  max ${durationIn(r.waitMaxMs)}`
        : 'wait, last interval: no accept() timed';
    return this.line(text);
  }

  hist(rows: number): string[] {
    const h = histRows(this.r.waitHist ?? [], rows, this.ctx.ascii);
    if (!h.length) return [];
    const labelW = Math.max(...h.map((x) => x.label.length));
    const most = Math.max(...h.map((x) => x.count));
    const barW = Math.max(4, Math.min(40, this.W - labelW - String(most).length - 6));
    return h.map((x) => {
      const n = x.count ? Math.max(1, Math.round((x.count / most) * barW)) : 0;
      return this.line(`  ${x.label.padStart(labelW)} ${(this.ctx.ascii ? '#' : '█').repeat(n)}${n ? ' ' : ''}${x.count}`);
    }).flat();
  }

  /** The recent detail events, every one kept (the view scrolls to them), newest first, after a blank line. */
  events(): string[] {
    const events = this.ctx.state.eventsOf(this.r.id);
    const shown = [...events].reverse();
    return [
      '',
      ...this.line(`recent detail events (${shown.length}, newest first)${shown.length ? ':' : ''}`),
      ...shown.flatMap((e) => {
        const at = new Date(e.timeMs).toISOString().slice(11, 23);
        const from = endpoint(e.remoteAddress.includes(':') ? 6 : 4, e.remoteAddress, e.remotePort);
        const wide = `  ${at}  ${e.path.padEnd(8)} from ${from}  queue ${queueText(e)} syn ${e.synBacklog}`;
        // a line an event, in columns where they fit, closer where not
        return this.line(wide.length <= this.W ? wide : `  ${at} ${e.path} from ${from} queue ${queueText(e)} syn ${e.synBacklog}`);
      }),
    ];
  }
}

export class DetailPanel {
  readonly el: blessed.Widgets.BoxElement;
  private spark: any;
  private axis: blessed.Widgets.BoxElement;
  /** The listener shown (the one Enter was pressed on). */
  id: string | null = null;
  /** The first line shown. */
  private offset = 0;
  /** Its diagnosis from the latest two snapshots (the SYN-side rates need both), once a snapshot. */
  private diagnosed: { snapshot: Snapshot; id: string; d: Diagnosis | null } | null = null;

  constructor(private ctx: PanelContext, top: number) {
    // covers the panels whole (their borders too), between the header and the footer
    this.el = blessed.box({
      parent: ctx.screen, top, left: 0, width: '100%', height: '100%-3', border, hidden: true, tags: true, wrap: false,
      label: ' listener detail (Esc or Enter: close) ', style: panelStyle(ctx),
    });
    // the overflows, accepts and arrivals per second: one widget, three series, the axis under it
    this.spark = contribSparkline(sparkOptions(ctx, this.el, 8));
    this.axis = blessed.box({ parent: this.el, top: 0, left: 0, width: 10, height: 1, hidden: true, tags: false, wrap: false });
  }

  private diagnosisOf(r: ListenerRow, ns: NamespaceRow | undefined): Diagnosis | null {
    const { state } = this.ctx;
    const s = state.latest;
    if (!s) return null;
    if (this.diagnosed?.snapshot !== s || this.diagnosed.id !== r.id) {
      this.diagnosed = { snapshot: s, id: r.id, d: diagnose(r, ns, state.previous ? synRates(r, state.previousRow(r.id), s.elapsed) : undefined) };
    }
    return this.diagnosed.d;
  }

  /** Rows of text inside the border. */
  private rows(): number {
    return Math.max(1, (this.el.height as number) - 2);
  }

  /** Scroll by lines (or pages of its height), or to its start or end. */
  scroll(by: number, unit: 'line' | 'page'): void {
    this.offset += unit === 'page' ? by * Math.max(1, this.rows() - 1) : by;
  }

  scrollTo(to: 'first' | 'last'): void {
    this.offset = to === 'first' ? 0 : Infinity;
  }

  /** Shows a listener, from the top. */
  open(id: string): void {
    this.id = id;
    this.offset = 0;
  }

  /** Draws the listener shown; false if it is no longer among the rows (the view closes). */
  draw(): boolean {
    const { state } = this.ctx;
    const r = state.rows().find((x) => x.id === this.id);
    if (!r) return false;
    const W = Math.max(20, (this.el.width as number) - 2);
    const H = this.rows();
    const now = state.latest?.timeMs ?? Date.now();
    const ns = state.latest?.namespaces.find((n) => n.cookie === r.netnsCookie && n.host === r.host);
    const text = new DetailText(this.ctx, r, ns, this.diagnosisOf(r, ns), W);
    const parts = (l: Layout) => {
      const blank = l.blanks ? [''] : [];
      const lines = [
        ...text.title(), ...text.diagnosis(), ...blank, ...text.facts(now), ...text.syn(l.synFull),
        ...text.estimate(), ...blank, ...text.waits(), ...text.hist(l.hist),
      ];
      if (!l.series) return { lines, sparkAt: -1, series: 0 };
      lines.push(...blank);
      const sparkAt = lines.length;
      // kept blank for the widget (a title and a line a series, a blank line between them), then its axis
      lines.push(...new Array<string>(3 * l.series).fill(''));
      return { lines, sparkAt, series: l.series };
    };
    // the richest layout whose parts above the events fit; where none does, the leanest, scrolled through
    // (its sparkline too, where a page holds it whole); the events after them, scrolled to
    const leanest = LAYOUTS[LAYOUTS.length - 1];
    const chosen = LAYOUTS.map(parts).find((p) => p.lines.length <= H)
      ?? parts(3 * leanest.series <= H ? leanest : { ...leanest, series: 0 });
    const { lines, sparkAt, series } = chosen;
    lines.push(...text.events());
    const win = scrollWindow(lines, this.offset, H);
    this.offset = win.offset;
    this.el.setContent(win.shown.join('\n'));
    const label = win.mark ? `listener detail: ${win.mark} (j/k, PgUp/PgDn scroll; Esc closes)` : 'listener detail (Esc or Enter: close)';
    this.el.setLabel(` ${esc(cutWords(label, Math.max(4, (this.el.width as number) - 6), this.ctx.ascii))} `);
    // the sparkline where its lines are in view, whole
    const at = sparkAt - win.offset;
    this.drawSpark(r, W, sparkAt >= 0 && at >= 0 && at + 3 * series <= H ? at : -1, series);
    return true;
  }

  private drawSpark(r: ListenerRow, W: number, at: number, series: number): void {
    const points = Math.min(W - 2, HISTORY);
    this.spark.hidden = this.axis.hidden = at < 0;
    if (at < 0) return;
    this.spark.top = at;
    this.spark.width = points + 2;
    this.spark.height = 3 * series - 1;
    this.axis.top = at + 3 * series - 1;
    this.axis.width = points;
    const traffic = this.ctx.state.trafficOf(r.id, points);
    setSeries(this.ctx, this.spark, [
      { name: 'overflows/s', values: this.ctx.state.historyOf(r.id)?.values().slice(-points) ?? [] },
      { name: 'accepts/s', values: traffic.accepts },
      { name: 'arrivals/s', values: traffic.arrivals },
    ].slice(3 - series), points);
    this.axis.setContent(timeAxis(points, this.ctx.source.intervalS));
  }

  /** Placed under the header, over the panels. */
  place(top: number, width: number, height: number): void {
    Object.assign(this.el, { top, left: 0, width, height });
  }

  hide(): void {
    this.el.hidden = this.spark.hidden = this.axis.hidden = true;
  }
}
