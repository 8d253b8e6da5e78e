// bpf/acceptq.bt (through scripts/acceptq-bt) on the real kernel, against
// the kernel's counter, for the SYN path and both final-ACK paths.
import test from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startLab } from '../harness/lab';
import { ROOT } from '../harness/paths';

test.serial('the bpftrace script counts exactly what the kernel counts', async (t) => {
  t.timeout(120000);
  const bt = spawn(path.join(ROOT, 'scripts', 'acceptq-bt'), [], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.teardown(() => {
    try {
      process.kill(-bt.pid!, 'SIGINT');
    } catch {
      // gone
    }
  });
  let out = '';
  bt.stdout.on('data', (d) => (out += d));
  bt.stderr.on('data', (d) => (out += d));
  const until = async (pred: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    return pred();
  };
  t.true(await until(() => /\d\d:\d\d:\d\d/.test(out), 60000), `bpftrace started: ${out}`);
  for (const [scenario, port, p] of [['syn', 9000, 'syn'], ['ack', 9100, 'ack'], ['ack-cookie', 9150, 'ack']] as const) {
    const lab = await startLab(scenario, 30);
    const kernel = lab.netstat().TcpExtListenOverflows;
    const re = new RegExp(`@overflows\\[${lab.netns}, 127\\.0\\.0\\.1, ${port}, ${p}\\]: (\\d+)`, 'g');
    const seen = () => [...out.matchAll(re)].map((m) => Number(m[1])).pop();
    await until(() => seen() === kernel, 10000);
    t.log(`${scenario}: bpftrace ${seen()}, kernel ${kernel}`);
    t.is(seen(), kernel, `${scenario}: bpftrace count = kernel ListenOverflows`);
    await lab.stop();
  }
});
