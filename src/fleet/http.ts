/**
 * HTTP(S) GETs towards Prometheus or the exporters, the way Prometheus
 * itself scrapes: a CA to verify the server against, a client certificate,
 * basic auth or a bearer token; connections kept alive between ticks; every
 * request bounded in time and size.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface HttpAuth {
  /** PEM: the CA the servers' certificates must chain to (default: the system's). */
  ca?: Buffer;
  /** PEM: a client certificate and its key. */
  cert?: Buffer;
  key?: Buffer;
  basic?: { user: string; password: string };
  bearer?: string;
}

export class HttpError extends Error {}

/** The longest answer taken: a fleet of 10,000 listeners answers in well under this. */
const MAX_BODY = 512 * 1024 * 1024;

export class HttpClient {
  private readonly agents: { http: http.Agent; https: https.Agent };
  /** Requests sent so far (the bench counts them per tick). */
  requests = 0;

  constructor(private readonly auth: HttpAuth, private readonly timeoutMs: number) {
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
      https: new https.Agent({ keepAlive: true, maxSockets: 64, ca: auth.ca, cert: auth.cert, key: auth.key }),
    };
  }

  /** The body of a 200 answer; anything else throws HttpError with a short reason. */
  get(url: URL, accept = 'text/plain'): Promise<string> {
    this.requests++;
    const tls = url.protocol === 'https:';
    const headers: Record<string, string> = { accept, 'user-agent': 'acceptq-fleet' };
    if (this.auth.basic) headers.authorization = `Basic ${Buffer.from(`${this.auth.basic.user}:${this.auth.basic.password}`).toString('base64')}`;
    else if (this.auth.bearer) headers.authorization = `Bearer ${this.auth.bearer}`;
    return new Promise((resolve, reject) => {
      const req = (tls ? https : http).get(url, { agent: tls ? this.agents.https : this.agents.http, headers, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size > MAX_BODY) req.destroy(new HttpError(`answer larger than ${MAX_BODY >> 20} MiB`));
          else chunks.push(d);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(body);
          else reject(new HttpError(`HTTP ${res.statusCode}${res.statusCode === 401 ? ' (unauthorized: check the credentials)' : ''}${errorText(body)}`));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new HttpError(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof HttpError ? e : new HttpError(describe(e))));
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** A server's error body, shortened: Prometheus's JSON error, or the first line of text. */
function errorText(body: string): string {
  try {
    const j = JSON.parse(body);
    if (typeof j?.error === 'string') return `: ${j.error.slice(0, 200)}`;
  } catch {
    // not JSON
  }
  const line = body.split('\n')[0].trim();
  return line ? `: ${line.slice(0, 200)}` : '';
}

/** A connection's failure in a few words: refused, timed out, a certificate the CA does not sign. */
function describe(e: NodeJS.ErrnoException): string {
  if (e.code === 'ECONNREFUSED') return 'connection refused';
  if (e.code === 'ECONNRESET') return 'connection reset (a TLS port asked in plain HTTP, or the server closed it)';
  if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') return 'host unreachable';
  if (e.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(e.code)) return `TLS: ${e.message} (${e.code})`;
  return e.message || String(e.code);
}

/** The credentials of a fleet's command line, read from their files (a password never on the command line). */
export function readAuth(o: { caFile?: string; certFile?: string; keyFile?: string; basicUser?: string; basicPasswordFile?: string; bearerTokenFile?: string }): HttpAuth {
  const read = (what: string, f: string) => {
    try {
      return fs.readFileSync(f);
    } catch (e) {
      throw new HttpError(`cannot read the ${what} ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const auth: HttpAuth = {};
  if (o.caFile) auth.ca = read('CA file', o.caFile);
  if (o.certFile) auth.cert = read('certificate file', o.certFile);
  if (o.keyFile) auth.key = read('key file', o.keyFile);
  if (o.basicUser !== undefined) {
    auth.basic = { user: o.basicUser, password: o.basicPasswordFile ? read('password file', o.basicPasswordFile).toString('utf8').replace(/\r?\n$/, '') : '' };
  }
  if (o.bearerTokenFile) auth.bearer = read('bearer token file', o.bearerTokenFile).toString('utf8').trim();
  return auth;
}
