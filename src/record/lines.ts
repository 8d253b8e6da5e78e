/**
 * A file read line by line, synchronously, a chunk at a time: a recording
 * may be larger than the longest string V8 can make (about 512 MiB), so it
 * is never read whole. Memory: one chunk and the line being read.
 */
import fs from 'node:fs';

const CHUNK = 1 << 20;
/** V8's longest string (2^29 - 24 characters); a UTF-8 line of at most this many bytes fits. */
export const MAX_LINE_BYTES = 2 ** 29 - 24;

export interface Line {
  text: string;
  /** 1-based. */
  number: number;
  /** The file ended inside this line (no newline after it). */
  cut: boolean;
}

export class LineTooLong extends Error {
  constructor(readonly line: number) {
    super(`longer than ${MAX_LINE_BYTES} bytes, more than one string can hold`);
  }
}

export class LineReader {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(CHUNK);
  private start = 0;
  private end = 0;
  private eof = false;
  private number = 0;

  /** Opens path (throws the open's error as is). */
  constructor(path: string) {
    this.fd = fs.openSync(path, 'r');
  }

  /** The next line without its newline; null at the end. */
  next(): Line | null {
    const parts: Buffer[] = [];
    let length = 0;
    for (;;) {
      const nl = this.buf.indexOf(10, this.start);
      if (nl >= 0 && nl < this.end) {
        const piece = this.buf.subarray(this.start, nl);
        this.start = nl + 1;
        return this.line(parts, length, piece, false);
      }
      // no newline in what is buffered: keep it, read on
      if (this.end > this.start) {
        length += this.end - this.start;
        if (length > MAX_LINE_BYTES) throw new LineTooLong(this.number + 1);
        parts.push(Buffer.from(this.buf.subarray(this.start, this.end)));
      }
      this.start = this.end = 0;
      if (this.eof || !this.fill()) {
        this.eof = true;
        return length ? this.line(parts, length, Buffer.alloc(0), true) : null;
      }
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private line(parts: Buffer[], length: number, last: Buffer, cut: boolean): Line {
    this.number++;
    if (length + last.length > MAX_LINE_BYTES) throw new LineTooLong(this.number);
    const text = parts.length ? Buffer.concat([...parts, last]).toString('utf8') : last.toString('utf8');
    return { text, number: this.number, cut };
  }

  private fill(): boolean {
    const n = fs.readSync(this.fd, this.buf, 0, CHUNK, null);
    this.end = n;
    return n > 0;
  }
}
