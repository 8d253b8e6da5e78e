// The maintainer's quick loop (npm run test:unit): the tests that need no
// root and no kernel (recorded data, parsers, the keys, the layout, the
// manual, start-up), each checked to pass as an unprivileged user. The list
// is kept here alone; scripts/test runs these and every other test.
import fs from 'node:fs';

const UNIT_TESTS = [
  'model', 'keys', 'fleet-parse', 'fleet-stream', 'screens', 'man', 'layout', 'startup', 'imports', 'bench-ratio', 'estimates',
];

const { ava } = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

export default { ...ava, files: UNIT_TESTS.map((name) => `dist/test/${name}.test.js`) };
