//! The OpenAPI 3.1 document, generated from the handlers' annotations and the [`crate::schema`]
//! types (so it cannot drift from the code without a compile error or a failing test).

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fintra Views and Pulse",
        description = "Pre-computed views of a Financial Twin and its live event feed. Every \
            request names its tenant in `x-tenant-id`; errors are `{\"error\": {\"code\", \
            \"message\", \"details\"}}`.",
    ),
    paths(
        crate::routes::unified_360,
        crate::routes::net_worth,
        crate::routes::spend,
        crate::routes::recurring,
        crate::routes::transactions,
        crate::events::events,
    ),
    components(schemas(
        crate::error::ErrorEnvelope,
        crate::error::ErrorBody,
        crate::error::ErrorCode,
        crate::schema::Unified360,
        crate::schema::NetWorthTimeline,
        crate::schema::SpendAnalysis,
        crate::schema::Recurring,
        crate::schema::TransactionPage,
    )),
    tags(
        (name = "views", description = "The Views: JSON documents the projections keep current"),
        (name = "pulse", description = "The Pulse feed over server-sent events"),
    )
)]
struct ApiDoc;

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(%e, "the OpenAPI document did not serialize");
        String::from("{}")
    })
}
