use super::*;
use proptest::prelude::*;

#[test]
fn display_uses_the_asset_scale() {
    assert_eq!(Money::new(-1999, Asset::USD).to_string(), "-19.99 USD");
    assert_eq!(Money::new(5, Asset::USD).to_string(), "0.05 USD");
    assert_eq!(Money::new(1500, Asset::JPY).to_string(), "1500 JPY");
    let kwd = Asset::iso("KWD").unwrap();
    assert_eq!(Money::new(1, kwd).to_string(), "0.001 KWD");
    let btc = Asset::custom("BTC", 8).unwrap();
    assert_eq!(Money::new(123_456_789, btc).to_string(), "1.23456789 BTC");
}

#[test]
fn parse_refuses_to_round() {
    assert_eq!(Money::parse("12.3", Asset::USD).unwrap().minor(), 1230);
    assert_eq!(Money::parse("-0.01", Asset::USD).unwrap().minor(), -1);
    assert!(matches!(Money::parse("0.001", Asset::USD), Err(MoneyError::PrecisionLoss { .. })));
    assert!(matches!(Money::parse("1.5", Asset::JPY), Err(MoneyError::PrecisionLoss { .. })));
    assert_eq!(
        Money::parse("1.50", Asset::JPY).unwrap_err().to_string(),
        "1.50 has more than 0 decimal places"
    );
    assert!(matches!(Money::parse("abc", Asset::USD), Err(MoneyError::Parse(_))));
    assert!(matches!(Money::parse("1e400", Asset::USD), Err(MoneyError::Parse(_))));
}

#[test]
fn arithmetic_is_checked() {
    let max = Money::new(i128::MAX, Asset::USD);
    assert_eq!(max.checked_add(Money::new(1, Asset::USD)), Err(MoneyError::Overflow));
    assert_eq!(Money::new(i128::MIN, Asset::USD).checked_neg(), Err(MoneyError::Overflow));
    assert!(matches!(
        Money::new(1, Asset::USD).checked_sub(Money::new(1, Asset::GBP)),
        Err(MoneyError::AssetMismatch { .. })
    ));
    assert_eq!(max.checked_mul(2), Err(MoneyError::Overflow));
    assert!(max.to_decimal().is_err(), "i128::MAX does not fit Decimal");
}

#[test]
fn assets_validate() {
    assert!(matches!(Asset::iso("XYZ"), Err(MoneyError::UnknownCurrency(_))));
    assert!(matches!(Asset::custom("USD", 4), Err(MoneyError::InvalidAssetCode(_))));
    assert!(matches!(Asset::custom("", 2), Err(MoneyError::InvalidAssetCode(_))));
    assert!(matches!(Asset::custom("btc", 8), Err(MoneyError::InvalidAssetCode(_))));
    assert!(matches!(Asset::custom("ABCDEFGHIJKLM", 2), Err(MoneyError::InvalidAssetCode(_))));
    assert!(matches!(Asset::custom("ETH", 19), Err(MoneyError::ScaleTooLarge(19))));
    assert_eq!(Asset::iso("USD").unwrap(), Asset::USD);
    assert!(Asset::resolve("USD", Some(3)).is_err());
}

#[test]
fn serde_forms() {
    let gbp = Money::new(1999, Asset::GBP);
    let json = serde_json::to_string(&gbp).unwrap();
    assert_eq!(json, r#"{"amount_minor":1999,"currency":"GBP"}"#);
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), gbp);
    let eth = Money::new(10i128.pow(20), Asset::custom("ETH", 18).unwrap());
    let json = serde_json::to_string(&eth).unwrap();
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), eth);
    assert!(serde_json::from_str::<Money>(r#"{"amount_minor":1,"currency":"ZZZ"}"#).is_err());
    assert_eq!(serde_json::to_string(&Asset::custom("BTC", 8).unwrap()).unwrap(), "\"BTC:8\"");
    assert_eq!(serde_json::from_str::<Asset>("\"JPY\"").unwrap(), Asset::JPY);
}

proptest! {
    #[test]
    fn decimal_round_trip(minor in any::<i64>(), scale in 0u8..=18) {
        let asset = Asset::custom("TOK", scale).unwrap();
        let money = Money::new(i128::from(minor), asset);
        let decimal = money.to_decimal().unwrap();
        prop_assert_eq!(Money::from_decimal(decimal, asset).unwrap(), money);
        prop_assert_eq!(Money::parse(&decimal.to_string(), asset).unwrap(), money);
    }

    #[test]
    fn add_then_sub_is_identity(a in any::<i64>(), b in any::<i64>()) {
        let (a, b) = (Money::new(a.into(), Asset::EUR), Money::new(b.into(), Asset::EUR));
        prop_assert_eq!(a.checked_add(b).unwrap().checked_sub(b).unwrap(), a);
    }
}
