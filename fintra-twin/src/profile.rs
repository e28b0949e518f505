//! The Profile aggregate: the Financial Twin's root, fed by imports, manual asset valuations
//! and corrections.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::events::{ProfileCommand, ProfileEvent, ProfileRejection};
use crate::fos::{ManualAsset, Source, TransactionStatus, UnifiedAccount, UnifiedTransaction};
use fintra_core::{Aggregate, Asset, DecideContext};

/// Most events one import command may produce (accounts + days); larger imports are split by
/// [`StagedImport::approve`](crate::connect::StagedImport::approve).
pub const IMPORT_EVENTS_MAX: usize = 900;
/// Most transactions in one `TransactionsImported` event (a busy day is split over several):
/// with descriptions at their 1 KiB bound an event stays under the 1 MiB payload limit.
pub const IMPORT_EVENT_TRANSACTIONS_MAX: usize = 300;
/// Most transactions in one import command.
/// (5,000 transactions of at most ~2.5 KiB of JSON each stay under the 16 MiB append limit.)
pub const IMPORT_TRANSACTIONS_MAX: usize = 5_000;

/// Where a newly linked account's derived balance starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAnchor {
    /// The balance before its first imported transaction.
    pub opening_balance_minor: i128,
    /// Its first transaction's date (`None`: no transactions; the command's date is used).
    pub opened_on: Option<NaiveDate>,
}

/// Sum of posted amounts and the earliest date of some transactions.
fn fold_anchor<'a>(
    transactions: impl Iterator<Item = &'a UnifiedTransaction>,
) -> Result<(i128, Option<NaiveDate>), ProfileRejection> {
    let mut posted = 0i128;
    let mut first: Option<NaiveDate> = None;
    for t in transactions {
        if t.status == TransactionStatus::Posted {
            posted = posted.checked_add(t.amount_minor).ok_or(ProfileRejection::Overflow)?;
        }
        first = Some(first.map_or(t.date, |d| d.min(t.date)));
    }
    Ok((posted, first))
}

/// Who the twin belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// The caller's id for the person (`usr_123`).
    pub profile_id: String,
    /// The currency net worth and cash flow are reported in.
    pub base_currency: Asset,
    /// When the profile was created (recorded time).
    pub created_at: DateTime<Utc>,
}

/// An account as the twin holds it: what the provider said, plus balances derived from the
/// imported history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwinAccount {
    /// The provider's account, as first linked.
    pub account: UnifiedAccount,
    /// The balance before the first imported transaction (the anchor).
    pub opening_balance_minor: i128,
    /// Opening balance plus every posted, uncorrected transaction folded so far.
    pub balance_minor: i128,
    /// Sum of open pending transactions (negative for held outflows).
    pub pending_minor: i128,
    /// The date its anchor applies from (its `AccountLinked` event's effective date).
    #[serde(default)]
    pub opened_on: Option<NaiveDate>,
}

impl TwinAccount {
    /// Balance including open pending transactions.
    pub fn available_minor(&self) -> i128 {
        self.balance_minor.saturating_add(self.pending_minor)
    }
}

/// A transaction as the twin holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwinTransaction {
    /// The normalised transaction.
    pub transaction: UnifiedTransaction,
    /// For a pending transaction, the posted one that replaced it.
    pub replaced_by: Option<String>,
    /// Set when a correction removed it from the derived state, with the reason.
    pub corrected: Option<String>,
}

impl TwinTransaction {
    /// Counts in balances and cash flow: posted and not corrected.
    pub fn is_effective_posted(&self) -> bool {
        self.transaction.status == TransactionStatus::Posted && self.corrected.is_none()
    }

    /// An open hold: pending, not replaced, not corrected.
    pub fn is_open_pending(&self) -> bool {
        self.transaction.status == TransactionStatus::Pending
            && self.replaced_by.is_none()
            && self.corrected.is_none()
    }
}

/// The Financial Twin of one person (spec §2.2): accounts, transactions, manual assets.
/// Derived metrics (net worth, burn, …) are computed from it by [`super::engines`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Set once created.
    pub info: Option<ProfileInfo>,
    pub(crate) accounts: BTreeMap<String, TwinAccount>,
    pub(crate) transactions: BTreeMap<String, TwinTransaction>,
    manual_assets: BTreeMap<String, ManualAsset>,
    /// Every recorded valuation: asset → date → value (so a repeated valuation is a no-op).
    valuations: BTreeMap<String, BTreeMap<NaiveDate, i128>>,
}

