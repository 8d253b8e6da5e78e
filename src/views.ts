/**
 * The views over a stream of snapshots, whatever it reads (this host's
 * kernel, a recording, a fleet): the dashboard, the --once table, the
 * --json records.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { exitNow, onExit } from './exit';
import { filterSnapshot } from './model/view';
import type { Snapshot, SnapshotStream } from './model/types';
import type { Options } from './options';
import { jsonRecord } from './output/json';
import { renderTable } from './output/table';
import { writeAll } from './output/write';

const writeRecord = (text: string) => writeAll(text, () => exitNow(0));

async function runJson(o: Options, stream: SnapshotStream): Promise<void> {
  const interval = stream.live ? o.interval : stream.meta.intervalS;
  let prev: Snapshot | null = null; // for the diagnoses' SYN-side rates
  const write = (s: Snapshot) => {
    writeRecord(JSON.stringify(jsonRecord(filterSnapshot(s, o.filter), interval, prev)) + '\n');
    prev = s;
  };
  if (!stream.live) {
    // a recording: every record at once, for scripts
    for (let s = stream.next(); s; s = stream.next()) write(s);
    return;
  }
  const start = Date.now();
  const take = async () => {
    await stream.prepare?.();
    write(stream.next()!);
  };
  await take(); // first record as soon as the probes are attached
  for (;;) {
    const next = start + Math.ceil((Date.now() - start + 1) / (o.interval * 1000)) * o.interval * 1000;
    if (o.duration !== undefined && next - start > o.duration * 1000) {
      await sleep(Math.max(0, start + o.duration * 1000 - Date.now()));
      await take();
      return;
    }
    await sleep(Math.max(0, next - Date.now()));
    await take();
  }
}

async function runOnce(o: Options, stream: SnapshotStream): Promise<void> {
  let prev: Snapshot | null = null;
  await stream.prepare?.();
  let last = stream.next();
  if (stream.live) {
    await sleep(o.interval * 1000);
    prev = last;
    await stream.prepare?.();
    last = stream.next();
  } else {
    for (let s = stream.next(); s; s = stream.next()) [prev, last] = [last, s];
  }
  if (last) writeRecord(renderTable(filterSnapshot(last, o.filter), prev));
}

/** Before anything is attached or drawn, the dashboard's terminal is checked: a bad one is left as it was. */
export async function checkTerminal(): Promise<void> {
  if (!process.stdout.isTTY) exitNow(2, 'acceptq: the dashboard needs a terminal; use --once or --json for output to a pipe or file');
  const { terminalName, terminalProblem } = await import('../ui/terminal');
  const problem = terminalProblem(terminalName());
  if (problem) exitNow(2, problem);
}

/** The view the options ask for, over a stream (live, a replay or a fleet). */
export async function runView(o: Options, stream: SnapshotStream): Promise<void> {
  if (o.mode === 'json') await runJson(o, stream);
  else if (o.mode === 'once') await runOnce(o, stream);
  else await (await import('../ui/dashboard')).runDashboard(o, stream, onExit);
}
