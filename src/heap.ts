/**
 * Memory given back after a burst of listeners. V8 collects its old
 * generation when that grows; once tens of thousands of rows have aged out,
 * a tick allocates little, so no collection comes and the pages the burst
 * used stay mapped. When the rows fall to a quarter of their peak, one full
 * collection (it compacts and unmaps what is free) gives them back.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { StreamTap } from './model/tap';
import type { Snapshot, SnapshotStream } from './model/types';

/** Below this many rows at the peak a burst is not worth a collection. */
const MIN_PEAK = 4096;

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

/** Passes snapshots through; after a burst has gone, collects once. */
export class HeapTrim extends StreamTap {
  private peak = 0;
  collections = 0;

  constructor(inner: SnapshotStream, private readonly collect: () => boolean = fullCollection) {
    super(inner);
  }
  protected see(s: Snapshot): void {
    const n = s.listeners.length;
    if (n >= this.peak) this.peak = n;
    else if (this.peak >= MIN_PEAK && n * 4 <= this.peak) {
      if (this.collect()) this.collections++;
      this.peak = n;
    }
  }
}
