// The manual page (docs/acceptq.8, installed by the .deb as acceptq(8)):
// groff reads it without a warning, and it describes every flag that the
// --help of each command offers, so the two cannot drift apart.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, ROOT } from '../harness/paths';

const MAN = path.join(ROOT, 'docs', 'acceptq.8');
/** The page as a reader sees it: roff's escaped hyphens plain. */
const page = fs.readFileSync(MAN, 'utf8').replace(/\\-/g, '-');

test('groff formats it without a warning', (t) => {
  const r = spawnSync('groff', ['-man', '-ww', '-z', MAN], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '');
});

test('it names the version of package.json', (t) => {
  const version: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
  t.regex(page, new RegExp(`^\\.TH ACCEPTQ 8 "[0-9-]+" "acceptq ${version.replace(/\./g, '\\.')}"`, 'm'));
});

for (const cmd of [[], ['run'], ['export'], ['fleet']]) {
  test(`every flag of acceptq ${[...cmd, '--help'].join(' ')} is in it`, (t) => {
    const r = spawnSync(process.execPath, [CLI, ...cmd, '--help'], { encoding: 'utf8', timeout: 30000 });
    t.is(r.status, 0, r.stderr);
    const flags = [...new Set(r.stdout.match(/(?<![\w-])--[a-z][\w.-]*/g) ?? [])];
    t.true(flags.length >= 3, r.stdout);
    const missing = flags.filter((f) => !new RegExp(`(?<![\\w-])${f.replace(/\./g, '\\.')}(?![\\w-])`).test(page));
    t.deepEqual(missing, [], `flags of acceptq ${cmd.join(' ')} not in docs/acceptq.8`);
  });
}
