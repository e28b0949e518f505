-- TimescaleDB layout: a hypertable on recorded_at ({interval} per chunk), without TimescaleDB's
-- default time index (the BRIN index serves time ranges).
SELECT create_hypertable('fintra_events', by_range('recorded_at', INTERVAL '{interval}'),
                         create_default_indexes => false, if_not_exists => true);
