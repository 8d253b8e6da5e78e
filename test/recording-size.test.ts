// Recordings of any size: one larger than V8's longest string (512 MiB)
// replays, a line at a time, in bounded memory; the writer never makes a
// part larger than replay reads, and each part replays alone. No kernel.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../harness/paths';
import { Collector } from '../src/model/collector';
import type { RawListener, RawSnapshot } from '../src/model/raw';
import type { Snapshot } from '../src/model/types';
import { MAX_BYTES, readRecording } from '../src/record/recording';
import { RecordingWriter } from '../src/record/writer';
import { RAW_STATS, rawListener } from './support/raw';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-size-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

const listener = (port: number, overflows: number): RawListener => rawListener({ port, comm: 'srv', overflowsSyn: overflows });
const stats = RAW_STATS;

/** Model snapshots of `rows` listeners, the i-th (from 1) with port 10000's overflows at i. */
function snapshots(n: number, rows: number): { collector: Collector; next: () => Snapshot } {
  let i = 0;
  let t = 1_700_000_000_000;
  const frame = (): RawSnapshot => ({ listeners: Array.from({ length: rows }, (_, r) => listener(10000 + r, r ? 0 : i)), namespaces: [], stats });
  const collector = new Collector({ probe: 'tracepoint', snapshot: () => (i++, frame()), drain: () => [] }, 1, () => (t += 1000));
  return { collector, next: () => collector.tick() };
}

/** Peak resident memory of a child, from /proc while it runs; resolves with its status, stdout and stderr. */
function runMeasured(args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string; peakKb: number }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakKb = 0;
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // exited
      }
    }, 50);
    const kill = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (status) => {
      clearInterval(poll);
      clearTimeout(kill);
      resolve({ status, stdout, stderr, peakKb });
    });
  });
}

test('a recording over 512 MiB (one string cannot hold it) replays with --once, in bounded memory', async (t) => {
  t.timeout(600000);
  const target = 600 * 2 ** 20;
  const free = fs.statfsSync(dir).bavail * fs.statfsSync(dir).bsize;
  if (free < 2 * target) return t.fail(`needs ${2 * target} bytes free in ${dir}, has ${free}`);
  t.true(target > 2 ** 29 && target < MAX_BYTES);
  const file = path.join(dir, 'big.ndjson');
  const { collector, next } = snapshots(0, 50);
  const w = new RecordingWriter(file, collector.meta);
  w.write(next());
  w.close();
  // the same valid snapshot line repeated (a bounded loop, blocks of 256 lines), then a last, different one
  const [header, line] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const block = Buffer.from(`${line}\n`.repeat(256));
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, `${header}\n`);
  const blocks = Math.ceil(target / block.length);
  for (let i = 0; i < blocks; i++) fs.writeSync(fd, block);
  for (let i = 0; i < 776; i++) next();
  fs.writeSync(fd, JSON.stringify(next()) + '\n'); // the 778th snapshot: port 10000 at 778 overflows
  fs.closeSync(fd);
  const size = fs.statSync(file).size;
  t.true(size > 2 ** 29, `${size} bytes`);

  const started = Date.now();
  // a V8 heap of 64 MiB: a replay that kept the file or its snapshots in memory dies
  const r = await runMeasured(['--max-old-space-size=64', CLI, '--replay', file, '--once', '--port', '10000'], 540000);
  t.log(`${(size / 2 ** 20).toFixed(0)} MiB, ${blocks * 256 + 1} snapshots replayed in ${((Date.now() - started) / 1000).toFixed(1)} s, peak RSS ${(r.peakKb / 1024).toFixed(0)} MiB`);
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '');
  t.regex(r.stdout, /127\.0\.0\.1:10000 .* 778 /, 'the last snapshot, read to the end');
  t.true(r.peakKb > 0 && r.peakKb < 256 * 1024, `peak RSS ${r.peakKb} kB`);
  fs.rmSync(file);
});

test('the writer goes on in FILE.1, FILE.2 ... before a part passes its limit; each part replays alone, in order', (t) => {
  const file = path.join(dir, 'parts.ndjson');
  const { collector, next } = snapshots(0, 3);
  const limit = 16 * 1024;
  const w = new RecordingWriter(file, collector.meta, limit);
  const written: number[] = [];
  for (let i = 0; i < 40; i++) {
    const s = next();
    written.push(s.timeMs);
    w.write(s);
  }
  w.close();
  t.true(w.files.length >= 3, `${w.files.length} parts`);
  t.deepEqual(w.files, w.files.map((_, i) => (i ? `${file}.${i}` : file)));
  const replayed: number[] = [];
  for (const f of w.files) {
    t.true(fs.statSync(f).size <= limit, `${f}: ${fs.statSync(f).size} bytes`);
    const r = readRecording(f);
    for (let s = r.next(); s; s = r.next()) replayed.push(s.timeMs);
  }
  t.deepEqual(replayed, written, 'every snapshot once, in order, none split');
  t.false(fs.existsSync(`${file}.${w.files.length}`));

  // a snapshot larger than the limit goes alone into a part of its own
  const big = path.join(dir, 'big-snapshot.ndjson');
  const b = snapshots(0, 200);
  const w2 = new RecordingWriter(big, b.collector.meta, 4096);
  w2.write(b.next());
  w2.write(b.next());
  w2.close();
  t.deepEqual(w2.files, [big, `${big}.1`]);
  for (const f of w2.files) {
    const r = readRecording(f);
    t.truthy(r.next());
    t.is(r.next(), null);
  }
});
