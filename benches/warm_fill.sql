-- Bench fixture: rows $1 ..= $2 of a synthetic log recorded evenly from $3, one every $4 ms.
INSERT INTO fintra_events (position, event_id, stream_id, stream_version, tenant_id, event_type,
    schema_version, recorded_at, occurred_at, actor, headers, content_type, payload)
SELECT g + 1, md5(g::text)::uuid, 'account-' || (g % 5000), g / 5000 + 1,
       'tenant-' || (g % 10),
       CASE WHEN g % 4 = 0 THEN 'BalanceUpdated' ELSE 'TransactionCreated' END, 1,
       $3::timestamptz + make_interval(secs => g * $4::float8 / 1000),
       $3::timestamptz + make_interval(secs => g * $4::float8 / 1000),
       'system', '{}'::jsonb, 'application/json',
       convert_to('{"amount_minor":' || (g * 7919 % 100000) || ',"currency":"GBP"}', 'UTF8')
FROM generate_series($1::bigint, $2::bigint) AS g
