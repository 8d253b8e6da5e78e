/** The help overlay: the keys (from the key table), the marks, the columns, the header. */
import blessed from 'blessed';
import { KEY_HELP } from '../keys';
import { border, esc, panelStyle, type PanelContext } from './paint';

const LEGEND = `  Marks before a row: ! dropping now (in the last 2 s, or two frames), * dropped in
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

/** The whole help text: the key lines in two columns, then the legend. */
export function helpText(): string {
  const keyW = Math.max(...KEY_HELP.map(([k]) => k.length)) + 5;
  const keys = KEY_HELP.map(([k, what]) =>
    what.split('\n').map((l, i) => `  ${(i ? '' : k).padEnd(keyW)}${l}`).join('\n'));
  return `acceptq dashboard. Press any key to close.\n\n${keys.join('\n')}\n\n${LEGEND}`;
}

export class HelpPanel {
  readonly el: blessed.Widgets.BoxElement;

  constructor(ctx: PanelContext, top: number) {
    // covers the panels whole (their borders too), between the header and the footer; wraps on a narrow terminal
    this.el = blessed.box({
      parent: ctx.screen, top, left: 0, width: '100%', height: '100%-3', border, hidden: true, tags: true, wrap: true,
      label: ' help: any key closes it ', style: panelStyle(ctx),
    });
    this.el.setContent(esc(helpText()));
  }
}
