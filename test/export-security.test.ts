// acceptq export on the wire: TLS, client certificates and basic auth from a
// web config (certificates made by openssl here, the hash by htpasswd), the
// refusals and their log, a bad config refused before anything loads, a real
// Prometheus scraping over TLS with a password (and failing with a wrong one),
// and --netns / --pid narrowing what one exporter serves.
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from '../harness/paths';
import { BasicAuth } from '../src/export/basic-auth';
import { peer, RefusalLog } from '../src/export/refusals';
import { bcryptHash, Certs } from './support/certs';
import { Exporter, freePort, Prometheus } from './support/prometheus';

const USER = 'scraper';
const PASSWORD = `pw-${process.pid}-${Date.now()}`;
const WRONG = `not-${PASSWORD}`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-websec-'));
fs.chmodSync(dir, 0o755); // the unprivileged run below reads its config here
const file = (name: string) => path.join(dir, name);
const read = (name: string) => fs.readFileSync(file(name));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

let HASH = '';

test.before(() => {
  const certs = new Certs(dir);
  certs.ca('ca');
  certs.cert('server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  certs.cert('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  certs.ca('other-ca'); // unrelated: its client certificate must not pass
  certs.cert('other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  certs.readable();
  HASH = bcryptHash(USER, PASSWORD);
});

/** A web config in the temp dir; file names in it are relative to it (the exporter runs elsewhere). */
function webConfig(name: string, text: string): string {
  fs.writeFileSync(file(name), text);
  return file(name);
}

const TLS_AUTH = () => `tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  ${USER}: '${HASH}'
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
`;

interface Reply {
  status?: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** The connection's error, when there was no answer. */
  error?: string;
  /** The client's port, as the exporter's log names it. */
  localPort?: number;
}

/** One GET /metrics on a connection of its own. */
function get(port: number, o: { tls?: boolean; auth?: string; ca?: Buffer; cert?: Buffer; key?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve) => {
    let localPort: number | undefined;
    const options = { host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: 10000, auth: o.auth, ca: o.ca, cert: o.cert, key: o.key };
    const req = (o.tls ? https : http).get(options, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers, localPort }));
      res.on('error', (e) => resolve({ body, headers: {}, error: (e as NodeJS.ErrnoException).code ?? e.message, localPort }));
    });
    req.on('socket', (s) => s.once('connect', () => (localPort = s.localPort)));
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (e) => resolve({ body: '', headers: {}, error: (e as NodeJS.ErrnoException).code ?? e.message, localPort }));
  });
}

/** Waits (at most 5 s) for a refusal of the client at localPort in the exporter's log; the line. */
async function refusal(e: Exporter, localPort: number | undefined, reason: RegExp): Promise<string | undefined> {
  const re = new RegExp(`^acceptq export: refused 127\\.0\\.0\\.1:${localPort}: (.*)$`, 'm');
  for (let i = 0; i < 50; i++) {
    const m = re.exec(e.stderr);
    if (m && reason.test(m[1])) return m[0];
    await sleep(100);
  }
  return undefined;
}

async function startExporter(t: ExecutionContext, args: string[]): Promise<Exporter> {
  const port = await freePort();
  const e = Exporter.start(port, undefined, args);
  t.teardown(() => e.stop());
  await e.serving();
  return e;
}

