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

/// What a log event is about, for an endpoint's channel filter: the channels it belongs to,
/// or where to look them up. The rules, first that applies:
///
/// 1. `channel.defined`: the channel it defines (`id`).
/// 2. A `channel` field (`order.received`, `settlement.opened`): that channel.
/// 3. An `order` field (the other `order.*` events, `finance.*` of an order, `return.authorized`,
///    `settlement.line_recorded` of an order): the channel of that order.
/// 4. `exception.raised` and `journal.entry_posted` about an order or a stock bucket
///    (`subject` / `reference`): that order's channel, or the channels of that bucket's
///    location.
/// 5. `location.defined`: the channels the location ships for (`channels`).
/// 6. `workflow.configured`: the channels it configures (`channels[].channel`).
/// 7. A location (`location`, `key.location`, `from.location`, and `to` of
///    `inventory.transfer_shipped`): the channels that location ships for (both ends of a
///    transfer). Stock at a location is what those channels sell, so receipts, adjustments,
///    counts, transfers, quarantine, scrapping, safety stock and reorder points there, and
///    a return's receipt and inspection there, belong to them.
/// 8. Anything else (SKU, supplier and customer definitions, payouts, lot recalls, manual
///    journal entries, markers): no channel; an endpoint with a channel filter does not
///    receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelScope {
    /// These channels.
    Channels(Vec<String>),
    /// The channel of this order (the orders view knows it).
    Order(String),
    /// The channels these locations ship for (the inventory view knows them).
    Locations(Vec<String>),
    /// No channel.
    None,
}

/// The [`ChannelScope`] of an event of type `event_type` whose domain body is `body`.
#[must_use]
pub fn channel_scope(event_type: &str, body: &serde_json::Value) -> ChannelScope {
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    if event_type == "channel.defined"
        && let Some(id) = text(body.get("id"))
    {
        return ChannelScope::Channels(vec![id]);
    }
    if let Some(channel) = text(body.get("channel")) {
        return ChannelScope::Channels(vec![channel]);
    }
    if let Some(order) = text(body.get("order")) {
        return ChannelScope::Order(order);
    }
    // What an exception or a journal entry is about (a `JournalRef`): an order or a stock
    // bucket.
    for field in ["subject", "reference"] {
        let Some(about) = body.get(field) else { continue };
        if let Some(order) = text(about.get("order")) {
            return ChannelScope::Order(order);
        }
        if let Some(location) = text(about.get("stock").and_then(|s| s.get("location"))) {
            return ChannelScope::Locations(vec![location]);
        }
    }
    let strings = |v: Option<&serde_json::Value>, field: Option<&str>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| match field {
                        Some(f) => i.get(f).and_then(|v| v.as_str()),
                        None => i.as_str(),
                    })
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    match event_type {
        "location.defined" => return ChannelScope::Channels(strings(body.get("channels"), None)),
        "workflow.configured" => {
            return ChannelScope::Channels(strings(body.get("channels"), Some("channel")));
        }
        _ => {}
    }
    let mut locations = Vec::new();
    locations.extend(text(body.get("location")));
    locations.extend(text(body.get("key").and_then(|k| k.get("location"))));
    locations.extend(text(body.get("from").and_then(|k| k.get("location"))));
    if event_type == "inventory.transfer_shipped" {
        locations.extend(text(body.get("to")));
    }
    locations.sort();
    locations.dedup();
    if locations.is_empty() { ChannelScope::None } else { ChannelScope::Locations(locations) }
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
    fn every_kind_of_event_has_a_channel_scope() {
        use serde_json::json;
        let scope = channel_scope;
        let channels =
            |v: &[&str]| ChannelScope::Channels(v.iter().map(|s| (*s).to_owned()).collect());
        let locations =
            |v: &[&str]| ChannelScope::Locations(v.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(
            scope("channel.defined", &json!({"id": "web", "kind": "direct"})),
            channels(&["web"])
        );
        assert_eq!(
            scope("settlement.opened", &json!({"settlement": "S1", "channel": "amzn"})),
            channels(&["amzn"])
        );
        assert_eq!(
            scope("order.shipped", &json!({"order": "W1", "items": [{"location": "WH1"}]})),
            ChannelScope::Order("W1".to_owned())
        );
        assert_eq!(
            scope("return.authorized", &json!({"return_id": "R1", "order": "W1"})),
            ChannelScope::Order("W1".to_owned())
        );
        assert_eq!(
            scope("location.defined", &json!({"id": "WH1", "channels": ["b2b", "web"]})),
            channels(&["b2b", "web"])
        );
        assert_eq!(
            scope(
                "workflow.configured",
                &json!({"channels": [{"channel": "web"}, {"channel": "shop"}]})
            ),
            channels(&["web", "shop"])
        );
        assert_eq!(
            scope("inventory.received", &json!({"key": {"location": "WH1", "sku": "A"}})),
            locations(&["WH1"])
        );
        assert_eq!(
            scope("inventory.safety_stock_set", &json!({"location": "WH2", "sku": "A"})),
            locations(&["WH2"])
        );
        assert_eq!(
            scope(
                "inventory.transfer_shipped",
                &json!({"from": {"location": "WH2", "sku": "A"}, "to": "WH1"})
            ),
            locations(&["WH1", "WH2"])
        );
        assert_eq!(
            scope("return.received", &json!({"return_id": "R1", "location": "WH1"})),
            locations(&["WH1"])
        );
        assert_eq!(
            scope(
                "exception.raised",
                &json!({"kind": "hold_sla_breached", "subject": {"order": "W1"}})
            ),
            ChannelScope::Order("W1".to_owned())
        );
        assert_eq!(
            scope(
                "journal.entry_posted",
                &json!({"reference": {"stock": {"location": "WH3", "sku": "A"}}})
            ),
            locations(&["WH3"])
        );
        // A line substitution names SKUs in from/to, but its order decides.
        assert_eq!(
            scope("order.line_substituted", &json!({"order": "W1", "from": "A", "to": "B"})),
            ChannelScope::Order("W1".to_owned())
        );
        for (t, body) in [
            ("sku.defined", json!({"sku": "A"})),
            ("settlement.line_recorded", json!({"settlement": "S1", "order": null})),
            ("journal.entry_posted", json!({"reference": "manual", "postings": []})),
            ("exception.raised", json!({"kind": "payout_mismatch", "subject": {"payout": "P1"}})),
            ("lot.recalled", json!({"sku": "A", "lot": "L1"})),
        ] {
            assert_eq!(scope(t, &body), ChannelScope::None, "{t}");
        }
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
