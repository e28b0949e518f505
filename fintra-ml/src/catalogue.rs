//! The merchant catalogue: real merchants with their statement spellings, shipped as data
//! (`data/merchants_*.tsv`) and extendable with a host's own rows in the same format.
//!
//! Tab-separated, one merchant per row, this header first (`|` separates list items):
//!
//! | id | name | aliases | category | countries | website | subscription | mcc |
//! |---|---|---|---|---|---|---|---|
//! | `tesco` | `Tesco` | `TESCO STORES\|TESCO EXPRESS` | `groceries.supermarket` | `GB\|IE` | `tesco.com` | `false` | `5411` |

use std::collections::BTreeMap;

use crate::taxonomy::Taxonomy;

/// The shipped catalogue files, in load order.
const BUILTIN: &[(&str, &str)] = &[
    ("merchants_uk_ie.tsv", include_str!("../data/merchants_uk_ie.tsv")),
    ("merchants_us_global.tsv", include_str!("../data/merchants_us_global.tsv")),
    ("merchants_eu.tsv", include_str!("../data/merchants_eu.tsv")),
];

/// The header every catalogue file starts with.
pub const HEADER: &str = "id\tname\taliases\tcategory\tcountries\twebsite\tsubscription\tmcc";

/// One merchant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Merchant {
    /// Stable id (`[a-z0-9_]+`).
    pub id: String,
    /// Clean display name.
    pub name: String,
    /// Spellings and abbreviations seen on statements.
    pub aliases: Vec<String>,
    /// Default detailed category.
    pub category: String,
    /// ISO 3166 alpha-2 codes of the countries it trades in.
    pub countries: Vec<String>,
    /// Its website's domain, if known.
    pub website: Option<String>,
    /// True when customers usually pay it as a subscription or contract.
    pub subscription: bool,
    /// Its usual ISO 18245 merchant category code.
    pub mcc: Option<u16>,
}

/// A row that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{source_name} line {line}: {problem}")]
pub struct CatalogueError {
    /// The file or source name given to the loader.
    pub source_name: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: RowProblem,
}

/// What is wrong with a catalogue line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RowProblem {
    /// The first line is not [`HEADER`].
    #[error("the header must be `{HEADER}`")]
    Header,
    /// Not eight tab-separated fields.
    #[error("{0} fields, expected 8")]
    FieldCount(usize),
    /// An id outside `[a-z0-9_]+`.
    #[error("id `{0}` is not [a-z0-9_]+")]
    Id(String),
    /// An empty name.
    #[error("empty name")]
    EmptyName,
    /// A category the taxonomy does not have.
    #[error("unknown category `{0}`")]
    Category(String),
    /// A subscription flag other than `true`, `false` or empty.
    #[error("subscription `{0}` is not true/false")]
    Subscription(String),
    /// An MCC that is not 4 digits.
    #[error("mcc `{0}` is not 4 digits")]
    Mcc(String),
}

/// Merchants by id.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    merchants: BTreeMap<String, Merchant>,
}

impl Catalogue {
    /// The catalogue shipped with the crate (UK and Ireland, US, Canada and global brands,
    /// continental Europe). A merchant listed in more than one file is one merchant: its
    /// aliases and countries are merged.
    ///
    /// # Errors
    /// Never for the shipped files (a test reads them); the signature is that of
    /// [`Catalogue::extend_tsv`].
    pub fn builtin() -> Result<Self, CatalogueError> {
        let mut catalogue = Self::default();
        let taxonomy = Taxonomy::builtin();
        for (name, text) in BUILTIN {
            catalogue.extend_tsv(name, text, &taxonomy)?;
        }
        Ok(catalogue)
    }

