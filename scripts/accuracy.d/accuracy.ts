/**
 * scripts/accuracy: runs every case of harness/servers.ts (the cases of
 * test/servers.test.ts) N rounds each beside one acceptq --json, prints per
 * case the rounds, the exact rounds and the kernel's total against acceptq's
 * per round, and writes bench/accuracy.json stamped with the commit, whether
 * the tree was dirty, and the date. A round is exact when every accuracy
 * check of the case holds; a round whose load did not do what the case needs
 * (e.g. no overflow at all) is reported as such.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AcceptqJson } from '../../harness/acceptq';
import { ROOT } from '../../harness/paths';
import { CASES, cleanupAll, describe, failures, runCase, type CaseResult } from '../../harness/servers';

interface RoundOut {
  round: number;
  exact: boolean;
  /** every setup check held (the load did what the case needs) */
  valid: boolean;
  kernel?: Record<string, number>;
  acceptq?: CaseResult['acceptq'];
  namespace?: Record<string, unknown>;
  rows?: Array<Record<string, unknown>>;
  load?: Record<string, unknown>;
  failed: string[];
  error?: string;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', ['--no-optional-locks', ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

const pad = (v: unknown, n: number) => String(v).padStart(n);

function table(title: string, id: string, rounds: RoundOut[]): string {
  const exact = rounds.filter((r) => r.exact).length;
  const lines = [`${id}: ${title}`, `  rounds ${rounds.length}, exact ${exact}`];
  lines.push('  round    kernel   acceptq     diff  unattr  k.cookies  a.cookies  k.reqQDrop  a.synDrops  exact');
  for (const r of rounds) {
    if (r.error) {
      lines.push(`  ${pad(r.round, 5)}  error: ${r.error}`);
      continue;
    }
    const k = r.kernel!;
    const a = r.acceptq!;
    lines.push(
      `  ${pad(r.round, 5)}  ${pad(k.TcpExtListenOverflows, 8)}  ${pad(a.overflows, 8)}  ${pad(a.overflows - k.TcpExtListenOverflows, 7)}  ` +
        `${pad(r.namespace?.unattributed ?? '-', 6)}  ${pad(k.TcpExtSyncookiesSent, 9)}  ${pad(a.cookies, 9)}  ${pad(k.TcpExtTCPReqQFullDrop, 10)}  ` +
        `${pad(a.synDrops, 10)}  ${r.exact ? 'yes' : r.valid ? 'NO' : 'NO (load did not stage the case)'}`,
    );
  }
  for (const r of rounds) for (const f of r.failed) lines.push(`    round ${r.round}: ${f}`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '5' }, case: { type: 'string', multiple: true }, out: { type: 'string' } },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
    process.stderr.write('usage: scripts/accuracy [--rounds N (1-100)] [--case ID]... [--out FILE]\n');
    return 2;
  }
  const cases = values.case?.length ? CASES.filter((c) => values.case!.includes(c.id)) : CASES;
  if (!cases.length) {
    process.stderr.write(`scripts/accuracy: no such case; cases: ${CASES.map((c) => c.id).join(', ')}\n`);
    return 2;
  }

  const aq = AcceptqJson.start();
  const stopAq = () => {
    if (aq.proc.exitCode === null) aq.proc.kill('SIGTERM');
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nscripts/accuracy: ${sig}: cleaning up\n`);
      cleanupAll();
      stopAq();
      process.exit(130);
    });
  }
  process.on('exit', () => {
    cleanupAll();
    stopAq();
  });

  const out: Array<{ id: string; title: string; rounds: number; exactRounds: number; results: RoundOut[] }> = [];
  let probe = '';
  try {
    const first = await aq.waitFor(() => true, 20000);
    probe = first.probe;
    for (const def of cases) {
      const results: RoundOut[] = [];
      for (let round = 1; round <= rounds; round++) {
        process.stderr.write(`accuracy: ${def.id} round ${round}/${rounds}\n`);
        try {
          const r = await runCase(def, aq);
          process.stderr.write(`  ${describe(r)}\n`);
          results.push({
            round,
            exact: r.exact,
            valid: r.checks.filter((c) => c.kind === 'setup').every((c) => c.ok),
            kernel: r.kernel,
            acceptq: r.acceptq,
            namespace: r.ns,
            rows: r.rows.map((l) => ({
              address: l.address,
              port: l.port,
              sockets: l.sockets,
              overflows: l.overflows,
              overflowsSyn: l.overflowsSyn,
              overflowsAck: l.overflowsAck,
              synDrops: l.synDrops,
              cookies: l.cookies,
              ...(l.estimate !== undefined ? { estimate: l.estimate } : {}),
            })),
            load: r.load,
            failed: failures(r),
          });
        } catch (e) {
          process.stderr.write(`  error: ${(e as Error).message}\n`);
          results.push({ round, exact: false, valid: false, failed: [], error: (e as Error).message.split('\n')[0] });
        }
      }
      out.push({ id: def.id, title: def.title, rounds, exactRounds: results.filter((r) => r.exact).length, results });
    }
  } finally {
    cleanupAll();
    stopAq();
    await aq.exited;
  }

  console.log('');
  for (const c of out) console.log(table(c.title, c.id, c.results) + '\n');
  const total = out.reduce((s, c) => s + c.rounds, 0);
  const exact = out.reduce((s, c) => s + c.exactRounds, 0);
  console.log(`all cases: ${exact}/${total} rounds exact`);

  const commit = git(['rev-parse', 'HEAD']);
  const report = {
    tool: 'scripts/accuracy',
    commit,
    dirty: git(['status', '--porcelain']) !== '',
    date: new Date().toISOString(),
    kernel: os.release(),
    cpus: os.cpus().length,
    probe,
    rounds,
    exactRounds: exact,
    totalRounds: total,
    cases: out,
  };
  const file = values.out ?? path.join(ROOT, 'bench', 'accuracy.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), file) || file}`);
  return exact === total ? 0 : 3;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`scripts/accuracy: ${e?.stack ?? e}\n`);
    cleanupAll();
    process.exit(1);
  },
);
