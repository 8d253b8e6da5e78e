// Least privilege: once attached, acceptq runs as an unprivileged user with
// only the capabilities a tick needs, on every thread, and still counts exactly.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { AcceptqJson } from '../harness/acceptq';
import { checkScenario } from './support/scenario';

const KEPT = (1n << 2n) | (1n << 19n) | (1n << 21n) | (1n << 38n) | (1n << 39n);

function status(pid: number, tid: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8').split('\n')) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  return out;
}

test('after attaching: uid 65534 on every thread, only the kept capabilities, still exact', async (t) => {
  const aq = AcceptqJson.start();
  t.teardown(() => aq.stop());
  await aq.waitFor(() => true, 20000);
  const pid = aq.proc.pid!;
  const tids = fs.readdirSync(`/proc/${pid}/task`);
  t.true(tids.length > 1, 'a multi-threaded process');
  for (const tid of tids) {
    const st = status(pid, tid);
    t.is(st.Uid.split(/\s+/)[0], '65534', `thread ${tid}: uid`);
    if (tid === String(pid)) continue;
    t.is(BigInt('0x' + st.CapEff), 0n, `thread ${tid}: no effective capability`);
    t.is(BigInt('0x' + st.CapPrm), 0n, `thread ${tid}: no permitted capability`);
  }
  const main = status(pid, String(pid));
  t.is(BigInt('0x' + main.CapEff), KEPT, 'the main thread keeps what a tick needs');
  t.is(BigInt('0x' + main.CapPrm), KEPT, 'and can get nothing else back');
  t.is(BigInt('0x' + main.CapBnd), KEPT, 'nor through a program it runs (bounding set)');
  await checkScenario(t, aq, 'syn');
});

/*
 * The thread that enters each namespace (lib/netns.c ns_worker) is started
 * anew at every tick by the thread that dropped privileges, and lives for
 * the walk alone: too briefly to catch in /proc. The kernel shows its
 * credentials at the moment that matters, each setns() it makes.
 */
const SETNS_CREDS = `
BEGIN { printf("ready\\n"); }
tracepoint:syscalls:sys_enter_setns /pid == $1/ {
  printf("setns tid=%d uid=%u eff=%llx prm=%llx bnd=%llx\\n", tid, curtask->cred->uid.val,
         curtask->cred->cap_effective.val, curtask->cred->cap_permitted.val, curtask->cred->cap_bset.val);
}`;

test.serial('the namespace walker: a new thread each tick, uid 65534 and exactly the kept capabilities as it enters namespaces', async (t) => {
  const aq = AcceptqJson.start();
  t.teardown(() => aq.stop());
  await aq.waitFor(() => true, 20000); // privileges are dropped before the first record
  const pid = aq.proc.pid!;
  const bt = spawn('bpftrace', ['-e', SETNS_CREDS, String(pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void bt.kill('SIGINT'));
  let out = '';
  bt.stdout.on('data', (d) => (out += d));
  bt.stderr.on('data', (d) => (out += d));
  const calls = () => [...out.matchAll(/^setns tid=(\d+) uid=(\d+) eff=([0-9a-f]+) prm=([0-9a-f]+) bnd=([0-9a-f]+)$/gm)];
  const threads = () => new Set(calls().map((m) => m[1])).size;
  for (const until = Date.now() + 60000; threads() < 3 && bt.exitCode === null && Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 200));
  }
  t.true(threads() >= 3, `setns calls of 3 ticks at least, seen: ${out}`);
  for (const [, tid, uid, eff, prm, bnd] of calls()) {
    t.not(tid, String(pid), 'not the main thread');
    t.is(uid, '65534', `thread ${tid}: uid`);
    t.is(BigInt('0x' + eff), KEPT, `thread ${tid}: effective = the kept set`);
    t.is(BigInt('0x' + prm), KEPT, `thread ${tid}: permitted = the kept set`);
    t.is(BigInt('0x' + bnd), KEPT, `thread ${tid}: bounding = the kept set`);
  }
});
