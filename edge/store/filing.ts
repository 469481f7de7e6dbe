/** What is landed and not yet filed: what a filing would cost and how long it has waited. */
export interface Landed {
  rows: number;
  sensors: number;
  /** When the oldest landed row was committed (by the writer's clock, or when it was opened); null if none. */
  since: number | null;
}

/**
 * When the writer files what has landed (readings.ts, migrations/007_landing.sql). A filing costs
 * about one index leaf and two rollup rows per sensor in it, whatever the number of readings, so
 * it waits until each sensor carries several readings, or the oldest landed reading has waited
 * `fileWithinMs`. A small filing (few sensors: a quiet plant, a test, a burst that ended) is
 * cheap whatever it holds, so it is done as soon as the writer has been idle for a moment. Not
 * a large one: an OPC-UA subscription publishing every second leaves the writer idle between
 * its bursts, and filing 10,000 sensors' one reading each per burst was the cost this avoids.
 * Until then the queries read `landing` too; only the sync outbox, which reads by seq, waits for
 * the filing. A commit that already carries `readingsPerSensor` readings per sensor (batched
 * MQTT payloads) skips `landing` and is filed at once: landing it would only write it twice.
 *
 * Measured with 10,000 tags at 1 Hz (bench/historian-writes.ts, 300 s): filing on every commit
 * wrote 9.6 KB per reading at the end and climbed; at 8 readings per sensor 1.5 KB; at 30,
 * 1.0 KB. The remaining climb is the rollup rows, which reach a page per sensor as they pile up.
 */
export const FILING = {
  whenIdleMs: 250,
  /** At most this many sensors in a filing done because the writer is idle. */
  idleMaxSensors: 200,
  readingsPerSensor: 30,
  maxLanded: 400_000,
  fileWithinMs: 30_000,
  /**
   * Readings per transaction of a filing while commits are coming (one in the last `busyMs` or
   * one waiting): they go between the parts. Otherwise parts of `idlePartRows`: each part
   * rewrites the index and rollup pages that sensors at its edges share with the next part, so
   * small parts cost writes (10k OPC-UA tags, 1 Hz: 893 bytes per reading filed whole, 1,234 in
   * parts of 2,000).
   */
  partRows: 2_000,
  idlePartRows: 50_000,
  busyMs: 50,
} as const;

export function filingDue(l: Landed, now: number, lastCommitAt: number, fileWithinMs: number = FILING.fileWithinMs): boolean {
  if (l.rows === 0) return false;
  return (
    l.rows >= FILING.readingsPerSensor * l.sensors ||
    l.rows >= FILING.maxLanded ||
    (now - lastCommitAt >= FILING.whenIdleMs && l.sensors <= FILING.idleMaxSensors) ||
    (l.since !== null && now - l.since >= fileWithinMs)
  );
}
