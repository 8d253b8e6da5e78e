// What acceptq cannot read is said, never shown as a value: a namespace it
// cannot enter is named in the notice of every tick while that lasts (and
// tried again each tick), and a sysctl it cannot read is null, not 0.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { AcceptqJson, type JsonRecord } from '../harness/acceptq';
import { Cleanup, Netns, startNginx } from '../harness/servers';

const notReadable = /could not read \d+ network namespaces? this tick/;

test.serial('a namespace file setns refuses: a notice at every tick while it lasts, gone with it', async (t) => {
  const cleanup = new Cleanup();
  t.teardown(() => cleanup.run());
  const aq = AcceptqJson.start();
  cleanup.add(() => void aq.stop());
  await aq.waitFor(() => true, 20000);
  const clean = await aq.fresh();
  t.notRegex(clean.notice ?? '', notReadable, 'no notice before');

  // a file under /run/netns that is a namespace, but not a network one: setns(CLONE_NEWNET) refuses it (EINVAL)
  const name = `acceptq-notnet-${process.pid}`;
  const file = `/run/netns/${name}`;
  fs.mkdirSync('/run/netns', { recursive: true });
  fs.writeFileSync(file, '');
  cleanup.add(() => fs.rmSync(file, { force: true }));
  execFileSync('mount', ['--bind', '/proc/self/ns/uts', file]);
  cleanup.add(() => execFileSync('umount', [file], { stdio: 'ignore' }));

  const during: JsonRecord[] = [];
  for (let i = 0; i < 3; i++) during.push(await aq.fresh());
  for (const r of during) {
    t.regex(r.notice ?? '', notReadable, `${r.time}: the notice says a namespace could not be read`);
    t.true((r.notice ?? '').includes(`${file}: setns: Invalid argument`), `${r.time}: and which, and why: ${r.notice}`);
  }
  execFileSync('umount', [file]);
  fs.rmSync(file);
  const after = await aq.fresh();
  t.notRegex(after.notice ?? '', notReadable, 'the notice goes with the cause');
});

test.serial('an unreadable sysctl is null, not 0', async (t) => {
  const cleanup = new Cleanup();
  t.teardown(() => cleanup.run());
  // acceptq in a mount namespace of its own where /proc/sys is masked by an empty tmpfs (as hardened containers mask /proc paths)
  const aq = AcceptqJson.start([], {
    wrap: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o ro,size=4k none /proc/sys && exec "$@"', 'sh'],
  });
  cleanup.add(() => void aq.stop());
  await aq.waitFor(() => true, 20000);
  const ns = Netns.create(cleanup, aq);
  await startNginx(ns, cleanup, 8080, 16);
  const r = await aq.waitFor((x) => x.namespaces.some((n) => n.netns === ns.inode), 20000);
  const n = r.namespaces.find((x) => x.netns === ns.inode)!;
  for (const k of ['somaxconn', 'maxSynBacklog', 'syncookies', 'abortOnOverflow']) t.is(n[k], null, `${k} could not be read: null`);
  t.is(typeof n.listenOverflows, 'number', 'the counters are read');
});
