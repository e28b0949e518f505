//! Serving an exported model from its ONNX file with `tract-onnx` (feature `onnx`).

use std::path::{Path, PathBuf};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::DimLike;
use tract_onnx::tract_hir::infer::Factoid;

use super::features::SparseFeatures;
use super::linear::ModelCard;
use super::onnx::read_metadata;
use super::{Classifier, ModelError};

type Plan = Arc<TypedRunnableModel>;

/// The widest input accepted: each prediction allocates one dense row of it.
const DIM_MAX: usize = 1 << 22;

/// An exported model loaded from its ONNX file and optimised for one row at a time.
pub struct OnnxModel {
    plan: Plan,
    classes: Vec<String>,
    card: ModelCard,
    dim: usize,
    path: PathBuf,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("path", &self.path)
            .field("version", &self.card.version)
            .field("dim", &self.dim)
            .field("classes", &self.classes.len())
            .finish_non_exhaustive()
    }
}

impl OnnxModel {
    /// Loads the file at `path` (written by [`super::onnx::to_onnx`]).
    ///
    /// # Errors
    /// [`ModelError::Io`] for a missing or unreadable file, [`ModelError::Invalid`] for one that
    /// is not a fintra categoriser (corrupt, truncated, another graph); both name the file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let invalid = |reason: String| ModelError::Invalid { path: path.to_owned(), reason };
        let bytes = std::fs::read(path)
            .map_err(|source| ModelError::Io { path: path.to_owned(), source })?;
        let (classes, card) = read_metadata(&bytes).map_err(invalid)?;
        let model = tract_onnx::onnx()
            .model_for_read(&mut bytes.as_slice())
            .map_err(|e| invalid(format!("{e:#}")))?;
        let dim = model
            .input_fact(0)
            .ok()
            .and_then(|fact| fact.shape.dims().nth(1).and_then(|d| d.concretize()))
            .and_then(|d| d.to_usize().ok())
            .ok_or_else(|| invalid("the input has no fixed width".to_owned()))?;
        if dim == 0 || dim > DIM_MAX {
            return Err(invalid(format!("an input width of {dim} (at most {DIM_MAX})")));
        }
        let typed = model
            .with_input_fact(0, f32::fact([1, dim]).into())
            .and_then(|m| m.into_optimized())
            .map_err(|e| invalid(format!("{e:#}")))?;
        let plan = typed.into_runnable().map_err(|e| invalid(format!("{e:#}")))?;
        let loaded = Self { plan, classes, card, dim, path: path.to_owned() };
        // One run on an empty row: the output must have one probability per class label.
        let outputs =
            loaded.predict(&SparseFeatures::default()).map_err(|e| invalid(e.to_string()))?.len();
        if outputs != loaded.classes.len() {
            return Err(invalid(format!(
                "{outputs} outputs for {} class labels",
                loaded.classes.len()
            )));
        }
        Ok(loaded)
    }

    /// The model card stored in the file.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }
}

impl Classifier for OnnxModel {
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
        let failed = |e: TractError| ModelError::Run {
            version: self.card.version.clone(),
            reason: format!("{e:#}"),
        };
        let input = tract_ndarray::Array2::from_shape_vec((1, self.dim), x.to_dense(self.dim))
            .map_err(|e| failed(e.into()))?;
        let outputs = self.plan.run(tvec!(Tensor::from(input).into())).map_err(failed)?;
        let no_output =
            || ModelError::Run { version: self.card.version.clone(), reason: "no output".into() };
        let probabilities =
            outputs.first().ok_or_else(no_output)?.to_plain_array_view::<f32>().map_err(failed)?;
        Ok(probabilities.iter().copied().collect())
    }
}
