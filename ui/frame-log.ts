/**
 * A bench hook (BENCHMARKS.md, part 6): with ACCEPTQ_FRAME_LOG=FILE, one JSON
 * line a frame is appended to FILE, with what its parts took. The file is
 * opened as this module loads, before the command line drops its
 * privileges. Unset, nothing is timed.
 */
import fs from 'node:fs';
import type { DashboardState } from './viewmodel';

const FRAME_LOG: number | null = process.env.ACCEPTQ_FRAME_LOG ? fs.openSync(process.env.ACCEPTQ_FRAME_LOG, 'a') : null;

/** What drew a frame: the interval's tick, a key, the mouse, a resize. */
export type FrameCause = 'tick' | 'key' | 'mouse' | 'resize';

/** One frame's timings. */
interface FrameTiming {
  cause: FrameCause;
  key?: string;
  start: number;
  /** The poll before this tick (a fleet's prepare()), not in the frame's time; undefined: none. */
  prepareMs?: number;
  /** HTTP requests that poll sent (a fleet's), where the stream counts them. */
  requests?: number;
  /** stream.next(): the snapshot of every namespace, the event drain, the model. */
  nextMs: number;
  /** Taking it in (history, notices, selection), less the filtering and sorting in it. */
  ingestMs: number;
  /** Each panel's drawing, its own sorting and filtering included. */
  panels: Record<string, number>;
  renderMs: number;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

export class FrameLog {
  private frame: FrameTiming | null = null;
  /** The last poll before a tick (a fleet's), for that tick's frame: its time, and the requests it sent. */
  private poll: { ms: number; requests?: number } | null = null;

  constructor(private state: DashboardState) {}

  /**
   * prepare(), timed when the log is on: a fleet's HTTP polls, which run
   * between frames (keys are answered meanwhile), so the next tick's frame
   * carries the time apart (prepareMs), not in its frameMs. requests(): the
   * requests sent so far, where the stream counts them.
   */
  async prepared(prepare: () => Promise<void>, requests?: () => number): Promise<void> {
    if (FRAME_LOG === null) return prepare();
    const r0 = requests?.();
    const t = performance.now();
    await prepare();
    this.poll = { ms: performance.now() - t, requests: r0 === undefined ? undefined : requests!() - r0 };
  }

  /** A frame starts (timed only when the log is on). */
  start(cause: FrameCause, key?: string): void {
    if (FRAME_LOG === null) return;
    const poll = cause === 'tick' ? this.poll : null;
    if (cause === 'tick') this.poll = null;
    this.frame = { cause, key, start: performance.now(), prepareMs: poll?.ms, requests: poll?.requests, nextMs: 0, ingestMs: 0, panels: {}, renderMs: 0 };
    this.state.timing = { sorts: 0, sortMs: 0, filterMs: 0 };
  }

  /** fn(), its time added to the frame's panel `name` when a frame is timed. */
  timed<T>(name: string, fn: () => T): T {
    const f = this.frame;
    if (!f) return fn();
    const t = performance.now();
    const r = fn();
    f.panels[name] = (f.panels[name] ?? 0) + performance.now() - t;
    return r;
  }

  /** stream.next() and the state's ingest, timed when a frame is (its sorting and filtering counted apart). */
  ingest(next: () => void, take: () => void): void {
    const f = this.frame;
    const t0 = f ? performance.now() : 0;
    next();
    const t1 = f ? performance.now() : 0;
    take();
    if (f && this.state.timing) {
      f.nextMs = t1 - t0;
      f.ingestMs = performance.now() - t1 - this.state.timing.sortMs - this.state.timing.filterMs;
    }
  }

  /**
   * render(), timed when a frame is. blessed writes what it drew to the
   * terminal from a setImmediate of its own, queued before the one that
   * then logs the frame.
   */
  render(render: () => void): void {
    const f = this.frame;
    const sorting = this.state.timing;
    if (!f || !sorting || FRAME_LOG === null) return render();
    const t = performance.now();
    render();
    const renderEnd = performance.now();
    f.renderMs = renderEnd - t;
    this.frame = null;
    this.state.timing = null;
    const listeners = this.state.latest?.listeners.length ?? 0;
    const rows = this.state.rows().length;
    const fd = FRAME_LOG;
    setImmediate(() => {
      const end = performance.now();
      const line = {
        at: Date.now(), cause: f.cause, key: f.key, listeners, rows, frameMs: round(end - f.start),
        prepareMs: f.prepareMs === undefined ? undefined : round(f.prepareMs), requests: f.requests, nextMs: round(f.nextMs), ingestMs: round(f.ingestMs),
        sorts: sorting.sorts, sortMs: round(sorting.sortMs), filterMs: round(sorting.filterMs),
        panels: Object.fromEntries(Object.entries(f.panels).map(([k, v]) => [k, round(v)])),
        renderMs: round(f.renderMs), writeMs: round(end - renderEnd),
      };
      try {
        fs.writeSync(fd, JSON.stringify(line) + '\n');
      } catch {
        // a bench hook: the dashboard goes on
      }
    });
  }
}