/// How an import relates to what the twin already knows (computed by [`Profile::plan_import`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPlan {
    /// Accounts not linked yet, by index into the input.
    pub new_accounts: Vec<usize>,
    /// Transactions to record, by index into the input, in input order.
    pub new_transactions: Vec<usize>,
    /// Repeated within the input itself (the first copy is kept).
    pub duplicates_in_input: usize,
    /// Already in the twin (re-import).
    pub already_imported: usize,
    /// Posted transactions that replace a pending one.
    pub pending_replaced: usize,
    /// Pending transactions whose posted replacement is already known (dropped).
    pub pending_already_posted: usize,
}

impl Profile {
    /// A linked account.
    pub fn account(&self, account_id: &str) -> Option<&TwinAccount> {
        self.accounts.get(account_id)
    }

    /// Every linked account, by id.
    pub fn accounts(&self) -> impl Iterator<Item = &TwinAccount> {
        self.accounts.values()
    }

    /// A transaction by its fintra id.
    pub fn transaction(&self, transaction_id: &str) -> Option<&TwinTransaction> {
        self.transactions.get(transaction_id)
    }

    /// Every transaction, by id (including replaced pending and corrected ones).
    pub fn transactions(&self) -> impl Iterator<Item = &TwinTransaction> {
        self.transactions.values()
    }

    /// Manual assets, by id.
    pub fn manual_assets(&self) -> impl Iterator<Item = &ManualAsset> {
        self.manual_assets.values()
    }

    /// Every recorded valuation of a manual asset, by date.
    pub fn valuations(&self, asset_id: &str) -> Option<&BTreeMap<NaiveDate, i128>> {
        self.valuations.get(asset_id)
    }

    /// The latest booking date of any transaction.
    pub fn last_transaction_date(&self) -> Option<NaiveDate> {
        self.transactions.values().map(|t| t.transaction.date).max()
    }

    /// Splits an import into what is new, what is a duplicate and what replaces pending
    /// transactions — the rules of spec §4.3, shared by staging and by `decide`.
    pub fn plan_import(
        &self,
        accounts: &[UnifiedAccount],
        transactions: &[UnifiedTransaction],
    ) -> ImportPlan {
        let mut plan = ImportPlan::default();
        let mut seen_accounts = BTreeSet::new();
        for (i, account) in accounts.iter().enumerate() {
            if !self.accounts.contains_key(&account.account_id)
                && seen_accounts.insert(account.account_id.as_str())
            {
                plan.new_accounts.push(i);
            }
        }
        // Pending ids that a posted transaction (known or in this input) replaces.
        let mut replaced: BTreeSet<&str> = self
            .transactions
            .values()
            .filter_map(|t| t.transaction.pending_transaction_id.as_deref())
            .collect();
        replaced.extend(transactions.iter().filter_map(|t| {
            (t.status == TransactionStatus::Posted)
                .then_some(t.pending_transaction_id.as_deref())
                .flatten()
        }));
        let mut seen = BTreeSet::new();
        for (i, t) in transactions.iter().enumerate() {
            if self.transactions.contains_key(&t.transaction_id) {
                plan.already_imported += 1;
            } else if !seen.insert(t.transaction_id.as_str()) {
                plan.duplicates_in_input += 1;
            } else if t.status == TransactionStatus::Pending
                && replaced.contains(t.transaction_id.as_str())
            {
                plan.pending_already_posted += 1;
            } else {
                if t.status == TransactionStatus::Posted && t.pending_transaction_id.is_some() {
                    plan.pending_replaced += 1;
                }
                plan.new_transactions.push(i);
            }
        }
        plan
    }

    /// Anchors of the accounts an import links: each account's reported balance minus every
    /// new posted transaction of it in the input, from its first transaction's date.
    ///
    /// # Errors
    /// [`ProfileRejection::Overflow`].
    pub fn anchors(
        &self,
        accounts: &[UnifiedAccount],
        transactions: &[UnifiedTransaction],
    ) -> Result<BTreeMap<String, AccountAnchor>, ProfileRejection> {
        let plan = self.plan_import(accounts, transactions);
        let new: Vec<&UnifiedTransaction> =
            plan.new_transactions.iter().filter_map(|i| transactions.get(*i)).collect();
        let mut out = BTreeMap::new();
        for account in plan.new_accounts.iter().filter_map(|i| accounts.get(*i)) {
            let mine = new.iter().filter(|t| t.account_id == account.account_id);
            let (posted, opened_on) = fold_anchor(mine.copied())?;
            // An unknown balance anchors at zero; the balance sheet leaves such accounts out.
            let opening_balance_minor = account
                .balance_minor
                .unwrap_or(0)
                .checked_sub(posted)
                .ok_or(ProfileRejection::Overflow)?;
            out.insert(
                account.account_id.clone(),
                AccountAnchor { opening_balance_minor, opened_on },
            );
        }
        Ok(out)
    }

