//! Redis JSON views with version-guarded, idempotent writes: a view document is stored with the
//! log position that produced it, and a write lands only if its position is newer — a replayed
//! or older event never overwrites a newer view. A batch's writes and its checkpoint run through
//! one Lua script per 1,000 operations, pipelined, the checkpoint last (at-least-once delivery,
//! exactly-once effect); under a lease ([`RedisSink::with_lease`]) the whole batch is one atomic,
//! fenced call.

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

/// Many writes as one script: KEYS[1] holds the highest epoch that has written (or claimed) this
/// namespace, ARGV[1] is the writer's epoch — or empty for an unfenced writer, which skips the
/// check. A writer behind the token is refused with `FENCED`; otherwise the epoch is recorded and
/// the operations that follow in ARGV run: `s` key position json subjects (a guarded set, the key
/// listed under its subject), `f` set (forget a subject's views), `r` list entry (park), `c` key
/// position (advance the checkpoint). One script for many documents also costs Redis far less
/// than a script call per document.
const PAGE_SCRIPT: &str = r"
if ARGV[1] ~= '' then
  local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
  local epoch = tonumber(ARGV[1])
  if fence > epoch then return redis.error_reply('FENCED epoch ' .. fence .. ' has written') end
  if fence < epoch then redis.call('SET', KEYS[1], ARGV[1]) end
