//! Sharded projections shared by a fleet of processes: each process runs [`run_shards`], which
//! registers it as a member, takes its fair share of the shards' leases, runs a fenced runner
//! per shard it holds, and rebalances as members come and go.
//!
//! Membership and ownership both live in the lease table ([`crate::lease`]): a member is a live
//! lease `member:<projection>:<owner>`, a shard is the lease `<projection>#<index>of<count>`.
//! Every round (a third of the time to live) a process renews its membership, counts the live
//! members, and moves toward `ceil(shards / members)` shards: it hands over (stops and releases)
//! shards beyond its share, and takes free or lapsed ones up to it. A process that dies stops
//! renewing; its shards lapse and the others take them within about one time to live plus one
//! round. Writes stay fenced throughout, so a handover never lets two owners commit one shard.
//!
//! A worker that is not split in shards (a Kafka publisher, a Pulse sink, the refinery, tiering)
//! runs under [`run_leased`]: one active holder, hot standbys in the other processes.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use fintra_core::EventStore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::lease::{Keeper, Lease, PgLeases, Shard};
use crate::runner::{ProjectionError, ProjectionRunner, RunReport, RunnerOptions, Sink};

/// What [`run_shards`] runs.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    /// The projection's checkpoint name (`<name>@v<N>`): the prefix of its shards' leases.
    pub projection: String,
    /// How many shards (fixed for the projection's life; 1 to [`crate::lease::SHARDS_MAX`]).
    pub shards: u32,
    /// This process's name among the members: unique among the live processes (host and
    /// process id, or a random id; a reused name is safe — leases fence it — but two processes
    /// sharing one count as one member).
    pub owner: String,
    /// The runners' settings.
    pub runner: RunnerOptions,
}

/// What one process did in [`run_shards`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetReport {
    /// Shards this process took, counting each time it took one.
    pub taken: u64,
    /// Shards it handed over to rebalance.
    pub handed_over: u64,
    /// Shards it lost (lease lapsed or taken) or whose runner stopped with an error.
    pub lost: u64,
    /// The last runner error, if any.
    pub last_error: Option<String>,
    /// Events its runners delivered to their shards' sinks (each sink skips the events of other
    /// shards' streams, so this counts more than the shard applied).
    pub delivered: u64,
}

struct Running {
    lease: Lease,
    _keeper: Keeper,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<RunReport, ProjectionError>>,
}

/// The member lease of `owner` in `projection`.
fn member_unit(projection: &str, owner: &str) -> String {
    format!("member:{projection}:{owner}")
}

