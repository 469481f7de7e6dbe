import { z } from 'zod';
import { Port } from '../shared/config.js';
import { DEFAULT_TOPIC_PREFIX } from '../shared/mqtt-json.js';
import { FaultConfig } from './faults/config.js';
import { MACHINE_TYPES, type MachineType } from './machines/index.js';
import { MAX_MACHINES } from './plant.js';
import { PUBLISH_MODES } from './publisher-options.js';

/**
 * A scenario file (YAML or JSON): the plant, its rate, its faults and how it is served. Strict:
 * an unknown key is an error, so a misspelt setting never falls back to its default silently.
 * `EXAMPLE_SCENARIO` below is a complete, annotated example; a test checks that it parses.
 */

const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const Segment = z.string().regex(SEGMENT, 'one path segment of letters, digits, _ . -');

/**
 * Which machines, in one of four forms (machine types are dealt round robin, in the order of
 * `MACHINE_TYPES`, and numbered per type):
 * - a number: that many machines, round robin;
 * - `{ tags: N }`: round robin until the plant has at least N sensors;
 * - a map of type to count, e.g. `{ centrifugal-pump: 4, hydraulic-press: 2 }`;
 * - a list of types, one machine per entry, e.g. `[centrifugal-pump, centrifugal-pump, cnc-spindle]`.
 */
export type MachinesSpec =
  | { readonly by: 'count'; readonly count: number }
  | { readonly by: 'tags'; readonly tags: number }
  | { readonly by: 'type'; readonly counts: Readonly<Partial<Record<MachineType, number>>> };

const MACHINES_EXPECTED = `a number of machines, { tags: N }, a map of machine type to count, or a list of machine types (types: ${MACHINE_TYPES.join(', ')})`;

const isCount = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= MAX_MACHINES;

export const Machines = z.unknown().transform((value, ctx): MachinesSpec => {
  let failed = false;
  const issue = (message: string, path: PropertyKey[] = []): void => {
    failed = true;
    ctx.addIssue({ code: 'custom', message, path });
  };
  const unknownType = (t: unknown): string => `unknown machine type ${JSON.stringify(t)}; expected one of ${MACHINE_TYPES.join(', ')}`;
  const isType = (t: unknown): t is MachineType => typeof t === 'string' && (MACHINE_TYPES as string[]).includes(t);

  if (value === undefined) {
    issue(`required: ${MACHINES_EXPECTED}`);
  } else if (typeof value === 'number') {
    if (isCount(value, 1)) return { by: 'count', count: value };
    issue(`expected an integer from 1 to ${MAX_MACHINES}, got ${value}`);
  } else if (Array.isArray(value)) {
    const counts: Partial<Record<MachineType, number>> = {};
    value.forEach((t: unknown, i) => {
      if (isType(t)) counts[t] = (counts[t] ?? 0) + 1;
      else issue(unknownType(t), [i]);
    });
    if (value.length === 0) issue('expected at least one machine type in the list');
    if (!failed) return { by: 'type', counts };
  } else if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]?.[0] === 'tags') {
      const tags: unknown = entries[0][1];
      if (typeof tags === 'number' && Number.isInteger(tags) && tags >= 1 && tags <= 1_000_000) return { by: 'tags', tags };
      issue(`expected an integer from 1 to 1000000 (sensors in the plant), got ${JSON.stringify(tags)}`, ['tags']);
    } else {
      const counts: Partial<Record<MachineType, number>> = {};
      for (const [t, n] of entries) {
        if (!isType(t)) issue(`${unknownType(t)} (or tags: N alone)`, [t]);
        else if (!isCount(n, 0)) issue(`expected a count from 0 to ${MAX_MACHINES}, got ${JSON.stringify(n)}`, [t]);
        else counts[t] = n;
      }
      if (!failed && Object.values(counts).every((n) => n === 0)) issue('expected at least one machine (every count is 0)');
      if (!failed) return { by: 'type', counts };
    }
  } else {
    issue(`expected ${MACHINES_EXPECTED}, got ${JSON.stringify(value)}`);
  }
  return z.NEVER;
});

/** The publisher's modes: one list, owned by simulators/publisher-options.ts (main.ts imports this name). */
export const MQTT_MODES = PUBLISH_MODES;

/** As `OpcuaSecurityMode` in opcua/security.ts (not imported: it would load node-opcua). */
export const OPCUA_SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;