    /// Adds the merchants of a catalogue file (see the module docs for the format). A row
    /// whose id is already known merges into that merchant (aliases and countries added; the
    /// first row's name, category and flags stay).
    ///
    /// # Errors
    /// The first row that is malformed: wrong header, wrong field count, a bad id, an unknown
    /// category, a bad MCC or subscription flag. Nothing is added from a file with an error.
    pub fn extend_tsv(
        &mut self,
        source_name: &str,
        text: &str,
        taxonomy: &Taxonomy,
    ) -> Result<usize, CatalogueError> {
        let error = |line: usize, problem: RowProblem| CatalogueError {
            source_name: source_name.to_owned(),
            line,
            problem,
        };
        let mut rows = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = line.trim_end_matches('\r');
            if n == 0 {
                if line != HEADER {
                    return Err(error(line_no, RowProblem::Header));
                }
                continue;
            }
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            rows.push(parse_row(line, taxonomy).map_err(|problem| error(line_no, problem))?);
        }
        let added = rows.len();
        for row in rows {
            match self.merchants.get_mut(&row.id) {
                Some(known) => {
                    for alias in row.aliases {
                        if !known.aliases.contains(&alias) {
                            known.aliases.push(alias);
                        }
                    }
                    for country in row.countries {
                        if !known.countries.contains(&country) {
                            known.countries.push(country);
                        }
                    }
                }
                None => {
                    self.merchants.insert(row.id.clone(), row);
                }
            }
        }
        Ok(added)
    }

    /// Adds or replaces one merchant.
    pub fn insert(&mut self, merchant: Merchant) {
        self.merchants.insert(merchant.id.clone(), merchant);
    }

    /// The merchant with `id`.
    pub fn get(&self, id: &str) -> Option<&Merchant> {
        self.merchants.get(id)
    }

    /// Every merchant, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Merchant> {
        self.merchants.values()
    }

    /// How many merchants.
    pub fn len(&self) -> usize {
        self.merchants.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.merchants.is_empty()
    }
}

/// One row of a catalogue file.
fn parse_row(line: &str, taxonomy: &Taxonomy) -> Result<Merchant, RowProblem> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [id, name, aliases, category, countries, website, subscription, mcc] = fields[..] else {
        return Err(RowProblem::FieldCount(fields.len()));
    };
    if id.is_empty()
        || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(RowProblem::Id(id.to_owned()));
    }
    if name.trim().is_empty() {
        return Err(RowProblem::EmptyName);
    }
    if !taxonomy.contains(category) {
        return Err(RowProblem::Category(category.to_owned()));
    }
    let subscription = match subscription {
        "true" => true,
        "false" | "" => false,
        other => return Err(RowProblem::Subscription(other.to_owned())),
    };
    let mcc = match mcc {
        "" => None,
        code => Some(
            code.parse::<u16>()
                .ok()
                .filter(|c| (1..=9999).contains(c))
                .ok_or_else(|| RowProblem::Mcc(code.to_owned()))?,
        ),
    };
    let split = |s: &str| -> Vec<String> {
        s.split('|').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect()
    };
    Ok(Merchant {
        id: id.to_owned(),
        name: name.trim().to_owned(),
        aliases: split(aliases),
        category: category.to_owned(),
        countries: split(countries),
        website: Some(website.trim()).filter(|w| !w.is_empty()).map(str::to_owned),
        subscription,
        mcc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_loads_and_covers_the_uk_the_us_and_the_eu() {
        let c = Catalogue::builtin().unwrap_or_default();
        assert!(c.len() >= 2_000, "{} merchants", c.len());
        let trading_in =
            |country: &str| c.iter().filter(|m| m.countries.iter().any(|x| x == country)).count();
        for country in ["GB", "US", "DE", "FR", "NL", "ES", "IT"] {
            assert!(trading_in(country) >= 100, "{country}: {}", trading_in(country));
        }
        assert!(c.iter().all(|m| !m.aliases.is_empty() || !m.name.is_empty()));
        assert!(c.iter().filter(|m| m.subscription).count() >= 100);
    }

    #[test]
    fn a_bad_row_is_a_typed_error_with_its_line() {
        let taxonomy = Taxonomy::builtin();
        let mut c = Catalogue::default();
        let text = format!(
            "{HEADER}\nok\tOk\tOK\tgroceries.supermarket\tGB\t\tfalse\t5411\nbad\tBad\tBAD\tnot.a_category\tGB\t\tfalse\t\n"
        );
        let err = c.extend_tsv("mine.tsv", &text, &taxonomy).err();
        assert_eq!(
            err.map(|e| (e.line, e.source_name, e.problem)),
            Some((3, "mine.tsv".to_owned(), RowProblem::Category("not.a_category".to_owned())))
        );
        assert!(c.is_empty(), "nothing is added from a file with an error");
        assert!(c.extend_tsv("x", "id\tname\n", &taxonomy).is_err());
    }
}