end
local i = 2
while i <= #ARGV do
  local op = ARGV[i]
  if op == 's' then
    local current = redis.call('HGET', ARGV[i + 1], 'p')
    if not current or current < ARGV[i + 2] then
      redis.call('HSET', ARGV[i + 1], 'p', ARGV[i + 2], 'json', ARGV[i + 3])
    end
    redis.call('SADD', ARGV[i + 4], ARGV[i + 1])
    i = i + 5
  elseif op == 'f' then
    for _, key in ipairs(redis.call('SMEMBERS', ARGV[i + 1])) do redis.call('UNLINK', key) end
    redis.call('UNLINK', ARGV[i + 1])
    i = i + 2
  elseif op == 'r' then
    redis.call('RPUSH', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'c' then
    local current = redis.call('GET', ARGV[i + 1])
    if not current or current < ARGV[i + 2] then redis.call('SET', ARGV[i + 1], ARGV[i + 2]) end
    i = i + 3
  else
    return redis.error_reply('ERR unknown page operation ' .. op)
  end
end
return 1
";

/// Claims the namespace for a writer at epoch ARGV[1] (refused with `FENCED` when a later epoch
/// has claimed it) and returns the checkpoint at KEYS[2]: a stale writer's page either landed
/// before the claim (and the checkpoint shows it) or is refused after it. Sent with `EVAL` on
/// each checkpoint load (once per runner start), so it is not kept loaded by hash.
const FENCED_CLAIM: &str = r"
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
if fence > tonumber(ARGV[1]) then return redis.error_reply('FENCED epoch ' .. fence .. ' has claimed') end
redis.call('SET', KEYS[1], ARGV[1])
return redis.call('GET', KEYS[2])
";

/// Most operations in one unfenced [`PAGE_SCRIPT`] call.
const OPS_PER_SCRIPT: usize = 1_000;

/// One write of a page, run inside [`PAGE_SCRIPT`].
enum Op {
    /// A guarded set of a view document, listed under its subject's set.
    Set { key: String, position: String, json: String, subjects: String },
    /// Deletes a subject's views (an erasure notice).
    Forget(String),
    /// Appends to the parked list.
    Park(String, String),
    /// Moves the checkpoint forward.
    Advance(String, String),
}

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
    page_sha: String,
    lease: Option<crate::lease::Lease>,
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
        conn: MultiplexedConnection,
        prefix: &str,
        projection: P,
    ) -> Result<Self, ProjectionError> {
        let mut sink = Self {
            conn,
            projection,
            prefix: prefix.to_owned(),
            page_sha: String::new(),
            lease: None,
        };
        sink.load_scripts().await?;
        Ok(sink)
    }

    /// Loads (again, after a Redis restart) the scripts the sink runs by hash.
    async fn load_scripts(&mut self) -> Result<(), ProjectionError> {
        self.page_sha = load_script(&mut self.conn, PAGE_SCRIPT).await?;
        Ok(())
    }

    /// Fences this sink with `lease` ([`crate::lease`]), whose epoch becomes the sink's fencing
    /// token in Redis (`…:fence`, the highest epoch that has written this version). Loading the
    /// checkpoint claims the version at the lease's epoch, and each page then runs as one atomic
    /// script that first checks the token: once a newer owner has claimed the version, a paused
    /// or partitioned old owner's page is refused whole with [`ProjectionError::Fenced`], and a
    /// page it wrote before the claim is in the checkpoint the newer owner reads. The lease's
    /// PostgreSQL row is not consulted on each page (Redis cannot join it); the token is.
    /// Needs a single Redis server (the script touches keys it does not declare).
    #[must_use]
    pub fn with_lease(mut self, lease: crate::lease::Lease) -> Self {
        self.lease = Some(lease);
        self
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

    /// Writes a page's operations through the page script: under a lease as one atomic call
    /// (refused whole when fenced); otherwise in pipelined calls of at most
    /// [`OPS_PER_SCRIPT`] operations each, so no single call holds Redis for long.
    async fn write(&mut self, ops: Vec<Op>) -> Result<(), ProjectionError> {
        let written = match &self.lease {
            Some(lease) => {
                let call = self.page_call(ops, lease.epoch.to_string());
                call.query_async::<()>(&mut self.conn).await
            }
            None => {
                let mut pipe = redis::pipe();
                let mut ops = ops.into_iter().peekable();
                while ops.peek().is_some() {
                    let chunk = ops.by_ref().take(OPS_PER_SCRIPT).collect();
                    pipe.add_command(self.page_call(chunk, String::new())).ignore();
                }
                pipe.query_async::<()>(&mut self.conn).await
            }
        };
        match written {
            Ok(()) => Ok(()),
            // Redis restarted and forgot the scripts: load them again; the runner retries.
            Err(error)
                if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
            {
                self.load_scripts().await?;
                Err(sink_error(error))
            }
            Err(error) => Err(self.fenced_or(error)),
        }
    }

    /// One call of the page script with `ops`, at `epoch` (empty: unfenced).
    fn page_call(&self, ops: Vec<Op>, epoch: String) -> redis::Cmd {
        let mut call = redis::cmd("EVALSHA");
        call.arg(&self.page_sha).arg(1).arg(format!("{}:fence", self.namespace())).arg(epoch);
        for op in ops {
            match op {
                Op::Set { key, position, json, subjects } => {
                    call.arg("s").arg(key).arg(position).arg(json).arg(subjects)
                }
                Op::Forget(set) => call.arg("f").arg(set),
                Op::Park(list, entry) => call.arg("r").arg(list).arg(entry),
                Op::Advance(key, position) => call.arg("c").arg(key).arg(position),
            };
        }
        call
    }

    /// [`ProjectionError::Fenced`] for the fenced scripts' refusal, else a sink error.
    fn fenced_or(&self, error: redis::RedisError) -> ProjectionError {
        match &self.lease {
            Some(lease) if error.code() == Some("FENCED") => {
                ProjectionError::Fenced { unit: lease.unit.clone(), epoch: lease.epoch }
            }
            _ => sink_error(error),
        }
    }

    fn advance(&self, through: Position) -> Op {
        Op::Advance(format!("{}:checkpoint", self.namespace()), padded(through))
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
        let namespace = self.namespace();
        let stored: Option<String> = match &self.lease {
            None => redis::cmd("GET")
                .arg(format!("{namespace}:checkpoint"))
                .query_async(&mut self.conn)
                .await
                .map_err(sink_error)?,
            Some(lease) => {
                let claimed = redis::cmd("EVAL")
                    .arg(FENCED_CLAIM)
                    .arg(2)
                    .arg(format!("{namespace}:fence"))
                    .arg(format!("{namespace}:checkpoint"))
                    .arg(lease.epoch)
                    .query_async(&mut self.conn)
                    .await;
                claimed.map_err(|error| self.fenced_or(error))?
            }
        };
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
        let mut ops = Vec::new();
        for event in events {
            if let Some(subject) = event.shredded_subject() {
                latest.retain(|_, (_, _, owner)| *owner != subject);
                ops.push(Op::Forget(format!("{namespace}:subject:{subject}")));
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
            ops.push(Op::Set {
                key: format!("{namespace}:view:{key}"),
                position: padded(position),
                json,
                subjects: format!("{namespace}:subject:{subject}"),
            });
        }
        ops.push(self.advance(through));
        self.write(ops).await
    }

    async fn park(&mut self, event: &RecordedEvent, reason: &str) -> Result<(), ProjectionError> {
        let entry = serde_json::json!({
            "position": event.position.0,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "reason": reason,
        })
        .to_string();
        let ops = vec![
            Op::Park(format!("{}:parked", self.namespace()), entry),
            self.advance(event.position),
        ];
        self.write(ops).await
    }
}
