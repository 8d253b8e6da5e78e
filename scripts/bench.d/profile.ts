/**
 * Where acceptq's own time and memory go, layer by layer: acceptq run as
 * the launchers run it (--json, or the dashboard in tmux 160x50, every 1 s)
 * under N idle listeners held by the lab, with V8's CPU profiler
 * (--cpu-prof) on, and its RSS and CPU time read from /proc every 200 ms.
 * Each profile sample is put to the layer of its stack:
 *
 *   helper     the library's own time, in the FFI calls of a snapshot or a drain
 *   decode     the binding's decoding of the library's rows (src/native)
 *   model      the collector and what it calls (src/model)
 *   json, table, export, fleet, record   the views of src/output and app/ (--json, --once)
 *   state      the dashboard's state (ui/viewmodel, ui/dashboard: ingest, sort)
 *   <panel>    each panel's draw (ui/panels/*)
 *   blessed    blessed's render and write to the terminal
 *   gc         V8's garbage collector
 *   other      V8 and Node outside the above (timers, the event loop, compiling)
 *
 * Start-up and exit (loading modules, attaching, detaching) are left out:
 * samples under Helper.open/close and module loading, and those of the
 * warm-up after the first snapshot (--warmup seconds: the ticks that find
 * every listener's owner build every row afresh).
 *
 * A profile's sample spans wall time: on a busy machine a sample also
 * counts the time the thread waited for a core. So each layer is given as
 * its share of the samples, and as that share of the process's own CPU
 * time over the same window (/proc), in ms a second. With --heap, V8's
 * sampling heap profiler runs too (--heap-prof: what is still live at exit,
 * put to layers the same way); it slows allocation, so its run's CPU
 * shares are not comparable with one without it.
 *
 *   node dist/scripts/bench.d/profile.js --counts 1000,10000 --seconds 20 --warmup 5 --mode json
 *
 * Prints one JSON line: an array with one entry per N. Run as root.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, NODE_ENV, NODE_FLAGS } from '../../harness/paths';
import { cpuSeconds, installSignalCleanup, runMain, round, sleep, startListenerSet, statusField, stopChild, tmux, track } from './common';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** The registry is raised above this many listeners (as scale.ts does). */
const BIG = 60000;

/** The project's file of a frame, as `dir/name` (src/model/collector, ui/panels/table), or null. */
function projectFile(f: CallFrame): string | null {
  const m = /\/dist\/((?:src|ui|app)\/(?:[a-z]+\/)*[a-z-]+)\.js$/.exec(f.url);
  return m ? m[1] : null;
}

/** The layer of a stack, leaf first; null: start-up or exit, left out. */
export function layerOf(stack: CallFrame[]): string | null {
  const leaf = stack[0];
  if (leaf.functionName === '(garbage collector)') return 'gc';
  if (leaf.functionName === '(idle)') return 'idle';
  const files = stack.map(projectFile);
  const helperCall = stack.findIndex((f, i) => files[i] === 'src/native/helper');
  if (helperCall >= 0 && /^(open|close|dropCapabilities)$/.test(stack[helperCall].functionName)) return null;
  if (stack.some((f) => /^(wrapModuleLoad|Module\._load|compileFunction)$/.test(f.functionName))) return null;
  if (/node_modules\/blessed\//.test(leaf.url)) return 'blessed';
  const first = files.findIndex((x) => x !== null);
  if (first < 0) return 'other';
  const file = files[first]!;
  // the library's time is spent inside the FFI call a helper function makes
  if (file === 'src/native/helper' && first > 0 && /node_modules\/@2060\.io\//.test(leaf.url)) return 'helper';
  if (file.startsWith('src/native/')) return 'decode';
  if (file.startsWith('src/model/')) return 'model';
  if (file === 'src/output/json' || file === 'app/views') return 'json';
  if (file === 'src/output/write') return 'write';
  if (file.startsWith('src/output/')) return 'table';
  const panel = /^ui\/panels\/(.+)$/.exec(file);
  if (panel) return panel[1];
  if (file.startsWith('ui/')) return 'state';
  if (file.startsWith('src/')) return file.split('/')[1];
  return 'other';
}

/** ms of CPU per second of the run, by layer, from warmupS after the first snapshot on. */
function cpuByLayer(p: CpuProfile, warmupS: number): { seconds: number; share: Record<string, number> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = new Map<number, CallFrame[]>();
  const stack = (id: number): CallFrame[] => {
    let s = stackOf.get(id);
    if (!s) {
      s = [];
      for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) s.push(byId.get(x)!.callFrame);
      stackOf.set(id, s);
    }
    return s;
  };
  const us: Record<string, number> = {};
  let since = -1; // µs since the first snapshot
  let span = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const s = stack(p.samples[i]);
    const dt = p.timeDeltas[i] ?? 0;
    if (since < 0 && s.some((f) => f.functionName === 'snapshot' && projectFile(f) === 'src/native/helper')) since = 0;
    if (since < 0) continue;
    since += dt;
    if (since < warmupS * 1e6) continue;
    span += dt;
    const layer = layerOf(s);
    if (layer) us[layer] = (us[layer] ?? 0) + dt;
  }
  delete us.idle;
  const busy = Object.values(us).reduce((a, b) => a + b, 0);
  const share = Object.fromEntries(
    Object.entries(us)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, round(v / busy, 4)]),
  );
  return { seconds: round(span / 1e6, 1), share };
}

