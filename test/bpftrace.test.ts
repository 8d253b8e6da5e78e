// scripts/acceptq-bt (bpf/acceptq-fexit.bt where bpftrace takes kfunc probes,
// bpf/acceptq.bt on a tracepoint-only kernel like this one) on the real
// kernel, against the kernel's counter, for the SYN path and both final-ACK
// paths. The kernel matrix (scripts/kernels) runs the same in each kernel.
import test from 'ava';
import { runBpftrace } from '../harness/bpftrace';

test.serial('the bpftrace script counts exactly what the kernel counts', async (t) => {
  t.timeout(180000);
  const run = await runBpftrace();
  t.log(`script: ${run.script}`);
  t.is(run.checks.length, 3, run.output.slice(-500));
  for (const c of run.checks) {
    t.log(`${c.scenario}: bpftrace ${c.seen}, kernel ${c.kernel}`);
    t.is(c.seen, c.kernel, `${c.scenario}: bpftrace count = kernel ListenOverflows`);
  }
});
