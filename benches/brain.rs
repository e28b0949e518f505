//! Brain benchmark (a macro harness that prints tables):
//!
//! 1. the categorisation cascade in process, one core: transactions/s, p50 and p99 per
//!    transaction, over the hand-written statement lines of `fintra-ml/tests/data` (real-world
//!    shapes, not generated), repeated;
//! 2. the vector index backends at 10k and 100k points: build time, queries/s, recall@1 against
//!    brute force for queries with one character dropped;
//! 3. the slow brain: generating and featurising 1,000,000 labelled lines, training the model,
//!    its ONNX size, and one prediction in process and (with `--features onnx`) through
//!    `tract-onnx`;
//! 4. end to end on PostgreSQL and Redis: an import appended by Connect (uncategorised) → the
//!    Enrichment Refinery, woken by `NOTIFY`, appends `TransactionCategorised` → the Views
//!    runner, woken by `NOTIFY`, writes the month's spend document → the category is readable in
//!    Redis. p50 and p99 from the append's start to the read;
//! 5. the same with the Brain inline: Connect categorises the import with the Brain before the
//!    append (`connect::categorise_with`, as the flagship stages it), so the import event
//!    carries the category and only the Views runner stands between append and Redis. p50 and
//!    p99 from the categorisation's start to the read.
//!
//! Both run twice: with Connect's repository uncached (the import's command loads the profile,
//! then appends) and with its aggregate cache on (the append alone). The reader learns that a
//! view was written from Redis keyspace notifications (switched on for the run, put back
//! after), not by polling on a timer.
//!
//! `cargo bench -p benches --bench brain`. `FINTRA_BRAIN_ROUNDS` (default 20) repeats of the
//! line set; `FINTRA_BRAIN_QUERIES` (default 2,000) index queries per size;
//! `FINTRA_BRAIN_TRAIN_LINES` (default 1,000,000) training lines;
//! `FINTRA_BRAIN_LIVE_SAMPLES` (default 200) end-to-end samples (needs PostgreSQL at
//! `FINTRA_DATABASE_URL` and Redis at `FINTRA_REDIS_URL`, as `scripts/test.sh` starts them).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use std::time::Instant;

use benches::env;
use fintra_ml::index::{BruteForceIndex, Filter, InMemoryIndex, Point, VectorIndex, embed};
use fintra_ml::{Cascade, Catalogue, Transaction};

