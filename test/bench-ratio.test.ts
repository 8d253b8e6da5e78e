// Unit tests of the bench's paired ratios and their confidence interval: no kernel needed.
import test from 'ava';
import { ciText, covers, pairedRatio, ratioText, verdict } from '../scripts/bench.d/ratio';

test('one round (--quick) has no interval: it says so, and decides nothing', (t) => {
  const p = pairedRatio([990], [1000]);
  t.is(p.median, 0.99);
  t.is(p.ciLow, null);
  t.is(p.ciHigh, null);
  t.is(ciText(p), 'one round: no interval');
  t.is(ratioText(p), '0.99 (rounds 0.99–0.99; mean 0.99, 95 % CI: one round: no interval)');
  t.notRegex(ratioText(p), /Infinity|NaN/);
  t.is(verdict(p, 0.98), null);
  t.is(covers(p, 1), null);
  // the JSON results carry no infinity either (JSON.stringify would write null for it, silently)
  t.deepEqual(JSON.parse(JSON.stringify(p)), p);
});

test('several rounds: the Student t interval of the mean', (t) => {
  // ratios 0.98, 0.99, 1.00: mean 0.99, sd 0.01, t(2) = 4.303, half = 4.303 * 0.01 / sqrt(3) = 0.02484
  const p = pairedRatio([98, 99, 100], [100, 100, 100]);
  t.is(p.mean, 0.99);
  t.is(p.ciLow, 0.965);
  t.is(p.ciHigh, 1.015);
  t.is(ciText(p), '0.965–1.015');
  t.is(verdict(p, 0.98), null); // straddles the target
  t.is(verdict(p, 0.9), true);
  t.is(verdict(p, 1.1), false);
  t.is(covers(p, 1), true);
});
