//! Money as integer minor units of an asset: ISO 4217 currencies or custom assets with their
//! own scale. No floats; every operation is checked; `rust_decimal` only at the edges.

mod iso4217;

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::limits::{ASSET_CODE_BYTES_MAX, ASSET_SCALE_MAX};

/// Why a money operation was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Two amounts in different assets were combined.
    #[error("asset mismatch: {left} vs {right}")]
    AssetMismatch {
        /// The left operand's asset code.
        left: String,
        /// The right operand's asset code.
        right: String,
    },
    /// The result does not fit the integer type.
    #[error("amount overflow")]
    Overflow,
    /// The code is not an active ISO 4217 currency.
    #[error("unknown ISO 4217 currency code {0:?}")]
    UnknownCurrency(String),
    /// A custom asset code is empty, too long, has other characters than `A-Z 0-9 _ . -`, or
    /// is an ISO 4217 code (which has a fixed scale).
    #[error("invalid asset code {0:?}")]
    InvalidAssetCode(String),
    /// A custom asset's scale is above [`ASSET_SCALE_MAX`].
    #[error("asset scale {0} is above the maximum {ASSET_SCALE_MAX}")]
    ScaleTooLarge(u8),
    /// A decimal has more fractional digits than the asset's scale; nothing is rounded silently.
    #[error("{value} has more than {scale} decimal places")]
    PrecisionLoss {
        /// The decimal given.
        value: String,
        /// The asset's scale.
        scale: u8,
    },
    /// The text is not a decimal number.
    #[error("not a decimal amount: {0:?}")]
    Parse(String),
}

/// Whether an asset is an ISO 4217 currency or a custom one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssetKind {
    /// An ISO 4217 currency with its official exponent.
    Iso4217,
    /// A custom asset (crypto, points, securities) with its own scale.
    Custom,
}

/// An asset: a code and the number of decimals of its minor unit. `Copy`, 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Asset {
    code: [u8; ASSET_CODE_BYTES_MAX],
    len: u8,
    scale: u8,
    kind: AssetKind,
}

const fn iso_const(code: &[u8; 3], scale: u8) -> Asset {
    let mut bytes = [0u8; ASSET_CODE_BYTES_MAX];
    bytes[0] = code[0];
    bytes[1] = code[1];
    bytes[2] = code[2];
    Asset { code: bytes, len: 3, scale, kind: AssetKind::Iso4217 }
}

impl Asset {
    /// US dollar.
    pub const USD: Self = iso_const(b"USD", 2);
    /// Euro.
    pub const EUR: Self = iso_const(b"EUR", 2);
    /// Pound sterling.
    pub const GBP: Self = iso_const(b"GBP", 2);
    /// Japanese yen (no minor unit).
    pub const JPY: Self = iso_const(b"JPY", 0);

    /// An ISO 4217 currency by code, e.g. `"GBP"`.
    ///
    /// # Errors
    /// [`MoneyError::UnknownCurrency`] for a code that is not active ISO 4217.
    pub fn iso(code: &str) -> Result<Self, MoneyError> {
        let scale =
            iso4217::exponent(code).ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))?;
        let mut asset = Self::encode(code, AssetKind::Iso4217)?;
        asset.scale = scale;
        Ok(asset)
    }

    /// A custom asset, e.g. `Asset::custom("BTC", 8)`.
    ///
    /// # Errors
    /// [`MoneyError::InvalidAssetCode`] (also for ISO codes), [`MoneyError::ScaleTooLarge`].
    pub fn custom(code: &str, scale: u8) -> Result<Self, MoneyError> {
        if scale > ASSET_SCALE_MAX {
            return Err(MoneyError::ScaleTooLarge(scale));
        }
        if iso4217::exponent(code).is_some() {
            return Err(MoneyError::InvalidAssetCode(code.to_owned()));
        }
        let mut asset = Self::encode(code, AssetKind::Custom)?;
        asset.scale = scale;
        Ok(asset)
    }

    fn encode(code: &str, kind: AssetKind) -> Result<Self, MoneyError> {
        let valid = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b"_.-".contains(&b);
        let len = u8::try_from(code.len()).ok().filter(|&n| n > 0);
        match len {
            Some(len) if code.len() <= ASSET_CODE_BYTES_MAX && code.bytes().all(valid) => {
                let mut bytes = [0u8; ASSET_CODE_BYTES_MAX];
                bytes[..code.len()].copy_from_slice(code.as_bytes());
                Ok(Self { code: bytes, len, scale: 0, kind })
            }
            _ => Err(MoneyError::InvalidAssetCode(code.to_owned())),
        }
    }

    /// The code, e.g. `"USD"`.
    pub fn code(&self) -> &str {
        // Only ASCII bytes are ever stored, so this cannot fail; fall back to "" defensively.
        std::str::from_utf8(&self.code[..usize::from(self.len)]).unwrap_or("")
    }

    /// Decimal places of the minor unit (USD 2, JPY 0, BTC 8 if so defined).
    pub fn scale(&self) -> u8 {
        self.scale
    }

    /// ISO 4217 or custom.
    pub fn kind(&self) -> AssetKind {
        self.kind
    }

    /// Finds an ISO currency by code, or builds a custom asset when `scale` is given.
    ///
    /// # Errors
    /// As [`Asset::iso`] / [`Asset::custom`]; an ISO code with a different `scale` is
    /// [`MoneyError::InvalidAssetCode`].
    pub fn resolve(code: &str, scale: Option<u8>) -> Result<Self, MoneyError> {
        match (iso4217::exponent(code), scale) {
            (Some(_), None) => Self::iso(code),
            (Some(exponent), Some(scale)) if exponent == scale => Self::iso(code),
            (Some(_), Some(_)) => Err(MoneyError::InvalidAssetCode(code.to_owned())),
            (None, Some(scale)) => Self::custom(code, scale),
            (None, None) => Err(MoneyError::UnknownCurrency(code.to_owned())),
        }
    }
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Asset({}, scale {})", self.code(), self.scale)
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in integer minor units of an [`Asset`]. `Copy`; all arithmetic is checked.
///
/// ```
/// use fintra_core::{Asset, Money};
/// let price = Money::parse("19.99", Asset::GBP)?;
/// let total = price.checked_mul(3)?.checked_add(Money::new(3, Asset::GBP))?;
/// assert_eq!(total.to_string(), "60.00 GBP");
/// assert!(price.checked_add(Money::new(1, Asset::EUR)).is_err());
/// # Ok::<(), fintra_core::MoneyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i128,
    asset: Asset,
}

