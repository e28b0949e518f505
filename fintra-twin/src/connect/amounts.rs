//! Exact amounts from provider text: decimals as given, minor units that never round money that
//! moves, and valuations rounded half-even with the exact value kept.

use rust_decimal::Decimal;
use serde_json::value::RawValue;

use super::ConnectError;
use fintra_core::{Asset, Money};

/// The exact decimal of a JSON number (or numeric string).
pub(crate) fn exact(record: &str, raw: &RawValue) -> Result<Decimal, ConnectError> {
    let text = raw.get().trim().trim_matches('"');
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        text.parse::<Decimal>()
    };
    parsed.map_err(|_| ConnectError::InvalidAmount {
        record: record.to_owned(),
        value: text.chars().take(64).collect(),
        reason: "not a decimal number".to_owned(),
    })
}

/// An optional exact decimal (`null` or absent is `None`).
pub(crate) fn exact_opt(
    record: &str,
    raw: Option<&RawValue>,
) -> Result<Option<Decimal>, ConnectError> {
    match raw {
        None => Ok(None),
        Some(raw) if raw.get().trim() == "null" => Ok(None),
        Some(raw) => exact(record, raw).map(Some),
    }
}

/// Minor units of `asset`, rounding half-even when the value has more decimals (a valuation);
/// the exact value is returned too when rounding changed it.
pub(crate) fn valuation(
    record: &str,
    value: Decimal,
    asset: Asset,
) -> Result<(i128, Option<Decimal>), ConnectError> {
    let rounded = value.round_dp_with_strategy(
        u32::from(asset.scale()),
        rust_decimal::RoundingStrategy::MidpointNearestEven,
    );
    let minor = Money::from_decimal(rounded, asset).map_err(|e| ConnectError::InvalidAmount {
        record: record.to_owned(),
        value: value.to_string(),
        reason: e.to_string(),
    })?;
    Ok((minor.minor(), (rounded != value).then_some(value)))
}

/// Minor units of `asset`, refusing to round (money that moves).
pub(crate) fn money_minor(
    record: &str,
    value: Decimal,
    asset: Asset,
) -> Result<i128, ConnectError> {
    Money::from_decimal(value, asset).map(|m| m.minor()).map_err(|e| ConnectError::InvalidAmount {
        record: record.to_owned(),
        value: value.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minor(text: &str, asset: Asset) -> Result<i128, ConnectError> {
        let raw = RawValue::from_string(text.to_owned()).map_err(|e| ConnectError::Malformed {
            record: "r".to_owned(),
            reason: e.to_string(),
        })?;
        money_minor("r", exact("r", &raw)?, asset)
    }

    #[test]
    fn money_that_moves_is_exact_and_never_rounded() {
        assert_eq!(minor("12.34", Asset::USD), Ok(1234));
        assert_eq!(minor("\"-0.5\"", Asset::USD), Ok(-50));
        assert_eq!(minor("1.2e2", Asset::USD), Ok(12000));
        assert_eq!(minor("7", Asset::JPY), Ok(7));
        for (text, asset) in [
            ("0.001", Asset::USD),
            ("1.5", Asset::JPY),
            ("\"abc\"", Asset::USD),
            ("1e400", Asset::USD),
        ] {
            assert!(
                matches!(minor(text, asset), Err(ConnectError::InvalidAmount { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn valuations_round_half_even_and_keep_the_exact_value() {
        let value = "48263.1719".parse::<Decimal>().unwrap();
        assert_eq!(valuation("r", value, Asset::USD), Ok((4_826_317, Some(value))));
        let half = "0.125".parse::<Decimal>().unwrap();
        assert_eq!(valuation("r", half, Asset::USD), Ok((12, Some(half))));
        let whole = "10.50".parse::<Decimal>().unwrap();
        assert_eq!(valuation("r", whole, Asset::USD), Ok((1050, None)));
    }
}
