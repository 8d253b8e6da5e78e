// The kernel matrix in every test run: Debian 11's 5.10 and Debian 12's 6.1,
// booted under qemu with this machine's root (scripts/kernels), each running
// the matrix's cases (harness/kernel-cases.ts) against its own counters. The
// whole matrix (6.12 and this kernel too, every set, repeated rounds) is
// scripts/kernels; this is the part CI can afford under emulation:
// - auto (which must pick fentry there): every case whose checks are counts;
// - kprobe and tracepoint, forced: start and quit in each output, and the
//   SYN path, both final-ACK paths, the full SYN queue and nginx under ab.
// A kernel that cannot be fetched or booted fails here, with its reason.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../harness/paths';

interface Row {
  kernel: string;
  set: string;
  case: string;
  status: string;
  detail: string;
  extra?: Record<string, unknown>;
}

function matrix(args: string[]): Promise<{ code: number | null; rows: Row[]; table: string; stderr: string }> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'acq-kernels-')), 'kernels.json');
  return new Promise((resolve) => {
    const p = spawn(path.join(ROOT, 'scripts', 'kernels'), [...args, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let table = '';
    let stderr = '';
    p.stdout.on('data', (d) => (table += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => {
      const rows: Row[] = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')).results : [];
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
      resolve({ code, rows, table, stderr });
    });
  });
}

// Not here: cookie-flood (under emulation its load sometimes does not overflow at all) and why (its wait
// bounds are timing, which emulation stretches: a 243 ms wait against the lab's 223 ms was seen); both
// run in scripts/kernels, and the waits are checked with tight bounds on this kernel in wait.test.ts.
const ALL_CASES = 'syn,ack,ack-cookie,v6,reuseport,nobind,pace,reuseport-mixed,nocookie-flood,nginx-ab';
const SOME_CASES = 'syn,ack,ack-cookie,nocookie-flood,nginx-ab';

for (const kernel of ['5.10', '6.1']) {
  test.serial(`Debian's ${kernel} under qemu: every probe set it allows starts, quits and counts exactly`, async (t) => {
    t.timeout(40 * 60000);
    const auto = await matrix(['--kernels', kernel, '--sets', 'auto', '--cases', ALL_CASES]);
    const forced = await matrix(['--kernels', kernel, '--sets', 'kprobe,tracepoint', '--cases', SOME_CASES]);
    for (const m of [auto, forced]) t.log(m.table);
    const rows = [...auto.rows, ...forced.rows];
    t.true(rows.length > 0, `the matrix ran: ${auto.stderr.slice(-500)}`);
    t.is(rows.find((r) => r.set === 'auto' && r.case === 'once')?.extra?.chose, 'fentry', 'auto picks fentry');
    for (const set of ['auto', 'kprobe', 'tracepoint']) {
      for (const c of ['once', 'json', 'dashboard']) {
        const r = rows.find((x) => x.set === set && x.case === c);
        t.is(r?.status, 'ok', `${set} ${c}: ${r?.detail ?? 'no result'}`);
      }
    }
    const expected = [...ALL_CASES.split(',').map((c) => `auto ${c}`), ...['kprobe', 'tracepoint'].flatMap((s) => SOME_CASES.split(',').map((c) => `${s} ${c}`))];
    for (const want of expected) {
      const r = rows.find((x) => `${x.set} ${x.case}` === want);
      t.is(r?.status, 'exact', `${want}: ${r?.detail ?? 'no result'}`);
    }
    t.is(auto.code, 0);
    t.is(forced.code, 0);
  });
}
