//! Pulse delivery against a local HTTP server that fails on purpose: retries with backoff, one
//! idempotency key per delivery, verifiable signatures, dead letters in PostgreSQL.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fintra_projections::pulse::{
    Envelope, EnvelopeUser, HttpTransport, Outcome, RetryPolicy, Rule, RuleEngine, Subscription,
    WebhookDelivery, emitted_event, signature,
};
use fintra_store_postgres::testing::TestSchema;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Debug)]
struct Seen {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A server answering 500 to the first `failures` requests, then 200; it records every request.
async fn flaky_server(failures: usize) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/fintra", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            // Read headers, then the body by Content-Length.
            let (head_end, length) = loop {
                let n = socket.read(&mut buf).await.unwrap();
                raw.extend_from_slice(&buf[..n]);
                if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&raw[..i]).to_string();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (i + 4, length);
                }
            };
            while raw.len() < head_end + length {
                let n = socket.read(&mut buf).await.unwrap();
                raw.extend_from_slice(&buf[..n]);
            }
            let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
            let headers = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_owned(), v.to_owned())))
                .collect();
            let count = {
                let mut log = log.lock().unwrap();
                log.push(Seen { headers, body: raw[head_end..head_end + length].to_vec() });
                log.len()
            };
            let status = if count <= failures { "500 Internal Server Error" } else { "200 OK" };
            let _ = socket
                .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                .await;
        }
    });
    (url, seen)
}

fn envelope() -> Envelope {
    Envelope {
        event_id: uuid::Uuid::from_u128(42),
        event_type: "brain.risk.overdraft_warning".into(),
        api_version: "2023-11-01".into(),
        created_at: chrono::DateTime::UNIX_EPOCH,
        data: serde_json::json!({"days_until_zero": 4, "amount": "-120.00"}),
        user: EnvelopeUser { profile_id: "usr_123".into(), external_id: Some("cust-9".into()) },
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap()
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_with_backoff_and_one_idempotency_key() {
    let (url, seen) = flaky_server(3).await;
    let subscription = Subscription {
        subscription_id: "sub_1".into(),
        url,
        patterns: vec!["brain.*".into()],
        secret: "whsec_test".into(),
    };
    assert!(
        subscription.wants("brain.risk.overdraft_warning")
            && !subscription.wants("core.transaction.created")
    );
    let policy = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(40),
        max_delay: Duration::from_secs(1),
    };
    let delivery =
        WebhookDelivery::new(HttpTransport { timeout: Duration::from_secs(5) }, policy, None)
            .await
            .unwrap();
    let started = Instant::now();
    let outcome = delivery.deliver(&subscription, &envelope()).await.unwrap();
    assert_eq!(outcome, Outcome::Delivered { attempts: 4 });
    // Backoff: waits of at least half of 40, 80 and 160 ms.
    assert!(started.elapsed() >= Duration::from_millis(140), "{:?}", started.elapsed());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    let keys: Vec<&str> = seen.iter().map(|s| header(s, "Idempotency-Key")).collect();
    assert!(keys.iter().all(|k| *k == "sub_1:00000000-0000-0000-0000-00000000002a"), "{keys:?}");
    for request in &seen {
        let sig = header(request, "Fintra-Signature");
        let t: i64 = sig.trim_start_matches("t=").split(',').next().unwrap().parse().unwrap();
        assert_eq!(sig, signature("whsec_test", t, &request.body), "the receiver can verify it");
        assert_ne!(sig, signature("wrong secret", t, &request.body));
        let body: Envelope = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body, envelope(), "the spec's envelope, unchanged across retries");
    }
    let json: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(json["type"], "brain.risk.overdraft_warning");
    assert_eq!(json["user"]["external_id"], "cust-9");
}

#[test]
fn the_backoff_grows_exponentially_within_its_jitter_band() {
    let policy = RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
    };
    assert_eq!(policy.delay(1, 0.0), Duration::from_millis(500));
    assert_eq!(policy.delay(3, 0.999_999), Duration::from_secs(4).mul_f64(0.999_999_5));
    assert_eq!(
        policy.delay(10, 0.0),
        Duration::from_secs(15),
        "capped at max_delay, then jittered"
    );
}

#[tokio::test]
async fn after_the_last_attempt_a_dead_letter_is_recorded() {
    let schema = TestSchema::new().await;
    let (url, seen) = flaky_server(usize::MAX).await;
    let subscription = Subscription {
        subscription_id: "sub_2".into(),
        url,
        patterns: vec!["*".into()],
        secret: "s".into(),
    };
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };
    let delivery = WebhookDelivery::new(
        HttpTransport { timeout: Duration::from_secs(5) },
        policy,
        Some(schema.pool.clone()),
    )
    .await
    .unwrap();
    let outcome = delivery.deliver(&subscription, &envelope()).await.unwrap();
    assert_eq!(outcome, Outcome::DeadLettered { attempts: 3, last_error: "HTTP 500".into() });
    assert_eq!(seen.lock().unwrap().len(), 3);
    let (attempts, error, event_type): (i32, String, String) =
        sqlx::query_as("SELECT attempts, last_error, event_type FROM fintra_pulse_dead_letters WHERE idempotency_key = $1")
            .bind("sub_2:00000000-0000-0000-0000-00000000002a")
            .fetch_one(&schema.pool)
            .await
            .unwrap();
    assert_eq!(
        (attempts, error.as_str(), event_type.as_str()),
        (3, "HTTP 500", "brain.risk.overdraft_warning")
    );
    // An unreachable endpoint dead-letters too, with the connection error.
    let closed = Subscription {
        url: "http://127.0.0.1:9/nothing".into(),
        subscription_id: "sub_3".into(),
        ..subscription
    };
    assert!(matches!(
        delivery.deliver(&closed, &envelope()).await.unwrap(),
        Outcome::DeadLettered { attempts: 3, .. }
    ));
}

