import { MessageSecurityMode, OPCUACertificateManager, OPCUAClient, SecurityPolicy, UserTokenType, type UserIdentityInfo } from 'node-opcua';
import type { OpcuaSourceConfig } from './config.js';
import { acceptsUnknownServer } from './trust.js';

/**
 * One node-opcua client for one connection attempt, with the certificate manager over `pkiDir`
 * (a new one per attempt, so that a certificate moved into trusted/ by hand counts at the next
 * try; the client disposes of it when it disconnects).
 */
export function createClient(cfg: OpcuaSourceConfig, gatewayId: string): { client: OPCUAClient; certificates: OPCUACertificateManager } {
  const certificates = new OPCUACertificateManager({ rootFolder: cfg.pkiDir, automaticallyAcceptUnknownCertificate: acceptsUnknownServer(cfg) });
  // node-opcua drops randomisationFactor when it reconnects after a lost connection, so the
  // jitter is a random scale of the whole sequence, per client: gateways that lost the same
  // server do not retry in lockstep, and no delay exceeds capMs.
  const scale = 0.5 + Math.random() / 2;
  const client = OPCUAClient.create({
    applicationName: `millwright-${gatewayId}`,
    endpointMustExist: false,
    securityMode: MessageSecurityMode[cfg.securityMode],
    securityPolicy: SecurityPolicy[cfg.securityPolicy],
    keepSessionAlive: true,
    connectionStrategy: {
      initialDelay: Math.round(cfg.reconnect.baseMs * scale),
      maxDelay: Math.round(cfg.reconnect.capMs * scale),
      maxRetry: -1,
      randomisationFactor: 0,
    },
    clientCertificateManager: certificates,
  });
  return { client, certificates };
}

/** Anonymous, or user name and password (encrypted with the server's certificate, OPC 10000-4 7.41.2.3). */
export function identityOf(cfg: Pick<OpcuaSourceConfig, 'username' | 'password'>): UserIdentityInfo {
  return cfg.username ? { type: UserTokenType.UserName, userName: cfg.username, password: cfg.password ?? '' } : { type: UserTokenType.Anonymous };
}
