/**
 * acceptq's bpftrace fallback (scripts/acceptq-bt) against the kernel's own
 * counter: the SYN path and both final-ACK paths, each staged by the lab in
 * a namespace of its own while the script runs. Used by
 * test/bpftrace.test.ts and by the kernel matrix.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startLab } from './lab';
import { ROOT } from './paths';

export interface BtCheck {
  scenario: string;
  /** the script's count for the lab's listener, on its path */
  seen: number | undefined;
  /** the namespace's ListenOverflows */
  kernel: number;
}

export interface BtRun {
  /** which script ran: acceptq-fexit.bt (exact) or acceptq.bt (tracepoints) */
  script: string;
  checks: BtCheck[];
  output: string;
}

const until = async (pred: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  return pred();
};

export async function runBpftrace(env: NodeJS.ProcessEnv = process.env, startMs = 120000): Promise<BtRun> {
  const bt = spawn(path.join(ROOT, 'scripts', 'acceptq-bt'), [], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  let out = '';
  bt.stdout.on('data', (d) => (out += d));
  bt.stderr.on('data', (d) => (out += d));
  const checks: BtCheck[] = [];
  try {
    if (!(await until(() => /\d\d:\d\d:\d\d/.test(out) || bt.exitCode !== null, startMs))) throw new Error(`bpftrace did not start: ${out}`);
    if (bt.exitCode !== null) throw new Error(`acceptq-bt exited with ${bt.exitCode}: ${out.trim()}`);
    for (const [scenario, port, p] of [['syn', 9000, 'syn'], ['ack', 9100, 'ack'], ['ack-cookie', 9150, 'ack']] as const) {
      const lab = await startLab(scenario, 30);
      try {
        const kernel = lab.netstat().TcpExtListenOverflows;
        const re = new RegExp(`@overflows\\[${lab.netns}, 127\\.0\\.0\\.1, ${port}, ${p}\\]: (\\d+)`, 'g');
        const seen = () => [...out.matchAll(re)].map((m) => Number(m[1])).pop();
        await until(() => seen() === kernel, 15000);
        checks.push({ scenario, seen: seen(), kernel });
      } finally {
        await lab.stop();
      }
    }
  } finally {
    try {
      process.kill(-bt.pid!, 'SIGINT');
    } catch {
      // gone
    }
  }
  return { script: /acceptq-fexit\.bt:/.test(out) ? 'acceptq-fexit.bt' : 'acceptq.bt', checks, output: out };
}
