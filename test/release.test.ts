// The release packages (scripts/release): the tarball unpacked offline on a
// host with no build tool, no Node.js and without the clone, the installed
// acceptq must count a lab scenario's overflows exactly as the kernel does,
// and refuse in one line when its library is missing or cannot be loaded; the
// .deb must hold the same program where Debian puts things. Installing the
// .deb with apt on bare Debian roots booted with their own kernels is
// test/install.test.ts.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { awaitAttached } from '../harness/links';
import { startLabReporting, type LabListener } from '../harness/lab';
import { ROOT } from '../harness/paths';
import { SINCE_START } from '../src/model/view';
import { BareHost, buildBundle, buildToolNames, finish } from './support/release';

const version: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
let tmp = '';
let tarball = '';
let deb = '';
let host: BareHost;
/** The install as the README has it, with a temporary directory for /opt and /usr/local/bin. */
let opt = '';
let bin = '';
const installed = () => path.join(bin, 'acceptq');
const lib = () => path.join(opt, 'acceptq', 'build', 'libacceptq.so');

test.before((t) => {
  t.timeout(20 * 60000); // scripts/release: minutes, more the first time (the Debian 11 build root)
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-release-'));
  fs.chmodSync(tmp, 0o755); // like /opt: readable once acceptq has dropped to nobody
  opt = path.join(tmp, 'opt');
  bin = path.join(tmp, 'bin');
  fs.mkdirSync(path.join(tmp, 'scratch'));
  ({ tarball, deb } = buildBundle(path.join(tmp, 'out')));
  host = new BareHost(path.join(tmp, 'scratch'));
});

