import type { Logger } from '../shared/log.js';
import { createSimulation, type SimReading, type SimStep, type Simulation } from './generate.js';
import { startPublisher, type Publisher, type PublishMode } from './mqtt-publisher.js';
import type { OpcuaSecurityOptions, OpcuaServer } from './opcua/server.js';
import type { Scenario } from './scenario.js';

export interface PrepareOptions {
  scenario: Scenario;
  startMs: number;
  steps?: number;
  /** Keep the ground truth (`simulation.groundTruth`); it grows with simulated time. Default false. */
  recordTruth?: boolean;
  /** Serve OPC-UA too, on this port (0: a free one); absent: no OPC-UA server. See `startOpcuaServer`. */
  opcua?: { host?: string; port: number; security?: OpcuaSecurityOptions; historyCapacity?: number };
  log: Logger;
}

export interface PublishOptions {
  /** MQTT broker to publish to. */
  mqttUrl: string;
  realtime: boolean;
  speed: number;
  mode: PublishMode;
  topicPrefix: string;
}

export interface RunningSimulator {
  simulation: Simulation;
  publisher: Publisher;
  opcua: OpcuaServer | undefined;
  /** Stops publishing (draining PUBACKs) and the OPC-UA server. */
  stop(): Promise<void>;
}

export interface PreparedSimulator {
  simulation: Simulation;
  /** Up and browsable (with no values yet) before anything is published. */
  opcua: OpcuaServer | undefined;
  /**
   * Starts the steps: each is published over MQTT and written into the OPC-UA address space.
   * Throws for bad publisher options (e.g. a malformed MQTT URL), leaving the OPC-UA server
   * running: the caller still owns it and calls `stop`.
   */
  publish(opts: PublishOptions): RunningSimulator;
  stop(): Promise<void>;
}

/**
 * Two phases, so that a caller can point an OPC-UA client at the server before the first step
 * (the demo starts the edge agent in between). The publisher paces the steps; each step it pulls
 * is also written into the OPC-UA address space, with the sensors that have no reading in it
 * (dropouts) marked BadNoCommunication.
 */
export async function prepareSimulator(opts: PrepareOptions): Promise<PreparedSimulator> {
  const { scenario, log } = opts;
  const simulation = createSimulation(scenario, { startMs: opts.startMs, steps: opts.steps, recordTruth: opts.recordTruth });
  // node-opcua is loaded only when OPC-UA is served: it is large and slow to load.
  const opcua = opts.opcua
    ? await (await import('./opcua/server.js')).startOpcuaServer({ plant: simulation.plant, ...opts.opcua, log })
    : undefined;
  const allSensors = simulation.plant.sensors.map((s) => s.id);
  return {
    simulation,
    opcua,
    publish(p) {
      const publisher = startPublisher({
        url: p.mqttUrl,
        source: { plant: simulation.plant, steps: tap(simulation.steps, opcua, allSensors) },
        periodMs: scenario.periodMs,
        realtime: p.realtime,
        speed: p.speed,
        mode: p.mode,
        topicPrefix: p.topicPrefix,
        startMs: opts.startMs,
        enterprise: scenario.enterprise,
        site: scenario.site,
        log,
      });
      return {
        simulation,
        publisher,
        opcua,
        async stop() {
          await publisher.stop();
          await opcua?.stop();
        },
      };
    },
    async stop() {
      await opcua?.stop();
    },
  };
}

/** Both phases at once. If the publisher cannot start, the OPC-UA server is stopped before the error is rethrown. */
export async function startSimulator(opts: PrepareOptions & PublishOptions): Promise<RunningSimulator> {
  const prepared = await prepareSimulator(opts);
  try {
    return prepared.publish(opts);
  } catch (err) {
    // Otherwise the open OPC-UA port keeps the process (`millwright sim`) alive.
    await prepared.stop().catch((stopErr: unknown) => opts.log.warn('sim_opcua_stop_failed', { error: stopErr }));
    throw err;
  }
}

/**
 * The publisher's view of the steps (reading arrays), feeding the OPC-UA server on the way. OPC-UA
 * values change only when the publisher pulls a step, so a stalled broker stalls them too.
 */
function tap(steps: Iterator<SimStep>, opcua: OpcuaServer | undefined, allSensors: readonly string[]): Iterator<readonly SimReading[]> {
  return {
    next(): IteratorResult<readonly SimReading[]> {
      const r = steps.next();
      if (r.done) return { done: true as const, value: undefined };
      if (opcua) {
        const present = new Set(r.value.readings.map((x) => x.sensor));
        // Dropouts carry the step's time, not the newest reading's: a clock-jumped machine must not date them.
        opcua.update(r.value.readings, present.size === allSensors.length ? [] : allSensors.filter((s) => !present.has(s)), r.value.ts);
      }
      return { done: false as const, value: r.value.readings };
    },
  };
}
