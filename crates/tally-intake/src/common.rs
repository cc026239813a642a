//! Helpers every format shares: bytes to text, times, keys.

use chrono::{NaiveDate, NaiveDateTime};
use tally_domain::time::Timestamp;

use crate::{FormatError, Refusal};

/// The UTF-8 byte order mark some tools write at the start of a file.
const BOM: &str = "\u{feff}";

/// The input as text without a leading byte order mark, or a file-level error.
pub(crate) fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, FormatError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        FormatError::Invalid(format!(
            "{what}: not UTF-8 (first bad byte at offset {}); save the file as UTF-8",
            e.valid_up_to()
        ))
    })?;
    Ok(text.strip_prefix(BOM).unwrap_or(text))
}

/// A source timestamp in one of the forms reports use: RFC 3339 (`2026-03-01T16:00:00-07:00`),
/// `YYYY-MM-DD HH:MM:SS UTC` (Amazon's V2 settlement), `DD.MM.YYYY HH:MM:SS UTC` (its European
/// marketplaces), or a bare `YYYY-MM-DD` (midnight UTC).
pub(crate) fn timestamp(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = Timestamp::parse_rfc3339(text) {
        return Some(t);
    }
    let naive = |s: &str| {
        ["%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    };
    let utc = text.strip_suffix(" UTC").or_else(|| text.strip_suffix(" GMT"));
    if let Some(body) = utc
        && let Some(t) = naive(body)
    {
        return Some(Timestamp::from_millis(t.and_utc().timestamp_millis()));
    }
    for f in ["%Y-%m-%d", "%d.%m.%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(text, f) {
            return Some(Timestamp::from_millis(
                d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis(),
            ));
        }
    }
    None
}

/// 32 hex digits of blake3 over `parts` (each length-prefixed, so no two tuples collide).
pub(crate) fn digest(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().to_hex()[..32].to_owned()
}

/// An `INVALID_INPUT` refusal.
pub(crate) fn invalid(message: impl Into<String>) -> Refusal {
    Refusal { code: "INVALID_INPUT", message: message.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_timestamps_in_every_form_read_as_the_same_instant() {
        let t = Timestamp::from_millis(1_772_391_094_000);
        for text in [
            "2026-03-01T18:51:34Z",
            "2026-03-01T11:51:34-07:00",
            "2026-03-01 18:51:34 UTC",
            "01.03.2026 18:51:34 UTC",
        ] {
            assert_eq!(timestamp(text), Some(t), "{text}");
        }
        assert_eq!(timestamp("2026-03-01"), Some(Timestamp::from_millis(1_772_323_200_000)));
        assert_eq!(timestamp("yesterday"), None);
        assert_eq!(timestamp("2026-02-30"), None);
    }

    #[test]
    fn digests_separate_their_parts() {
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
        assert_eq!(digest(&["a"]).len(), 32);
    }
}