test.after.always(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test.serial('the tarball: the program, its library with libbpf, compiled N-API modules, its own Node.js, nothing to build', (t) => {
  t.is(path.basename(tarball), `acceptq-${version}-linux-${os.arch() === 'x64' ? 'x86_64' : os.arch()}.tgz`);
  const entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim().split('\n');
  const has = (e: string) => entries.includes(e);
  for (const e of [
    'acceptq/bin/acceptq',
    'acceptq/package.json',
    'acceptq/dist/app/cli.js',
    'acceptq/dist/src/native/helper.js',
    'acceptq/dist/ui/dashboard.js',
    'acceptq/build/libacceptq.so',
    'acceptq/build/libbpf.so.1',
    'acceptq/node/bin/node',
    'acceptq/docs/acceptq.8',
    'acceptq/docs/acceptq-export.service',
    'acceptq/node_modules/@2060.io/ffi-napi/build/Release/ffi_bindings.node',
    'acceptq/node_modules/@2060.io/ref-napi/build/Release/binding.node',
    'acceptq/node_modules/ref-struct-di/package.json',
    'acceptq/node_modules/blessed/package.json',
    'acceptq/node_modules/blessed-contrib/package.json',
    'acceptq/node_modules/yaml/package.json', // the export's web config
    'acceptq/node_modules/bcryptjs/package.json', // its basic auth
  ]) t.true(has(e), `${e} in the bundle`);
  const unwanted = entries.filter(
    (e) =>
      /^acceptq\/dist\/(test|scripts)\/|^acceptq\/dist\/.*\.(ts|map)$|binding\.gyp$|\.(o|a)$/.test(e) ||
      /\/node_modules\/(\.bin|ava|typescript|@types|node-gyp)\//.test(e),
  );
  t.deepEqual(unwanted, [], 'no tests, scripts, sources, binding.gyp, object files, build tools or development packages');
  t.false(entries.some((e) => e.includes('.bpf.o')), 'the BPF object is inside the library, not beside it');
  t.false(entries.some((e) => e.startsWith('acceptq/node/include/') || e.includes('/npm/')), 'the runtime without headers or npm');
});

test.serial('the .deb: the same program under /usr/lib/acceptq, /usr/bin/acceptq, the unit (not enabled), the man page', (t) => {
  t.is(path.basename(deb), `acceptq_${version}_${execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim()}.deb`);
  const field = (f: string) => execFileSync('dpkg-deb', ['-f', deb, f], { encoding: 'utf8' }).trim();
  t.is(field('Package'), 'acceptq');
  t.is(field('Version'), version);
  t.regex(field('Depends'), /libelf1/);
  t.notRegex(field('Depends'), /nodejs|npm/, 'no Node.js from the distribution');
  const listing = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const files = listing.trim().split('\n').map((l) => l.split(/\s+/)[5]);
  for (const f of [
    './usr/bin/acceptq',
    './usr/lib/acceptq/bin/acceptq',
    './usr/lib/acceptq/node/bin/node',
    './usr/lib/acceptq/build/libacceptq.so',
    './usr/lib/acceptq/dist/app/cli.js',
    './lib/systemd/system/acceptq-export.service',
    './usr/share/man/man8/acceptq.8.gz',
    './usr/share/doc/acceptq/copyright',
  ]) t.true(files.includes(f), `${f} in the package`);
  t.regex(listing, /\.\/usr\/bin\/acceptq -> \.\.\/lib\/acceptq\/bin\/acceptq/);
  t.false(files.some((f) => f.startsWith('./etc/systemd/')), 'no unit enabled by the package');
  // no maintainer script: nothing runs at install but dpkg's own unpacking
  const control = execFileSync('dpkg-deb', ['-I', deb], { encoding: 'utf8' });
  t.notRegex(control, /\b(postinst|preinst|prerm|postrm)\b/);
  const unit = execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "${deb}" | tar -xOf - ./lib/systemd/system/acceptq-export.service`], { encoding: 'utf8' });
  t.regex(unit, /^ExecStart=\/usr\/bin\/acceptq export /m);
});

test.serial('installs offline with no build tool and no Node.js reachable: one tar and one link', (t) => {
  const install = `mkdir -p "${opt}" "${bin}" && tar -xzf "${tarball}" -C "${opt}" && ln -s "${opt}/acceptq/bin/acceptq" "${bin}/acceptq"`;
  // in a network namespace of its own: the interfaces it saw prove nothing could be downloaded
  const r = host.run(['sh', '-c', `${install} && cat /proc/self/net/dev`], { noNetwork: true });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '');
  t.deepEqual(r.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.trim().split(':')[0]), ['lo'], 'only loopback');
  t.true(fs.lstatSync(installed()).isSymbolicLink());
  // the library finds the libbpf it came with first, libelf and zlib on the host
  const ldd = execFileSync('ldd', [lib()], { encoding: 'utf8' });
  t.regex(ldd, new RegExp(`libbpf\\.so\\.1 => ${opt}/acceptq/build/libbpf\\.so\\.1`), ldd);
  t.regex(ldd, /libelf\.so\.1 => \//, ldd);
  t.notRegex(ldd, /not found/, ldd);
  const v = host.run([installed(), '--version'], { noNetwork: true });
  t.is(v.status, 0, v.stderr);
  t.is(v.stdout, `acceptq ${version}\n`);
  const names = buildToolNames();
  for (const n of ['cc', 'clang', 'make', 'bpftool']) t.true(names.onHost.includes(n), `${n} is on this build machine (and must vanish)`);
  // inside: `command -v` finds none of them, not even node; the compilers' and python's directories and the clone are empty
  const empty = ['/usr/lib/gcc', '/usr/include', ROOT].map((d) => `ls -A "${d}";`).join(' ');
  const probe = host.run(['sh', '-c', `for c in ${names.all.join(' ')}; do command -v "$c"; done; ${empty} true`]);
  t.is(probe.status, 0, probe.stderr);
  t.is(probe.stdout.trim(), '', 'nothing found');
});

test.serial('the installed acceptq: --once and --json count the lab\'s overflows as the kernel does', async (t) => {
  t.timeout(120000);
  t.true(fs.existsSync(installed()), 'installed by the test before');
  const json = host.start([installed(), '--json', '--interval', '0.5', '--duration', '60']);
  const once = host.start([installed(), '--once', '--interval', '12']);
  t.teardown(() => {
    for (const p of [json, once]) if (p.exitCode === null) p.kill('SIGKILL');
  });
  const records: any[] = [];
  let jsonErr = '';
  json.stderr!.on('data', (d) => (jsonErr += d));
  readline.createInterface({ input: json.stdout! }).on('line', (l) => records.push(JSON.parse(l)));
  const onceOut = finish(once, 60000);
  // counts start when acceptq attaches: attach both, then stage the overflows
  await awaitAttached(json.pid!);
  await awaitAttached(once.pid!);
  const { lab } = await startLabReporting<{ pid: number; netns: number; listeners: LabListener[] }>('syn');
  t.teardown(() => lab.stop());
  const reportedAt = Date.now();
  t.is(once.exitCode, null, 'the lab staged its overflows within --once\'s interval');
  const kernel = lab.netstat().TcpExtListenOverflows; // the lab's traffic has stopped: this holds still
  t.true(kernel > 0, 'the kernel counted overflows');
  const key = `${lab.listeners[0].address}:${lab.listeners[0].port}`;

  const deadline = Date.now() + 20000;
  let rec: any;
  while (!rec && Date.now() < deadline && json.exitCode === null) {
    rec = records.find((r) => Date.parse(r.time) > reportedAt && r.listeners.some((l: any) => l.netns === lab.netns));
    if (!rec) await new Promise((r) => setTimeout(r, 100));
  }
  t.truthy(rec, `a --json record after the lab's report; stderr: ${jsonErr}`);
  const row = rec?.listeners.find((l: any) => l.netns === lab.netns && `${l.address}:${l.port}` === key);
  t.is(row?.overflows, kernel, '--json: the listener\'s overflows = kernel ListenOverflows');
  t.is(row?.pid, lab.pid);
  t.is(rec?.namespaces.find((n: any) => n.netns === lab.netns)?.listenOverflows, kernel, '--json: the namespace\'s counter');
  t.log(`kernel ListenOverflows ${kernel}, --json ${row?.overflows}`);

  const o = await onceOut;
  t.is(o.code, 0, o.stderr);
  const line = o.stdout.split('\n').find((l) => l.includes(` ${key} `) && l.trim().startsWith(String(lab.netns)));
  t.truthy(line, o.stdout);
  const cells = line!.trim().split(/\s+/);
  t.is(cells[2], String(lab.pid));
  t.is(cells[8], String(kernel), '--once: OVERFLOWS = kernel ListenOverflows');
  t.true(o.stdout.includes(`netns ${lab.netns}: kernel ${SINCE_START}: ListenOverflows ${kernel}`), o.stdout);
  json.kill('SIGTERM');
  t.is((await finish(json, 10000)).code, 0);
});

const CANNOT = String.raw`^acceptq: cannot load the helper library \S+libacceptq\.so: `;
for (const [what, opts, expect] of [
  ['missing', () => ({ hide: [path.dirname(lib())] }), /^acceptq: the helper library \S+libacceptq\.so is missing: reinstall acceptq$/],
  ['broken (empty)', () => ({ nullFiles: [lib()] }), new RegExp(CANNOT + 'file too short; reinstall acceptq$')],
  [
    'without libelf',
    () => ({ nullFiles: [libelf()] }),
    new RegExp(CANNOT + String.raw`\S*libelf\.so\.1: file too short; install libelf1 and zlib1g$`),
  ],
] as const) {
  test.serial(`a library ${what}: one line saying so, exit 1`, (t) => {
    const r = host.run([installed(), '--once', '--interval', '1'], opts());
    t.is(r.status, 1, r.stderr);
    t.is(r.stdout, '');
    t.is(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    t.regex(r.stderr.trim(), expect);
  });
}

/** The host's libelf, as the bundled libbpf resolves it. */
function libelf(): string {
  const ldd = execFileSync('ldd', [path.join(opt, 'acceptq', 'build', 'libbpf.so.1')], { encoding: 'utf8' });
  const m = /libelf\.so\.1 => (\S+)/.exec(ldd);
  if (!m) throw new Error(`libbpf.so.1 does not link libelf: ${ldd}`);
  return fs.realpathSync(m[1]);
}
