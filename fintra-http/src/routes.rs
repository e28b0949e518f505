//! The route handlers. Each one: the tenant from `x-tenant-id`, the consent check (when on), the
//! document from the [`ViewSource`](crate::ViewSource), the tenant's ownership of it, then an
//! `ETag` answer (`304` when `If-None-Match` holds it).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Months, NaiveDate};
use fintra_guard::{Accessor, Scope};
use serde::Deserialize;

use crate::error::{ApiError, ErrorCode, ErrorEnvelope};
use crate::params::{self, Cursor};
use crate::schema::{
    NetWorthTimeline, Recurring, SpendAnalysis, TransactionPage, TransactionRow, Unified360,
};
use crate::{ApiState, StoredView};

pub(crate) type IdParam = Result<Path<String>, PathRejection>;
type Id = IdParam;
pub(crate) type WhoParam = Option<Extension<Accessor>>;
type Who = WhoParam;

fn path_id(id: Id) -> Result<String, ApiError> {
    id.map(|Path(id)| id).map_err(|e| ApiError::bad_parameter("id", e.body_text()))
}

/// The tenant a document names.
#[derive(Deserialize)]
struct Owner<'a> {
    #[serde(borrow)]
    tenant_id: std::borrow::Cow<'a, str>,
}

fn owned_by(doc: &StoredView, tenant: &fintra_core::TenantId) -> bool {
    serde_json::from_str::<Owner<'_>>(&doc.json).is_ok_and(|o| o.tenant_id == tenant.as_str())
}

/// A `200` with `body` (JSON text) and `etag`, or a `304` when the client holds it.
fn respond(headers: &HeaderMap, etag: &str, body: impl FnOnce() -> String) -> Response {
    let mut response = if params::not_modified(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body())
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, value);
    }
    // Views change with every event: clients revalidate (cheaply, with the ETag) each time.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("x-tenant-id"));
    response
}

/// What every profile route starts with: who asks, for which tenant and profile.
pub(crate) struct Request {
    pub(crate) tenant: fintra_core::TenantId,
    pub(crate) id: String,
    pub(crate) stream: fintra_core::StreamId,
}

impl ApiState {
    pub(crate) async fn begin(
        &self,
        id: Id,
        headers: &HeaderMap,
        query: Option<&HashMap<String, String>>,
        who: Who,
        scope: Scope,
    ) -> Result<Request, ApiError> {
        let tenant = params::tenant(headers, query, self.options.tenants.as_ref())?;
        let id = path_id(id)?;
        let stream = params::profile_stream(&id)?;
        if let Some(consent) = &self.consent {
            let accessor = who.as_ref().map(|Extension(a)| a);
            consent.check(accessor, &tenant, &id, scope).await?;
        }
        Ok(Request { tenant, id, stream })
    }

    /// The document `<family>:<stream>` if the request's tenant owns it.
    pub(crate) async fn owned(
        &self,
        request: &Request,
        family: &str,
    ) -> Result<StoredView, ApiError> {
        let key = format!("{family}:{}", request.stream);
        let found =
            self.views.get(&key).await.map_err(|e| ApiError::unavailable("view store", &e))?;
        found
            .filter(|doc| owned_by(doc, &request.tenant))
            .ok_or_else(|| ApiError::profile_not_found(&request.id))
    }

    async fn document(
        &self,
        family: &str,
        scope: Scope,
        (id, headers, who): (Id, HeaderMap, Who),
    ) -> Result<Response, ApiError> {
        let request = self.begin(id, &headers, None, who, scope).await?;
        let doc = self.owned(&request, family).await?;
        Ok(respond(&headers, &format!("\"{}\"", doc.position.0), || doc.json))
    }
}

/// The Unified 360 view of a profile.
#[utoipa::path(
    get, path = "/v1/profile/{id}", tag = "views",
    params(
        ("id" = String, Path, description = "The profile's id (its stream is `profile-<id>`)"),
        ("x-tenant-id" = String, Header, description = "The tenant that owns the profile"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    responses(
        (status = 200, description = "Net worth, balance sheet, cash flow, alerts, insights, solvency", body = Unified360,
         headers(("ETag" = String, description = "The log position the view reflects"))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "Malformed header or id", body = ErrorEnvelope),
        (status = 401, description = "Consent is checked and the request has no accessor", body = ErrorEnvelope),
        (status = 403, description = "Unknown tenant or no consent", body = ErrorEnvelope),
        (status = 404, description = "No such profile for this tenant", body = ErrorEnvelope),
        (status = 503, description = "The view store could not be read", body = ErrorEnvelope),
    )
)]
pub(crate) async fn unified_360(
    State(api): State<Arc<ApiState>>,
    id: Id,
    headers: HeaderMap,
    who: Who,
) -> Result<Response, ApiError> {
    api.document("unified360", Scope::ReadBalances, (id, headers, who)).await
}

