//! Relay-style pagination: opaque cursors and page sizes.

use crate::config::ApiConfig;
use crate::error::{ApiError, ApiResult};
use async_graphql::SimpleObject;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where a page stands.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    /// Whether more items follow this page.
    pub has_next_page: bool,
    /// Cursor of the last item of this page (pass it as `after`).
    pub end_cursor: Option<String>,
}

/// Encodes a position (`kind` keeps cursors of different lists apart).
#[must_use]
pub fn encode(kind: &str, position: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{position}"))
}

/// Decodes a cursor made by [`encode`] with the same `kind`.
pub fn decode(kind: &str, cursor: &str) -> ApiResult<u64> {
    let bad = || ApiError::invalid(format!("cursor '{cursor}' is not valid here"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (k, n) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    n.parse().map_err(|_| bad())
}

/// The page size for `first`, checked against the limits.
pub fn page_size(config: &ApiConfig, first: Option<i32>) -> ApiResult<usize> {
    match first {
        None => Ok(config.page_size_default),
        Some(n) if n < 0 => Err(ApiError::invalid(format!("first must be ≥ 0, got {n}"))),
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > config.page_size_max {
                Err(ApiError::invalid(format!(
                    "first is {n}, over the page size limit of {}",
                    config.page_size_max
                )))
            } else {
                Ok(n)
            }
        }
    }
}

/// Encodes a text position (an order id) under `kind`.
#[must_use]
pub fn encode_text(kind: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{position}"))
}

/// Decodes a cursor made by [`encode_text`] with the same `kind`.
pub fn decode_text(kind: &str, cursor: &str) -> ApiResult<String> {
    let bad = || ApiError::invalid(format!("cursor '{cursor}' is not valid here"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (k, position) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    Ok(position.to_owned())
}
