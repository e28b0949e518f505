//! The notes read model the guard's tests project: each `Noted` event's text in a PostgreSQL
//! table and a Redis view (the kind of derived copy erasure must reach), or — `refuse` — a
//! projection that refuses every note (its events are parked).

#![allow(dead_code, reason = "each test file uses part of it")]

use async_trait::async_trait;
use fintra_core::RecordedEvent;
use fintra_projections::{PgProjection, ProjectionError, RedisProjection};
use sqlx::PgConnection;

/// The notes read model; with `refuse`, one that refuses every note.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Notes {
    /// Refuse every note instead of applying it.
    pub(crate) refuse: bool,
}

/// The text of a note event.
pub(crate) fn note_text(e: &RecordedEvent) -> Result<String, ProjectionError> {
    let v: serde_json::Value =
        serde_json::from_slice(&e.payload).map_err(ProjectionError::refused)?;
    Ok(v["note"].as_str().unwrap_or_default().to_owned())
}

#[async_trait]
impl PgProjection for Notes {
    fn name(&self) -> &str {
        if self.refuse { "strict_notes" } else { "notes" }
    }
    fn version(&self) -> u32 {
        1
    }
    fn handles(&self, event_type: &str) -> bool {
        event_type == "Noted"
    }
    fn create_table(&self, table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (event_id uuid PRIMARY KEY, stream_id text NOT NULL, note text NOT NULL)"
        )
    }
    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        e: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if self.refuse {
            return Err(ProjectionError::refused("this projection takes version 2 notes only"));
        }
        sqlx::query(&format!("INSERT INTO {table} VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"))
            .bind(e.event_id)
            .bind(e.stream_id.as_str())
            .bind(note_text(e)?)
            .execute(&mut *conn)
            .await
            .map_err(|err| ProjectionError::sink("postgres", err))?;
        Ok(())
    }
    async fn forget(
        &self,
        conn: &mut PgConnection,
        table: &str,
        subject: &str,
    ) -> Result<(), ProjectionError> {
        sqlx::query(&format!("DELETE FROM {table} WHERE stream_id = $1"))
            .bind(subject)
            .execute(&mut *conn)
            .await
            .map_err(|err| ProjectionError::sink("postgres", err))?;
        Ok(())
    }
}

#[async_trait]
impl RedisProjection for Notes {
    fn name(&self) -> &str {
        "notes"
    }
    fn version(&self) -> u32 {
        1
    }
    fn handles(&self, event_type: &str) -> bool {
        event_type == "Noted"
    }
    async fn views(&self, e: &RecordedEvent) -> Result<Vec<(String, String)>, ProjectionError> {
        let doc = serde_json::json!({ "note": note_text(e)? }).to_string();
        Ok(vec![(format!("{}:{}", e.stream_id, e.stream_version), doc)])
    }
}
