/**
 * The probe sets' names, in the order of `enum acq_probe` (bpf/acceptq.h):
 * a set's index is the value the library is given. A file of constants
 * only, so that the flag parsers can check --probe without loading the
 * native binding; test/layout.test.ts checks it against the C enum.
 */
export const PROBE_SETS = ['auto', 'tracepoint', 'fentry', 'kprobe'] as const;
export type ProbeSet = (typeof PROBE_SETS)[number];
