// acceptq fleet on the wire, against the real servers: an acceptq export
// behind TLS and basic auth (and one asking for client certificates), a real
// Prometheus behind its own web config (TLS, basic auth) scraping it, and
// nginx in front of Prometheus asking for a bearer token. The right
// credentials read the host; a wrong password, a certificate the CA does not
// sign, plain HTTP against TLS, a missing client certificate or a wrong token
// are refused, and the fleet says so (a host down with the reason, or a
// notice), never showing figures.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from '../harness/paths';
import { Tmux } from '../harness/tmux';
import { bcryptHash, Certs } from './support/certs';
import { Exporter, freePort, Prometheus } from './support/prometheus';

const USER = 'fleet';
const PASSWORD = `pw-${process.pid}-${Date.now()}`;
const TOKEN = `token-${process.pid}-${Date.now()}`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-fleetsec-'));
const certs = new Certs(dir);
const file = (name: string) => certs.file(name);
const write = (name: string, text: string) => {
  fs.writeFileSync(file(name), text);
  return file(name);
};
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

let hash = '';
test.before(() => {
  certs.ca('ca');
  certs.cert('server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  certs.cert('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  certs.ca('other-ca'); // signs nothing the servers hold: a client trusting it alone must refuse them
  certs.readable();
  hash = bcryptHash(USER, PASSWORD);
  write('password', `${PASSWORD}\n`);
  write('wrong', 'not-the-password\n');
  write('token', `${TOKEN}\n`);
  write('wrong-token', 'nope\n');
});

const tlsAuth = (clientCerts = false) => `tls_server_config:
  cert_file: ${file('server.crt')}
  key_file: ${file('server.key')}
${clientCerts ? `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${file('ca.crt')}\n` : ''}basic_auth_users:
  ${USER}: '${hash}'
`;

async function exporter(t: ExecutionContext, clientCerts = false): Promise<Exporter> {
  const port = await freePort();
  const e = Exporter.start(port, undefined, ['--web.config.file', write(`web-${port}.yml`, tlsAuth(clientCerts))]);
  t.teardown(() => e.stop());
  await e.serving();
  return e;
}

/** The last --json record of `acceptq fleet ARGS --json --duration 2`. */
function fleetJson(args: string[]): { code: number | null; rec: any; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'fleet', ...args, '--json', '--duration', '2'], { encoding: 'utf8', timeout: 60000 });
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  return { code: r.status, rec: lines.length ? JSON.parse(lines.at(-1)!) : null, stderr: r.stderr };
}

const auth = (password = 'password') => ['--basic-auth-user', USER, '--basic-auth-password-file', file(password)];

