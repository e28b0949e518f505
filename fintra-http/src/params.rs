//! Request parameters: the tenant, dates, months, page limits and cursors, each refused with a
//! 400 naming the parameter when malformed.

use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::Engine as _;
use chrono::{Datelike, NaiveDate};
use fintra_core::{StreamId, TenantId};

use crate::error::{ApiError, ErrorCode};

/// The query string as a map (the last value of a repeated parameter wins).
pub(crate) fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// The tenant of a request: the `x-tenant-id` header, or `tenant_id` in the query where the
/// route allows it (browsers' `EventSource` cannot set headers).
pub(crate) fn tenant(
    headers: &HeaderMap,
    query: Option<&HashMap<String, String>>,
    allowed: Option<&std::collections::BTreeSet<String>>,
) -> Result<TenantId, ApiError> {
    let text = match headers.get("x-tenant-id") {
        Some(value) => value.to_str().map_err(|_| {
            ApiError::bad_parameter("x-tenant-id", "x-tenant-id is not visible ASCII")
        })?,
        None => match query.and_then(|q| q.get("tenant_id")) {
            Some(value) => value.as_str(),
            None => {
                return Err(ApiError::new(
                    ErrorCode::MissingTenant,
                    "send the tenant in the x-tenant-id header",
                ));
            }
        },
    };
    let tenant = TenantId::new(text)
        .map_err(|e| ApiError::bad_parameter("x-tenant-id", format!("invalid tenant id: {e}")))?;
    if allowed.is_some_and(|set| !set.contains(tenant.as_str())) {
        return Err(ApiError::new(
            ErrorCode::UnknownTenant,
            "this server does not serve that tenant",
        ));
    }
    Ok(tenant)
}

/// The profile stream of a path id (`profile-<id>`).
pub(crate) fn profile_stream(id: &str) -> Result<StreamId, ApiError> {
    StreamId::new(format!("profile-{id}"))
        .map_err(|e| ApiError::bad_parameter("id", format!("invalid profile id: {e}")))
}

/// An optional `YYYY-MM-DD` parameter.
pub(crate) fn date(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<NaiveDate>, ApiError> {
    query
        .get(name)
        .map(|text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                ApiError::bad_parameter(name, format!("{name} must be a date YYYY-MM-DD"))
            })
        })
        .transpose()
}

/// An optional `YYYY-MM` parameter, as the first day of that month.
pub(crate) fn month(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<NaiveDate>, ApiError> {
    query
        .get(name)
        .map(|text| {
            let bad = || ApiError::bad_parameter(name, format!("{name} must be a month YYYY-MM"));
            let (y, m) = text.split_once('-').ok_or_else(bad)?;
            if y.len() != 4 || m.len() != 2 {
                return Err(bad());
            }
            let (y, m) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)
        })
        .transpose()
}

/// Months from `from` to `to` inclusive (first days).
pub(crate) fn months_between(from: NaiveDate, to: NaiveDate) -> u32 {
    let months = (to.year() - from.year()) * 12 + i32::try_from(to.month()).unwrap_or(0)
        - i32::try_from(from.month()).unwrap_or(0);
    u32::try_from(months + 1).unwrap_or(0)
}

/// `limit`: 1..=`max`, `default` when absent.
pub(crate) fn limit(
    query: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(text) = query.get("limit") else { return Ok(default) };
    let bad = || ApiError {
        code: ErrorCode::BadRequest,
        message: format!("limit must be a whole number from 1 to {max}"),
        details: serde_json::json!({ "parameter": "limit", "max": max }),
    };
    let n: usize = text.parse().map_err(|_| bad())?;
    if n == 0 || n > max {
        return Err(bad());
    }
    Ok(n)
}

/// Where a page of transactions ends: the last row's (date, id).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Cursor {
    /// Date.
    pub d: NaiveDate,
    /// Transaction id.
    pub t: String,
}

impl Cursor {
    pub(crate) fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub(crate) fn decode(query: &HashMap<String, String>) -> Result<Option<Self>, ApiError> {
        let Some(text) = query.get("cursor") else { return Ok(None) };
        let bad = || ApiError::bad_parameter("cursor", "cursor is not one this server handed out");
        if text.len() > 1024 {
            return Err(bad());
        }
        let bytes =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map(Some).map_err(|_| bad())
    }
}

/// Whether `If-None-Match` holds `etag` (or `*`); weak and strong forms compare equal.
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers.get_all(axum::http::header::IF_NONE_MATCH).iter().any(|value| {
        value.to_str().is_ok_and(|list| {
            list.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn months_parse_and_count() {
        let from = month(&q(&[("from", "2024-11")]), "from").unwrap().unwrap();
        let to = month(&q(&[("to", "2025-02")]), "to").unwrap().unwrap();
        assert_eq!(months_between(from, to), 4);
        for bad in ["2024-13", "2024-1", "24-01", "2024/01", "x", ""] {
            assert!(month(&q(&[("from", bad)]), "from").is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(limit(&q(&[]), 50, 500).unwrap(), 50);
        assert_eq!(limit(&q(&[("limit", "500")]), 50, 500).unwrap(), 500);
        for bad in ["0", "501", "-1", "1e9", "99999999999999999999999"] {
            let e = limit(&q(&[("limit", bad)]), 50, 500).unwrap_err();
            assert_eq!(e.details["parameter"], "limit", "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor { d: NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(), t: "plaid:t1".into() };
        let back = Cursor::decode(&q(&[("cursor", &c.encode())])).unwrap();
        assert_eq!(back, Some(c));
        for bad in ["!!!", "e30", "bm90IGpzb24", &"A".repeat(2000)] {
            assert!(Cursor::decode(&q(&[("cursor", bad)])).is_err(), "{bad}");
        }
    }

    #[test]
    fn etags_match_weak_strong_and_lists() {
        let mut headers = HeaderMap::new();
        headers.insert("if-none-match", "\"a\", W/\"7\"".parse().unwrap());
        assert!(not_modified(&headers, "\"7\""));
        assert!(!not_modified(&headers, "\"8\""));
        headers.insert("if-none-match", "*".parse().unwrap());
        assert!(not_modified(&headers, "\"8\""));
    }

    #[test]
    fn tenants_are_checked() {
        let mut headers = HeaderMap::new();
        assert_eq!(tenant(&headers, None, None).unwrap_err().code, ErrorCode::MissingTenant);
        headers.insert("x-tenant-id", "acme".parse().unwrap());
        let allowed: std::collections::BTreeSet<String> = ["other".to_owned()].into();
        assert_eq!(
            tenant(&headers, None, Some(&allowed)).unwrap_err().code,
            ErrorCode::UnknownTenant
        );
        assert_eq!(tenant(&headers, None, None).unwrap().as_str(), "acme");
        let query = q(&[("tenant_id", "acme")]);
        assert_eq!(tenant(&HeaderMap::new(), Some(&query), None).unwrap().as_str(), "acme");
    }
}
