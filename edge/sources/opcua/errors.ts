import { join } from 'node:path';
import type { OpcuaSourceConfig } from './config.js';

/**
 * A failed connection attempt, classified once at the boundary into what a plant engineer can act
 * on. node-opcua reports these as bare status codes or library sentences ("BadSecurityChecksFailed"),
 * which say neither whose certificate was refused nor which folder to look in.
 *
 * Every outcome is a retry: the source keeps trying with backoff, since the usual fix (trusting a
 * certificate, correcting a password on the server) happens elsewhere, while it runs.
 */
export type ConnectFailure = 'server_certificate_untrusted' | 'client_certificate_refused' | 'user_refused' | 'no_matching_endpoint' | 'other';

export function classifyConnectError(message: string): ConnectFailure {
  if (/server Certificate verification failed|BadCertificateUntrusted/i.test(message) && !/rejected by server/i.test(message)) {
    return 'server_certificate_untrusted';
  }
  // OPC 10000-4 5.5.2: a server answers BadSecurityChecksFailed (not the precise certificate
  // status) when it refuses the client's certificate in OpenSecureChannel, so as not to help an attacker.
  if (/rejected by server|BadSecurityChecksFailed|BadCertificate\w*/i.test(message)) return 'client_certificate_refused';
  // The last: node-opcua's own words when the server's endpoint offers no token of the kind asked for.
  if (/BadUserAccessDenied|BadIdentityToken\w*|BadUserSignatureInvalid|Cannot find \w+ user token policy/i.test(message)) return 'user_refused';
  if (/cannot find endpoint|Cannot find an Endpoint matching/i.test(message)) return 'no_matching_endpoint';
  return 'other';
}

/** The sentence for `status().lastError`: what happened, and what to do about it. */
export function explainConnectError(err: unknown, cfg: Pick<OpcuaSourceConfig, 'pkiDir' | 'securityMode' | 'securityPolicy' | 'username' | 'serverTrust'>): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = /\b(Bad\w+)/.exec(message)?.[1];
  const why = code ? ` (${code})` : '';
  switch (classifyConnectError(message)) {
    case 'server_certificate_untrusted':
      return (
        `server certificate not trusted${why}: it was filed under ${join(cfg.pkiDir, 'rejected')}; check its thumbprint with the ` +
        `PLC's, then move it to ${join(cfg.pkiDir, 'trusted', 'certs')}` +
        (cfg.serverTrust === 'firstUse' ? ' (it differs from the certificate pinned on first use)' : '')
      );
    case 'client_certificate_refused':
      return (
        `the server refused this gateway's certificate${why}: trust ${join(cfg.pkiDir, 'own', 'certs', 'client_certificate.pem')} ` +
        `in the server's PKI (most servers file it under their rejected/ folder), or check that securityPolicy ${cfg.securityPolicy} is offered`
      );
    case 'user_refused':
      return cfg.username
        ? `user "${cfg.username}" refused by the server${why}: check username and password`
        : `anonymous access refused by the server${why}: set username and password`;
    case 'no_matching_endpoint':
      return `the server offers no endpoint with securityMode ${cfg.securityMode} and securityPolicy ${cfg.securityPolicy}`;
    case 'other':
      return message;
  }
}
