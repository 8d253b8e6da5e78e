// A real Prometheus (Debian's) scraping a real acceptq export during a lab
// scenario: what it stores is the kernel's count, the alert rules load and
// fire, and the Grafana dashboard's queries run and name only emitted metrics.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLab } from '../harness/lab';
import { ROOT } from '../harness/paths';
import { DASHBOARD, Exporter, freePort, Prometheus, RULES, sampleNames } from './support/prometheus';

type Rules = { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };

const README_RULE = 'rate(acceptq_listen_overflows_total[5m]) > 0';

function promtool(args: string[], input?: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 60000 });
  return { code: r.status, output: (r.stdout ?? '') + (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
const targets: Array<{ expr: string; datasource: { uid: string } }> = dashboard.panels.flatMap((p: any) => p.targets);
/** Every metric name the dashboard or the rules name (in queries, variables and text alike). */
const namesIn = (text: string) => new Set(text.match(/\bacceptq_[a-z0-9_]+/g) ?? []);
/** A dashboard query as Grafana sends it: its variables filled in (the rate window: a few 1 s scrapes). */
const asSent = (expr: string) => expr.replace(/\$__rate_interval/g, '10s').replace(/\$port/g, '.*');

test('promtool accepts the rules, the README\'s rule among them, and refuses a broken copy', (t) => {
  const ok = promtool(['check', 'rules', RULES]);
  t.is(ok.code, 0, ok.output);
  t.regex(ok.output, /SUCCESS: 3 rules found/);
  const rules = fs.readFileSync(RULES, 'utf8');
  t.true(rules.includes(`expr: ${README_RULE}\n`));
  t.true(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').includes(`\`${README_RULE}\``));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-rules-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'broken.yml'), rules.replace(README_RULE, 'rate(acceptq_listen_overflows_total[5m] > 0'));
  t.not(promtool(['check', 'rules', path.join(dir, 'broken.yml')]).code, 0);
});

test('the dashboard is an importable model on a ${DS_PROMETHEUS} input', (t) => {
  t.deepEqual(dashboard.__inputs.map((i: any) => [i.name, i.type, i.pluginId]), [['DS_PROMETHEUS', 'datasource', 'prometheus']]);
  t.true(dashboard.panels.length >= 6);
  for (const p of dashboard.panels) {
    t.is(p.datasource.uid, '${DS_PROMETHEUS}', p.title);
    t.true(p.targets.length > 0 && p.targets.every((x: any) => x.expr && x.datasource.uid === '${DS_PROMETHEUS}'), p.title);
  }
  for (const v of dashboard.templating.list) t.is(v.datasource.uid, '${DS_PROMETHEUS}', v.name);
});

test.serial('Prometheus stores the kernel\'s count, the alerts fire, every dashboard query runs', async (t) => {
  const ex = Exporter.start(await freePort());
  t.teardown(() => ex.stop());
  await ex.serving();
  const prom = await Prometheus.start(ex.port, [RULES]);
  t.teardown(() => prom.stop());
  await prom.until('the exporter is up', async () => ((await prom.query('up{job="acceptq"}'))[0]?.value[1] === '1' ? true : undefined));

  const lab = await startLab('syn');
  t.teardown(() => lab.stop());
  const kernel = lab.netstat().TcpExtListenOverflows;
  t.true(kernel > 0);
  // a scrape that started after the lab stopped its traffic: the exporter
  // reads the kernel at most 250 ms before a scrape
  const after = Date.now() / 1000 + 0.5;
  const ns = `netns="${lab.netns}"`;
  const sel = `{${ns},address="127.0.0.1",port="9000"}`;
  const last = await prom.until('a scrape after the overflows', async () => {
    const r = await prom.query(`timestamp(acceptq_namespace_listen_overflows_total{${ns}})`);
    return r.length && Number(r[0].value[1]) >= after ? Number(r[0].value[1]) : undefined;
  });
  // The counter's last sample, not increase(): increase() extrapolates to the
  // edges of its window (a fraction, not the count), while the counter began
  // at 0 with the namespace and its last sample is the whole count.
  const at = last + 0.001;
  const stored = await prom.query(`sum(acceptq_listen_overflows_total${sel})`, at);
  t.is(Number(stored[0]?.value[1]), kernel, 'the listener, both paths');
  t.is(Number((await prom.query(`acceptq_namespace_listen_overflows_total{${ns}}`, at))[0]?.value[1]), kernel, 'the namespace');
  t.is(lab.netstat().TcpExtListenOverflows, kernel, 'the kernel count held still');
  t.log(`Prometheus stored ${stored[0].value[1]} overflows for 127.0.0.1:9000, the kernel counted ${kernel}`);

  // the exposition itself passes Prometheus's own lint
  const body = await ex.scrape();
  const lint = promtool(['check', 'metrics'], body);
  t.is(lint.code, 0, lint.output);
  t.is(lint.output.trim(), '', 'no lint problem');

  // the rules load and evaluate; the overflow alert fires for this listener, and the
  // never-accepting lab's queued connections wait past a second (pending for 2m, then firing)
  const ours = (a: { labels: Record<string, string> }) => a.labels.netns === String(lab.netns);
  const alerts = await prom.until('the alerts of the lab listener', async () => {
    const a = (await prom.api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('alerts')).alerts.filter(ours);
    const state = (name: string) => a.find((x) => x.labels.alertname === name && x.labels.port === '9000')?.state;
    const waiting = ['pending', 'firing'].includes(state('AcceptqAcceptQueueWaitHigh') ?? '');
    return state('AcceptqListenOverflows') === 'firing' && waiting ? a : undefined;
  });
  t.false(alerts.some((a) => a.labels.alertname === 'AcceptqUnattributedOverflows'), 'every overflow attributed: no gap alert');
  const rules = (await prom.api<Rules>('rules')).groups.flatMap((g) => g.rules);
  t.deepEqual(rules.map((r) => r.name).sort(), ['AcceptqAcceptQueueWaitHigh', 'AcceptqListenOverflows', 'AcceptqUnattributedOverflows']);
  for (const r of rules) t.is(r.health, 'ok', `${r.name}: ${r.lastError ?? ''}`);

  // every dashboard query is valid PromQL that finds series, and every metric
  // the dashboard and the rules name is one the exporter emits
  for (const x of targets) {
    const r = await prom.query(asSent(x.expr));
    t.true(r.length > 0, `no series for ${x.expr}`);
  }
  const emitted = sampleNames(body);
  const named = new Set([...namesIn(JSON.stringify(dashboard)), ...namesIn(fs.readFileSync(RULES, 'utf8'))]);
  t.true(named.size >= 15);
  for (const n of named) t.true(emitted.has(n), `${n} is not in a scrape`);
});
