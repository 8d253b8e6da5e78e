// The command line as a user meets it: bad flags, no privileges, no BTF,
// signals, and the --once table.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { AcceptqJson, type JsonRecord } from '../harness/acceptq';
import { acqLinkIds, awaitAttached, awaitGone, bpfFdsOf, heldBy, linksOf } from '../harness/links';
import { startLab } from '../harness/lab';
import { CLI } from '../harness/paths';
import { asNobody } from '../harness/unprivileged';
import { SINCE_START } from '../src/model/view';

const run = (args: string[]) => {
  const argv = [process.execPath, CLI, ...args];
  return spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30000 });
};

for (const bad of [['--bogus'], ['--interval', '0'], ['--interval', 'x'], ['--port', '70000'], ['--probe', 'magic'], ['--once', '--json'], ['stray'], ['--max-listeners', '10'], ['--max-listeners', '2000000']]) {
  test(`bad arguments ${bad.join(' ')}: one line on stderr, no usage, exit 2`, (t) => {
    const r = run(bad);
    t.is(r.status, 2);
    t.is(r.stdout, '');
    t.regex(r.stderr, /^acceptq: [^\n]+\n$/);
  });
}

test('--json --duration: one record per whole interval, none for the start or twice for the end', (t) => {
  // 1.2 s of 0.5 s intervals: three records, the last ending at 1.5 s (the interval that reaches 1.2 s)
  const r = run(['--json', '--interval', '0.5', '--duration', '1.2']);
  t.is(r.status, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(recs.map((x) => x.interval), [0.5, 0.5, 0.5], r.stdout);
  const times = recs.map((x) => Date.parse(x.time));
  for (let i = 1; i < times.length; i++) {
    const gap = times[i] - times[i - 1];
    t.true(gap >= 450 && gap <= 650, `records ${i - 1} and ${i} are ${gap} ms apart, not one interval`);
  }
  // a duration that is a whole number of intervals: exactly that many
  const whole = run(['--json', '--interval', '0.25', '--duration', '0.5']);
  t.is(whole.status, 0, whole.stderr);
  t.is(whole.stdout.trim().split('\n').length, 2, whole.stdout);
});

test('--help prints usage to stdout, exit 0', (t) => {
  const r = run(['--help']);
  t.is(r.status, 0);
  t.regex(r.stdout, /^usage: acceptq/);
});

test('not root: one line saying so and how, exit 1', (t) => {
  const argv = asNobody([process.execPath, CLI, '--json']);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30000 });
  t.is(r.status, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^acceptq: needs root .*sudo\n$/);
});

