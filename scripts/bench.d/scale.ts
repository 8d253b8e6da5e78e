/**
 * Scale part of scripts/bench, for each N given, with N idle listeners held
 * by the lab (in namespaces of its own, at most LISTENERS_PER_LAB a process):
 *
 *   1. ticks (snapshot, drain, model), each rendered as a --json record,
 *      as --json runs them, then the last one rendered as the --once table,
 *      through the project's own Helper and Collector from dist/, as the
 *      CLI does;
 *   2. a real frame: the dashboard (dist/app/cli.js, as the launchers run it)
 *      in tmux, its own timing of each frame read from the file its bench
 *      hook ACCEPTQ_FRAME_LOG names (tick, every panel's sort and filter,
 *      blessed's render and its write to the terminal);
 *   3. key to screen: a key sent with tmux send-keys (? opens and closes the
 *      help, s and < change the sort) until capture-pane shows its effect,
 *      each wait bounded.
 *
 *   node dist/scripts/bench.d/scale.js --counts 1000,10000,100000 --ticks 8 --spacing 500 --frames 8 --key-rounds 2
 *
 * Above 60,000 listeners both run with --max-listeners 131072 (the default
 * registry holds 65,536). Prints one JSON line: an array with one entry per
 * N. Run as root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Helper } from '../../src/native/helper';
import type { RawEvent, RawSnapshot } from '../../src/native/helper';
import { Collector, type RawSource } from '../../src/model/collector';
import { renderTable } from '../../src/output/table';
import { jsonRecordText } from '../../src/output/json';
import {
  CLI_COMMAND,
  installSignalCleanup,
  runMain,
  median,
  now,
  percentile,
  progIdsOf,
  round,
  sleep,
  startListenerSet,
  stopChild,
  tmux,
  tmuxScratch,
  type NsProc,
} from './common';

/** Above this many listeners the registry is raised to BIG_REGISTRY (--max-listeners). */
const DEFAULT_REGISTRY_ROOM = 60000;
const BIG_REGISTRY = 131072;
/** The dashboard's terminal: the size of section 4's. */
const WIDTH = 160;
const HEIGHT = 50;
const TERM = 'xterm-256color';
/** How long a key may take to show before the dashboard is counted as not answering. */
const KEY_BOUND_MS = 10000;

/** The helper, with the time of each call kept. */
class TimedSource implements RawSource {
  snapshotMs = 0;
  libMs = 0;
  drainMs = 0;
  rows = 0;
  namespaces = 0;
  constructor(private readonly h: Helper) {}
  get probe(): string {
    return this.h.probe;
  }
  get notice(): string {
    return this.h.notice;
  }
  snapshot(): RawSnapshot {
    const t = now();
    const r = this.h.snapshot();
    this.snapshotMs = now() - t;
    this.libMs = r.stats.snapshotNs / 1e6;
    this.rows = r.stats.rows;
    this.namespaces = r.stats.namespaces;
    return r;
  }
  drain(): RawEvent[] {
    const t = now();
    const e = this.h.drain();
    this.drainMs = now() - t;
    return e;
  }
}

interface Sample {
  tick: number;
  lib: number;
  decode: number;
  drain: number;
  model: number;
  table: number;
  json: number;
}

const maxListenersFor = (n: number): number | undefined => (n > DEFAULT_REGISTRY_ROOM ? BIG_REGISTRY : undefined);