/// Runs this process's share of a sharded projection until `shutdown` resolves, then stops its
/// runners (each finishes its batch), releases its shards and its membership, and reports.
///
/// `make_sink(shard, lease)` builds the fenced sink of one shard, typically
/// `PgSink::new(pool, projection).await?.with_shard(shard).with_lease(lease)`.
///
/// # Errors
/// `InvalidInput` for a bad shard count, projection or owner name; lease-table errors. Runner
/// errors do not end
/// the fleet: the shard is dropped, counted in [`FleetReport::lost`], and taken again later.
pub async fn run_shards<S, K, F, Fut>(
    store: Arc<S>,
    leases: &PgLeases,
    options: FleetOptions,
    make_sink: F,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<FleetReport, ProjectionError>
where
    S: EventStore + 'static,
    K: Sink + 'static,
    F: Fn(Shard, Lease) -> Fut + Send + Sync,
    Fut: Future<Output = Result<K, ProjectionError>> + Send,
{
    let shards: Vec<Shard> =
        (0..options.shards).map(|k| Shard::new(k, options.shards)).collect::<Result<_, _>>()?;
    let member = member_unit(&options.projection, &options.owner);
    let round = leases.ttl() / 3;
    let mut report = FleetReport::default();
    let mut running: BTreeMap<u32, Running> = BTreeMap::new();
    let mut membership: Option<Lease> = None;
    tokio::pin!(shutdown);
    loop {
        // Membership: renew this process's member lease (or take it again), then count members.
        membership = match membership {
            Some(lease) => leases.renew(&lease).await?,
            None => None,
        };
        if membership.is_none() {
            membership = leases.try_acquire(&member, &options.owner).await?;
        }
        let prefix = format!("member:{}:", options.projection);
        let members = leases.live(&prefix).await?.len().max(1);
        let share = shards.len().div_ceil(members);

        // Collect runners that ended (lost lease, error).
        let ended: Vec<u32> =
            running.iter().filter(|(_, r)| r.task.is_finished()).map(|(k, _)| *k).collect();
        for k in ended {
            if let Some(done) = running.remove(&k) {
                report.lost += 1;
                settle(leases, &done.lease, &mut report, done.task.await).await;
            }
        }
        // Hand over shards beyond this process's share (the highest indexes first).
        while running.len() > share {
            let Some((_, extra)) = running.pop_last() else { break };
            stop(leases, extra, &mut report).await?;
            report.handed_over += 1;
        }
        // Take free or lapsed shards up to the share.
        for shard in &shards {
            if running.len() >= share {
                break;
            }
            if running.contains_key(&shard.index()) {
                continue;
            }
            let unit = format!("{}#{shard}", options.projection);
            let Some(lease) = leases.try_acquire(&unit, &options.owner).await? else { continue };
            let sink = match make_sink(*shard, lease.clone()).await {
                Ok(sink) => sink,
                Err(error) => {
                    report.last_error = Some(error.to_string());
                    leases.release(&lease).await?;
                    continue;
                }
            };
            running.insert(shard.index(), start(&store, leases, &options.runner, lease, sink));
            report.taken += 1;
        }
        tracing::debug!(
            projection = %options.projection,
            owner = %options.owner,
            members,
            share,
            held = running.len(),
            "fleet round"
        );
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(round) => {}
        }
    }
    while let Some((_, held)) = running.pop_first() {
        stop(leases, held, &mut report).await?;
    }
    if let Some(lease) = membership {
        leases.release(&lease).await?;
    }
    Ok(report)
}

/// Starts a fenced live runner for one shard, stopped by a lost lease or by `stop`.
fn start<S, K>(
    store: &Arc<S>,
    leases: &PgLeases,
    options: &RunnerOptions,
    lease: Lease,
    mut sink: K,
) -> Running
where
    S: EventStore + 'static,
    K: Sink + 'static,
{
    let keeper = leases.keep(lease.clone());
    let lost = keeper.lost();
    let (stop, stopped) = oneshot::channel::<()>();
    let runner = ProjectionRunner::new(Arc::clone(store), options.clone());
    let span = tracing::info_span!(
        "fintra.fleet.shard",
        unit = %lease.unit,
        owner = %lease.owner,
        epoch = lease.epoch
    );
    let task = tokio::spawn(
        async move {
            let shutdown = async move {
                tokio::select! {
                    () = lost => {}
                    _ = stopped => {}
                }
            };
            runner.run(&mut sink, None, shutdown).await
        }
        .instrument(span),
    );
    Running { lease, _keeper: keeper, stop, task }
}

/// Stops a shard's runner (its batch in progress finishes) and releases the shard.
async fn stop(
    leases: &PgLeases,
    held: Running,
    report: &mut FleetReport,
) -> Result<(), ProjectionError> {
    let _ = held.stop.send(());
    settle(leases, &held.lease, report, held.task.await).await;
    leases.release(&held.lease).await
}

/// Counts what a shard's runner delivered, or records its error on the shard's lease row (the
/// fleet's per-shard last error) and in the report.
async fn settle(
    leases: &PgLeases,
    lease: &Lease,
    report: &mut FleetReport,
    ended: Result<Result<RunReport, ProjectionError>, tokio::task::JoinError>,
) {
    let error = match ended {
        Ok(Ok(run)) => {
            report.delivered += run.applied;
            return;
        }
        Ok(Err(error)) => error.to_string(),
        Err(join) => join.to_string(),
    };
    tracing::warn!(unit = %lease.unit, epoch = lease.epoch, %error, "shard runner stopped");
    record(leases, lease, &error).await;
    report.last_error = Some(error);
}

/// Records a worker's error on its lease row, best effort: the runner most often failed because
/// the database did, and then this fails too — that must not end the fleet.
async fn record(leases: &PgLeases, lease: &Lease, error: &str) {
    if let Err(failed) = leases.record_error(lease, error).await {
        tracing::warn!(unit = %lease.unit, error = %failed, "could not record the last error");
    }
}

