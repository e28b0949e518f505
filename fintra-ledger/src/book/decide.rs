//! Deciding: the checks of one transfer against a book (or an overlay of it).

use super::fold::{BookState, FoldError, Overlay, fold_transfer};
use super::*;

pub(super) fn too_large(what: &'static str, max: usize, actual: usize) -> Result<(), Rejection> {
    if actual > max { Err(Rejection::TooLarge { what, max, actual }) } else { Ok(()) }
}

pub(super) fn not_in_future(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Rejection> {
    let at = truncate_to_micros(at);
    if at > now { Err(Rejection::InFuture { at, now }) } else { Ok(at) }
}

pub(super) fn not_before(at: DateTime<Utc>, earliest: DateTime<Utc>) -> Result<(), Rejection> {
    if at < earliest { Err(Rejection::EffectiveTooEarly { at, earliest }) } else { Ok(()) }
}

pub(super) fn check_account(spec: &NewAccount) -> Result<(), Rejection> {
    if spec.flags.debits_must_not_exceed_credits && spec.flags.credits_must_not_exceed_debits {
        return Err(Rejection::ConflictingFlags { account: spec.id });
    }
    too_large("account metadata entries", HEADERS_MAX, spec.metadata.len())?;
    for (key, value) in &spec.metadata {
        too_large("account metadata key bytes", HEADER_NAME_BYTES_MAX, key.len())?;
        too_large("account metadata value bytes", HEADER_VALUE_BYTES_MAX, value.len())?;
    }
    Ok(())
}

/// Opening the same account again is a no-op only if nothing but a defaulted `opened_at` differs.
pub(super) fn same_account(existing: &NewAccount, request: &NewAccount) -> bool {
    let opened_matches = request.opened_at.is_none()
        || request.opened_at.map(truncate_to_micros) == existing.opened_at;
    opened_matches
        && NewAccount { opened_at: None, ..existing.clone() }
            == NewAccount { opened_at: None, ..request.clone() }
}

/// The two open accounts of a leg, checked against its amount.
pub(super) fn open_pair<'b, B: BookState>(
    book: &'b B,
    id: TransferId,
    leg: &Leg,
) -> Result<(&'b Account, &'b Account), Rejection> {
    if leg.amount.minor() <= 0 {
        return Err(Rejection::AmountNotPositive { id });
    }
    if leg.debit == leg.credit {
        return Err(Rejection::SameAccount { id });
    }
    let debit = open_account(book, leg.debit)?;
    let credit = open_account(book, leg.credit)?;
    for account in [debit, credit] {
        if account.spec.asset != leg.amount.asset() {
            return Err(Rejection::CurrencyMismatch {
                account: account.id(),
                expected: account.spec.asset,
                given: leg.amount.asset(),
            });
        }
    }
    if debit.spec.ledger != credit.spec.ledger {
        return Err(Rejection::LedgerMismatch {
            debit: debit.spec.ledger,
            credit: credit.spec.ledger,
        });
    }
    Ok((debit, credit))
}

pub(super) fn open_account<B: BookState>(book: &B, id: AccountId) -> Result<&Account, Rejection> {
    let account = book.account(id).ok_or(Rejection::AccountNotFound { account: id })?;
    if account.closed_at.is_some() {
        return Err(Rejection::AccountClosed { account: id });
    }
    Ok(account)
}

/// The open pending transfer `pending` refers to.
pub(super) fn open_pending<B: BookState>(
    book: &B,
    pending: TransferId,
    now: DateTime<Utc>,
) -> Result<&Transfer, Rejection> {
    let t = book.transfer(pending).ok_or(Rejection::TransferNotFound { id: pending })?;
    let Phase::Pending { deadline } = t.phase else {
        return Err(Rejection::NotPending { id: pending });
    };
    let status = book.pending_status(pending).unwrap_or(PendingStatus::Open);
    if status != PendingStatus::Open {
        return Err(Rejection::PendingNotOpen { pending, status });
    }
    if deadline.is_some_and(|d| d <= now) {
        return Err(Rejection::PendingNotOpen { pending, status: PendingStatus::Expired });
    }
    Ok(t)
}

/// A partial amount in `asset`, positive; `None` means `default`.
pub(super) fn part(
    id: TransferId,
    account: AccountId,
    asset: Asset,
    amount: Option<fintra_core::Money>,
    default: i128,
) -> Result<i128, Rejection> {
    let Some(amount) = amount else { return Ok(default) };
    if amount.asset() != asset {
        return Err(Rejection::CurrencyMismatch {
            account,
            expected: asset,
            given: amount.asset(),
        });
    }
    if amount.minor() <= 0 {
        return Err(Rejection::AmountNotPositive { id });
    }
    Ok(amount.minor())
}

