// acceptq export: a real HTTP scrape during a lab scenario, every family checked.
import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { startLab } from '../harness/lab';
import { awaitAttached, heldBy } from '../harness/links';
import { CLI } from '../harness/paths';
import { renderMetrics, renderProcessMetrics } from '../src/export/metrics';
import { readProcess } from '../src/export/process';
import { freePort } from './support/prometheus';
import { listenerRow, snapshotOf } from './support/rows';

const scrape = (port: number): Promise<{ status: number; type: string; body: string }> =>
  new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });

/** One request: its status, headers and body. */
const request = (port: number, method: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> =>
  new Promise((resolve, reject) => {
    http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject).end();
  });

/** The library's naming of each probe set's own programs. */
const SET_PREFIX: Record<string, string> = { fentry: 'acq_fexit_', kprobe: 'acq_kprobe_', tracepoint: 'acq_tp_' };

/** Every family the exporter can emit (from its own definitions: the # TYPE lines of any exposition). */
const emitted = (body: string) => [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);

/** One sample's value: name, its labels exactly (besides a service label). */
function value(body: string, name: string, labels: string): number | undefined {
  const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : undefined;
}

test.serial('scraped during the SYN-path scenario: every family, each against what was staged or the kernel', async (t) => {
  const port = 20000 + (process.pid % 20000);
  const spawnedAt = Date.now();
  const p = spawn(process.execPath, [CLI, 'export', '--web.listen-address', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => p.kill('SIGTERM'));
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  await awaitAttached(p.pid!);
  for (let i = 0; i < 100 && !stderr.includes('serving'); i++) await new Promise((r) => setTimeout(r, 100));
  t.regex(stderr, new RegExp(`serving http://127\\.0\\.0\\.1:${port}/metrics`));
  const labStarted = Date.now();
  // 127.0.0.1:9000, listen(2), never accepts; 20 connects: 3 admitted (backlog + 1), the others' SYNs dropped; the lab waits 3.3 s before it reports
  const lab = await startLab('syn');
  t.teardown(() => lab.stop());
  const kernel = lab.netstat();
  const inNs = (cmd: string[]) => execFileSync('nsenter', ['-t', String(lab.pid), '-n', ...cmd], { encoding: 'utf8' });
  const sysctl = (name: string) => Number(inNs(['cat', `/proc/sys/net/${name}`]).trim());
  const synRecv = inNs(['ss', '-tnH', 'state', 'syn-recv']).trim().split('\n').filter(Boolean).length;
  const skDrops = lab.listeners[0].skDrops;
  const held = heldBy(p.pid!);
  const r = await scrape(port);
  const scrapedAt = Date.now();
  t.is(r.status, 200);
  t.regex(r.type, /^text\/plain; version=0\.0\.4/);
  const body = r.body;
  const l = `netns="${lab.netns}",netns_cookie="\\d+",address="127\\.0\\.0\\.1",port="9000",comm="acceptq-lab"(?:,service="[^"]*")?`;
  const ns = `netns="${lab.netns}",netns_cookie="\\d+"`;
  t.true(skDrops > 0 && skDrops === kernel.TcpExtListenOverflows, `the lab overflowed (sk_drops ${skDrops}, kernel ${kernel.TcpExtListenOverflows})`);

  // the truth for each family: [labels, value]; NaN where a bound is checked below instead
  const probe = Object.keys(SET_PREFIX).find((set) => held.links.some((k) => k.prog.startsWith(SET_PREFIX[set])));
  const truth: Record<string, Array<[string, number]>> = {
    acceptq_listen_overflows_total: [[`${l},path="syn"`, skDrops], [`${l},path="ack"`, 0]], // every SYN the socket dropped; none on the ACK path
    acceptq_syn_queue_drops_total: [[l, kernel.TcpExtTCPReqQFullDrop]],
    acceptq_syncookies_sent_total: [[l, kernel.TcpExtSyncookiesSent]],
    acceptq_accept_queue_length: [[l, 3]], // backlog + 1
    acceptq_accept_queue_limit: [[l, 2]],
    acceptq_accept_queue_peak: [[l, 3]], // the queue held still since the connects
    acceptq_syn_queue_length: [[l, synRecv]],
    acceptq_listener_sockets: [[l, 1]],
    acceptq_listener_estimate: [[l, 0]], // the namespace's only listener: nothing to split
    acceptq_arrivals_total: [[l, 3]], // the 3 admitted
    acceptq_accepts_total: [[l, 0]],
    acceptq_accept_wait_seconds: [[l, NaN]], // nothing accepted: checked below
    acceptq_oldest_wait_seconds: [[l, NaN]], // bounded below
    acceptq_listen_backlog_requested: [[l, 2]],
    acceptq_listener_open: [[l, 1]],
    acceptq_listener_pid: [[l, lab.pid]],
    acceptq_listener_last_overflow_timestamp_seconds: [[l, NaN]], // bounded below
    acceptq_namespace_listen_overflows_total: [[ns, kernel.TcpExtListenOverflows]],
    acceptq_namespace_listen_drops_total: [[ns, skDrops]],
    acceptq_namespace_syn_queue_drops_total: [[ns, kernel.TcpExtTCPReqQFullDrop]],
    acceptq_namespace_syncookies_sent_total: [[ns, kernel.TcpExtSyncookiesSent]],
    acceptq_namespace_unattributed_overflows: [[ns, 0]],
    acceptq_namespace_unattributed_syn_queue_drops: [[ns, 0]],
    acceptq_namespace_unattributed_syncookies: [[ns, 0]],
    acceptq_namespace_unmatched_total: [[ns, 0]],
    acceptq_namespace_estimate: [[ns, 0]],
    acceptq_namespace_somaxconn: [[ns, sysctl('core/somaxconn')]],
    acceptq_namespace_tcp_max_syn_backlog: [[ns, sysctl('ipv4/tcp_max_syn_backlog')]],
    acceptq_namespace_tcp_syncookies: [[ns, sysctl('ipv4/tcp_syncookies')]],
    acceptq_namespace_tcp_abort_on_overflow: [[ns, sysctl('ipv4/tcp_abort_on_overflow')]],
    acceptq_lost_events_total: [['', 0]],
    acceptq_probe_info: [[`probe="${probe}"`, 1]], // the set whose programs the kernel lists as attached
    acceptq_host_info: [[`hostname="${os.hostname()}",kernel="${os.release()}"`, 1]],
    acceptq_build_info: [[`version="${require('../../package.json').version}",nodeversion="${process.version}"`, 1]],
    acceptq_start_time_seconds: [['', NaN]],
  };
  // every family the exporter defines is emitted here, and checked (the process_* ones below)
  const families = emitted(renderMetrics(snapshotOf(0, [])));
  const processFamilies = emitted(renderProcessMetrics(readProcess()));
  t.deepEqual(emitted(body), [...families, ...processFamilies], 'every family the exporter defines, once');
  t.deepEqual(families.filter((f) => !(f in truth)), [], 'each family has its truth here');
  // the exposition as Prometheus's own linter reads it
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  t.is(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);
  t.is(lint.stdout + lint.stderr, '', 'no lint problem either');
  for (const [family, samples] of Object.entries(truth)) {
    for (const [labels, want] of samples) {
      if (Number.isNaN(want)) continue;
      t.is(value(body, family, labels), want, `${family}{${labels}}`);
    }
  }
  // the wait histogram: no accept(), so no wait in any bucket
  const buckets = [...body.matchAll(new RegExp(`^acceptq_accept_wait_seconds_bucket\\{${l},le="[^"]+"\\} (\\S+)$`, 'gm'))];
  t.true(buckets.length > 0, 'the histogram has buckets');
  t.deepEqual(buckets.filter((b) => b[1] !== '0'), [], 'every bucket 0');
  t.is(value(body, 'acceptq_accept_wait_seconds_count', l), 0);
  t.is(value(body, 'acceptq_accept_wait_seconds_sum', l), 0);
  // the oldest connection has waited since the lab connected: at least its 3.3 s before reporting, at most since the lab started
  const oldest = value(body, 'acceptq_oldest_wait_seconds', l) ?? NaN;
  t.true(oldest >= 3 && oldest <= (scrapedAt - labStarted) / 1000, `oldest wait ${oldest} s: from 3 s to ${(scrapedAt - labStarted) / 1000} s`);
  const last = value(body, 'acceptq_listener_last_overflow_timestamp_seconds', l) ?? NaN;
  t.true(last * 1000 >= labStarted - 1000 && last * 1000 <= scrapedAt, `last overflow at ${last}: during the lab`);
  // the process's start: after the test spawned it, before it served
  const started = (value(body, 'acceptq_start_time_seconds', '') ?? NaN) * 1000;
  t.true(started >= spawnedAt && started <= scrapedAt, `started at ${started}: between the spawn (${spawnedAt}) and the scrape (${scrapedAt})`);
  // the process_* metrics, against what ps and prlimit say of the exporter's process
  const [rssK, vszK] = execFileSync('ps', ['-o', 'rss=,vsz=', '-p', String(p.pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  const near = (got: number | undefined, want: number, slack: number) => got !== undefined && Math.abs(got - want) <= want * slack;
  const rss = value(body, 'process_resident_memory_bytes', '');
  t.true(near(rss, rssK * 1024, 0.25), `resident ${rss}, ps ${rssK * 1024}`);
  const vsz = value(body, 'process_virtual_memory_bytes', '');
  t.true(near(vsz, vszK * 1024, 0.1), `virtual ${vsz}, ps ${vszK * 1024}`);
  const processStart = (value(body, 'process_start_time_seconds', '') ?? NaN) * 1000;
  // /proc/stat's btime is in whole seconds (and the kernel rounds it from its uptime), as the Go client reads it too: up to 2 s early
  t.true(processStart >= spawnedAt - 2000 && processStart <= scrapedAt, `process start ${processStart}: at the spawn (${spawnedAt})`);
  const cpu = value(body, 'process_cpu_seconds_total', '') ?? NaN;
  t.true(cpu > 0 && cpu * 1000 <= (scrapedAt - spawnedAt) * os.cpus().length, `cpu ${cpu} s`);
  const fds = fs.readdirSync(`/proc/${p.pid}/fd`).length;
  t.true(near(value(body, 'process_open_fds', ''), fds, 0.2), `open fds ${value(body, 'process_open_fds', '')}, /proc ${fds}`);
  // (prlimit cannot ask a process that dropped its capabilities; the kernel's own table of its limits can be read)
  const soft = Number(/^Max open files\s+(\d+)/m.exec(fs.readFileSync(`/proc/${p.pid}/limits`, 'utf8'))![1]);
  t.is(value(body, 'process_max_fds', ''), soft);
  t.log(`scrape: ${families.length} families; ${skDrops} overflows, as the kernel counted; probe ${probe}; oldest wait ${oldest} s`);
});

test('the default bind is loopback; label values are escaped', (t) => {
  const { parseExportOptions, DEFAULT_LISTEN } = require('../app/cmd/export');
  t.is(DEFAULT_LISTEN.split(':')[0], '127.0.0.1');
  const none = { port: undefined, pid: undefined, netns: undefined };
  t.deepEqual(parseExportOptions([]), { host: '127.0.0.1', port: 9877, probe: 'auto', keepRoot: false, filter: none });
  t.deepEqual(parseExportOptions(['--listen', '[::1]:9100']), { host: '::1', port: 9100, probe: 'auto', keepRoot: false, filter: none });
  t.throws(() => parseExportOptions(['--listen', 'nope']));
  const body = renderMetrics(snapshotOf(0, [listenerRow({ id: 'x', address: '1.2.3.4', pid: 1, comm: 'a"b\\c\nd', maxBacklog: 1 })]));
  t.true(body.includes('comm="a\\"b\\\\c\\nd"'));
});

test.serial('/metrics: GET and HEAD served; another method 405 with Allow; another path 404', async (t) => {
  const port = await freePort();
  const p = spawn(process.execPath, [CLI, 'export', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => p.kill('SIGTERM'));
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  for (let i = 0; i < 300 && !stderr.includes('serving'); i++) await new Promise((r) => setTimeout(r, 100));
  t.regex(stderr, new RegExp(`serving http://127\\.0\\.0\\.1:${port}/metrics`), '--listen, the older name, still serves');
  const get = await request(port, 'GET', '/metrics');
  t.is(get.status, 200);
  t.regex(get.body, /^acceptq_build_info\{version="[^"]+",nodeversion="v[^"]+"\} 1$/m);
  const head = await request(port, 'HEAD', '/metrics');
  t.is(head.status, 200);
  t.is(head.body, '');
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await request(port, method, '/metrics');
    t.is(r.status, 405, method);
    t.is(r.headers.allow, 'GET, HEAD', method);
  }
  t.is((await request(port, 'GET', '/nothing-here')).status, 404);
  t.is((await request(port, 'POST', '/nothing-here')).status, 404);
});

test('--web.listen-address, and --listen as its other name', (t) => {
  const { parseExportOptions } = require('../app/cmd/export');
  t.like(parseExportOptions(['--web.listen-address', '0.0.0.0:9100']), { host: '0.0.0.0', port: 9100 });
  t.like(parseExportOptions(['--listen', '0.0.0.0:9101']), { host: '0.0.0.0', port: 9101 });
  t.throws(() => parseExportOptions(['--web.listen-address', 'nope']), { message: /^--web\.listen-address wants ADDR:PORT, e\.g\. 127\.0\.0\.1:9877, not 'nope'$/ });
  t.throws(() => parseExportOptions(['--listen', 'nope']), { message: /^--listen wants ADDR:PORT/ });
  t.throws(() => parseExportOptions(['--listen', '127.0.0.1:1', '--web.listen-address', '127.0.0.1:2']), { message: /same flag: give one/ });
});