test.serial('--targets over TLS with basic auth: the right CA and password read the host; a wrong password, another CA, plain HTTP: down with the reason, no figures', async (t) => {
  const e = await exporter(t);
  const target = `https://127.0.0.1:${e.port}`;
  const ok = fleetJson(['--targets', target, '--ca-file', file('ca.crt'), ...auth()]);
  t.is(ok.code, 0, ok.stderr);
  t.deepEqual(ok.rec.hosts.map((h: any) => [h.host, h.up, h.hostname]), [[target, true, os.hostname()]]);
  t.true(ok.rec.listeners.some((l: any) => l.port === e.port && l.host === target), 'the exporter\'s own listener, read over TLS');

  const refused: Array<[string, string[], RegExp]> = [
    ['a wrong password', ['--targets', target, '--ca-file', file('ca.crt'), ...auth('wrong')], /^HTTP 401/],
    ['no password', ['--targets', target, '--ca-file', file('ca.crt')], /^HTTP 401/],
    ['a CA that did not sign its certificate', ['--targets', target, '--ca-file', file('other-ca.crt'), ...auth()], /^TLS: .*(self.signed|unable to verify|UNABLE_TO_VERIFY)/i],
    ['plain HTTP against TLS', ['--targets', `127.0.0.1:${e.port}`, ...auth()], /connection reset|socket hang up|ECONNRESET/],
  ];
  for (const [what, args, error] of refused) {
    const r = fleetJson(args);
    t.is(r.code, 1, `${what}: the fleet runs to the end, then exits 1: its only host was down (${r.stderr})`);
    t.regex(r.stderr, /^acceptq fleet: the host is down \(/, what);
    const h = r.rec.hosts[0];
    t.false(h.up, `${what}: down`);
    t.regex(h.error, error, `${what}: ${h.error}`);
    t.is(h.lastSeen, null, `${what}: never seen`);
    t.deepEqual(r.rec.listeners, [], `${what}: no figures`);
  }
  await sleep(200);
  t.regex(e.stderr, /refused 127\.0\.0\.1:\d+: wrong password for user "fleet"/, 'the exporter logged the wrong password');
  t.regex(e.stderr, /refused 127\.0\.0\.1:\d+: plain HTTP to the TLS port/, 'and the plain HTTP');
  t.false(e.stderr.includes(PASSWORD), 'never the password');
});

test.serial('--targets to an exporter that asks for client certificates: with one from its CA, up; without, down', async (t) => {
  const e = await exporter(t, true);
  const target = `https://127.0.0.1:${e.port}`;
  const ok = fleetJson(['--targets', target, '--ca-file', file('ca.crt'), '--cert-file', file('client.crt'), '--key-file', file('client.key'), ...auth()]);
  t.true(ok.rec.hosts[0].up, JSON.stringify(ok.rec.hosts[0]));
  const none = fleetJson(['--targets', target, '--ca-file', file('ca.crt'), ...auth()]);
  t.false(none.rec.hosts[0].up);
  t.truthy(none.rec.hosts[0].error);
  t.deepEqual(none.rec.listeners, []);
});

/** nginx (Debian's) on a loopback port in front of `upstream`, answering 401 to a request without the bearer token. */
async function bearerProxy(t: ExecutionContext, upstream: number): Promise<number> {
  const port = await freePort();
  const d = fs.mkdtempSync(path.join(dir, 'nginx-'));
  const conf = path.join(d, 'nginx.conf');
  fs.writeFileSync(conf, `daemon off; pid ${d}/nginx.pid; error_log ${d}/error.log; worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${d}/body; proxy_temp_path ${d}/proxy; fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi; scgi_temp_path ${d}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      if ($http_authorization != "Bearer ${TOKEN}") { return 401; }
      proxy_pass http://127.0.0.1:${upstream};
    }
  }
}
`);
  const p = spawn('nginx', ['-c', conf, '-e', `${d}/error.log`], { stdio: 'ignore' });
  t.teardown(() => p.kill('SIGTERM'));
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(`${d}/nginx.pid`)) return port;
    await sleep(100);
  }
  throw new Error(`nginx did not start: ${fs.readFileSync(`${d}/error.log`, 'utf8')}`);
}

test.serial('--prometheus behind its own TLS and basic auth, scraping the TLS exporter; and behind a bearer token: the right credentials read the host, wrong ones are a notice', async (t) => {
  const e = await exporter(t);
  const job = {
    job_name: 'acceptq', scheme: 'https', tls_config: { ca_file: file('ca.crt') },
    basic_auth: { username: USER, password: PASSWORD }, static_configs: [{ targets: [`127.0.0.1:${e.port}`] }],
  };
  const webConfig = write('prometheus-web.yml', tlsAuth());
  const p = await Prometheus.start(e.port, [], [job], [`--web.config.file=${webConfig}`]);
  t.teardown(() => p.stop());
  const url = `https://127.0.0.1:${p.port}`;
  // until Prometheus has scraped the exporter
  let ok = fleetJson(['--prometheus', url, '--ca-file', file('ca.crt'), ...auth()]);
  for (let i = 0; i < 20 && !ok.rec?.hosts?.[0]?.up; i++) {
    await sleep(500);
    ok = fleetJson(['--prometheus', url, '--ca-file', file('ca.crt'), ...auth()]);
  }
  t.is(ok.rec.notice, undefined, ok.rec.notice);
  t.deepEqual(ok.rec.hosts.map((h: any) => [h.host, h.up, h.hostname]), [[`127.0.0.1:${e.port}`, true, os.hostname()]]);
  t.true(ok.rec.listeners.some((l: any) => l.port === e.port), 'the exporter\'s listener, through Prometheus over TLS');

  const wrong = fleetJson(['--prometheus', url, '--ca-file', file('ca.crt'), ...auth('wrong')]);
  t.regex(wrong.rec.notice ?? '', /^Prometheus https:\/\/127\.0\.0\.1:\d+: HTTP 401/);
  t.deepEqual([wrong.rec.hosts, wrong.rec.listeners], [[], []], 'nothing shown');
  const untrusted = fleetJson(['--prometheus', url, '--ca-file', file('other-ca.crt'), ...auth()]);
  t.regex(untrusted.rec.notice ?? '', /TLS: /);
  const plain = fleetJson(['--prometheus', `http://127.0.0.1:${p.port}`, ...auth()]);
  t.regex(plain.rec.notice ?? '', /HTTP 400|connection reset/, 'plain HTTP to its TLS port');

  // a bearer token, checked by nginx in front of a Prometheus without a web config of its own
  const open = await Prometheus.start(e.port, [], [job]);
  t.teardown(() => open.stop());
  const proxy = await bearerProxy(t, open.port);
  let viaToken = fleetJson(['--prometheus', `http://127.0.0.1:${proxy}`, '--bearer-token-file', file('token')]);
  for (let i = 0; i < 20 && !viaToken.rec?.hosts?.[0]?.up; i++) {
    await sleep(500);
    viaToken = fleetJson(['--prometheus', `http://127.0.0.1:${proxy}`, '--bearer-token-file', file('token')]);
  }
  t.true(viaToken.rec.hosts[0]?.up, JSON.stringify(viaToken.rec));
  const badToken = fleetJson(['--prometheus', `http://127.0.0.1:${proxy}`, '--bearer-token-file', file('wrong-token')]);
  t.regex(badToken.rec.notice ?? '', /HTTP 401/);
  t.deepEqual(badToken.rec.listeners, []);
});