fn lines() -> Vec<(String, i64)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fintra-ml/tests/data");
    let mut out = Vec::new();
    for name in ["statements_handwritten_a.jsonl", "statements_handwritten_b.jsonl"] {
        for line in std::fs::read_to_string(dir.join(name)).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let amount: f64 = v["amount"].as_str().unwrap().parse().unwrap();
            #[allow(clippy::cast_possible_truncation, reason = "amounts of a few thousand")]
            out.push((v["text"].as_str().unwrap().to_owned(), (amount * 100.0).round() as i64));
        }
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "an index")]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn cascade(rounds: u64) {
    let started = Instant::now();
    let cascade = Cascade::new(&Catalogue::builtin().unwrap());
    let build = started.elapsed();
    let lines = lines();
    let mut samples = Vec::new();
    let started = Instant::now();
    for _ in 0..rounds {
        for (text, amount) in &lines {
            let t0 = Instant::now();
            let r = cascade.categorise(&Transaction {
                description: text,
                amount_minor: *amount,
                mcc: None,
                country: None,
                profile: Some("bench"),
            });
            samples.push(t0.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(r);
        }
    }
    let total = started.elapsed().as_secs_f64();
    samples.sort_by(f64::total_cmp);
    println!("| cascade ({} lines × {rounds}, one core) | value |", lines.len());
    println!("|---|---:|");
    println!("| build (catalogue + index) | {:.0} ms |", build.as_secs_f64() * 1e3);
    println!("| transactions/s | {:.0} |", samples.len() as f64 / total);
    println!("| p50 per transaction | {:.1} µs |", percentile(&samples, 0.5));
    println!("| p99 per transaction | {:.1} µs |", percentile(&samples, 0.99));
    println!();
}

fn name(n: u64) -> String {
    const SYL: &[&str] = &[
        "KA", "LO", "MEX", "TRI", "BON", "SU", "VAR", "DEL", "QUI", "ZAN", "PER", "OST", "AN", "RI",
    ];
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut out = String::new();
    for part in 0..4 {
        if part > 0 && x.is_multiple_of(3) {
            out.push(' ');
        }
        out.push_str(SYL[usize::try_from(x % 14).unwrap()]);
        x /= 14;
    }
    format!("{out} {}", n % 997)
}

fn index(size: u64, queries: u64) -> [String; 2] {
    let mut rows = [String::new(), String::new()];
    let mut reference = BruteForceIndex::default();
    for n in 0..size {
        reference.upsert(Point { id: n.to_string(), tenant: None, vector: embed(&name(n)) });
    }
    let backends: Vec<(&str, Box<dyn VectorIndex>)> = vec![
        ("in-memory inverted", Box::new(InMemoryIndex::default())),
        ("brute force", Box::new(BruteForceIndex::default())),
    ];
    let qs: Vec<_> = (0..queries)
        .map(|k| {
            let mut q = name(k * (size / queries).max(1));
            q.remove(2);
            embed(&q)
        })
        .collect();
    let want: Vec<Option<String>> = qs
        .iter()
        .map(|q| reference.search(q, 1, &Filter::default()).first().map(|h| h.id.clone()))
        .collect();
    for (i, (label, mut backend)) in backends.into_iter().enumerate() {
        let started = Instant::now();
        for n in 0..size {
            backend.upsert(Point { id: n.to_string(), tenant: None, vector: embed(&name(n)) });
        }
        let build = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut agree = 0u64;
        for (q, w) in qs.iter().zip(&want) {
            let got = backend.search(q, 1, &Filter::default());
            agree += u64::from(got.first().map(|h| &h.id) == w.as_ref());
        }
        let qps = queries as f64 / started.elapsed().as_secs_f64();
        rows[i] = format!(
            "| {label} | {size} | {build:.2} s | {qps:.0} | {:.3} |",
            agree as f64 / queries as f64
        );
    }
    rows
}

fn main() {
    let rounds = env("FINTRA_BRAIN_ROUNDS", 20);
    let queries = env("FINTRA_BRAIN_QUERIES", 2_000);
    cascade(rounds);
    println!("| index backend | points | build | queries/s | recall@1 vs brute force |");
    println!("|---|---:|---:|---:|---:|");
    for size in [10_000, 100_000] {
        for row in index(size, queries) {
            println!("{row}");
        }
    }
    println!();
    training(env("FINTRA_BRAIN_TRAIN_LINES", 1_000_000));
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let samples = env("FINTRA_BRAIN_LIVE_SAMPLES", 200);
    for cached in [false, true] {
        rt.block_on(live::end_to_end(samples, live::Path::Refinery, cached));
        rt.block_on(live::end_to_end(samples, live::Path::Inline, cached));
    }
}

/// Training on generated lines, the model's size, and prediction cost in Rust and in tract.
fn training(lines: u64) {
    use fintra_ml::model::onnx::to_onnx;
    use fintra_ml::model::{FEATURES_DIM, TrainOptions, generate, train_on_lines};
    let catalogue = Catalogue::builtin().unwrap();
    let n = usize::try_from(lines).unwrap();
    let started = Instant::now();
    let generated = generate(&catalogue, n, 11);
    let generation = started.elapsed();
    let started = Instant::now();
    let model = train_on_lines(
        generated.iter().map(|l| (l.text.as_str(), l.amount_minor, l.category.as_str())),
        TrainOptions::default(),
    );
    let training = started.elapsed();
    let onnx = to_onnx(&model);
    let features: Vec<_> = lines_features(&generated[..2_000.min(n)], FEATURES_DIM);
    let time = |f: &dyn Fn(&fintra_ml::model::SparseFeatures)| {
        let started = Instant::now();
        for x in &features {
            f(x);
        }
        started.elapsed().as_secs_f64() * 1e6 / features.len() as f64
    };
    let rust = time(&|x| {
        std::hint::black_box(model.predict(x));
    });
    #[cfg(feature = "onnx")]
    let tract = {
        let path = std::env::temp_dir().join(format!("fintra-bench-{}.onnx", std::process::id()));
        std::fs::write(&path, &onnx).unwrap();
        let served = fintra_ml::model::OnnxModel::load(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        format!(
            "{:.1} µs",
            time(&|x| {
                std::hint::black_box(fintra_ml::model::Classifier::predict(&served, x).unwrap());
            })
        )
    };
    #[cfg(not(feature = "onnx"))]
    let tract = "run with `--features onnx`".to_owned();
    println!(
        "| slow brain ({lines} generated lines, {} classes, {FEATURES_DIM} features) | value |",
        model.classes.len()
    );
    println!("|---|---:|");
    println!("| generate lines | {:.1} s |", generation.as_secs_f64());
    println!(
        "| featurise + train ({} epochs, one core) | {:.1} s |",
        model.card.epochs,
        training.as_secs_f64()
    );
    println!(
        "| accuracy on the 1 in 10 generated lines held out (not real lines) | {:.3} |",
        model.card.holdout_accuracy.unwrap_or(0.0)
    );
    println!("| ONNX file | {:.1} MB |", onnx.len() as f64 / 1e6);
    println!("| one prediction, Rust (sparse) | {rust:.1} µs |");
    println!("| one prediction, tract-onnx (dense input) | {tract} |");
    println!();
}

fn lines_features(
    lines: &[fintra_ml::model::LabelledLine],
    dim: usize,
) -> Vec<fintra_ml::model::SparseFeatures> {
    lines
        .iter()
        .map(|l| fintra_ml::model::featurise(&fintra_ml::parse(&l.text), l.amount_minor, dim))
        .collect()
}

mod live {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use futures::StreamExt;

    use fintra_core::{Asset, EventMetadata, Repository, StreamId};
    use fintra_ml::{Brain, EnrichmentRefinery};
    use fintra_projections::views::TwinViews;
    use fintra_projections::{ProjectionRunner, RedisSink, RedisViews, RunnerOptions};
    use fintra_store_postgres::PgEventStore;
    use fintra_store_postgres::testing::TestSchema;
    use fintra_twin::connect::csv::{CsvAccount, CsvMapping, normalise};
    use fintra_twin::connect::{BadRecordPolicy, categorise_with};
    use fintra_twin::fos::AccountType;
    use fintra_twin::{Profile, ProfileCommand};

    /// A profile with one account and one coffee purchase, imported as Connect alone files it.
    async fn import(repository: &Repository<Profile, PgEventStore>, k: u64) -> StreamId {
        let stream = repository.stream_id(uuid::Uuid::from_u128(u128::from(k) + 1)).unwrap();
        let create =
            ProfileCommand::Create { profile_id: format!("usr_{k}"), base_currency: Asset::GBP };
        repository.execute(&stream, &create, &EventMetadata::default()).await.unwrap();
        stream
    }

    /// Where the category comes from.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(super) enum Path {
        /// Connect imports uncategorised; the refinery appends `TransactionCategorised`.
        Refinery,
        /// Connect categorises with the Brain before the append.
        Inline,
    }

    fn command(k: u64) -> ProfileCommand {
        let account = CsvAccount {
            provider_account_id: format!("acc{k}"),
            name: "Current".into(),
            account_type: AccountType::Checking,
            currency: Asset::GBP,
            institution_id: None,
        };
        let csv =
            format!("Date,Description,Amount,Balance\n02/01/2024,SQ *STARBUCKS #{k},-4.50,95.50\n");
        let read = normalise(
            csv.as_bytes(),
            &CsvMapping::signed_amount_preset(),
            &account,
            chrono::DateTime::UNIX_EPOCH,
            BadRecordPolicy::FailDocument,
        )
        .unwrap();
        let (accounts, transactions) = (vec![read.account], read.transactions.records);
        let anchors = Profile::default().anchors(&accounts, &transactions).unwrap();
        ProfileCommand::Import {
            import_id: uuid::Uuid::from_u128(u128::from(k) + 1),
            source: fintra_twin::fos::Source::Csv,
            accounts,
            transactions,
            anchors,
        }
    }

    /// `cached`: Connect's repository keeps the profile in its aggregate cache, so the import's
    /// command is one round trip (the append) instead of two (load, append).
    pub(super) async fn end_to_end(samples: u64, path: Path, cached: bool) {
        let schema = TestSchema::new().await;
        let store = schema.store();
        let mut repository = Repository::<Profile, _>::new(store.clone());
        if cached {
            repository = repository.with_cache(10_000).unwrap();
        }
        let redis = redis().await;
        let prefix = format!("fintra_bench_brain_{}", std::process::id());
        let views = TwinViews::new(Repository::<Profile, _>::new(store.clone()));
        let mut sink = RedisSink::new(redis.clone(), &prefix, views).await.unwrap();
        sink.activate().await.unwrap();
        let options =
            RunnerOptions { poll_interval: Duration::from_millis(100), ..Default::default() };
        let runner = ProjectionRunner::new(Arc::new(store.clone()), options);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let wake = store.listen().await.unwrap();
        let mut stop_views = stopped.clone();
        let views_task = tokio::spawn(async move {
            runner
                .run(&mut sink, Some(Box::new(wake)), async move {
                    let _ = stop_views.changed().await;
                })
                .await
                .unwrap();
            sink
        });
        let brain = Brain::builtin().unwrap();
        let mut refinery =
            EnrichmentRefinery::new(Repository::<Profile, _>::new(store.clone()), brain.clone());
        let mut listener = store.listen().await.unwrap();
        let refinery_task = tokio::spawn(async move {
            while path == Path::Refinery && !*stopped.borrow() {
                refinery.catch_up().await.unwrap();
                let _ = listener.wait(Duration::from_millis(100)).await;
            }
        });
        let reader = RedisViews::new(redis.clone(), &prefix);
        let mut watch = KeyspaceWatch::start(redis.clone(), &prefix).await;
        let (mut latencies, mut appends) = (Vec::new(), Vec::new());
        for k in 0..samples {
            let stream = import(&repository, k).await;
            let mut command = command(k);
            let started = Instant::now();
            if path == Path::Inline
                && let ProfileCommand::Import { transactions, .. } = &mut command
            {
                let profile = format!("usr_{k}");
                categorise_with(transactions, &brain, Some(&profile), chrono::DateTime::UNIX_EPOCH);
            }
            repository.execute(&stream, &command, &EventMetadata::default()).await.unwrap();
            appends.push(started.elapsed());
            let key = format!("spend:{stream}:2024-01");
            loop {
                let doc = reader.get("twin_views", &key).await.unwrap();
                if doc.as_ref().is_some_and(|(_, d)| d.contains("Eating Out > Coffee")) {
                    break;
                }
                assert!(watch.next().await, "{key} shows no coffee 10 s after the import: {doc:?}");
            }
            latencies.push(started.elapsed());
        }
        drop(watch);
        stop.send(true).unwrap();
        let sink = views_task.await.unwrap();
        refinery_task.await.unwrap();
        sink.drop_version().await.unwrap();
        print(latencies, appends, samples, path, cached);
    }

    /// Waits on Redis keyspace notifications for the Views' keys, not on a timer: tokio's
    /// timer rounds a sleep up to its 1 ms tick, which would add up to a millisecond to every
    /// sample. The server's setting is put back when the watch is dropped, on a failed run too.
    struct KeyspaceWatch {
        written: redis::aio::PubSubStream,
        _restore: RestoreSetting,
    }

    /// Puts `notify-keyspace-events` back to what it was when dropped.
    struct RestoreSetting(String);

    impl Drop for RestoreSetting {
        fn drop(&mut self) {
            if let Ok(mut conn) = redis_client().get_connection() {
                let _: redis::RedisResult<()> = redis::cmd("CONFIG")
                    .arg("SET")
                    .arg("notify-keyspace-events")
                    .arg(&self.0)
                    .query(&mut conn);
            }
        }
    }

    impl KeyspaceWatch {
        async fn start(mut admin: redis::aio::MultiplexedConnection, prefix: &str) -> Self {
            let notify: Vec<String> = redis::cmd("CONFIG")
                .arg("GET")
                .arg("notify-keyspace-events")
                .query_async(&mut admin)
                .await
                .unwrap();
            let before = notify.get(1).cloned().unwrap_or_default();
            redis::cmd("CONFIG")
                .arg("SET")
                .arg("notify-keyspace-events")
                .arg(format!("{before}K$"))
                .query_async::<()>(&mut admin)
                .await
                .unwrap();
            let restore = RestoreSetting(before);
            let mut pubsub = redis_client().get_async_pubsub().await.unwrap();
            pubsub.psubscribe(format!("__keyspace@*__:{prefix}:*")).await.unwrap();
            Self { written: pubsub.into_on_message(), _restore: restore }
        }

        /// The next string write under the prefix — the page script's checkpoint, which it
        /// writes after the page's documents — or false after 10 s without one. Notifications
        /// queue in the stream: one sent before this call is not lost.
        async fn next(&mut self) -> bool {
            matches!(
                tokio::time::timeout(Duration::from_secs(10), self.written.next()).await,
                Ok(Some(_))
            )
        }
    }

    fn redis_url() -> String {
        std::env::var("FINTRA_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    fn redis_client() -> redis::Client {
        redis::Client::open(redis_url()).unwrap()
    }

    async fn redis() -> redis::aio::MultiplexedConnection {
        redis_client().get_multiplexed_async_connection().await.unwrap_or_else(|e| {
            panic!("Redis at {} unreachable ({e}): run scripts/test.sh", redis_url())
        })
    }

    fn print(
        mut latencies: Vec<Duration>,
        mut appends: Vec<Duration>,
        samples: u64,
        path: Path,
        cached: bool,
    ) {
        if latencies.is_empty() {
            println!("| end to end | no samples (FINTRA_BRAIN_LIVE_SAMPLES=0) |");
            return;
        }
        latencies.sort();
        appends.sort();
        let at = |sorted: &[Duration], per_mille: usize| {
            let i = (sorted.len() - 1) * per_mille / 1000;
            sorted[i].as_secs_f64() * 1000.0
        };
        let what = match path {
            Path::Refinery => {
                "append → refinery categorises → Views write → category readable in Redis"
            }
            Path::Inline => {
                "Brain categorises in Connect → append → Views write → category readable in Redis"
            }
        };
        println!(
            "| end to end ({samples} imports, PostgreSQL + Redis, live workers woken by NOTIFY) | p50 | p99 | max | of which the import's command, p50 / p99 |"
        );
        println!("|---|---:|---:|---:|---:|");
        let what =
            if cached { format!("{what} (Connect's aggregate cache on)") } else { what.to_owned() };
        println!(
            "| {what} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} / {:.1} ms |",
            at(&latencies, 500),
            at(&latencies, 990),
            at(&latencies, 1000),
            at(&appends, 500),
            at(&appends, 990)
        );
    }
}
