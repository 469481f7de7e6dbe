import type { Quality } from '../reading.js';

/** One raw reading in a get_sensor_history answer (edge and cloud alike). */
export interface HistoryPoint {
  /** source time, epoch ms */
  ts: number;
  value: number;
  quality: Quality;
}

/** One downsampled bucket: bad readings are counted but left out of min, max and avg. */
export interface HistoryBucket {
  /** bucket start, epoch ms */
  start: number;
  /** all readings in the bucket */
  count: number;
  /** readings of quality "bad" */
  bad: number;
  min: number | null;
  max: number | null;
  avg: number | null;
}
