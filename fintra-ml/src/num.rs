//! Conversions between money (integer minor units) and the floating point that statistics
//! need, in one place: each says what it does at the edges, and none panics.

/// Minor units as `f64` (exact below 2^53, the nearest value beyond).
#[allow(clippy::cast_precision_loss, reason = "amounts far below 2^53 are exact; beyond, nearest")]
pub(crate) fn f(x: i128) -> f64 {
    x as f64
}

/// A count as `f64`.
#[allow(clippy::cast_precision_loss, reason = "counts far below 2^53")]
pub(crate) fn fu(x: usize) -> f64 {
    x as f64
}

/// `f64` to minor units, truncated toward zero; NaN is 0 and infinities saturate.
#[allow(clippy::cast_possible_truncation, reason = "saturating by definition of `as`")]
pub(crate) fn minor(x: f64) -> i128 {
    x as i128
}

/// `f64` to a count, truncated; negative and NaN are 0.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "saturating by definition of `as`"
)]
pub(crate) fn count(x: f64) -> usize {
    x as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edges_saturate() {
        assert_eq!(minor(f64::NAN), 0);
        assert_eq!(minor(f64::INFINITY), i128::MAX);
        assert_eq!(count(-3.0), 0);
        assert_eq!(minor(f(-1_234)), -1_234);
        assert!((fu(3) - 3.0).abs() < f64::EPSILON);
    }
}

/// Serde for an `i128` amount inside a buffered (internally tagged) enum, which cannot hold
/// 128-bit integers: a JSON number when it fits `i64` (every real amount), a decimal string
/// beyond. Reads either.
pub(crate) mod amount_serde {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Small(i64),
        Text(String),
    }

    #[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's `with` passes a reference")]
    pub(crate) fn serialize<S: Serializer>(value: &i128, s: S) -> Result<S::Ok, S::Error> {
        match i64::try_from(*value) {
            Ok(small) => s.serialize_i64(small),
            Err(_) => s.serialize_str(&value.to_string()),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        match Wire::deserialize(d)? {
            Wire::Small(small) => Ok(i128::from(small)),
            Wire::Text(text) => text.parse().map_err(D::Error::custom),
        }
    }
}
