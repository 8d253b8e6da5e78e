/**
 * Commands run as nobody (uid and gid 65534, no capabilities), with this
 * repository reachable: a clone under a directory others cannot enter (root's
 * home is 0700, many homes 0750) is mounted back where it is, in a mount
 * namespace of the command's own, over a tmpfs on that directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './paths';

export const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];

/** The topmost directory above root that others may not enter, if any. */
function closedAbove(root: string): string | undefined {
  let closed: string | undefined;
  for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) closed = dir;
    if (path.dirname(dir) === dir) return closed;
  }
}

// $1 the repository, $2 the closed directory above it, then the command
const REACH = `set -eu
root=$1; closed=$2; shift 2
exec 3<"$root"
mount -t tmpfs -o mode=755 acq-reach "$closed"
mkdir -p "$root"
mount -c --bind /proc/self/fd/3 "$root" # -c: the open directory, not the path it had
exec 3<&-
exec "$@"`;

/** argv that runs cmd as nobody, the repository (or another tree: root) reachable. */
export function asNobody(cmd: string[], root = ROOT): string[] {
  const closed = closedAbove(root);
  if (!closed) return [...AS_NOBODY, ...cmd];
  return ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', REACH, 'reach', root, closed, ...AS_NOBODY, ...cmd];
}

/** The same as one shell command line (for a terminal to run). */
export function asNobodyShell(cmd: string[]): string {
  return asNobody(cmd).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}
