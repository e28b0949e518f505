//! The two-level taxonomy: primary categories ("groceries") and detailed ones
//! ("groceries.supermarket"), shipped as `data/taxonomy.tsv`.

use std::collections::BTreeMap;

/// The detailed category the cascade answers when nothing is sure.
pub const UNCATEGORISED: &str = "other.uncategorised";

const TAXONOMY_TSV: &str = include_str!("../data/taxonomy.tsv");

/// The taxonomy: every detailed category id with its description.
#[derive(Clone, Debug)]
pub struct Taxonomy {
    detailed: BTreeMap<String, String>,
}

impl Taxonomy {
    /// The taxonomy shipped with the crate.
    pub fn builtin() -> Self {
        let detailed = TAXONOMY_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("id\t") && !l.trim().is_empty())
            .filter_map(|l| l.split_once('\t'))
            .map(|(id, description)| (id.to_owned(), description.to_owned()))
            .collect();
        Self { detailed }
    }

    /// True when `id` is a detailed category of the taxonomy.
    pub fn contains(&self, id: &str) -> bool {
        self.detailed.contains_key(id)
    }

    /// The description of a detailed category.
    pub fn description(&self, id: &str) -> Option<&str> {
        self.detailed.get(id).map(String::as_str)
    }

    /// Every detailed category id, sorted.
    pub fn detailed(&self) -> impl Iterator<Item = &str> {
        self.detailed.keys().map(String::as_str)
    }

    /// Every primary category, sorted.
    pub fn primaries(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.detailed.keys().map(|id| primary(id)).collect();
        out.dedup();
        out
    }
}

/// The primary category of a detailed id ("groceries.supermarket" → "groceries").
pub fn primary(detailed: &str) -> &str {
    detailed.split_once('.').map_or(detailed, |(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_taxonomy_is_two_level_and_names_the_fallback() {
        let t = Taxonomy::builtin();
        assert!(t.contains(UNCATEGORISED));
        assert!(t.detailed().all(|id| id.split('.').count() == 2));
        let primaries = t.primaries();
        assert!((15..=20).contains(&primaries.len()), "{primaries:?}");
        assert!(t.detailed().count() >= 90);
        assert!(primaries.contains(&"groceries") && primaries.contains(&"eating_out"));
    }
}
