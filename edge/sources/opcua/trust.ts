import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpcuaSourceConfig } from './config.js';

/**
 * Trust of the server's certificate (`serverTrust`), on top of node-opcua's certificate manager,
 * whose folders under `pkiDir` are the trust list: `trusted/certs/` (accepted), `rejected/`
 * (refused, kept so that an engineer can check the thumbprint and move the file), `own/` (the
 * gateway's certificate, made on first start).
 *
 * node-opcua offers only "refuse unknown" or "accept every unknown certificate". What a plant
 * engineer means by trust on first use is SSH's known_hosts: the first certificate a source sees
 * is accepted and pinned, and a different one later (a replaced PLC, or someone in the middle) is
 * refused until a person looks. `firstUse` does that: while the source has no pin file, unknown
 * certificates are accepted (node-opcua files the one it gets under trusted/certs); once a secure
 * session is up, the pin file is written and from then on only the trust list counts.
 *
 * The pin is per source and endpoint (`first-use/<source>.json`): several sources may share one
 * pkiDir, and each one's first use is its own. With securityMode None nothing is checked: the
 * server's certificate only encrypts the password, if there is one.
 */
interface Pin {
  endpointUrl: string;
  /** SHA-1 of the certificate as the server sent it (DER), as OPC-UA tools show thumbprints. */
  sha1: string;
  pinnedAt: string;
}

const pinFile = (cfg: Pick<OpcuaSourceConfig, 'pkiDir' | 'name'>): string => join(cfg.pkiDir, 'first-use', `${cfg.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);

function readPin(cfg: Pick<OpcuaSourceConfig, 'pkiDir' | 'name'>): Pin | undefined {
  const file = pinFile(cfg);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Pin;
  } catch {
    // An unreadable pin must not turn into "first use again": treat it as pinned.
    return { endpointUrl: '', sha1: '', pinnedAt: '' };
  }
}

/** Whether this connection attempt may accept a server certificate that is not in the trust list. */
export function acceptsUnknownServer(cfg: Pick<OpcuaSourceConfig, 'pkiDir' | 'name' | 'serverTrust' | 'endpointUrl'>): boolean {
  switch (cfg.serverTrust) {
    case 'any':
      return true;
    case 'trustList':
      return false;
    case 'firstUse': {
      const pin = readPin(cfg);
      // A new endpoint for this source (its config changed) is a new first use.
      return pin === undefined || (pin.endpointUrl !== '' && pin.endpointUrl !== cfg.endpointUrl);
    }
  }
}

/** After a secure session is up: pins the server's certificate if this was the first use. Returns the pin written, if any. */
export function pinFirstUse(
  cfg: Pick<OpcuaSourceConfig, 'pkiDir' | 'name' | 'serverTrust' | 'endpointUrl' | 'securityMode'>,
  serverCertificate: Buffer | undefined,
): Pin | undefined {
  if (cfg.serverTrust !== 'firstUse' || cfg.securityMode === 'None' || !serverCertificate?.length) return undefined;
  if (!acceptsUnknownServer(cfg)) return undefined;
  const pin: Pin = { endpointUrl: cfg.endpointUrl, sha1: createHash('sha1').update(serverCertificate).digest('hex'), pinnedAt: new Date().toISOString() };
  mkdirSync(join(cfg.pkiDir, 'first-use'), { recursive: true });
  writeFileSync(pinFile(cfg), JSON.stringify(pin, null, 2) + '\n');
  return pin;
}
