// The import direction of every TypeScript file of src/, ui/ and app/, as
// docs/architecture.md states it: the model imports no other layer; the
// binding imports only the model (the raw records it produces are the
// model's types); the outputs, recordings, exporter and fleet import the
// model and what comes before them; the dashboard imports no application
// file; only app/ (the entry point and the commands) imports everything.
// Packages with native code or a terminal stay in their layer.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../harness/paths';

/** What each part may import besides itself (a part: a folder of src/, src/version, ui, app). */
const MAY_IMPORT: Record<string, string[]> = {
  'src/model': [],
  'src/version': [],
  'src/native': ['src/model'],
  'src/record': ['src/model'],
  'src/export': ['src/model', 'src/version'],
  'src/fleet': ['src/model', 'src/export'],
  'src/output': ['src/model', 'src/fleet'],
  ui: ['src/model', 'src/fleet'],
  app: ['src/model', 'src/version', 'src/native', 'src/record', 'src/export', 'src/fleet', 'src/output', 'ui'],
};

/** Packages only some parts may import: native code (FFI) and the terminal. */
const PACKAGE_OWNERS: Array<[RegExp, string]> = [
  [/^(@2060\.io\/(ffi|ref)-napi|ref-struct-di)(\/|$)/, 'src/native'],
  [/^blessed(-contrib)?(\/|$)/, 'ui'],
];

/** Every module a source imports: static, re-exported, dynamic, required or named in a type. */
function importsOf(source: string): string[] {
  const found = source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm);
  return [...found].map((m) => m[2]);
}

/** The part a file (relative to the root, without .ts) belongs to; undefined: none of src/, ui/, app/. */
function partOf(file: string): string | undefined {
  const [top, second] = file.split('/');
  if (top === 'ui' || top === 'app') return top;
  // a folder of src/, or a file of its own (src/version)
  return top === 'src' && second ? `src/${second}` : undefined;
}

/** Every import against the rules, in words; [] if none. files: path relative to the root -> source. */
function violations(files: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, source] of files) {
    const from = partOf(file.replace(/\.ts$/, ''))!;
    for (const spec of importsOf(source)) {
      if (spec.startsWith('.')) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
        const to = partOf(target);
        if (to === undefined) {
          if (!target.endsWith('.json')) problems.push(`${file}: imports ${spec}, outside src/, ui/ and app/`);
        } else if (to !== from && !(MAY_IMPORT[from] ?? []).includes(to)) {
          problems.push(`${file} (${from}) imports ${spec} (${to})`);
        }
      } else {
        for (const [pkg, owner] of PACKAGE_OWNERS) if (pkg.test(spec) && from !== owner) problems.push(`${file} (${from}) imports ${spec}: only ${owner} may`);
      }
    }
  }
  return problems;
}

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : []);
}

test('every file of src/, ui/ and app/ imports only what its layer may', (t) => {
  const files = new Map(['src', 'ui', 'app'].flatMap(sources).map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8')]));
  t.true(files.size > 50, `${files.size} files`);
  for (const file of files.keys()) t.not(MAY_IMPORT[partOf(file.replace(/\.ts$/, ''))!], undefined, `${file}: a part the rules do not name`);
  t.deepEqual(violations(files), []);
});

test('the check sees an import against the direction, of every kind', (t) => {
  const wrong = new Map([
    ['src/model/a.ts', "import { x } from '../native/helper';"],
    ['src/native/b.ts', "import type { Y } from '../../ui/keys';"],
    ['ui/c.ts', "const { z } = await import('../app/options');"],
    ['src/output/d.ts', "export { w } from '../export/metrics';"],
    ['src/record/e.ts', "const f = require('../native/helper');"],
    ['src/model/f.ts', "import '../../harness/paths';"],
    ['src/fleet/g.ts', "import ffi from '@2060.io/ffi-napi';"],
    ['app/h.ts', "import blessed from 'blessed';"],
  ]);
  t.is(violations(wrong).length, wrong.size, violations(wrong).join('\n'));
  t.deepEqual(violations(new Map([['app/i.ts', "import { Helper } from '../src/native/helper';\nimport { keyAction } from '../ui/keys';"]])), []);
});
