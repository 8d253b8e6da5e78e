import fs from 'node:fs';
import path from 'node:path';

/** Repository root: the nearest directory above this file with the project's package.json (works from dist/ at any depth). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'acceptq') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no acceptq package.json above ${from}`);
  }
}

export const ROOT = findRoot(__dirname);
export const CLI = path.join(ROOT, 'dist', 'app', 'cli.js');
export const LAB = path.join(ROOT, 'build', 'acceptq-lab');

/** The words of a `name="..."` line of ./acceptq (the release bundle copies those lines). */
function launcherWords(name: string): string[] {
  const m = new RegExp(`^${name}="(.*)"$`, 'm').exec(fs.readFileSync(path.join(ROOT, 'acceptq'), 'utf8'));
  if (!m) throw new Error(`no ${name} line in ./acceptq`);
  return m[1].split(' ').filter(Boolean);
}

/** The V8 flags the launchers give node (node_flags): measurements run the CLI with them too. */
export const NODE_FLAGS: string[] = launcherWords('node_flags');
/** The V8 flags the launchers give `acceptq fleet` (node_flags_fleet). */
export const NODE_FLAGS_FLEET: string[] = launcherWords('node_flags_fleet');

/** The environment the launchers give node (node_env: NAME=value ...): measurements run the CLI with it too. */
export const NODE_ENV: Record<string, string> = Object.fromEntries(
  launcherWords('node_env').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