test.serial('TLS + basic auth: the right password gets the metrics; a wrong one, an unknown user, none, plain HTTP: refused, each logged with the client', async (t) => {
  const e = await startExporter(t, ['--web.config.file', webConfig('tls-auth.yml', TLS_AUTH())]);
  t.regex(e.stderr, new RegExp(`serving https://127\\.0\\.0\\.1:${e.port}/metrics \\(TLS, basic auth\\)`));
  const ca = read('ca.crt');

  const ok = await get(e.port, { tls: true, ca, auth: `${USER}:${PASSWORD}` });
  t.is(ok.status, 200, ok.error);
  t.regex(ok.body, /^acceptq_probe_info\{probe="[a-z]+"\} 1$/m);
  t.is(ok.headers['x-content-type-options'], 'nosniff', 'the configured header');
  const again = await get(e.port, { tls: true, ca, auth: `${USER}:${PASSWORD}` });
  t.is(again.status, 200, 'again (from the cache of passed checks)');

  const refusals: Array<[string, Parameters<typeof get>[1], RegExp]> = [
    ['wrong password', { tls: true, ca, auth: `${USER}:${WRONG}` }, new RegExp(`^wrong password for user "${USER}"$`)],
    ['wrong password again', { tls: true, ca, auth: `${USER}:${WRONG}` }, new RegExp(`^wrong password for user "${USER}"$`)],
    ['unknown user', { tls: true, ca, auth: `nobody:${PASSWORD}` }, /^unknown user "nobody"$/],
    ['no credentials', { tls: true, ca }, /^no credentials$/],
  ];
  for (const [what, o, reason] of refusals) {
    const r = await get(e.port, o);
    t.is(r.status, 401, `${what}: ${r.error ?? ''}`);
    t.is(r.headers['www-authenticate'], 'Basic', what);
    t.false(r.body.includes('acceptq_'), `${what}: no metrics`);
    t.truthy(await refusal(e, r.localPort, reason), `${what}: logged with the client's address and the reason: ${e.stderr}`);
  }

  // plain HTTP to the TLS port: no answer at all, or an error status; never metrics
  const plain = await get(e.port);
  t.true(plain.error !== undefined || (plain.status ?? 0) >= 400, `plain HTTP: ${plain.status} ${plain.error}`);
  t.false(plain.body.includes('acceptq_'), 'plain HTTP: no metrics');
  t.truthy(await refusal(e, plain.localPort, /^plain HTTP to the TLS port$/), `plain HTTP: logged: ${e.stderr}`);

  // a client that does not trust the exporter's CA gives up itself
  const untrusting = await get(e.port, { tls: true, auth: `${USER}:${PASSWORD}` });
  t.is(untrusting.error, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');

  t.false(e.stderr.includes(PASSWORD), 'the password is never logged');
  t.is(e.proc.exitCode, null, 'still serving');
});

test.serial('RequireAndVerifyClientCert: a certificate of the client CA passes; one of another CA, or none, is refused at the handshake and logged', async (t) => {
  const config = webConfig('mtls.yml', TLS_AUTH().replace('  key_file: server.key\n', '  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n'));
  const e = await startExporter(t, ['--web.config.file', config]);
  t.regex(e.stderr, /serving https:.*\(TLS, RequireAndVerifyClientCert, basic auth\)/);
  const ca = read('ca.crt');
  const auth = `${USER}:${PASSWORD}`;

  const ok = await get(e.port, { tls: true, ca, auth, cert: read('client.crt'), key: read('client.key') });
  t.is(ok.status, 200, ok.error);
  t.regex(ok.body, /^acceptq_probe_info\{/m);

  const noPassword = await get(e.port, { tls: true, ca, cert: read('client.crt'), key: read('client.key') });
  t.is(noPassword.status, 401, 'a good certificate does not stand in for the password');

  const other = await get(e.port, { tls: true, ca, auth, cert: read('other-client.crt'), key: read('other-client.key') });
  t.is(other.status, undefined, `another CA's certificate: no answer (${other.error})`);
  t.truthy(other.error);
  const line = await refusal(e, other.localPort, /^client certificate not verified against client_ca_file \([A-Z_]+\)$/);
  t.truthy(line, `logged: ${e.stderr}`);
  t.log(line);

  const none = await get(e.port, { tls: true, ca, auth });
  t.is(none.status, undefined, `no certificate: no answer (${none.error})`);
  t.truthy(await refusal(e, none.localPort, /^no client certificate$/), `logged: ${e.stderr}`);
});

test.serial("a real Prometheus scrapes the TLS + basic-auth exporter (up 1, the metrics stored); with a wrong password its up is 0", async (t) => {
  const e = await startExporter(t, ['--web.config.file', webConfig('tls-auth.yml', TLS_AUTH())]);
  const job = (name: string, password: string) => ({
    job_name: name,
    scheme: 'https',
    tls_config: { ca_file: file('ca.crt') },
    basic_auth: { username: USER, password },
    static_configs: [{ targets: [`127.0.0.1:${e.port}`] }],
  });
  const prom = await Prometheus.start(e.port, [], [job('right', PASSWORD), job('wrong', WRONG)]);
  t.teardown(() => prom.stop());
  const up = (name: string, want: string) =>
    prom.until(`up{job="${name}"} == ${want}`, async () => {
      const r = await prom.query(`up{job="${name}"}`);
      return r.length === 1 && r[0].value[1] === want ? r : undefined;
    });
  await up('right', '1');
  const info = await prom.query('acceptq_probe_info{job="right"}');
  t.is(info.length, 1, 'acceptq_probe_info stored from the scrape');
  t.is(info[0].value[1], '1');
  await up('wrong', '0');
  t.deepEqual(await prom.query('acceptq_probe_info{job="wrong"}'), [], 'nothing stored through the wrong password');
  const targets = await prom.api<{ activeTargets: Array<{ labels: Record<string, string>; lastError: string }> }>('targets');
  const wrong = targets.activeTargets.find((x) => x.labels.job === 'wrong');
  t.regex(wrong?.lastError ?? '', /401/, 'Prometheus saw the 401');
  t.regex(e.stderr, new RegExp(`^acceptq export: refused 127\\.0\\.0\\.1:\\d+: wrong password for user "${USER}"$`, 'm'));
  t.false(e.stderr.includes(PASSWORD) || e.stderr.includes(WRONG), 'no password in the log');
});

test.serial('a bad web config: one line naming the file and the problem, exit 1, checked before BPF is loaded, nothing listening', async (t) => {
  const port = await freePort();
  const tls = (lines: string) => `tls_server_config:\n${lines}`;
  const cases: Array<[string, string, RegExp]> = [
    ['unknown key', tls('  cert_file: server.crt\n  key_file: server.key\n  client_auth: RequireAndVerifyClientCert\n'), /: unknown key tls_server_config\.client_auth \(known here: .*\)$/],
    ['key of another certificate', tls('  cert_file: server.crt\n  key_file: other-client.key\n'), /: tls_server_config\.key_file \S+other-client\.key: does not match the certificate in tls_server_config\.cert_file \S+server\.crt$/],
    ['missing certificate', tls('  cert_file: missing.crt\n  key_file: server.key\n'), /: tls_server_config\.cert_file \S+\/missing\.crt: cannot read: ENOENT$/],
    ['no key_file', tls('  cert_file: server.crt\n'), /: tls_server_config\.key_file is missing$/],
    ['not a bcrypt hash', `basic_auth_users:\n  ${USER}: ${PASSWORD}\n`, new RegExp(`: basic_auth_users\\.${USER}: not a bcrypt hash`)],
    ['a header exporters do not set', 'http_server_config:\n  headers:\n    X-Powered-By: acceptq\n', /: http_server_config\.headers: X-Powered-By cannot be set/],
    ['not YAML', 'tls_server_config: [\n', /: line \d+: /],
  ];
  for (const [what, text, re] of cases) {
    const config = webConfig('bad.yml', text);
    const started = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'export', '--listen', `127.0.0.1:${port}`, '--web.config.file', config], { encoding: 'utf8', timeout: 30000, cwd: '/' });
    t.is(r.status, 1, `${what}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    t.is(lines.length, 1, `${what}: one line: ${r.stderr}`);
    t.true(lines[0].startsWith(`acceptq: ${config}: `), `${what}: names the file: ${lines[0]}`);
    t.regex(lines[0], re, what);
    t.false(r.stderr.includes(PASSWORD), `${what}: no password, not even a plain one where a hash should be`);
    t.log(`${what} (${Date.now() - started} ms): ${lines[0]}`);
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve('connected')));
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    t.is(refused, 'ECONNREFUSED', `${what}: nothing listening`);
  }
  t.false(fs.existsSync(file('missing.crt')));
  // the config is read before privileges are looked at, so before any BPF: an unprivileged run gets the config's
  // problem, not "needs root", while with a good config it gets "needs root"
  const asNobody = (config: string) =>
    spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, CLI, 'export', '--web.config.file', config], { encoding: 'utf8', timeout: 30000, cwd: '/' });
  const bad = asNobody(webConfig('bad.yml', cases[0][1]));
  t.is(bad.status, 1);
  t.regex(bad.stderr, /unknown key tls_server_config\.client_auth/);
  const good = asNobody(webConfig('good.yml', TLS_AUTH()));
  t.is(good.status, 1);
  t.regex(good.stderr, /needs root/, 'the good config passes, then privileges are checked');
});

/** Series of a family in an exposition: their labels. */
function series(body: string, name: string): Array<Record<string, string>> {
  return [...body.matchAll(new RegExp(`^${name}\\{(.*)\\} \\S+$`, 'gm'))].map((m) =>
    Object.fromEntries([...m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]])));
}

/** Scrapes (every 250 ms, at most 15 s) until pred holds of the body; the last body. */
async function scrapeUntil(e: Exporter, pred: (body: string) => boolean): Promise<string> {
  let body = '';
  for (let i = 0; i < 60; i++) {
    body = await e.scrape();
    if (pred(body)) return body;
    await sleep(250);
  }
  return body;
}

test.serial('--netns ID and --pid PID: one exporter serves only that namespace (its listener and namespace series) or that process', async (t) => {
  const tag = `acqx${process.pid}`;
  const names = [`${tag}a`, `${tag}b`];
  const ports = [21000 + (process.pid % 4000), 26000 + (process.pid % 4000)];
  const procs: Array<ReturnType<typeof spawn>> = [];
  t.teardown(() => {
    for (const p of procs) p.kill('SIGKILL');
    for (const n of names) spawnSync('ip', ['netns', 'del', n]);
  });
  const inodes: number[] = [];
  const pids: number[] = [];
  for (const [i, ns] of names.entries()) {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    inodes.push(fs.statSync(`/run/netns/${ns}`).ino);
    // a plain listener, the only one of its namespace
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
      `require('net').createServer().listen(${ports[i]}, '127.0.0.1', () => console.log('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(p);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${ns}: no listener within 10 s`)), 10000);
      p.stdout!.on('data', (d) => String(d).includes('listening') && (clearTimeout(timer), resolve()));
    });
    pids.push(p.pid!); // ip netns exec runs the command in its own place
  }
  t.not(inodes[0], inodes[1]);

  // --netns: A's listener and namespace, nothing of B or the host
  const byNetns = await startExporter(t, ['--netns', String(inodes[0])]);
  const a = await scrapeUntil(byNetns, (b) => series(b, 'acceptq_listener_open').some((l) => l.port === String(ports[0])));
  const aListeners = series(a, 'acceptq_listener_open');
  t.deepEqual(aListeners.map((l) => [l.netns, l.port, l.address]), [[String(inodes[0]), String(ports[0]), '127.0.0.1']], 'only A\'s listener');
  t.deepEqual(series(a, 'acceptq_namespace_listen_overflows_total').map((l) => l.netns), [String(inodes[0])], 'only A\'s namespace series');
  t.deepEqual(series(a, 'acceptq_namespace_somaxconn').map((l) => l.netns), [String(inodes[0])]);
  t.regex(a, /^acceptq_probe_info\{/m, 'the exporter-wide families stay');
  const cookieA = aListeners[0].netns_cookie;
  await byNetns.stop();

  // --pid: B's listener (and B's namespace, where it is), by its owner
  const byPid = await startExporter(t, ['--pid', String(pids[1])]);
  const b = await scrapeUntil(byPid, (body) => series(body, 'acceptq_listener_open').length > 0);
  t.deepEqual(series(b, 'acceptq_listener_open').map((l) => [l.netns, l.port]), [[String(inodes[1]), String(ports[1])]], 'only B\'s listener');
  t.regex(b, new RegExp(`^acceptq_listener_pid\\{[^}]*port="${ports[1]}"[^}]*\\} ${pids[1]}$`, 'm'));
  t.deepEqual(series(b, 'acceptq_namespace_listen_overflows_total').map((l) => l.netns), [String(inodes[1])]);
  t.not(series(b, 'acceptq_namespace_listen_overflows_total')[0].netns_cookie, cookieA);
});

test('the refusal log: at most 10 lines a second, then how many were left out; a line per refusal, whatever the reason holds', (t) => {
  const lines: string[] = [];
  let now = 5000;
  const log = new RefusalLog((l) => lines.push(l), () => now);
  for (let i = 0; i < 25; i++) log.refused(`127.0.0.1:${1000 + i}`, 'wrong password for user "x"');
  t.is(lines.length, 10);
  t.is(lines[0], 'acceptq export: refused 127.0.0.1:1000: wrong password for user "x"\n');
  now += 1000; // the next second: first the count of the last one's left out
  log.refused('[::1]:7', 'no\ncredentials');
  t.deepEqual(lines.slice(10), ['acceptq export: 15 more refused not logged (at most 10 a second)\n', 'acceptq export: refused [::1]:7: no credentials\n']);
  log.report();
  t.is(lines.length, 12, 'nothing more to say');
  t.is(peer('::ffff:10.0.0.1', 80), '[::ffff:10.0.0.1]:80');
});

test('basic auth: one bcrypt for a password that passed, then none; a failure is kept 10 s, not for ever', async (t) => {
  let now = 0;
  const auth = new BasicAuth(new Map([[USER, HASH.replace(/^\$2y\$/, '$2b$')]]), () => now);
  const header = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
  const timed = async (h: string | undefined) => {
    const start = process.hrtime.bigint();
    const r = await auth.check(h);
    return { r, ms: Number(process.hrtime.bigint() - start) / 1e6 };
  };
  const first = await timed(header(USER, PASSWORD));
  t.deepEqual(first.r, { ok: true, user: USER });
  const cached = await timed(header(USER, PASSWORD));
  t.deepEqual(cached.r, { ok: true, user: USER });
  t.true(cached.ms < first.ms / 5, `cached ${cached.ms} ms against ${first.ms} ms for the bcrypt`);
  const wrong = await timed(header(USER, WRONG));
  t.deepEqual(wrong.r, { ok: false, reason: `wrong password for user "${USER}"` });
  now += 5000;
  const wrongKept = await timed(header(USER, WRONG));
  t.deepEqual(wrongKept.r, wrong.r);
  t.true(wrongKept.ms < wrong.ms / 5, `kept: ${wrongKept.ms} ms against ${wrong.ms} ms`);
  now += 6000;
  const wrongAgain = await timed(header(USER, WRONG));
  t.deepEqual(wrongAgain.r, wrong.r);
  t.true(wrongAgain.ms > wrongKept.ms * 5, `after 10 s checked again: ${wrongAgain.ms} ms`);
  const unknown = await timed(header('mallory', PASSWORD));
  t.deepEqual(unknown.r, { ok: false, reason: 'unknown user "mallory"' });
  t.true(unknown.ms > cached.ms * 5, 'an unknown user costs a bcrypt too');
  t.deepEqual(await auth.check(undefined), { ok: false, reason: 'no credentials' });
  t.deepEqual(await auth.check('Bearer abc'), { ok: false, reason: 'not basic auth credentials' });
  t.deepEqual(await auth.check(`Basic ${Buffer.from('nocolon').toString('base64')}`), { ok: false, reason: 'malformed basic auth credentials (no colon)' });
  t.deepEqual(await auth.check(header(USER, `${PASSWORD}x`)), { ok: false, reason: `wrong password for user "${USER}"` });
});
