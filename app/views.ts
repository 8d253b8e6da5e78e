/**
 * The views over a stream of snapshots, whatever it reads (this host's
 * kernel, a recording, a fleet): the dashboard, the --once table, the
 * --json records.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { exitNow, onExit } from './exit';
import { filterSnapshot } from '../src/model/view';
import type { Snapshot, SnapshotStream } from '../src/model/types';
import type { Options } from './options';
import { jsonRecordText } from '../src/output/json';
import { renderTable } from '../src/output/table';
import { writeAll } from '../src/output/write';

const writeRecord = (text: string) => writeAll(text, () => exitNow(0));

/**
 * One record per interval, never one that covers none: the first snapshot
 * (taken as the probes attach, or a recording's first) is only the baseline
 * the first interval is measured from. Live, the records fall on whole
 * intervals from the start, and `interval` says how many seconds each
 * covers (more than --interval only if a tick was late and skipped); with
 * --duration the run ends with the interval that reaches it (docs/json.md).
 */
async function runJson(o: Options, stream: SnapshotStream): Promise<void> {
  let prev: Snapshot | null = null; // for the diagnoses' SYN-side rates
  const see = (s: Snapshot, intervalS: number | null) => {
    if (intervalS !== null) writeRecord(jsonRecordText(filterSnapshot(s, o.filter), intervalS, prev) + '\n');
    prev = s;
  };
  if (!stream.live) {
    // a recording: every record at once, for scripts
    for (let s = stream.next(); s; s = stream.next()) see(s, s.elapsed > 0 ? stream.meta.intervalS : null);
    return;
  }
  const take = async (intervalS: number | null) => {
    await stream.prepare?.();
    see(stream.next()!, intervalS);
  };
  const ms = o.interval * 1000;
  await take(null); // the baseline, as soon as the probes are attached
  const start = Date.now();
  // tiny slack: a --duration of 0.3 at --interval 0.1 is 3 intervals, not 4
  const last = o.duration === undefined ? Infinity : Math.max(1, Math.ceil(o.duration / o.interval - 1e-9));
  for (let n = 0; n < last; ) {
    // the next whole interval from the start (one missed while a tick was late is skipped, and covered by this one)
    const k = Math.min(last, Math.max(n + 1, Math.ceil((Date.now() - start + 1) / ms)));
    await sleep(Math.max(0, start + k * ms - Date.now()));
    await take(round3((k - n) * o.interval));
    n = k;
  }
}

/** Seconds to the millisecond: 3 x 0.1 is 0.3, not 0.30000000000000004. */
const round3 = (v: number) => Math.round(v * 1000) / 1000;

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
