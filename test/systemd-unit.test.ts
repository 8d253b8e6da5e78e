// deploy/acceptq-export.service: systemd accepts it, its capabilities are the
// documented ones, and acceptq export under the same restrictions counts
// exactly, and refuses to start without any one of those capabilities.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseExportOptions } from '../app/cmd/export';
import { startLab } from '../harness/lab';
import { ROOT } from '../harness/paths';
import { EMULATED, Exporter, freePort, markdownSection, sample, tableCaps, UNIT, unitCaps, unitDirectives } from './support/prometheus';

const INSTALLED = '/usr/local/bin/acceptq';
const unitText = fs.readFileSync(UNIT, 'utf8');
const unit = unitDirectives(unitText);
const caps = unitCaps(unit, 'CapabilityBoundingSet');
/** Capability numbers as the kernel's own header defines them (not acceptq's copy of them). */
const CAP_NUMBERS = new Map(
  [...fs.readFileSync('/usr/include/linux/capability.h', 'utf8').matchAll(/^#define (CAP_[A-Z_]+)\s+(\d+)$/gm)].map((m) => [m[1], BigInt(m[2])]),
);
const bits = (names: string[]) => names.reduce((m, c) => {
  const n = CAP_NUMBERS.get(c);
  if (n === undefined) throw new Error(`${c} is no capability of linux/capability.h`);
  return m | (1n << n);
}, 0n);
/** What RELIABILITY.md says acceptq keeps once its probes are attached. */
const KEPT = tableCaps(markdownSection('RELIABILITY.md', 'Least privilege'));

/**
 * systemd-analyze verify on a copy of the unit whose ExecStart names this
 * tree's acceptq (no /usr/local/bin/acceptq here). systemd only warns about
 * an unknown directive or a bad value and exits 0: any output is a failure.
 */
function verify(text: string): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-unit-'));
  try {
    const file = path.join(dir, 'acceptq-export.service');
    fs.writeFileSync(file, text.split(INSTALLED).join(path.join(ROOT, 'acceptq')));
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 60000 });
    const output = (r.stdout ?? '') + (r.stderr ?? '') + (r.error ? String(r.error) : '');
    return { ok: r.status === 0 && output.trim() === '', output };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('systemd-analyze verify accepts the unit, and refuses broken copies of it', (t) => {
  const exec = unit.get('ExecStart') ?? [];
  t.is(exec.length, 1);
  const [bin, cmd, ...args] = exec[0].split(/\s+/);
  t.is(bin, INSTALLED);
  t.is(cmd, 'export');
  t.deepEqual(parseExportOptions(args), { host: '127.0.0.1', port: 9877, probe: 'auto', keepRoot: false, filter: { port: undefined, pid: undefined, netns: undefined } });
  const good = verify(unitText);
  t.true(good.ok, good.output);
  const broken: Record<string, string> = {
    'a misspelled directive': unitText.replace('ProtectSystem=strict', 'ProtectSystm=strict'),
    'a bad value': unitText.replace('ProtectSystem=strict', 'ProtectSystem=everything'),
    'a bad restart policy': unitText.replace('Restart=on-failure', 'Restart=sometimes'),
    'a misspelled section': unitText.replace('[Service]', '[Servic]'),
    'a missing program': unitText.split(INSTALLED).join('/nonexistent/acceptq'),
  };
  for (const [what, text] of Object.entries(broken)) {
    t.not(text, unitText, what);
    const r = verify(text);
    t.false(r.ok, `${what} passed`);
  }
});

test('the capabilities are the documented ones: kept after the drop, and needed only to start', (t) => {
  const kept = KEPT;
  const start = tableCaps(markdownSection('README.md', 'Prometheus: `acceptq export`'));
  t.true(kept.length > 0, 'RELIABILITY.md lists what is kept (the process below must keep exactly that)');
  t.true(start.length > 0, 'README lists what starting needs');
  t.deepEqual(start.filter((c) => kept.includes(c)), []);
  t.deepEqual([...caps].sort(), [...kept, ...start].sort(), 'CapabilityBoundingSet');
  t.deepEqual(unitCaps(unit, 'AmbientCapabilities').sort(), [...caps].sort(), 'AmbientCapabilities');
  t.is(new Set(caps).size, caps.length, 'no capability twice');
  t.deepEqual(unit.get('NoNewPrivileges'), ['yes']);
  // these take away what acceptq needs to start: /proc/kallsyms, CAP_SYSLOG, setns()
  for (const k of ['ProtectKernelTunables', 'ProtectKernelLogs', 'RestrictNamespaces', 'User']) t.false(unit.has(k), k);
});

test.serial('under the unit\'s restrictions it drops to uid 65534 and counts exactly', async (t) => {
  for (const [k, v] of Object.entries(EMULATED)) t.deepEqual(unit.get(k), [v], `the unit's ${k} is the one emulated`);
  const ex = Exporter.start(await freePort(), caps);
  t.teardown(() => ex.stop());
  await ex.serving();
  const pid = ex.proc.pid!; // unshare, sh and setpriv exec one another: this is node
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  t.regex(st, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
  t.regex(st, /^NoNewPrivs:\s+1$/m);
  // what the kernel says the running process kept: exactly what RELIABILITY.md lists
  const capSet = (name: string) => BigInt('0x' + new RegExp(`^${name}:\\s+(\\w+)$`, 'm').exec(st)![1]);
  t.is(capSet('CapBnd'), bits(KEPT), 'bounding set: what RELIABILITY.md lists');
  t.is(capSet('CapPrm'), bits(KEPT), 'permitted set: what RELIABILITY.md lists');
  const mounts = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' '));
  const top = (p: string) => mounts.filter((m) => m[4] === p).at(-1);
  t.regex(top('/')![5], /^ro,/, 'ProtectSystem=strict');
  t.regex(top('/sys')![5], /^ro,/, 'ReadOnlyPaths=/sys');
  t.is(top('/tmp')![top('/tmp')!.indexOf('-') + 1], 'tmpfs', 'PrivateTmp=yes');

  const lab = await startLab('syn');
  t.teardown(() => lab.stop());
  const kernel = lab.netstat().TcpExtListenOverflows;
  t.true(kernel > 0);
  const body = await ex.scrape();
  const l = { netns: lab.netns, address: '127.0.0.1', port: 9000, comm: 'acceptq-lab' };
  t.is(sample(body, 'acceptq_listen_overflows_total', l), kernel, 'syn and ack paths');
  t.is(sample(body, 'acceptq_namespace_listen_overflows_total', { netns: lab.netns }), kernel);
  t.is(sample(body, 'acceptq_namespace_unattributed_overflows', { netns: lab.netns }), 0);
  t.log(`restricted export: ${kernel} overflows, as the kernel counted`);
});

// why each capability is needed shows in the message
const REASON: Record<string, RegExp> = {
  CAP_SYS_ADMIN: /needs root \(CAP_SYS_ADMIN/,
  CAP_SYSLOG: /kallsyms/,
};

test.serial('without any one of the unit\'s capabilities it exits 1 with a one-line message', async (t) => {
  for (const missing of caps) {
    const ex = Exporter.start(await freePort(), caps.filter((c) => c !== missing));
    t.teardown(() => ex.stop());
    const code = await ex.exitWithin(60000);
    if (code === null) {
      t.fail(`without ${missing} it still runs (${ex.stderr.trim()}): the unit need not grant it`);
      await ex.stop();
      continue;
    }
    t.is(code, 1, `without ${missing}: ${ex.stderr}`);
    t.regex(ex.stderr, /^acceptq: [^\n]+\n$/, `without ${missing}: one line`);
    t.regex(ex.stderr, REASON[missing] ?? /cannot drop privileges after attaching/, `without ${missing}`);
    t.log(`without ${missing}: ${ex.stderr.trim().slice(0, 110)}`);
  }
});
