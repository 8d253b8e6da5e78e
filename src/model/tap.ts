import type { Snapshot, SnapshotStream, StreamMeta } from './types';

/** A stream that passes another's snapshots through unchanged, seeing each on the way (a recording, the heap). */
export abstract class StreamTap implements SnapshotStream {
  constructor(private readonly inner: SnapshotStream) {}
  get live(): boolean {
    return this.inner.live;
  }
  get meta(): StreamMeta {
    return this.inner.meta;
  }
  next(): Snapshot | null {
    const s = this.inner.next();
    if (s) this.see(s);
    return s;
  }
  protected abstract see(s: Snapshot): void;
}
