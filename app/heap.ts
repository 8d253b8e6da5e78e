/**
 * acceptq's heap kept near what it holds. V8 lets the old generation grow
 * to a multiple of what survived its last full collection before it runs
 * another: a tick's records (a thousand rows and more, every second) leave
 * garbage that piled up to 40 MB and more that way. And once tens of
 * thousands of rows have aged out, a tick allocates little, so no
 * collection comes and the pages the burst used stay mapped. So: one full
 * collection (it compacts and unmaps what is free) when the heap has grown
 * GROWTH_BYTES past what the previous one left, at most every
 * MIN_SPACING_MS, and one when the rows fall to a quarter of their peak.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { StreamTap } from '../src/model/tap';
import type { Snapshot, SnapshotStream } from '../src/model/types';

/** Below this many rows at the peak a burst is not worth a collection. */
const MIN_PEAK = 4096;
/** Heap growth past the last full collection's result that brings on another. */
export const GROWTH_BYTES = 3 * 1024 * 1024;
/** The least time between two such collections (a full one costs ~1 ms per 2 MB live). */
export const MIN_SPACING_MS = 5000;

let gc: (() => void) | null | undefined;

function fullCollection(): boolean {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
  return !!gc;
}

/** Passes snapshots through; collects when the heap has grown, or a burst has gone. */
export class HeapTrim extends StreamTap {
  private peak = 0;
  private base = -1; // heap used after the last full collection (-1: none yet)
  private lastMs = 0;
  collections = 0;

  constructor(
    inner: SnapshotStream,
    private readonly collect: () => boolean = fullCollection,
    private readonly heapUsed: () => number = () => v8.getHeapStatistics().used_heap_size, // memoryUsage() would also read /proc for RSS
    private readonly clock: () => number = Date.now,
  ) {
    super(inner);
  }
  protected see(s: Snapshot): void {
    const n = s.listeners.length;
    let burstGone = false;
    if (n >= this.peak) this.peak = n;
    else if (this.peak >= MIN_PEAK && n * 4 <= this.peak) {
      burstGone = true;
      this.peak = n;
    }
    const used = this.heapUsed();
    if (this.base < 0) this.base = used;
    const grown = used > this.base + GROWTH_BYTES && this.clock() - this.lastMs >= MIN_SPACING_MS;
    if (!burstGone && !grown) return;
    if (this.collect()) {
      this.collections++;
      this.base = this.heapUsed();
      this.lastMs = this.clock();
    }
  }
}