test.serial('Prometheus unreachable: the dashboard says so in its header and retries; SIGHUP (an ssh session dropping) ends it, the terminal restored', async (t) => {
  const port = await freePort(); // nobody listens there
  const tm = Tmux.start(`acceptq-fleet-hup-${process.pid}`, `${process.execPath} ${CLI} fleet --prometheus http://127.0.0.1:${port} --interval 0.5; echo EXIT=$?; sleep 60`, 200, 30, {
    LANG: 'C.UTF-8', TERM: 'xterm-256color',
  });
  t.teardown(() => tm.kill());
  const screen = await tm.waitFor((s) => /notice: Prometheus http:\/\/127\.0\.0\.1:\d+: connection refused; retrying/.test(s), 20000);
  t.regex(screen, /acceptq fleet/);
  t.is(tm.display('#{alternate_on}'), '1', 'the dashboard is on the alternate screen');
  // still retrying a few ticks later (the notice stays, the program runs)
  await sleep(1500);
  t.regex(tm.capture(), /connection refused; retrying/);
  process.kill(tm.programPid(), 'SIGHUP');
  const after = await tm.waitFor((s) => s.includes('EXIT='), 10000);
  t.regex(after, /EXIT=0/);
  t.is(tm.display('#{alternate_on}'), '0', 'back on the normal screen');
  t.is(tm.display('#{cursor_flag}'), '1', 'the cursor shown again');
  t.notRegex(after, /acceptq fleet/, 'nothing of the dashboard left on the screen');
});

test.serial('every host down: fleet --once and --json and run --fleet exit 1 saying so, the output still written; one host up: 0', async (t) => {
  const closed = `127.0.0.1:${await freePort()}`; // nothing listens there
  const fleet = (args: string[]) => spawnSync(process.execPath, [CLI, 'fleet', ...args], { encoding: 'utf8', timeout: 60000 });
  const once = fleet(['--targets', closed, '--once']);
  t.is(once.status, 1, once.stderr);
  t.regex(once.stderr, new RegExp(`^acceptq fleet: the host is down \\(${closed}: connection refused\\)\n$`));
  t.regex(once.stdout, new RegExp(closed), 'the table is still shown, with the host down');
  const json = fleet(['--targets', closed, '--json', '--duration', '1']);
  t.is(json.status, 1, json.stderr);
  t.false(JSON.parse(json.stdout.trim().split('\n').at(-1)!).hosts[0].up);
  const two = fleet(['--targets', `${closed},127.0.0.1:${await freePort()}`, '--once']);
  t.is(two.status, 1, two.stderr);
  t.regex(two.stderr, /^acceptq fleet: all 2 hosts are down \(/);
  const run = spawnSync(process.execPath, [CLI, 'run', '--fleet', '--targets', closed, '--', 'true'], { encoding: 'utf8', timeout: 60000 });
  t.is(run.status, 1, run.stderr);
  t.regex(run.stderr, /^acceptq run: the host is down \(/m);
  t.regex(run.stdout, /exited with status 0/, 'the summary is still written');

  // one host answering is a fleet watched: exit 0, the down one in the output
  const port = await freePort();
  const e = Exporter.start(port);
  t.teardown(() => e.stop());
  await e.serving();
  const some = fleet(['--targets', `${closed},127.0.0.1:${port}`, '--once']);
  t.is(some.status, 0, some.stderr);
  t.is(some.stderr, '');
  const runSome = spawnSync(process.execPath, [CLI, 'run', '--fleet', '--targets', `${closed},127.0.0.1:${port}`, '--', 'true'], { encoding: 'utf8', timeout: 60000 });
  t.is(runSome.status, 0, runSome.stderr);
});