/// What one process did in [`run_leased`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeasedReport {
    /// Times this process took the unit's lease and ran the work.
    pub taken: u64,
    /// Times the work ended while the process was not shutting down: its lease was lost, it
    /// failed (see `last_error`), or it finished (the unit is then taken and run again).
    pub ended: u64,
    /// The work's last error, if any (also recorded on the lease row).
    pub last_error: Option<String>,
}

/// Why the work of [`run_leased`] should stop: resolves when the lease is lost or the process
/// shuts down. Stop at the next safe point (a runner finishes its batch).
pub type StopSignal = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs one unit of work — a Kafka publisher, a Pulse sink or delivery, the Enrichment Refinery,
/// a tiering job — in exactly one of any number of processes that all call this with the same
/// `unit`: a hot standby in the others. Every round (a third of the time to live) a process
/// without the unit tries to take its lease; the holder keeps it alive in the background and
/// runs `work(lease, stop)`, where `stop` resolves when the lease is lost or `shutdown` fires.
/// Build the work's writers fenced with that lease (`KafkaPublisher::with_lease`,
/// `PgSink::with_lease`, `PulseSink::with_lease`, …) so a holder that was paused past its lease
/// cannot commit after a takeover.
///
/// When the work returns (its lease lost, or an error, recorded on the lease row and in the
/// report) the lease is released and the process goes back to contending. When `shutdown`
/// fires it signals the work, waits for it, releases the lease (a graceful handover: a standby
/// takes over within a round) and returns.
///
/// `owner` must be unique among the processes (host and process id): a second process under the
/// same name would take the live lease from the first every round.
///
/// A database that cannot be reached is waited out: failing to contend, to record an error or
/// to release is logged and retried next round (an unreleased lease lapses on its own).
/// One-shot work (a tiering run) returns and is taken again next round; loop inside the work
/// to pace it (run tiering, then sleep an hour or until `stop`).
///
/// # Errors
/// `InvalidInput` for a bad unit or owner name.
pub async fn run_leased<F, Fut>(
    leases: &PgLeases,
    unit: &str,
    owner: &str,
    mut work: F,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<LeasedReport, ProjectionError>
where
    F: FnMut(Lease, StopSignal) -> Fut + Send,
    Fut: Future<Output = Result<(), ProjectionError>> + Send,
{
    let round = leases.ttl() / 3;
    let mut report = LeasedReport::default();
    // Bad names fail at once; the database failing later is waited out, round after round.
    crate::lease::check_names(unit, owner)?;
    tokio::pin!(shutdown);
    loop {
        let taken = leases.try_acquire(unit, owner).await.unwrap_or_else(|error| {
            tracing::warn!(unit, owner, %error, "could not contend for the lease; retrying");
            None
        });
        if let Some(lease) = taken {
            report.taken += 1;
            let keeper = leases.keep(lease.clone());
            let lost = keeper.lost();
            let (stop, stopped) = oneshot::channel::<()>();
            let signal: StopSignal = Box::pin(async move {
                tokio::select! {
                    () = lost => {}
                    _ = stopped => {}
                }
            });
            let span = tracing::info_span!("fintra.leased", unit, owner, epoch = lease.epoch);
            let job = work(lease.clone(), signal).instrument(span);
            tokio::pin!(job);
            let mut shutting_down = false;
            let ended = tokio::select! {
                ended = &mut job => ended,
                () = &mut shutdown => {
                    shutting_down = true;
                    let _ = stop.send(());
                    job.await
                }
            };
            drop(keeper);
            if let Err(error) = ended {
                let error = error.to_string();
                tracing::warn!(unit, epoch = lease.epoch, %error, "leased work stopped");
                record(leases, &lease, &error).await;
                report.last_error = Some(error);
            }
            if let Err(error) = leases.release(&lease).await {
                // It lapses on its own within a time to live.
                tracing::warn!(unit, %error, "could not release the lease");
            }
            if shutting_down {
                return Ok(report);
            }
            report.ended += 1;
        }
        tokio::select! {
            () = &mut shutdown => return Ok(report),
            () = tokio::time::sleep(round) => {}
        }
    }
}

/// One shard of a projection as the fleet sees it ([`status`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ShardStatus {
    /// The shard's lease unit (`<projection>#<index>of<count>`), also its checkpoint name.
    pub unit: String,
    /// Its owner, and whether the lease is live (`false`: lapsed or released, so unowned).
    pub owner: String,
    /// Whether the owner's lease is live.
    pub live: bool,
    /// The lease's epoch.
    pub epoch: i64,
    /// The shard's checkpoint (`None`: it never committed).
    pub checkpoint: Option<fintra_core::Position>,
    /// Events in the global log after the checkpoint, counted up to [`LAG_COUNT_MAX`].
    pub lag_events: u64,
    /// Seconds since the first event after the checkpoint was recorded (0 when caught up).
    pub lag_seconds: f64,
    /// The last error of a runner of this shard, with when it happened (any owner, any epoch:
    /// kept until a newer error replaces it).
    pub last_error: Option<(chrono::DateTime<chrono::Utc>, String)>,
}

