/**
 * The exporter's TLS side: node:https options from the web config, the
 * client-certificate policy of Go's tls.ClientAuthType (node checks a
 * client certificate but leaves refusing it to the server, so each type is
 * one rule over what the handshake left), and a handshake error in words
 * for the refusal log.
 */
import type https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { ClientAuthType, TlsSettings } from './web-config';

export function tlsOptions(t: TlsSettings): https.ServerOptions {
  return {
    cert: t.cert,
    key: t.key,
    ca: t.ca,
    // asked for whenever the type looks at one; refused by clientCertProblem, which logs why
    requestCert: t.clientAuth !== 'NoClientCert',
    rejectUnauthorized: false,
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    honorCipherOrder: t.preferServerCiphers,
  };
}

/** Why a connection's client certificate does not pass the type; null: it does. */
export function clientCertProblem(s: TLSSocket, type: ClientAuthType): string | null {
  if (type === 'NoClientCert' || type === 'RequestClientCert') return null;
  const given = Object.keys(s.getPeerCertificate() ?? {}).length > 0;
  if (!given) return type === 'VerifyClientCertIfGiven' ? null : 'no client certificate';
  if (type === 'RequireAnyClientCert' || s.authorized) return null;
  return `client certificate not verified against client_ca_file (${s.authorizationError ?? 'unknown error'})`;
}

/** A failed handshake (the server's tlsClientError), in words. */
export function handshakeReason(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ERR_SSL_HTTP_REQUEST':
      return 'plain HTTP to the TLS port';
    case 'ECONNRESET':
      return 'connection closed during the TLS handshake';
    case 'ERR_TLS_HANDSHAKE_TIMEOUT':
      return 'TLS handshake timed out';
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
      return 'TLS handshake failed: protocol version outside min_version..max_version';
    default: {
      // OpenSSL's "...:SSL routines:FUNCTION:REASON:FILE:LINE:": its reason
      const reason = /SSL routines:[^:]*:([^:]+):/.exec(e.message)?.[1];
      return `TLS handshake failed: ${reason ?? e.code ?? e.message.split('\n')[0]}`;
    }
  }
}
