/**
 * The service a listener belongs to, named from the cgroup (v2) its socket
 * was created in, the way a person names it: a Kubernetes pod by its UID
 * (`pod:<uid>`), a container by its runtime and the 12 hex characters
 * `docker ps` shows (`docker:0123456789ab`), a systemd unit by its name
 * (`nginx.service`), anything else by the cgroup's own name; the root
 * cgroup names none (''). Only the last components count, as the tools
 * that make these cgroups name them: a tree nested under another (a
 * container's, a test's) names its services the same way.
 */

// <runtime>-<id>.scope (systemd driver), libpod-<id> (podman, cgroupfs driver)
const CONTAINER = /^(docker|cri-containerd|crio|libpod|nerdctl)-([0-9a-f]{64})(?:\.scope)?$/;
const RUNTIMES: Record<string, string> = {
  docker: 'docker', 'cri-containerd': 'containerd', crio: 'crio', libpod: 'podman', nerdctl: 'containerd',
};
// a bare id (cgroupfs driver: /docker/<id>, /kubepods/burstable/pod<uid>/<id>)
const BARE_ID = /^[0-9a-f]{64}$/;
// kubepods-burstable-pod<uid with _ for ->.slice (systemd driver), pod<uid> (cgroupfs driver)
const POD = /^(?:kubepods(?:-[a-z]+)?-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;
const LXC = /^lxc\.payload\.(.+)$/;
const UNIT = /\.(?:service|scope|socket|mount|swap)$/;

const known = new Map<string, string>();

/** The service of a cgroup path ("/system.slice/nginx.service"); '' for the root or no path. */
export function serviceName(cgroup: string): string {
  // every row, every tick: a host has few cgroups with listeners
  let name = known.get(cgroup);
  if (name === undefined) {
    if (known.size >= 4096) known.clear();
    known.set(cgroup, (name = nameOf(cgroup)));
  }
  return name;
}

function nameOf(cgroup: string): string {
  const parts = cgroup.split('/').filter((p) => p !== '' && p !== '...');
  if (!parts.length) return '';
  for (let i = parts.length - 1; i >= 0; i--) {
    const pod = POD.exec(parts[i]);
    if (pod) return `pod:${pod[1].replace(/_/g, '-')}`;
  }
  for (let i = parts.length - 1; i >= 0; i--) {
    const c = CONTAINER.exec(parts[i]);
    if (c) return `${RUNTIMES[c[1]]}:${c[2].slice(0, 12)}`;
    if (BARE_ID.test(parts[i])) return `${parts[i - 1] === 'docker' ? 'docker' : 'container'}:${parts[i].slice(0, 12)}`;
    const lxc = LXC.exec(parts[i]);
    if (lxc) return `lxc:${lxc[1]}`;
  }
  for (let i = parts.length - 1; i >= 0; i--) if (UNIT.test(parts[i])) return parts[i];
  return parts[parts.length - 1];
}
