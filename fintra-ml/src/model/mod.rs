//! The Brain's model (the cascade's ML layer) and the slow brain that trains it: the shared
//! featuriser, a softmax-regression model trained in Rust, a generator of labelled lines from
//! the catalogue, and the ONNX export.

pub mod features;
pub mod generator;
pub mod history;
pub mod linear;
pub mod onnx;
#[cfg(feature = "onnx")]
mod serve;

pub use features::{FEATURES_DIM, SparseFeatures, featurise};
pub use generator::{LabelledLine, generate};
pub use linear::{LinearModel, ModelCard, TrainOptions, train};
#[cfg(feature = "onnx")]
pub use serve::OnnxModel;

use std::path::PathBuf;

/// A model the cascade can consult: the trained [`LinearModel`] in process, or an exported one
/// served from its ONNX file ([`OnnxModel`], feature `onnx`).
pub trait Classifier: Send + Sync + std::fmt::Debug {
    /// The version recorded in lineage.
    fn version(&self) -> &str;
    /// Input dimension.
    fn dim(&self) -> usize;
    /// Class labels, in output order.
    fn classes(&self) -> &[String];
    /// Class probabilities of `x`.
    ///
    /// # Errors
    /// The runtime failed (an ONNX model's).
    fn predict(&self, x: &SparseFeatures) -> Result<Vec<f32>, ModelError>;
}

impl Classifier for LinearModel {
    fn version(&self) -> &str {
        &self.card.version
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn classes(&self) -> &[String] {
        &self.classes
    }
    fn predict(&self, x: &SparseFeatures) -> Result<Vec<f32>, ModelError> {
        Ok(LinearModel::predict(self, x))
    }
}

/// Why a model could not be loaded or run: it names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The file could not be read (missing, unreadable).
    #[error("model file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a model fintra exported (corrupt, truncated, another graph).
    #[error("model file {path} is not a fintra categoriser: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The runtime failed on an input.
    #[error("model {version} failed to run: {reason}")]
    Run {
        /// The model's version.
        version: String,
        /// The runtime's message.
        reason: String,
    },
}

use crate::catalogue::Catalogue;
use crate::descriptor::parse;
use crate::taxonomy::Taxonomy;

/// Trains the shipped featuriser's model on `lines` (text, amount, detailed category); labels
/// outside the taxonomy are skipped.
pub fn train_on_lines<'a>(
    lines: impl IntoIterator<Item = (&'a str, i64, &'a str)>,
    options: TrainOptions,
) -> LinearModel {
    let classes: Vec<String> = Taxonomy::builtin().detailed().map(str::to_owned).collect();
    let examples: Vec<(SparseFeatures, usize)> = lines
        .into_iter()
        .filter_map(|(text, amount, category)| {
            let y = classes.iter().position(|c| c == category)?;
            Some((featurise(&parse(text), amount, FEATURES_DIM), y))
        })
        .collect();
    train(&examples, classes, FEATURES_DIM, options)
}

/// Trains on `n` lines generated from `catalogue` with `seed`.
pub fn train_generated(
    catalogue: &Catalogue,
    n: usize,
    seed: u64,
    options: TrainOptions,
) -> LinearModel {
    let lines = generate(catalogue, n, seed);
    train_on_lines(
        lines.iter().map(|l| (l.text.as_str(), l.amount_minor, l.category.as_str())),
        options,
    )
}
