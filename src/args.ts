/**
 * The checks of flag values that more than one command takes (the main
 * command and `acceptq export` share --port, --pid and --netns), so each
 * flag means, and refuses, the same everywhere.
 */
import type { RowFilter } from './model/view';

/** A bad flag value: the command prints its usage and exits 2. */
export class UsageError extends Error {}

export function positiveNumber(name: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0) || n > max) {
    throw new UsageError(`--${name} wants a number of seconds > 0 and <= ${max}, not '${v}'`);
  }
  return n;
}

export function integer(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} wants a whole number from ${min} to ${max}, not '${v}'`);
  }
  return Number(v);
}

/** --netns: an inode number or a cookie, kept as its decimal text (a cookie can pass 2^53). */
export function netnsArg(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || BigInt(v) < 1n || BigInt(v) > 2n ** 64n - 1n) {
    throw new UsageError(`--netns wants a namespace's inode number or cookie (a whole number from 1 to 2^64 - 1), not '${v}'`);
  }
  return BigInt(v).toString();
}

/** parseArgs's spelling of the filter flags, for a command's options table. */
export const FILTER_FLAGS = { port: { type: 'string' }, pid: { type: 'string' }, netns: { type: 'string' } } as const;

/** --port, --pid and --netns as a row filter (each undefined when not given). */
export function rowFilter(v: { port?: string; pid?: string; netns?: string }): RowFilter {
  return { port: integer('port', v.port, 1, 65535), pid: integer('pid', v.pid, 1, 2 ** 31), netns: netnsArg(v.netns) };
}
