/**
 * The kernel matrix's table: the JSON lines scripts/kernels.d/cases.ts
 * printed in each kernel, as kernel x probe set x case, with every row that
 * is not exact (or did not start) spelled out under it. Writes the results,
 * stamped with the commit, to --out. Exit status 0 only when every row is
 * ok or exact.
 *   node dist/scripts/kernels.d/table.js RESULTS... [--out FILE]
 * RESULTS: cases.js's JSON lines or earlier --out files, merged in order
 * (a later run of some cases replaces those cases' rows).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ROOT } from '../../harness/paths';
import type { MatrixResult } from './cases';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });

/** The commits earlier --out files measured (a merged table says which rows came from which). */
const measured: Array<{ commit: string; dirty: boolean; date: string; rows: number }> = [];

/** Results of a file: cases.js's JSON lines, or an earlier --out file (its results list). */
function read(file: string): MatrixResult[] {
  const text = fs.readFileSync(file, 'utf8');
  if (text.startsWith('{\n')) {
    const j = JSON.parse(text);
    for (const m of j.measured ?? [{ commit: j.commit, dirty: j.dirty, date: j.date, rows: j.results.length }]) measured.push(m);
    return j.results;
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/**
 * Every file's results. A later file's rows of a kernel, set and case
 * replace the earlier ones (every round), and so does any later row of the
 * kernel and set the set's earlier failure to start ("start").
 */
let results: MatrixResult[] = [];
for (const f of positionals) {
  const rows = read(f);
  const cases = new Set(rows.map((r) => `${r.kernel}|${r.set}|${r.case}`));
  const sets = new Set(rows.map((r) => `${r.kernel}|${r.set}`));
  const replaced = (r: MatrixResult) => cases.has(`${r.kernel}|${r.set}|${r.case}`) || (r.case === 'start' && sets.has(`${r.kernel}|${r.set}`));
  results = [...results.filter((r) => !replaced(r)), ...rows];
}

const git = (args: string[]) => {
  try {
    return execFileSync('git', ['--no-optional-locks', ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
};

const kernels = [...new Set(results.map((r) => r.kernel))];
const cases = [...new Set(results.map((r) => r.case))];
const cell = (rs: MatrixResult[]): string => {
  if (!rs.length) return '-';
  const bad = rs.filter((r) => r.status !== 'ok' && r.status !== 'exact');
  if (rs.length === 1) {
    const r = rs[0];
    if (r.case === 'once' && r.status === 'ok' && r.extra?.chose && r.set === 'auto') return `ok:${r.extra.chose}`;
    return r.status;
  }
  return bad.length ? `${rs.length - bad.length}/${rs.length}` : `${rs.length}/${rs.length} exact`;
};

const lines: string[] = [];
const pad = (s: string, n: number) => s.padEnd(n);
for (const k of kernels) {
  const mine = results.filter((r) => r.kernel === k);
  const sets = [...new Set(mine.map((r) => r.set))];
  const w = Math.max(14, ...cases.map((c) => c.length + 1));
  lines.push(`kernel ${k}`);
  lines.push(`  ${pad('case', w)}${sets.map((s) => pad(s, 16)).join('')}`);
  for (const c of cases) {
    if (!mine.some((r) => r.case === c)) continue;
    lines.push(`  ${pad(c, w)}${sets.map((s) => pad(cell(mine.filter((r) => r.set === s && r.case === c)), 16)).join('')}`);
  }
  const runs = mine.filter((r) => typeof r.extra?.runsPerConnection === 'number');
  for (const r of runs) lines.push(`  BPF program runs per connection, ${r.set} (${r.case}): ${(r.extra!.runsPerConnection as number).toFixed(2)} ${JSON.stringify(r.extra!.runs)}`);
  for (const r of mine.filter((x) => x.status !== 'ok' && x.status !== 'exact')) lines.push(`  ${r.set} ${r.case}${r.round ? ` #${r.round}` : ''}: ${r.status}: ${r.detail}`);
  lines.push('');
}
process.stdout.write(lines.join('\n'));

const failed = results.filter((r) => r.status !== 'ok' && r.status !== 'exact' && r.status !== 'refused');
if (values.out) {
  fs.writeFileSync(
    values.out,
    `${JSON.stringify(
      {
        commit: git(['rev-parse', 'HEAD']),
        dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
        date: new Date().toISOString(),
        ...(measured.length ? { measured } : {}),
        results,
      },
      null,
      1,
    )}\n`,
  );
}
process.exit(failed.length || !results.length ? 3 : 0);
