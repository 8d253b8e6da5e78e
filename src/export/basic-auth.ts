/**
 * HTTP basic auth against the web config's bcrypt hashes. bcrypt is slow on
 * purpose (about 70 ms at cost 10, more in JavaScript), and a scraper sends
 * the same credentials every few seconds: a check that passed is kept in
 * memory (as a SHA-256 of user, hash and password, never the password
 * itself) so only the first costs a bcrypt; one that failed is kept for a
 * short while only. Checks run one at a time, as exporter-toolkit runs them,
 * with a bound on how many may wait.
 */
import crypto from 'node:crypto';
import bcrypt from 'bcryptjs';

export type AuthResult = { ok: true; user: string } | { ok: false; reason: string };

/** A hash of a random password nobody knows: an unknown user costs a bcrypt too, so timing does not tell users apart. */
const NOBODY = '$2b$10$vPEX9rgB.PGC2fnk6f6faeDGDDSs0mm1PviUKJdAMD4h.1xuBrqwm';
/** Checks kept either way; past it the oldest goes. */
const CACHE_SIZE = 100;
/** How long a failed check is kept: repeats of a wrong password cost no bcrypt, for a while. */
const FAILURE_MS = 10_000;
/** bcrypt checks allowed to wait at once; past it a request is refused without one. */
const MAX_PENDING = 32;

/** A user name as the log shows it: quoted, escaped, cut at 64 characters. */
const shown = (user: string) => JSON.stringify(user.length > 64 ? user.slice(0, 64) + '…' : user);

export class BasicAuth {
  private readonly passed = new Set<string>();
  private readonly failed = new Map<string, number>(); // key to when it expires
  private queue: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(private readonly users: Map<string, string>, private readonly now: () => number = Date.now) {}

  get enabled(): boolean {
    return this.users.size > 0;
  }

  /** The Authorization header of a request, checked; the reason when refused names no password. */
  async check(authorization: string | undefined): Promise<AuthResult> {
    if (authorization === undefined) return { ok: false, reason: 'no credentials' };
    const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
    if (!m) return { ok: false, reason: /^Basic\b/i.test(authorization) ? 'malformed basic auth credentials' : 'not basic auth credentials' };
    const text = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) return { ok: false, reason: 'malformed basic auth credentials (no colon)' };
    const user = text.slice(0, colon);
    const password = text.slice(colon + 1);
    const hash = this.users.get(user);
    const refused: AuthResult = { ok: false, reason: hash === undefined ? `unknown user ${shown(user)}` : `wrong password for user ${shown(user)}` };
    const key = crypto.createHash('sha256').update(`${user}\0${hash ?? ''}\0${password}`).digest('hex');
    if (hash !== undefined && this.passed.has(key)) return { ok: true, user };
    const until = this.failed.get(key);
    if (until !== undefined && until > this.now()) return refused;
    if (this.pending >= MAX_PENDING) return { ok: false, reason: `too many password checks waiting (${MAX_PENDING})` };
    this.pending++;
    const ok = await this.serially(() => bcrypt.compare(password, hash ?? NOBODY));
    this.pending--;
    if (ok && hash !== undefined) {
      this.remember(this.passed, key);
      this.failed.delete(key);
      return { ok: true, user };
    }
    this.failed.delete(key);
    this.remember(this.failed, key, this.now() + FAILURE_MS);
    return refused;
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private remember(where: Set<string>, key: string): void;
  private remember(where: Map<string, number>, key: string, until: number): void;
  private remember(where: Set<string> | Map<string, number>, key: string, until?: number): void {
    if (where.size >= CACHE_SIZE) where.delete(where.keys().next().value!);
    if (where instanceof Set) where.add(key);
    else where.set(key, until!);
  }
}
