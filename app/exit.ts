/**
 * Every way out of acceptq: what was opened (the helper, whose closing
 * detaches the BPF links; the terminal; sockets; files) is closed once, then
 * the exit code; and what a failure says on stderr.
 */
import { sanitize } from '../src/model/sanitize';
import { RecordingError } from '../src/record/recording';
import { RecordingWriteError } from '../src/record/writer';

/** What ends a run, for stderr: a file's fault in a sentence (a recording changed under replay, a full disk), anything else with its stack. */
export function failure(e: unknown): string {
  if (e instanceof RecordingError || e instanceof RecordingWriteError) return `acceptq: ${e.message}`;
  return `acceptq: ${(e as Error)?.stack ?? e}`;
}

/** Closers run once, on every way out. */
const closers: Array<() => void> = [];
let exiting = false;
export function onExit(fn: () => void): void {
  closers.push(fn);
}
export function exitNow(code: number, message?: string): never {
  if (!exiting) {
    exiting = true;
    for (const fn of closers.reverse()) {
      try {
        fn();
      } catch {
        // keep closing the rest
      }
    }
  }
  // line by line without control characters: an argument or file name echoed in it cannot drive the terminal
  if (message) process.stderr.write(message.replace(/\n$/, '').split('\n').map(sanitize).join('\n') + '\n');
  process.exit(code);
}

/** A bad command line: one line saying what is wrong, exit 2; usage: for a bare subcommand, which says nothing else. */
export function exitUsage(message: string, usage?: string): never {
  exitNow(2, `acceptq: ${message}${usage ? `\n${usage}` : ''}`);
}

/** From here SIGINT, SIGTERM and SIGHUP (an ssh session dropping) end the run cleanly, exit 0. */
export function exitOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => exitNow(0));
}

/** A failure nothing caught: its line, exit 1; stdout closed under us (a pipe to head): exit 0. */
export function exitOnFailure(): void {
  process.on('uncaughtException', (e) => exitNow(1, failure(e)));
  process.stdout.on('error', (e: NodeJS.ErrnoException) => exitNow(e.code === 'EPIPE' ? 0 : 1));
}