/** Live bytes at exit by layer, from a sampling heap profile (MB). */
function heapByLayer(root: HeapNode): Record<string, number> {
  const bytes: Record<string, number> = {};
  const walk = (n: HeapNode, stack: CallFrame[]) => {
    const s = [n.callFrame, ...stack];
    if (n.selfSize) {
      const layer = layerOf(s) ?? 'start-up';
      bytes[layer] = (bytes[layer] ?? 0) + n.selfSize;
    }
    for (const c of n.children) walk(c, s);
  };
  walk(root, []);
  return Object.fromEntries(Object.entries(bytes).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / 2 ** 20, 2)]));
}

async function profileOne(n: number, seconds: number, warmupS: number, mode: 'json' | 'dashboard', heap: boolean) {
  const labs = await startListenerSet(n, warmupS + seconds + 300);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-profile-'));
  // acceptq writes its profiles after it dropped its privileges
  fs.chmodSync(dir, 0o1777);
  const flags = [...NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${dir}`, ...(heap ? ['--heap-prof', `--heap-prof-dir=${dir}`] : [])];
  const args = ['--interval', '1', '--duration', String(warmupS + seconds), ...(n > BIG ? ['--max-listeners', '131072'] : [])];
  const rss: number[] = [];
  const anon: number[] = [];
  // CPU time over the profile's window: from about the first snapshot (a second after launch) plus the warm-up
  const cpu: Array<{ t: number; s: number }> = [];
  const watch = async (pid: number, alive: () => boolean) => {
    const t0 = performance.now();
    while (alive()) {
      try {
        // NaN once it has exited and not yet been reaped (no memory lines then)
        const [r, a] = [statusField(pid, 'VmRSS'), statusField(pid, 'RssAnon')];
        if (!Number.isFinite(r)) break;
        rss.push(r);
        anon.push(a);
        const t = (performance.now() - t0) / 1000;
        if (t >= 1 + warmupS) cpu.push({ t, s: cpuSeconds(pid) });
      } catch {
        break;
      }
      await sleep(200);
    }
  };
  try {
    if (mode === 'json') {
      const p = track(process.execPath, [...flags, CLI, '--json', ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...NODE_ENV } });
      await watch(p.pid!, () => p.exitCode === null && p.signalCode === null);
      while (p.exitCode === null && p.signalCode === null) await sleep(100);
    } else {
      const session = `acceptq-profile-${process.pid}`;
      const env = Object.entries(NODE_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
      tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', `exec env ${env} ${process.execPath} ${flags.join(' ')} ${CLI} ${args.join(' ')}`);
      const pid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
      const has = () => {
        try {
          tmux('has-session', '-t', session);
          return true;
        } catch {
          return false;
        }
      };
      await watch(pid, has);
      for (let i = 0; i < 600 && has(); i++) await sleep(200);
    }
  } finally {
    for (const l of labs) await stopChild(l.proc);
  }
  const find = (ext: string) => fs.readdirSync(dir).find((f) => f.endsWith(ext));
  const cpuFile = find('.cpuprofile');
  const heapFile = find('.heapprofile');
  if (!cpuFile || (heap && !heapFile)) throw new Error(`no profile written in ${dir}`);
  const prof = cpuByLayer(JSON.parse(fs.readFileSync(path.join(dir, cpuFile), 'utf8')), warmupS);
  const live = heapFile ? heapByLayer(JSON.parse(fs.readFileSync(path.join(dir, heapFile), 'utf8')).head) : null;
  fs.rmSync(dir, { recursive: true, force: true });
  const mb = (kb: number) => round(kb / 1024, 1);
  const [a, b] = [cpu[0], cpu[cpu.length - 1]];
  const msPerS = a && b && b.t > a.t ? (1000 * (b.s - a.s)) / (b.t - a.t) : NaN;
  return {
    listeners: n,
    mode,
    seconds: prof.seconds,
    cpuPercent: round(msPerS / 10, 2),
    share: prof.share,
    cpuMsPerS: Object.fromEntries(Object.entries(prof.share).map(([k, v]) => [k, round(v * msPerS, 2)])),
    ...(live ? { liveHeapMB: live } : {}),
    rssPeakMB: mb(Math.max(...rss)),
    anonPeakMB: mb(Math.max(...anon)),
  };
}

async function main(): Promise<void> {
  installSignalCleanup('profile');
  const { values } = parseArgs({
    options: {
      counts: { type: 'string', default: '1000,10000,100000' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      heap: { type: 'boolean', default: false },
      mode: { type: 'string', default: 'json' },
    },
  });
  const mode = values.mode === 'dashboard' ? 'dashboard' : 'json';
  const out = [];
  for (const n of values.counts!.split(',').map(Number)) out.push(await profileOne(n, Math.max(5, Number(values.seconds)), Math.max(0, Number(values.warmup)), mode, values.heap!));
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (require.main === module) runMain('profile', main);
