//! The dashboard in a real browser: headless Chromium driven over WebDriver (chromedriver, both
//! from Debian's packages; `scripts/test.sh` installs them once per machine). The numbers shown
//! equal the Views' JSON, a filter changes the table, an event appended during the test reaches
//! the live feed within a second, and "Simulate next month" updates the page through the feed.
//! A screenshot goes to `target/dashboard/dashboard.png`; the page's load time is printed.

#![allow(clippy::unwrap_used, reason = "tests fail on a setup error")]
#![allow(clippy::print_stdout, reason = "the test reports the page's load time")]

use std::time::{Duration, Instant};

use base64::Engine as _;
use fintra_core::{
    ContentType, EventMetadata, EventStore, ExpectedVersion, NewEvent, StreamId, TenantId,
};
use serde_json::{Value, json};

/// A WebDriver session.
struct Browser {
    http: reqwest::Client,
    session: String,
    driver: tokio::process::Child,
}

fn chromium() -> (String, String) {
    let find = |names: &[&str]| {
        names
            .iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.exists())
            .map(|p| p.display().to_string())
    };
    let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let browser = find(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]);
    match (driver, browser) {
        (Some(d), Some(b)) => (d, b),
        _ => panic!(
            "Chromium and chromedriver are not installed: `apt-get install chromium chromium-driver` \
             (scripts/test.sh does it once per machine)"
        ),
    }
}

impl Browser {
    async fn start() -> Self {
        let (driver_path, browser_path) = chromium();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = tokio::process::Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver did not start");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready {
                let v: Value = r.json().await.unwrap_or_default();
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready in 20 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": browser_path, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,2000"]}
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Self { http, session: format!("{base}/session/{session}"), driver }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let request = self.http.request(method, format!("{}{path}", self.session));
        let request = if body.is_null() { request } else { request.json(&body) };
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if answer["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    async fn script(&self, script: &str, args: Value) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    async fn click(&self, selector: &str) {
        let element = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": selector}),
            )
            .await;
        let id = element
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        self.command(reqwest::Method::POST, &format!("/element/{id}/click"), json!({})).await;
    }

    /// Polls `script` until it returns something truthy; panics naming `what` after `timeout`.
    async fn wait_for(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.script(script, json!([])).await;
            if !(value.is_null() || value == false || value == "" || value == 0) {
                return value;
            }
            assert!(Instant::now() < deadline, "{what}: not seen within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn close(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        let _ = self.driver.kill().await;
    }
}

/// The page's money format ("-£1,234.56").
fn money(minor: i64) -> String {
    let abs = minor.unsigned_abs();
    let digits = (abs / 100).to_string();
    let mut grouped = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}£{grouped}.{:02}", if minor < 0 { "-" } else { "" }, abs % 100)
}

async fn shown(browser: &Browser, selector: &str) -> (String, String) {
    let v = browser
        .script(
            "const e = document.querySelector(arguments[0]); return e ? [e.textContent, e.dataset.minor ?? e.dataset.value ?? ''] : null;",
            json!([selector]),
        )
        .await;
    let v = v.as_array().unwrap_or_else(|| panic!("element {selector} is not on the page"));
    (v[0].as_str().unwrap().to_owned(), v[1].as_str().unwrap().to_owned())
}

async fn assert_money(browser: &Browser, selector: &str, minor: &Value) {
    let minor = minor.as_i64().unwrap();
    let (text, data) = shown(browser, selector).await;
    assert_eq!(data, minor.to_string(), "element {selector}: expected minor units {minor}");
    assert_eq!(text, money(minor), "element {selector}: expected the text {:?}", money(minor));
}

