-- The highest position this transaction has used so far (or the bottom of its range) and the
-- bottom of its range: positions are xid8 * 2^20 + n.
SELECT COALESCE(
           (SELECT max(position) FROM fintra_events
            WHERE position > txn.lo AND position < txn.lo + 1048576),
           txn.lo) AS base,
       txn.lo
FROM (SELECT pg_current_xact_id()::text::bigint << 20 AS lo) AS txn
