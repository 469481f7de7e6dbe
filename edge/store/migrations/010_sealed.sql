-- Sealed batches (edge/store/sealed.ts): while the cloud is away, the writer encodes the backlog
-- ahead of time, batchSize readings at a time, as the gzip of the batch's `series` JSON (columnar
-- per sensor: seq and timestamp deltas, values). Draining then reads and sends these blocks
-- instead of reading, encoding and compressing rows. ~2 bytes a reading; dropped once the cloud
-- has them. A sealed batch never spans an evicted seq: an eviction drops the seals it touches.
CREATE TABLE sealed_batches (
  first_seq INTEGER PRIMARY KEY,
  last_seq  INTEGER NOT NULL,
  records   INTEGER NOT NULL,
  body      BLOB    NOT NULL
);

CREATE TRIGGER evictions_unseal_insert AFTER INSERT ON evictions
WHEN NEW.category IN ('raw_synced', 'raw_unsynced')
BEGIN
  DELETE FROM sealed_batches WHERE last_seq >= NEW.from_key AND first_seq <= NEW.to_key;
END;

CREATE TRIGGER evictions_unseal_update AFTER UPDATE ON evictions
WHEN NEW.category IN ('raw_synced', 'raw_unsynced')
BEGIN
  DELETE FROM sealed_batches WHERE last_seq >= NEW.from_key AND first_seq <= NEW.to_key;
END;
