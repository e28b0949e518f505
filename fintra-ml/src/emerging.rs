//! Emerging merchants: counterparties no catalogue knows, seen across many profiles, grouped so
//! that they can be reviewed and added to the catalogue (`Catalogue::extend_tsv`).
//!
//! Lines are grouped by the first two words of their cleaned counterparty ("NEWCO COFFEE LAB
//! LONDON" and "SQ *NEWCO COFFEE LAB SHOREDITCH" fall together under `NEWCO COFFEE`). A group is
//! *emerging* once it is seen in at least `min_profiles` distinct profiles: one person's
//! landlord or plumber stays private. Only purchases and direct debits are grouped — transfers,
//! cash, fees, interest and salary never are.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::cascade::Categorisation;
use crate::descriptor::{Kind, parse};

/// Examples kept per group.
const EXAMPLES: usize = 5;

/// A group of lines from an unknown counterparty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// The grouping key (the counterparty's first two words).
    pub key: String,
    /// The counterparty text seen most often.
    pub name: String,
    /// Distinct profiles that paid it.
    pub profiles: BTreeSet<String>,
    /// Lines seen.
    pub lines: u64,
    /// Up to five raw descriptions.
    pub examples: Vec<String>,
    spellings: BTreeMap<String, u64>,
}

/// Groups unknown counterparties across profiles.
#[derive(Clone, Debug)]
pub struct EmergingMerchants {
    min_profiles: usize,
    clusters: HashMap<String, Cluster>,
}

impl EmergingMerchants {
    /// Groups that become emerging at `min_profiles` distinct profiles (at least 2).
    pub fn new(min_profiles: usize) -> Self {
        Self { min_profiles: min_profiles.max(2), clusters: HashMap::new() }
    }

    /// Records one categorised line of `profile`. Lines with a resolved merchant, and lines
    /// that are not purchases or direct debits, are ignored. Returns the group's key when the
    /// line was grouped.
    pub fn observe(
        &mut self,
        profile: &str,
        description: &str,
        result: &Categorisation,
    ) -> Option<String> {
        if result.merchant.is_some()
            || !matches!(result.kind, Kind::CardPurchase | Kind::DirectDebit | Kind::Unknown)
        {
            return None;
        }
        let descriptor = parse(description);
        let words: Vec<&String> =
            descriptor.counterparty.iter().filter(|w| w.len() >= 2).take(2).collect();
        if words.iter().map(|w| w.len()).sum::<usize>() < 4 {
            return None;
        }
        let key = words.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" ");
        let cluster = self.clusters.entry(key.clone()).or_insert_with(|| Cluster {
            key: key.clone(),
            name: String::new(),
            profiles: BTreeSet::new(),
            lines: 0,
            examples: Vec::new(),
            spellings: BTreeMap::new(),
        });
        cluster.profiles.insert(profile.to_owned());
        cluster.lines += 1;
        if cluster.examples.len() < EXAMPLES && !cluster.examples.iter().any(|e| e == description) {
            cluster.examples.push(description.to_owned());
        }
        *cluster.spellings.entry(descriptor.counterparty_text()).or_default() += 1;
        cluster.name = cluster
            .spellings
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(s, _)| s.clone())
            .unwrap_or_default();
        Some(key)
    }

    /// The groups seen in at least `min_profiles` profiles, most profiles first.
    pub fn emerging(&self) -> Vec<&Cluster> {
        let mut out: Vec<&Cluster> =
            self.clusters.values().filter(|c| c.profiles.len() >= self.min_profiles).collect();
        out.sort_by(|a, b| b.profiles.len().cmp(&a.profiles.len()).then_with(|| a.key.cmp(&b.key)));
        out
    }

    /// Forgets an erased profile: it no longer counts towards any group, and its lines are no
    /// longer among the examples. Groups left with no profile are dropped.
    pub fn forget_profile(&mut self, profile: &str) {
        for cluster in self.clusters.values_mut() {
            cluster.profiles.remove(profile);
        }
        self.clusters.retain(|_, c| !c.profiles.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cascade, Catalogue, Transaction};

    #[test]
    fn an_unknown_shop_paid_by_many_profiles_emerges_and_a_private_payee_does_not() {
        let cascade = Cascade::new(&Catalogue::builtin().unwrap_or_default());
        let mut emerging = EmergingMerchants::new(3);
        let mut see = |profile: &str, description: &str| {
            let t = Transaction {
                description,
                amount_minor: -450,
                mcc: None,
                country: Some("GB"),
                profile: Some(profile),
            };
            emerging.observe(profile, description, &cascade.categorise(&t))
        };
        for (p, line) in [
            ("p1", "CARD PAYMENT TO QWERTLY ZINE LAB 0412 LONDON"),
            ("p2", "SQ *QWERTLY ZINE LAB SHOREDITCH"),
            ("p3", "QWERTLY ZINE LAB"),
            ("p3", "QWERTLY ZINE LAB"),
        ] {
            assert_eq!(see(p, line).as_deref(), Some("QWERTLY ZINE"));
        }
        // A person paid by transfer is never grouped; a known merchant neither.
        assert_eq!(see("p1", "FPO J SMITH REF PLUMBING"), None);
        assert_eq!(see("p2", "CARD PAYMENT TO TESCO STORES 3297"), None);
        assert_eq!(see("p4", "QUIBBLE FARMSHOP LTD"), Some("QUIBBLE FARMSHOP".to_owned()));
        let found = emerging.emerging();
        assert_eq!(found.len(), 1, "seen by one profile, a payee stays private");
        assert_eq!(found[0].profiles.len(), 3);
        assert_eq!(found[0].lines, 4);
        assert_eq!(found[0].name, "QWERTLY ZINE LAB");
        emerging.forget_profile("p3");
        assert!(emerging.emerging().is_empty(), "an erased profile no longer counts");
    }
}
