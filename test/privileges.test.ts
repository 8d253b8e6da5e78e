// Least privilege: once attached, acceptq runs as an unprivileged user with
// only the capabilities a tick needs, on every thread, and still counts exactly.
import test from 'ava';
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
