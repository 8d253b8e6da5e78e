/**
 * Whole records to stdout before anything else runs: a signal handled
 * between two writes can then never cut a record in half, however large it
 * is or however slow the reader (Node makes a piped stdout non-blocking, and
 * process.exit() drops what is still queued).
 */
import fs from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Write all of text to fd 1; onClosed runs (and writing stops) if the reader has gone. */
export function writeAll(text: string, onClosed: () => void): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += fs.writeSync(1, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 5);
      else if (code === 'EPIPE') return onClosed();
      else throw e;
    }
  }
}
