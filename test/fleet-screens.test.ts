// `acceptq fleet`'s dashboard as a person reads it, at 80x24 and 200x50: a
// scripted fleet (test/support/fleet-screen.ts: exporters' pages, no
// network) in a real terminal (tmux). Host names longer than the HOST column
// are cut only with the cut mark; every address is whole, or shortened in its
// host part with the mark and its port whole; a host that stops answering
// keeps its rows, marked '?', with its last figures, and the header and the
// detail view say when it was last seen, in the same words; a host never seen
// has a row of its own that says "host down" and shows no figure.
import test from 'ava';
import path from 'node:path';
import { endpoint } from '../src/model/address';
import { Tmux } from '../harness/tmux';
import { FLEET_HOSTS, FLEET_LISTENERS } from './support/fleet-screen';
import { box } from './support/screen';

const SCRIPT = path.join(__dirname, 'support', 'fleet-screen.js');
const HOSTS: string[] = Object.values(FLEET_HOSTS);
const ADDRESSES = new Set(Object.values(FLEET_LISTENERS).flat().map((l) => endpoint(l.family ?? 4, l.address!, l.port!)));
const DOWN = new Set<string>([FLEET_HOSTS.cache, FLEET_HOSTS.batch]);

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

/** The host a HOST cell names: the whole name, or the one it is the marked start of; null if neither. */
function hostOf(cell: string): string | null {
  if (HOSTS.includes(cell)) return cell;
  if (!cell.endsWith('…')) return null;
  const start = cell.slice(0, -1);
  const hits = HOSTS.filter((h) => h.startsWith(start));
  return hits.length === 1 ? hits[0] : null;
}

/** Addresses on a line that are neither whole nor shortened with the mark in their host part (port whole). */
function badAddresses(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.…]+\]):\d+/g)) {
    if (ADDRESSES.has(m[0])) continue;
    const short = /^(.*)…(\]?):(\d+)$/.exec(m[0]);
    const whole = short && [...ADDRESSES].find((a) => a.startsWith(short[1]) && a.endsWith(`${short[2]}:${short[3]}`));
    if (!whole) out.push(m[0]);
  }
  return out;
}

for (const [W, H] of [[80, 24], [200, 50]] as const) {
  test(`fleet ${W}x${H}: host names cut only with the mark, addresses whole, a down host's rows marked ? and said so`, async (t) => {
    t.timeout(60000);
    const tm = Tmux.start(`acceptq-fleet-screens-${W}x${H}-${process.pid}`, `${process.execPath} ${SCRIPT}; sleep 60`, W, H,
      { LANG: 'C.UTF-8', TERM: 'xterm-256color' });
    t.teardown(() => tm.kill());
    // the cache host answers two polls, then stops
    await tm.waitFor((s) => /hosts 3 up {2}2 down/.test(s));
    await settle(1500);
    const screen = tm.capture();
    const lines = screen.split('\n');
    t.deepEqual(lines.flatMap(badAddresses), [], screen);

    const table = box(screen, /listeners \d+\/\d+/)!;
    const head = table.lines[0];
    const at = head.indexOf('HOST');
    t.true(at >= 0, `a HOST column: ${head}`);
    const rows = table.lines.slice(1).filter((l) => l.trim());
    t.is(rows.length, Object.values(FLEET_LISTENERS).flat().length + 1, 'every listener of the fleet, and the never-seen host');
    const seen = new Set<string>();
    for (const l of rows) {
      // the HOST column: 21 wide, from its title
      const cell = l.slice(at, at + 21).trim();
      const host = hostOf(cell);
      t.truthy(host, `a host name cut without the mark, or not one of the fleet: "${cell}" in ${l}`);
      seen.add(host!);
      t.is(l[1] === '?', DOWN.has(host!), `'?' marks the rows of a down host, and only them: ${l}`);
    }
    t.deepEqual([...seen].sort(), [...HOSTS].sort(), 'every host has its rows');

    // the host never seen: a row of its own, "host down", no figure
    const batch = rows.find((l) => hostOf(l.slice(at, at + 21).trim()) === FLEET_HOSTS.batch)!;
    const rest = batch.slice(at + 21).trim().split(/\s{2,}|\s(?=-)/).map((c) => c.trim()).filter(Boolean);
    t.is(rest[0], 'host down', batch);
    t.true(rest.slice(1).every((c) => c === '-'), `no figure known of a host never seen: ${batch}`);
    // the host that stopped: its listener whole, with its last figures (its queue against its limit)
    const cache = rows.find((l) => hostOf(l.slice(at, at + 21).trim()) === FLEET_HOSTS.cache)!;
    t.regex(cache, /172\.16\.254\.254:11211 .* 0\/1024 /);

    if (W >= 200) {
      // the header names the down hosts (their names whole, or cut with the mark) and when each was last seen
      t.regex(screen, /down batch-9:9877 \(never seen\)/);
      t.regex(screen, /down cache-eu-west-1c-0013\S*(:9877|…) \(last seen \d+s ago\)/);
    }

    // the detail view of the host that stopped: which host, down, last seen in the header's words
    for (let i = 0; i < rows.length && !box(tm.capture(), /listeners \d+\/\d+/)!.lines.some((l) => l.startsWith('>') && l.includes('172.16.254.254')); i++) {
      tm.keys('j');
      await settle(200);
    }
    tm.keys('Enter');
    await tm.waitFor((s) => /listener detail/.test(s));
    const detail = box(tm.capture(), /listener detail/)!;
    const body = detail.lines.map((l) => l.trim()).join(' ');
    t.regex(body, /^host cache-eu-west-1c-0013\.example\.internal:9877 \(down, last seen \d+s ago\)\s+172\.16\.254\.254:11211 /, body);
    t.regex(body, /host down/);
    t.deepEqual(detail.lines.flatMap(badAddresses), []);
  });
}
