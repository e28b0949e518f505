//! The same routes over the PostgreSQL and Redis views: a host that keeps its Views in either
//! serves the same documents as the embedded default.

#![allow(clippy::unwrap_used, reason = "tests fail on a setup error")]

mod common;

use std::time::Duration;

use common::{TENANT, import, serve};
use fintra_core::Repository;
use fintra_http::{PgViewSource, RedisViewSource, ViewsApi};
use fintra_projections::views::TwinViews;
use fintra_projections::{
    PgSink, ProjectionRunner, RedisSink, RedisViews, RunnerOptions, SharedViews, SharedViewsSink,
};
use fintra_store_postgres::testing::TestSchema;
use fintra_twin::Profile;

async fn redis_connection() -> redis::aio::MultiplexedConnection {
    let url = std::env::var("FINTRA_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    tokio::time::timeout(
        Duration::from_secs(10),
        redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection(),
    )
    .await
    .unwrap_or_else(|_| panic!("Redis at {url} did not answer: start it (scripts/test.sh does)"))
    .unwrap_or_else(|e| panic!("Redis at {url} unreachable ({e}): start it (scripts/test.sh does)"))
}

#[tokio::test]
async fn postgres_and_redis_views_serve_what_memory_serves() {
    let schema = TestSchema::new().await;
    let store = schema.store();
    let repository = Repository::<Profile, _>::new(store.clone())
        .with_clock(std::sync::Arc::new(fintra_core::ManualClock::new(common::now())));
    let id = fintra_core::IdGenerator::next_id(&fintra_core::UuidV7Generator).to_string();
    let stream = fintra_core::StreamId::new(format!("profile-{id}")).unwrap();
    import(&repository, &stream, 1..=6).await;
    let runner =
        ProjectionRunner::new(std::sync::Arc::new(store.clone()), RunnerOptions::default());

    let mut pg = PgSink::new(schema.pool.clone(), TwinViews::new(Repository::new(store.clone())))
        .await
        .unwrap();
    runner.catch_up(&mut pg).await.unwrap();
    pg.activate().await.unwrap();
    let prefix = format!("fintra_http_test_{}", schema.name);
    let conn = redis_connection().await;
    let mut redis_sink =
        RedisSink::new(conn.clone(), &prefix, TwinViews::new(Repository::new(store.clone())))
            .await
            .unwrap();
    runner.catch_up(&mut redis_sink).await.unwrap();
    redis_sink.activate().await.unwrap();
    let memory = SharedViews::new();
    let mut sink =
        SharedViewsSink::new(TwinViews::new(Repository::new(store.clone())), memory.clone());
    runner.catch_up(&mut sink).await.unwrap();

    let twins = || Repository::<Profile, _>::new(store.clone());
    let bases = [
        serve(ViewsApi::new(memory, twins()).router()).await,
        serve(
            ViewsApi::new(PgViewSource::new(schema.pool.clone(), "twin_views").unwrap(), twins())
                .router(),
        )
        .await,
        serve(
            ViewsApi::new(
                RedisViewSource::new(RedisViews::new(conn, &prefix), "twin_views"),
                twins(),
            )
            .router(),
        )
        .await,
    ];
    let client = reqwest::Client::new();
    for path in
        ["", "/networth", "/recurring", "/spend?from=2024-01&to=2024-06", "/transactions?limit=5"]
    {
        let mut answers = Vec::new();
        for base in &bases {
            let response = client
                .get(format!("{base}/v1/profile/{id}{path}"))
                .header("x-tenant-id", TENANT)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::OK, "{base}{path}");
            let etag = response.headers()["etag"].to_str().unwrap().to_owned();
            let body: serde_json::Value = response.json().await.unwrap();
            answers.push((etag, body));
        }
        assert_eq!(answers[0], answers[1], "PostgreSQL differs from memory on {path}");
        assert_eq!(answers[0], answers[2], "Redis differs from memory on {path}");
    }
    assert!(PgViewSource::new(schema.pool.clone(), "twin_views; DROP TABLE x").is_err());
    let _ = redis_sink.drop_version().await;
}
