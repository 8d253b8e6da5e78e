// Probe sets forced by --probe. The tracepoint set must be exact on its own;
// fentry and kprobe either work (and are exact) or are refused with a clear
// message naming what the kernel refused, and nothing is left attached.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { startLab } from './support/lab';
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

test.serial('a refused optional program degrades with a notice, and the gap shows as unattributed', async (t) => {
  // rehearse the kernel refusing the ACK-path program
  const p = spawn(process.execPath, [CLI, '--json', '--interval', '0.5', '--probe', 'tracepoint'], {
    env: { ...process.env, ACCEPTQ_REFUSE: 'acq_tp_kfree_skb' },
  });
  t.teardown(() => p.kill('SIGTERM'));
  const lines: any[] = [];
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) lines.push(JSON.parse(l));
  });
  const until = async (pred: () => boolean) => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
  };
  await until(() => lines.length > 0);
  t.regex(lines[0].notice ?? '', /final-ACK-path overflows are not counted \(acq_tp_kfree_skb refused/);
  const lab = await startLab('ack');
  t.teardown(() => lab.stop());
  const after = Date.now();
  await until(() => lines.some((r) => Date.parse(r.time) > after && r.listeners.some((l: any) => l.netns === lab.netns)));
  const rec = lines.find((r) => Date.parse(r.time) > after && r.listeners.some((l: any) => l.netns === lab.netns));
  t.truthy(rec);
  const ns = rec.namespaces.find((n: any) => n.netns === lab.netns);
  t.is(ns.listenOverflows, 5, 'the kernel counted 5');
  t.is(ns.unattributed, 5, 'and the gap is visible, not hidden');
});
