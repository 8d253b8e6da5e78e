// PrometheusSource against a scripted Prometheus HTTP API (answers written
// here, no Prometheus): a host whose start time changed between the poll's
// first and last query is a torn poll, its figures not to be shown. The
// real Prometheus, and a real exporter restarted under it, are in
// test/fleet.test.ts ("run --fleet across an exporter restart").
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from '../src/fleet/http';
import { PrometheusSource } from '../src/fleet/sources';

const STARTED = 'acceptq_start_time_seconds{job="acceptq"}';

/** A Prometheus API whose start-time answers are `starts`, in turn (the last one repeated); every query it was asked. */
async function scripted(starts: number[]): Promise<{ url: string; asked: string[]; close: () => void }> {
  const asked: string[] = [];
  const now = Date.now() / 1000;
  const vector = (result: unknown[]) => JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
  const start = (v: number) => ({ metric: { __name__: 'acceptq_start_time_seconds', instance: 'web-1:9877', job: 'acceptq' }, value: [now, String(v)] });
  const server = http.createServer((req, res) => {
    const q = new URL(req.url!, 'http://x').searchParams.get('query') ?? '';
    asked.push(q);
    let result: unknown[] = [];
    if (q === STARTED) result = [start(starts.length > 1 ? starts.shift()! : starts[0])];
    else if (q.startsWith('max by (instance) (up')) result = [{ metric: { instance: 'web-1:9877' }, value: [now, '1'] }];
    else if (q.startsWith('max by (instance) (timestamp')) result = [{ metric: { instance: 'web-1:9877' }, value: [now, String(now)] }];
    res.writeHead(200, { 'content-type': 'application/json' }).end(vector(result));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked, close: () => server.close() };
}

test('a start time that changed between the first query of a poll and its last: the poll is torn; the same throughout: not', async (t) => {
  for (const [starts, torn] of [[[100, 100], false], [[100, 200], true]] as const) {
    const api = await scripted([...starts]);
    const client = new HttpClient({}, 5000);
    try {
      const source = new PrometheusSource(api.url, 'job="acceptq"', client);
      const poll = await source.poll();
      t.is(poll.notice, '');
      t.is(poll.hosts.length, 1);
      t.is(poll.hosts[0].torn, torn, `start times ${starts.join(' then ')}`);
      t.is(api.asked[0], STARTED, 'the start times are asked first');
      t.is(api.asked.at(-1), STARTED, 'and last');
      t.is(api.asked.length, source.queriesPerPoll.every + source.queriesPerPoll.slow, 'the queries a poll makes (the first poll reads the slow part too)');
    } finally {
      client.close();
      api.close();
    }
  }
});