/** 1: ticks through the helper, and the --once table and --json record of each. */
async function helperTicks(n: number, labs: NsProc[], ticks: number, spacing: number) {
  const helper = Helper.open({ probe: 'auto', eventsPerSec: 50, maxListeners: maxListenersFor(n) });
  try {
    const source = new TimedSource(helper);
    const collector = new Collector(source, 1);
    const netns = new Set(labs.map((l) => l.netns));
    // with their owners: the tick that gives every row its owner builds every row afresh, once
    const seen = (s: ReturnType<Collector['tick']>) => s.listeners.filter((l) => netns.has(l.netns) && l.pid > 0).length;
    // until every listener of the labs shows, with its owner (bounded)
    const deadline = now() + 20000 + n;
    for (;;) {
      const s = collector.tick();
      if (seen(s) >= n) break;
      if (now() > deadline) throw new Error(`only ${seen(s)} of ${n} listeners seen`);
      await sleep(100);
    }
    // and two ticks more: rows that changed in the last one are built once more, then kept
    for (let i = 0; i < 2; i++) {
      await sleep(spacing);
      collector.tick();
    }
    const samples: Sample[] = [];
    let last: ReturnType<Collector['tick']> | null = null;
    for (let i = 0; i < ticks; i++) {
      await sleep(spacing);
      const t0 = now();
      const s = collector.tick();
      const t1 = now();
      jsonRecordText(s, 1); // as --json writes it
      const t2 = now();
      last = s;
      samples.push({
        tick: t1 - t0,
        lib: source.libMs,
        decode: source.snapshotMs - source.libMs,
        drain: source.drainMs,
        model: t1 - t0 - source.snapshotMs - source.drainMs,
        table: 0,
        json: t2 - t1,
      });
    }
    // the --once table, of the last tick, after the ticks: --once renders one, and the
    // garbage of a table of every row is not --json's (it came due in the next tick)
    for (const x of samples) {
      const t = now();
      if (last) renderTable(last);
      x.table = now() - t;
    }
    const med = (k: keyof Sample) => round(median(samples.map((x) => x[k])), 2);
    return {
      probe: helper.probe,
      rows: source.rows,
      namespaces: source.namespaces,
      ticks: samples.length,
      tickMs: med('tick'),
      tickP90Ms: round(percentile(samples.map((x) => x.tick), 90), 2),
      libMs: med('lib'),
      decodeMs: med('decode'),
      drainMs: med('drain'),
      modelMs: med('model'),
      renderTableMs: med('table'),
      renderJsonMs: med('json'),
      totalTableMs: round(median(samples.map((x) => x.tick + x.table)), 2),
      totalTableP90Ms: round(percentile(samples.map((x) => x.tick + x.table), 90), 2),
      totalJsonMs: round(median(samples.map((x) => x.tick + x.json)), 2),
      tickSamples: samples.map((x) => ({ tick: round(x.tick, 1), lib: round(x.lib, 1), model: round(x.model, 1) })),
    };
  } finally {
    helper.close();
  }
}

// ---- 2 and 3: the dashboard in tmux ----


/** One line of the dashboard's frame log (ui/dashboard.ts, ACCEPTQ_FRAME_LOG). */
interface FrameLine {
  at: number;
  cause: 'tick' | 'key' | 'mouse' | 'resize';
  key?: string;
  listeners: number;
  rows: number;
  frameMs: number;
  nextMs: number;
  ingestMs: number;
  sorts: number;
  sortMs: number;
  filterMs: number;
  panels: Record<string, number>;
  renderMs: number;
  writeMs: number;
}

/** The frame log as it grows. */
class FrameLog {
  private read = 0;
  private rest = '';
  readonly frames: FrameLine[] = [];
  constructor(readonly file: string) {}
  poll(): FrameLine[] {
    const fd = fs.openSync(this.file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= this.read) return this.frames;
      const buf = Buffer.alloc(size - this.read);
      fs.readSync(fd, buf, 0, buf.length, this.read);
      this.read = size;
      const text = this.rest + buf.toString('utf8');
      const lines = text.split('\n');
      this.rest = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) this.frames.push(JSON.parse(l));
    } finally {
      fs.closeSync(fd);
    }
    return this.frames;
  }
  ticks(): FrameLine[] {
    return this.poll().filter((f) => f.cause === 'tick');
  }
}

const stats = (xs: number[]) => ({ medianMs: round(median(xs), 2), p90Ms: round(percentile(xs, 90), 2), maxMs: round(Math.max(...xs), 2) });

/** A key sent, and what the screen must show once it is answered. */
interface KeyStep {
  kind: 'help' | 'sort';
  key: string;
  shown: (screen: string) => boolean;
}

/** The table's column-header line (the sort column carries v or ^). */
const tableHeader = (screen: string) => screen.split('\n').find((l) => /\bLISTEN\b.*\bQUEUE\b/.test(l)) ?? '';
const HELP_TITLE = 'help: any key closes it';

