//! Vector search for merchant resolution: sparse embeddings of character n-grams and words,
//! and a small [`VectorIndex`] trait with an in-process inverted index ([`InMemoryIndex`]) and
//! an exact reference ([`BruteForceIndex`]) that the conformance test compares it with.

use std::collections::HashMap;

use crate::descriptor::fold;

/// A sparse vector: sorted dimensions and their values, L2-normalised by [`embed`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseVector {
    /// Dimensions, ascending, unique.
    pub dims: Vec<u32>,
    /// Values, one per dimension.
    pub values: Vec<f32>,
}

impl SparseVector {
    /// The dot product (cosine, for normalised vectors).
    pub fn dot(&self, other: &Self) -> f32 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < self.dims.len() && j < other.dims.len() {
            match self.dims[i].cmp(&other.dims[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += self.values[i] * other.values[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }

    /// True when it has no dimensions.
    pub fn is_empty(&self) -> bool {
        self.dims.is_empty()
    }
}

/// The dimension space of [`embed`]: 2^20 hashed features.
pub const DIMENSIONS: u32 = 1 << 20;

fn fnv1a(parts: &[&[u8]]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for part in parts {
        for &b in *part {
            hash ^= u32::from(b);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % DIMENSIONS
}

/// The embedding of a name or counterparty: character 3-grams of each word (with word
/// boundaries marked, so "SHELL" and "SHELLFISH" share only their beginning) and whole words,
/// hashed into [`DIMENSIONS`], L2-normalised. Text is folded first (uppercase, accents to
/// ASCII); only letters and digits count.
pub fn embed(text: &str) -> SparseVector {
    embed_with(text, true)
}

/// The word features of [`embed`] alone (no character n-grams), normalised: a cheap first query
/// whose posting lists are short. Its hits share at least one whole word with `text`.
pub fn embed_words(text: &str) -> SparseVector {
    embed_with(text, false)
}

fn embed_with(text: &str, grams: bool) -> SparseVector {
    let folded = fold(text);
    let mut weights: HashMap<u32, f32> = HashMap::new();
    for word in folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        *weights.entry(fnv1a(&[b"w", word.as_bytes()])).or_default() += 1.0;
        if grams {
            let padded: Vec<u8> =
                std::iter::once(b'<').chain(word.bytes()).chain(std::iter::once(b'>')).collect();
            for gram in padded.windows(3) {
                *weights.entry(fnv1a(&[b"g", gram])).or_default() += 0.5;
            }
        }
    }
    let norm = weights.values().map(|w| w * w).sum::<f32>().sqrt();
    let mut pairs: Vec<(u32, f32)> = weights.into_iter().collect();
    pairs.sort_unstable_by_key(|(d, _)| *d);
    let (dims, values) = if norm > 0.0 {
        pairs.into_iter().map(|(d, w)| (d, w / norm)).unzip()
    } else {
        (Vec::new(), Vec::new())
    };
    SparseVector { dims, values }
}

/// A stored vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Unique id.
    pub id: String,
    /// The tenant it belongs to; `None` is shared by every tenant (the shipped catalogue).
    pub tenant: Option<String>,
    /// The vector.
    pub vector: SparseVector,
}

/// A search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The point's id.
    pub id: String,
    /// Its cosine similarity with the query.
    pub score: f32,
}

/// Which points a search may return.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Shared points and this tenant's; `None`: shared points only.
    pub tenant: Option<String>,
}

impl Filter {
    fn admits(&self, point_tenant: Option<&String>) -> bool {
        match point_tenant {
            None => true,
            Some(t) => self.tenant.as_ref() == Some(t),
        }
    }
}

/// A vector index: upsert, delete, and top-k by cosine under a tenant filter.
pub trait VectorIndex: Send + Sync {
    /// Inserts the point, or replaces the one with its id.
    fn upsert(&mut self, point: Point);
    /// Removes the point with `id`; true if there was one.
    fn delete(&mut self, id: &str) -> bool;
    /// The `k` points most similar to `query` that `filter` admits, best first (ties by id).
    fn search(&self, query: &SparseVector, k: usize, filter: &Filter) -> Vec<Hit>;
    /// How many points.
    fn len(&self) -> usize;
    /// True when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The best `k` of `(score, id)` pairs, best first (ties by id); ids are cloned only for the k
/// kept.
fn top_k(mut ranked: Vec<(f32, &str)>, k: usize) -> Vec<Hit> {
    let order = |a: &(f32, &str), b: &(f32, &str)| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1));
    if ranked.len() > k && k > 0 {
        ranked.select_nth_unstable_by(k - 1, order);
    }
    ranked.truncate(k);
    ranked.sort_by(order);
    ranked.into_iter().map(|(score, id)| Hit { id: id.to_owned(), score }).collect()
}

