/**
 * Soak: acceptq under a steady SYN flood for a while, sampling its RSS and
 * map sizes, then comparing its count with the kernel's. Writes the curve to
 * a JSON file and prints a summary. Traffic stays in a namespace of its own.
 *
 *   scripts/soak [--minutes M] [--mode json|dashboard] [--out FILE]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { AcceptqJson } from '../../harness/acceptq';
import { startLab } from '../../harness/lab';
import { entries, mapsOf } from '../../harness/maps';
import { CLI, NODE_ENV, NODE_FLAGS } from '../../harness/paths';

/** BENCHMARKS.md's target for acceptq's peak RSS. */
export const RSS_TARGET_KB = 80 * 1024;

interface Sample {
  t: number;
  rssKb: number;
  socks: number;
  counts: number;
  groups: number;
}

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { minutes: { type: 'string', default: '30' }, mode: { type: 'string', default: 'json' }, out: { type: 'string' } },
  });
  const minutes = Number(values.minutes);
  if (!(minutes > 0 && minutes <= 240)) throw new Error('--minutes wants a number from 0 to 240');
  if (values.mode !== 'json' && values.mode !== 'dashboard') throw new Error('--mode wants json or dashboard');
  const seconds = Math.round(minutes * 60);

  // json mode: the soaked process is the --json one; dashboard mode: a
  // dashboard under tmux, with a --json instance beside it for the counts
  // run as ./acceptq runs it (its V8 flags and environment): that is what the memory target is for
  const aq = AcceptqJson.start(['--interval', '1'], { asLaunched: true });
  let pid = aq.proc.pid!;
  let tmuxName = '';
  try {
    await aq.waitFor(() => true, 20000);
    if (values.mode === 'dashboard') {
      tmuxName = `acceptq-soak-${process.pid}`;
      const env = Object.entries(NODE_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
      execFileSync('tmux', ['new-session', '-d', '-x', '160', '-y', '50', '-s', tmuxName, `env ${env} ${process.execPath} ${NODE_FLAGS.join(' ')} ${CLI} --interval 1`]);
      await sleep(3000);
      const pane = execFileSync('tmux', ['list-panes', '-t', tmuxName, '-F', '#{pane_pid}'], { encoding: 'utf8' }).trim();
      // the pane runs the command directly or through a shell
      const child = spawnSync('pgrep', ['-o', '-P', pane], { encoding: 'utf8' }).stdout.trim();
      pid = Number(child || pane);
    }
    const maps = mapsOf(aq.proc.pid!);
    const started = Date.now();
    // the lab reports when its flood is over; sample while it runs
    const flood = startLab(`flood ${seconds}`, 60, seconds * 1000 + 60000);
    let done = false;
    flood.then(() => (done = true), () => (done = true));
    const samples: Sample[] = [];
    const every = Math.max(1000, Math.min(10000, (seconds * 1000) / 30));
    while (!done) {
      samples.push({
        t: Math.round((Date.now() - started) / 1000),
        rssKb: rssKb(pid),
        socks: entries(maps.socks),
        counts: entries(maps.counts),
        groups: entries(maps.groups),
      });
      await Promise.race([sleep(every), flood.catch(() => undefined)]);
    }
    const lab = await flood;
    try {
      const kernel = lab.netstat().TcpExtListenOverflows;
      const rec = await aq.fresh();
      const row = rec.listeners.find((l) => l.netns === lab.netns && l.port === 9700);
      const steady = samples.filter((x) => x.t >= Math.min(20, seconds / 3));
      const rss = steady.map((x) => x.rssKb);
      const result = {
        mode: values.mode,
        seconds,
        overflowsAcceptq: row?.overflows ?? 0,
        overflowsKernel: kernel,
        equal: row?.overflows === kernel,
        lostEvents: rec.lostEvents,
        rssKbFirst: rss[0] ?? 0,
        rssKbLast: rss[rss.length - 1] ?? 0,
        rssKbMax: Math.max(0, ...rss),
        // the target is for the peak: warm-up included
        rssKbPeak: Math.max(0, ...samples.map((x) => x.rssKb)),
        rssTargetKb: RSS_TARGET_KB,
        rssWithinTarget: Math.max(0, ...samples.map((x) => x.rssKb)) <= RSS_TARGET_KB,
        mapsFlat: new Set(steady.map((x) => `${x.socks}/${x.counts}/${x.groups}`)).size === 1,
        samples,
      };
      if (values.out) fs.writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
      console.log(`soak ${values.mode}, ${seconds} s under a flood:`);
      console.log(`  overflows: acceptq ${result.overflowsAcceptq}, kernel ${kernel} (${result.equal ? 'equal' : 'DIFFERENT'}), lost events ${rec.lostEvents}`);
      console.log(`  RSS after warm-up: first ${result.rssKbFirst} kB, last ${result.rssKbLast} kB, max ${result.rssKbMax} kB; ` +
        `peak ${result.rssKbPeak} kB (${result.rssWithinTarget ? 'within' : 'OVER'} the ${RSS_TARGET_KB / 1024} MB target)`);
      console.log(`  map entries (socks/counts/groups) ${result.mapsFlat ? 'flat' : 'changed'}: ${samples.map((x) => `${x.socks}/${x.counts}/${x.groups}`).join(' ')}`);
      console.log(`  RSS curve (s:kB): ${samples.map((x) => `${x.t}:${x.rssKb}`).join(' ')}`);
      if (!result.equal || !result.rssWithinTarget) process.exitCode = 1;
    } finally {
      await lab.stop();
    }
  } finally {
    if (tmuxName) spawn('tmux', ['kill-session', '-t', tmuxName]);
    await aq.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`scripts/soak: ${e.message}\n`);
  process.exit(1);
});
