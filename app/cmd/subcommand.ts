/** What every subcommand (run, export, fleet) does with its options first. */
import { checkDashValues } from '../args';
import { exitNow, exitOnSignals, exitUsage } from '../exit';

/** -h or --help among a subcommand's own options (before a `--`, after which the words are the command's). */
export function wantsHelp(argv: string[]): boolean {
  const own = argv.indexOf('--') < 0 ? argv : argv.slice(0, argv.indexOf('--'));
  return own.includes('--help') || own.includes('-h');
}

/** A subcommand's options (bad ones: a line saying so, exit 2; --help: its usage, exit 0); from here a signal ends it cleanly. */
export function subcommandOptions<T>(argv: string[], parse: (argv: string[]) => T, usage: string): T {
  if (wantsHelp(argv)) {
    process.stdout.write(usage);
    exitNow(0);
  }
  let o: T;
  try {
    o = checkDashValues(argv, parse);
  } catch (e) {
    exitUsage((e as Error).message, argv.length ? undefined : usage);
  }
  exitOnSignals();
  return o;
}
