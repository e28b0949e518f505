//! # fintra-http — the Views over HTTP and Pulse over server-sent events
//!
//! An axum [`Router`] a host mounts in its own server:
//!
//! | route | answers |
//! |---|---|
//! | `GET /v1/profile/{id}` | the Unified 360 view |
//! | `GET /v1/profile/{id}/networth` | net worth at every month end |
//! | `GET /v1/profile/{id}/spend?from=YYYY-MM&to=YYYY-MM` | spend by category per month |
//! | `GET /v1/profile/{id}/recurring` | recurring income and bills |
//! | `GET /v1/profile/{id}/transactions?from&to&category_l1&merchant&limit&cursor` | the transactions query, paged |
//! | `GET /v1/profile/{id}/events` | the profile's Pulse events (SSE, resumable with `Last-Event-ID`) |
//! | `GET /openapi.json` | the OpenAPI document of all of the above |
//!
//! Views are read from wherever the projections keep them ([`ViewSource`]: Redis, PostgreSQL or
//! the process's memory); the transactions query runs on the twin ([`TwinSource`], kept folded
//! by a [`TwinCache`]). Every
//! request names its tenant (`x-tenant-id`), and a tenant never sees another's profile (it gets
//! the same 404 as for a profile that does not exist). Answers carry an `ETag` (the log position
//! they reflect) and honour `If-None-Match`. Errors are the JSON envelope of [`ApiError`]. With
//! [`ViewsApi::with_consent`], every route checks the caller's consent grant at the moment of
//! the call; the caller is the [`fintra_guard::Accessor`] the host's authentication layer puts
//! in the request's extensions.
//!
//! ```no_run
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use fintra_core::{InMemoryEventStore, Position, Repository};
//! use fintra_http::{PulseHub, PulseOptions, ViewsApi};
//! use fintra_projections::views::TwinViews;
//! use fintra_projections::{ProjectionRunner, RunnerOptions, SharedViews, SharedViewsSink};
//! use fintra_twin::Profile;
//!
//! let store = Arc::new(InMemoryEventStore::new());
//! // The Views, kept current in memory by a projection runner.
//! let views = SharedViews::new();
//! let mut sink = SharedViewsSink::new(TwinViews::new(Repository::new(store.clone())), views.clone());
//! let runner = ProjectionRunner::new(store.clone(), RunnerOptions::default());
//! tokio::spawn(async move { runner.run(&mut sink, None, std::future::pending()).await });
//! // The Pulse feed.
//! let hub = PulseHub::new(store.clone(), PulseOptions::default());
//! let mut feed = hub.sink(Position::START);
//! let runner = ProjectionRunner::new(store.clone(), RunnerOptions::default());
//! tokio::spawn(async move { runner.run(&mut feed, None, std::future::pending()).await });
//!
//! let twins = fintra_http::TwinCache::new(Repository::<Profile, _>::new(store), 1_000);
//! let app = ViewsApi::new(views, twins).with_pulse(hub).router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! See `docs/http.md`.

mod consent;
mod error;
mod events;
pub mod openapi;
mod params;
pub mod pulse;
mod routes;
pub mod schema;
mod source;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;

pub use consent::ConsentCheck;
pub use error::{ApiError, ErrorBody, ErrorCode, ErrorEnvelope};
pub use pulse::{PulseHub, PulseHubSink, PulseOptions};
pub use source::{
    PgViewSource, RedisViewSource, SourceError, StoredView, TwinCache, TwinSource, ViewSource,
};

/// Server settings.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// The tenants this server serves; `None` serves any valid tenant id. Another gets
    /// `403 UNKNOWN_TENANT`.
    pub tenants: Option<BTreeSet<String>>,
    /// Transactions per page when `limit` is absent.
    pub page_limit_default: usize,
    /// Largest `limit` accepted; more is `400`.
    pub page_limit_max: usize,
    /// Most months one spend request may cover.
    pub spend_months_max: u32,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self { tenants: None, page_limit_default: 50, page_limit_max: 500, spend_months_max: 36 }
    }
}

pub(crate) struct ApiState {
    views: Arc<dyn ViewSource>,
    twins: Arc<dyn TwinSource>,
    hub: Option<PulseHub>,
    consent: Option<Arc<dyn ConsentCheck>>,
    options: ApiOptions,
}

/// Builds the [`Router`].
pub struct ViewsApi {
    state: ApiState,
}

impl std::fmt::Debug for ViewsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewsApi")
            .field("options", &self.state.options)
            .field("pulse", &self.state.hub.is_some())
            .field("consent", &self.state.consent.is_some())
            .finish_non_exhaustive()
    }
}

impl ViewsApi {
    /// Routes reading views from `views` and twins (for the transactions query) from `twins`.
    pub fn new(views: impl ViewSource + 'static, twins: impl TwinSource + 'static) -> Self {
        Self {
            state: ApiState {
                views: Arc::new(views),
                twins: Arc::new(twins),
                hub: None,
                consent: None,
                options: ApiOptions::default(),
            },
        }
    }

    /// Serves the Pulse feed from `hub` (without it, `/events` answers 404).
    #[must_use]
    pub fn with_pulse(mut self, hub: PulseHub) -> Self {
        self.state.hub = Some(hub);
        self
    }

    /// Checks consent on every route ([`ConsentCheck`], e.g. a
    /// [`fintra_guard::ConsentRegistry`]): `GET /v1/profile/{id}` and `/networth` need
    /// `READ_BALANCES`; `/spend`, `/recurring`, `/transactions` and `/events` need
    /// `READ_TRANSACTIONS`.
    #[must_use]
    pub fn with_consent(mut self, consent: impl ConsentCheck + 'static) -> Self {
        self.state.consent = Some(Arc::new(consent));
        self
    }

    /// Replaces the settings.
    #[must_use]
    pub fn with_options(mut self, options: ApiOptions) -> Self {
        self.state.options = options;
        self
    }

    /// The routes, with JSON errors for unknown paths and methods.
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/profile/{id}", get(routes::unified_360))
            .route("/v1/profile/{id}/networth", get(routes::net_worth))
            .route("/v1/profile/{id}/spend", get(routes::spend))
            .route("/v1/profile/{id}/recurring", get(routes::recurring))
            .route("/v1/profile/{id}/transactions", get(routes::transactions))
            .route("/v1/profile/{id}/events", get(events::events))
            .route("/openapi.json", get(routes::openapi))
            .fallback(routes::not_found)
            .method_not_allowed_fallback(routes::method_not_allowed)
            .with_state(Arc::new(self.state))
    }
}

#[cfg(doctest)]
#[doc = include_str!("../../docs/http.md")]
struct HttpGuide;
