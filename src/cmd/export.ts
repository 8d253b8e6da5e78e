/**
 * acceptq export: serves /metrics for Prometheus. Each scrape reads the
 * kernel afresh (at most one read per 250 ms, however many scrapers).
 * Binds loopback unless told otherwise.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import type { Collector } from '../model/collector';
import type { Snapshot } from '../model/types';
import { renderMetrics, WaitTotals } from '../export/metrics';

export const DEFAULT_LISTEN = '127.0.0.1:9877';
export const EXPORT_USAGE = `usage: acceptq export [--listen ADDR:PORT] [--probe SET] [--keep-root] [-h|--help]
  serves Prometheus metrics on http://ADDR:PORT/metrics (default ${DEFAULT_LISTEN})
`;

export interface ExportOptions {
  host: string;
  port: number;
  probe: string;
  keepRoot: boolean;
}

export function parseExportOptions(argv: string[]): ExportOptions {
  const { values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { listen: { type: 'string' }, probe: { type: 'string' }, 'keep-root': { type: 'boolean' } } });
  const listen = values.listen ?? DEFAULT_LISTEN;
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`--listen wants ADDR:PORT, e.g. ${DEFAULT_LISTEN}, not '${listen}'`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]), probe: values.probe ?? 'auto', keepRoot: !!values['keep-root'] };
}

/**
 * Start serving; resolves once listening (rejects if the address is taken).
 * first: a snapshot the collector took before, if any (every snapshot goes
 * into the wait histogram's totals).
 */
export function serveMetrics(o: ExportOptions, collector: Collector, first?: Snapshot): Promise<http.Server> {
  let last: Snapshot | null = null;
  let lastAt = 0;
  const waits = new WaitTotals();
  if (first) waits.add(first);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('acceptq: see /metrics\n');
      return;
    }
    try {
      if (!last || Date.now() - lastAt > 250) {
        last = collector.tick();
        lastAt = Date.now();
        waits.add(last);
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(renderMetrics(last, waits));
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`acceptq: ${(e as Error).message}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve(server));
  });
}
