/**
 * `acceptq export --web.config.file FILE`: the Prometheus exporter-toolkit
 * web configuration (TLS, client certificates, basic auth, extra response
 * headers), read and checked once, before anything is loaded or served.
 * Checked strictly: a key acceptq does not know or does not implement, a
 * file it cannot read, a certificate or key that does not parse, a key that
 * is not the certificate's, a hash that is not bcrypt: one WebConfigError,
 * its message one line naming the file and the problem. Relative paths are
 * relative to the config file's directory, as exporter-toolkit takes them.
 * Files are read once: new certificates take a restart.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';

export class WebConfigError extends Error {}

/** Go's tls.ClientAuthType names, as exporter-toolkit takes them. */
export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersion = (typeof TLS_VERSIONS)[keyof typeof TLS_VERSIONS];

/** The headers exporter-toolkit lets a config add, with the values it allows (none listed: any). */
const EXTRA_HEADERS: Record<string, string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

/** exporter-toolkit's keys acceptq does not implement: refused by name rather than ignored. */
const NOT_IMPLEMENTED = new Set(['client_allowed_sans', 'cipher_suites', 'curve_preferences', 'rate_limit']);

export interface TlsSettings {
  cert: Buffer;
  key: Buffer;
  /** PEM of the CAs client certificates are checked against. */
  ca?: Buffer;
  clientAuth: ClientAuthType;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** The server's cipher order over the client's (exporter-toolkit's prefer_server_cipher_suites, default true). */
  preferServerCiphers: boolean;
}

export interface WebConfig {
  tls?: TlsSettings;
  /** User name to bcrypt hash ($2y$ given as its equal $2b$); empty: no basic auth. */
  users: Map<string, string>;
  headers: Record<string, string>;
}

/** A bcrypt hash as htpasswd -B and Go's bcrypt write it: version, cost 04..31, 22 salt and 31 hash characters. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and checks FILE; throws WebConfigError with one line naming the file and the problem. */
export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new WebConfigError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseWebConfig(text, file);
}

/** The checks of loadWebConfig on a file's text (files it names are read relative to file's directory). */
export function parseWebConfig(text: string, file: string): WebConfig {
  const fail = (what: string): never => {
    throw new WebConfigError(`${file}: ${what}`);
  };
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    fail(`line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const top = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (top === null || top === undefined) return { users: new Map(), headers: {} }; // empty: plain HTTP, as exporter-toolkit takes it
  if (!isObj(top)) fail('wants a mapping of tls_server_config, basic_auth_users, http_server_config');
  const c = top as Obj;
  const dir = path.dirname(path.resolve(file));
  onlyKeys(c, '', ['tls_server_config', 'basic_auth_users', 'http_server_config'], fail);
  const cfg: WebConfig = { users: users(c.basic_auth_users, fail), headers: {} };
  if (c.http_server_config !== undefined && c.http_server_config !== null) {
    const h = section(c.http_server_config, 'http_server_config', fail);
    onlyKeys(h, 'http_server_config.', ['headers', 'http2'], fail);
    // http2: a preference; acceptq answers HTTP/1.1, which every scraper speaks
    if (h.http2 !== undefined && typeof h.http2 !== 'boolean') fail(`http_server_config.http2 wants true or false, not ${JSON.stringify(h.http2)}`);
    cfg.headers = headers(h.headers, fail);
  }
  if (c.tls_server_config !== undefined && c.tls_server_config !== null) cfg.tls = tls(section(c.tls_server_config, 'tls_server_config', fail), dir, fail);
  return cfg;
}

type Fail = (what: string) => never;

function section(v: unknown, name: string, fail: Fail): Obj {
  if (!isObj(v)) fail(`${name} wants a mapping, not ${JSON.stringify(v)}`);
  return v as Obj;
}

function onlyKeys(o: Obj, prefix: string, known: string[], fail: Fail): void {
  for (const k of Object.keys(o)) {
    if (NOT_IMPLEMENTED.has(k)) fail(`${prefix}${k}: not supported by acceptq`);
    if (!known.includes(k)) fail(`unknown key ${prefix}${k} (known here: ${known.join(', ')})`);
  }
}

function str(o: Obj, key: string, prefix: string, fail: Fail): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') fail(`${prefix}${key} wants a non-empty string`);
  return v as string;
}

function users(v: unknown, fail: Fail): Map<string, string> {
  const out = new Map<string, string>();
  if (v === undefined || v === null) return out;
  const o = section(v, 'basic_auth_users', fail);
  for (const [user, hash] of Object.entries(o)) {
    // basic auth splits user:password at the first colon: such a user could never log in
    if (user === '' || user.includes(':')) fail(`basic_auth_users: user name ${JSON.stringify(user)} cannot be used (empty or with a ':')`);
    if (typeof hash !== 'string' || !BCRYPT.test(hash)) fail(`basic_auth_users.${user}: not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04 to 31; e.g. from htpasswd -nBC 10 USER)`);
    out.set(user, (hash as string).replace(/^\$2y\$/, '$2b$'));
  }
  return out;
}

function headers(v: unknown, fail: Fail): Record<string, string> {
  if (v === undefined || v === null) return {};
  const o = section(v, 'http_server_config.headers', fail);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(o)) {
    const allowed = EXTRA_HEADERS[name];
    if (!allowed) fail(`http_server_config.headers: ${name} cannot be set (only ${Object.keys(EXTRA_HEADERS).join(', ')})`);
    if (typeof value !== 'string' || /[\r\n]/.test(value)) fail(`http_server_config.headers.${name} wants a one-line string`);
    if (allowed.length && !allowed.includes(value as string)) fail(`http_server_config.headers.${name} wants one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
    if (value !== '') out[name] = value as string; // blank: unset
  }
  return out;
}

