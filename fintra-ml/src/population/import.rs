//! A synthetic person's statement imported the way a user's file arrives: Connect's CSV
//! reader, the categoriser, then the twin's decider.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime};
use fintra_core::{Asset, EventMetadata, EventStore, InMemoryEventStore, Repository};
use fintra_twin::connect::csv::{CsvAccount, CsvMapping, normalise};
use fintra_twin::connect::{BadRecordPolicy, Categoriser, stage};
use fintra_twin::fos::{AccountType, Source};
use fintra_twin::{Profile, ProfileCommand};

use super::SyntheticProfile;

/// Why a synthetic statement could not be imported (a defect of the generator or of Connect).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Connect refused the CSV.
    #[error("Connect refused the synthetic statement: {0}")]
    Connect(#[from] fintra_twin::connect::ConnectError),
    /// The twin or the store refused a command.
    #[error("the twin refused the import: {0}")]
    Twin(String),
}

/// Imports `person`'s statement the way a user's file arrives: Connect's CSV reader, the
/// `categoriser`'s categories (the Brain), then the twin's decider, into a fresh in-memory
/// store. Returns the twin as it stands after the import.
///
/// # Errors
/// [`ImportError`] when Connect or the twin refuses the generated statement.
pub async fn import(
    person: &SyntheticProfile,
    categoriser: &dyn Categoriser,
) -> Result<Profile, ImportError> {
    import_into(Arc::new(InMemoryEventStore::new()), person, categoriser).await
}

/// [`import`] into `store`: the person's twin is the stream `profile-<uuid>` with the uuid
/// `person.index + 1`, created if it does not exist yet (importing the same person twice adds
/// nothing the second time).
///
/// # Errors
/// [`ImportError`] when Connect or the twin refuses the generated statement.
pub async fn import_into<S: EventStore + ?Sized>(
    store: Arc<S>,
    person: &SyntheticProfile,
    categoriser: &dyn Categoriser,
) -> Result<Profile, ImportError> {
    let twin = |e: &dyn std::fmt::Display| ImportError::Twin(e.to_string());
    let repository = Repository::<Profile, _>::new(store);
    let n = u128::try_from(person.index).unwrap_or(0) + 1;
    let stream = repository.stream_id(uuid::Uuid::from_u128(n)).map_err(|e| twin(&e))?;
    let profile_id = format!("usr_{n}");
    let create =
        ProfileCommand::Create { profile_id: profile_id.clone(), base_currency: Asset::GBP };
    if repository.load(&stream).await.map_err(|e| twin(&e))?.state.info.is_none() {
        let metadata = EventMetadata::default();
        repository.execute(&stream, &create, &metadata).await.map_err(|e| twin(&e))?;
    }
    let account = CsvAccount {
        provider_account_id: "current".into(),
        name: "Current".into(),
        account_type: AccountType::Checking,
        currency: Asset::GBP,
        institution_id: None,
    };
    let now = chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(
        person.lines.last().map_or(NaiveDate::MIN, |l| l.date).and_time(NaiveTime::MIN),
        chrono::Utc,
    );
    let csv = person.csv();
    let mapping = CsvMapping::signed_amount_preset();
    let read = normalise(csv.as_bytes(), &mapping, &account, now, BadRecordPolicy::FailDocument)?;
    let current = repository.load(&stream).await.map_err(|e| twin(&e))?.state;
    let id = uuid::Uuid::from_u128(n);
    let accounts = vec![read.account];
    let mut staged = stage(&current, id, Source::Csv, accounts, read.transactions.records);
    staged.categorise(categoriser, Some(&profile_id), now);
    let metadata = EventMetadata::default();
    staged.approve(&repository, &stream, &metadata, |_, _| {}).await.map_err(|e| twin(&e))?;
    Ok(repository.load(&stream).await.map_err(|e| twin(&e))?.state)
}
