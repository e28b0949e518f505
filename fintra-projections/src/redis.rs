//! Redis JSON views with version-guarded, idempotent writes: a view document is stored with the
//! log position that produced it, and a write lands only if its position is newer — a replayed
//! or older event never overwrites a newer view. Writes are pipelined per batch; the checkpoint
//! moves after them (at-least-once delivery, exactly-once effect).

use async_trait::async_trait;
use fintra_core::{Position, RecordedEvent};
use redis::aio::MultiplexedConnection;

use crate::runner::{ProjectionError, Sink};

/// A projection into Redis view documents.
#[async_trait]
pub trait RedisProjection: Send + Sync {
    /// The view family's name (`[a-z0-9_]+`).
    fn name(&self) -> &str;
    /// The version; a new version is built alongside and then switched to.
    fn version(&self) -> u32;
    /// Whether it wants events of this type.
    fn handles(&self, event_type: &str) -> bool;
    /// The documents this event produces, as (view key, JSON). Each must be the whole view as of
    /// this event (the guard keeps the newest, so documents never merge).
    ///
    /// # Errors
    /// [`ProjectionError::Refused`] for an event it cannot take.
    async fn views(&self, event: &RecordedEvent) -> Result<Vec<(String, String)>, ProjectionError>;
}

/// Sets `json` at KEYS[1] only if ARGV[1] (a zero-padded position) is newer than the stored one.
const GUARDED_SET: &str = r"
local current = redis.call('HGET', KEYS[1], 'p')
if current and current >= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'p', ARGV[1], 'json', ARGV[2])
return 1
";

/// Deletes every key listed in the set KEYS[1], then the set: a subject's views.
const FORGET: &str = r"
local keys = redis.call('SMEMBERS', KEYS[1])
for _, key in ipairs(keys) do redis.call('UNLINK', key) end
redis.call('UNLINK', KEYS[1])
return #keys
";

/// Moves the checkpoint at KEYS[1] forward only.
const ADVANCE: &str = r"
local current = redis.call('GET', KEYS[1])
if current and current >= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
";

fn padded(position: Position) -> String {
    format!("{:020}", position.0)
}

/// Every key matching `pattern` (incremental `SCAN`, never `KEYS`).
async fn scan_keys(
    conn: &mut MultiplexedConnection,
    pattern: &str,
) -> Result<Vec<String>, ProjectionError> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .map_err(sink_error)?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

fn sink_error(error: redis::RedisError) -> ProjectionError {
    ProjectionError::sink("redis", error)
}

/// Reads the active version of views (what applications call).
#[derive(Clone)]
pub struct RedisViews {
    conn: MultiplexedConnection,
    prefix: String,
}

