/**
 * The release bundle as a server meets it: built by scripts/release, then
 * unpacked and run in a mount namespace where no compiler, linker, make,
 * python, bpftool, npm tool or Node.js is reachable, and where the clone
 * itself is hidden (so nothing can fall back on its build/, dist/,
 * node_modules/ or .runtime/).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../harness/paths';

/** Build the packages into dir (the first time, the Debian 11 build root too); returns their paths. */
export function buildBundle(dir: string): { tarball: string; deb: string } {
  const out = execFileSync(path.join(ROOT, 'scripts', 'release'), ['--out', dir], { encoding: 'utf8', timeout: 600000 });
  const lines = out.trim().split('\n');
  const tarball = lines.find((l) => l.endsWith('.tgz'));
  const deb = lines.find((l) => l.endsWith('.deb'));
  if (!tarball || !deb) throw new Error(`scripts/release named no .tgz and .deb: ${out}`);
  return { tarball, deb };
}

const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** The programs the server side uses: the wrapper's shell tools, tar to unpack, mount to set the namespace up (no node: the bundle has its own). */
const TOOLS = ['sh', 'readlink', 'dirname', 'tar', 'gzip', 'mkdir', 'ln', 'mount', 'ls', 'cat'];
/** Build tools by name: none may be reachable in the namespace. */
export const BUILD_TOOL = new RegExp(
  [
    String.raw`^(cc|c\+\+|gcc|g\+\+|cpp|clang|clang\+\+|llc|lld|ld|ld\.\w+|as|make|gmake|cmake)$`,
    '^(python|python3|pkg-config|bpftool|node-gyp|npm|npx|corepack|node|nodejs)$',
    String.raw`^(clang|gcc|g\+\+|cpp|llc|python3)[-.]\d`, // versioned: clang-14, gcc-12, python3.11
    String.raw`-linux-gnu-(gcc|g\+\+|cpp|ld|as)`, // x86_64-linux-gnu-gcc-12
  ].join('|'),
);
const FIXED_BUILD_TOOLS = ['cc', 'c++', 'gcc', 'clang', 'ld', 'as', 'make', 'python', 'python3', 'bpftool', 'node-gyp', 'npm', 'npx', 'node'];

function executable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function which(name: string): string {
  const dirs = [...PATH_DIRS, ...(process.env.PATH ?? '').split(':')];
  const hit = dirs.map((d) => path.join(d, name)).find(executable);
  if (!hit) throw new Error(`${name} is not installed`);
  return fs.realpathSync(hit);
}

/** Build tools this (build) machine has on its PATH, by name, plus the usual names. */
export function buildToolNames(): { onHost: string[]; all: string[] } {
  const onHost = new Set<string>();
  const dirs = new Set([...PATH_DIRS, ...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/'))]);
  for (const d of dirs) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) if (BUILD_TOOL.test(n) && executable(path.join(d, n))) onHost.add(n);
  }
  return { onHost: [...onHost].sort(), all: [...new Set([...onHost, ...FIXED_BUILD_TOOLS])].sort() };
}

/** Directories of compilers, headers, python and npm's node-gyp, and the clone: hidden under an empty tmpfs. */
export function hiddenDirs(): string[] {
  const globs = (dir: string, re: RegExp): string[] => {
    try {
      return fs.readdirSync(dir).filter((n) => re.test(n)).map((n) => path.join(dir, n));
    } catch {
      return [];
    }
  };
  const home = process.env.HOME ?? '/root';
  return [
    ...globs('/usr/lib', /^(llvm-\d+|gcc|gcc-cross|node_modules|python3(\.\d+)?)$/),
    ...globs('/usr/local/lib', /^(node_modules|python3(\.\d+)?)$/),
    ...globs('/usr/libexec', /^gcc$/),
    ...globs('/usr/share', /^nodejs$/),
    ...globs(home, /^\.(pyenv|npm|node-gyp)$/),
    ...globs(path.join(home, '.cache'), /^node-gyp$/),
    '/usr/include',
    ROOT,
  ].filter((d) => fs.existsSync(d) && fs.statSync(d).isDirectory());
}

// Runs in the new mount namespace as root: $1 a scratch directory, then the command.
// Tools are bind-mounted into the scratch directory first; then each PATH
// directory becomes an empty tmpfs holding links to them only.
const SETUP = `
set -eu
k=$1/tools; shift
mkdir -p "$k"
for e in $ACQ_TOOLS; do n=\${e%%=*}; : > "$k/$n"; mount --bind "\${e#*=}" "$k/$n"; done
for d in $ACQ_PATH_DIRS; do "$k/mount" -t tmpfs -o mode=755 acq-bare "$d"; done
for e in $ACQ_TOOLS; do n=\${e%%=*}; "$k/ln" -s "$k/$n" "/usr/bin/$n"; done
for d in $ACQ_HIDE; do "$k/mount" -t tmpfs -o mode=755 acq-bare "$d"; done
for f in $ACQ_NULL; do "$k/mount" --bind /dev/null "$f"; done
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
for c in $ACQ_ABSENT; do
  if command -v "$c" >/dev/null 2>&1; then echo "acq-bare: $c is reachable as $(command -v "$c")" >&2; exit 97; fi
done
exec "$@"
`;

export interface BareOptions {
  /** Also a network namespace of its own (only loopback, down): nothing can be downloaded. */
  noNetwork?: boolean;
  /** Files to replace with /dev/null (an empty file) in the namespace. */
  nullFiles?: string[];
  /** More directories to hide. */
  hide?: string[];
}

/** A server without build tools: runs commands in a mount namespace set up as SETUP says. */
export class BareHost {
  readonly absent: string[];
  private readonly tools: string[];
  private readonly pathDirs: string[];

  constructor(private readonly scratch: string) {
    this.absent = buildToolNames().all;
    this.tools = TOOLS.map((n) => `${n}=${which(n)}`);
    // a PATH directory that is a symlink (merged /usr: /bin -> usr/bin) is covered by its target
    this.pathDirs = PATH_DIRS.filter((d) => fs.existsSync(d) && !fs.lstatSync(d).isSymbolicLink());
  }

  private argv(cmd: string[], o: BareOptions): { args: string[]; env: NodeJS.ProcessEnv } {
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      ACQ_TOOLS: this.tools.join(' '),
      ACQ_PATH_DIRS: this.pathDirs.join(' '),
      ACQ_HIDE: [...hiddenDirs(), ...(o.hide ?? [])].join(' '),
      ACQ_NULL: (o.nullFiles ?? []).join(' '),
      ACQ_ABSENT: this.absent.join(' '),
    };
    const args = ['-m', ...(o.noNetwork ? ['-n'] : []), '/bin/bash', '-c', SETUP, 'acq-bare', this.scratch, ...cmd];
    return { args, env };
  }

  run(cmd: string[], o: BareOptions = {}): SpawnSyncReturns<string> {
    const { args, env } = this.argv(cmd, o);
    return spawnSync('unshare', args, { env, encoding: 'utf8', timeout: 60000, cwd: '/' });
  }

  /** The command's pid is the spawned one: unshare, bash and the wrapper each exec the next. */
  start(cmd: string[], o: BareOptions = {}): ChildProcess {
    const { args, env } = this.argv(cmd, o);
    return spawn('unshare', args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
  }
}

/** A child's whole output and exit status (bounded: a kill after timeoutMs). */
export async function finish(p: ChildProcess, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d) => (stdout += d));
  p.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', r)));
  clearTimeout(timer);
  await new Promise((r) => setImmediate(r)); // the last chunks of output
  return { code, stdout, stderr };
}
