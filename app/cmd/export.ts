/**
 * acceptq export: serves /metrics for Prometheus. Each scrape reads the
 * kernel afresh (at most one read per 250 ms, however many scrapers).
 * Binds loopback unless told otherwise. With --web.config.file, TLS, client
 * certificates and basic auth as Prometheus exporters take them
 * (src/export/web-config.ts); every refusal is logged (src/export/refusals.ts).
 * --port, --pid and --netns narrow what it serves as they narrow the main
 * command's views, so one exporter can stand for one container.
 */
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { FILTER_FLAGS, parseFlags, probeSet, rowFilter } from '../args';
import { Collector } from '../../src/model/collector';
import { exitNow, onExit } from '../exit';
import { dropPrivileges, openHelper } from '../local';
import type { ProbeSet } from '../../src/native/probe-sets';
import type { Options } from '../options';
import { subcommandOptions } from './subcommand';
import type { Snapshot } from '../../src/model/types';
import { filterSnapshot, type RowFilter } from '../../src/model/view';
import { BasicAuth } from '../../src/export/basic-auth';
import { renderMetrics, renderProcessMetrics, WaitTotals } from '../../src/export/metrics';
import { readProcess } from '../../src/export/process';
import { peer, RefusalLog } from '../../src/export/refusals';
import { clientCertProblem, handshakeReason, tlsOptions } from '../../src/export/tls';
import type { WebConfig } from '../../src/export/web-config';

export const DEFAULT_LISTEN = '127.0.0.1:9877';
export const EXPORT_USAGE = `usage: acceptq export [--web.listen-address ADDR:PORT] [--web.config.file FILE] [--port PORT]
                      [--pid PID] [--netns ID] [--probe SET] [--keep-root] [-h|--help]
  serves Prometheus metrics on http://ADDR:PORT/metrics (default ${DEFAULT_LISTEN})
  --web.listen-address ADDR:PORT   where to serve (--listen is the same flag,
                          its older name)
  --web.config.file FILE  TLS (https), client certificates and basic auth, in the
                          Prometheus exporter web config format; checked at start
  --port PORT             only listeners on this port
  --pid PID               only listeners owned by this process
  --netns ID              only listeners and namespace figures of this network
                          namespace: its inode number or its cookie
`;

export interface ExportOptions {
  host: string;
  port: number;
  probe: string;
  keepRoot: boolean;
  /** Listeners served (and namespaces: see filterSnapshot); empty: all. */
  filter: RowFilter;
  webConfigFile?: string;
}

export function parseExportOptions(argv: string[]): ExportOptions {
  const { values } = parseFlags(argv, {
    'web.listen-address': { type: 'string' }, listen: { type: 'string' }, probe: { type: 'string' }, 'keep-root': { type: 'boolean' },
    'web.config.file': { type: 'string' }, ...FILTER_FLAGS,
  });
  // --web.listen-address as every Prometheus exporter names it; --listen, acceptq's older name, is the same flag
  const given = (['web.listen-address', 'listen'] as const).filter((k) => values[k] !== undefined);
  if (given.length > 1) throw new Error('--web.listen-address and --listen are the same flag: give one');
  const flag = given[0] ?? 'web.listen-address';
  const listen = values[flag] ?? DEFAULT_LISTEN;
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`--${flag} wants ADDR:PORT, e.g. ${DEFAULT_LISTEN}, not '${listen}'`);
  const web = values['web.config.file'];
  if (web === '') throw new Error('--web.config.file wants a file name');
  return {
    host: m[1].replace(/^\[|\]$/g, ''),
    port: Number(m[2]),
    probe: probeSet(values.probe),
    keepRoot: !!values['keep-root'],
    filter: rowFilter(values),
    ...(web !== undefined ? { webConfigFile: web } : {}),
  };
}

/** What /metrics answers (Node sends a HEAD's headers without the body); anything else: 405 with these in Allow. */
const METRICS_METHODS = ['GET', 'HEAD'];

/** No web config: plain HTTP, no auth, no extra headers. */
export const OPEN: WebConfig = { users: new Map(), headers: {} };

/** http://HOST:PORT/metrics, or https://, as the exporter serves it. */
export function metricsUrl(o: ExportOptions, web: WebConfig): string {
  return `${web.tls ? 'https' : 'http'}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}/metrics`;
}

/**
 * Start serving; resolves once listening (rejects if the address is taken).
 * first: a snapshot the collector took before, if any (every snapshot goes
 * into the wait histogram's totals).
 */
