-- Native layout: partitions are created ahead of time by maintain(); the default partition
-- catches rows no partition covers (maintain() moves them into their partition once it exists),
-- so an append never fails for want of a partition.
CREATE TABLE IF NOT EXISTS fintra_events_default PARTITION OF fintra_events DEFAULT;
