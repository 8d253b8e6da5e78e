/** A fixed-size ring buffer of numbers: history that never grows. */
export class Ring {
  private buf: Float64Array;
  private start = 0;
  private len = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.buf = new Float64Array(capacity);
  }

  push(v: number): void {
    if (this.len < this.capacity) {
      this.buf[(this.start + this.len) % this.capacity] = v;
      this.len++;
    } else {
      this.buf[this.start] = v;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  get length(): number {
    return this.len;
  }

  /** Oldest first. */
  values(): number[] {
    const out = new Array<number>(this.len);
    for (let i = 0; i < this.len; i++) out[i] = this.buf[(this.start + i) % this.capacity];
    return out;
  }

  /** The newest n values, oldest first, left-padded with zeros to exactly n. */
  last(n: number): number[] {
    const vals = this.values().slice(-n);
    return vals.length < n ? new Array<number>(n - vals.length).fill(0).concat(vals) : vals;
  }

  max(): number {
    let m = 0;
    for (let i = 0; i < this.len; i++) m = Math.max(m, this.buf[(this.start + i) % this.capacity]);
    return m;
  }
}