export const Scenario = z.strictObject({
  name: Segment.describe('short name, e.g. small-plant; a bundled scenario is named like its file'),
  description: z.string().default('').describe('one line for `millwright sim --list`'),
  seed: z.number().int().refine(Number.isSafeInteger, 'a safe integer').default(1).describe('seed of all randomness: the same seed replays the same readings, faults and ground truth'),
  enterprise: Segment.default('acme').describe('first segment of every sensor id'),
  site: Segment.default('plant1').describe('second segment of every sensor id'),
  machines: Machines.describe(MACHINES_EXPECTED),
  periodMs: z.number().int().min(1).max(86_400_000).default(1000).describe('time between two readings of a sensor, ms of simulated time'),
  speed: z
    .number()
    .positive()
    .max(1_000_000)
    .default(1)
    .describe('simulated time per real time when played live: 1 is real time, 1440 a simulated day per real minute'),
  faults: FaultConfig.optional().describe('injected faults; absent: none'),
  mqtt: z
    .strictObject({
      mode: z.enum(MQTT_MODES).default('json').describe('json: one reading per message; json-batch: batched JSON payloads; sparkplug: Sparkplug B'),
      topicPrefix: z.string().default(DEFAULT_TOPIC_PREFIX).describe('prepended to each sensor id to make the topic (json modes)'),
    })
    .prefault({})
    .describe('how the MQTT publisher serves the plant'),
  opcua: z
    .strictObject({
      enabled: z.boolean().default(false).describe('serve the plant over OPC-UA too'),
      host: z.string().min(1).default('127.0.0.1').describe('interface to listen on, also the host in the endpoint URL; 0.0.0.0 for every interface'),
      port: Port.default(4840),
      security: z
        .strictObject({
          modes: z
            .array(z.enum(OPCUA_SECURITY_MODES))
            .min(1)
            .default(() => ['None' as const])
            .describe('message security modes offered: None, Sign, SignAndEncrypt (Basic256Sha256, Aes128_Sha256_RsaOaep)'),
          users: z
            .array(
              z.strictObject({
                username: z.string().min(1).describe('user name a client logs in with'),
                password: z.string().min(1).describe('its password, in clear in the scenario file: demo credentials only'),
              }),
            )
            .default(() => [])
            .describe('user name / password identities accepted'),
          allowAnonymous: z.boolean().default(true).describe('accept anonymous sessions'),
          pkiDir: z
            .string()
            .min(1)
            .optional()
            .describe('folder of the certificate stores, kept between runs (trust a refused client by moving it from server/rejected/ to server/trusted/certs/); absent: a temporary one'),
          trustUnknownClients: z.boolean().default(false).describe('accept any client certificate: tests and demos only'),
        })
        .refine((s) => s.allowAnonymous || s.users.length > 0, {
          path: ['users'],
          message: 'anonymous access is off, so at least one user is needed (or nobody could connect)',
        })
        .prefault({})
        .describe('who may connect and how; default: security None, anonymous allowed'),
      historyCapacity: z.number().int().min(0).max(100_000).default(100).describe('values kept per variable for HistoryRead (raw); 0 turns history off'),
    })
    .prefault({})
    .describe('the OPC-UA server'),
});
export type Scenario = z.output<typeof Scenario>;
export type ScenarioInput = z.input<typeof Scenario>;

export const EXAMPLE_SCENARIO = `# A millwright simulator scenario. Every key but name and machines is optional.
name: example                  # a path segment; bundled files are named <name>.yaml
description: Two pumps and a press with every fault kind
seed: 7                        # same seed, same readings, faults and ground truth
enterprise: acme               # sensor ids are <enterprise>/<site>/<line>/<machine>/<sensor>
site: plant1
machines:                      # or: 12 (round robin) | { tags: 10000 } | [centrifugal-pump, cnc-spindle]
  centrifugal-pump: 2
  hydraulic-press: 1
periodMs: 1000                 # one reading per sensor per simulated second
speed: 60                      # played live: a simulated minute per real second
faults:                        # absent: no faults
  rate: 4                      # sensor faults per sensor per simulated day
  kinds: [spike, level_shift, drift, stuck, noise_burst, dropout, intermittent_bad_quality, clock_jump]
  durations:                   # [shortest, longest]; a number is ms, or use ms, s, m, h, d
    spike: [1s, 3s]
    stuck: [10m, 1h]
    dropout: [1m, 10m]
  clockJump:
    scope: machine             # machine | plant
    rate: 1                    # per machine (or per plant) per simulated day
    offset: [30s, 1h]          # ahead or behind, drawn at random
mqtt:
  mode: json                   # json | json-batch | sparkplug
  topicPrefix: factory/
opcua:
  enabled: true
  host: 127.0.0.1              # 0.0.0.0: every interface
  port: 4840
  historyCapacity: 100         # values per variable for HistoryRead; 0: no history
  security:                    # absent: None, anonymous
    modes: [None, SignAndEncrypt]
    allowAnonymous: false
    users:
      - { username: operator, password: change-me }
    # pkiDir: /var/lib/millwright/pki  # kept certificates; absent: a temporary folder, new certificate every start
`;
