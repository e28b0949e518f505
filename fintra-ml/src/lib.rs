//! # fintra-ml — the Brain
//!
//! The fast brain's enrichment, part 1: what happened in a transaction.
//!
//! - [`descriptor`]: a raw bank description split into intermediary, counterparty, noise and
//!   the kind of movement, on tokens (never raw substrings);
//! - [`catalogue`]: real merchants shipped as data, with their statement spellings;
//! - [`index`]: sparse n-gram embeddings and the [`index::VectorIndex`] trait, with an
//!   in-process inverted index and an exact brute-force reference;
//! - [`resolve`]: the Merchant Truth Engine — candidates from the index, scored on words;
//! - [`cascade`]: the categorisation cascade with lineage — user rules, bank phrasing,
//!   merchant truth, keywords, the model, MCC;
//! - [`model`]: the shared featuriser, training in Rust, the line generator, ONNX export and
//!   (feature `onnx`) serving with `tract-onnx`;
//! - [`brain`]: the cascade as Connect's `Categoriser`, in the twin's terms;
//! - [`refinery`]: the Enrichment Refinery, appending `TransactionCategorised` from the log;
//! - [`emerging`]: unknown counterparties seen across many profiles, grouped for review;
//! - [`taxonomy`] and [`mcc`]: the two-level taxonomy and the ISO 18245 fallback.
//!
//! Part 2, "am I okay?":
//!
//! - [`forecast`]: a daily balance forecast with P10, P50 and P90, seasonal-naive as the
//!   baseline, and the rolling-origin backtest metrics (MASE, pinball, coverage);
//! - [`anomaly`]: per-transaction anomaly scores with their reasons;
//! - [`insight`]: `brain.risk.*`, `brain.nudge.*` and `brain.insight.*` events — rules that
//!   fire once per transition, `brain.risk.anomaly` from an anomalous score, and `new_event` to
//!   append them to the profile's `brain-` stream, where Pulse delivers them;
//! - [`slow`]: the slow brain in batch — profiles folded from the cold tier's archives, their
//!   forecasts recomputed in parallel and written back as `ForecastUpdated`;
//! - [`population`]: a seeded population of synthetic people with known truth, imported through
//!   Connect, to measure them.
//!
//! Not here yet (see `docs/brain.md`): a shipped model, training from the cold tier, and the
//! Qdrant backend.
//!
//! ```
//! use fintra_ml::{Cascade, Catalogue, Transaction};
//!
//! let cascade = Cascade::new(&Catalogue::builtin()?);
//! let result = cascade.categorise(&Transaction {
//!     description: "CARD PAYMENT TO TESCO STORES 3297 ON 12 MAR",
//!     amount_minor: -2_350,
//!     mcc: None,
//!     country: Some("GB"),
//!     profile: None,
//! });
//! assert_eq!(result.category, "groceries.supermarket");
//! assert_eq!(result.merchant.as_deref(), Some("Tesco"));
//! # Ok::<(), fintra_ml::catalogue::CatalogueError>(())
//! ```

pub mod anomaly;
pub mod brain;
pub mod cascade;
pub mod catalogue;
pub mod descriptor;
pub mod emerging;
pub mod forecast;
pub mod index;
pub mod insight;
pub mod mcc;
pub mod model;
mod num;
pub mod population;
pub mod refinery;
pub mod resolve;
mod rng;
pub mod slow;
pub mod taxonomy;

pub use brain::Brain;
pub use cascade::{Cascade, Categorisation, Layer, Lineage, Transaction};
pub use catalogue::{Catalogue, Merchant};
pub use descriptor::{Descriptor, Kind, parse};
pub use emerging::{Cluster, EmergingMerchants};
pub use refinery::{EnrichmentRefinery, RefineError, RefineReport};
pub use resolve::{Resolution, Resolver};
pub use taxonomy::Taxonomy;

#[cfg(doctest)]
#[doc = include_str!("../../docs/brain.md")]
struct BrainGuide;
