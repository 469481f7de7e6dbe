import { z } from 'zod';
import { SensorId } from '../../../shared/reading.js';

export const OpcuaSourceConfig = z
  .strictObject({
    type: z.literal('opcua'),
    name: z.string().min(1).max(64).default('opcua').describe('name of this source in logs and status'),
    endpointUrl: z.string().regex(/^opc\.tcp:\/\//, 'an opc.tcp:// URL').describe('the OPC-UA server, e.g. opc.tcp://plc-1:4840'),
    securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None'),
    securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).default('None'),
    username: z.string().optional().describe('user name; absent: anonymous'),
    password: z.string().optional(),
    pkiDir: z.string().default('./data/pki').describe('client certificate and trust lists (own/, trusted/, rejected/)'),
    serverTrust: z
      .enum(['trustList', 'firstUse', 'any'])
      .default('trustList')
      .describe(
        'which server certificates to accept with Sign/SignAndEncrypt. trustList: only those in pkiDir/trusted/certs (an unknown one is filed under pkiDir/rejected: check its thumbprint, then move it). firstUse: the first certificate this source sees is trusted and pinned; a different one later is refused like an unknown one. any: every certificate (a lab only: it defeats Sign/SignAndEncrypt)',
      ),
    browse: z
      .strictObject({
        root: z.string().min(1).describe('node id to browse from, e.g. ns=1;s=acme/plant1 or i=85 (Objects)'),
        sensorPrefix: z.string().default('').describe('put before the browse path to make the sensor id, e.g. acme/plant1/'),
        maxDepth: z.number().int().min(1).max(16).default(8),
      })
      .optional()
      .describe('discover variables under a node; sensor id = sensorPrefix + browse names joined by /'),
    nodes: z
      .array(z.strictObject({ nodeId: z.string().min(1), sensor: SensorId }))
      .default([])
      .describe('variables listed explicitly, each with its sensor id'),
    samplingIntervalMs: z.number().int().min(0).default(1000),
    publishingIntervalMs: z.number().int().min(10).default(1000),
    queueSize: z.number().int().min(1).max(10_000).default(10).describe('values the server keeps per item between publishes'),
    deadband: z
      .strictObject({ type: z.enum(['Absolute', 'Percent']), value: z.number().min(0) })
      .optional()
      .describe('report a value only when it moved this much (Percent: of the EURange); absent: every value'),
    staleAfterMs: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        'connected but no new value for this long: mark the source offline, open a gap and re-create the subscription; must exceed the slowest expected update; 0 disables; absent: max(3 × publishingIntervalMs, 10000)',
      ),
    flushMs: z.number().int().min(1).max(10_000).default(200).describe('values are committed in one transaction at least this often'),
    reconnect: z
      .strictObject({
        baseMs: z.number().int().min(10).default(500).describe('first retry delay'),
        capMs: z
          .number()
          .int()
          .min(100)
          .default(2000)
          .describe('longest retry delay; keep it ≤ 2000 for the subscription to be back within 5 s of a server restart (DESIGN guarantee 4)'),
      })
      .prefault({})
      .describe('retry delays while the server is unreachable; a PLC is local to its gateway, so retrying often is cheap'),
    backfill: z
      .strictObject({
        enabled: z.boolean().default(true).describe('after a gap, read what the server kept of it with HistoryRead; nodes without history are skipped after one try'),
        maxSpanMs: z
          .number()
          .int()
          .min(1000)
          .default(24 * 3_600_000)
          .describe('read at most this much of the end of a gap (source time); older parts stay unfilled, the gap marker says so'),
        maxValuesPerNode: z.number().int().min(1).max(1_000_000).default(10_000).describe('values read per node and gap, at most; the rest stays unfilled'),
        valuesPerRequest: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .default(1000)
          .describe('values per node in one HistoryRead answer (numValuesPerNode); more come through continuation points'),
      })
      .prefault({})
      .describe('HistoryRead backfill of gaps (DESIGN guarantee 4)'),
  })
  .refine((c) => c.browse !== undefined || c.nodes.length > 0, { message: 'give browse.root or a list of nodes', path: ['nodes'] })
  .refine((c) => (c.securityMode === 'None') === (c.securityPolicy === 'None'), {
    message: 'securityMode None goes with securityPolicy None, and Sign/SignAndEncrypt with a real policy',
    path: ['securityPolicy'],
  });
export type OpcuaSourceConfig = z.output<typeof OpcuaSourceConfig>;

/** Parsed by a test, so it cannot drift from the schema. */
export const EXAMPLE_OPCUA_SOURCE = `
- type: opcua
  name: press-line-plc
  endpointUrl: opc.tcp://127.0.0.1:4840
  securityMode: SignAndEncrypt
  securityPolicy: Basic256Sha256
  serverTrust: trustList   # or firstUse: pin the first certificate this source sees
  username: millwright
  password: change-me
  browse:
    root: ns=1;s=acme/plant1
    sensorPrefix: acme/plant1/
  samplingIntervalMs: 1000
  backfill:
    maxValuesPerNode: 10000
`;