export function serveMetrics(o: ExportOptions, collector: Collector, first?: Snapshot, web: WebConfig = OPEN, log = new RefusalLog()): Promise<http.Server> {
  let last: Snapshot | null = null;
  let lastAt = 0;
  const waits = new WaitTotals();
  if (first) waits.add(first);
  const auth = new BasicAuth(web.users);
  const metrics = (res: http.ServerResponse) => {
    try {
      if (!last || Date.now() - lastAt > 250) {
        last = collector.tick();
        lastAt = Date.now();
        waits.add(last);
      }
      const body = renderMetrics(filterSnapshot(last, o.filter), waits) + renderProcessMetrics(readProcess());
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`acceptq: ${(e as Error).message}\n`);
    }
  };
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    for (const [k, v] of Object.entries(web.headers)) res.setHeader(k, v);
    const who = peer(req.socket.remoteAddress, req.socket.remotePort);
    // refused at the handshake already; checked again so no request can pass by another way
    const cert = web.tls && clientCertProblem(req.socket as TLSSocket, web.tls.clientAuth);
    if (cert) {
      log.refused(who, cert);
      req.socket.destroy();
      return;
    }
    if (auth.enabled) {
      const r = await auth.check(req.headers.authorization);
      if (!r.ok) {
        log.refused(who, r.reason);
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic' }).end('Unauthorized\n');
        return;
      }
    }
    if (req.url !== '/metrics' && req.url !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('acceptq: see /metrics\n');
      return;
    }
    if (!METRICS_METHODS.includes(req.method ?? '')) {
      res.writeHead(405, { 'content-type': 'text/plain', allow: METRICS_METHODS.join(', ') }).end(`acceptq: /metrics takes ${METRICS_METHODS.join(' or ')}\n`);
      return;
    }
    metrics(res);
  };
  const server = web.tls ? https.createServer(tlsOptions(web.tls), handler) : http.createServer(handler);
  if (web.tls) {
    const type = web.tls.clientAuth;
    // before the HTTP side sees the connection: a refused one never gets to send a request
    server.prependListener('secureConnection', (s: TLSSocket) => {
      const problem = clientCertProblem(s, type);
      if (!problem) return;
      log.refused(peer(s.remoteAddress, s.remotePort), problem);
      s.destroy();
    });
    server.on('tlsClientError', (e: NodeJS.ErrnoException, s: TLSSocket) => {
      // after a reset the TLS socket has lost its peer's address; the TCP socket under it kept it
      const raw = (s as TLSSocket & { _parent?: { remoteAddress?: string; remotePort?: number } })._parent;
      log.refused(peer(s.remoteAddress ?? raw?.remoteAddress, s.remotePort ?? raw?.remotePort), handshakeReason(e));
    });
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve(server));
  });
}

/** acceptq export: its options and web config checked, then /metrics served until a signal. */
export async function exportMain(argv: string[]): Promise<void> {
  const eo = subcommandOptions(argv, parseExportOptions, EXPORT_USAGE);
  let web: WebConfig = OPEN;
  const { loadWebConfig, WebConfigError } = await import('../../src/export/web-config'); // YAML: only export reads any
  try {
    // before anything is loaded: a bad file is a line and exit 1, nothing attached or bound
    if (eo.webConfigFile !== undefined) web = loadWebConfig(eo.webConfigFile);
  } catch (e) {
    if (e instanceof WebConfigError) exitNow(1, `acceptq: ${e.message}`);
    throw e;
  }
  const o: Options = { mode: 'json', interval: 1, filter: {}, probe: eo.probe as ProbeSet, eventsPerSec: 0, color: false };
  const collector = new Collector(openHelper(o), 1);
  const first = collector.tick();
  let server;
  try {
    server = await serveMetrics(eo, collector, first, web);
  } catch (e) {
    exitNow(1, `acceptq: cannot listen on ${eo.host}:${eo.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  onExit(() => server.close());
  dropPrivileges(eo.keepRoot); // after bind: a port below 1024 needed root
  const guards = [web.tls && `TLS${web.tls.clientAuth !== 'NoClientCert' ? `, ${web.tls.clientAuth}` : ''}`, web.users.size && 'basic auth'].filter(Boolean);
  process.stderr.write(`acceptq: serving ${metricsUrl(eo, web)}${guards.length ? ` (${guards.join(', ')})` : ''}\n`);
  await new Promise(() => undefined); // until a signal
}
