/**
 * acceptq export as a service and a real Prometheus: free loopback ports,
 * scrapes, the systemd unit and the capability lists the docs give, acceptq
 * export started plain or under the unit's restrictions, and Debian's
 * prometheus binary with a scrape config of its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CLI, ROOT } from '../../harness/paths';

export const UNIT = path.join(ROOT, 'deploy', 'acceptq-export.service');
export const RULES = path.join(ROOT, 'deploy', 'acceptq.rules.yml');
export const DASHBOARD = path.join(ROOT, 'docs', 'grafana-dashboard.json');


import { freePort } from '../../harness/proc';
export { freePort };

export function httpGet(port: number, urlPath: string, host = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: urlPath, timeout: 10000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer within 10 s`)));
    req.on('error', reject);
  });
}

/**
 * The sum of the samples of a family whose labels include these (others,
 * like a service label, may be there too); undefined when none matches.
 */
export function sample(body: string, name: string, labels: Record<string, string | number>): number | undefined {
  let sum: number | undefined;
  for (const l of body.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === String(v))) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

/** Every sample name of an exposition (histograms: with their _bucket, _sum, _count). */
export function sampleNames(body: string): Set<string> {
  return new Set(body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]));
}

/**
 * The [Service] directives of a unit: name to its values, with systemd's
 * rules: a directive may repeat, and an empty assignment resets the list.
 */
export function unitDirectives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (!l || l.startsWith('#') || l.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(l);
    if (s) {
      section = s[1];
      continue;
    }
    const i = l.indexOf('=');
    if (section !== 'Service' || i < 0) continue;
    const key = l.slice(0, i).trim();
    const value = l.slice(i + 1).trim();
    out.set(key, value === '' ? [] : [...(out.get(key) ?? []), value]);
  }
  return out;
}

/** A unit's capability list (CapabilityBoundingSet=, AmbientCapabilities=), split. */
export function unitCaps(d: Map<string, string[]>, key: string): string[] {
  return (d.get(key) ?? []).flatMap((v) => v.split(/\s+/));
}

/** One `## ` section of a markdown file, from its heading to the next. */
export function markdownSection(file: string, heading: string): string {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`${file}: no section "## ${heading}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The capabilities named in the first column of the tables of a section. */
export function tableCaps(section: string): string[] {
  return section
    .split('\n')
    .filter((l) => /^\| *`CAP_/.test(l))
    .flatMap((l) => l.split('|')[1].match(/CAP_[A-Z_]+/g) ?? []);
}

/** setpriv's spelling of a capability list: -all,+sys_admin,... */
const setprivCaps = (caps: string[]) => ['-all', ...caps.map((c) => '+' + c.replace(/^CAP_/, '').toLowerCase())].join(',');

/**
 * What the unit's file-system directives do, done by hand in a mount
 * namespace of the process's own that still receives the host's later mounts
 * (slave propagation, as systemd sets it up; the machine has no systemd to
 * run the unit): ProtectSystem=strict, ProtectHome=yes, PrivateTmp=yes,
 * PrivateDevices=yes, ReadOnlyPaths=/sys /proc/sys -/proc/sysrq-trigger ('-': if
 * it exists). An automount point is left alone (remounting it would mount it).
 */
export const EMULATED = {
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  ReadOnlyPaths: '/sys /proc/sys -/proc/sysrq-trigger',
};
const SANDBOX = `set -eu
caps=$1; root=$2; shift 2
exec 3<"$root"
findmnt -rn -o TARGET,FSTYPE | sort -u | while read -r m type; do
  case "$m" in /dev|/dev/*|/proc|/proc/*) continue ;; esac
  [ "$type" != autofs ] || continue
  mount -o remount,bind,ro "$m"
done
for p in /proc/sys /proc/sysrq-trigger; do [ ! -e "$p" ] || { mount --bind "$p" "$p"; mount -o remount,bind,ro "$p"; }; done
for d in /home /root /run/user; do [ ! -d "$d" ] || mount -t tmpfs -o ro,mode=000 tmpfs "$d"; done
for d in /tmp /var/tmp; do mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$d"; done
mount -t tmpfs -o mode=755,nosuid tmpfs /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/tty c 5 0
mkdir /dev/shm; mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
# the unit runs acceptq from /usr/local; this test runs the repository's, so
# a repository under a directory hidden above stays reachable where it is.
# Its parent may be hidden too (a clone deeper in /tmp, or in ~/src): the mount to
# open is the one of its nearest ancestor still there.
if [ ! -e "$root/package.json" ]; then
  up=$(dirname "$root")
  while [ ! -d "$up" ]; do up=$(dirname "$up"); done
  m=$(findmnt -n -o TARGET --target "$up" | tail -1)
  ro=$(findmnt -n -o OPTIONS --target "$m" | tail -1 | cut -d, -f1)
  [ "$ro" != ro ] || { mount -o remount,rw "$m"; chmod 711 "$m"; }
  mkdir -p "$root"
  mount -c --bind /proc/self/fd/3 "$root"; mount -o remount,bind,ro "$root"
  [ "$ro" != ro ] || mount -o remount,ro "$m"
fi
exec 3<&-
exec setpriv --no-new-privs --inh-caps "$caps" --ambient-caps "$caps" --bounding-set "$caps" -- "$@"
`;

/**
 * cmd in the sandbox above with only these capabilities, the repository at
 * root kept reachable where it is (the tests pass ROOT; the sandbox's own test
 * passes trees it made elsewhere).
 */
