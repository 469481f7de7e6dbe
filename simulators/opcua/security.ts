import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageSecurityMode, OPCUACertificateManager, SecurityPolicy, type OPCUAServerOptions } from 'node-opcua';

/**
 * The server's security: message security modes and policies, certificate stores (PKI folder) and
 * the user manager (anonymous on or off, user name / password identities).
 */

export type OpcuaSecurityMode = 'None' | 'Sign' | 'SignAndEncrypt';

export interface OpcuaUser {
  username: string;
  password: string;
}

export interface OpcuaSecurityOptions {
  /** Message security modes offered; Sign and SignAndEncrypt use Basic256Sha256 and Aes128_Sha256_RsaOaep. */
  modes: readonly OpcuaSecurityMode[];
  /** User name / password identities accepted. */
  users?: readonly OpcuaUser[];
  allowAnonymous: boolean;
  /**
   * Folder of the certificate stores, kept between runs: `<pkiDir>/server` holds the server's own
   * self-signed certificate (created on first start, `own/certs/certificate.pem`), `trusted/certs/`
   * (client certificates to accept) and `rejected/` (clients refused; move a file to
   * `trusted/certs/` to trust it). Omitted: a temporary folder, removed on stop, so the server
   * has a new certificate at every start.
   */
  pkiDir?: string | undefined;
  /** Accept any client certificate (and file it under trusted/). For tests and demos only. */
  trustUnknownClients?: boolean;
}

export const DEFAULT_SECURITY: OpcuaSecurityOptions = { modes: ['None'], allowAnonymous: true };

/** The certificate stores of one server; `dispose` also removes a temporary PKI folder. */
export interface CertificateStores {
  readonly pkiDir: string;
  /** False when the PKI folder is a temporary one. */
  readonly kept: boolean;
  readonly server: OPCUACertificateManager;
  readonly user: OPCUACertificateManager;
  dispose(): Promise<void>;
}

export async function openCertificateStores(security: OpcuaSecurityOptions): Promise<CertificateStores> {
  const kept = security.pkiDir !== undefined;
  const pkiDir = security.pkiDir ?? (await mkdtemp(join(tmpdir(), 'millwright-opcua-pki-')));
  await mkdir(pkiDir, { recursive: true });
  const manager = (side: string) =>
    new OPCUACertificateManager({
      rootFolder: join(pkiDir, side),
      automaticallyAcceptUnknownCertificate: security.trustUnknownClients ?? false,
      // Watchers pick up certificates dropped into trusted/ while running; a throwaway store has none.
      disableFileWatchers: !kept,
    });
  const server = manager('server');
  // X.509 user tokens are not offered, but node-opcua would otherwise create this store in ~/.config.
  const user = manager('user');
  return {
    pkiDir,
    kept,
    server,
    user,
    async dispose() {
      await server.dispose().catch(() => {});
      await user.dispose().catch(() => {});
      if (!kept) await rm(pkiDir, { recursive: true, force: true });
    },
  };
}

/** The security part of node-opcua's server options. */
export function serverSecurityOptions(security: OpcuaSecurityOptions, stores: CertificateStores): Partial<OPCUAServerOptions> {
  // Users need a secure policy even with mode None only: node-opcua offers the UserName token only
  // with a policy that encrypts the password, never in clear.
  const secure = security.modes.some((m) => m !== 'None') || (security.users?.length ?? 0) > 0;
  return {
    serverCertificateManager: stores.server,
    userCertificateManager: stores.user,
    securityModes: security.modes.map((m) => MessageSecurityMode[m]),
    securityPolicies: [
      ...(security.modes.includes('None') ? [SecurityPolicy.None] : []),
      // Not Basic128Rsa15 / Basic256: they need PKCS#1 v1.5 decryption, which Node 20 refuses.
      ...(secure ? [SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep] : []),
    ],
    allowAnonymous: security.allowAnonymous,
    userManager: { isValidUser: passwordChecker(security.users ?? []) },
  };
}

/** Compares digests in constant time, so a wrong password takes as long as a right one. */
function passwordChecker(users: readonly OpcuaUser[]): (username: string, password: string) => boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const known = users.map((u) => ({ username: u.username, password: digest(u.password) }));
  return (username, password) => {
    const given = digest(password ?? '');
    let ok = false;
    for (const u of known) if (timingSafeEqual(u.password, given) && u.username === username) ok = true;
    return ok;
  };
}

/** Throws a RangeError naming the problem for options nobody could use. */
export function checkSecurity(security: OpcuaSecurityOptions): void {
  if (security.modes.length === 0) throw new RangeError('security.modes must name at least one of None, Sign, SignAndEncrypt');
  for (const m of security.modes) {
    if (m !== 'None' && m !== 'Sign' && m !== 'SignAndEncrypt') throw new RangeError(`unknown security mode "${String(m)}": use None, Sign or SignAndEncrypt`);
  }
  if (!security.allowAnonymous && !(security.users?.length ?? 0)) {
    throw new RangeError('security: anonymous access is off and no users are configured, so nobody could connect');
  }
  for (const u of security.users ?? []) {
    if (!u.username || !u.password) throw new RangeError('security.users: every user needs a non-empty username and password');
  }
}
