/**
 * This host's kernel side, for the commands that attach (the dashboard,
 * run, export): open the helper once the privileges are there, and give
 * them up once everything is attached and bound.
 */
import { exitNow, onExit } from './exit';
import type { Helper } from '../src/native/helper';
import type { Options } from './options';
import { privilegeProblem } from './privileges';

/**
 * The binding, loaded on first use: it loads native code (FFI, the
 * library), which --help, --version, a bad flag or a replay never need.
 */
function binding(): typeof import('../src/native/helper') {
  return require('../src/native/helper');
}

/** The helper, loaded and attached as the options ask; not root, or a refusal: one line, exit 1. */
export function openHelper(o: Options): Helper {
  const problem = privilegeProblem();
  if (problem) exitNow(1, problem);
  const { Helper, HelperError } = binding();
  try {
    const h = Helper.open({ probe: o.probe, eventsPerSec: o.eventsPerSec, maxListeners: o.maxListeners, maxNamespaces: o.maxNamespaces, logPath: o.debug });
    onExit(() => h.close());
    return h;
  } catch (e) {
    if (e instanceof HelperError) exitNow(1, `acceptq: ${e.message}`);
    throw e;
  }
}

/**
 * Once everything is loaded, attached and bound: give up what the rest of
 * the run does not need. A failure ends the run unless --keep-root asked
 * to go on as root.
 */
export function dropPrivileges(keepRoot: boolean | undefined): void {
  try {
    binding().dropCapabilities();
  } catch (e) {
    const why = (e as Error).message;
    if (!keepRoot) exitNow(1, `acceptq: cannot drop privileges after attaching: ${why} (--keep-root runs on as root)`);
    process.stderr.write(`acceptq: warning: could not drop privileges, running on as root (--keep-root): ${why}\n`);
  }
}
