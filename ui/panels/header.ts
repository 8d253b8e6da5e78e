/**
 * The header: who and what is watched (host, kernel, probe set, interval),
 * the kernel's overflow rate against what acceptq attributed, the gaps, the
 * worst wait, the library's notice, and a line for a listener that started
 * dropping, until the person looks.
 */
import blessed from 'blessed';
import { endpoint } from '../../src/model/address';
import { SLOW_WAIT_MS } from '../../src/model/diagnosis';
import { lossNotes } from '../../src/model/losses';
import { sanitize } from '../../src/model/sanitize';
import { ago, durationIn, figure, perSecond, reconcile } from '../../src/model/view';
import { ambiguousEndpoints, cutWords, endpointSuffix, fitSuffix } from '../viewmodel';
import type { ListenerRow } from '../../src/model/types';
import { esc, fitLine, seg, tag, type PanelContext, type Seg } from './paint';

export type LayoutMode = 'small' | 'compact' | 'full';

/** "01:02:03" for a span of ms. */
function hms(ms: number): string {
  const s = Math.floor(ms / 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
}

/** "12:03:11", local time. */
function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export class HeaderPanel {
  readonly el: blessed.Widgets.BoxElement;

  constructor(private ctx: PanelContext) {
    // lines are cut to fit before they are set: no wrapping (blessed breaks a full-width
    // line that ends in a colour tag at a space near its end)
    this.el = blessed.box({ parent: ctx.screen, top: 0, left: 0, height: 2, width: '100%', tags: true, wrap: false });
  }

  /** Its height in a layout: the notice line takes one more. */
  height(mode: LayoutMode): number {
    return (mode === 'full' ? 2 : 1) + (this.ctx.state.notice(this.ctx.nowMs) ? 1 : 0);
  }

  draw(mode: 'compact' | 'full', ended: boolean): void {
    const { state, source } = this.ctx;
    const s = state.latest;
    const m = source.meta;
    const width = this.ctx.screen.width as number;
    const flags = [
      state.paused ? seg('[PAUSED]', 9, 'yellow-fg') : null,
      ended ? seg('[END OF RECORDING]', 9, 'yellow-fg') : null,
      !source.live ? seg(`replay x${state.speed}`, 9) : null,
      state.filter ? seg(`filter: ${state.filter}`, 9) : null,
    ];
    const counts = s ? seg(`listeners ${s.listeners.length}  lost events ${s.lostEvents}`, 7) : null;
    const hosts = s?.hosts;
    const down = hosts?.filter((h) => !h.up).length ?? 0;
    const line1: Array<Seg | null> = [
      seg(hosts ? 'acceptq fleet' : 'acceptq', 10, 'bold'), ...flags, seg(m.host, 3),
      ...(hosts
        ? [seg(`hosts ${hosts.length - down} up`, 10), down ? seg(`${down} down`, 10, 'red-fg') : null]
        : [seg(m.kernel, 2)]),
      seg(`probe ${s?.probe ?? m.probe}`, 4), seg(`every ${source.configuredS}s`, 5), seg(`up ${hms(Date.now() - this.ctx.startedMs)}`, 6), counts,
    ];
    if (!s) {
      this.el.setContent(fitLine(this.ctx, line1, width));
      return;
    }
    // the size of every namespace's gaps, either way: a +3 here does not hide a -3 there
    const r = reconcile(s.namespaces);
    const w = state.worstWait;
    const worst = w ? this.worstSeg(w.row, w.kind === 'p99' ? `p99 ${figure(durationIn(w.ms), true)}` : `oldest ${durationIn(w.ms)}`, w.ms >= SLOW_WAIT_MS) : seg('worst wait -', 8);
    const line2: Array<Seg | null> = [
      seg(`${hosts ? 'fleet' : 'kernel'} ListenOverflows ${perSecond(s.kernelRate)}/s`, 10), seg(`attributed ${perSecond(s.attributedRate)}/s`, 10),
      ...(hosts ? this.fleetGaps(s.timeMs) : [r.gap ? seg(`unattributed ${r.gap} (${r.namespaces} netns)`, 10, 'red-fg') : seg('unattributed 0', 10)]),
      r.estimate ? seg('estimate', 9, 'yellow-fg') : null,
      worst,
      // the compact layout has no first line: the counts go here
      mode === 'full' ? null : counts,
      s.mapFull ? seg(`maps full: ${s.mapFull} not tracked`, 9, 'red-fg') : null,
      ...lossNotes(s).map((n) => seg(n.slice(0, n.indexOf(' (')), 9, 'red-fg')),
      s.notice ? { ...seg(`notice: ${s.notice}`, 6, 'yellow-fg'), cut: true } : null,
    ];
    // where the reconciliation leaves no room for the worst wait, it goes up to the first line
    const needed = (segs: Array<Seg | null>) => segs.reduce((n, x) => n + (x && x.pri >= 8 ? Math.min(x.plain.length, ...(x.alts ?? []).map((a) => a.length)) + 2 : 0), -2);
    if (mode === 'full' && needed(line2) > width) {
      line2.splice(line2.indexOf(worst), 1);
      line1.splice(1 + flags.length, 0, worst);
    }
    const notice = this.noticeLine(width);
    this.el.setContent([mode === 'full' ? fitLine(this.ctx, line1, width) : '', fitLine(this.ctx, line2, width), notice ?? ''].filter(Boolean).join('\n'));
  }

  /**
   * A fleet's gaps, host by host where one is not 0 ("gap web-1:9877 3"),
   * and its down hosts with when each was last seen.
   */
  private fleetGaps(now: number): Seg[] {
    const hosts = this.ctx.state.latest?.hosts ?? [];
    const gaps = hosts.filter((h) => h.gap);
    const out = gaps.length ? gaps.map((h) => seg(`gap ${sanitize(h.host)} ${h.gap}`, 10, 'red-fg')) : [seg('gap 0', 10)];
    for (const h of hosts.filter((x) => !x.up)) {
      // in the words and figures of the detail view and --once
      const seen = h.lastSeenMs === null ? 'never seen' : `last seen ${ago(h.lastSeenMs, now)} ago`;
      out.push(seg(`down ${sanitize(h.host)} (${seen})`, 9, 'red-fg'));
    }
    return out;
  }

  /**
   * The worst wait: its listener (and, where its address is listened on in
   * another namespace too, which one) and the wait; shorter forms (the
   * namespace's last digits) where it does not fit.
   */
  private worstSeg(r: ListenerRow, what: string, slow: boolean): Seg {
    const ep = endpoint(r.family, r.address, r.port);
    const suffix = endpointSuffix(r, ambiguousEndpoints(this.ctx.state.latest?.listeners ?? []));
    const text = (sfx: string) => `worst wait ${ep}${sfx} ${what}`;
    const alts = suffix ? [text(fitSuffix(suffix, 12, this.ctx.ascii)), text(fitSuffix(suffix, 6, this.ctx.ascii))] : [];
    return { ...seg(text(suffix), 8, slow ? 'yellow-fg' : undefined), alts };
  }

  /** The notice line: a listener that started dropping, while it drops (or did within the last minute), until the person looks. */
  private noticeLine(width: number): string | null {
    const n = this.ctx.state.notice(this.ctx.nowMs);
    if (!n) return null;
    const r = n.row;
    const suffix = endpointSuffix(r, ambiguousEndpoints(this.ctx.state.latest?.listeners ?? []));
    const who = `${r.host ? `${sanitize(r.host)} ` : ''}${endpoint(r.family, r.address, r.port)}${suffix}${r.pid ? ` ${sanitize(r.comm)}` : ''}`;
    const what = r.overflowRate > 0
      ? `dropping ${figure(perSecond(r.overflowRate), r.estimate)}/s since ${clock(r.firstOverflowMs ?? n.notice.seenMs)}`
      : `dropped ${figure(r.overflows, r.estimate)} since ${clock(r.firstOverflowMs ?? n.notice.seenMs)}, last ${clock(r.lastOverflowMs ?? n.notice.seenMs)}`;
    // what it is first; the count of others and the keys where they fit, whole
    let text = `! new: ${who} ${what}`;
    for (const extra of [n.more ? `  (+${n.more} more)` : '', '  x dismiss, Enter on its row: detail']) {
      if (extra && text.length + extra.length <= width) text += extra;
    }
    return tag(this.ctx, 'red-fg', tag(this.ctx, 'bold', esc(cutWords(text, width, this.ctx.ascii))));
  }
}
