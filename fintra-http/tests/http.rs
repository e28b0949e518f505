//! The Views over HTTP: documents equal the projections' and deserialize into the published
//! schema, ETags answer 304, tenants are isolated, bad requests get JSON 4xx, the transactions
//! query filters and pages, and consent is checked on every route.

#![allow(clippy::unwrap_used, reason = "tests fail on a setup error")]

mod common;

use common::{TENANT, served, served_with};
use fintra_http::schema::{
    NetWorthTimeline, Recurring, SpendAnalysis, TransactionPage, Unified360,
};
use fintra_http::{ApiOptions, PulseOptions};
use fintra_projections::views::{TransactionFilter, query_transactions};
use reqwest::StatusCode;
use serde_json::Value;

async fn error_of(response: reqwest::Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}"));
    assert!(body["error"]["message"].is_string(), "{body}");
    (status, code.to_owned(), body["error"]["details"].clone())
}

#[tokio::test]
async fn views_are_the_projections_documents_with_etags() {
    let s = served().await;
    let response = s.get("").await;
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body = response.text().await.unwrap();
    let stored = s.views.get(&format!("unified360:{}", s.stream)).unwrap();
    assert_eq!(body, &*stored.json, "the route serves the view document as stored");
    assert_eq!(etag, format!("\"{}\"", stored.position.0));
    let summary: Unified360 = serde_json::from_str(&body).unwrap();
    assert_eq!(summary.tenant_id, TENANT);
    assert_eq!(summary.net_worth.currency, "GBP");
    assert!(summary.balance_sheet.total_assets_minor > 0, "{summary:?}");
    let again =
        s.client.get(s.url("")).header("x-tenant-id", TENANT).header("if-none-match", &etag);
    let again = again.send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);

    let timeline: NetWorthTimeline = s.get("/networth").await.json().await.unwrap();
    assert_eq!(timeline.points.len(), 6, "one point per month end");
    let recurring: Recurring = s.get("/recurring").await.json().await.unwrap();
    assert!(
        recurring
            .streams
            .iter()
            .any(|r| r.merchant.to_lowercase().contains("salary") || r.flow == "INCOME"),
        "{recurring:?}"
    );
    let spend: SpendAnalysis = s.get("/spend?from=2024-01&to=2024-06").await.json().await.unwrap();
    assert_eq!(spend.months.len(), 6);
    assert_eq!(spend.months[5].month, "2024-06");
    let default: SpendAnalysis = s.get("/spend").await.json().await.unwrap();
    assert_eq!(default.to, "2024-06", "the default range ends at the latest transaction's month");
    assert_eq!(default.from, "2023-07");
}

#[tokio::test]
async fn another_tenant_sees_nothing_and_bad_requests_get_json_errors() {
    let s = served_with(PulseOptions::default(), |api| {
        let tenants = [TENANT.to_owned(), "globex".to_owned()].into();
        api.with_options(ApiOptions { tenants: Some(tenants), ..ApiOptions::default() }).router()
    })
    .await;
    let as_tenant = |tenant: &str, path: &str| {
        s.client.get(s.url(path)).header("x-tenant-id", tenant.to_owned()).send()
    };
    // Another (served) tenant gets the same answer as for a profile that does not exist.
    let (status, code, _) = error_of(as_tenant("globex", "").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (status, code, _) = error_of(as_tenant("globex", "/transactions").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (status, code, _) = error_of(as_tenant("initech", "").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "UNKNOWN_TENANT"));
    let bare = s.client.get(s.url("")).send().await.unwrap();
    assert_eq!(error_of(bare).await.1, "MISSING_TENANT");
    for (path, parameter) in [
        ("/transactions?from=2024-02-30", "from"),
        ("/transactions?to=yesterday", "to"),
        ("/transactions?from=2024-05-01&to=2024-01-01", "from"),
        ("/transactions?limit=1000000", "limit"),
        ("/transactions?limit=0", "limit"),
        ("/transactions?cursor=not-a-cursor", "cursor"),
        ("/transactions?cursor=eyJkIjoiMjAyNCJ9", "cursor"),
        ("/spend?from=2024-13", "from"),
        ("/spend?from=2020-01&to=2024-06", "from"),
        ("/spend?from=2024-06&to=2024-01", "from"),
    ] {
        let (status, code, details) = error_of(s.get(path).await).await;
        assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "BAD_REQUEST"), "{path}");
        assert_eq!(details["parameter"], parameter, "{path}");
    }
    let unknown = s.client.get(format!("{}/v2/nothing", s.base)).send().await.unwrap();
    assert_eq!(error_of(unknown).await.1, "NOT_FOUND");
    let post = s.client.post(s.url("")).header("x-tenant-id", TENANT).send().await.unwrap();
    assert_eq!(error_of(post).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let missing =
        s.client.get(format!("{}/v1/profile/nobody", s.base)).header("x-tenant-id", TENANT);
    assert_eq!(error_of(missing.send().await.unwrap()).await.1, "NOT_FOUND");
}

