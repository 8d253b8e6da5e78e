/** Placeholder replaced by the dashboard implementation. */
import type { Collector } from '../src/model/collector';
import type { Options } from '../src/cli';

export async function runDashboard(_o: Options, _c: Collector, _onExit: (fn: () => void) => void): Promise<void> {
  throw new Error('dashboard not built yet');
}