impl std::fmt::Debug for RedisViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisViews").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisViews {
    /// Views under `prefix` (e.g. `fintra`).
    pub fn new(conn: MultiplexedConnection, prefix: &str) -> Self {
        Self { conn, prefix: prefix.to_owned() }
    }

    /// The active version of view family `name`.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn active_version(&self, name: &str) -> Result<Option<u32>, ProjectionError> {
        let mut conn = self.conn.clone();
        let version: Option<u32> = redis::cmd("GET")
            .arg(format!("{}:{name}:active", self.prefix))
            .query_async(&mut conn)
            .await
            .map_err(sink_error)?;
        Ok(version)
    }

    /// The JSON of view `key` in the active version of `name`, with the position it reflects.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn get(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<(Position, String)>, ProjectionError> {
        let Some(version) = self.active_version(name).await? else { return Ok(None) };
        let mut conn = self.conn.clone();
        let (position, json): (Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(format!("{}:{name}:v{version}:view:{key}", self.prefix))
            .arg("p")
            .arg("json")
            .query_async(&mut conn)
            .await
            .map_err(sink_error)?;
        Ok(match (position, json) {
            (Some(p), Some(json)) => Some((Position(p.parse().unwrap_or(0)), json)),
            _ => None,
        })
    }

    /// The JSON and position of each of `keys` in the active version of `name`, in order: one
    /// read of the active version, then one pipelined round trip, so every document comes from
    /// the same version.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn get_many(
        &self,
        name: &str,
        keys: &[String],
    ) -> Result<Vec<Option<(Position, String)>>, ProjectionError> {
        let Some(version) = self.active_version(name).await? else {
            return Ok(vec![None; keys.len()]);
        };
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HMGET")
                .arg(format!("{}:{name}:v{version}:view:{key}", self.prefix))
                .arg("p")
                .arg("json");
        }
        let mut conn = self.conn.clone();
        let rows: Vec<(Option<String>, Option<String>)> =
            pipe.query_async(&mut conn).await.map_err(sink_error)?;
        Ok(rows
            .into_iter()
            .map(|row| match row {
                (Some(p), Some(json)) => Some((Position(p.parse().unwrap_or(0)), json)),
                _ => None,
            })
            .collect())
    }

    /// Every (key, position, JSON) of version `version` of `name`, sorted by key (for audits
    /// and rebuild comparisons).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn dump(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Vec<(String, String, String)>, ProjectionError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}:{name}:v{version}:view:*", self.prefix);
        let mut keys = scan_keys(&mut conn, &pattern).await?;
        keys.sort();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let (p, json): (String, String) = redis::cmd("HMGET")
                .arg(&key)
                .arg("p")
                .arg("json")
                .query_async(&mut conn)
                .await
                .map_err(sink_error)?;
            out.push((key, p, json));
        }
        Ok(out)
    }
}

/// A [`RedisProjection`] bound to a connection.
pub struct RedisSink<P> {
    conn: MultiplexedConnection,
    projection: P,
    prefix: String,
    set_sha: String,
    advance_sha: String,
    forget_sha: String,
}

/// The data subject an event belongs to, for erasure: the `fintra-subject` header a guarded
/// store sets, else the event's stream.
pub(crate) fn subject_of(event: &RecordedEvent) -> String {
    event
        .metadata
        .headers
        .get("fintra-subject")
        .cloned()
        .unwrap_or_else(|| event.stream_id.as_str().to_owned())
}

impl<P> std::fmt::Debug for RedisSink<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSink").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

async fn load_script(
    conn: &mut MultiplexedConnection,
    code: &str,
) -> Result<String, ProjectionError> {
    redis::cmd("SCRIPT").arg("LOAD").arg(code).query_async(conn).await.map_err(sink_error)
}

impl<P: RedisProjection> RedisSink<P> {
    /// A sink writing under `prefix` (keys `<prefix>:<name>:v<version>:…`).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn new(
        mut conn: MultiplexedConnection,
        prefix: &str,
        projection: P,
    ) -> Result<Self, ProjectionError> {
        let set_sha = load_script(&mut conn, GUARDED_SET).await?;
        let advance_sha = load_script(&mut conn, ADVANCE).await?;
        let forget_sha = load_script(&mut conn, FORGET).await?;
        Ok(Self { conn, projection, prefix: prefix.to_owned(), set_sha, advance_sha, forget_sha })
    }

    fn namespace(&self) -> String {
        format!("{}:{}:v{}", self.prefix, self.projection.name(), self.projection.version())
    }

    /// The projection.
    pub fn projection(&self) -> &P {
        &self.projection
    }

    /// Points readers at this version (one `SET`: atomic).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn activate(&self) -> Result<(), ProjectionError> {
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(format!("{}:{}:active", self.prefix, self.projection.name()))
            .arg(self.projection.version())
            .query_async::<()>(&mut conn)
            .await
            .map_err(sink_error)
    }

    /// Deletes every key of this version (views, checkpoint, parked list).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn drop_version(&self) -> Result<u64, ProjectionError> {
        let mut conn = self.conn.clone();
        let keys = scan_keys(&mut conn, &format!("{}:*", self.namespace())).await?;
        let mut removed = 0u64;
        for chunk in keys.chunks(1000) {
            removed += redis::cmd("UNLINK")
                .arg(chunk)
                .query_async::<u64>(&mut conn)
                .await
                .map_err(sink_error)?;
        }
        Ok(removed)
    }

    async fn run_pipeline(&mut self, pipe: &redis::Pipeline) -> Result<(), ProjectionError> {
        match pipe.query_async::<()>(&mut self.conn).await {
            Ok(()) => Ok(()),
            // Redis restarted and forgot the scripts: load them again and retry once.
            Err(error)
                if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
            {
                self.set_sha = load_script(&mut self.conn, GUARDED_SET).await?;
                self.advance_sha = load_script(&mut self.conn, ADVANCE).await?;
                self.forget_sha = load_script(&mut self.conn, FORGET).await?;
                Err(sink_error(error))
            }
            Err(error) => Err(sink_error(error)),
        }
    }

    fn advance(&self, pipe: &mut redis::Pipeline, through: Position) {
        pipe.cmd("EVALSHA")
            .arg(&self.advance_sha)
            .arg(1)
            .arg(format!("{}:checkpoint", self.namespace()))
            .arg(padded(through))
            .ignore();
    }
}