    fn decide_import(
        &self,
        import_id: uuid::Uuid,
        source: Source,
        accounts: &[UnifiedAccount],
        transactions: &[UnifiedTransaction],
        anchors: &BTreeMap<String, AccountAnchor>,
        today: NaiveDate,
    ) -> Result<Vec<ProfileEvent>, ProfileRejection> {
        if transactions.len() > IMPORT_TRANSACTIONS_MAX {
            return Err(ProfileRejection::TooManyTransactions { actual: transactions.len() });
        }
        let plan = self.plan_import(accounts, transactions);
        let new_accounts: Vec<&UnifiedAccount> =
            plan.new_accounts.iter().filter_map(|i| accounts.get(*i)).collect();
        let mut by_day: BTreeMap<NaiveDate, Vec<UnifiedTransaction>> = BTreeMap::new();
        for t in plan.new_transactions.iter().filter_map(|i| transactions.get(*i)) {
            let currency = match self.accounts.get(&t.account_id) {
                Some(known) => known.account.currency,
                None => {
                    new_accounts
                        .iter()
                        .find(|a| a.account_id == t.account_id)
                        .ok_or_else(|| ProfileRejection::UnknownAccount {
                            transaction_id: t.transaction_id.clone(),
                            account_id: t.account_id.clone(),
                        })?
                        .currency
                }
            };
            if t.currency != currency {
                return Err(ProfileRejection::CurrencyMismatch {
                    transaction_id: t.transaction_id.clone(),
                });
            }
            by_day.entry(t.date).or_default().push(t.clone());
        }
        let events = new_accounts.len()
            + by_day
                .values()
                .map(|day| day.len().div_ceil(IMPORT_EVENT_TRANSACTIONS_MAX))
                .sum::<usize>();
        if events > IMPORT_EVENTS_MAX {
            return Err(ProfileRejection::ImportTooLarge { events });
        }
        let mut out = Vec::with_capacity(events);
        for account in new_accounts {
            let anchor = match anchors.get(&account.account_id) {
                Some(anchor) => *anchor,
                None => {
                    let mine =
                        by_day.values().flatten().filter(|t| t.account_id == account.account_id);
                    let (posted, opened_on) = fold_anchor(mine)?;
                    let opening_balance_minor = account
                        .balance_minor
                        .unwrap_or(0)
                        .checked_sub(posted)
                        .ok_or(ProfileRejection::Overflow)?;
                    AccountAnchor { opening_balance_minor, opened_on }
                }
            };
            out.push(ProfileEvent::AccountLinked {
                account: account.clone(),
                opening_balance_minor: anchor.opening_balance_minor,
                opened_on: anchor.opened_on.unwrap_or(today),
            });
        }
        for (date, day) in by_day {
            for part in day.chunks(IMPORT_EVENT_TRANSACTIONS_MAX) {
                let transactions = part.to_vec();
                out.push(ProfileEvent::TransactionsImported {
                    import_id,
                    source,
                    date,
                    transactions,
                });
            }
        }
        Ok(out)
    }
}

impl Aggregate for Profile {
    const CATEGORY: &'static str = "profile";

    type Command = ProfileCommand;
    type Event = ProfileEvent;
    type Error = ProfileRejection;

