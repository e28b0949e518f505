//! The Views projection: twin documents in Redis equal the engines run on the twin, carry the
//! provenance of the event they reflect, and the transactions query filters as documented.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]
#![allow(clippy::inconsistent_digit_grouping, reason = "amounts read as units_cents")]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use fintra_core::testing::conformance::read_entire_log;
use fintra_core::{
    Asset, ContentType, EventMetadata, EventStore, ExpectedVersion, ManualClock, NewEvent,
    RecordedEvent, Repository, StreamId,
};
use fintra_guard::{Guard, GuardedStore, InMemoryKeyStore, LocalKeyProvider, SubjectId};
use fintra_projections::pulse::{
    HttpTransport, PulseDelivery, PulseSink, RetryPolicy, Rule, RuleEngine, SignalSealer,
    Subscription, WebhookDelivery,
};
use fintra_projections::views::{TransactionFilter, TwinViews, query_transactions};
use fintra_projections::{ProjectionRunner, RedisSink, RedisViews, RunnerOptions};
use fintra_store_postgres::PgEventStore;
use fintra_store_postgres::testing::TestSchema;
use fintra_twin::connect::{BadRecordPolicy, plaid, stage};
use fintra_twin::fos::Source;
use fintra_twin::{Profile, ProfileCommand, TwinReport};
use redis::aio::MultiplexedConnection;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 30, 12, 0, 0).unwrap()
}

