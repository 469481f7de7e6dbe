// The Piscina worker entry: it only re-exports the pure tasks, each run by name.
export { detectAnomalies } from './detect-anomalies.js';
