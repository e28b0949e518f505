//! A fast, per-process-seeded hasher for 16-byte ids.
//!
//! The ledger's maps are keyed by UUIDs. SipHash (std's default) costs more than the rest of a
//! transfer's decide step; this multiply-rotate hash costs two multiplications per id. The seed
//! comes from std's randomly keyed `RandomState`, so an attacker cannot precompute colliding ids
//! offline; it is not a cryptographic defence, and the ids are expected to come from the
//! embedding backend, not from end users directly.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::OnceLock;

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
const FINISH: u64 = 0xff51_afd7_ed55_8ccd;

fn process_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| RandomState::new().hash_one(0x6669_6e74_7261_u64))
}

/// The xor of a 128-bit product's halves.
fn fold(product: u128) -> u64 {
    let bytes = product.to_le_bytes();
    let mut low = [0u8; 8];
    let mut high = [0u8; 8];
    low.copy_from_slice(&bytes[..8]);
    high.copy_from_slice(&bytes[8..]);
    u64::from_le_bytes(low) ^ u64::from_le_bytes(high)
}

/// Builds [`IdHasher`]s with the process seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IdHash {
    seed: u64,
}

impl Default for IdHash {
    fn default() -> Self {
        Self { seed: process_seed() }
    }
}

impl BuildHasher for IdHash {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher { state: self.seed }
    }
}

/// The hasher built by [`IdHash`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct IdHasher {
    state: u64,
}

impl IdHasher {
    /// A folded multiply: the 128-bit product's halves xor-ed, so every input bit reaches
    /// both the high and the low output bits.
    fn mix(&mut self, word: u64) {
        self.state = fold(u128::from(self.state ^ word) * u128::from(MULTIPLIER));
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        fold(u128::from(self.state) * u128::from(FINISH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn distinct_sequential_ids_spread_over_low_bits() {
        let build = IdHash::default();
        let buckets: HashSet<u64> =
            (0u128..4096).map(|n| build.hash_one(uuid::Uuid::from_u128(n)) & 0xfff).collect();
        // Random placement of 4096 ids into 4096 buckets fills 4096·(1 − 1/e) ≈ 2589 of them
        // (σ ≈ 20); a hash that leaves low bits unmixed fills far fewer.
        assert!(buckets.len() > 2450, "only {} distinct buckets", buckets.len());
    }
}
