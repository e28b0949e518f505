//! The featuriser the fast brain serves with and the slow brain trains with: hashed word and
//! character n-gram features of a descriptor's counterparty, plus the movement's kind,
//! intermediary, direction and amount bucket, L2-normalised.

use crate::descriptor::{Descriptor, Kind};

/// Feature space of the shipped featuriser: 2^14 hashed buckets.
pub const FEATURES_DIM: usize = 1 << 14;

/// A sparse feature vector: sorted, distinct indices below the dimension, with their values;
/// unit length unless empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseFeatures {
    /// Bucket indices, ascending.
    pub indices: Vec<u32>,
    /// Their values.
    pub values: Vec<f32>,
}

impl SparseFeatures {
    /// The dense vector of `dim` values (what an ONNX model takes as input).
    pub fn to_dense(&self, dim: usize) -> Vec<f32> {
        let mut out = vec![0.0; dim];
        for (i, v) in self.indices.iter().zip(&self.values) {
            if let Some(slot) = usize::try_from(*i).ok().and_then(|i| out.get_mut(i)) {
                *slot = *v;
            }
        }
        out
    }
}

/// FNV-1a, 64 bits: stable across platforms and releases (a model depends on it).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::CardPurchase => "card",
        Kind::DirectDebit => "dd",
        Kind::StandingOrder => "so",
        Kind::Transfer => "transfer",
        Kind::Cash => "cash",
        Kind::Fee => "fee",
        Kind::Interest => "interest",
        Kind::Refund => "refund",
        Kind::Salary => "salary",
        Kind::Unknown => "unknown",
    }
}

/// The amount's order of magnitude in major units: 0 for under 1, then one bucket per doubling,
/// capped at 16.
fn amount_bucket(amount_minor: i64) -> u8 {
    let major = amount_minor.unsigned_abs() / 100;
    u8::try_from((u64::BITS - major.leading_zeros()).min(16)).unwrap_or(16)
}

/// The features of a parsed description and its signed amount, in a space of `dim` buckets
/// (`dim` ≥ 1; [`FEATURES_DIM`] for the shipped models).
pub fn featurise(d: &Descriptor, amount_minor: i64, dim: usize) -> SparseFeatures {
    let dim = u64::try_from(dim.max(1)).unwrap_or(u64::MAX);
    let mut raw: Vec<(u32, f32)> = Vec::new();
    let mut add = |parts: &[&[u8]], weight: f32| {
        // `dim` fits in u32 for any realistic model; the modulo keeps the index below it.
        let index = u32::try_from(fnv1a(parts) % dim).unwrap_or(0);
        raw.push((index, weight));
    };
    for word in &d.counterparty {
        add(&[b"w", word.as_bytes()], 1.0);
        let padded: Vec<u8> = [b"<", word.as_bytes(), b">"].concat();
        for n in [3usize, 4] {
            for gram in padded.windows(n) {
                add(&[b"g", gram], 0.5);
            }
        }
    }
    for pair in d.counterparty.windows(2) {
        add(&[b"b", pair[0].as_bytes(), pair[1].as_bytes()], 1.0);
    }
    add(&[b"k", kind_name(d.kind).as_bytes()], 1.0);
    if let Some(i) = &d.intermediary {
        add(&[b"i", i.name.as_bytes()], 1.0);
    }
    add(&[b"d", if amount_minor > 0 { b"in" } else { b"out" }], 1.0);
    add(&[b"a", &[amount_bucket(amount_minor)]], 1.0);
    raw.sort_by_key(|(i, _)| *i);
    let mut out = SparseFeatures::default();
    for (i, v) in raw {
        if out.indices.last() == Some(&i) {
            if let Some(last) = out.values.last_mut() {
                *last += v;
            }
        } else {
            out.indices.push(i);
            out.values.push(v);
        }
    }
    let norm = out.values.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        out.values.iter_mut().for_each(|v| *v /= norm);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::parse;

    #[test]
    fn features_are_sorted_distinct_unit_and_in_range() {
        for raw in ["SQ *BLUE BOTTLE COFFEE #44 CA", "", "😀", &"x".repeat(10_000)] {
            let f = featurise(&parse(raw), -450, 1024);
            assert!(f.indices.windows(2).all(|w| w[0] < w[1]), "{raw}");
            assert!(f.indices.iter().all(|i| *i < 1024));
            let norm: f32 = f.values.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-4, "{raw}: {norm}");
            assert_eq!(f.to_dense(1024).iter().filter(|v| **v != 0.0).count(), f.indices.len());
        }
        assert_eq!(amount_bucket(0), 0);
        assert_eq!(amount_bucket(-450), 3);
        assert_eq!(amount_bucket(i64::MIN), 16);
    }
}