/// What a transfer request resolves to before it is folded: its phase, accounts and amount,
/// and the earliest effective date its accounts (or original) allow.
struct Shape {
    phase: Phase,
    debit: AccountId,
    credit: AccountId,
    amount: fintra_core::Money,
    earliest: DateTime<Utc>,
}

/// Decides one transfer against the overlay; `Ok(None)` for an identical retry.
pub(super) fn decide_transfer(
    work: &mut Overlay<'_>,
    request: &NewTransfer,
    now: DateTime<Utc>,
) -> Result<Option<Transferred>, Rejection> {
    let id = request.id;
    if let Some(existing) = work.transfer(id) {
        return if existing.request == *request {
            Ok(None)
        } else {
            Err(Rejection::IdempotencyConflict { id })
        };
    }
    if let Some(reference) = &request.reference {
        too_large("transfer reference bytes", REFERENCE_BYTES_MAX, reference.len())?;
    }
    let effective_at = not_in_future(request.effective_at.unwrap_or(now), now)?;
    let shape = shape(work, request, now)?;
    not_before(effective_at, shape.earliest)?;
    let (debit_account, credit_account) = (shape.debit, shape.credit);
    let transfer = Transfer {
        request: request.clone(),
        phase: shape.phase,
        debit_account,
        credit_account,
        amount: shape.amount,
        effective_at,
        recorded_at: now,
    };
    fold_transfer(work, &transfer).map_err(|e| match e {
        FoldError::Overflow(account) => Rejection::Overflow { account },
        FoldError::Missing => Rejection::AccountNotFound { account: debit_account },
    })?;
    let debit_balance = work.balance(debit_account).unwrap_or_default();
    let credit_balance = work.balance(credit_account).unwrap_or_default();
    check_flags(work, debit_account, &debit_balance, credit_account, &credit_balance)?;
    if let Some(condition) = &request.condition {
        let sides = [(debit_account, debit_balance), (credit_account, credit_balance)];
        check_condition(work, id, condition, &sides)?;
    }
    Ok(Some(Transferred { transfer, debit_balance, credit_balance }))
}

/// Resolves the request's kind into what moves between which accounts.
fn shape(
    work: &Overlay<'_>,
    request: &NewTransfer,
    now: DateTime<Utc>,
) -> Result<Shape, Rejection> {
    let id = request.id;
    let leg_shape =
        |leg: &Leg, phase: Phase, amount: fintra_core::Money| -> Result<Shape, Rejection> {
            let (debit, credit) = open_pair(work, id, leg)?;
            let earliest = debit.opened_at().max(credit.opened_at());
            Ok(Shape { phase, debit: leg.debit, credit: leg.credit, amount, earliest })
        };
    match &request.kind {
        TransferKind::Posted { leg } => leg_shape(leg, Phase::Posted, leg.amount),
        TransferKind::Pending { leg, timeout_secs } => {
            let deadline = match timeout_secs {
                None => None,
                Some(0) => {
                    return Err(Rejection::Invalid {
                        field: "timeout_secs",
                        reason: "must be at least 1 second (use None for no timeout)",
                    });
                }
                Some(secs) => Some(now + Duration::seconds(i64::from(*secs))),
            };
            leg_shape(leg, Phase::Pending { deadline }, leg.amount)
        }
        TransferKind::PostPending { pending, amount } => {
            let p = open_pending(work, *pending, now)?;
            let reserved = p.amount.minor();
            let posted = part(id, p.debit_account, p.amount.asset(), *amount, reserved)?;
            if posted > reserved {
                let asset = p.amount.asset();
                return Err(Rejection::PostExceedsPending {
                    pending: *pending,
                    reserved: fintra_core::Money::new(reserved, asset),
                    requested: fintra_core::Money::new(posted, asset),
                });
            }
            let amount = fintra_core::Money::new(posted, p.amount.asset());
            let phase = Phase::Post { pending: *pending };
            let (debit, credit) = (p.debit_account, p.credit_account);
            Ok(Shape { phase, debit, credit, amount, earliest: p.effective_at })
        }
        TransferKind::VoidPending { pending } => {
            let p = open_pending(work, *pending, now)?;
            let phase = Phase::Void { pending: *pending };
            let (debit, credit) = (p.debit_account, p.credit_account);
            Ok(Shape { phase, debit, credit, amount: p.amount, earliest: p.effective_at })
        }
        TransferKind::Balancing { leg, side } => {
            let headroom = match side {
                BalancingSide::Debit => work.balance(leg.debit).map(|b| b.debit_headroom()),
                BalancingSide::Credit => work.balance(leg.credit).map(|b| b.credit_headroom()),
            }
            .unwrap_or(0);
            let moved = leg.amount.minor().min(headroom);
            if moved <= 0 {
                open_pair(work, id, leg)?;
                return Err(Rejection::NothingAvailable { id });
            }
            leg_shape(leg, Phase::Posted, fintra_core::Money::new(moved, leg.amount.asset()))
        }
        TransferKind::Correction { original, amount, reason } => {
            correction(work, id, *original, *amount, reason)
        }
    }
}

