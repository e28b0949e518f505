//! The idempotency rule of the [`EventStore`](crate::EventStore) contract, as one function every
//! store calls, so all of them tell a retry from a reused id the same way.

use crate::{AppendResult, Error, EventId, NewEvent, RecordedEvent, Result, StreamId};

/// Decides whether `events` (about to be appended to `stream`) repeat an earlier append.
///
/// `recorded` finds an already-recorded event by id. Returns:
/// - `Ok(None)`: no id of the batch is recorded — append normally;
/// - `Ok(Some(result))`: every event is recorded in `stream` at consecutive versions, in the same
///   order, with the same content — a retry, answered with the original positions and versions;
/// - `Err(DuplicateEventId)`: any other overlap.
///
/// # Errors
/// [`Error::DuplicateEventId`] naming the first offending id.
pub fn replayed_append<'a>(
    stream: &StreamId,
    events: &[NewEvent],
    recorded: impl Fn(&EventId) -> Option<&'a RecordedEvent>,
) -> Result<Option<AppendResult>> {
    // The common case — no id recorded before — costs one lookup per event and no allocation.
    let Some(first_found) = events.iter().position(|e| recorded(&e.event_id).is_some()) else {
        return Ok(None);
    };
    let found: Vec<Option<&RecordedEvent>> = events.iter().map(|e| recorded(&e.event_id)).collect();
    let duplicate = |index: usize| Error::DuplicateEventId { event_id: events[index].event_id };
    let mut previous: Option<&RecordedEvent> = None;
    for (index, (new, old)) in events.iter().zip(&found).enumerate() {
        let Some(old) = old else { return Err(duplicate(first_found)) };
        let consecutive =
            previous.is_none_or(|p| p.stream_version.next().ok() == Some(old.stream_version));
        if old.stream_id != *stream || !consecutive || !old.same_content_as(new) {
            return Err(duplicate(index));
        }
        previous = Some(old);
    }
    let first = found[0].ok_or_else(|| duplicate(0))?;
    let last = previous.ok_or_else(|| duplicate(0))?;
    Ok(Some(AppendResult {
        first_version: first.stream_version,
        last_version: last.stream_version,
        first_position: first.position,
        last_position: last.position,
        replayed: true,
    }))
}
