/**
 * The recording writer. A recording is read back only up to MAX_BYTES
 * (src/record/recording.ts), so the writer never makes a file larger than
 * that: when the next snapshot would take it over, it goes on in FILE.1,
 * then FILE.2, ..., each part a recording of its own (with its header) that
 * replays alone. A snapshot is never split across parts.
 */
import fs from 'node:fs';
import type { Snapshot, StreamMeta } from '../model/types';
import { FORMAT_VERSION, MAX_BYTES, type RecordingHeader } from './recording';

/** A part could not be opened or written (the disk is full, the directory went): the run ends with this. */
export class RecordingWriteError extends Error {}

/** Appends snapshots to a file opened before privileges are dropped. */
export class RecordingWriter {
  private fd = -1;
  private file = '';
  private size = 0;
  private headerSize = 0;
  private part = 0;
  /** Every file written so far, in order. */
  readonly files: string[] = [];

  /**
   * Opens the first part; its error (a node error) reaches the caller before
   * anything runs. limit: the largest part in bytes (tests make it small).
   */
  constructor(private readonly path: string, private readonly meta: StreamMeta, private readonly limit = MAX_BYTES) {
    this.open(path);
  }

  write(s: Snapshot): void {
    if (this.fd < 0) return;
    const line = Buffer.from(JSON.stringify(s) + '\n');
    try {
      // a part that holds its header alone takes the snapshot however large it is
      if (this.size + line.length > this.limit && this.size > this.headerSize) {
        this.close();
        this.open(`${this.path}.${++this.part}`);
      }
      fs.writeSync(this.fd, line);
    } catch (e) {
      this.close();
      throw new RecordingWriteError(`cannot write ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.size += line.length;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private open(file: string): void {
    this.file = file;
    this.fd = fs.openSync(file, 'w', 0o644);
    const header: RecordingHeader = { format: FORMAT_VERSION, started: new Date().toISOString(), ...this.meta };
    const text = Buffer.from(JSON.stringify({ acceptqRecording: header }) + '\n');
    fs.writeSync(this.fd, text);
    this.size = this.headerSize = text.length;
    this.files.push(file);
  }
}
