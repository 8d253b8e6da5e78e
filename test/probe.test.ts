// Probe sets forced by --probe. The tracepoint set must be exact on its own;
// fentry and kprobe either work (and are exact) or are refused with a clear
// message naming what the kernel refused, and nothing is left attached. The
// BPF objects are checked while acceptq runs (its fds), and gone once it is
// done: a load attempt the kernel refused, or a program refused on request,
// must not linger beside the set that runs.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLab } from '../harness/lab';
import { AcceptqJson } from '../harness/acceptq';
import { checkScenario } from './support/scenario';
import { CLI } from '../harness/paths';
import { awaitGone, bpfFdsOf, duplicates, heldBy, kernelBpfIds, type Held } from '../harness/links';
import { Helper, HelperError, type ProbeSet } from '../src/native/helper';

type ForcedSet = Exclude<ProbeSet, 'auto'>;
/** The library's naming of each set's own programs (the rest are shared: registry, sampling). */
const PREFIX: Record<ForcedSet, string> = { fentry: 'acq_fexit_', kprobe: 'acq_kprobe_', tracepoint: 'acq_tp_' };
/** The order --probe auto tries them in. */
const AUTO_ORDER: ForcedSet[] = ['fentry', 'kprobe', 'tracepoint'];
/** How a refused forced set is reported: the set and the program the kernel refused, by name. */
const REFUSED_MESSAGE = (set: string) => new RegExp(`^${set}: the kernel refused to (load|attach) acq_\\w+`);

/**
 * What a process running probe set `set` must hold: its programs once each,
 * its maps once each, every link on one of its own acceptq programs and
 * present in the kernel, at least one link on a program of the set, and
 * nothing of `absent` (sets refused before, programs refused on request).
 */
function checkHeld(t: ExecutionContext, held: Held, set: ForcedSet, absent: { sets?: ForcedSet[]; progs?: string[] } = {}): void {
  const progs = held.progs.map((p) => p.name);
  t.log(`${set}: holds ${held.links.length} links (${held.links.map((l) => l.prog).join(', ')}), ${progs.length} programs, ${held.maps.length} maps`);
  t.deepEqual(duplicates(progs), [], 'each program once: no copy left by an earlier attempt');
  t.deepEqual(duplicates(held.maps.map((m) => m.name)), [], 'each map once');
  const own = new Set(held.progs.map((p) => p.id));
  t.deepEqual(held.links.filter((l) => !own.has(l.progId) || !l.prog.startsWith('acq_')), [], 'every link runs one of its own acceptq programs');
  t.true(held.links.some((l) => l.prog.startsWith(PREFIX[set])), `a ${set} program is attached`);
  const kernel = kernelBpfIds();
  t.deepEqual(held.links.filter((l) => !kernel.links.has(l.id)), [], 'the kernel lists every link it holds');
  for (const s of absent.sets ?? []) {
    t.deepEqual(progs.filter((p) => p.startsWith(PREFIX[s])), [], `nothing of the refused ${s} attempt`);
  }
  for (const p of absent.progs ?? []) t.false(progs.includes(p), `${p} (refused) is not loaded`);
}

/** Links and programs a process held must be gone from the kernel once it is done with them. */
async function checkGone(t: ExecutionContext, held: Held, what: string): Promise<void> {
  const left = await awaitGone({ links: held.links.map((l) => l.id), progs: held.progs.map((p) => p.id) });
  t.deepEqual(left, { links: [], progs: [] }, `${what}: its links and programs are gone`);
}

test.serial('forced tracepoint mode counts SYN-path and ACK-path overflows exactly', async (t) => {
  const aq = AcceptqJson.start(['--probe', 'tracepoint']);
  t.teardown(() => aq.stop());
  const first = await aq.waitFor(() => true, 20000);
  t.is(first.probe, 'tracepoint');
  const held = heldBy(aq.proc.pid!);
  checkHeld(t, held, 'tracepoint', { sets: ['fentry', 'kprobe'] });
  await checkScenario(t, aq, 'syn');
  const { rows } = await checkScenario(t, aq, 'ack');
  t.is(rows[0].overflowsAck, 5);
  t.is(await aq.stop(), 0);
  await checkGone(t, held, 'after exit');
});

for (const set of ['fentry', 'kprobe'] as const) {
  test.serial(`--probe ${set}: works exactly, or is refused by name`, async (t) => {
    const probe = spawnSync(process.execPath, [CLI, '--json', '--probe', set, '--duration', '0.5', '--interval', '0.5'], {
      encoding: 'utf8',
      timeout: 30000,
    });
    if (probe.status === 0) {
      t.log(`${set} is allowed by this kernel: checking it against the kernel's counters`);
      const aq = AcceptqJson.start(['--probe', set]);
      t.teardown(() => aq.stop());
      t.is((await aq.waitFor(() => true, 20000)).probe, set);
      const held = heldBy(aq.proc.pid!);
      checkHeld(t, held, set);
      await checkScenario(t, aq, 'syn');
      await checkScenario(t, aq, 'ack-cookie');
      t.is(await aq.stop(), 0);
      await checkGone(t, held, 'after exit');
    } else {
      t.log(`${set} refused: ${probe.stderr.trim()}`);
      t.is(probe.status, 1);
      t.true(probe.stderr.startsWith('acceptq: '), probe.stderr);
      t.regex(probe.stderr.slice('acceptq: '.length), REFUSED_MESSAGE(set));
      t.is(probe.stderr.trim().split('\n').length, 1, 'one line');
      t.is(probe.stdout, '');
    }
    // The same open in this process, which outlives it: a refused set must
    // leave nothing (links, programs, maps, BTF) behind; a working one must
    // take everything with it on close().
    t.deepEqual(bpfFdsOf('self'), [], 'this test process holds no BPF object to begin with');
    let h: Helper | undefined;
    try {
      h = Helper.open({ probe: set, eventsPerSec: 0 });
    } catch (e) {
      t.true(e instanceof HelperError, String(e));
      t.is(probe.status, 1, `refused here, accepted by the CLI: ${(e as Error).message}`);
      t.is(`acceptq: ${(e as Error).message}`, probe.stderr.trim(), 'refused here as in the CLI');
    }
    if (h) {
      t.is(probe.status, 0, 'accepted here, refused by the CLI');
      const held = heldBy('self');
      checkHeld(t, held, set);
      h.close();
      t.deepEqual(bpfFdsOf('self'), [], 'close() leaves no BPF object open');
      await checkGone(t, held, 'after close()');
    } else {
      t.deepEqual(bpfFdsOf('self'), [], `nothing of the refused ${set} attempt is left open`);
    }
  });
}