/// Exact search by scanning every point: the reference the other backends are measured with.
#[derive(Clone, Debug, Default)]
pub struct BruteForceIndex {
    points: HashMap<String, Point>,
}

impl VectorIndex for BruteForceIndex {
    fn upsert(&mut self, point: Point) {
        self.points.insert(point.id.clone(), point);
    }
    fn delete(&mut self, id: &str) -> bool {
        self.points.remove(id).is_some()
    }
    fn search(&self, query: &SparseVector, k: usize, filter: &Filter) -> Vec<Hit> {
        let ranked = self
            .points
            .values()
            .filter(|p| filter.admits(p.tenant.as_ref()))
            .map(|p| (p.vector.dot(query), p.id.as_str()))
            .filter(|(score, _)| *score > 0.0)
            .collect();
        top_k(ranked, k)
    }
    fn len(&self) -> usize {
        self.points.len()
    }
}

/// The in-process default: an inverted index from dimension to (slot, value). A query touches
/// only the posting lists of its own dimensions, so its cost follows the number of points that
/// share a feature with it, not the size of the index. Exact: the same results as
/// [`BruteForceIndex`].
#[derive(Clone, Debug, Default)]
pub struct InMemoryIndex {
    slots: Vec<Option<Point>>,
    by_id: HashMap<String, u32>,
    postings: HashMap<u32, Vec<(u32, f32)>>,
    free: Vec<u32>,
}

impl VectorIndex for InMemoryIndex {
    fn upsert(&mut self, point: Point) {
        self.delete(&point.id);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        for (d, v) in point.vector.dims.iter().zip(&point.vector.values) {
            self.postings.entry(*d).or_default().push((slot, *v));
        }
        self.by_id.insert(point.id.clone(), slot);
        if let Some(entry) = self.slots.get_mut(slot as usize) {
            *entry = Some(point);
        }
    }

    fn delete(&mut self, id: &str) -> bool {
        let Some(slot) = self.by_id.remove(id) else { return false };
        if let Some(point) = self.slots.get_mut(slot as usize).and_then(Option::take) {
            for d in &point.vector.dims {
                if let Some(list) = self.postings.get_mut(d) {
                    list.retain(|(s, _)| *s != slot);
                    if list.is_empty() {
                        self.postings.remove(d);
                    }
                }
            }
        }
        self.free.push(slot);
        true
    }

    fn search(&self, query: &SparseVector, k: usize, filter: &Filter) -> Vec<Hit> {
        // Dense accumulators over the slots, and the list of slots touched: no hashing in the
        // inner loop.
        let mut scores = vec![0.0f32; self.slots.len()];
        let mut touched: Vec<u32> = Vec::new();
        for (d, qv) in query.dims.iter().zip(&query.values) {
            if let Some(list) = self.postings.get(d) {
                for (slot, v) in list {
                    if let Some(score) = scores.get_mut(*slot as usize) {
                        if *score == 0.0 {
                            touched.push(*slot);
                        }
                        *score += qv * v;
                    }
                }
            }
        }
        let ranked = touched
            .into_iter()
            .filter_map(|slot| {
                let score = scores[slot as usize];
                let point = self.slots.get(slot as usize)?.as_ref()?;
                (score > 0.0 && filter.admits(point.tenant.as_ref()))
                    .then_some((score, point.id.as_str()))
            })
            .collect();
        top_k(ranked, k)
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_normalised_and_tell_shell_from_shellfish() {
        let shell = embed("Shell");
        assert!((shell.dot(&shell) - 1.0).abs() < 1e-5);
        assert!(embed("").is_empty() && embed("🙂").is_empty());
        assert!(shell.dot(&embed("SHELL")) > 0.999);
        assert!(shell.dot(&embed("SHELLFISH SHACK")) < 0.5);
    }
}
