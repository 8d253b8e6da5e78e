// acceptq export: a real HTTP scrape during a lab scenario.
import test from 'ava';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { startLab } from '../harness/lab';
import { awaitAttached } from '../harness/links';
import { CLI } from '../harness/paths';
import { renderMetrics } from '../src/export/metrics';
import { listenerRow, snapshotOf } from './support/rows';

const scrape = (port: number): Promise<{ status: number; type: string; body: string }> =>
  new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });

test.serial('scraped during the SYN-path scenario: the counter is the kernel count', async (t) => {
  const port = 20000 + (process.pid % 20000);
  const p = spawn(process.execPath, [CLI, 'export', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => p.kill('SIGTERM'));
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  await awaitAttached(p.pid!);
  for (let i = 0; i < 100 && !stderr.includes('serving'); i++) await new Promise((r) => setTimeout(r, 100));
  t.regex(stderr, new RegExp(`serving http://127\\.0\\.0\\.1:${port}/metrics`));
  const lab = await startLab('syn');
  t.teardown(() => lab.stop());
  const kernel = lab.netstat().TcpExtListenOverflows;
  const r = await scrape(port);
  t.is(r.status, 200);
  t.regex(r.type, /^text\/plain; version=0\.0\.4/);
  const sample = (name: string, extra = '') =>
    Number(new RegExp(`^${name}\\{netns="${lab.netns}",netns_cookie="\\d+",address="127\\.0\\.0\\.1",port="9000",comm="acceptq-lab"(?:,service="[^"]*")?${extra}\\} (\\d+)$`, 'm').exec(r.body)?.[1]);
  t.is(sample('acceptq_listen_overflows_total', ',path="syn"') + sample('acceptq_listen_overflows_total', ',path="ack"'), kernel);
  t.is(sample('acceptq_accept_queue_length'), 3);
  t.is(sample('acceptq_accept_queue_limit'), 2);
  t.regex(r.body, new RegExp(`^acceptq_namespace_listen_overflows_total\\{netns="${lab.netns}",netns_cookie="\\d+"\\} ${kernel}$`, 'm'));
  t.regex(r.body, /^# TYPE acceptq_listen_overflows_total counter$/m);
  t.regex(r.body, /^# HELP acceptq_accept_queue_length /m);
  t.log(`scrape: ${kernel} overflows, as the kernel counted`);
});

test('the default bind is loopback; label values are escaped', (t) => {
  const { parseExportOptions, DEFAULT_LISTEN } = require('../src/cmd/export');
  t.is(DEFAULT_LISTEN.split(':')[0], '127.0.0.1');
  t.deepEqual(parseExportOptions([]), { host: '127.0.0.1', port: 9877, probe: 'auto', keepRoot: false });
  t.deepEqual(parseExportOptions(['--listen', '[::1]:9100']), { host: '::1', port: 9100, probe: 'auto', keepRoot: false });
  t.throws(() => parseExportOptions(['--listen', 'nope']));
  const body = renderMetrics(snapshotOf(0, [listenerRow({ id: 'x', address: '1.2.3.4', pid: 1, comm: 'a"b\\c\nd', maxBacklog: 1 })]));

  t.true(body.includes('comm="a\\"b\\\\c\\nd"'));
});