#[async_trait]
impl<P: RedisProjection> Sink for RedisSink<P> {
    fn name(&self) -> String {
        format!("{}@v{}", self.projection.name(), self.projection.version())
    }

    fn handles(&self, event_type: &str) -> bool {
        self.projection.handles(event_type)
    }

    async fn checkpoint(&mut self) -> Result<Position, ProjectionError> {
        let stored: Option<String> = redis::cmd("GET")
            .arg(format!("{}:checkpoint", self.namespace()))
            .query_async(&mut self.conn)
            .await
            .map_err(sink_error)?;
        stored.map_or(Ok(Position::START), |text| crate::checkpoints::from_stored_text(&text))
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        through: Position,
    ) -> Result<(), ProjectionError> {
        let namespace = self.namespace();
        // Documents are whole views and the newest wins: within a page only the last document
        // per key needs writing (still guarded, so an older page replayed later changes nothing).
        // Each document's key is also listed under its subject, so an erasure notice finds
        // every view derived from the subject (in this page or earlier ones) and deletes it.
        let mut latest: std::collections::HashMap<String, (Position, String, String)> =
            std::collections::HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut pipe = redis::pipe();
        for event in events {
            if let Some(subject) = event.shredded_subject() {
                latest.retain(|_, (_, _, owner)| *owner != subject);
                pipe.cmd("EVALSHA")
                    .arg(&self.forget_sha)
                    .arg(1)
                    .arg(format!("{namespace}:subject:{subject}"))
                    .ignore();
                continue;
            }
            let subject = subject_of(event);
            for (key, json) in self.projection.views(event).await? {
                if latest.insert(key.clone(), (event.position, json, subject.clone())).is_none() {
                    order.push(key);
                }
            }
        }
        for key in order {
            let Some((position, json, subject)) = latest.remove(&key) else { continue };
            let full = format!("{namespace}:view:{key}");
            pipe.cmd("EVALSHA")
                .arg(&self.set_sha)
                .arg(1)
                .arg(&full)
                .arg(padded(position))
                .arg(json)
                .ignore();
            pipe.cmd("SADD").arg(format!("{namespace}:subject:{subject}")).arg(&full).ignore();
        }
        self.advance(&mut pipe, through);
        self.run_pipeline(&pipe).await
    }

    async fn park(&mut self, event: &RecordedEvent, reason: &str) -> Result<(), ProjectionError> {
        let entry = serde_json::json!({
            "position": event.position.0,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "reason": reason,
        })
        .to_string();
        let mut pipe = redis::pipe();
        pipe.cmd("RPUSH").arg(format!("{}:parked", self.namespace())).arg(entry).ignore();
        self.advance(&mut pipe, event.position);
        self.run_pipeline(&pipe).await
    }
}
