/**
 * Scale part of scripts/bench: the time of one tick (snapshot, drain, model)
 * and of rendering it (the --once table and the --json record), with N idle
 * listeners opened by the lab in a namespace of its own, for each N given.
 * Uses the project's own Helper and Collector from dist/, as the CLI does.
 *
 *   node dist/scripts/bench.d/scale.js --counts 100,1000,10000 --ticks 8 --spacing 500
 *
 * Prints one JSON line: an array with one entry per N. Run as root.
 */
import { parseArgs } from 'node:util';
import { Helper } from '../../src/native/helper';
import type { RawEvent, RawSnapshot } from '../../src/native/helper';
import { Collector, type RawSource } from '../../src/model/collector';
import { renderTable } from '../../src/output/table';
import { jsonRecord } from '../../src/output/json';
import { DashboardState, sparkline } from '../../ui/viewmodel';
import { fitColumns, headerLine, rowLine } from '../../ui/columns';
import { installSignalCleanup, runMain, median, now, percentile, round, sleep, startListeners, stopChild } from './common';

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
  view: number;
}

/**
 * What the dashboard computes per frame, without a terminal: take in the
 * snapshot, sort and filter every row, find the selection, and format the
 * rows that fit a 160x50 screen and the sparkline (blessed's own drawing
 * depends on the screen size, not on the number of listeners).
 */
function dashboardView(state: DashboardState, s: ReturnType<Collector['tick']>): void {
  state.ingest(s);
  const rows = state.rows();
  state.selected();
  const cols = fitColumns(156);
  const lines = [headerLine(cols, state.sortKey, state.reverse)];
  const now = Date.now();
  for (const r of rows.slice(0, 40)) lines.push(rowLine(cols, r, r.id === state.selectedId, now));
  lines.push(sparkline(state.total.last(100), 100, false));
}

async function main(): Promise<void> {
  installSignalCleanup('scale');
  const { values } = parseArgs({
    options: { counts: { type: 'string', default: '100,1000,10000' }, ticks: { type: 'string', default: '8' }, spacing: { type: 'string', default: '500' } },
  });
  const counts = values.counts!.split(',').map(Number);
  const ticks = Math.min(100, Math.max(1, Number(values.ticks)));
  const spacing = Math.min(5000, Math.max(0, Number(values.spacing)));
  if (counts.some((n) => !(n > 0 && n <= 60000))) throw new Error('--counts wants numbers from 1 to 60000');

  const helper = Helper.open({ probe: 'auto', eventsPerSec: 50 });
  const source = new TimedSource(helper);
  const collector = new Collector(source, 1);
  const out: any[] = [];
  try {
    for (const n of counts) {
      const lab = await startListeners(n, 300);
      try {
        // until every listener of the lab shows (bounded)
        const deadline = now() + 20000;
        for (;;) {
          const s = collector.tick();
          if (s.listeners.filter((l) => l.netns === lab.netns).length >= n) break;
          if (now() > deadline) throw new Error(`only ${s.listeners.filter((l) => l.netns === lab.netns).length} of ${n} listeners seen`);
          await sleep(100);
        }
        await sleep(spacing);
        const state = new DashboardState();
        dashboardView(state, collector.tick()); // warm-up
        const samples: Sample[] = [];
        for (let i = 0; i < ticks; i++) {
          await sleep(spacing);
          const t0 = now();
          const s = collector.tick();
          const t1 = now();
          renderTable(s);
          const t2 = now();
          JSON.stringify(jsonRecord(s, 1));
          const t3 = now();
          dashboardView(state, s);
          const t4 = now();
          samples.push({
            tick: t1 - t0,
            lib: source.libMs,
            decode: source.snapshotMs - source.libMs,
            drain: source.drainMs,
            model: t1 - t0 - source.snapshotMs - source.drainMs,
            table: t2 - t1,
            json: t3 - t2,
            view: t4 - t3,
          });
        }
        const med = (k: keyof Sample) => round(median(samples.map((x) => x[k])), 2);
        out.push({
          listeners: n,
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
          renderDashboardMs: med('view'),
          totalDashboardMs: round(median(samples.map((x) => x.tick + x.view)), 2),
          totalDashboardP90Ms: round(percentile(samples.map((x) => x.tick + x.view), 90), 2),
        });
      } finally {
        await stopChild(lab.proc);
      }
    }
  } finally {
    helper.close();
  }
  process.stdout.write(JSON.stringify({ probe: helper.probe, results: out }) + '\n');
}

runMain('scale', main);
