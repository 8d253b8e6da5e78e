/**
 * Certificates and password hashes for the tests on the wire, made by the
 * real tools: openssl (a CA, certificates it signs) and htpasswd (a bcrypt
 * hash, as exporter-toolkit's documentation makes them).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export class Certs {
  constructor(readonly dir: string) {}

  file(name: string): string {
    return path.join(this.dir, name);
  }

  private openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** A CA: NAME.key, NAME.crt. */
  ca(name: string): void {
    this.openssl('req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', `${name}.key`,
      '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=acceptq test ${name}`);
  }

  /** NAME.key, NAME.crt signed by the CA, with these X.509v3 extensions. */
  cert(name: string, ca: string, ext: string): void {
    this.openssl('req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', `${name}.key`,
      '-out', `${name}.csr`, '-subj', `/CN=acceptq test ${name}`);
    fs.writeFileSync(this.file(`${name}.ext`), ext);
    this.openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`,
      '-days', '2', '-extfile', `${name}.ext`);
  }

  /** Every file readable by all (an unprivileged process reads its config here). */
  readable(): void {
    for (const f of fs.readdirSync(this.dir)) fs.chmodSync(this.file(f), 0o644);
  }
}

/** The bcrypt hash of a password, as `htpasswd -nbBC 10` writes it ($2y$). */
export function bcryptHash(user: string, password: string): string {
  return execFileSync('htpasswd', ['-nbBC', '10', user, password], { encoding: 'utf8' }).trim().split(':').slice(1).join(':');
}
