//! Webhook delivery of Pulse events: the spec's client envelope, an HMAC-SHA256 signature, an
//! idempotency key per delivery, retries with exponential backoff and jitter, and a dead letter
//! after the last attempt.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::rules::matches;

/// The client-facing envelope (spec §3.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The event's id.
    pub event_id: uuid::Uuid,
    /// Dotted type, e.g. `brain.insight.low_balance_predicted`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Date-versioned API (`2023-11-01`).
    pub api_version: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Type-specific payload.
    pub data: Value,
    /// Whose it is.
    pub user: EnvelopeUser,
}

/// `user` of the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeUser {
    /// fintra's profile id.
    pub profile_id: String,
    /// The client's own id for the user.
    pub external_id: Option<String>,
}

/// A webhook endpoint and the event types it wants (`brain.*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Its id.
    pub subscription_id: String,
    /// `http://host:port/path`.
    pub url: String,
    /// Event type patterns with `*` wildcards.
    pub patterns: Vec<String>,
    /// The shared secret signatures use.
    pub secret: String,
}

impl Subscription {
    /// Whether it wants `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.patterns.iter().any(|p| matches(p, event_type))
    }
}

/// The signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
/// Receivers recompute it and reject stale timestamps.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never takes the error branch.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Why a [`Transport`] could not deliver a request (an HTTP status, even 5xx, is a delivery).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The URL cannot be served by this transport (another scheme, no host).
    #[error("unsupported URL {url}: {reason}")]
    UnsupportedUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// A header name or value holds a line break (it would split the request).
    #[error("header {name:?} holds a line break")]
    InvalidHeader {
        /// The header's name.
        name: String,
    },
    /// Connecting, sending or receiving failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The receiver answered something that is not an HTTP status line.
    #[error("malformed response: {0}")]
    MalformedResponse(&'static str),
    /// No response within the transport's timeout.
    #[error("no response within {0:?}")]
    TimedOut(Duration),
    /// Another transport's own failure.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Sends one HTTP request; a different transport (TLS, a proxy) implements this.
#[async_trait]
pub trait Transport: Send + Sync {
    /// POSTs `body` with `headers` to `url`; returns the status code.
    ///
    /// # Errors
    /// [`TransportError`] when no response came back.
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<u16, TransportError>;
}

/// Plain HTTP/1.1 over TCP (`http://` URLs only) with a timeout — enough for loopback and
/// in-cluster receivers; an `https://` endpoint needs a TLS transport.
#[derive(Clone, Copy, Debug)]
pub struct HttpTransport {
    /// Connect-plus-response timeout.
    pub timeout: Duration,
}

#[async_trait]
impl Transport for HttpTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<u16, TransportError> {
        let rest = url.strip_prefix("http://").ok_or_else(|| TransportError::UnsupportedUrl {
            url: url.to_owned(),
            reason: "HttpTransport speaks http:// only",
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(authority).await?;
            let mut request = format!(
                "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                if name.contains(['\r', '\n']) || value.contains(['\r', '\n']) {
                    return Err(TransportError::InvalidHeader { name: name.clone() });
                }
                request.push_str(&format!("{name}: {value}\r\n"));
            }
            request.push_str("\r\n");
            stream.write_all(request.as_bytes()).await?;
            stream.write_all(body).await?;
            let mut head = Vec::new();
            let mut buf = [0u8; 512];
            while !head.windows(2).any(|w| w == b"\r\n") {
                let n = stream.read(&mut buf).await?;
                if n == 0 || head.len() > 8192 {
                    return Err(TransportError::MalformedResponse("no status line"));
                }
                head.extend_from_slice(&buf[..n]);
            }
            let line = String::from_utf8_lossy(&head);
            line.split_whitespace()
                .nth(1)
                .and_then(|code| code.parse().ok())
                .ok_or(TransportError::MalformedResponse("no status code in the status line"))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| TransportError::TimedOut(self.timeout))?
    }
}

/// Retry schedule: attempt `n` (from 1) waits `min(max_delay, base_delay · 2^(n−1))`, scaled by a
/// random factor in [0.5, 1) (jitter), before the next try.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all (≥ 1).
    pub max_attempts: u32,
    /// First delay.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based), with `unit` ∈ [0, 1) as the jitter draw.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exponential = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        exponential.min(self.max_delay).mul_f64(0.5 + unit.clamp(0.0, 1.0) / 2.0)
    }
}

/// What happened to one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx arrived.
    Delivered {
        /// Attempts it took.
        attempts: u32,
    },
    /// Every attempt failed; a dead letter was recorded.
    DeadLettered {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
}

