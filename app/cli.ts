#!/usr/bin/env node
/**
 * acceptq command line: the subcommands (run, export, fleet: app/cmd/), and
 * the main command: flags, privileges, the helper (or a recording), and one
 * view over its snapshots (dashboard, --once table, --json stream). Every
 * exit path closes the helper, which detaches the BPF links (app/exit.ts).
 */
import { exitNow, exitOnFailure, exitOnSignals, exitUsage, failure, onExit } from './exit';
import { HeapTrim } from './heap';
import { dropPrivileges, openHelper } from './local';
import { Collector } from '../src/model/collector';
import { StreamTap } from '../src/model/tap';
import type { Snapshot, SnapshotStream } from '../src/model/types';
import { parseOptions, USAGE, UsageError, type Options } from './options';
import { readRecording, RecordingError } from '../src/record/recording';
import { RecordingWriter } from '../src/record/writer';
import { VERSION } from '../src/version';
import { checkTerminal, runView } from './views';

/** Passes snapshots through, writing each to a recording. */
class RecordingTee extends StreamTap {
  constructor(inner: SnapshotStream, private readonly writer: RecordingWriter) {
    super(inner);
  }
  protected see(s: Snapshot): void {
    this.writer.write(s);
  }
}

function openReplay(path: string): SnapshotStream {
  try {
    const replay = readRecording(path);
    onExit(() => replay.close());
    return replay;
  } catch (e) {
    if (e instanceof RecordingError) exitNow(1, `acceptq: ${path}: ${e.message}`);
    throw e;
  }
}

export async function main(argv: string[]): Promise<void> {
  // each subcommand loaded only when asked for: the main command's memory
  // holds none of their modules (http, tls, crypto: about 10 MB of RSS)
  if (argv[0] === 'run') return (await import('./cmd/run')).runMain(argv.slice(1));
  if (argv[0] === 'export') return (await import('./cmd/export')).exportMain(argv.slice(1));
  if (argv[0] === 'fleet') return (await import('./cmd/fleet')).fleetMain(argv.slice(1));
  let o: Options;
  try {
    const r = parseOptions(argv);
    if (r === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    if (r === 'version') {
      process.stdout.write(`acceptq ${VERSION}\n`);
      return;
    }
    o = r;
  } catch (e) {
    if (e instanceof UsageError) exitUsage(e.message);
    throw e;
  }
  exitOnSignals();
  exitOnFailure();

  let stream: SnapshotStream;
  if (o.replay) {
    // a file only: no root, no BPF; checked before the terminal, so a bad file is named whatever stdout is
    stream = openReplay(o.replay);
    if (o.mode === 'dashboard') await checkTerminal();
  } else {
    if (o.mode === 'dashboard') await checkTerminal();
    stream = new HeapTrim(new Collector(openHelper(o), o.interval));
    if (o.record) {
      let writer: RecordingWriter;
      try {
        writer = new RecordingWriter(o.record, stream.meta);
      } catch (e) {
        exitNow(1, `acceptq: cannot write ${o.record}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      onExit(() => writer.close());
      stream = new RecordingTee(stream, writer);
    }
  }
  if (o.mode === 'dashboard') await import('../ui/dashboard'); // loaded while privileged: the files may be root's alone
  if (stream.live) dropPrivileges(o.keepRoot);
  await runView(o, stream);
  exitNow(0);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => exitNow(1, failure(e)));
}
