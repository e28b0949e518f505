//! The Kafka publisher read by a client that is not fintra's own: librdkafka (confluent-kafka
//! from PyPI, through `scripts/kafka_client.py`) consumes both message formats from the test
//! broker, checks every JSON envelope against `docs/kafka-envelope.schema.json`, and produces with
//! its Java-compatible partitioner to show that producers in other languages pick the same
//! partitions. `scripts/test.sh` installs the Python packages.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use fintra_core::testing::conformance::{event, read_entire_log, stream};
use fintra_core::{Actor, EventStore, ExpectedVersion, NewEvent, RecordedEvent, TenantId};
use fintra_projections::kafka::{
    KafkaPublisher, MessageFormat, connect, ensure_topic, envelope, headers, partition_of,
};
use fintra_projections::{ProjectionRunner, RunnerOptions};
use fintra_store_postgres::testing::TestSchema;

fn brokers() -> String {
    std::env::var("FINTRA_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// A topic-name suffix no earlier run used.
fn fresh() -> String {
    use fintra_core::IdGenerator as _;
    fintra_core::UuidV7Generator.next_id().simple().to_string()
}

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `scripts/kafka_client.py` with `args` (and `stdin`), failing the test with its message.
fn python_client(args: &[&str], stdin: &str) -> Vec<serde_json::Value> {
    let script = repository_root().join("scripts/kafka_client.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "python3 could not be started ({e}): install Python 3 (scripts/test.sh needs it)"
            )
        });
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named"),
        "the librdkafka client is missing ({stderr}): run scripts/test.sh, which installs confluent-kafka and jsonschema from PyPI"
    );
    assert!(output.status.success(), "kafka_client.py {args:?} failed: {stderr}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Events with every envelope field set: a tenant, a user, correlation and causation ids and
/// headers of their own.
fn rich_event(n: u64) -> NewEvent {
    let mut e = event(n);
    e.metadata.tenant_id = TenantId::new("acme-bank").unwrap();
    e.metadata.actor = Actor::User(format!("user-{}", n % 3));
    e.metadata.correlation_id = Some(uuid::Uuid::from_u128(u128::from(n / 10) + 1));
    e.metadata.causation_id = n.is_multiple_of(2).then(|| uuid::Uuid::from_u128(u128::from(n) + 7));
    e.metadata.headers.insert("traceparent".into(), format!("00-{n:032x}-{n:016x}-01"));
    e.metadata.headers.insert("source".into(), "kafka-clients test".into());
    e
}

async fn publish(schema: &TestSchema, topic: &str, format: MessageFormat) -> Vec<RecordedEvent> {
    let client = tokio::time::timeout(Duration::from_secs(15), connect(&[brokers()]))
        .await
        .unwrap_or_else(|_| panic!("no Kafka broker answered at {} in 15 s: run scripts/kafka.sh (scripts/test.sh does)", brokers()))
        .unwrap_or_else(|e| panic!("Kafka broker at {} unreachable ({e}): run scripts/kafka.sh", brokers()));
    ensure_topic(&client, topic, 3).await.unwrap();
    let store = schema.store();
    for s in 0..6u64 {
        let batch: Vec<NewEvent> = (0..10).map(|k| rich_event(s * 100 + k)).collect();
        store.append(&stream(&format!("kc{s}")), ExpectedVersion::Any, &batch).await.unwrap();
    }
    let log = read_entire_log(&store, 100, 60).await;
    let mut publisher = KafkaPublisher::new(&client, topic, 3, schema.pool.clone())
        .await
        .unwrap()
        .with_format(format);
    let runner = ProjectionRunner::new(Arc::new(store), RunnerOptions::default());
    runner.catch_up(&mut publisher).await.unwrap();
    log
}

/// Checks what librdkafka read against the log: every event, its partition, its headers and its
/// stream's order; returns the values by event id.
fn check_records(records: &[serde_json::Value], log: &[RecordedEvent]) -> HashMap<String, Vec<u8>> {
    let by_id: HashMap<String, &RecordedEvent> =
        log.iter().map(|e| (e.event_id.to_string(), e)).collect();
    let mut values = HashMap::new();
    let mut last_version: BTreeMap<String, u64> = BTreeMap::new();
    for record in records {
        let headers_read: BTreeMap<String, Vec<u8>> = record["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().as_bytes().to_vec()))
            .collect();
        let id = String::from_utf8(headers_read["fintra-event-id"].clone()).unwrap();
        let event = by_id.get(&id).unwrap_or_else(|| panic!("unknown event {id}"));
        assert_eq!(headers_read, headers(event), "every envelope field as a header");
        let key = record["key"].as_str().unwrap();
        assert_eq!(key, event.stream_id.as_str());
        let partition = usize::try_from(record["partition"].as_u64().unwrap()).unwrap();
        assert_eq!(partition, partition_of(key, 3), "murmur2, as the Java client partitions");
        let version = event.stream_version.get();
        let last = last_version.entry(key.to_owned()).or_insert(0);
        assert!(
            version > *last || values.contains_key(&id),
            "{key}: version {version} after {last}"
        );
        *last = (*last).max(version);
        let value = base64::engine::general_purpose::STANDARD
            .decode(record["value"].as_str().unwrap())
            .unwrap();
        values.insert(id, value);
    }
    assert_eq!(values.len(), log.len(), "every event read back");
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_reads_every_event_with_its_whole_envelope_in_both_formats() {
    let schema_file = repository_root().join("docs/kafka-envelope.schema.json");
    let schema_path = schema_file.to_str().unwrap();
    for format in [MessageFormat::Payload, MessageFormat::JsonEnvelope] {
        let schema = TestSchema::new().await;
        let topic = format!("fintra-kc-{format:?}-{}", fresh());
        let log = publish(&schema, &topic, format).await;
        let mut args = vec!["consume".to_owned(), brokers(), topic.clone(), log.len().to_string()];
        if format == MessageFormat::JsonEnvelope {
            args.push(schema_path.to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let records = python_client(&args, "");
        let values = check_records(&records, &log);
        for event in &log {
            let value = &values[&event.event_id.to_string()];
            match format {
                MessageFormat::Payload => assert_eq!(value, &event.payload.to_vec()),
                _ => {
                    let read: serde_json::Value = serde_json::from_slice(value).unwrap();
                    assert_eq!(read, envelope(event));
                    assert_eq!(read["payload_encoding"], "json");
                    assert_eq!(read["metadata"]["headers"]["source"], "kafka-clients test");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_librdkafka_producer_picks_the_same_partition_for_every_key() {
    let client = connect(&[brokers()]).await.unwrap_or_else(|e| {
        panic!("Kafka broker at {} unreachable ({e}): run scripts/kafka.sh", brokers())
    });
    let topic = format!("fintra-kc-partitions-{}", fresh());
    ensure_topic(&client, &topic, 7).await.unwrap();
    let keys: Vec<String> = (0..60)
        .map(|k| match k % 3 {
            0 => format!("Profile-{}", uuid::Uuid::from_u128(k)),
            1 => format!("account-{k}"),
            _ => format!("ledger-book-{k:04}"),
        })
        .collect();
    let brokers = brokers();
    let placed = python_client(&["partitions", &brokers, &topic], &keys.join("\n"));
    assert_eq!(placed.len(), keys.len());
    for p in placed {
        let key = p["key"].as_str().unwrap();
        let partition = usize::try_from(p["partition"].as_u64().unwrap()).unwrap();
        assert_eq!(partition, partition_of(key, 7), "{key}");
    }
}
