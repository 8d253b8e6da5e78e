import path from 'node:path';

/** Repository root (tests run from dist/test/...). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
export const LAB = path.join(ROOT, 'build', 'acceptq-lab');
