-- Metric points (feed health, balances, spend …): {partitioning} as for the events.
CREATE TABLE IF NOT EXISTS fintra_metric_points (
    tenant_id  text        NOT NULL,
    series     text        NOT NULL,
    key        text        NOT NULL,
    at         timestamptz NOT NULL,
    value      numeric     NOT NULL,
    source     text
){partitioning};
