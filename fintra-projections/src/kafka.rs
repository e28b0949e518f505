//! The Kafka publisher: a checkpointed relay from the global log to a Kafka topic (default
//! `core.events`) with a pure-Rust client (`rskafka`). `docs/kafka.md` documents the message
//! format for consumers in any language.
//!
//! - Key = stream id. The partition is Kafka's default partitioner — murmur2 of the key, as the
//!   Java client computes it ([`partition_of`]) — so each stream's events stay in order in one
//!   partition, and a Java, librdkafka (`partitioner=murmur2_random`) or Go producer with the
//!   same key agrees on the partition.
//! - At-least-once: a page is produced, the broker acknowledges it, and only then does the
//!   checkpoint (a PostgreSQL row, like other projections) move. A crash in between re-publishes
//!   the page: consumers deduplicate on the `fintra-event-id` header.
//! - Headers carry the whole envelope ([`HEADERS`]): ids, type, stream and position, schema
//!   version, content type, times, tenant, correlation, causation, actor and the event's own
//!   headers (as `fintra-header-<name>`). The value is the payload as stored
//!   ([`MessageFormat::Payload`], the default) or a JSON envelope
//!   ([`MessageFormat::JsonEnvelope`], schema in `docs/kafka-envelope.schema.json`). The record
//!   timestamp is the event's `recorded_at`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use base64::Engine as _;
use fintra_core::{Position, RecordedEvent};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use sqlx::PgPool;

use crate::runner::{ProjectionError, Sink};

/// The default topic.
pub const CORE_EVENTS_TOPIC: &str = "core.events";

/// The Brain's topic (spec §1.4): what the Brain concluded about the twin.
pub const BRAIN_INSIGHTS_TOPIC: &str = "brain.insights";

/// The event types a [`BRAIN_INSIGHTS_TOPIC`] publisher carries
/// ([`KafkaPublisher::with_event_types`]).
pub const BRAIN_INSIGHT_EVENTS: &[&str] = &["TransactionCategorised"];

fn kafka_error(error: rskafka::client::error::Error) -> ProjectionError {
    ProjectionError::sink("kafka", error)
}

