//! Partial success: what a normaliser read, and every record it left out with where and why.
//!
//! A provider document with one bad record imports the rest and reports the bad one — under
//! [`BadRecordPolicy`], which the caller chooses. Nothing is dropped without being reported.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::ConnectError;

/// What a normaliser does with a record it cannot read (a missing field, an impossible date, an
/// amount in a currency the account does not hold, …).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BadRecordPolicy {
    /// Leave it out and report it in [`Normalised::rejected`]; import the rest. The default.
    #[default]
    Skip,
    /// As `Skip`, and keep the record's raw text (at most [`QUARANTINE_BYTES_MAX`]) in the
    /// report so it can be reviewed, fixed and imported later.
    Quarantine,
    /// Refuse the whole document at the first bad record: nothing is returned.
    FailDocument,
}

/// Most bytes of a quarantined record kept in its report.
pub const QUARANTINE_BYTES_MAX: usize = 64 * 1024;

/// A record a normaliser left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedRecord {
    /// Where it is: `transactions[12]`, `added[3]`, `line 7`.
    pub record: String,
    /// The field at fault, as a path inside the record (`pending`, `location.lat`), when the
    /// record does not fit the provider's schema; `None` when the record parsed but a value in
    /// it was refused (the error says which).
    pub field: Option<String>,
    /// Why.
    pub error: ConnectError,
    /// The record as it was sent, under [`BadRecordPolicy::Quarantine`] (for a CSV row: its
    /// cells joined by the delimiter; `None` when the row could not be split into cells).
    pub raw: Option<String>,
}

/// What a normaliser read from one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalised<T> {
    /// The records it could read, in document order.
    pub records: Vec<T>,
    /// The records it left out, in document order (empty under
    /// [`BadRecordPolicy::FailDocument`], which fails instead).
    pub rejected: Vec<RejectedRecord>,
}

impl<T> Normalised<T> {
    /// Everything read, nothing left out.
    pub fn complete(records: Vec<T>) -> Self {
        Self { records, rejected: Vec::new() }
    }

    /// True when no record was left out.
    pub fn is_complete(&self) -> bool {
        self.rejected.is_empty()
    }

    /// The records, or the first rejection as an error.
    ///
    /// # Errors
    /// The first left-out record's error.
    pub fn into_complete(self) -> Result<Vec<T>, ConnectError> {
        match self.rejected.into_iter().next() {
            Some(rejected) => Err(rejected.error),
            None => Ok(self.records),
        }
    }
}

/// Collects rejected records under a policy.
#[derive(Debug)]
pub(crate) struct Rejections {
    policy: BadRecordPolicy,
    pub(crate) rejected: Vec<RejectedRecord>,
}

impl Rejections {
    pub(crate) fn new(policy: BadRecordPolicy) -> Self {
        Self { policy, rejected: Vec::new() }
    }

    /// Records a bad record; `Err` when the policy fails the whole document.
    pub(crate) fn reject(
        &mut self,
        record: &str,
        field: Option<String>,
        error: ConnectError,
        raw: &str,
    ) -> Result<(), ConnectError> {
        let raw = match self.policy {
            BadRecordPolicy::FailDocument => return Err(error),
            BadRecordPolicy::Skip => None,
            BadRecordPolicy::Quarantine if raw.is_empty() => None,
            BadRecordPolicy::Quarantine => {
                let mut end = raw.len().min(QUARANTINE_BYTES_MAX);
                while !raw.is_char_boundary(end) {
                    end -= 1;
                }
                Some(raw[..end].to_owned())
            }
        };
        self.rejected.push(RejectedRecord { record: record.to_owned(), field, error, raw });
        Ok(())
    }

    pub(crate) fn finish<T>(self, records: Vec<T>) -> Normalised<T> {
        Normalised { records, rejected: self.rejected }
    }
}

/// A parser message without serde_json's ` at line 1 column 57`, which counts from the start of
/// the record, not of the document (the record's path says where it is instead).
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}

/// Parses each raw JSON record of the list `list` as `T` and maps it. A record that does not
/// parse is reported with the path of the field at fault (`transactions[3].amount`); one that
/// `map` refuses, with `map`'s error.
pub(crate) fn each_record<T: DeserializeOwned, R>(
    list: &str,
    raws: &[&RawValue],
    rejections: &mut Rejections,
    mut map: impl FnMut(&str, T) -> Result<R, ConnectError>,
) -> Result<Vec<R>, ConnectError> {
    use std::fmt::Write as _;
    let mut out = Vec::with_capacity(raws.len());
    // One buffer for every record's name (`transactions[12]`), rewritten in place.
    let mut record = String::with_capacity(list.len() + 12);
    for (i, raw) in raws.iter().enumerate() {
        record.clear();
        let _ = write!(record, "{list}[{i}]");
        let record = record.as_str();
        // The fast parser first; only a record that fails is parsed again to find the field.
        let parsed: Result<T, _> = serde_json::from_str(raw.get()).or_else(|_| {
            let mut deserializer = serde_json::Deserializer::from_str(raw.get());
            serde_path_to_error::deserialize(&mut deserializer)
        });
        let value = match parsed {
            Ok(value) => value,
            Err(error) => {
                let path = error.path().to_string();
                let field = (path != ".").then_some(path);
                let at =
                    field.as_ref().map_or_else(|| record.to_owned(), |f| format!("{record}.{f}"));
                let reason = without_position(&error.into_inner().to_string());
                let error = ConnectError::Malformed { record: at, reason };
                rejections.reject(record, field, error, raw.get())?;
                continue;
            }
        };
        match map(record, value) {
            Ok(mapped) => out.push(mapped),
            Err(error) => rejections.reject(record, None, error, raw.get())?,
        }
    }
    Ok(out)
}
