-- Monthly spend per profile, month and category, computed from the cold tier alone, the way the
-- twin's Views count it (fintra_twin::spend_by_category, the `spend:<profile>:<YYYY-MM>` view):
-- posted, uncorrected transactions of the profile's current, savings and credit-card accounts
-- in its base currency; transfers, card repayments and income left out; refunds net against
-- spending. Checked against the Views by examples/tests/lake_spend.rs.
--
-- It expects a view `events` over the archives, e.g. in DuckDB:
--   CREATE VIEW events AS SELECT * FROM read_parquet(
--       '<root>/fintra-archive/data/**/*.parquet', hive_partitioning = true);
-- (add `WHERE tenant = '…'` there to read one tenant's folders only). Sealed payloads
-- (content_type other than application/json) stay ciphertext and are left out; events still in
-- PostgreSQL are not in the archives.
WITH profile_events AS (
    SELECT stream_id AS profile, position, event_type, CAST(decode(payload) AS JSON) AS body
    FROM events
    WHERE starts_with(stream_id, 'profile-') AND content_type = 'application/json'
),
base AS (           -- the base currency (USD for a profile never created, as in the twin)
    SELECT profile, body -> 'ProfileCreated' ->> 'base_currency' AS currency
    FROM profile_events WHERE event_type = 'ProfileCreated'
    QUALIFY row_number() OVER (PARTITION BY profile ORDER BY position DESC) = 1
),
accounts AS (       -- the first link of an account wins
    SELECT profile, position,
           body -> 'AccountLinked' -> 'account' ->> 'account_id' AS account_id,
           body -> 'AccountLinked' -> 'account' ->> 'type' AS account_type
    FROM profile_events WHERE event_type = 'AccountLinked'
    QUALIFY row_number() OVER (PARTITION BY profile, account_id ORDER BY position) = 1
),
imported AS (
    SELECT profile, position,
           unnest(CAST(body -> 'TransactionsImported' -> 'transactions' AS JSON[])) AS t
    FROM profile_events WHERE event_type = 'TransactionsImported'
),
first_import AS (   -- the first import of an id into a linked account wins; repeats are ignored
    SELECT i.profile, i.position, i.t ->> 'transaction_id' AS id, 'import' AS kind, i.t
    FROM imported i
    JOIN accounts a ON a.profile = i.profile AND a.account_id = i.t ->> 'account_id'
                   AND a.position < i.position
    QUALIFY row_number() OVER (PARTITION BY i.profile, id ORDER BY i.position) = 1
),
revisions AS (      -- amendments and categorisations carry the whole new version
    SELECT profile, position,
           coalesce(body -> 'TransactionAmended' -> 'transaction',
                    body -> 'TransactionCategorised' -> 'transaction') AS t,
           CASE event_type WHEN 'TransactionAmended' THEN 'amend' ELSE 'categorise' END AS kind
    FROM profile_events
    WHERE event_type IN ('TransactionAmended', 'TransactionCategorised')
),
versions AS (
    SELECT profile, position, id, kind, t FROM first_import
    UNION ALL
    SELECT r.profile, r.position, r.t ->> 'transaction_id', r.kind, r.t
    FROM revisions r
    JOIN first_import f ON f.profile = r.profile AND f.id = r.t ->> 'transaction_id'
                       AND f.position < r.position
),
body AS (           -- amount, status, date, account, currency: the last import or amendment
    SELECT profile, id, t FROM versions WHERE kind <> 'categorise'
    QUALIFY row_number() OVER (PARTITION BY profile, id ORDER BY position DESC) = 1
),
person AS (         -- a person's category outlives later amendments
    SELECT profile, id, min(position) AS since FROM versions
    WHERE kind = 'categorise' AND t -> 'enrichment' -> '_meta' ->> 'source' = 'USER'
    GROUP BY ALL
),
category AS (       -- the last enrichment, skipping amendments after a person's category
    SELECT v.profile, v.id,
           coalesce(v.t -> 'enrichment' ->> 'category', 'Other > Uncategorised') AS category
    FROM versions v LEFT JOIN person p ON p.profile = v.profile AND p.id = v.id
    WHERE NOT (v.kind = 'amend' AND p.since IS NOT NULL AND v.position > p.since)
    QUALIFY row_number() OVER (PARTITION BY v.profile, v.id ORDER BY v.position DESC) = 1
),
corrected AS (
    SELECT DISTINCT profile, body -> 'TransactionCorrected' ->> 'transaction_id' AS id
    FROM profile_events WHERE event_type = 'TransactionCorrected'
),
spending AS (
    SELECT b.profile, c.category, split_part(c.category, ' > ', 1) AS l1,
           CAST(b.t ->> 'amount_minor' AS HUGEINT) AS amount,
           date_trunc('month', CAST(b.t ->> 'date' AS DATE)) AS month
    FROM body b
    JOIN category c USING (profile, id)
    JOIN accounts a ON a.profile = b.profile AND a.account_id = b.t ->> 'account_id'
    LEFT JOIN base USING (profile)
    WHERE b.t ->> 'status' = 'POSTED'
      AND a.account_type IN ('CHECKING', 'SAVINGS', 'CREDIT_CARD')
      AND b.t ->> 'currency' = coalesce(base.currency, 'USD')
      AND NOT EXISTS (SELECT 1 FROM corrected x WHERE x.profile = b.profile AND x.id = b.id)
)
SELECT profile, strftime(month, '%Y-%m') AS month, category,
       CAST(sum(CASE
           WHEN l1 = 'Transfers' OR category = 'Loans > Credit Card' THEN 0
           WHEN (category = 'Income > Refund' OR l1 = 'Refunds') AND amount > 0 THEN -amount
           WHEN l1 = 'Income' THEN 0
           WHEN amount < 0 THEN -amount
           ELSE 0
       END) AS BIGINT) AS spend_minor
FROM spending
GROUP BY ALL
HAVING spend_minor <> 0
ORDER BY profile, month, category;
