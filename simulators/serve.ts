import type { Logger } from '../shared/log.js';
import { createSimulation, type SimReading, type SimStep, type Simulation } from './generate.js';
import { startPublisher, type Publisher, type PublishMode } from './mqtt-publisher.js';
import type { OpcuaServer } from './opcua/server.js';
import type { Scenario } from './scenario.js';

export interface PrepareOptions {
  scenario: Scenario;
  startMs: number;
  steps?: number;
  /** Serve OPC-UA too, on this port (0: a free one); absent: no OPC-UA server. */
  opcua?: { host?: string; port: number };
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
  /** Starts the steps: each is published over MQTT and written into the OPC-UA address space. */
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
  const simulation = createSimulation(scenario, { startMs: opts.startMs, steps: opts.steps });
  // node-opcua is loaded only when OPC-UA is served: it is large and slow to load.
  const opcua = opts.opcua
    ? await (await import('./opcua/server.js')).startOpcuaServer({ plant: simulation.plant, port: opts.opcua.port, host: opts.opcua.host, log })
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

/** Both phases at once. */
export async function startSimulator(opts: PrepareOptions & PublishOptions): Promise<RunningSimulator> {
  return (await prepareSimulator(opts)).publish(opts);
}

/** The publisher's view of the steps (reading arrays), feeding the OPC-UA server on the way. */
function tap(steps: Iterator<SimStep>, opcua: OpcuaServer | undefined, allSensors: readonly string[]): Iterator<readonly SimReading[]> {
  return {
    next(): IteratorResult<readonly SimReading[]> {
      const r = steps.next();
      if (r.done) return { done: true as const, value: undefined };
      if (opcua) {
        const present = new Set(r.value.readings.map((x) => x.sensor));
        opcua.update(r.value.readings, present.size === allSensors.length ? [] : allSensors.filter((s) => !present.has(s)));
      }
      return { done: false as const, value: r.value.readings };
    },
  };
}
