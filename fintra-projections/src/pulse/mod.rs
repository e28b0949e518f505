//! Pulse: smart-event rules and their delivery to webhooks.
//!
//! - [`RuleEngine`] evaluates RuleSet-form rules (trigger pattern, JsonLogic-style condition,
//!   `emit_event:<name>`) and fires a rule once per false→true transition per subject;
//!   [`emitted_event`] turns a firing into an event to append to the log; [`PulseSink`] runs the
//!   rules over the twins as a projection, appending firings with its state in one transaction.
//! - [`WebhookDelivery`] sends the spec's client envelope with an HMAC-SHA256 signature and an
//!   idempotency key, retries with exponential backoff and jitter, and records a dead letter after
//!   the last attempt. [`Subscription`]s select event types with wildcards (`brain.*`).
//! - [`PulseDelivery`] sends the events of `pulse-…` and `brain-…` streams ([`DELIVERED`]) to
//!   the subscriptions that want them, as a projection.

mod rules;
mod sink;
mod webhook;

pub use rules::{Fired, Rule, RuleEngine, RuleError, matches};
pub use sink::{DELIVERED, PulseDelivery, PulseSink, SignalSealer, TRANSACTION_CREATED};
pub use webhook::{
    Envelope, EnvelopeUser, HttpTransport, Outcome, RetryPolicy, Subscription, Transport,
    TransportError, WebhookDelivery, signature,
};

use fintra_core::{ContentType, EventMetadata, NewEvent};

/// The event to append when `fired` (type = the rule's event name, JSON payload naming the rule
/// and subject). `event_id` and `occurred_at` come from the caller's id generator and clock.
pub fn emitted_event(
    fired: &Fired,
    event_id: uuid::Uuid,
    occurred_at: chrono::DateTime<chrono::Utc>,
    metadata: EventMetadata,
) -> NewEvent {
    let payload = serde_json::json!({ "rule_id": fired.rule_id, "subject": fired.subject });
    NewEvent {
        event_id,
        event_type: fired.event_name.clone(),
        schema_version: 1,
        occurred_at,
        metadata,
        content_type: ContentType::json(),
        payload: serde_json::to_vec(&payload).unwrap_or_default().into(),
    }
}