#[tokio::test]
async fn a_rule_that_fires_becomes_an_event_and_a_delivery() {
    let rule: Rule = serde_json::from_value(serde_json::json!({
        "rule_id": "low_balance",
        "trigger": "core.transaction.*",
        "condition": {"<": [{"var": "account.balance"}, 100]},
        "action": "emit_event:brain.risk.low_balance_warning"
    }))
    .unwrap();
    let mut engine = RuleEngine::new(vec![rule]).unwrap();
    let low = serde_json::json!({"account": {"balance": 50}});
    let fired = engine.on_event("core.transaction.created", "acc_1", &low).unwrap();
    assert_eq!(fired.len(), 1);
    assert!(
        engine.on_event("core.transaction.created", "acc_1", &low).unwrap().is_empty(),
        "once per transition"
    );
    let event = emitted_event(
        &fired[0],
        uuid::Uuid::from_u128(7),
        chrono::DateTime::UNIX_EPOCH,
        Default::default(),
    );
    assert_eq!(event.event_type, "brain.risk.low_balance_warning");
    let (url, seen) = flaky_server(0).await;
    let subscription = Subscription {
        subscription_id: "sub_4".into(),
        url,
        patterns: vec!["brain.risk.*".into()],
        secret: "k".into(),
    };
    let envelope =
        Envelope { event_id: event.event_id, event_type: event.event_type.clone(), ..envelope() };
    assert!(subscription.wants(&envelope.event_type));
    let delivery = WebhookDelivery::new(
        HttpTransport { timeout: Duration::from_secs(5) },
        RetryPolicy::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        delivery.deliver(&subscription, &envelope).await.unwrap(),
        Outcome::Delivered { attempts: 1 }
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// A delivery fenced by a lease: once another process holds the lease, the old delivery sends
/// nothing and moves no checkpoint (`Fenced`); the new holder delivers the page.
#[tokio::test]
async fn a_fenced_delivery_that_lost_its_lease_sends_nothing() {
    use fintra_core::{EventStore, ExpectedVersion, NewEvent, Position, StreamId};
    use fintra_projections::lease::{LeaseOptions, PgLeases};
    use fintra_projections::pulse::PulseDelivery;
    use fintra_projections::{ProjectionError, Sink};
    let schema = TestSchema::new().await;
    let store = schema.store();
    let signal = NewEvent {
        event_type: "brain.risk.low_balance_warning".into(),
        ..fintra_core::testing::conformance::event(1)
    };
    let stream = StreamId::new("pulse-usr_1").unwrap();
    store.append(&stream, ExpectedVersion::NoStream, &[signal]).await.unwrap();
    let log = store.read_all(Position::START, 10).await.unwrap();
    let through = log.last().unwrap().position;
    let (url, seen) = flaky_server(0).await;
    let subscriptions = vec![Subscription {
        subscription_id: "sub_5".into(),
        url,
        patterns: vec!["brain.risk.*".into()],
        secret: "k".into(),
    }];
    let sink = |lease| {
        let (pool, subscriptions) = (schema.pool.clone(), subscriptions.clone());
        async move {
            let transport = HttpTransport { timeout: Duration::from_secs(5) };
            let delivery = WebhookDelivery::new(transport, RetryPolicy::default(), None);
            let delivery = delivery.await.unwrap();
            let sink = PulseDelivery::new(pool, "delivery", delivery, subscriptions).await.unwrap();
            sink.with_lease(lease)
        }
    };
    let leases = PgLeases::new(schema.pool.clone(), LeaseOptions::default()).await.unwrap();
    let a = leases.try_acquire("pulse-delivery", "a").await.unwrap().unwrap();
    let mut stale = sink(a.clone()).await;
    leases.release(&a).await.unwrap();
    let b = leases.try_acquire("pulse-delivery", "b").await.unwrap().unwrap();
    let refused = stale.apply(&log, through).await;
    assert!(matches!(refused, Err(ProjectionError::Fenced { .. })), "{refused:?}");
    assert!(seen.lock().unwrap().is_empty(), "nothing sent by the stale holder");
    assert_eq!(stale.checkpoint().await.unwrap(), Position::START);
    let mut owner = sink(b).await;
    owner.apply(&log, through).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(owner.checkpoint().await.unwrap(), through);
}
