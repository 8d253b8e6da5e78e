// Probe sets forced by --probe. The tracepoint set must be exact on its own;
// fentry and kprobe either work (and are exact) or are refused with a clear
// message naming what the kernel refused, and nothing is left attached.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { AcceptqJson } from './support/acceptq';
import { checkScenario } from './support/scenario';
import { CLI } from './support/paths';
import { acqLinkIds } from './support/links';

test.serial('forced tracepoint mode counts SYN-path and ACK-path overflows exactly', async (t) => {
  const aq = AcceptqJson.start(['--probe', 'tracepoint']);
  t.teardown(() => aq.stop());
  const first = await aq.waitFor(() => true, 20000);
  t.is(first.probe, 'tracepoint');
  await checkScenario(t, aq, 'syn');
  const { rows } = await checkScenario(t, aq, 'ack');
  t.is(rows[0].overflowsAck, 5);
});

for (const set of ['fentry', 'kprobe']) {
  test.serial(`--probe ${set}: works exactly, or is refused by name`, async (t) => {
    const before = acqLinkIds();
    const probe = spawnSync(process.execPath, [CLI, '--json', '--probe', set, '--duration', '0.5', '--interval', '0.5'], {
      encoding: 'utf8',
      timeout: 30000,
    });
    if (probe.status === 0) {
      t.log(`${set} is allowed by this kernel: checking it against the kernel's counters`);
      const aq = AcceptqJson.start(['--probe', set]);
      t.teardown(() => aq.stop());
      t.is((await aq.waitFor(() => true, 20000)).probe, set);
      await checkScenario(t, aq, 'syn');
      await checkScenario(t, aq, 'ack-cookie');
    } else {
      t.log(`${set} refused: ${probe.stderr.trim()}`);
      t.is(probe.status, 1);
      t.regex(probe.stderr, new RegExp(`^acceptq: ${set}: the kernel refused to (load|attach) acq_${set}_\\w+`));
      t.is(probe.stderr.trim().split('\n').length, 1, 'one line');
      t.is(probe.stdout, '');
    }
    t.deepEqual(acqLinkIds().filter((id) => !before.includes(id)), [], 'no acceptq link left behind');
  });
}