test('no BTF: a clear message, exit 1', (t) => {
  // hide /sys/kernel/btf in a private mount namespace
  const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs none /sys/kernel/btf && exec "${process.execPath}" "${CLI}" --json`], {
    encoding: 'utf8',
    timeout: 30000,
  });
  t.is(r.status, 1);
  t.regex(r.stderr, /^acceptq: this kernel has no BTF \(\/sys\/kernel\/btf\/vmlinux is missing\)/);
});

test('--debug FILE that cannot be opened: a clear message, exit 1, nothing loaded', (t) => {
  const file = '/nonexistent-acceptq-dir/libbpf.log';
  const r = run(['--json', '--duration', '1', '--debug', file]);
  t.is(r.status, 1, r.stderr);
  t.is(r.stdout, '');
  t.regex(r.stderr, new RegExp(`^acceptq: cannot open the log file ${file}: No such file or directory\n$`));
});

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  test.serial(`${sig}: exit 0 with every BPF link detached`, async (t) => {
    const aq = AcceptqJson.start();
    t.teardown(() => aq.stop('SIGKILL'));
    await aq.waitFor(() => true, 20000);
    const pid = aq.proc.pid!;
    // while it runs: its links are attached, on its own acceptq programs
    const held = heldBy(pid);
    t.true(held.links.length >= 4, `links attached while running (${held.links.length})`);
    t.true(held.links.every((l) => l.prog.startsWith('acq_')), held.links.map((l) => l.prog).join(', '));
    const attached = new Set(acqLinkIds());
    t.deepEqual(held.links.filter((l) => !attached.has(l.id)), [], 'the kernel lists every link it holds');
    t.is(await aq.stop(sig), 0);
    t.throws(() => bpfFdsOf(pid), { message: /is gone/ }, 'the process is gone');
    const left = await awaitGone({ links: held.links.map((l) => l.id), progs: held.progs.map((p) => p.id) });
    t.deepEqual(left, { links: [], progs: [] }, 'the links and programs it held are gone');
  });
}

test.serial('SIGKILL: the kernel detaches the links with the process', async (t) => {
  const aq = AcceptqJson.start();
  t.teardown(() => aq.stop('SIGKILL'));
  await aq.waitFor(() => true, 20000);
  const held = linksOf(aq.proc.pid!);
  t.true(held.length >= 4, `links attached while running (${held.length})`);
  const attached = new Set(acqLinkIds());
  t.true(held.every((id) => attached.has(id)), 'the kernel lists every link it holds');
  t.is(await aq.stop('SIGKILL'), null);
  // link release is asynchronous in the kernel: awaitGone waits for it
  t.deepEqual((await awaitGone({ links: held })).links, []);
});

test.serial('--once prints a table with the overflowing listener and its namespace', async (t) => {
  // counts start when acceptq does: attach first, then stage the overflows
  const p = spawn(process.execPath, [CLI, '--once', '--interval', '4', '--port', '9100']);
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => p.on('exit', resolve));
  await awaitAttached(p.pid!);
  const lab = await startLab('ack');
  t.teardown(() => lab.stop());
  const kernel = lab.netstat().TcpExtListenOverflows;
  t.is(await exited, 0);
  const lines = out.split('\n');
  t.regex(lines[0], /^\s*NETNS\s+LISTEN\s+PID\s+COMM/);
  const row = lines.find((l) => l.includes('127.0.0.1:9100'));
  t.truthy(row, out);
  const cells = row!.trim().split(/\s+/);
  t.is(cells[0], String(lab.netns));
  t.is(cells[2], String(lab.pid));
  t.is(cells[3], 'acceptq-lab');
  t.is(cells[5], '9/8', 'queue 9 of backlog 8: the kernel admits backlog + 1');
  // the lab staged 5 final ACKs into the full queue
  t.is(cells[8], '5', 'overflows: the 5 staged');
  t.is(cells[8], String(kernel), 'overflows = kernel ListenOverflows');
  t.is(cells[9], '0', 'none on the SYN path');
  t.is(cells[10], '5', 'all on the ACK path');
  t.true(out.includes(`netns ${lab.netns}: kernel ${SINCE_START}: ListenOverflows 5`), out);
  t.is(lines.filter((l) => /^\s*\d+\s+\S+:\d+/.test(l)).length, 1, '--port keeps only that listener');
});

test.serial('--max-listeners: a registry that small tracks no more, and says so', async (t) => {
  // 200 idle listeners in a namespace of the test's own, acceptq's registry sized for 64 sockets
  // the lab's listeners: 127.0.0.1, ports 20000 to 20199, listen(16), owned by the lab
  const staged = (l: Record<string, any>, pid: number) =>
    l.address === '127.0.0.1' && l.port >= 20000 && l.port < 20200 && l.sockets === 1 && l.maxBacklog === 16 && l.backlog === 0 &&
    l.pid === pid && l.comm === 'acceptq-lab' && l.overflows === 0;
  const lab = await startLab('many 200', 60);
  const aq = AcceptqJson.start(['--max-listeners', '64']);
  try {
    // full: every one of its 64 slots holds a listening socket (the machine's own and the lab's), and it says so
    const sockets = (x: JsonRecord) => x.listeners.reduce((n, l) => n + (l.sockets ?? 0), 0);
    // (owners of sockets older than acceptq are found a tick after the sockets themselves)
    const mineIn = (x: JsonRecord) => x.listeners.filter((l) => l.netns === lab.netns && !l.closed);
    const r = await aq.waitFor((x) => x.mapFull > 0 && sockets(x) === 64 && mineIn(x).every((l) => l.pid === lab.pid), 20000);
    const mine = mineIn(r);
    t.log(`registry of 64: ${mine.length} of the lab's 200 listeners tracked, ${64 - mine.length} sockets elsewhere`);
    t.true(mine.length > 0, "some of the lab's listeners are tracked");
    t.deepEqual(mine.filter((l) => !staged(l, lab.pid)), [], 'each as the lab made it');
    t.is(new Set(mine.map((l) => l.port)).size, mine.length, 'each once');
  } finally {
    aq.proc.kill('SIGINT');
    await aq.exited;
    await lab.stop();
  }
  // the default holds them all
  const lab2 = await startLab('many 200', 60);
  const aq2 = AcceptqJson.start([]);
  try {
    const owned = (x: JsonRecord) => x.listeners.filter((l) => l.netns === lab2.netns && l.pid === lab2.pid).length === 200;
    const r = await aq2.waitFor(owned, 20000);
    t.is(r.mapFull, 0);
    const mine = r.listeners.filter((l) => l.netns === lab2.netns);
    t.deepEqual(mine.filter((l) => !staged(l, lab2.pid)), [], 'each as the lab made it');
    t.deepEqual(mine.map((l) => l.port).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => 20000 + i), 'every port the lab listened on');
  } finally {
    aq2.proc.kill('SIGINT');
    await aq2.exited;
    await lab2.stop();
  }
});