async function dashboardFrames(n: number, frames: number, keyRounds: number) {
  const { session, dir, kill } = tmuxScratch('scale');
  // the dashboard drops its privileges: it opens the log before, but let it write there anyway
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, 'frames');
  fs.writeFileSync(file, '', { mode: 0o666 });
  fs.chmodSync(file, 0o666);
  const log = new FrameLog(file);
  const max = maxListenersFor(n);
  // bounded: what this part can take at most, and then some
  const duration = 240 + Math.ceil(n / 1000) + frames * 10 + keyRounds * 4 * 12;
  const started = now();
  tmux('new-session', '-d', '-s', session, '-x', String(WIDTH), '-y', String(HEIGHT),
    `exec env TERM=${TERM} LANG=C.UTF-8 ACCEPTQ_FRAME_LOG=${file} ${CLI_COMMAND} --interval 1 --duration ${duration}${max ? ` --max-listeners ${max}` : ''}`);
  const pid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
  const screen = () => tmux('capture-pane', '-p', '-t', session);
  const alive = () => {
    try {
      return progIdsOf(pid).length > 0;
    } catch {
      return false;
    }
  };
  try {
    // every listener in a frame (the labs' and whatever else the machine has), then three more: the
    // owners found for them (every row changes once) and the rows built once more, then kept
    const deadline = now() + 60000 + 2 * n;
    let first = -1;
    for (;;) {
      const t = log.ticks();
      if (first < 0) first = t.findIndex((f) => f.listeners >= n);
      if (first >= 0 && t.length >= first + 4) break;
      if (now() > deadline) throw new Error(`the dashboard showed ${t[t.length - 1]?.listeners ?? 0} of ${n} listeners within ${Math.round((now() - started) / 1000)} s: ${screen()}`);
      if (!alive() && now() - started > 30000) throw new Error(`the dashboard is not running: ${screen()}`);
      await sleep(100);
    }
    const firstFullS = round((now() - started) / 1000, 1);
    const from = log.ticks().length;
    const frameDeadline = now() + frames * 15000;
    while (log.ticks().length < from + frames) {
      if (now() > frameDeadline) throw new Error(`only ${log.ticks().length - from} of ${frames} frames within ${frames * 15} s`);
      await sleep(100);
    }
    const measured = log.ticks().slice(from, from + frames);

    // keys, each sent at a random point of the interval (a tick may be running)
    const base = tableHeader(screen());
    const steps: KeyStep[] = [
      { kind: 'help', key: '?', shown: (s) => s.includes(HELP_TITLE) },
      { kind: 'help', key: '?', shown: (s) => !s.includes(HELP_TITLE) && tableHeader(s) !== '' },
      { kind: 'sort', key: 's', shown: (s) => tableHeader(s) !== '' && tableHeader(s) !== base },
      { kind: 'sort', key: '<', shown: (s) => tableHeader(s) === base },
    ];
    const keyFramesBefore = log.poll().filter((f) => f.cause === 'key').length;
    const presses: Array<{ kind: string; key: string; ms: number | null }> = [];
    let answered = true;
    for (let r = 0; r < keyRounds && answered; r++) {
      for (const step of steps) {
        await sleep(Math.random() * 1000);
        const t0 = now();
        tmux('send-keys', '-t', session, step.key);
        let ms: number | null = null;
        while (now() - t0 < KEY_BOUND_MS) {
          if (step.shown(screen())) {
            ms = now() - t0;
            break;
          }
          await sleep(2);
        }
        presses.push({ kind: step.kind, key: step.key, ms: ms === null ? null : round(ms, 1) });
        if (ms === null) {
          answered = false;
          break;
        }
      }
    }
    await sleep(200);
    // the dashboard's own time of each key's frame (one frame a key, in order)
    const keyFrames = log.poll().filter((f) => f.cause === 'key').slice(keyFramesBefore);
    const own = keyFrames.length === presses.filter((p) => p.ms !== null).length ? keyFrames.map((f) => f.frameMs) : [];
    const keyStats = (kind: string) => {
      const ps = presses.map((p, i) => ({ ...p, own: own[i] })).filter((p) => p.kind === kind && p.ms !== null);
      return ps.length ? { ...stats(ps.map((p) => p.ms!)), presses: ps.length, frameMs: own.length ? round(median(ps.map((p) => p.own!)), 2) : null } : null;
    };
    const answeredMs = presses.filter((p) => p.ms !== null).map((p) => p.ms!);

    tmux('send-keys', '-t', session, 'q');
    const gone = now() + 5000;
    while (alive() && now() < gone) await sleep(50);

    const col = (k: keyof FrameLine) => measured.map((f) => f[k] as number);
    const panel = (name: string) => round(median(measured.map((f) => f.panels[name] ?? 0)), 2);
    return {
      width: WIDTH,
      height: HEIGHT,
      maxListeners: max ?? null,
      firstFullFrameS: firstFullS,
      frame: {
        frames: measured.length,
        listeners: measured[measured.length - 1].listeners,
        ...stats(col('frameMs')),
        nextMs: round(median(col('nextMs')), 2),
        ingestMs: round(median(col('ingestMs')), 2),
        sortMs: round(median(col('sortMs')), 2),
        filterMs: round(median(col('filterMs')), 2),
        sortsPerFrame: Math.max(...col('sorts')),
        panelsMs: { header: panel('header'), gauges: panel('gauges'), spark: panel('spark'), table: panel('table') },
        renderMs: round(median(col('renderMs')), 2),
        writeMs: round(median(col('writeMs')), 2),
        samples: col('frameMs'),
      },
      keys: {
        boundMs: KEY_BOUND_MS,
        sent: presses.length,
        answered: answeredMs.length,
        allAnswered: answered && presses.length === keyRounds * steps.length,
        ...(answeredMs.length ? stats(answeredMs) : { medianMs: null, p90Ms: null, maxMs: null }),
        help: keyStats('help'),
        sort: keyStats('sort'),
        presses,
      },
    };
  } finally {
    kill();
    // the programs detached (bounded) before the next part loads its own
    const until = now() + 5000;
    while (alive() && now() < until) await sleep(50);
  }
}