fn plaid_body() -> (String, String) {
    let accounts = r#"{"accounts": [{"account_id": "chk", "name": "Current", "type": "depository", "subtype": "checking",
        "balances": {"current": 2500.00, "available": 2500.00, "iso_currency_code": "GBP"}}]}"#;
    let mut txns = Vec::new();
    for m in 1..=6 {
        for (k, (name, amount, day)) in [
            ("ACME SALARY", "-3000.00", 25),
            ("RENT OCEAN LTD", "1500.00", 1),
            ("TESCO STORES 3021", "80.00", 10),
            ("SQ *STARBUCKS #1123", "4.50", 12),
        ]
        .iter()
        .enumerate()
        {
            txns.push(format!(
                r#"{{"transaction_id": "t{m}_{k}", "account_id": "chk", "amount": {amount}, "iso_currency_code": "GBP", "date": "2024-{m:02}-{day:02}", "name": "{name}", "merchant_name": null, "pending": false, "pending_transaction_id": null}}"#
            ));
        }
    }
    (accounts.to_owned(), format!(r#"{{"accounts": [], "transactions": [{}]}}"#, txns.join(",")))
}

/// An imported six-month twin in a fresh schema: its repository, stream and last event.
async fn imported_twin(
    schema: &TestSchema,
) -> (Repository<Profile, PgEventStore>, StreamId, RecordedEvent) {
    let clock = Arc::new(ManualClock::new(now()));
    let repository = Repository::<Profile, _>::new(schema.store()).with_clock(clock.clone());
    let stream = repository.stream_id(uuid::Uuid::from_u128(5)).unwrap();
    let meta = EventMetadata::default();
    repository
        .execute(
            &stream,
            &ProfileCommand::Create { profile_id: "usr_5".into(), base_currency: Asset::GBP },
            &meta,
        )
        .await
        .unwrap();
    let (accounts_json, body) = plaid_body();
    let accounts = plaid::accounts(accounts_json.as_bytes(), None, BadRecordPolicy::FailDocument)
        .unwrap()
        .records;
    let txns =
        plaid::transactions(body.as_bytes(), &accounts, now(), BadRecordPolicy::FailDocument)
            .unwrap()
            .records;
    let mut staged =
        stage(&Profile::default(), uuid::Uuid::from_u128(1), Source::Plaid, accounts, txns);
    staged.categorise(&fintra_ml::Brain::builtin().unwrap(), Some(stream.as_str()), now());
    staged.approve(&repository, &stream, &meta, |_, _| {}).await.unwrap();
    let version = repository.store().stream_version(&stream).await.unwrap().get();
    let log = read_entire_log(repository.store(), 1_000, usize::try_from(version).unwrap()).await;
    let last = log.last().unwrap().clone();
    (repository, stream, last)
}

/// A connection to the test Redis, failing the test with a hint when it is not running.
async fn redis_connection() -> MultiplexedConnection {
    let redis_url =
        std::env::var("FINTRA_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    tokio::time::timeout(
        Duration::from_secs(10),
        redis::Client::open(redis_url.as_str()).unwrap().get_multiplexed_async_connection(),
    )
    .await
    .unwrap_or_else(|_| {
        panic!("Redis at {redis_url} did not answer: start it (scripts/test.sh does)")
    })
    .unwrap_or_else(|e| {
        panic!("Redis at {redis_url} unreachable ({e}): start it (scripts/test.sh does)")
    })
}

/// The unified360 document equals the engines' report and names the event it reflects.
async fn assert_unified360_view(
    views: &RedisViews,
    stream: &StreamId,
    last: &RecordedEvent,
    report: &TwinReport,
) {
    let (position, json) =
        views.get("twin_views", &format!("unified360:{stream}")).await.unwrap().unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(position, last.position);
    assert_eq!(
        doc["net_worth"]["total_minor"],
        serde_json::json!(report.balance_sheet.net_worth_minor)
    );
    assert_eq!(report.balance_sheet.net_worth_minor, 2_500_00);
    assert_eq!(doc["cash_flow"]["status"], serde_json::to_value(report.cashflow.status).unwrap());
    assert_eq!(doc["_meta"]["net_worth"]["source_event_id"], serde_json::json!(last.event_id));
    assert_eq!(
        doc["_meta"]["net_worth"]["source_version"],
        serde_json::json!(last.stream_version.get())
    );
}

/// June's spend document: its total, the previous month's, and the groceries category.
async fn assert_spend_view(views: &RedisViews, stream: &StreamId) {
    let (_, spend) =
        views.get("twin_views", &format!("spend:{stream}:2024-06")).await.unwrap().unwrap();
    let spend: serde_json::Value = serde_json::from_str(&spend).unwrap();
    assert_eq!(spend["total_minor"], serde_json::json!(1_584_50));
    assert_eq!(spend["previous_total_minor"], serde_json::json!(1_584_50));
    let groceries = spend["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "Groceries > Supermarket")
        .unwrap();
    assert_eq!(
        (groceries["spend_minor"].as_i64(), groceries["change_minor"].as_i64()),
        (Some(80_00), Some(0))
    );
}

/// The net-worth timeline holds one point per month, ending at the current net worth.
async fn assert_networth_timeline(views: &RedisViews, stream: &StreamId) {
    let (_, timeline) =
        views.get("twin_views", &format!("networth:{stream}")).await.unwrap().unwrap();
    let timeline: serde_json::Value = serde_json::from_str(&timeline).unwrap();
    let points = timeline["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    assert_eq!(points[5]["net_worth_minor"], serde_json::json!(2_500_00));
    // Each month adds 3,000 − 1,500 − 80 − 4.50 = 1,415.50: January ends 5 × 1,415.50 lower.
    assert_eq!(points[0]["net_worth_minor"], serde_json::json!(2_500_00 - 5 * 1_415_50));
}

/// The transactions query filters by merchant, date range and category, newest first.
fn assert_transaction_queries(profile: &Profile) {
    let coffee = query_transactions(
        profile,
        &TransactionFilter { merchant: Some("starbucks".into()), ..Default::default() },
    );
    assert_eq!(coffee.len(), 6);
    assert!(coffee.windows(2).all(|w| w[0].date >= w[1].date), "newest first");
    let spring = query_transactions(
        profile,
        &TransactionFilter {
            from: Some(chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()),
            to: Some(chrono::NaiveDate::from_ymd_opt(2024, 4, 30).unwrap()),
            category_l1: Some("Groceries".into()),
            ..Default::default()
        },
    );
    assert_eq!(spring.len(), 2);
}

/// The same documents land in PostgreSQL JSONB through the `PgSink`.
async fn assert_pg_views(
    schema: &TestSchema,
    runner: &ProjectionRunner<PgEventStore>,
    stream: &StreamId,
    last: &RecordedEvent,
) {
    let mut pg = fintra_projections::PgSink::new(
        schema.pool.clone(),
        TwinViews::new(Repository::<Profile, _>::new(schema.store())),
    )
    .await
    .unwrap();
    runner.catch_up(&mut pg).await.unwrap();
    pg.activate().await.unwrap();
    let (doc, position): (serde_json::Value, i64) =
        sqlx::query_as("SELECT doc, position FROM twin_views WHERE key = $1")
            .bind(format!("unified360:{stream}"))
            .fetch_one(&schema.pool)
            .await
            .unwrap();
    assert_eq!(u64::try_from(position).unwrap(), last.position.0);
    assert_eq!(doc["net_worth"]["total_minor"], serde_json::json!(2_500_00));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_in_redis_match_the_engines_and_name_their_source() {
    let schema = TestSchema::new().await;
    let (repository, stream, last) = imported_twin(&schema).await;

    let conn = redis_connection().await;
    let prefix = format!("fintra_views_{}", std::process::id());
    let views_repository = Repository::<Profile, _>::new(schema.store());
    let mut sink =
        RedisSink::new(conn.clone(), &prefix, TwinViews::new(views_repository)).await.unwrap();
    // Small pages: the projection folds the twin incrementally across them.
    let runner = ProjectionRunner::new(
        Arc::new(schema.store()),
        RunnerOptions { page_size: 7, ..RunnerOptions::default() },
    );
    runner.catch_up(&mut sink).await.unwrap();
    sink.activate().await.unwrap();

    let profile = repository.load(&stream).await.unwrap().state;
    let report = fintra_twin::report(&profile, profile.last_transaction_date().unwrap());
    let views = RedisViews::new(conn.clone(), &prefix);
    assert_unified360_view(&views, &stream, &last, &report).await;
    assert_spend_view(&views, &stream).await;
    assert_networth_timeline(&views, &stream).await;
    assert_transaction_queries(&profile);

    // The same documents as PostgreSQL JSONB.
    assert_pg_views(&schema, &runner, &stream, &last).await;

    assert_a_categorisation_moves_spend(&repository, &stream, &runner, &mut sink, &views).await;
    sink.drop_version().await.unwrap();
}

/// A person files June's Tesco under shopping: the month's spend document follows.
async fn assert_a_categorisation_moves_spend(
    repository: &Repository<Profile, PgEventStore>,
    stream: &StreamId,
    runner: &ProjectionRunner<PgEventStore>,
    sink: &mut RedisSink<TwinViews<PgEventStore>>,
    views: &RedisViews,
) {
    let profile = repository.load(stream).await.unwrap().state;
    let tesco = profile.transaction("plaid:t6_2").unwrap().transaction.clone();
    let mut mine = tesco.enrichment.clone().unwrap();
    mine.category = "Shopping > Other".into();
    mine.lineage = fintra_twin::fos::Lineage::new(fintra_twin::fos::USER_SOURCE, now());
    let command = ProfileCommand::Categorise { changes: vec![(tesco.transaction_id, mine)] };
    repository.execute(stream, &command, &EventMetadata::default()).await.unwrap();
    runner.catch_up(sink).await.unwrap();
    let (_, spend) =
        views.get("twin_views", &format!("spend:{stream}:2024-06")).await.unwrap().unwrap();
    let spend: serde_json::Value = serde_json::from_str(&spend).unwrap();
    let categories: Vec<&str> = spend["categories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["spend_minor"].as_i64() != Some(0))
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert!(categories.contains(&"Shopping > Other"), "{spend}");
    assert!(!categories.contains(&"Groceries > Supermarket"), "{spend}");
}

/// A twin whose checking account goes low twice in six days: its repository and stream version.
async fn low_balance_twin(schema: &TestSchema) -> (Repository<Profile, PgEventStore>, u64) {
    low_balance_twin_in(schema.store()).await
}

/// The low-balance twin written through `store`.
async fn low_balance_twin_in<S: EventStore>(store: S) -> (Repository<Profile, S>, u64) {
    let clock = Arc::new(ManualClock::new(now()));
    let repository = Repository::<Profile, _>::new(store).with_clock(clock);
    let stream = repository.stream_id(uuid::Uuid::from_u128(9)).unwrap();
    let meta = EventMetadata::default();
    repository
        .execute(
            &stream,
            &ProfileCommand::Create { profile_id: "usr_9".into(), base_currency: Asset::GBP },
            &meta,
        )
        .await
        .unwrap();
    let accounts_json = r#"{"accounts": [{"account_id": "chk", "name": "Current", "type": "depository", "subtype": "checking",
        "balances": {"current": 40.00, "available": 40.00, "iso_currency_code": "GBP"}}]}"#;
    // Balance after each day: 1000, 50 (low), 1050, 950, 50 (low again), 40 (still low).
    let days = [
        ("2024-01-01", "-1000.00"),
        ("2024-01-02", "950.00"),
        ("2024-01-10", "-1000.00"),
        ("2024-01-11", "100.00"),
        ("2024-02-01", "900.00"),
        ("2024-02-02", "10.00"),
    ];
    let txns: Vec<String> = days
        .iter()
        .enumerate()
        .map(|(k, (date, amount))| format!(r#"{{"transaction_id": "p{k}", "account_id": "chk", "amount": {amount}, "iso_currency_code": "GBP", "date": "{date}", "name": "THING {k}", "merchant_name": null, "pending": false, "pending_transaction_id": null}}"#))
        .collect();
    let accounts = plaid::accounts(accounts_json.as_bytes(), None, BadRecordPolicy::FailDocument)
        .unwrap()
        .records;
    let txns = plaid::transactions(
        format!(r#"{{"transactions": [{}]}}"#, txns.join(",")).as_bytes(),
        &accounts,
        now(),
        BadRecordPolicy::FailDocument,
    )
    .unwrap()
    .records;
    stage(&Profile::default(), uuid::Uuid::from_u128(2), Source::Plaid, accounts, txns)
        .approve(&repository, &stream, &meta, |_, _| {})
        .await
        .unwrap();
    let version = repository.store().stream_version(&stream).await.unwrap().get();
    read_entire_log(repository.store(), 1_000, usize::try_from(version).unwrap()).await;
    (repository, version)
}

/// The rule firing a low-balance warning when a checking account holds under 100.00.
fn low_balance_rule() -> Rule {
    serde_json::from_value(serde_json::json!({
        "rule_id": "low_balance", "trigger": "core.transaction.*",
        "condition": {"and": [{"<": [{"var": "account.balance"}, 10000]}, {"==": [{"var": "account.type"}, "CHECKING"]}]},
        "action": "emit_event:low_balance_warning"
    }))
    .unwrap()
}

/// A loopback webhook server answering 204: its URL and the raw requests it received.
async fn webhook_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut raw = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let length: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if raw.len() >= i + 4 + length || n == 0 {
                        log.lock().unwrap().push(text);
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").await;
        }
    });
    (url, received)
}

/// Runs webhook delivery of the fired `low_balance_*` events to `url`, twice over.
async fn deliver_to_webhook(
    schema: &TestSchema,
    runner: &ProjectionRunner<PgEventStore>,
    url: String,
) {
    let subscription = Subscription {
        subscription_id: "app".into(),
        url,
        patterns: vec!["low_balance_*".into(), "brain.*".into()],
        secret: "s".into(),
    };
    let delivery = WebhookDelivery::new(
        HttpTransport { timeout: Duration::from_secs(5) },
        RetryPolicy::default(),
        None,
    )
    .await
    .unwrap();
    let mut deliver =
        PulseDelivery::new(schema.pool.clone(), "pulse_webhooks", delivery, vec![subscription])
            .await
            .unwrap();
    runner.catch_up(&mut deliver).await.unwrap();
    runner.catch_up(&mut deliver).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulse_rules_run_over_the_twins_and_fire_once_per_transition() {
    let schema = TestSchema::new().await;
    let (repository, version) = low_balance_twin(&schema).await;
    let rule = low_balance_rule();
    let runner = ProjectionRunner::new(
        Arc::new(schema.store()),
        RunnerOptions { page_size: 2, ..RunnerOptions::default() },
    );
    let mut sink =
        PulseSink::new(schema.store(), "pulse_main", RuleEngine::new(vec![rule.clone()]).unwrap())
            .await
            .unwrap();
    runner.catch_up(&mut sink).await.unwrap();
    let pulse = fintra_core::StreamId::new(format!("pulse-{}", uuid::Uuid::from_u128(9))).unwrap();
    let fired =
        read_entire_log(repository.store(), 1_000, usize::try_from(version).unwrap() + 2).await;
    let emitted: Vec<_> = fired.iter().filter(|e| e.stream_id == pulse).collect();
    assert_eq!(emitted.len(), 2, "low on 2 January and again on 1 February, not on 2 February");
    assert!(emitted.iter().all(|e| e.event_type == "low_balance_warning"));
    // A restarted sink resumes its rule state and checkpoint: nothing fires twice.
    let mut again =
        PulseSink::new(schema.store(), "pulse_main", RuleEngine::new(vec![rule]).unwrap())
            .await
            .unwrap();
    runner.catch_up(&mut again).await.unwrap();
    assert_eq!(repository.store().stream_version(&pulse).await.unwrap().get(), 2);

    // A Brain event on the profile's Brain stream (as `fintra_ml::insight` writes it).
    let brain = fintra_core::StreamId::new(format!("brain-{}", uuid::Uuid::from_u128(9))).unwrap();
    let nudge = NewEvent {
        event_id: uuid::Uuid::from_u128(0xB1),
        event_type: "brain.nudge.idle_cash".into(),
        schema_version: 1,
        occurred_at: chrono::DateTime::UNIX_EPOCH,
        metadata: EventMetadata::default(),
        content_type: ContentType::json(),
        payload:
            br#"{"type":"brain.nudge.idle_cash","moveable_amount_minor":50000,"currency":"GBP"}"#
                .as_slice()
                .into(),
    };
    repository.store().append(&brain, ExpectedVersion::NoStream, &[nudge]).await.unwrap();

    // Delivery: the fired events and the Brain's reach a webhook subscribed to them, once each.
    let (url, received) = webhook_server().await;
    deliver_to_webhook(&schema, &runner, url).await;
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 3, "each event delivered once");
    assert!(received.iter().all(|r| r.contains("Idempotency-Key: app:")));
    let low = received.iter().filter(|r| r.contains("\"type\":\"low_balance_warning\""));
    assert_eq!(low.count(), 2);
    let profile = format!("\"profile_id\":\"{}\"", uuid::Uuid::from_u128(9));
    let nudges: Vec<_> =
        received.iter().filter(|r| r.contains("\"type\":\"brain.nudge.idle_cash\"")).collect();
    assert_eq!(nudges.len(), 1);
    assert!(nudges[0].contains(&profile) && nudges[0].contains("\"moveable_amount_minor\":50000"));
}

/// Seals Pulse signals with the guard, as a host wires it.
struct Seal(Arc<GuardedStore<PgEventStore>>);

#[async_trait::async_trait]
impl SignalSealer for Seal {
    async fn seal(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
    ) -> fintra_core::Result<Vec<NewEvent>> {
        self.0.seal(stream, &events).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulse_reads_sealed_twins_and_its_signals_are_sealed_and_erased_with_the_profile() {
    let schema = TestSchema::new().await;
    let guard = Arc::new(Guard::new(
        Arc::new(LocalKeyProvider::new([0x33; 32])),
        Arc::new(InMemoryKeyStore::new()),
    ));
    let guarded = Arc::new(GuardedStore::new(schema.store(), guard));
    let (repository, _) = low_balance_twin_in(Arc::clone(&guarded)).await;
    let profile = repository.stream_id(uuid::Uuid::from_u128(9)).unwrap();
    let runner = ProjectionRunner::new(Arc::clone(&guarded), RunnerOptions::default());
    let reader: Arc<dyn EventStore> = guarded.clone();
    let mut sink = PulseSink::new(
        schema.store(),
        "pulse_sealed",
        RuleEngine::new(vec![low_balance_rule()]).unwrap(),
    )
    .await
    .unwrap()
    .with_reader(reader)
    .with_sealer(Arc::new(Seal(Arc::clone(&guarded))));
    runner.catch_up(&mut sink).await.unwrap();

    let pulse = StreamId::new(format!("pulse-{}", uuid::Uuid::from_u128(9))).unwrap();
    let options = fintra_core::ReadStreamOptions::default();
    let below = schema.store().read_stream(&pulse, options).await.unwrap();
    assert_eq!(below.len(), 2, "the same two firings as without Guard");
    for signal in &below {
        assert_eq!(signal.content_type.as_str(), fintra_guard::SEALED, "stored sealed");
        assert_eq!(
            signal.metadata.headers.get(fintra_core::SUBJECT_HEADER),
            Some(&profile.as_str().to_owned())
        );
        assert!(!String::from_utf8_lossy(&signal.payload).contains("low_balance"));
    }
    let above = guarded.read_stream(&pulse, options).await.unwrap();
    assert!(
        above
            .iter()
            .all(|s| String::from_utf8_lossy(&s.payload).contains("\"rule_id\":\"low_balance\""))
    );

    let subject = SubjectId::new(profile.as_str()).unwrap();
    guarded.shred(&subject, &EventMetadata::default()).await.unwrap();
    let after = guarded.read_stream(&pulse, options).await.unwrap();
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(RecordedEvent::is_shredded), "the signals went with the profile");
}

/// A Pulse sink fenced by a lease: once another process holds the lease, the old sink's page
/// rolls back (`Fenced`): no signal appended, no rule state or checkpoint moved. The new holder
/// fires what the rules call for, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_pulse_sink_that_lost_its_lease_fires_nothing() {
    use fintra_projections::lease::{LeaseOptions, PgLeases};
    let schema = TestSchema::new().await;
    let (repository, _) = low_balance_twin(&schema).await;
    let runner = ProjectionRunner::new(Arc::new(schema.store()), RunnerOptions::default());
    let engine = || RuleEngine::new(vec![low_balance_rule()]).unwrap();
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions::default()).await.unwrap();
    let a = leases.try_acquire("pulse_main", "a").await.unwrap().unwrap();
    let sink = PulseSink::new(schema.store(), "pulse_main", engine()).await.unwrap();
    let mut stale = sink.with_lease(a.clone());
    leases.release(&a).await.unwrap();
    let b = leases.try_acquire("pulse_main", "b").await.unwrap().unwrap();
    let refused = runner.catch_up(&mut stale).await;
    assert!(
        matches!(refused, Err(fintra_projections::ProjectionError::Fenced { .. })),
        "{refused:?}"
    );
    let pulse = StreamId::new(format!("pulse-{}", uuid::Uuid::from_u128(9))).unwrap();
    let store = repository.store();
    assert_eq!(store.stream_version(&pulse).await.unwrap().get(), 0, "no signal appended");
    let checkpoint = fintra_projections::Sink::checkpoint(&mut stale).await.unwrap();
    assert_eq!(checkpoint, fintra_core::Position::START);
    let sink = PulseSink::new(schema.store(), "pulse_main", engine()).await.unwrap();
    runner.catch_up(&mut sink.with_lease(b)).await.unwrap();
    assert_eq!(store.stream_version(&pulse).await.unwrap().get(), 2, "fired once each");
}
