/**
 * The accept-queue wait of one interval, from the kernel side's cumulative
 * counts: how many accept() calls were timed, their exact mean, shortest and
 * longest wait, and the median and 99th percentile estimated from the log2
 * histogram (bucket i: [2^i, 2^(i+1)) µs, 0 µs in bucket 0, the last
 * open-ended). Inside a bucket the estimate interpolates linearly, then it is
 * clamped to [shortest, longest]: with a constant delay every sample sits in
 * one bucket and shortest ≈ longest, so the estimate is close to exact.
 */
import { WAIT_BUCKETS } from './raw';
import type { ListenerRow } from './types';

export type WaitSummary = Pick<ListenerRow, 'waitCount' | 'waitMeanMs' | 'waitMinMs' | 'waitMaxMs' | 'waitP50Ms' | 'waitP99Ms' | 'waitHist'>;

/** Lower and upper bound of bucket i in µs (the last bucket's upper bound is open: twice its lower). */
export function bucketBounds(i: number): [number, number] {
  return [i === 0 ? 0 : 2 ** i, 2 ** (i + 1)];
}

/** The q-quantile (0 < q <= 1) of a histogram, µs, interpolated inside its bucket; null if empty. */
export function histQuantileUs(hist: number[], q: number): number | null {
  const n = hist.reduce((a, b) => a + b, 0);
  if (n <= 0) return null;
  const rank = q * n;
  let below = 0;
  for (let i = 0; i < hist.length; i++) {
    if (hist[i] > 0 && below + hist[i] >= rank) {
      const [lo, hi] = bucketBounds(i);
      return lo + ((hi - lo) * Math.max(rank - below, 0)) / hist[i];
    }
    below += hist[i];
  }
  return bucketBounds(hist.length - 1)[1];
}

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
const ms = (us: number) => us / 1000;

/**
 * One interval's waits: count, sum and histogram are the moves of the
 * cumulative counters over the interval; minUs and maxUs the kernel side's
 * extremes of the same interval (0 and 0: none). Extremes that cannot be the
 * histogram's (the interval's first waits were timed after the kernel side
 * started the next one) are left out (null) rather than trusted.
 */
export function waitSummary(count: number, sumUs: number, hist: number[], minUs: number, maxUs: number): WaitSummary {
  if (count <= 0) {
    return { waitCount: 0, waitMeanMs: null, waitMinMs: null, waitMaxMs: null, waitP50Ms: null, waitP99Ms: null, waitHist: hist };
  }
  const top = hist.reduce((last, v, i) => (v > 0 ? i : last), -1);
  const extremes = maxUs >= minUs && (top < 0 || maxUs >= bucketBounds(top)[0]);
  const quantile = (q: number) => {
    const v = histQuantileUs(hist, q);
    return v === null ? null : ms(extremes ? clamp(v, minUs, maxUs) : v);
  };
  return {
    waitCount: count,
    waitMeanMs: ms(sumUs / count),
    waitMinMs: extremes ? ms(minUs) : null,
    waitMaxMs: extremes ? ms(maxUs) : null,
    waitP50Ms: quantile(0.5),
    waitP99Ms: quantile(0.99),
    waitHist: hist,
  };
}

/** A histogram's bucket deltas (never negative), WAIT_BUCKETS long. */
export function histDelta(now: number[], before: number[] | undefined): number[] {
  const out = new Array<number>(WAIT_BUCKETS);
  for (let i = 0; i < WAIT_BUCKETS; i++) out[i] = Math.max((now[i] ?? 0) - (before?.[i] ?? 0), 0);
  return out;
}