impl Money {
    /// `minor` units of `asset` (cents for USD).
    pub const fn new(minor: i128, asset: Asset) -> Self {
        Self { minor, asset }
    }

    /// Zero of `asset`.
    pub const fn zero(asset: Asset) -> Self {
        Self::new(0, asset)
    }

    /// The amount in minor units.
    pub fn minor(&self) -> i128 {
        self.minor
    }

    /// The asset.
    pub fn asset(&self) -> Asset {
        self.asset
    }

    /// True below zero.
    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// True at zero.
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    fn same_asset(&self, other: &Self) -> Result<(), MoneyError> {
        if self.asset == other.asset {
            Ok(())
        } else {
            Err(MoneyError::AssetMismatch {
                left: self.asset.code().to_owned(),
                right: other.asset.code().to_owned(),
            })
        }
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`MoneyError::AssetMismatch`], [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        self.same_asset(&other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Self::new(minor, self.asset))
    }

    /// `self - other`.
    ///
    /// # Errors
    /// [`MoneyError::AssetMismatch`], [`MoneyError::Overflow`].
    pub fn checked_sub(self, other: Self) -> Result<Self, MoneyError> {
        self.same_asset(&other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Self::new(minor, self.asset))
    }

    /// `-self`.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] for `i128::MIN`.
    pub fn checked_neg(self) -> Result<Self, MoneyError> {
        Ok(Self::new(self.minor.checked_neg().ok_or(MoneyError::Overflow)?, self.asset))
    }

    /// `self * factor`.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn checked_mul(self, factor: i128) -> Result<Self, MoneyError> {
        Ok(Self::new(self.minor.checked_mul(factor).ok_or(MoneyError::Overflow)?, self.asset))
    }

    /// The amount as a decimal in major units (`1999` cents → `19.99`).
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] beyond `Decimal`'s 96-bit mantissa.
    pub fn to_decimal(&self) -> Result<Decimal, MoneyError> {
        Decimal::try_from_i128_with_scale(self.minor, u32::from(self.asset.scale))
            .map_err(|_| MoneyError::Overflow)
    }

    /// Converts a decimal in major units, refusing to round.
    ///
    /// # Errors
    /// [`MoneyError::PrecisionLoss`] for more decimals than the asset's scale,
    /// [`MoneyError::Overflow`].
    pub fn from_decimal(value: Decimal, asset: Asset) -> Result<Self, MoneyError> {
        let scale = u32::from(asset.scale);
        let mut scaled = value.normalize();
        if scaled.scale() > scale {
            let value = value.to_string();
            return Err(MoneyError::PrecisionLoss { value, scale: asset.scale });
        }
        scaled.rescale(scale);
        if scaled.scale() != scale {
            return Err(MoneyError::Overflow);
        }
        Ok(Self::new(scaled.mantissa(), asset))
    }

    /// Parses a decimal string in major units, e.g. `"-12.30"`.
    ///
    /// # Errors
    /// [`MoneyError::Parse`], or as [`Money::from_decimal`].
    pub fn parse(text: &str, asset: Asset) -> Result<Self, MoneyError> {
        let value = Decimal::from_str(text.trim()).map_err(|_| MoneyError::Parse(text.into()))?;
        Self::from_decimal(value, asset)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = u32::from(self.asset.scale);
        let divisor = 10u128.pow(scale);
        let magnitude = self.minor.unsigned_abs();
        let sign = if self.minor < 0 { "-" } else { "" };
        let (major, minor) = (magnitude / divisor, magnitude % divisor);
        let width = usize::from(self.asset.scale);
        if width == 0 {
            write!(f, "{sign}{major} {}", self.asset)
        } else {
            write!(f, "{sign}{major}.{minor:0width$} {}", self.asset)
        }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

/// The serde form: `{"amount_minor": 1999, "currency": "GBP"}`, plus `"scale"` for custom assets.
#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    amount_minor: i128,
    currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale: Option<u8>,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let scale = (self.asset.kind == AssetKind::Custom).then_some(self.asset.scale);
        MoneyRepr { amount_minor: self.minor, currency: self.asset.code().to_owned(), scale }
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = MoneyRepr::deserialize(deserializer)?;
        let asset = Asset::resolve(&repr.currency, repr.scale).map_err(serde::de::Error::custom)?;
        Ok(Self::new(repr.amount_minor, asset))
    }
}

impl Serialize for Asset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.kind {
            AssetKind::Iso4217 => serializer.serialize_str(self.code()),
            AssetKind::Custom => {
                serializer.serialize_str(&format!("{}:{}", self.code(), self.scale))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Asset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let asset = match text.split_once(':') {
            Some((code, scale)) => {
                let scale = scale.parse::<u8>().map_err(serde::de::Error::custom)?;
                Asset::custom(code, scale)
            }
            None => Asset::iso(&text),
        };
        asset.map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
