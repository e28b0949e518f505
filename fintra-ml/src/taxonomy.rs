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

/// Words written in capitals when a category is displayed.
const ACRONYMS: &[&str] = &["atm", "bnpl", "diy", "ev", "tv"];

/// The display form the twin and the Views use: `"eating_out.coffee"` → `"Eating Out > Coffee"`.
/// Text that is not one of the shipped taxonomy's ids (a person's own category, "Misc. stuff")
/// is returned as it is.
pub fn display(id: &str) -> String {
    static BUILTIN: std::sync::OnceLock<Taxonomy> = std::sync::OnceLock::new();
    if !BUILTIN.get_or_init(Taxonomy::builtin).contains(id) {
        return id.to_owned();
    }
    let Some((primary, detailed)) = id.split_once('.') else { return id.to_owned() };
    let words = |part: &str| {
        part.split('_')
            .filter(|w| !w.is_empty())
            .map(|w| {
                if ACRONYMS.contains(&w) {
                    return w.to_uppercase();
                }
                let mut chars = w.chars();
                chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!("{} > {}", words(primary), words(detailed))
}

/// The id of a displayed category (`"Eating Out > Coffee"` → `"eating_out.coffee"`), when it is
/// one of the taxonomy's.
pub fn from_display(taxonomy: &Taxonomy, display: &str) -> Option<String> {
    let (primary, detailed) = display.split_once(" > ")?;
    let part = |p: &str| p.trim().to_lowercase().split_whitespace().collect::<Vec<_>>().join("_");
    let id = format!("{}.{}", part(primary), part(detailed));
    taxonomy.contains(&id).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_displays_and_reads_back() {
        let t = Taxonomy::builtin();
        for id in t.detailed() {
            let shown = display(id);
            assert_eq!(from_display(&t, &shown).as_deref(), Some(id), "{shown}");
        }
        assert_eq!(display("eating_out.coffee"), "Eating Out > Coffee");
        assert_eq!(display("bills.tv_licence"), "Bills > TV Licence");
        assert_eq!(display("My own bucket"), "My own bucket");
        assert_eq!(display("Misc. stuff"), "Misc. stuff");
        assert_eq!(from_display(&t, "Pets > Grooming"), None);
    }

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
