//! `GET /v1/profile/{id}/events`: the profile's Pulse feed as server-sent events.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use fintra_core::Position;
use fintra_guard::Scope;
use futures::Stream;

use crate::error::{ApiError, ErrorCode, ErrorEnvelope};
use crate::pulse::{Feed, sse_event};
use crate::{ApiState, params};

/// The position to resume after: `Last-Event-ID` (what browsers send on reconnect) or
/// `last_event_id` in the query.
fn last_event_id(
    headers: &HeaderMap,
    query: &std::collections::HashMap<String, String>,
) -> Result<Option<Position>, ApiError> {
    let text = match headers.get("last-event-id") {
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::bad_parameter("Last-Event-ID", "Last-Event-ID is not visible ASCII")
        })?),
        None => query.get("last_event_id").map(String::as_str),
    };
    text.filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<u64>().map(Position).map_err(|_| {
                ApiError::bad_parameter(
                    "Last-Event-ID",
                    "Last-Event-ID must be an event id this feed sent",
                )
            })
        })
        .transpose()
}

/// A feed whose caller's consent is checked again every `every` (when consent is on).
struct Guarded {
    feed: Feed,
    recheck: Option<Recheck>,
}

struct Recheck {
    consent: Arc<dyn crate::ConsentCheck>,
    who: Option<fintra_guard::Accessor>,
    tenant: fintra_core::TenantId,
    id: String,
    every: std::time::Duration,
    next: tokio::time::Instant,
}

impl Guarded {
    /// The next item. Cancel-safe: `Feed::next` is, and the consent check changes nothing
    /// until it has answered.
    async fn next(&mut self) -> Option<crate::pulse::FeedItem> {
        let Some(recheck) = self.recheck.as_mut() else { return self.feed.next().await };
        loop {
            tokio::select! {
                item = self.feed.next() => return item,
                () = tokio::time::sleep_until(recheck.next) => {
                    let allowed = recheck
                        .consent
                        .check(recheck.who.as_ref(), &recheck.tenant, &recheck.id, Scope::ReadTransactions)
                        .await;
                    recheck.next = tokio::time::Instant::now() + recheck.every;
                    match allowed {
                        Ok(()) => {}
                        // A store hiccup does not end the stream; a refusal does.
                        Err(e) if e.code == ErrorCode::Unavailable => {}
                        Err(_) => return Some(self.feed.end("consent_revoked")),
                    }
                }
            }
        }
    }
}

fn stream_of(feed: Guarded) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(feed, |mut feed| async move {
        feed.next().await.map(|item| (Ok(sse_event(&item)), feed))
    })
}

/// A profile's Pulse events as they are appended.
#[utoipa::path(
    get, path = "/v1/profile/{id}/events", tag = "pulse",
    params(
        ("id" = String, Path, description = "The profile's id"),
        ("x-tenant-id" = Option<String>, Header, description = "The tenant (or `tenant_id` in the query)"),
        ("tenant_id" = Option<String>, Query, description = "The tenant, for browsers' EventSource, which cannot set headers"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (browsers send it on reconnect)"),
        ("last_event_id" = Option<String>, Query, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "An event stream: `id` = log position, `data` = the Pulse envelope \
          (its `type`: `core.transactions.imported`, `brain.insight.…`); a last event named `close` \
          says why the server ended it", content_type = "text/event-stream", body = String),
        (status = 400, description = "Malformed tenant, id or Last-Event-ID", body = ErrorEnvelope),
        (status = 401, description = "Consent is checked and the request has no accessor", body = ErrorEnvelope),
        (status = 403, description = "Unknown tenant or no consent", body = ErrorEnvelope),
        (status = 404, description = "No such profile for this tenant, or no feed on this server", body = ErrorEnvelope),
        (status = 503, description = "The view store could not be read", body = ErrorEnvelope),
    )
)]
pub(crate) async fn events(
    State(api): State<Arc<ApiState>>,
    id: crate::routes::IdParam,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    who: crate::routes::WhoParam,
) -> Result<axum::response::Response, ApiError> {
    let query = params::query_map(raw.as_deref());
    let accessor = who.as_ref().map(|axum::Extension(a)| a.clone());
    let request = api.begin(id, &headers, Some(&query), who, Scope::ReadTransactions).await?;
    let Some(hub) = api.hub.clone() else {
        return Err(ApiError::new(ErrorCode::NotFound, "this server streams no events"));
    };
    let resume = last_event_id(&headers, &query)?;
    api.owned(&request, "unified360").await?;
    let feed = hub.feed(request.tenant.clone(), &request.id, resume);
    let every = hub.options().consent_recheck;
    let recheck = api.consent.clone().map(|consent| Recheck {
        consent,
        who: accessor,
        tenant: request.tenant,
        id: request.id,
        every,
        next: tokio::time::Instant::now() + every,
    });
    let heartbeat = hub.options().heartbeat;
    let sse = Sse::new(stream_of(Guarded { feed, recheck }))
        .keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat"));
    let mut response = sse.into_response();
    // Proxies (nginx) otherwise buffer the stream.
    response.headers_mut().insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    Ok(response)
}