/// Where [`status`] stops counting events behind a checkpoint.
pub const LAG_COUNT_MAX: i64 = 1_000_000;

/// Who owns which shard of `projection` and how far behind each is — what a dashboard charts as
/// `fintra_fleet_shard_live{unit,owner}`, `fintra_fleet_shard_epoch{unit}`,
/// `fintra_fleet_lag_events{unit}` and `fintra_fleet_lag_seconds{unit}` (and the last error as a
/// table beside them). The pool must see the
/// lease, checkpoint and event tables (one schema). Before any process took a lease it answers
/// an empty list; before any sink was built it creates the (empty) checkpoint table.
///
/// # Errors
/// Sink errors; `Corrupted` for a negative stored position.
pub async fn status(
    pool: &sqlx::PgPool,
    projection: &str,
) -> Result<Vec<ShardStatus>, ProjectionError> {
    use sqlx::Row;
    let (leases, checkpoints): (bool, bool) = sqlx::query_as(
        "SELECT to_regclass('fintra_leases') IS NOT NULL,
                to_regclass('fintra_projection_checkpoints') IS NOT NULL",
    )
    .fetch_one(pool)
    .await
    .map_err(crate::checkpoints::pg_error)?;
    if !leases {
        return Ok(Vec::new()); // no process has taken a lease yet
    }
    if !checkpoints {
        // Shards taken before any sink was built: give them a table to report "never committed".
        crate::pg::create_if_missing(pool, crate::checkpoints::CHECKPOINTS_DDL).await?;
    }
    let rows = sqlx::query(
        "SELECT l.unit, l.owner, l.expires_at > now() AS live, l.epoch, c.position,
                l.last_error, l.last_error_at,
                (SELECT count(*) FROM (SELECT 1 FROM fintra_events e
                    WHERE e.position > coalesce(c.position, 0) LIMIT $2) behind) AS lag_events,
                coalesce(extract(epoch FROM now() - (SELECT e.recorded_at FROM fintra_events e
                    WHERE e.position > coalesce(c.position, 0)
                    ORDER BY e.position LIMIT 1)), 0)::float8 AS lag_seconds
         FROM fintra_leases l
         LEFT JOIN fintra_projection_checkpoints c ON c.name = l.unit
         WHERE starts_with(l.unit, $1 || '#')
         ORDER BY l.unit",
    )
    .bind(projection)
    .bind(LAG_COUNT_MAX)
    .fetch_all(pool)
    .await
    .map_err(crate::checkpoints::pg_error)?;
    rows.iter()
        .map(|row| {
            let get = |e| crate::checkpoints::pg_error(e);
            let checkpoint: Option<i64> = row.try_get("position").map_err(get)?;
            let lag: i64 = row.try_get("lag_events").map_err(get)?;
            Ok(ShardStatus {
                unit: row.try_get("unit").map_err(get)?,
                owner: row.try_get("owner").map_err(get)?,
                live: row.try_get("live").map_err(get)?,
                epoch: row.try_get("epoch").map_err(get)?,
                checkpoint: checkpoint.map(crate::checkpoints::from_stored).transpose()?,
                lag_events: u64::try_from(lag).unwrap_or(0),
                lag_seconds: row.try_get("lag_seconds").map_err(get)?,
                last_error: crate::lease::last_error_of(row)?,
            })
        })
        .collect()
}