use crate::checkpoints::pg_error;

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`): the hash the Java client's
/// default partitioner takes of a record key.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Java hashes the length as an int; keys are far below 4 GiB.
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut h = SEED ^ length;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    i32::from_ne_bytes(h.to_ne_bytes())
}

/// The partition of a record key among `partitions`, as Kafka's default partitioner picks it:
/// `toPositive(murmur2(key)) % partitions`.
pub fn partition_of(key: &str, partitions: usize) -> usize {
    let positive = murmur2(key.as_bytes()) & 0x7fff_ffff;
    let positive = usize::try_from(positive).unwrap_or(0);
    positive % partitions.max(1)
}

/// The value of a record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageFormat {
    /// The payload bytes as stored (JSON, Protobuf or ciphertext, as `fintra-content-type`
    /// says); the envelope is in the headers. The default.
    #[default]
    Payload,
    /// A JSON object with every envelope field and the payload inside (`docs/kafka.md`, JSON
    /// Schema in `docs/kafka-envelope.schema.json`); the headers are set as well.
    JsonEnvelope,
}

/// The headers every record carries (UTF-8 text). Optional ones are absent when the event has
/// no value for them; the event's own headers follow as `fintra-header-<name>`.
pub const HEADERS: [&str; 14] = [
    "fintra-event-id",
    "fintra-event-type",
    "fintra-stream-id",
    "fintra-stream-version",
    "fintra-position",
    "fintra-schema-version",
    "fintra-content-type",
    "fintra-occurred-at",
    "fintra-recorded-at",
    "fintra-tenant",
    "fintra-actor",
    "fintra-correlation-id",
    "fintra-causation-id",
    "fintra-envelope-version",
];

/// The version of the message format; it changes when a field changes meaning or is removed
/// (new fields may appear without a change).
pub const ENVELOPE_VERSION: &str = "1";

/// The prefix of the event's own headers.
pub const CUSTOM_HEADER_PREFIX: &str = "fintra-header-";

/// Connects to the brokers.
///
/// # Errors
/// Kafka errors (a broker that does not answer).
pub async fn connect(brokers: &[String]) -> Result<Client, ProjectionError> {
    ClientBuilder::new(brokers.to_vec()).build().await.map_err(kafka_error)
}

/// Creates `topic` with `partitions` partitions (replication 1) if it does not exist.
///
/// # Errors
/// Kafka errors other than "already exists".
pub async fn ensure_topic(
    client: &Client,
    topic: &str,
    partitions: i32,
) -> Result<(), ProjectionError> {
    let controller = client.controller_client().map_err(kafka_error)?;
    match controller.create_topic(topic, partitions, 1, 5_000).await {
        Ok(()) => Ok(()),
        Err(rskafka::client::error::Error::ServerError {
            protocol_error: rskafka::client::error::ProtocolError::TopicAlreadyExists,
            ..
        }) => Ok(()),
        Err(error) => Err(kafka_error(error)),
    }
}

/// A [`Sink`] publishing every event of the log to a Kafka topic.
pub struct KafkaPublisher {
    name: String,
    partitions: Vec<PartitionClient>,
    checkpoints: PgPool,
    format: MessageFormat,
    /// Only these event types are published (all when `None`).
    event_types: Option<Vec<String>>,
    /// The lease that fences this publisher, when several processes may run it.
    lease: Option<crate::lease::Lease>,
}

impl std::fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("name", &self.name)
            .field("partitions", &self.partitions.len())
            .field("format", &self.format)
            .field("event_types", &self.event_types)
            .finish_non_exhaustive()
    }
}

impl KafkaPublisher {
    /// A publisher of the log to `topic` (which must exist with `partitions` partitions), its
    /// checkpoint kept in `checkpoints` under `kafka:<topic>`.
    ///
    /// # Errors
    /// Kafka and PostgreSQL errors.
    pub async fn new(
        client: &Client,
        topic: &str,
        partitions: i32,
        checkpoints: PgPool,
    ) -> Result<Self, ProjectionError> {
        crate::pg::create_if_missing(&checkpoints, crate::checkpoints::CHECKPOINTS_DDL).await?;
        let mut clients = Vec::new();
        for partition in 0..partitions.max(1) {
            clients.push(
                client
                    .partition_client(topic, partition, UnknownTopicHandling::Retry)
                    .await
                    .map_err(kafka_error)?,
            );
        }
        Ok(Self {
            name: format!("kafka:{topic}"),
            partitions: clients,
            checkpoints,
            format: MessageFormat::default(),
            event_types: None,
            lease: None,
        })
    }

    /// Fences this publisher with `lease` ([`crate::lease`]): before producing a page it checks
    /// that the lease is still its own, and its checkpoint commits only under the lease. A
    /// publisher that lost its lease stops with [`ProjectionError::Fenced`] instead of
    /// publishing; duplicates are then limited to a page produced in the moment between that
    /// check and the takeover (at-least-once, as after a crash).
    #[must_use]
    pub fn with_lease(mut self, lease: crate::lease::Lease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// The same publisher carrying only events of `types` (and every erasure notice, so
    /// consumers learn of erasures): `brain.insights` is
    /// `with_event_types(BRAIN_INSIGHT_EVENTS)` on [`BRAIN_INSIGHTS_TOPIC`]. Other events only
    /// move its checkpoint.
    #[must_use]
    pub fn with_event_types<T: Into<String>>(mut self, types: impl IntoIterator<Item = T>) -> Self {
        self.event_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// The same publisher writing values in `format`.
    #[must_use]
    pub fn with_format(mut self, format: MessageFormat) -> Self {
        self.format = format;
        self
    }

    fn record(&self, event: &RecordedEvent) -> Record {
        let value = match self.format {
            MessageFormat::Payload => event.payload.to_vec(),
            MessageFormat::JsonEnvelope => envelope(event).to_string().into_bytes(),
        };
        Record {
            key: Some(event.stream_id.as_str().as_bytes().to_vec()),
            value: Some(value),
            headers: headers(event),
            timestamp: event.recorded_at,
        }
    }
}

/// The record headers of `event` ([`HEADERS`], then its own as `fintra-header-<name>`).
pub fn headers(event: &RecordedEvent) -> BTreeMap<String, Vec<u8>> {
    let meta = &event.metadata;
    let optional = |id: Option<uuid::Uuid>| id.map(|id| id.to_string());
    let values = [
        Some(event.event_id.to_string()),
        Some(event.event_type.clone()),
        Some(event.stream_id.as_str().to_owned()),
        Some(event.stream_version.get().to_string()),
        Some(event.position.0.to_string()),
        Some(event.schema_version.to_string()),
        Some(event.content_type.as_str().to_owned()),
        Some(event.occurred_at.to_rfc3339()),
        Some(event.recorded_at.to_rfc3339()),
        Some(meta.tenant_id.as_str().to_owned()),
        Some(meta.actor.to_storage()),
        optional(meta.correlation_id),
        optional(meta.causation_id),
        Some(ENVELOPE_VERSION.to_owned()),
    ];
    let mut out: BTreeMap<String, Vec<u8>> = HEADERS
        .iter()
        .zip(values)
        .filter_map(|(name, value)| value.map(|v| ((*name).to_owned(), v.into_bytes())))
        .collect();
    for (name, value) in &meta.headers {
        out.insert(format!("{CUSTOM_HEADER_PREFIX}{name}"), value.clone().into_bytes());
    }
    out
}

/// The JSON envelope of `event` ([`MessageFormat::JsonEnvelope`]): a JSON payload embedded as
/// JSON, any other payload as base64.
pub fn envelope(event: &RecordedEvent) -> serde_json::Value {
    let json_payload = (event.content_type.as_str() == fintra_core::ContentType::JSON)
        .then(|| serde_json::from_slice::<serde_json::Value>(&event.payload).ok())
        .flatten();
    let (encoding, payload) = match json_payload {
        Some(value) => ("json", value),
        None => (
            "base64",
            serde_json::Value::String(
                base64::engine::general_purpose::STANDARD.encode(&event.payload),
            ),
        ),
    };
    let meta = &event.metadata;
    serde_json::json!({
        "envelope_version": ENVELOPE_VERSION,
        "event_id": event.event_id.to_string(),
        "event_type": event.event_type,
        "stream_id": event.stream_id.as_str(),
        "stream_version": event.stream_version.get(),
        "position": event.position.0,
        "schema_version": event.schema_version,
        "content_type": event.content_type.as_str(),
        "occurred_at": event.occurred_at.to_rfc3339(),
        "recorded_at": event.recorded_at.to_rfc3339(),
        "metadata": {
            "tenant_id": meta.tenant_id.as_str(),
            "actor": meta.actor.to_storage(),
            "correlation_id": meta.correlation_id.map(|id| id.to_string()),
            "causation_id": meta.causation_id.map(|id| id.to_string()),
            "headers": meta.headers,
        },
        "payload_encoding": encoding,
        "payload": payload,
    })
}

#[async_trait]
impl Sink for KafkaPublisher {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn handles(&self, event_type: &str) -> bool {
        self.event_types.as_ref().is_none_or(|types| types.iter().any(|t| t == event_type))
    }

    async fn checkpoint(&mut self) -> Result<Position, ProjectionError> {
        crate::checkpoints::load(&self.checkpoints, "fintra_projection_checkpoints", &self.name)
            .await
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        through: Position,
    ) -> Result<(), ProjectionError> {
        if let Some(lease) = &self.lease {
            // Checked (and the renewal time touched) before producing anything.
            let mut conn = self.checkpoints.acquire().await.map_err(pg_error)?;
            crate::lease::fence(&mut conn, lease).await?;
        }
        let n = self.partitions.len();
        let mut by_partition: Vec<Vec<Record>> = vec![Vec::new(); n];
        for event in events {
            if let Some(records) = by_partition.get_mut(partition_of(event.stream_id.as_str(), n)) {
                records.push(self.record(event));
            }
        }
        // Each partition's records go in log order and are acknowledged before the checkpoint.
        for (client, records) in self.partitions.iter().zip(by_partition) {
            for chunk in records.chunks(500) {
                client
                    .produce(chunk.to_vec(), Compression::NoCompression)
                    .await
                    .map_err(kafka_error)?;
            }
        }
        let mut tx = crate::pg::begin(&self.checkpoints).await?;
        let saved = match &self.lease {
            Some(lease) => crate::lease::fence(&mut tx, lease).await,
            None => Ok(()),
        };
        let saved = match saved {
            Ok(()) => crate::checkpoints::save(&mut tx, &self.name, through).await,
            Err(error) => Err(error),
        };
        if let Err(error) = saved {
            crate::pg::rollback(tx).await?;
            return Err(error);
        }
        crate::pg::commit(tx).await
    }

    async fn park(&mut self, event: &RecordedEvent, reason: &str) -> Result<(), ProjectionError> {
        // Publishing never refuses an event; nothing reaches here.
        Err(ProjectionError::refused(format!("{}: {reason}", event.event_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::{murmur2, partition_of};

    /// The vectors of Kafka's own `UtilsTest.testMurmur2`.
    #[test]
    fn murmur2_matches_the_java_client() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            (b"abc", 479_470_107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key), expected, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn partitions_are_positive_modulo_the_count() {
        // murmur2("foobar") = -790332482; toPositive = 1357151166; % 7 = 1357151166 % 7.
        assert_eq!(partition_of("foobar", 7), 1_357_151_166 % 7);
        assert_eq!(partition_of("anything", 1), 0);
        assert_eq!(partition_of("anything", 0), 0, "no partitions is treated as one");
    }
}
