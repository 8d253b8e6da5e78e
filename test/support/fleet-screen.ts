/**
 * `acceptq fleet`'s dashboard over a scripted fleet (no network, no root),
 * for test/fleet-screens.test.ts to read in a real terminal. Each host's
 * answer is what its exporter renders (renderMetrics), read back as the
 * fleet reads an exporter's page. The hosts: two up with names longer than
 * the HOST column, one of them dropping; one with an IPv6 and an IPv4
 * listener; one that answers the first two polls and then stops (its rows
 * stay, with their last figures); one never seen (a row of its own).
 */
import { renderMetrics } from '../../src/export/metrics';
import { onExit } from '../../app/exit';
import { parseExposition } from '../../src/fleet/exposition';
import { hostReadOf } from '../../src/fleet/figures';
import { HttpClient } from '../../src/fleet/http';
import type { FleetSource, HostPoll, Poll } from '../../src/fleet/sources';
import { FleetStream } from '../../src/fleet/stream';
import type { ListenerRow, NamespaceRow } from '../../src/model/types';
import { runDashboard } from '../../ui/dashboard';
import { listenerRow, snapshotOf } from './rows';

export const FLEET_HOSTS = {
  web: 'web-frontend-eu-west-1a-0042.example.internal:9877',
  api: 'api-gateway-eu-west-1b-0007.example.internal:9877',
  db: 'db-1:9877',
  /** Answers the first two polls, then is down. */
  cache: 'cache-eu-west-1c-0013.example.internal:9877',
  /** Never answers. */
  batch: 'batch-9:9877',
} as const;

/** Each up host's listeners, by host; every address is one the test knows. */
export const FLEET_LISTENERS: Record<string, Array<Partial<ListenerRow>>> = {
  [FLEET_HOSTS.web]: [
    { address: '10.20.30.40', port: 8080, pid: 4242, comm: 'nginx', maxBacklog: 511 },
    { address: '10.20.30.40', port: 8443, pid: 4242, comm: 'nginx', maxBacklog: 511 },
  ],
  [FLEET_HOSTS.api]: [{ address: '192.168.100.200', port: 65000, pid: 777, comm: 'envoy', maxBacklog: 4096 }],
  [FLEET_HOSTS.db]: [
    { family: 6, address: '2001:db8:ffff:1234:5678:9abc:def0:1', port: 5432, pid: 900, comm: 'postgres', maxBacklog: 244 },
    { address: '0.0.0.0', port: 22, pid: 1, comm: 'sshd', maxBacklog: 128 },
  ],
  [FLEET_HOSTS.cache]: [{ address: '172.16.254.254', port: 11211, pid: 31337, comm: 'memcached', maxBacklog: 1024 }],
};

const ns = (overflows: number): NamespaceRow => ({
  host: '', netns: 4026531840, cookie: 1, pid: 1, listenOverflows: overflows, listenDrops: overflows, syncookiesSent: 0, reqQFullDrops: 0,
  unattributed: 0, unattributedSynDrops: 0, unattributedCookies: 0, unmatched: 0, estimate: false, overflowRate: 0, gone: false,
  somaxconn: 4096, maxSynBacklog: 512, syncookies: 1, abortOnOverflow: 0,
});

/** A host's answer at poll n: its exporter's page; the web host's first listener drops 50 a poll, 20 accepts a poll. */
function up(host: string, n: number, nowMs: number): HostPoll {
  const rows = FLEET_LISTENERS[host].map((over, i) => {
    const dropping = host === FLEET_HOSTS.web && i === 0;
    const overflows = dropping ? 50 * n : 0;
    return listenerRow({
      id: `${host}|${over.port}`, netns: 4026531840, overflows, overflowsSyn: overflows, accepts: 20 * n, arrivals: 20 * n,
      backlog: dropping ? 512 : 0, peakBacklog: dropping ? 512 : 0, lastOverflowMs: dropping ? nowMs : null, firstOverflowMs: dropping ? nowMs - 1000 * n : null,
      ...over,
    });
  });
  const total = rows.reduce((s, r) => s + r.overflows, 0);
  const s = snapshotOf(nowMs, rows, { namespaces: [ns(total)] });
  const read = hostReadOf(parseExposition(renderMetrics(s, undefined, { hostname: host.split(':')[0], kernel: '6.1.0-28-amd64', startedS: 1000 })));
  return { host, up: true, scrapedMs: nowMs, error: null, read };
}

const down = (host: string, nowMs: number): HostPoll => ({ host, up: false, scrapedMs: nowMs, error: 'connection refused', read: null });

/** The scripted fleet: poll n (from 1) answers as the hosts above do. */
export class ScriptedFleet implements FleetSource {
  readonly kind = 'targets';
  readonly name = '5 targets';
  readonly http = new HttpClient({}, 1000);
  private n = 0;
  async poll(): Promise<Poll> {
    const n = ++this.n;
    const now = Date.now();
    return {
      hosts: [
        up(FLEET_HOSTS.web, n, now), up(FLEET_HOSTS.api, n, now), up(FLEET_HOSTS.db, n, now),
        n <= 2 ? up(FLEET_HOSTS.cache, n, now) : down(FLEET_HOSTS.cache, now),
        down(FLEET_HOSTS.batch, now),
      ],
      notice: '',
    };
  }
}

if (require.main === module) {
  runDashboard({ interval: 1, color: true }, new FleetStream(new ScriptedFleet(), 1), onExit)
    .then(() => process.exit(0), (e) => {
      console.error(e);
      process.exit(1);
    });
}
