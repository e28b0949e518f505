//! Provider abstraction with health-based routing (spec §4.20): each institution is served by
//! the provider with the best recent latency and error rate; a failure falls over to the next.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::fos::{UnifiedAccount, UnifiedTransaction};

/// A provider call that failed: which provider, and its own error as the source.
#[derive(Debug, thiserror::Error)]
#[error("provider {provider} failed")]
pub struct ProviderError {
    /// The provider.
    pub provider: String,
    /// What went wrong (the provider's own error: HTTP, decoding, a normaliser's).
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl ProviderError {
    /// `provider` failed with `source` (an error of its own, or a text).
    pub fn new(
        provider: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self { provider: provider.into(), source: source.into() }
    }
}

/// One aggregator (Plaid, Yapily, …) behind a strict interface: it returns FOS data.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name (`PLAID_UK`).
    fn name(&self) -> &str;

    /// The accounts at `institution_id`.
    async fn accounts(&self, institution_id: &str) -> Result<Vec<UnifiedAccount>, ProviderError>;

    /// Transactions at `institution_id` booked between `from` and `to` inclusive.
    async fn transactions(
        &self,
        institution_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UnifiedTransaction>, ProviderError>;
}

/// Recent health of one provider for one institution: exponentially weighted averages.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HealthStats {
    /// Latency, milliseconds.
    pub latency_ms: f64,
    /// Share of failed calls, 0–1.
    pub error_rate: f64,
    /// Calls observed.
    pub samples: u64,
}

/// Weight of the newest observation.
const ALPHA: f64 = 0.3;

impl HealthStats {
    fn observe(&mut self, latency: Duration, ok: bool) {
        let ms = latency.as_secs_f64() * 1000.0;
        let failed = if ok { 0.0 } else { 1.0 };
        if self.samples == 0 {
            (self.latency_ms, self.error_rate) = (ms, failed);
        } else {
            self.latency_ms += ALPHA * (ms - self.latency_ms);
            self.error_rate += ALPHA * (failed - self.error_rate);
        }
        self.samples = self.samples.saturating_add(1);
    }

    /// Lower is better: expected latency inflated by errors, `latency × (1 + 10 × error rate)`.
    /// A provider with no observations scores 0, so it is tried (and measured) first.
    pub fn score(&self) -> f64 {
        if self.samples == 0 { 0.0 } else { self.latency_ms * (1.0 + 10.0 * self.error_rate) }
    }
}

/// Routes calls to the healthiest provider per institution, with failover.
pub struct ProviderRouter {
    providers: Vec<Arc<dyn Provider>>,
    health: Mutex<HashMap<(String, String), HealthStats>>,
}

impl std::fmt::Debug for ProviderRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.providers.iter().map(|p| p.name()).collect();
        f.debug_struct("ProviderRouter").field("providers", &names).finish_non_exhaustive()
    }
}

impl ProviderRouter {
    /// A router over `providers` (in tie-break order).
    pub fn new(providers: Vec<Arc<dyn Provider>>) -> Self {
        Self { providers, health: Mutex::new(HashMap::new()) }
    }

    /// Records one call's outcome (the router does this itself; callers may feed outside
    /// telemetry too).
    pub fn record(&self, institution_id: &str, provider: &str, latency: Duration, ok: bool) {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        health
            .entry((institution_id.to_owned(), provider.to_owned()))
            .or_default()
            .observe(latency, ok);
    }

    /// The health of `provider` at `institution_id`.
    pub fn health(&self, institution_id: &str, provider: &str) -> HealthStats {
        let health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        health.get(&(institution_id.to_owned(), provider.to_owned())).copied().unwrap_or_default()
    }

    /// Provider names for `institution_id`, best first.
    pub fn ranked(&self, institution_id: &str) -> Vec<String> {
        let mut ranked: Vec<(f64, usize, String)> = self
            .providers
            .iter()
            .enumerate()
            .map(|(i, p)| (self.health(institution_id, p.name()).score(), i, p.name().to_owned()))
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        ranked.into_iter().map(|(_, _, name)| name).collect()
    }

    /// Fetches transactions from the best provider, falling over to the next on failure.
    /// Returns the provider that answered.
    ///
    /// # Errors
    /// Every provider's error, when all failed.
    pub async fn transactions(
        &self,
        institution_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(String, Vec<UnifiedTransaction>), Vec<ProviderError>> {
        let mut errors = Vec::new();
        for name in self.ranked(institution_id) {
            let Some(provider) = self.providers.iter().find(|p| p.name() == name) else { continue };
            let started = Instant::now();
            let result = provider.transactions(institution_id, from, to).await;
            self.record(institution_id, &name, started.elapsed(), result.is_ok());
            match result {
                Ok(transactions) => return Ok((name, transactions)),
                Err(error) => errors.push(error),
            }
        }
        Err(errors)
    }
}
