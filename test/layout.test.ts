// The ref-struct-di mirrors must match the C structs byte for byte.
import test from 'ava';
import { MIRRORS, fieldOffset, fieldSize } from '../src/native/structs';
import { abiVersion, layoutReport } from '../src/native/helper';

test('the library speaks the binding ABI version', (t) => {
  t.is(abiVersion(), 1);
});

test('every struct size and field offset agrees with the C side', (t) => {
  const report = layoutReport();
  t.true(report.length > 40, 'the library reports its layout');
  let checked = 0;
  for (const e of report) {
    const [struct, field] = e.name.split('.');
    const mirror = MIRRORS[struct];
    t.truthy(mirror, `no mirror for ${struct}`);
    if (!field) {
      t.is(mirror.size, e.size, `sizeof(struct ${struct})`);
    } else {
      t.is(fieldOffset(mirror, field), e.offset, `offsetof(${struct}, ${field})`);
      t.is(fieldSize(mirror, field), e.size, `sizeof(${struct}.${field})`);
    }
    checked++;
  }
  // and no mirror field is missing from the report (padding excepted)
  for (const [struct, mirror] of Object.entries(MIRRORS)) {
    for (const f of Object.keys(mirror.fields)) {
      if (f.startsWith('_pad')) continue;
      t.truthy(report.find((e) => e.name === `${struct}.${f}`), `${struct}.${f} reported by the library`);
    }
  }
  t.is(checked, report.length);
});
