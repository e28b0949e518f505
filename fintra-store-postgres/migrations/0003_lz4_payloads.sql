-- Event payloads and snapshot states are compressed with lz4 instead of the default pglz, when
-- the server was built with lz4 (PostgreSQL's packages for Debian, Ubuntu and RHEL are). A
-- large payload (a ledger batch of a few hundred transfers is about 240 kB of JSON) spent most
-- of its insert in pglz: 2.4 ms against 0.5 ms with lz4, at the same ratio (docs/benchmarks.md).
-- Only values written from now on use lz4; older ones stay pglz and read as before. Changing a
-- column's compression rewrites nothing. A server without lz4 keeps pglz.
DO $do$
BEGIN
    ALTER TABLE fintra_events ALTER COLUMN payload SET COMPRESSION lz4;
    ALTER TABLE fintra_snapshots ALTER COLUMN state SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4: event payloads and snapshots keep pglz';
END
$do$;
