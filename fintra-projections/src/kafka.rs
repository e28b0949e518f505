//! The Kafka publisher: a checkpointed relay from the global log to a Kafka topic (default
//! `core.events`) with a pure-Rust client (`rskafka`).
//!
//! - Key = stream id; the partition is a stable hash of the stream id, so each stream's events
//!   stay in order in one partition.
//! - At-least-once: a page is produced, the broker acknowledges it, and only then does the
//!   checkpoint (a PostgreSQL row, like other projections) move. A crash in between re-publishes
//!   the page: consumers deduplicate on the `fintra-event-id` header.
//! - Value = the event's payload; headers carry the envelope (`fintra-event-id`,
//!   `fintra-event-type`, `fintra-stream-version`, `fintra-position`, `fintra-schema-version`,
//!   `fintra-content-type`, `fintra-occurred-at`, `fintra-tenant`); the record timestamp is the
//!   event's `recorded_at`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use fintra_core::{Position, RecordedEvent};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use sqlx::PgPool;

use crate::runner::{ProjectionError, Sink};

/// The default topic.
pub const CORE_EVENTS_TOPIC: &str = "core.events";

fn kafka_error(error: rskafka::client::error::Error) -> ProjectionError {
    ProjectionError::sink("kafka", error)
}

use crate::checkpoints::pg_error;

/// The partition of a stream: FNV-1a of its id, modulo the partition count.
pub fn partition_of(stream_id: &str, partitions: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stream_id.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    usize::try_from(hash % u64::try_from(partitions.max(1)).unwrap_or(1)).unwrap_or(0)
}

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
}

impl std::fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("name", &self.name)
            .field("partitions", &self.partitions.len())
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
        sqlx::query(crate::checkpoints::CHECKPOINTS_DDL)
            .execute(&checkpoints)
            .await
            .map_err(pg_error)?;
        let mut clients = Vec::new();
        for partition in 0..partitions.max(1) {
            clients.push(
                client
                    .partition_client(topic, partition, UnknownTopicHandling::Retry)
                    .await
                    .map_err(kafka_error)?,
            );
        }
        Ok(Self { name: format!("kafka:{topic}"), partitions: clients, checkpoints })
    }

    fn record(event: &RecordedEvent) -> Record {
        let mut headers = BTreeMap::new();
        let mut put = |name: &str, value: String| {
            headers.insert(name.to_owned(), value.into_bytes());
        };
        put("fintra-event-id", event.event_id.to_string());
        put("fintra-event-type", event.event_type.clone());
        put("fintra-stream-version", event.stream_version.get().to_string());
        put("fintra-position", event.position.0.to_string());
        put("fintra-schema-version", event.schema_version.to_string());
        put("fintra-content-type", event.content_type.as_str().to_owned());
        put("fintra-occurred-at", event.occurred_at.to_rfc3339());
        put("fintra-tenant", event.metadata.tenant_id.as_str().to_owned());
        Record {
            key: Some(event.stream_id.as_str().as_bytes().to_vec()),
            value: Some(event.payload.to_vec()),
            headers,
            timestamp: event.recorded_at,
        }
    }
}

#[async_trait]
impl Sink for KafkaPublisher {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn handles(&self, _event_type: &str) -> bool {
        true
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
        let n = self.partitions.len();
        let mut by_partition: Vec<Vec<Record>> = vec![Vec::new(); n];
        for event in events {
            if let Some(records) = by_partition.get_mut(partition_of(event.stream_id.as_str(), n)) {
                records.push(Self::record(event));
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
        let mut conn = self.checkpoints.acquire().await.map_err(pg_error)?;
        crate::checkpoints::save(&mut conn, &self.name, through).await?;
        Ok(())
    }

    async fn park(&mut self, event: &RecordedEvent, reason: &str) -> Result<(), ProjectionError> {
        // Publishing never refuses an event; nothing reaches here.
        Err(ProjectionError::refused(format!("{}: {reason}", event.event_id)))
    }
}