test.serial('--probe auto: the sets refused on the way leave nothing attached while it runs', async (t) => {
  const aq = AcceptqJson.start(['--probe', 'auto']);
  t.teardown(() => aq.stop());
  const set = (await aq.waitFor(() => true, 20000)).probe as ForcedSet;
  t.true(AUTO_ORDER.includes(set), set);
  const refused = AUTO_ORDER.slice(0, AUTO_ORDER.indexOf(set));
  t.log(`auto chose ${set}${refused.length ? `; refused on the way: ${refused.join(', ')}` : ': no fallback on this kernel'}`);
  const held = heldBy(aq.proc.pid!);
  checkHeld(t, held, set, { sets: refused });
  await checkScenario(t, aq, 'syn');
  t.is(await aq.stop(), 0);
  await checkGone(t, held, 'after exit');
});

test.serial('--probe auto in this process: the fallback leaves one set open, close() detaches it', async (t) => {
  t.deepEqual(bpfFdsOf('self'), [], 'no BPF object to begin with');
  const h = Helper.open({ probe: 'auto', eventsPerSec: 0 });
  const set = h.probe as ForcedSet;
  let held: Held | undefined;
  try {
    held = heldBy('self');
    checkHeld(t, held, set, { sets: AUTO_ORDER.slice(0, AUTO_ORDER.indexOf(set)) });
  } finally {
    h.close();
  }
  t.deepEqual(bpfFdsOf('self'), [], 'close() leaves no BPF object open');
  await checkGone(t, held!, 'after close()');
});

test.serial('a refused optional program degrades with a notice, and the gap shows as unattributed', async (t) => {
  // rehearse the kernel refusing the ACK-path program
  const refusedProg = 'acq_tp_kfree_skb';
  const p = spawn(process.execPath, [CLI, '--json', '--interval', '0.5', '--probe', 'tracepoint'], {
    env: { ...process.env, ACCEPTQ_REFUSE: refusedProg },
  });
  const exited = new Promise<number | null>((r) => p.once('exit', r));
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
  // what is lost (the final-ACK path) and which program was refused
  t.regex(lines[0].notice ?? '', new RegExp(`final-ACK-path overflows are not attributed [^;]*\\(${refusedProg} refused`));
  // while it runs: the other programs attached, the refused one nowhere
  const held = heldBy(p.pid!);
  checkHeld(t, held, 'tracepoint', { sets: ['fentry', 'kprobe'], progs: [refusedProg] });
  const lab = await startLab('ack');
  t.teardown(() => lab.stop());
  const after = Date.now();
  await until(() => lines.some((r) => Date.parse(r.time) > after && r.listeners.some((l: any) => l.netns === lab.netns)));
  const rec = lines.find((r) => Date.parse(r.time) > after && r.listeners.some((l: any) => l.netns === lab.netns));
  t.truthy(rec);
  const ns = rec.namespaces.find((n: any) => n.netns === lab.netns);
  t.is(ns.listenOverflows, 5, 'the kernel counted 5');
  t.is(ns.unattributed, 5, 'and the gap is visible, not hidden');
  p.kill('SIGTERM');
  t.is(await exited, 0);
  await checkGone(t, held, 'after exit');
});

test.serial('a program the verifier really refuses: one line with the program and the verifier\'s own words; --debug keeps the whole log', async (t) => {
  // ACCEPTQ_VERIFIER_TRAP makes acq_set_state (the tracepoint set's) read through a null pointer: loaded for real, refused for real
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'acq-trap-')), 'libbpf.log');
  t.teardown(() => fs.rmSync(path.dirname(log), { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [CLI, '--once', '--probe', 'tracepoint', '--debug', log], {
    encoding: 'utf8',
    timeout: 60000,
    env: { ...process.env, ACCEPTQ_VERIFIER_TRAP: '1' },
  });
  t.is(r.status, 1);
  t.is(r.stdout, '');
  t.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  t.regex(r.stderr, /^acceptq: tracepoint: the kernel refused to load acq_set_state: R\d+ invalid mem access '(scalar|inv)'\n$/);
  const text = fs.readFileSync(log, 'utf8');
  t.regex(text, /prog 'acq_set_state': -- BEGIN PROG LOAD LOG --/, 'the verifier log is in the --debug file');
  t.deepEqual(bpfFdsOf('self'), [], 'nothing left open here');
});