export function spawnSandboxed(caps: string[], root: string, cmd: string[]): ChildProcess {
  return spawn('unshare', ['-m', '--propagation', 'slave', '--', 'sh', '-c', SANDBOX, 'sandbox', setprivCaps(caps), root, ...cmd]);
}

/** A running (or failed) acceptq export. */
export class Exporter {
  stderr = '';
  readonly exited: Promise<number | null>;

  /** host: the address it listens on (a simulated host's, in a namespace of its own, for one) */
  constructor(readonly proc: ChildProcess, readonly port: number, readonly host = '127.0.0.1') {
    proc.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  }

  /**
   * acceptq export on 127.0.0.1:port, run by root as it is, or (caps given)
   * under the unit's restrictions: only those capabilities (bounding,
   * inheritable and ambient sets, as systemd sets them), no new privileges,
   * and the file-system directives in EMULATED. args: more of export's flags.
   */
  static start(port: number, caps?: string[], args: string[] = []): Exporter {
    const cmd = [process.execPath, CLI, 'export', '--listen', `127.0.0.1:${port}`, ...args];
    const proc = caps ? spawnSandboxed(caps, ROOT, cmd) : spawn(cmd[0], cmd.slice(1));
    proc.stdout!.resume();
    return new Exporter(proc, port);
  }

  /** Resolves once it serves; rejects if it exits first or takes over timeoutMs. */
  async serving(timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!new RegExp(`serving https?://${this.host.replace(/\./g, '\\.')}:${this.port}/metrics`).test(this.stderr)) {
      if (this.gone) throw new Error(`acceptq export exited (${this.proc.exitCode}): ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`acceptq export: not serving within ${timeoutMs / 1000} s: ${this.stderr}`);
      await sleep(100);
    }
  }

  /** Resolves with the exit code, or null if it still runs after timeoutMs. */
  async exitWithin(timeoutMs: number): Promise<number | null> {
    return Promise.race([this.exited, sleep(timeoutMs).then(() => null)]);
  }

  scrape(): Promise<string> {
    return httpGet(this.port, '/metrics', this.host).then((r) => {
      if (r.status !== 200) throw new Error(`/metrics: HTTP ${r.status}: ${r.body}`);
      return r.body;
    });
  }

  get gone(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  async stop(): Promise<void> {
    if (this.gone) return;
    this.proc.kill('SIGTERM');
    await this.exitWithin(10000);
    if (!this.gone) this.proc.kill('SIGKILL');
  }
}

export interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

/** A scrape target as Prometheus's /api/v1/targets reports it. */
export interface PromTarget {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastScrape: string;
  lastError: string;
}

/** Debian's prometheus, on a loopback port, with its storage in a temp dir. */
export class Prometheus {
  log = '';

  private constructor(readonly proc: ChildProcess, readonly port: number, readonly dir: string) {
    proc.stdout!.on('data', (d) => (this.log += d));
    proc.stderr!.on('data', (d) => (this.log += d));
  }

  /**
   * Scrapes the targets (job "acceptq") every second and evaluates rules (if
   * any) every second. target: a loopback port, or HOST:PORT targets; jobs:
   * scrape configs of its own instead (scheme, tls_config, basic_auth...),
   * each scraping every second too.
   */
  static async start(target: number | string[], ruleFiles: string[] = [], jobs?: Array<Record<string, unknown>>, args: string[] = []): Promise<Prometheus> {
    const targets = typeof target === 'number' ? [`127.0.0.1:${target}`] : target;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-prometheus-'));
    const config = path.join(dir, 'prometheus.yml');
    // JSON is YAML
    fs.writeFileSync(config, JSON.stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: ruleFiles,
      scrape_configs: jobs ?? [{ job_name: 'acceptq', static_configs: [{ targets }] }],
    }));
    const port = await freePort();
    const proc = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new Prometheus(proc, port, dir);
    const deadline = Date.now() + 30000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}): ${p.log}`);
      const r = await httpGet(port, '/-/ready').catch(() => null);
      // behind a web config (TLS, basic auth) any answer to plain HTTP says it listens
      if (r?.status === 200 || (args.length && r)) return p;
      if (Date.now() > deadline) {
        await p.stop();
        throw new Error(`prometheus not ready within 30 s: ${p.log}`);
      }
      await sleep(200);
    }
  }

  /** GET an API path; the parsed data, or throws with Prometheus's error. */
  async api<T>(apiPath: string, params: Record<string, string | number> = {}): Promise<T> {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const r = await httpGet(this.port, `/api/v1/${apiPath}${qs ? '?' + qs : ''}`);
    const j = JSON.parse(r.body);
    if (j.status !== 'success') throw new Error(`${apiPath} ${qs}: ${j.errorType}: ${j.error}`);
    return j.data as T;
  }

  /** An instant query (a vector or a scalar) at a time (seconds) or now. */
  async query(expr: string, time?: number): Promise<PromResult[]> {
    const d = await this.api<{ resultType: string; result: any }>('query', time === undefined ? { query: expr } : { query: expr, time });
    return d.resultType === 'vector' ? d.result : [{ metric: {}, value: d.result }];
  }

  /** The active scrape targets. */
  async targets(): Promise<PromTarget[]> {
    return (await this.api<{ activeTargets: PromTarget[] }>('targets', { state: 'active' })).activeTargets;
  }

  /** Polls pred every 250 ms until it holds; bounded by timeoutMs. */
  async until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`prometheus: ${what}: not within ${timeoutMs / 1000} s; log: ${this.log}`);
      await sleep(250);
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([done, sleep(10000)]);
      if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
