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
export const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
export const LAB = path.join(ROOT, 'build', 'acceptq-lab');

/** The V8 flags the launchers give node (the node_flags line of ./acceptq; the release bundle copies it): measurements run the CLI with them too. */
export const NODE_FLAGS: string[] = (() => {
  const m = /^node_flags="(.*)"$/m.exec(fs.readFileSync(path.join(ROOT, 'acceptq'), 'utf8'));
  if (!m) throw new Error('no node_flags line in ./acceptq');
  return m[1].split(' ').filter(Boolean);
})();

/** The environment the launchers give node (the node_env line of ./acceptq: NAME=value ...): measurements run the CLI with it too. */
export const NODE_ENV: Record<string, string> = (() => {
  const m = /^node_env="(.*)"$/m.exec(fs.readFileSync(path.join(ROOT, 'acceptq'), 'utf8'));
  if (!m) throw new Error('no node_env line in ./acceptq');
  return Object.fromEntries(m[1].split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
})();
