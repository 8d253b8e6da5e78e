/**
 * The exporter's log of refused connections and requests: one line each,
 * `acceptq export: refused ADDR:PORT: REASON`, at most LIMIT a second so a
 * flood of bad clients cannot flood the log; past it, one line a second
 * says how many were left out.
 */
export const REFUSALS_PER_SECOND = 10;

/** ADDR:PORT of a peer, an IPv6 address in brackets. */
export function peer(address: string | undefined, port: number | undefined): string {
  const a = address ?? '?';
  return `${a.includes(':') ? `[${a}]` : a}:${port ?? '?'}`;
}

export class RefusalLog {
  private windowStart = 0;
  private inWindow = 0;
  private skipped = 0;
  private flush: NodeJS.Timeout | null = null;

  constructor(
    private readonly write: (line: string) => void = (l) => process.stderr.write(l),
    private readonly now: () => number = Date.now,
    private readonly limit = REFUSALS_PER_SECOND,
  ) {}

  refused(who: string, reason: string): void {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.report();
      this.windowStart = t;
      this.inWindow = 0;
    }
    if (this.inWindow < this.limit) {
      this.inWindow++;
      // a reason carries no line breaks: one refusal, one line
      this.write(`acceptq export: refused ${who}: ${reason.replace(/[\r\n]+/g, ' ')}\n`);
      return;
    }
    this.skipped++;
    // said once the second is over, even if no refusal comes after
    this.flush ??= setTimeout(() => this.report(), Math.max(0, this.windowStart + 1000 - t)).unref();
  }

  /** The line for the refusals left out, if any. */
  report(): void {
    if (this.flush) clearTimeout(this.flush);
    this.flush = null;
    if (!this.skipped) return;
    this.write(`acceptq export: ${this.skipped} more refused not logged (at most ${this.limit} a second)\n`);
    this.skipped = 0;
  }
}