/** A PEM given inline (key) or as a file (key_file), not both; the file relative to the config's directory. */
function pem(o: Obj, key: string, dir: string, fail: Fail): { pem: Buffer; where: string } | undefined {
  const p = 'tls_server_config.';
  const inline = str(o, key, p, fail);
  const file = str(o, `${key}_file`, p, fail);
  if (inline !== undefined && file !== undefined) fail(`${p}${key} and ${p}${key}_file: give one, not both`);
  if (inline !== undefined) return { pem: Buffer.from(inline), where: `${p}${key}` };
  if (file === undefined) return undefined;
  const abs = path.resolve(dir, file);
  try {
    return { pem: fs.readFileSync(abs), where: `${p}${key}_file ${abs}` };
  } catch (e) {
    return fail(`${p}${key}_file ${abs}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The PEM certificates of a bundle; fails when there is none or one does not parse. */
function certificates(b: { pem: Buffer; where: string }, fail: Fail): crypto.X509Certificate[] {
  const blocks = b.pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) fail(`${b.where}: no PEM certificate in it`);
  return blocks.map((block) => {
    try {
      return new crypto.X509Certificate(block);
    } catch (e) {
      return fail(`${b.where}: not a valid certificate: ${(e as Error).message}`);
    }
  });
}

function tls(o: Obj, dir: string, fail: Fail): TlsSettings {
  const p = 'tls_server_config.';
  onlyKeys(o, p, ['cert', 'cert_file', 'key', 'key_file', 'client_ca', 'client_ca_file', 'client_auth_type', 'min_version', 'max_version', 'prefer_server_cipher_suites'], fail);
  const cert = pem(o, 'cert', dir, fail) ?? fail(`${p}cert_file is missing`);
  const key = pem(o, 'key', dir, fail) ?? fail(`${p}key_file is missing`);
  const chain = certificates(cert, fail);
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key.pem);
  } catch (e) {
    return fail(`${key.where}: not a valid private key (PEM, unencrypted): ${(e as Error).message.split('\n')[0]}`);
  }
  if (!chain[0].checkPrivateKey(privateKey)) fail(`${key.where}: does not match the certificate in ${cert.where}`);
  const clientAuth = (str(o, 'client_auth_type', p, fail) ?? 'NoClientCert') as ClientAuthType;
  if (!CLIENT_AUTH_TYPES.includes(clientAuth)) fail(`${p}client_auth_type wants one of ${CLIENT_AUTH_TYPES.join(', ')}, not ${JSON.stringify(clientAuth)}`);
  const ca = pem(o, 'client_ca', dir, fail);
  if (ca) certificates(ca, fail);
  if (!ca && (clientAuth === 'RequireAndVerifyClientCert' || clientAuth === 'VerifyClientCertIfGiven')) {
    fail(`${p}client_auth_type ${clientAuth} needs client_ca_file (the CA client certificates are checked against)`);
  }
  const version = (k: string, def: keyof typeof TLS_VERSIONS): TlsVersion => {
    const v = str(o, k, p, fail) ?? def;
    if (!(v in TLS_VERSIONS)) fail(`${p}${k} wants one of ${Object.keys(TLS_VERSIONS).join(', ')}, not ${JSON.stringify(v)}`);
    return TLS_VERSIONS[v as keyof typeof TLS_VERSIONS];
  };
  const minVersion = version('min_version', 'TLS12');
  const maxVersion = version('max_version', 'TLS13');
  if (minVersion > maxVersion) fail(`${p}min_version is above max_version`);
  if (o.prefer_server_cipher_suites !== undefined && typeof o.prefer_server_cipher_suites !== 'boolean') fail(`${p}prefer_server_cipher_suites wants true or false`);
  return { cert: cert.pem, key: key.pem, ca: ca?.pem, clientAuth, minVersion, maxVersion, preferServerCiphers: o.prefer_server_cipher_suites !== false };
}