async fn views_json(dashboard: &fintra_dashboard::Dashboard, path: &str) -> Value {
    let url = format!("{}/v1/profile/{}{path}", dashboard.url, dashboard.profile_id);
    let r = reqwest::Client::new()
        .get(url)
        .header("x-tenant-id", fintra_dashboard::TENANT)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

async fn assert_summary_matches_the_views(
    browser: &Browser,
    dashboard: &fintra_dashboard::Dashboard,
) {
    let v = views_json(dashboard, "").await;
    assert_money(browser, "#net-worth", &v["net_worth"]["total_minor"]).await;
    assert_money(browser, "#net-worth-change", &v["net_worth"]["change_30d_minor"]).await;
    assert_money(browser, "#assets", &v["balance_sheet"]["total_assets_minor"]).await;
    assert_money(browser, "#debt", &v["balance_sheet"]["total_debt_minor"]).await;
    assert_money(browser, "#safe-to-spend", &v["cash_flow"]["safe_to_spend_minor"]).await;
    let (status, _) = shown(browser, "#cash-flow-status").await;
    assert_eq!(status, v["cash_flow"]["status"].as_str().unwrap(), "element #cash-flow-status");
    let (_, solvency) = shown(browser, "#solvency").await;
    assert_eq!(solvency, v["solvency_score"].to_string(), "element #solvency");
    let (_, runway) = shown(browser, "#runway").await;
    let expected = v["cash_flow"]["days_runway"].as_i64().map_or(String::new(), |d| d.to_string());
    assert_eq!(runway, expected, "element #runway");
    let (as_of, _) = shown(browser, "#as-of").await;
    assert_eq!(as_of, v["as_of"].as_str().unwrap(), "element #as-of");
}

async fn assert_a_filter_changes_the_table(
    browser: &Browser,
    dashboard: &fintra_dashboard::Dashboard,
) {
    let before = browser
        .script(
            "return document.querySelectorAll('#transactions-table tbody tr').length",
            json!([]),
        )
        .await;
    assert_eq!(before, 50, "element #transactions-table: expected a first page of 50 rows");
    browser.click("#filter-category option[value='Groceries']").await;
    browser.click("#apply-filters").await;
    let rows = browser
        .wait_for(
            "#transactions-table rows all in Groceries",
            "const rows = [...document.querySelectorAll('#transactions-table tbody tr')]; \
             return rows.length && rows.every(r => r.dataset.category === 'Groceries') ? rows.length : 0",
            Duration::from_secs(5),
        )
        .await;
    let page = views_json(dashboard, "/transactions?category_l1=Groceries&limit=50").await;
    let expected = page["transactions"].as_array().unwrap().len();
    assert_eq!(rows, expected, "element #transactions-table: expected {expected} Groceries rows");
    let first = browser
        .script(
            "return document.querySelector('#transactions-table tbody tr').dataset.id",
            json!([]),
        )
        .await;
    assert_eq!(
        first, page["transactions"][0]["transaction_id"],
        "element #transactions-table first row"
    );
}

async fn assert_an_appended_event_reaches_the_feed(
    dashboard: &fintra_dashboard::Dashboard,
    browser: &Browser,
) {
    let stream = StreamId::new(format!("brain-{}", dashboard.profile_id)).unwrap();
    let event = NewEvent {
        event_id: fintra_core::IdGenerator::next_id(&fintra_core::UuidV7Generator),
        event_type: "brain.insight.browser_test".into(),
        schema_version: 1,
        occurred_at: fintra_core::Clock::now(&fintra_core::SystemClock),
        metadata: EventMetadata {
            tenant_id: TenantId::new(fintra_dashboard::TENANT).unwrap(),
            ..EventMetadata::default()
        },
        content_type: ContentType::json(),
        payload: br#"{"message": "hello from the browser test"}"#.to_vec().into(),
    };
    let appended = Instant::now();
    dashboard.store.append(&stream, ExpectedVersion::Any, &[event]).await.unwrap();
    browser
        .wait_for(
            "#feed item brain.insight.browser_test",
            "return document.querySelector('#feed li[data-type=\"brain.insight.browser_test\"]') !== null",
            Duration::from_secs(5),
        )
        .await;
    let took = appended.elapsed();
    println!("append → shown in the feed: {took:?}");
    assert!(
        took < Duration::from_secs(1),
        "element #feed: the event took {took:?} (expected under 1 s)"
    );
}

/// "Simulate next month": the feed announces the import and the page shows the new views.
async fn assert_simulate_updates_the_page(
    browser: &Browser,
    dashboard: &fintra_dashboard::Dashboard,
) {
    let as_of_before = shown(browser, "#as-of").await.0;
    browser.click("#simulate").await;
    browser
        .wait_for("#feed item core.transactions.imported", "return document.querySelector('#feed li[data-type=\"core.transactions.imported\"]') !== null", Duration::from_secs(20))
        .await;
    let as_of_after = browser
        .wait_for("#as-of to move to the simulated month", &format!("const t = document.querySelector('#as-of').textContent; return t !== '{as_of_before}' ? t : null"), Duration::from_secs(20))
        .await;
    dashboard.wait_for_views().await.unwrap();
    let v = views_json(dashboard, "").await;
    // The page refreshes on each event of the import; wait for the last refresh to land.
    let settled = format!(
        "return document.querySelector('#as-of').textContent === {} && document.querySelector('#net-worth').dataset.minor === '{}' && !document.querySelector('#simulate').disabled",
        v["as_of"], v["net_worth"]["total_minor"]
    );
    browser
        .wait_for(
            "#as-of and #net-worth to show the simulated month's views",
            &settled,
            Duration::from_secs(10),
        )
        .await;
    assert!(
        as_of_after.as_str().is_some_and(|d| d > as_of_before.as_str()),
        "element #as-of moved from {as_of_before} to {as_of_after}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_summary_matches_the_views(browser, dashboard).await;
}

fn screenshot_path() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        std::path::PathBuf::from,
    );
    target.join("dashboard/dashboard.png")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_views_filters_and_streams_live() {
    let dashboard = fintra_dashboard::start("127.0.0.1:0").await.unwrap();
    let browser = Browser::start().await;
    let opened = Instant::now();
    browser.command(reqwest::Method::POST, "/url", json!({"url": dashboard.url})).await;
    browser
        .wait_for(
            "body[data-ready=true] (the first render)",
            "return document.body.dataset.ready === 'true'",
            Duration::from_secs(20),
        )
        .await;
    let timing = browser
        .script("const n = performance.getEntriesByType('navigation')[0]; return [n.loadEventEnd, Number(document.body.dataset.readyAt)]", json!([]))
        .await;
    println!(
        "dashboard load: load event {:.0} ms, every panel rendered at {} ms (navigation start → ready), {:?} wall clock",
        timing[0].as_f64().unwrap_or(0.0),
        timing[1],
        opened.elapsed()
    );
    assert_summary_matches_the_views(&browser, &dashboard).await;
    let points = browser
        .script("return document.querySelector('#net-worth-chart').dataset.points", json!([]))
        .await;
    let timeline = views_json(&dashboard, "/networth").await;
    assert_eq!(
        points,
        timeline["points"].as_array().unwrap().len().to_string(),
        "element #net-worth-chart points"
    );
    let spend_rows = browser
        .script("return document.querySelectorAll('#spend-table tbody tr').length", json!([]))
        .await;
    assert!(
        spend_rows.as_u64().unwrap() > 5,
        "element #spend-table: expected a row per category, got {spend_rows}"
    );
    let recurring = views_json(&dashboard, "/recurring").await;
    let rows = browser
        .script("return document.querySelectorAll('#recurring-table tbody tr').length", json!([]))
        .await;
    assert_eq!(
        rows,
        recurring["streams"].as_array().unwrap().len(),
        "element #recurring-table rows"
    );
    assert_a_filter_changes_the_table(&browser, &dashboard).await;
    assert_an_appended_event_reaches_the_feed(&dashboard, &browser).await;

    assert_simulate_updates_the_page(&browser, &dashboard).await;

    let png = browser.command(reqwest::Method::GET, "/screenshot", Value::Null).await;
    let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
    let path = screenshot_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    println!("screenshot: {}", path.display());
    browser.close().await;
}
