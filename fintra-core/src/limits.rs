//! Every bound fintra-core enforces, in one place.
//!
//! Stores check these before touching their backend, so an oversized request fails the same way
//! everywhere: with [`Error::LimitExceeded`](crate::Error::LimitExceeded) naming the constant.
//! Names carry their unit last (`_BYTES_MAX`, `_EVENTS_MAX`). The `const` assertions at the bottom
//! keep the limits consistent with each other.

/// Most bytes in a stream id (UTF-8).
pub const STREAM_ID_BYTES_MAX: usize = 256;

/// Most bytes in an event type name (UTF-8).
pub const EVENT_TYPE_BYTES_MAX: usize = 128;

/// Most bytes in a content type (for example `application/json`).
pub const CONTENT_TYPE_BYTES_MAX: usize = 128;

/// Most bytes in a tenant id.
pub const TENANT_ID_BYTES_MAX: usize = 64;

/// Most bytes in a user id carried by [`Actor::User`](crate::Actor::User).
pub const ACTOR_BYTES_MAX: usize = 128;

/// Most headers on one event.
pub const HEADERS_MAX: usize = 32;

/// Most bytes in one header name.
pub const HEADER_NAME_BYTES_MAX: usize = 64;

/// Most bytes in one header value.
pub const HEADER_VALUE_BYTES_MAX: usize = 1024;

/// Most bytes in one event payload.
pub const PAYLOAD_BYTES_MAX: usize = 1024 * 1024;

/// Most events in one atomic append.
pub const APPEND_EVENTS_MAX: usize = 1000;

/// Most payload bytes in one atomic append, summed over its events.
pub const APPEND_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Most events returned by one read call (stream or global log).
pub const READ_PAGE_EVENTS_MAX: usize = 10_000;

/// Payload bytes after which a read page ends (stream or global log): a page ends with the
/// event that brings its payload bytes to this many or more, so one page holds at most
/// `READ_PAGE_BYTES_MAX + PAYLOAD_BYTES_MAX - 1` payload bytes however large its events are.
/// A page cut by this bound holds at least this many bytes, which is how a reader tells it from
/// the end of a stream ([`crate::is_last_stream_page`]).
pub const READ_PAGE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Most attempts the repository makes to execute one command when appends conflict.
pub const COMMAND_ATTEMPTS_MAX: u32 = 64;

/// Most aggregates a repository's cache may hold.
pub const AGGREGATE_CACHE_ENTRIES_MAX: usize = 10_000_000;

/// Most bytes in one serialized snapshot.
pub const SNAPSHOT_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Most events a fork (a what-if branch held in memory) may contain.
pub const FORK_EVENTS_MAX: usize = 1_000_000;

/// Most events folded while loading one aggregate; a longer stream needs snapshots.
pub const LOAD_EVENTS_MAX: u64 = 100_000_000;

/// Largest scale (digits after the decimal point) of a custom asset.
pub const ASSET_SCALE_MAX: u8 = 18;

/// Most bytes in an asset code (ISO 4217 codes have 3; custom assets up to this).
pub const ASSET_CODE_BYTES_MAX: usize = 12;

const _: () = assert!(APPEND_BYTES_MAX >= PAYLOAD_BYTES_MAX, "one max-size event must fit a batch");
const _: () = assert!(READ_PAGE_EVENTS_MAX >= APPEND_EVENTS_MAX, "a page must hold a whole batch");
const _: () = assert!(READ_PAGE_BYTES_MAX >= PAYLOAD_BYTES_MAX, "a page holds a max-size event");
const _: () = assert!(COMMAND_ATTEMPTS_MAX >= 1);
const _: () = assert!(FORK_EVENTS_MAX >= READ_PAGE_EVENTS_MAX);
const _: () = assert!(ASSET_SCALE_MAX <= 28, "rust_decimal holds at most 28 fractional digits");
