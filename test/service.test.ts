// Which service a listener belongs to: listeners in cgroups named as systemd,
// docker, podman and Kubernetes name theirs (under a cgroup tree of the
// test's own), their service as acceptq names it, the cgroup path as the
// kernel has it for the socket (ss --cgroup), and the counts still the kernel's.
import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { AcceptqJson, type JsonRecord } from '../harness/acceptq';
import { LabRun, type LabListener } from '../harness/lab';
import { CLI, LAB } from '../harness/paths';

/** Where the cgroup v2 hierarchy is mounted, from mountinfo (beside v1 controllers it is not /sys/fs/cgroup). */
function cgroup2Mount(): string {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] === 'cgroup2') return pre.split(' ')[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  }
  throw new Error('no cgroup2 mount in /proc/self/mountinfo');
}

const hex = (bytes: number) => crypto.randomBytes(bytes).toString('hex');

interface Case {
  /** Under the test's own cgroup, as the tool that makes it names it. */
  cgroup: string;
  service: string;
}

/** Ids made up for this run: the names follow from them by the tools' conventions. */
function cases(): Case[] {
  const docker = hex(32);
  const podman = hex(32);
  const uid = crypto.randomUUID();
  const cri = hex(32);
  return [
    { cgroup: 'system.slice/acceptq-test-web.service', service: 'acceptq-test-web.service' },
    { cgroup: `system.slice/docker-${docker}.scope`, service: `docker:${docker.slice(0, 12)}` },
    { cgroup: `machine.slice/libpod-${podman}.scope`, service: `podman:${podman.slice(0, 12)}` },
    {
      cgroup: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${cri}.scope`,
      service: `pod:${uid}`,
    },
    { cgroup: 'user.slice/user-0.slice/session-3.scope', service: 'session-3.scope' },
  ];
}

/** The syn scenario of the lab, its process moved into cgroup dir before it makes a socket. */
async function labIn(dir: string): Promise<LabRun> {
  // the socket's cgroup is fixed when it is made: the shell moves itself, then becomes the lab
  const proc = spawn('sh', ['-c', 'echo $$ > "$1/cgroup.procs" && exec unshare -n "$2" syn --hold 120', 'sh', dir, LAB], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`lab in ${dir}: no report within 90 s: ${stderr}`));
    }, 90000);
    readline.createInterface({ input: proc.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lab in ${dir} exited with ${code}: ${stderr}`));
    });
  });
  const r = JSON.parse(line) as { pid: number; netns: number; listeners: LabListener[] };
  return new LabRun('syn', r.pid, r.netns, r.listeners, proc);
}

/** The cgroup the kernel recorded on the lab's listening socket, as ss --cgroup shows it. */
function socketCgroup(lab: LabRun): string | undefined {
  const out = execFileSync('nsenter', ['-t', String(lab.pid), '-n', 'ss', '-ltnH', '--cgroup', 'sport', '= :9000'], { encoding: 'utf8' });
  return /cgroup:(\S+)/.exec(out)?.[1];
}

/** Remove a cgroup tree, deepest first, once its processes are gone (bounded: 5 s). */
async function removeTree(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  const dirs: string[] = [];
  const walk = (d: string) => {
    dirs.push(d);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(dir);
  for (const d of dirs.reverse()) {
    for (let i = 0; ; i++) {
      try {
        fs.rmdirSync(d);
        break;
      } catch (e) {
        // a process still leaving it
        if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || i >= 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

test.serial('each listener names its service from the cgroup its socket was made in; counts stay the kernel\'s', async (t) => {
  const mnt = cgroup2Mount();
  const top = path.join(mnt, `acceptq-test-${process.pid}`);
  const all = cases();
  const labs: LabRun[] = [];
  t.teardown(async () => {
    await Promise.all(labs.map((l) => l.stop()));
    await removeTree(top);
  });
  for (const c of all) fs.mkdirSync(path.join(top, c.cgroup), { recursive: true });

  // one listener older than acceptq (found by the iterator pass), the rest made while it runs
  labs.push(await labIn(path.join(top, all[0].cgroup)));
  const aq = AcceptqJson.start();
  t.teardown(() => aq.stop());
  await aq.waitFor(() => true, 20000);
  labs.push(...(await Promise.all(all.slice(1).map((c) => labIn(path.join(top, c.cgroup))))));

  // the truth: where each lab runs (its 0:: line) and the cgroup on its socket, from the kernel
  const kernelCgroups = labs.map((l) => fs.readFileSync(`/proc/${l.pid}/cgroup`, 'utf8').match(/^0::(.*)$/m)?.[1]);
  const sockets = labs.map(socketCgroup);
  const counts = labs.map((l) => l.netstat().TcpExtListenOverflows);
  const rowOf = (r: { listeners: Array<Record<string, any>> }, lab: LabRun) =>
    r.listeners.find((l) => l.netns === lab.netns && l.port === 9000 && !l.closed);
  // a cgroup made since the last walk of the tree is named at the next one (at most 2 s on)
  const named = (r: JsonRecord) => Date.parse(r.time) > Date.now() - 200 && labs.every((l) => rowOf(r, l)?.service);
  const rec = await aq.waitFor(named, 20000, aq.records.length);

  all.forEach((c, i) => {
    const lab = labs[i];
    const row = rowOf(rec, lab)!;
    const ns = rec.namespaces.find((n) => n.netns === lab.netns);
    t.log(`${row.cgroup} -> ${row.service}; overflows ${row.overflows}, kernel ${ns?.listenOverflows} since acceptq started ` +
      `(${counts[i]} in all)`);
    t.is(kernelCgroups[i], `/${path.relative(mnt, path.join(top, c.cgroup))}`, `${c.service}: the lab runs in its cgroup`);
    t.is(row.cgroup, sockets[i], `${c.service}: the cgroup ss --cgroup shows for the socket`);
    t.is(row.cgroup, kernelCgroups[i]);
    t.is(row.service, c.service);
    t.is(row.pid, lab.pid, `${c.service}: owner pid`);
    t.is(row.overflows, ns?.listenOverflows, `${c.service}: overflows = the namespace's ListenOverflows since acceptq started`);
    t.is(ns?.unattributed, 0);
    // the labs made while acceptq ran: every overflow the kernel counted
    if (i > 0) {
      t.true(row.overflows > 0, `${c.service}: overflowed`);
      t.is(row.overflows, counts[i], `${c.service}: overflows = kernel ListenOverflows`);
    }
  });

  // the --once table names them in its last column (one acceptq at a time)
  await aq.stop();
  const once = spawnSync(process.execPath, [CLI, '--once', '--interval', '1'], { encoding: 'utf8', timeout: 60000 });
  t.is(once.status, 0, once.stderr);
  const lines = once.stdout.split('\n');
  t.regex(lines[0], /\sSTATE\s+SERVICE$/);
  all.forEach((c, i) => {
    const line = lines.find((l) => l.trim().startsWith(`${labs[i].netns} `) && l.includes(':9000 '));
    t.is(line?.trim().split(/\s+/).pop(), c.service, `--once: ${c.service}`);
  });
});