/// Delivers envelopes to subscriptions.
pub struct WebhookDelivery<T> {
    transport: T,
    policy: RetryPolicy,
    dead_letters: Option<PgPool>,
    seed: std::sync::atomic::AtomicU64,
}

impl<T> std::fmt::Debug for WebhookDelivery<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookDelivery").field("policy", &self.policy).finish_non_exhaustive()
    }
}

const DEAD_LETTERS: &str = "CREATE TABLE IF NOT EXISTS fintra_pulse_dead_letters (
    idempotency_key text PRIMARY KEY, subscription_id text NOT NULL, url text NOT NULL,
    event_type text NOT NULL, body jsonb NOT NULL, attempts integer NOT NULL, last_error text NOT NULL,
    dead_at timestamptz NOT NULL DEFAULT now())";

impl<T: Transport> WebhookDelivery<T> {
    /// Delivery over `transport` with `policy`; dead letters go to `dead_letters`
    /// (`fintra_pulse_dead_letters`, created if missing) when given.
    ///
    /// # Errors
    /// PostgreSQL errors creating the table.
    pub async fn new(
        transport: T,
        policy: RetryPolicy,
        dead_letters: Option<PgPool>,
    ) -> Result<Self, sqlx::Error> {
        if let Some(pool) = &dead_letters {
            sqlx::query(DEAD_LETTERS).execute(pool).await?;
        }
        let seed =
            std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), 0x0070_756c_7365_u64)
                | 1;
        Ok(Self { transport, policy, dead_letters, seed: std::sync::atomic::AtomicU64::new(seed) })
    }

    fn jitter(&self) -> f64 {
        // xorshift over a shared seed: cheap, good enough to spread retries.
        let mut x = self.seed.load(std::sync::atomic::Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.store(x, std::sync::atomic::Ordering::Relaxed);
        f64::from(u32::try_from(x >> 40).unwrap_or(0)) / f64::from(1u32 << 24)
    }

    /// The idempotency key of delivering `envelope` to `subscription`: the same on every retry.
    pub fn idempotency_key(subscription: &Subscription, envelope: &Envelope) -> String {
        format!("{}:{}", subscription.subscription_id, envelope.event_id)
    }

    /// Delivers `envelope` to `subscription`, retrying per the policy; records a dead letter
    /// after the last attempt.
    ///
    /// # Errors
    /// Only a failure to record the dead letter (the delivery itself never errors).
    pub async fn deliver(
        &self,
        subscription: &Subscription,
        envelope: &Envelope,
    ) -> Result<Outcome, sqlx::Error> {
        let body = serde_json::to_vec(envelope).unwrap_or_default();
        let key = Self::idempotency_key(subscription, envelope);
        let attempts = self.policy.max_attempts.max(1);
        let mut last_error = String::new();
        for attempt in 1..=attempts {
            let timestamp = Utc::now_timestamp();
            let headers = vec![
                ("Fintra-Signature".to_owned(), signature(&subscription.secret, timestamp, &body)),
                ("Idempotency-Key".to_owned(), key.clone()),
                ("Fintra-Event-Type".to_owned(), envelope.event_type.clone()),
                ("Fintra-Attempt".to_owned(), attempt.to_string()),
            ];
            match self.transport.post(&subscription.url, &headers, &body).await {
                Ok(status) if (200..300).contains(&status) => {
                    return Ok(Outcome::Delivered { attempts: attempt });
                }
                Ok(status) => last_error = format!("HTTP {status}"),
                Err(error) => last_error = error.to_string(),
            }
            if attempt < attempts {
                tokio::time::sleep(self.policy.delay(attempt, self.jitter())).await;
            }
        }
        if let Some(pool) = &self.dead_letters {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            sqlx::query(
                "INSERT INTO fintra_pulse_dead_letters (idempotency_key, subscription_id, url, event_type, body, attempts, last_error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO UPDATE
                 SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, dead_at = now()",
            )
            .bind(&key)
            .bind(&subscription.subscription_id)
            .bind(&subscription.url)
            .bind(&envelope.event_type)
            .bind(body)
            .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
            .bind(&last_error)
            .execute(pool)
            .await?;
        }
        Ok(Outcome::DeadLettered { attempts, last_error })
    }
}

/// The wall clock, read at the edge (signature timestamps), never in domain code.
trait NowTimestamp {
    fn now_timestamp() -> i64;
}

impl NowTimestamp for Utc {
    #[allow(
        clippy::disallowed_methods,
        reason = "signature timestamps are wall-clock by definition"
    )]
    fn now_timestamp() -> i64 {
        Utc::now().timestamp()
    }
}
