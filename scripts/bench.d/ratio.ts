/**
 * The bench's paired ratios: each round's monitor against the same round's
 * run without one, their median and spread, and a 95 % confidence interval
 * of their mean (Student t, rounds as independent pairs). The interval says
 * whether the rounds can tell a target from its neighbours at all; one
 * round (--quick) has no interval, and says so rather than print infinities.
 */
import { median, round } from './common';

// Two-sided 95 % Student t quantiles by degrees of freedom (1..30; beyond, the normal's 1.96).
const T95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101,
  2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export interface PairedRatio {
  ratios: number[];
  median: number;
  min: number;
  max: number;
  mean: number;
  /** The 95 % confidence interval of the mean; null with fewer than two rounds. */
  ciLow: number | null;
  ciHigh: number | null;
}

export function pairedRatio(xs: number[], base: number[]): PairedRatio {
  const ratios = xs.map((x, i) => x / base[i]);
  const n = ratios.length;
  const mean = ratios.reduce((a, b) => a + b, 0) / n;
  let ciLow: number | null = null;
  let ciHigh: number | null = null;
  if (n > 1) {
    const sd = Math.sqrt(ratios.reduce((a, r) => a + (r - mean) ** 2, 0) / (n - 1));
    const half = (T95[Math.min(n - 1, T95.length) - 1] ?? 1.96) * (sd / Math.sqrt(n));
    ciLow = round(mean - half, 3);
    ciHigh = round(mean + half, 3);
  }
  return {
    ratios: ratios.map((v) => round(v, 4)),
    median: round(median(ratios), 3),
    min: round(Math.min(...ratios), 3),
    max: round(Math.max(...ratios), 3),
    mean: round(mean, 3),
    ciLow,
    ciHigh,
  };
}

/** "0.981–0.995", or "one round: no interval". */
export function ciText(p: PairedRatio): string {
  return p.ciLow === null || p.ciHigh === null ? 'one round: no interval' : `${p.ciLow}–${p.ciHigh}`;
}

/** The interval's width; null without one. */
export function ciWidth(p: PairedRatio): number | null {
  return p.ciLow === null || p.ciHigh === null ? null : round(p.ciHigh - p.ciLow, 3);
}

/** met: the whole interval at or above the target; missed: all below; null: it straddles the target or there is none (cannot decide). */
export function verdict(p: PairedRatio, target: number): boolean | null {
  if (p.ciLow === null || p.ciHigh === null) return null;
  return p.ciLow >= target ? true : p.ciHigh < target ? false : null;
}

/** The interval holds `value` (true), or null when it does not or there is none. */
export function covers(p: PairedRatio, value: number): true | null {
  return p.ciLow !== null && p.ciHigh !== null && p.ciLow <= value && p.ciHigh >= value ? true : null;
}

/** "0.99 (rounds 0.97–1.01; mean 0.99, 95 % CI 0.98–1.00)"; one round: "... 95 % CI: one round: no interval". */
export function ratioText(p: PairedRatio): string {
  const ci = ciWidth(p) === null ? `95 % CI: ${ciText(p)}` : `95 % CI ${ciText(p)}`;
  return `${p.median} (rounds ${p.min}–${p.max}; mean ${p.mean}, ${ci})`;
}
