//! A multinomial linear model (softmax regression) over [`SparseFeatures`], trained by
//! stochastic gradient descent. The weights are laid out as ONNX `Gemm` wants them: `[dim ×
//! classes]`, so `probabilities = softmax(x · W + b)`.

use serde::{Deserialize, Serialize};

use super::features::SparseFeatures;

/// What a model was trained on and how it did: written beside the ONNX file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// `linear-<data hash prefix>`: recorded in every categorisation's lineage.
    pub version: String,
    /// FNV-1a of the training examples (features and labels), hex.
    pub data_hash: String,
    /// Training examples.
    pub examples: usize,
    /// Passes over the examples.
    pub epochs: u32,
    /// Accuracy on the examples held out from training (1 in 10), when there were any.
    pub holdout_accuracy: Option<f64>,
}

/// A trained model.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    /// Input dimension.
    pub dim: usize,
    /// Class labels (detailed category ids), in output order.
    pub classes: Vec<String>,
    /// `dim × classes` weights, row-major by input feature.
    pub weights: Vec<f32>,
    /// One bias per class.
    pub bias: Vec<f32>,
    /// Its card.
    pub card: ModelCard,
}

/// How to train.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainOptions {
    /// Passes over the data.
    pub epochs: u32,
    /// Initial step size (halved each epoch).
    pub learning_rate: f32,
    /// Seed of the shuffle.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self { epochs: 4, learning_rate: 0.8, seed: 7 }
    }
}

/// In-place softmax.
pub fn softmax(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in logits.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 {
        logits.iter_mut().for_each(|v| *v /= sum);
    }
}

/// The index and value of the largest probability (`None` for none).
pub fn argmax(p: &[f32]) -> Option<(usize, f32)> {
    p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, p)| (i, *p))
}

impl LinearModel {
    /// Class probabilities of `x`.
    pub fn predict(&self, x: &SparseFeatures) -> Vec<f32> {
        let c = self.classes.len();
        let mut out = self.bias.clone();
        for (i, v) in x.indices.iter().zip(&x.values) {
            let Some(row) =
                usize::try_from(*i).ok().and_then(|i| self.weights.get(i * c..(i + 1) * c))
            else {
                continue;
            };
            for (o, w) in out.iter_mut().zip(row) {
                *o += v * w;
            }
        }
        softmax(&mut out);
        out
    }

    /// The most probable class and its probability (`None` without classes).
    pub fn top(&self, x: &SparseFeatures) -> Option<(&str, f32)> {
        let (best, prob) = argmax(&self.predict(x))?;
        Some((self.classes.get(best)?.as_str(), prob))
    }
}

fn fnv(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= u64::from(*b);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

/// A seeded permutation of `0..n` (xorshift, Fisher–Yates).
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed.max(1);
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = usize::try_from(state % u64::try_from(i + 1).unwrap_or(1)).unwrap_or(0);
        order.swap(i, j);
    }
    order
}

/// Trains a model over `examples` (features, class index into `classes`) of dimension `dim`.
/// One example in ten is held out to measure accuracy for the card. Examples whose class index
/// is out of range are skipped.
pub fn train(
    examples: &[(SparseFeatures, usize)],
    classes: Vec<String>,
    dim: usize,
    options: TrainOptions,
) -> LinearModel {
    let c = classes.len();
    let mut weights = vec![0.0f32; dim * c];
    let mut bias = vec![0.0f32; c];
    let mut data_hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (x, y) in examples {
        for (i, v) in x.indices.iter().zip(&x.values) {
            fnv(&mut data_hash, &i.to_le_bytes());
            fnv(&mut data_hash, &v.to_le_bytes());
        }
        fnv(&mut data_hash, classes.get(*y).map_or(&[][..], |s| s.as_bytes()));
    }
    let order = shuffled(examples.len(), options.seed);
    let (held, trained): (Vec<usize>, Vec<usize>) = order.into_iter().partition(|i| i % 10 == 9);
    let mut rate = options.learning_rate;
    let mut p = vec![0.0f32; c];
    for epoch in 0..options.epochs {
        for &k in shuffled(trained.len(), options.seed.wrapping_add(u64::from(epoch) + 1)).iter() {
            let Some((x, y)) = trained.get(k).and_then(|&i| examples.get(i)) else { continue };
            if *y >= c {
                continue;
            }
            p.copy_from_slice(&bias);
            for (i, v) in x.indices.iter().zip(&x.values) {
                let Some(row) =
                    usize::try_from(*i).ok().and_then(|i| weights.get(i * c..(i + 1) * c))
                else {
                    continue;
                };
                for (o, w) in p.iter_mut().zip(row) {
                    *o += v * w;
                }
            }
            softmax(&mut p);
            p[*y] -= 1.0; // the gradient of the cross-entropy
            for (b, g) in bias.iter_mut().zip(&p) {
                *b -= rate * g;
            }
            for (i, v) in x.indices.iter().zip(&x.values) {
                let Some(row) =
                    usize::try_from(*i).ok().and_then(|i| weights.get_mut(i * c..(i + 1) * c))
                else {
                    continue;
                };
                for (w, g) in row.iter_mut().zip(&p) {
                    *w -= rate * g * v;
                }
            }
        }
        rate *= 0.5;
    }
    let mut model = LinearModel {
        dim,
        classes,
        weights,
        bias,
        card: ModelCard {
            version: format!("linear-{:08x}", data_hash >> 32),
            data_hash: format!("{data_hash:016x}"),
            examples: examples.len(),
            epochs: options.epochs,
            holdout_accuracy: None,
        },
    };
    let held: Vec<&(SparseFeatures, usize)> =
        held.iter().filter_map(|&i| examples.get(i)).collect();
    if !held.is_empty() {
        let right = held
            .iter()
            .filter(|(x, y)| {
                model.top(x).map(|(label, _)| label) == model.classes.get(*y).map(String::as_str)
            })
            .count();
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let accuracy = right as f64 / held.len() as f64;
        model.card.holdout_accuracy = Some(accuracy);
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(indices: &[u32]) -> SparseFeatures {
        let v = 1.0 / f32::from(u16::try_from(indices.len()).unwrap()).sqrt();
        SparseFeatures { indices: indices.to_vec(), values: vec![v; indices.len()] }
    }

    #[test]
    fn a_separable_problem_is_learned_and_probabilities_sum_to_one() {
        let examples: Vec<(SparseFeatures, usize)> =
            (0..200).map(|n| if n % 2 == 0 { (x(&[1, 5]), 0) } else { (x(&[2, 7]), 1) }).collect();
        let model = train(&examples, vec!["a.x".into(), "b.y".into()], 8, TrainOptions::default());
        assert_eq!(model.top(&x(&[1, 5])).map(|t| t.0), Some("a.x"));
        assert_eq!(model.top(&x(&[2, 7])).map(|t| t.0), Some("b.y"));
        let p = model.predict(&x(&[1]));
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(model.card.holdout_accuracy, Some(1.0));
        // Out-of-range features are ignored, not a panic.
        assert_eq!(model.predict(&x(&[99])).len(), 2);
    }
}
