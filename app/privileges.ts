/** Whether this process may load BPF programs and enter network namespaces. */
import fs from 'node:fs';

const CAP_SYS_ADMIN = 21;

export function effectiveCaps(): bigint {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    return m ? BigInt('0x' + m[1]) : 0n;
  } catch {
    return 0n;
  }
}

/**
 * null when allowed, else the one-line reason. CAP_SYS_ADMIN is the one that
 * matters: it allows BPF on every kernel and setns() into other namespaces.
 */
export function privilegeProblem(caps: bigint = effectiveCaps()): string | null {
  if ((caps & (1n << BigInt(CAP_SYS_ADMIN))) !== 0n) return null;
  return 'acceptq: needs root (CAP_SYS_ADMIN, for BPF and for entering network namespaces): run it with sudo';
}