/// Net worth at every month end.
#[utoipa::path(
    get, path = "/v1/profile/{id}/networth", tag = "views",
    params(
        ("id" = String, Path, description = "The profile's id"),
        ("x-tenant-id" = String, Header, description = "The tenant that owns the profile"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    responses(
        (status = 200, description = "The net-worth timeline", body = NetWorthTimeline,
         headers(("ETag" = String, description = "The log position the view reflects"))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "Malformed header or id", body = ErrorEnvelope),
        (status = 401, description = "Consent is checked and the request has no accessor", body = ErrorEnvelope),
        (status = 403, description = "Unknown tenant or no consent", body = ErrorEnvelope),
        (status = 404, description = "No such profile for this tenant", body = ErrorEnvelope),
        (status = 503, description = "The view store could not be read", body = ErrorEnvelope),
    )
)]
pub(crate) async fn net_worth(
    State(api): State<Arc<ApiState>>,
    id: Id,
    headers: HeaderMap,
    who: Who,
) -> Result<Response, ApiError> {
    api.document("networth", Scope::ReadBalances, (id, headers, who)).await
}

/// Recurring income and bills.
#[utoipa::path(
    get, path = "/v1/profile/{id}/recurring", tag = "views",
    params(
        ("id" = String, Path, description = "The profile's id"),
        ("x-tenant-id" = String, Header, description = "The tenant that owns the profile"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    responses(
        (status = 200, description = "Detected recurring streams and monthly averages", body = Recurring,
         headers(("ETag" = String, description = "The log position the view reflects"))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "Malformed header or id", body = ErrorEnvelope),
        (status = 401, description = "Consent is checked and the request has no accessor", body = ErrorEnvelope),
        (status = 403, description = "Unknown tenant or no consent", body = ErrorEnvelope),
        (status = 404, description = "No such profile for this tenant", body = ErrorEnvelope),
        (status = 503, description = "The view store could not be read", body = ErrorEnvelope),
    )
)]
pub(crate) async fn recurring(
    State(api): State<Arc<ApiState>>,
    id: Id,
    headers: HeaderMap,
    who: Who,
) -> Result<Response, ApiError> {
    api.document("recurring", Scope::ReadTransactions, (id, headers, who)).await
}