/// A compensating correction: the reverse leg of a posted transfer, for all or part of what
/// has not been corrected yet.
fn correction(
    work: &Overlay<'_>,
    id: TransferId,
    original: TransferId,
    amount: Option<fintra_core::Money>,
    reason: &str,
) -> Result<Shape, Rejection> {
    too_large("correction reason bytes", CORRECTION_REASON_BYTES_MAX, reason.len())?;
    if reason.trim().is_empty() {
        return Err(Rejection::Invalid { field: "reason", reason: "must not be empty" });
    }
    let o = work.transfer(original).ok_or(Rejection::TransferNotFound { id: original })?;
    let correctable = matches!(o.phase, Phase::Posted | Phase::Post { .. })
        && !matches!(o.request.kind, TransferKind::Correction { .. });
    if !correctable {
        return Err(Rejection::NotCorrectable { original });
    }
    let (debit, credit, asset) = (o.credit_account, o.debit_account, o.amount.asset());
    let (o_amount, earliest) = (o.amount.minor(), o.effective_at);
    let remaining = o_amount.saturating_sub(work.corrected(original));
    let requested = part(id, debit, asset, amount, remaining)?;
    if requested > remaining || remaining <= 0 {
        return Err(Rejection::CorrectionExceedsOriginal {
            original,
            remaining: fintra_core::Money::new(remaining, asset),
            requested: fintra_core::Money::new(requested, asset),
        });
    }
    open_account(work, debit)?;
    open_account(work, credit)?;
    let amount = fintra_core::Money::new(requested, asset);
    Ok(Shape { phase: Phase::Posted, debit, credit, amount, earliest })
}

/// A balance-conditional transfer: the named side must keep at least the given balance.
fn check_condition(
    work: &Overlay<'_>,
    id: TransferId,
    condition: &crate::BalanceCondition,
    sides: &[(AccountId, Balance); 2],
) -> Result<(), Rejection> {
    let Some((account, balance)) = sides.iter().find(|(a, _)| *a == condition.account).copied()
    else {
        return Err(Rejection::ConditionAccount { id });
    };
    let spec = &work.account(account).ok_or(Rejection::AccountNotFound { account })?.spec;
    if condition.at_least.asset() != spec.asset {
        return Err(Rejection::CurrencyMismatch {
            account,
            expected: spec.asset,
            given: condition.at_least.asset(),
        });
    }
    let available = balance.available(spec.kind);
    let at_least = condition.at_least.minor();
    if available < at_least {
        return Err(Rejection::ConditionFailed {
            account,
            available: fintra_core::Money::new(available, spec.asset),
            at_least: condition.at_least,
        });
    }
    Ok(())
}

pub(super) fn check_flags<B: BookState>(
    book: &B,
    debit_id: AccountId,
    debit: &Balance,
    credit_id: AccountId,
    credit: &Balance,
) -> Result<(), Rejection> {
    let spec = |id| book.account(id).map(|a| a.spec.clone());
    let (Some(debit_spec), Some(credit_spec)) = (spec(debit_id), spec(credit_id)) else {
        return Ok(()); // accounts exist by now; nothing to bound otherwise
    };
    let money =
        |minor: Option<i128>, asset| fintra_core::Money::new(minor.unwrap_or(i128::MAX), asset);
    let debits = debit.debits_pending.checked_add(debit.debits_posted);
    if debit_spec.flags.debits_must_not_exceed_credits
        && debits.is_none_or(|d| d > debit.credits_posted)
    {
        return Err(Rejection::ExceedsCredits {
            account: debit_id,
            debits: money(debits, debit_spec.asset),
            credits: fintra_core::Money::new(debit.credits_posted, debit_spec.asset),
        });
    }
    let credits = credit.credits_pending.checked_add(credit.credits_posted);
    if credit_spec.flags.credits_must_not_exceed_debits
        && credits.is_none_or(|c| c > credit.debits_posted)
    {
        return Err(Rejection::ExceedsDebits {
            account: credit_id,
            credits: money(credits, credit_spec.asset),
            debits: fintra_core::Money::new(credit.debits_posted, credit_spec.asset),
        });
    }
    Ok(())
}
