-- The source that first delivered each sensor, so that a sensor's history can show the gaps of
-- the source it comes from (edge/store/queries.ts). NULL for sensors stored before this column.
ALTER TABLE sensors ADD COLUMN source TEXT;