#[tokio::test]
async fn the_transactions_query_filters_and_pages_every_row_once() {
    let s = served().await;
    let twin = s.repository.load(&s.stream).await.unwrap();
    let expected: Vec<String> = query_transactions(&twin.state, &TransactionFilter::default())
        .iter()
        .map(|t| t.transaction_id.clone())
        .collect();
    assert_eq!(expected.len(), 30);
    let mut seen = Vec::new();
    let mut path = "/transactions?limit=7".to_owned();
    let mut pages = 0;
    loop {
        let page: TransactionPage = s.get(&path).await.json().await.unwrap();
        assert!(page.transactions.len() <= 7);
        seen.extend(page.transactions.iter().map(|t| t.transaction_id.clone()));
        pages += 1;
        match page.next_cursor {
            Some(cursor) => path = format!("/transactions?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, expected, "pages in order, every row exactly once");

    let filter = TransactionFilter {
        from: chrono::NaiveDate::from_ymd_opt(2024, 3, 1),
        to: chrono::NaiveDate::from_ymd_opt(2024, 4, 30),
        category_l1: Some("Groceries".into()),
        merchant: None,
    };
    let expected: Vec<String> =
        query_transactions(&twin.state, &filter).iter().map(|t| t.transaction_id.clone()).collect();
    assert!(!expected.is_empty());
    let query = "/transactions?from=2024-03-01&to=2024-04-30&category_l1=Groceries";
    let response = s.get(query).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"v{}\"", twin.version.get()));
    let page: TransactionPage = response.json().await.unwrap();
    let got: Vec<String> = page.transactions.iter().map(|t| t.transaction_id.clone()).collect();
    assert_eq!(got, expected);
    assert!(page.transactions.iter().all(|t| t.category_l1.as_deref() == Some("Groceries")));
    let cached =
        s.client.get(s.url(query)).header("x-tenant-id", TENANT).header("if-none-match", etag);
    assert_eq!(cached.send().await.unwrap().status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn the_openapi_document_names_every_route_and_schema() {
    let s = served().await;
    let doc: Value = s
        .client
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["", "/networth", "/spend", "/recurring", "/transactions", "/events"] {
        let key = format!("/v1/profile/{{id}}{path}");
        assert!(doc["paths"][&key]["get"].is_object(), "{key} missing from the document");
    }
    for schema in ["Unified360", "TransactionPage", "SpendAnalysis", "ErrorEnvelope"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema} missing");
    }
}

/// Consent: without an accessor 401; without a grant 403; a grant of balances opens the
/// summary and not the transactions; a revocation closes it on the next call.
#[tokio::test]
async fn every_route_checks_consent_at_the_time_of_the_call() {
    use fintra_guard::{Accessor, ConsentRegistry, Scope};
    let store = std::sync::Arc::new(fintra_core::InMemoryEventStore::new());
    let registry = ConsentRegistry::new(store.clone());
    let s = served_with(PulseOptions::default(), |api| {
        api.with_consent(ConsentRegistry::new(store.clone()))
            .router()
            .layer(axum::middleware::from_fn(common::api_keys))
    })
    .await;
    let call = |path: &'static str, key: Option<&'static str>| {
        let mut request = s.client.get(s.url(path)).header("x-tenant-id", TENANT);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        request.send()
    };
    assert_eq!(error_of(call("", None).await.unwrap()).await.1, "UNAUTHENTICATED");
    assert_eq!(error_of(call("", Some("budget-app")).await.unwrap()).await.1, "CONSENT_DENIED");
    common::grant(&registry, "budget-app", &s.id, &[Scope::ReadBalances]).await;
    assert_eq!(call("", Some("budget-app")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(call("/networth", Some("budget-app")).await.unwrap().status(), StatusCode::OK);
    let (status, code, details) =
        error_of(call("/transactions", Some("budget-app")).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "CONSENT_DENIED"));
    assert_eq!(details["scope"], "READ_TRANSACTIONS");
    let app =
        Accessor { id: "budget-app".into(), tenant: fintra_core::TenantId::new(TENANT).unwrap() };
    registry.revoke(&app, &s.id, "changed my mind", &common::meta()).await.unwrap();
    assert_eq!(error_of(call("", Some("budget-app")).await.unwrap()).await.1, "CONSENT_DENIED");
}