async function main(): Promise<void> {
  installSignalCleanup('scale');
  const { values } = parseArgs({
    options: {
      counts: { type: 'string', default: '1000,10000,100000' },
      ticks: { type: 'string', default: '8' },
      spacing: { type: 'string', default: '500' },
      frames: { type: 'string', default: '8' },
      'key-rounds': { type: 'string', default: '2' },
    },
  });
  const counts = values.counts!.split(',').map(Number);
  const ticks = Math.min(100, Math.max(1, Number(values.ticks)));
  const spacing = Math.min(5000, Math.max(0, Number(values.spacing)));
  const frames = Math.min(60, Math.max(1, Number(values.frames)));
  const keyRounds = Math.min(10, Math.max(0, Number(values['key-rounds'])));
  if (counts.some((n) => !(Number.isInteger(n) && n > 0 && n <= 120000))) throw new Error('--counts wants whole numbers from 1 to 120000');

  const out: any[] = [];
  let probe = '';
  for (const n of counts) {
    const t0 = now();
    const labs = await startListenerSet(n, 900);
    try {
      const h = await helperTicks(n, labs, ticks, spacing);
      probe = h.probe;
      process.stderr.write(`scale ${n}: tick ${h.tickMs} ms (helper)\n`);
      const d = await dashboardFrames(n, frames, keyRounds);
      process.stderr.write(`scale ${n}: dashboard frame ${d.frame.medianMs} ms (p90 ${d.frame.p90Ms}), key to screen ${d.keys.medianMs} ms (slowest ${d.keys.maxMs})\n`);
      const { probe: _p, ...helperFigures } = h;
      out.push({ listeners: n, labs: labs.length, ...helperFigures, dashboard: d, seconds: round((now() - t0) / 1000, 1) });
    } finally {
      for (const l of labs) await stopChild(l.proc);
    }
  }
  process.stdout.write(JSON.stringify({ probe, results: out }) + '\n');
}

runMain('scale', main);
