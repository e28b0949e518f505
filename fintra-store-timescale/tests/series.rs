//! Time-series queries, rollups and partition maintenance on the native layout (the real
//! PostgreSQL, a fresh schema per test).
#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use chrono::{NaiveDate, TimeDelta};
use fintra_core::{EventStore, Repository, StreamId, TenantId};
use fintra_store_timescale::testing::fresh_store;
use fintra_store_timescale::{TimescaleEventStore, TwinRollups, WarmLayout};
use fintra_twin::{Profile, ProfileCommand};
use rust_decimal::Decimal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_layout_is_detected_and_partitions_are_kept_ahead() {
    let store = fresh_store().await;
    assert_eq!(store.layout(), &WarmLayout::NativePartitions);
    let partitions = store.partitions().await.unwrap();
    // One behind, the current one, four ahead (the defaults), one day each.
    assert!(partitions.len() >= 6, "{partitions:?}");
    assert!(partitions.iter().all(|p| p.to - p.from == TimeDelta::days(1)));
    let now = common::db_now(&store).await;
    assert!(partitions.iter().any(|p| p.from <= now && now < p.to));
    // Running it again creates nothing.
    assert!(store.maintain().await.unwrap().created.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_caught_by_the_default_partition_move_to_their_own() {
    let store = fresh_store().await;
    // A host writing old rows with plain SQL while maintenance lags: they land in the default
    // partition, and maintain() gives them a partition without losing one.
    let old = common::history(common::db_now(&store).await, &[40, 39], 3);
    for e in &old {
        sqlx::query(
            "INSERT INTO fintra_events (position, event_id, stream_id, stream_version, tenant_id, \
             event_type, schema_version, recorded_at, occurred_at, actor, headers, content_type, \
             payload) VALUES ($1, $2, $3, $4, 'default', 'Old', 1, $5, $5, 'system', '{}', \
             'application/json', '\\x00')",
        )
        .bind(i64::try_from(e.position.get()).unwrap())
        .bind(e.event_id)
        .bind(e.stream_id.as_str())
        .bind(i64::try_from(e.stream_version.get()).unwrap())
        .bind(e.recorded_at)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let in_default = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM fintra_events_default")
            .fetch_one(store.pool())
            .await
            .unwrap()
    };
    assert_eq!(in_default().await, 6);
    let report = store.maintain().await.unwrap();
    assert_eq!(report.rows_moved, 6);
    assert_eq!(report.created.len(), 2, "{report:?}");
    assert_eq!(in_default().await, 0);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM fintra_events")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(total, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_between_pages_by_tenant_category_and_type() {
    common::events_between_scenario(&fresh_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_points_buckets_and_daily_rollups_agree() {
    common::metrics_scenario(&fresh_store().await).await;
}

/// The sample twin built from examples/data (created, imported in two parts, one transaction
/// corrected) in `profile_id`; returns its folded state.
async fn sample_twin(
    repository: &Repository<Profile, TimescaleEventStore>,
    profile_id: &StreamId,
) -> Profile {
    let meta = &fintra_core::EventMetadata::default();
    let now = chrono::DateTime::parse_from_rfc3339("2024-06-01T00:00:00Z").unwrap().to_utc();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
    let accounts = fintra_twin::connect::plaid::accounts(
        &std::fs::read(data.join("plaid_accounts.json")).unwrap(),
        Some("ins_northbank"),
        fintra_twin::connect::BadRecordPolicy::FailDocument,
    )
    .unwrap()
    .records;
    let transactions = fintra_twin::connect::plaid::transactions(
        &std::fs::read(data.join("plaid_transactions.json")).unwrap(),
        &accounts,
        now,
        fintra_twin::connect::BadRecordPolicy::FailDocument,
    )
    .unwrap()
    .records;
    let create =
        ProfileCommand::Create { profile_id: "p-7".into(), base_currency: fintra_core::Asset::GBP };
    repository.execute(profile_id, &create, meta).await.unwrap();
    // Two imports, so the rollups fold several events per account and day.
    let (first, second) = transactions.split_at(transactions.len() / 2);
    for (n, part) in [first, second].into_iter().enumerate() {
        let import = ProfileCommand::Import {
            import_id: uuid::Uuid::from_u128(100 + n as u128),
            source: fintra_twin::fos::Source::Plaid,
            accounts: accounts.clone(),
            transactions: part.to_vec(),
            anchors: Default::default(),
        };
        repository.execute(profile_id, &import, meta).await.unwrap();
    }
    let loaded = repository.load(profile_id).await.unwrap();
    let corrected = loaded
        .state
        .transactions()
        .find(|t| t.is_effective_posted() && t.transaction.amount_minor < 0)
        .unwrap()
        .transaction
        .transaction_id
        .clone();
    let correct = ProfileCommand::CorrectTransaction {
        transaction_id: corrected,
        reason: "Duplicate processing".into(),
    };
    repository.execute(profile_id, &correct, meta).await.unwrap();
    repository.load(profile_id).await.unwrap().state
}

/// Catches the rollups up past the profile's last event; a second catch-up has nothing to do.
async fn catch_up_rollups(store: &TimescaleEventStore, profile_id: &StreamId) {
    // Catch up until the rollups have passed the profile's last event: the global log is
    // gap-safe, so transactions of tests running in parallel may hold it back for a moment.
    let rollups = TwinRollups::default();
    let last = store.read_stream(profile_id, Default::default()).await.unwrap();
    let last = last.last().unwrap().position;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut consumed = 0;
    while rollups.checkpoint(store).await.unwrap() < last {
        assert!(std::time::Instant::now() < deadline, "the rollups never reached {last}");
        consumed += rollups.catch_up(store).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(consumed >= 4, "{consumed}");
    assert_eq!(rollups.catch_up(store).await.unwrap(), 0, "a second catch-up has nothing to do");
}

/// Daily balances equal the opening balance plus posted, uncorrected transactions up to the
/// day, for every account and day.
async fn assert_daily_balances(
    store: &TimescaleEventStore,
    twin: &Profile,
    tenant: &TenantId,
    (first_day, last_day): (NaiveDate, NaiveDate),
) {
    for account in twin.accounts() {
        let id = account.account.account_id.as_str();
        let balances = store.daily_balances(tenant, id, first_day, last_day).await.unwrap();
        assert_eq!(balances.len(), usize::try_from((last_day - first_day).num_days() + 1).unwrap());
        for day_balance in &balances {
            // Before the account's anchor date it does not exist yet: no balance.
            let opened = account.opened_on.is_none_or(|d| d <= day_balance.day);
            let expected = i128::from(opened) * account.opening_balance_minor
                + twin
                    .transactions()
                    .filter(|t| t.transaction.account_id == id)
                    .filter(|t| t.is_effective_posted() && t.transaction.date <= day_balance.day)
                    .map(|t| t.transaction.amount_minor)
                    .sum::<i128>();
            assert_eq!(
                day_balance.balance_minor,
                Decimal::from_i128_with_scale(expected, 0),
                "{id} on {}",
                day_balance.day
            );
        }
    }
}

/// Daily spend equals posted money out per day and category.
async fn assert_daily_spend(
    store: &TimescaleEventStore,
    twin: &Profile,
    tenant: &TenantId,
    (first_day, last_day): (NaiveDate, NaiveDate),
) {
    let mut expected_spend = std::collections::BTreeMap::new();
    for t in
        twin.transactions().filter(|t| t.is_effective_posted() && t.transaction.amount_minor < 0)
    {
        let category =
            t.transaction.enrichment.as_ref().map_or("Uncategorized", |e| e.category_l1());
        *expected_spend.entry((t.transaction.date, category.to_owned())).or_insert(0i128) -=
            t.transaction.amount_minor;
    }
    let spend = store.daily_spend(tenant, first_day, last_day).await.unwrap();
    let got: std::collections::BTreeMap<_, _> =
        spend.into_iter().map(|s| ((s.day, s.category), s.amount_minor)).collect();
    let expected_spend: std::collections::BTreeMap<_, _> = expected_spend
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|(k, v)| (k, Decimal::from_i128_with_scale(v, 0)))
        .collect();
    assert_eq!(got, expected_spend);
}

/// The sample twin (examples/data: Plaid, with pending→posted pairs, refunds and a correction)
/// feeds the rollups; daily balances equal the twin's own rule (opening balance plus posted,
/// uncorrected transactions up to the day) and daily spend equals posted money out per
/// category, for every account and day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twin_rollups_match_the_twin() {
    let store = fresh_store().await;
    let repository = Repository::<Profile, _>::new(store.clone());
    let profile_id =
        &fintra_core::StreamId::for_aggregate("profile", uuid::Uuid::from_u128(7)).unwrap();
    let twin = sample_twin(&repository, profile_id).await;

    catch_up_rollups(&store, profile_id).await;

    let tenant = TenantId::default();
    let days: Vec<NaiveDate> = twin.transactions().map(|t| t.transaction.date).collect();
    let (first_day, last_day) = (*days.iter().min().unwrap(), *days.iter().max().unwrap());
    assert_daily_balances(&store, &twin, &tenant, (first_day, last_day)).await;
    assert_daily_spend(&store, &twin, &tenant, (first_day, last_day)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_holding_the_hot_store_is_refused() {
    let hot = fintra_store_postgres::testing::TestSchema::new().await;
    let options = fintra_store_timescale::testing::options(&hot.name);
    let warm = fintra_store_timescale::TimescaleEventStore::from_pool(hot.pool.clone(), options)
        .await
        .unwrap();
    let refused = warm.migrate().await;
    assert!(
        matches!(refused, Err(fintra_core::Error::InvalidInput { field: "schema", .. })),
        "{refused:?}"
    );
}
