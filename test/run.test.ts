// acceptq run: wraps a real command, summarises what overflowed during it.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { CLI, LAB } from '../harness/paths';
import { awaitGone, bpfFdsOf, heldBy } from '../harness/links';
import { RunSummary } from '../src/model/summary';
import { listenerRow, snapshotOf } from './support/rows';
import type { ListenerRow } from '../src/model/types';

const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'utf8', timeout: 60000 });

test.serial('a listener in another namespace that closed during the run is summarised, counts as the kernel has them', (t) => {
  // the lab runs in a namespace of its own and prints that namespace's counter before it goes
  const r = run(['--json', '--', 'unshare', '-n', 'sh', '-c', `${LAB} syn --hold 0 >/dev/null && nstat -az TcpExtListenOverflows | tail -1`]);
  t.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const kernel = Number(/TcpExtListenOverflows\s+(\d+)/.exec(r.stdout)![1]);
  const summary = JSON.parse(lines[lines.length - 1]);
  t.is(summary.status, 0);
  const row = summary.listeners.find((l: any) => l.port === 9000 && l.address === '127.0.0.1');
  t.truthy(row, r.stdout);
  t.log(`acceptq run: ${row.overflows} overflows, kernel ${kernel}`);
  t.true(kernel > 0);
  t.is(row.overflows, kernel);
  t.is(row.overflowsSyn, kernel, 'every one on the SYN path, where the lab staged them');
  t.is(row.overflowsAck, 0);
  t.true(row.closed, 'the listener closed during the run');
  t.is(row.comm, 'acceptq-lab');
  t.is(row.peakBacklog, 3);
  t.is(row.capacity, 3);
  t.true(row.worstRate > 0);
  t.truthy(row.firstOverflowMs && row.lastOverflowMs && row.lastOverflowMs >= row.firstOverflowMs);
});

test.serial("exit status is the command's; --fail-on-overflow makes overflows fail the run", (t) => {
  t.is(run(['--', 'sh', '-c', 'exit 7']).status, 7);
  const failed = run(['--fail-on-overflow', '--', 'unshare', '-n', LAB, 'syn', '--hold', '0']);
  t.is(failed.status, 3, failed.stderr);
  t.regex(failed.stdout, /127\.0\.0\.1:9000 +\d+ +\d+\/acceptq-lab/);
  t.is(run(['--', 'nonexistent-command-xyz']).status, 127);
});

test.serial('the command runs with the probes attached, holds none of them, and they go with acceptq', async (t) => {
  const p = spawn(process.execPath, [CLI, 'run', '--json', '--', 'sh', '-c', 'echo "command $$"; exec sleep 3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => p.kill('SIGKILL'));
  const exited = new Promise<number | null>((r) => p.once('exit', r));
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  const rl = readline.createInterface({ input: p.stdout });
  const command = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the command did not start: ${stderr}`)), 30000);
    rl.on('line', (l) => {
      const m = /^command (\d+)$/.exec(l);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  // while the command runs: acceptq holds its links, the command none of its BPF objects
  const held = heldBy(p.pid!);
  t.true(held.links.length >= 4 && held.links.every((l) => l.prog.startsWith('acq_')), `acceptq holds its links (${held.links.map((l) => l.prog).join(', ')})`);
  t.deepEqual(bpfFdsOf(command), [], 'the command inherited no BPF fd (it would keep the probes attached after acceptq)');
  t.is(await exited, 0, stderr);
  const left = await awaitGone({ links: held.links.map((l) => l.id), progs: held.progs.map((q) => q.id) });
  t.deepEqual(left, { links: [], progs: [] }, 'gone once acceptq and the command are done');
});

test('run without a command: one line saying so, exit 2; bare, with the usage', (t) => {
  const r = run(['--json']);
  t.is(r.status, 2);
  t.is(r.stderr, 'acceptq: acceptq run needs a command after --\n');
  const bare = run([]);
  t.is(bare.status, 2);
  t.regex(bare.stderr, /needs a command after --\nusage: acceptq run/);
});

test('run -- a command that is not there, or not runnable: one line as a shell says it, 127 or 126, no summary', (t) => {
  const missing = run(['--', 'acceptq-no-such-command', 'x']);
  t.is(missing.status, 127, missing.stderr);
  t.is(missing.stderr, 'acceptq run: acceptq-no-such-command: command not found\n');
  t.is(missing.stdout, '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-run-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const plain = path.join(dir, 'not-executable');
  fs.writeFileSync(plain, 'true\n', { mode: 0o644 });
  const refused = run(['--', plain]);
  t.is(refused.status, 126, refused.stderr);
  t.is(refused.stderr, `acceptq run: ${plain}: permission denied\n`);
  t.is(refused.stdout, '');
});

test('run summary on recorded data: only what happened during the run', (t) => {
  const row = (over: Partial<ListenerRow>) => listenerRow({
    id: 'a', address: '10.0.0.1', pid: 5, comm: 'web', maxBacklog: 10, overflows: 100, overflowsSyn: 100, firstOverflowMs: 1, lastOverflowMs: 2, ...over,
  });
  const snap = (t0: number, rows: ListenerRow[]) => snapshotOf(t0, rows, { attributedRate: 0 });
  const s = new RunSummary();
  s.add(snap(1000, [row({}), row({ id: 'b', port: 81, overflows: 0, overflowsSyn: 0 })]));
  t.deepEqual(s.pressured(), [], 'overflows before the run do not count');
  s.add(snap(2000, [row({ overflows: 130, overflowsSyn: 120, overflowsAck: 10, overflowRate: 30, backlog: 11, peakBacklog: 11, lastOverflowMs: 1900 }), row({ id: 'b', port: 81, overflows: 0, overflowsSyn: 0, peakBacklog: 4 })]));
  const [a] = s.pressured();
  t.is(s.pressured().length, 1);
  t.is(a.overflows, 30);
  t.is(a.overflowsSyn, 20);
  t.is(a.overflowsAck, 10);
  t.is(a.peakBacklog, 11);
  t.is(a.capacity, 11);
  t.is(a.worstRate, 30);
  t.is(a.worstAtMs, 2000);
  t.true(s.anyOverflow());
});
