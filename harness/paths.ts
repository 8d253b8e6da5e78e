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
