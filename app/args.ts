/**
 * The checks of flag values that more than one command takes (the main
 * command and `acceptq export` share --port, --pid and --netns), so each
 * flag means, and refuses, the same everywhere.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { RowFilter } from '../src/model/view';
import { PROBE_SETS, type ProbeSet } from '../src/native/probe-sets';

/** A bad command line: the command says what is wrong in one line and exits 2. */
export class UsageError extends Error {}

/** A value-taking flag followed by a word that starts with '-' (`--port -1`): Node will not take it as the value. */
export class DashValue extends UsageError {
  constructor(readonly flag: string, readonly value: string) {
    super(/^-\d/.test(value) ? `${flag} wants a value; one that starts with '-' is written ${flag}=${value}` : `${flag} wants a value before ${value}`);
  }
}

/** Node's refusal of a command line, in acceptq's words: what is wrong, naming the word at fault. */
function flagError(e: Error & { code?: string }, argv: string[]): Error {
  const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? '';
  const flag = quoted.replace(/ <value>$/, '');
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option '${flag}' (--help lists the options)`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument '${flag}': only options are taken (--help lists them)`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/ambiguous/.test(e.message)) return new DashValue(flag, argv[argv.indexOf(flag) + 1] ?? '');
      if (/does not take an argument/.test(e.message)) return new UsageError(`${flag} takes no value`);
      return new UsageError(`${flag} wants a value`);
    default:
      return e;
  }
}

/** A command's flags, parsed strictly (options only); a refusal is a UsageError naming the word at fault. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (e) {
    throw flagError(e as Error & { code?: string }, argv);
  }
}

/**
 * parse(argv), with a flag's negative value checked as the flag checks
 * any value: `--port -1` is refused for not being a port (as `--port=-1`
 * is), not for its dash. A value the flag would take is still refused,
 * pointing at the --flag=VALUE spelling.
 */
export function checkDashValues<T>(argv: string[], parse: (argv: string[]) => T): T {
  try {
    return parse(argv);
  } catch (e) {
    if (!(e instanceof DashValue) || !/^-\d/.test(e.value)) throw e;
    const i = argv.indexOf(e.flag);
    try {
      parse([...argv.slice(0, i), `${e.flag}=${e.value}`, ...argv.slice(i + 2)]);
    } catch (again) {
      if (again instanceof Error && again.message.includes(e.flag)) throw again;
    }
    throw e;
  }
}

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

/** --probe (the main command, run and export take it): a probe set, auto when not given. */
export function probeSet(v: string | undefined): ProbeSet {
  const probe = (v ?? 'auto') as ProbeSet;
  if (!PROBE_SETS.includes(probe)) throw new UsageError(`--probe wants one of ${PROBE_SETS.join(', ')}, not '${v}'`);
  return probe;
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