fn month_key(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// Spend by category for each month of a range (default: the twelve months up to the latest
/// transaction).
#[utoipa::path(
    get, path = "/v1/profile/{id}/spend", tag = "views",
    params(
        ("id" = String, Path, description = "The profile's id"),
        ("x-tenant-id" = String, Header, description = "The tenant that owns the profile"),
        ("from" = Option<String>, Query, description = "First month, YYYY-MM (default: eleven months before `to`)"),
        ("to" = Option<String>, Query, description = "Last month, YYYY-MM (default: the month of the latest transaction)"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    responses(
        (status = 200, description = "The months of the range that have spend", body = SpendAnalysis,
         headers(("ETag" = String, description = "Changes when any month's view changes"))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "Malformed month, `from` after `to`, or a range over the limit", body = ErrorEnvelope),
        (status = 401, description = "Consent is checked and the request has no accessor", body = ErrorEnvelope),
        (status = 403, description = "Unknown tenant or no consent", body = ErrorEnvelope),
        (status = 404, description = "No such profile for this tenant", body = ErrorEnvelope),
        (status = 503, description = "The view store could not be read", body = ErrorEnvelope),
    )
)]
pub(crate) async fn spend(
    State(api): State<Arc<ApiState>>,
    id: Id,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    who: Who,
) -> Result<Response, ApiError> {
    let query = params::query_map(raw.as_deref());
    let request = api.begin(id, &headers, None, who, Scope::ReadTransactions).await?;
    let (from, to) = (params::month(&query, "from")?, params::month(&query, "to")?);
    // The summary proves the profile is the tenant's, and dates the default range.
    let summary = api.owned(&request, "unified360").await?;
    let to = match to {
        Some(to) => to,
        None => {
            let as_of: Option<NaiveDate> = serde_json::from_str::<serde_json::Value>(&summary.json)
                .ok()
                .and_then(|v| v.get("as_of").and_then(|d| serde_json::from_value(d.clone()).ok()));
            as_of
                .and_then(|d| d.with_day(1))
                .ok_or_else(|| ApiError::profile_not_found(&request.id))?
        }
    };
    let from = from.unwrap_or_else(|| to.checked_sub_months(Months::new(11)).unwrap_or(to));
    let count = params::months_between(from, to);
    let max = api.options.spend_months_max;
    if count == 0 || count > max {
        return Err(ApiError {
            code: ErrorCode::BadRequest,
            message: format!("from must not be after to, and the range at most {max} months"),
            details: serde_json::json!({ "parameter": "from", "max_months": max }),
        });
    }
    let months: Vec<NaiveDate> =
        (0..count).filter_map(|i| from.checked_add_months(Months::new(i))).collect();
    let keys: Vec<String> =
        months.iter().map(|m| format!("spend:{}:{}", request.stream, month_key(*m))).collect();
    let docs =
        api.views.get_many(&keys).await.map_err(|e| ApiError::unavailable("view store", &e))?;
    let docs: Vec<StoredView> =
        docs.into_iter().flatten().filter(|d| owned_by(d, &request.tenant)).collect();
    let mut tag = format!("\"{}.{}", month_key(from), month_key(to));
    for doc in &docs {
        let _ = write!(tag, ".{}", doc.position.0);
    }
    tag.push('"');
    Ok(respond(&headers, &tag, || {
        let parts: Vec<&str> = docs.iter().map(|d| d.json.as_str()).collect();
        format!(
            "{{\"from\":\"{}\",\"to\":\"{}\",\"months\":[{}]}}",
            month_key(from),
            month_key(to),
            parts.join(",")
        )
    }))
}

/// The transactions query (spec §4.13), newest first, in pages.
#[utoipa::path(
    get, path = "/v1/profile/{id}/transactions", tag = "views",
    params(
        ("id" = String, Path, description = "The profile's id"),
        ("x-tenant-id" = String, Header, description = "The tenant that owns the profile"),
        ("from" = Option<String>, Query, description = "First booking date, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Last booking date, YYYY-MM-DD"),
        ("category_l1" = Option<String>, Query, description = "Top-level category"),
        ("merchant" = Option<String>, Query, description = "Cleaned merchant name (case-insensitive)"),
        ("limit" = Option<u32>, Query, description = "Rows per page, 1 to the server's maximum (500 by default)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    responses(
        (status = 200, description = "A page of posted transactions", body = TransactionPage,
         headers(("ETag" = String, description = "The twin's stream version"))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "Malformed date, limit or cursor", body = ErrorEnvelope),
        (status = 401, description = "Consent is checked and the request has no accessor", body = ErrorEnvelope),
        (status = 403, description = "Unknown tenant or no consent", body = ErrorEnvelope),
        (status = 404, description = "No such profile for this tenant", body = ErrorEnvelope),
        (status = 503, description = "The event store could not be read", body = ErrorEnvelope),
    )
)]
pub(crate) async fn transactions(
    State(api): State<Arc<ApiState>>,
    id: Id,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    who: Who,
) -> Result<Response, ApiError> {
    let query = params::query_map(raw.as_deref());
    let request = api.begin(id, &headers, None, who, Scope::ReadTransactions).await?;
    let filter = fintra_projections::views::TransactionFilter {
        from: params::date(&query, "from")?,
        to: params::date(&query, "to")?,
        category_l1: query.get("category_l1").cloned(),
        merchant: query.get("merchant").cloned(),
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::bad_parameter("from", "from must not be after to"));
    }
    let opts = &api.options;
    let limit = params::limit(&query, opts.page_limit_default, opts.page_limit_max)?;
    let cursor = Cursor::decode(&query)?;
    if let Err(e) = api.owned(&request, "unified360").await {
        // Erased (or never there): whatever a cache kept of it goes too.
        if e.code == ErrorCode::NotFound {
            api.twins.forget(&request.stream);
        }
        return Err(e);
    }
    let version = api
        .twins
        .version(&request.stream)
        .await
        .map_err(|e| ApiError::unavailable("event store", &e))?;
    let etag = format!("\"v{}\"", version.get());
    if params::not_modified(&headers, &etag) {
        return Ok(respond(&headers, &etag, String::new));
    }
    let twin = api
        .twins
        .load(&request.stream, version)
        .await
        .map_err(|e| ApiError::unavailable("event store", &e))?;
    let rows = fintra_projections::views::query_transactions(&twin.state, &filter);
    let after = |t: &&fintra_twin::fos::UnifiedTransaction| {
        cursor.as_ref().is_none_or(|c| (t.date, t.transaction_id.as_str()) < (c.d, c.t.as_str()))
    };
    let mut page: Vec<TransactionRow> =
        rows.into_iter().filter(after).take(limit + 1).map(row).collect();
    let next_cursor = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|r| Cursor { d: r.date, t: r.transaction_id.clone() }.encode())
    });
    let body = TransactionPage {
        transactions: page,
        next_cursor: next_cursor.flatten(),
        source_version: twin.version.get(),
    };
    Ok(respond(&headers, &format!("\"v{}\"", twin.version.get()), || {
        serde_json::to_string(&body).unwrap_or_default()
    }))
}

fn row(t: &fintra_twin::fos::UnifiedTransaction) -> TransactionRow {
    let enrichment = t.enrichment.as_ref();
    TransactionRow {
        transaction_id: t.transaction_id.clone(),
        account_id: t.account_id.clone(),
        date: t.date,
        amount_minor: i64::try_from(t.amount_minor).unwrap_or(if t.amount_minor < 0 {
            i64::MIN
        } else {
            i64::MAX
        }),
        currency: t.currency.to_string(),
        description: t.description.clone(),
        merchant: enrichment.and_then(|e| e.merchant_name.clone()),
        category: enrichment.map(|e| e.category.clone()),
        category_l1: enrichment.map(|e| e.category_l1().to_owned()),
    }
}

/// The OpenAPI document of these routes.
pub(crate) async fn openapi() -> Response {
    let doc = crate::openapi::document();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], doc).into_response()
}

/// Unknown paths.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

/// Known paths with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this route answers GET only")
}
