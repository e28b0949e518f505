//! The Views over HTTP and the Pulse feed (a macro harness that prints a table):
//!
//! 1. `GET` of the Unified 360 view and of a page of 50 transactions, with `wrk` (Debian) on
//!    loopback at 8 and 64 connections: requests/s and latency p50/p99, median of the runs. The
//!    server is the dashboard demo (the flagship's sample twin on the in-memory store, views in
//!    process memory) on a 2-thread runtime; `wrk` runs with 2 threads on the same machine.
//!    In the same run, the floor of this stack on this machine: an axum route answering a fixed
//!    body of the same size as the Unified 360 document (no lookup, no tenant check), so the
//!    Views' rows read as a ratio of it.
//! 2. SSE fan-out: 1,000 connections follow one profile's feed; events are appended one at a
//!    time and the time from the append call to each connection reading the event is recorded
//!    (p50, p99, max over every connection and event).
//!
//! `cargo bench -p benches --bench http` (needs `wrk`: `apt-get install wrk`). Settings:
//! `FINTRA_HTTP_SECS` (seconds per wrk run, default 10), `FINTRA_HTTP_RUNS` (default 3),
//! `FINTRA_SSE_CONNECTIONS` (default 1,000), `FINTRA_SSE_EVENTS` (default 20).

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use benches::{env, median};
use fintra_core::{
    ContentType, EventMetadata, EventStore, ExpectedVersion, NewEvent, StreamId, TenantId,
};
use futures::StreamExt as _;

/// A wrk run's requests/s and p50/p99 latency in microseconds.
fn wrk(url: &str, connections: u64, seconds: u64) -> (f64, f64, f64) {
    let output = std::process::Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency"])
        .args(["-H", &format!("x-tenant-id: {}", fintra_dashboard::TENANT), url])
        .output()
        .unwrap_or_else(|e| {
            panic!("could not run wrk ({e}): install it with `apt-get install wrk`")
        });
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed:\n{text}");
    assert!(!text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    let micros = |label: &str| {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in\n{text}"));
        let value = line.split_whitespace().nth(1).unwrap();
        let (number, unit) = value.split_at(value.find(|c: char| c.is_alphabetic()).unwrap());
        let n: f64 = number.parse().unwrap();
        match unit {
            "us" => n,
            "ms" => n * 1_000.0,
            "s" => n * 1_000_000.0,
            other => panic!("unit {other}"),
        }
    };
    let rps_line = text.lines().find(|l| l.starts_with("Requests/sec:")).unwrap();
    let rps: f64 = rps_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    (rps, micros("50%"), micros("99%"))
}

/// Serves `body` as JSON at `/` on a free port: the floor the Views are compared with.
async fn fixed_body_server(body: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let body: &'static str = Box::leak(body.into_boxed_str());
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { ([("content-type", "application/json")], body) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn views_rows(runtime: &tokio::runtime::Runtime, dashboard: &fintra_dashboard::Dashboard) {
    let seconds = env("FINTRA_HTTP_SECS", 10);
    let runs = env("FINTRA_HTTP_RUNS", 3);
    let key = format!("unified360:profile-{}", dashboard.profile_id);
    let summary = dashboard.views.get(&key).unwrap();
    let floor = runtime.block_on(fixed_body_server(summary.json.to_string()));
    println!(
        "\n{:<34} {:>6} {:>12} {:>10} {:>10}",
        "GET", "conns", "requests/s", "p50 µs", "p99 µs"
    );
    let profile = format!("{}/v1/profile/{}", dashboard.url, dashboard.profile_id);
    for (label, url) in [
        ("floor: fixed body, same size", floor),
        ("Unified 360 view", profile.clone()),
        ("transactions, page of 50", format!("{profile}/transactions?limit=50")),
    ] {
        for connections in [8, 64] {
            let (mut rps, mut p50, mut p99) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                let (r, a, b) = wrk(&url, connections, seconds);
                rps.push(r);
                p50.push(a);
                p99.push(b);
            }
            println!(
                "{label:<34} {connections:>6} {:>12.0} {:>10.0} {:>10.0}",
                median(rps),
                median(p50),
                median(p99)
            );
        }
    }
}

fn event(n: u64) -> NewEvent {
    NewEvent {
        event_id: fintra_core::IdGenerator::next_id(&fintra_core::UuidV7Generator),
        event_type: "brain.insight.bench".into(),
        schema_version: 1,
        occurred_at: fintra_core::Clock::now(&fintra_core::SystemClock),
        metadata: EventMetadata {
            tenant_id: TenantId::new(fintra_dashboard::TENANT).unwrap(),
            ..EventMetadata::default()
        },
        content_type: ContentType::json(),
        payload: serde_json::to_vec(&serde_json::json!({ "n": n })).unwrap().into(),
    }
}

async fn fan_out(dashboard: &fintra_dashboard::Dashboard) {
    let connections = env("FINTRA_SSE_CONNECTIONS", 1_000);
    let events = env("FINTRA_SSE_EVENTS", 20);
    let appended: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let url = format!(
        "{}/v1/profile/{}/events?tenant_id={}",
        dashboard.url,
        dashboard.profile_id,
        fintra_dashboard::TENANT
    );
    let before = dashboard.hub.connections();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, appended, latencies) =
            (client.clone(), url.clone(), appended.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let response = client.get(url).send().await.unwrap();
            let mut body = response.bytes_stream();
            let (mut buffer, mut seen) = (String::new(), 0);
            while seen < events {
                let Some(chunk) = body.next().await else { break };
                buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
                while let Some(end) = buffer.find('\n') {
                    let line: String = buffer.drain(..=end).collect();
                    let Some(data) = line.strip_prefix("data:") else { continue };
                    let envelope: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
                    let id = envelope["event_id"].as_str().unwrap().to_owned();
                    let sent = appended.lock().unwrap().get(&id).copied();
                    if let Some(sent) = sent {
                        latencies.lock().unwrap().push(sent.elapsed());
                        seen += 1;
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while dashboard.hub.connections() < before + usize::try_from(connections).unwrap() {
        assert!(
            Instant::now() < deadline,
            "only {} SSE connections after 60 s",
            dashboard.hub.connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stream = StreamId::new(format!("brain-{}", dashboard.profile_id)).unwrap();
    for n in 0..events {
        let e = event(n);
        appended.lock().unwrap().insert(e.event_id.to_string(), Instant::now());
        dashboard.store.append(&stream, ExpectedVersion::Any, &[e]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("a connection missed events")
            .unwrap();
    }
    let mut all = latencies.lock().unwrap().clone();
    all.sort();
    assert_eq!(all.len() as u64, connections * events, "every connection gets every event");
    let at = |per_mille: usize| all[(all.len() - 1) * per_mille / 1000];
    println!(
        "\nSSE fan-out: {connections} connections × {events} events, append → read: p50 {:?}, p99 {:?}, max {:?}",
        at(500),
        at(990),
        all[all.len() - 1]
    );
}

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dashboard = runtime.block_on(fintra_dashboard::start("127.0.0.1:0")).unwrap();
    println!(
        "fintra-http benchmark: the dashboard demo at {} (sample twin, in-memory views)",
        dashboard.url
    );
    views_rows(&runtime, &dashboard);
    runtime.block_on(fan_out(&dashboard));
}