    fn decide(
        &self,
        command: &ProfileCommand,
        ctx: &DecideContext<'_>,
    ) -> Result<Vec<ProfileEvent>, ProfileRejection> {
        if let ProfileCommand::Create { profile_id, base_currency } = command {
            if self.info.is_some() {
                return Err(ProfileRejection::AlreadyCreated);
            }
            return Ok(vec![ProfileEvent::ProfileCreated(ProfileInfo {
                profile_id: profile_id.clone(),
                base_currency: *base_currency,
                created_at: ctx.now(),
            })]);
        }
        if self.info.is_none() {
            return Err(ProfileRejection::NotCreated);
        }
        match command {
            ProfileCommand::Create { .. } => Err(ProfileRejection::AlreadyCreated),
            ProfileCommand::Import { import_id, source, accounts, transactions, anchors } => self
                .decide_import(
                    *import_id,
                    *source,
                    accounts,
                    transactions,
                    anchors,
                    ctx.now().date_naive(),
                ),
            ProfileCommand::ValueManualAsset(asset) => {
                let invalid = |reason| ProfileRejection::InvalidManualAsset {
                    asset_id: asset.asset_id.clone(),
                    reason,
                };
                if asset.asset_id.trim().is_empty() {
                    return Err(invalid("the id is empty"));
                }
                if asset.value_minor < 0 {
                    return Err(invalid("the value is negative"));
                }
                if asset.valuation_date > ctx.now().date_naive() {
                    return Err(invalid("the valuation date is in the future"));
                }
                let recorded = self
                    .valuations
                    .get(&asset.asset_id)
                    .and_then(|history| history.get(&asset.valuation_date));
                if recorded == Some(&asset.value_minor) {
                    return Ok(Vec::new());
                }
                Ok(vec![ProfileEvent::ManualAssetValued(asset.clone())])
            }
            ProfileCommand::AmendTransaction { transaction, reason } => {
                self.decide_amendment(transaction, reason)
            }
            ProfileCommand::Categorise { changes } => self.decide_categorisation(changes),
            ProfileCommand::CorrectTransaction { transaction_id, reason } => {
                if reason.trim().is_empty() {
                    return Err(ProfileRejection::ReasonRequired);
                }
                let t = self
                    .transactions
                    .get(transaction_id)
                    .ok_or_else(|| ProfileRejection::UnknownTransaction(transaction_id.clone()))?;
                if t.corrected.is_some() {
                    return Err(ProfileRejection::AlreadyCorrected(transaction_id.clone()));
                }
                Ok(vec![ProfileEvent::TransactionCorrected {
                    transaction_id: transaction_id.clone(),
                    reason: reason.clone(),
                    date: t.transaction.date,
                }])
            }
        }
    }

    fn apply(&mut self, event: &ProfileEvent) {
        match event {
            ProfileEvent::ProfileCreated(info) => self.info = Some(info.clone()),
            ProfileEvent::AccountLinked { account, opening_balance_minor, opened_on } => {
                self.accounts.entry(account.account_id.clone()).or_insert_with(|| TwinAccount {
                    account: account.clone(),
                    opening_balance_minor: *opening_balance_minor,
                    balance_minor: *opening_balance_minor,
                    pending_minor: 0,
                    opened_on: Some(*opened_on),
                });
            }
            ProfileEvent::TransactionsImported { transactions, .. } => {
                for t in transactions {
                    self.fold_transaction(t);
                }
            }
            ProfileEvent::ManualAssetValued(asset) => {
                self.valuations
                    .entry(asset.asset_id.clone())
                    .or_default()
                    .insert(asset.valuation_date, asset.value_minor);
                let newer = self
                    .manual_assets
                    .get(&asset.asset_id)
                    .is_none_or(|known| known.valuation_date <= asset.valuation_date);
                if newer {
                    self.manual_assets.insert(asset.asset_id.clone(), asset.clone());
                }
            }
            ProfileEvent::TransactionAmended { transaction, .. } => {
                self.fold_amendment(transaction);
            }
            ProfileEvent::TransactionCategorised { transaction, .. } => {
                self.fold_categorisation(transaction);
            }
            ProfileEvent::TransactionCorrected { transaction_id, reason, .. } => {
                let Some(t) = self.transactions.get_mut(transaction_id) else { return };
                if t.corrected.is_some() {
                    return;
                }
                let (posted, open) = (t.is_effective_posted(), t.is_open_pending());
                t.corrected = Some(reason.clone());
                let (account_id, amount) =
                    (t.transaction.account_id.clone(), t.transaction.amount_minor);
                if let Some(account) = self.accounts.get_mut(&account_id) {
                    if posted {
                        account.balance_minor = account.balance_minor.saturating_sub(amount);
                    } else if open {
                        account.pending_minor = account.pending_minor.saturating_sub(amount);
                    }
                }
            }
        }
    }
}

impl Profile {
    fn fold_transaction(&mut self, t: &UnifiedTransaction) {
        if self.transactions.contains_key(&t.transaction_id) {
            return;
        }
        let Some(account) = self.accounts.get_mut(&t.account_id) else { return };
        match t.status {
            TransactionStatus::Posted => {
                account.balance_minor = account.balance_minor.saturating_add(t.amount_minor);
            }
            TransactionStatus::Pending => {
                account.pending_minor = account.pending_minor.saturating_add(t.amount_minor);
            }
        }
        if let Some(pending_id) = &t.pending_transaction_id
            && let Some(pending) = self.transactions.get_mut(pending_id)
            && pending.is_open_pending()
        {
            pending.replaced_by = Some(t.transaction_id.clone());
            let held = pending.transaction.amount_minor;
            if let Some(account) = self.accounts.get_mut(&pending.transaction.account_id) {
                account.pending_minor = account.pending_minor.saturating_sub(held);
            }
        }
        self.transactions.insert(
            t.transaction_id.clone(),
            TwinTransaction { transaction: t.clone(), replaced_by: None, corrected: None },
        );
    }
}
