//! Which messages an endpoint receives: event-type names and globs, channels and SKUs.

use crate::message::ATS_CHANGED;
use tally_domain::event_type::EventType;

/// Longest type pattern, in bytes.
pub const PATTERN_BYTES_MAX: usize = 128;

/// An event-type name (`order.shipped`, `ats.changed`) or a glob in which `*` stands for any
/// run of characters (`order.*`, `*`). A glob must match at least one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypePattern(String);

impl TypePattern {
    /// Reads a pattern, refusing unknown names and globs that match nothing.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty()
            || text.len() > PATTERN_BYTES_MAX
            || !text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._*".contains(&b))
        {
            return Err(format!(
                "type pattern '{text}' must be 1 to {PATTERN_BYTES_MAX} characters of a-z, 0-9, '.', '_' and '*'"
            ));
        }
        let pattern = Self(text.to_owned());
        let known = EventType::NAMES.iter().copied().chain(std::iter::once(ATS_CHANGED));
        let matched = known.clone().any(|name| pattern.matches(name));
        if !matched {
            return Err(if text.contains('*') {
                format!("type pattern '{text}' matches no event type")
            } else {
                format!("unknown event type '{text}'")
            });
        }
        Ok(pattern)
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `event_type` matches.
    #[must_use]
    pub fn matches(&self, event_type: &str) -> bool {
        glob(self.0.as_bytes(), event_type.as_bytes())
    }
}

/// `*` matches any run of bytes; everything else matches itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Whether a JSON value holds a field named `sku` (or ending in `_sku`) with one of `skus`, at
/// any depth.
#[must_use]
pub fn mentions_any_sku(value: &serde_json::Value, skus: &[String]) -> bool {
    let mut found = Vec::new();
    skus_in(value, &mut found);
    found.iter().any(|s| skus.iter().any(|w| w == s))
}

/// Every SKU a JSON value names (fields `sku` or `*_sku` holding text), at any depth.
pub fn skus_in(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if (k == "sku" || k.ends_with("_sku"))
                    && let Some(s) = v.as_str()
                {
                    out.push(s.to_owned());
                } else {
                    skus_in(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| skus_in(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_written() {
        let order = TypePattern::parse("order.*").expect("glob");
        assert!(order.matches("order.shipped"));
        assert!(order.matches("order.line_allocated"));
        assert!(!order.matches("purchase_order.created"));
        assert!(!order.matches("orders"));
        let all = TypePattern::parse("*").expect("all");
        assert!(all.matches("ats.changed") && all.matches("journal.entry_posted"));
        let middle = TypePattern::parse("*.received").expect("suffix");
        assert!(middle.matches("inventory.received") && middle.matches("order.received"));
        assert!(!middle.matches("order.received_x"));
        assert!(TypePattern::parse("ats.changed").is_ok());
        assert!(TypePattern::parse("Order.*").is_err());
        assert!(TypePattern::parse("nothing.*").is_err());
    }

    #[test]
    fn finds_skus_at_any_depth() {
        let body = serde_json::json!({"order": "W1", "lines": [{"sku": "A"}, {"sku": "B"}], "substitute_sku": "C"});
        let mut skus = Vec::new();
        skus_in(&body, &mut skus);
        skus.sort();
        assert_eq!(skus, ["A", "B", "C"]);
        assert!(mentions_any_sku(&body, &["B".to_owned()]));
        assert!(!mentions_any_sku(&body, &["D".to_owned()]));
    }
}
