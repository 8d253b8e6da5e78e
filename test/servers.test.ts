// Servers that accept while they overflow (nginx under ab and wrk, and the
// lab's paced scenarios), each in a network namespace of its own: acceptq's
// rows and namespace entry must match that namespace's kernel counters
// exactly. The cases live in harness/servers.ts (scripts/accuracy runs them
// too); here every check of a case is an assertion.
import test, { type ExecutionContext } from 'ava';
import { AcceptqJson } from '../harness/acceptq';
import { CASES, cleanupAll, describe, failures, runCase, type CaseResult } from '../harness/servers';

let aq: AcceptqJson;

test.before(async () => {
  process.once('exit', cleanupAll);
  aq = AcceptqJson.start();
  await aq.waitFor(() => true, 20000); // probes attached
});

test.after.always(async () => {
  cleanupAll();
  await aq?.stop();
});

function assertChecks(t: ExecutionContext, r: CaseResult): void {
  t.log(describe(r));
  for (const f of failures(r)) t.log(`failed ${f}`);
  for (const c of r.checks) {
    const what = `${c.kind}: ${c.name}`;
    if (c.op === '=') t.is(c.actual, c.expected, what);
    else if (c.op === 'ok') t.true(c.ok, what);
    else t.true(c.ok, `${what}: ${c.actual} ${c.op} ${c.expected}`);
  }
}

for (const def of CASES) {
  test.serial(def.title, async (t) => {
    t.timeout(60000);
    assertChecks(t, await runCase(def, aq));
  });
}
