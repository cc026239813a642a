//! Stream names: which entity an event belongs to, spelled `kind:part:part…`.
//!
//! Every name is built here. A part is an id as given, with `%` written `%25` and `:` written
//! `%3A`, so a part never contains the separator and [`parse`] reads every name back into its
//! kind and parts: distinct entities never share a stream (`inventory:WH-1:A` and
//! `inventory:WH:1-A` are two stock positions; with ids joined by `-` both were
//! `inventory-WH-1-A`). Ids without `%` or `:` read as they are.
//!
//! Naming version 2 ([`NAMING_VERSION`]); version 1 joined kind and ids with `-` and was
//! ambiguous. A store written with another naming is refused when the engine opens it.

use crate::ids::{ChannelId, LocationId, LotId, OrderId, PayoutId, ReturnId, SettlementId, Sku};
use crate::inventory::StockKey;

/// The version of the naming below; stored with a store so that another naming is refused.
pub const NAMING_VERSION: u32 = 2;

/// What separates the kind and the parts of a name.
pub const SEPARATOR: char = ':';

/// The stream of the cycle-count tolerance of an ABC class: `count_tolerance:A`.
#[must_use]
pub fn count_tolerance(class: crate::master::AbcClass) -> String {
    name("count_tolerance", &[class.as_str()])
}

/// The stream of manual journal entries.
pub const JOURNAL: &str = "journal";

/// The stream of `command.accepted` markers (commands accepted with no other event).
pub const COMMANDS: &str = "commands";

/// The stream of the workflow rules' changes.
pub const WORKFLOW: &str = "workflow";

fn push_escaped(out: &mut String, part: &str) {
    for c in part.chars() {
        match c {
            '%' => out.push_str("%25"),
            SEPARATOR => out.push_str("%3A"),
            c => out.push(c),
        }
    }
}

/// The name of the stream of kind `kind` (a fixed lowercase word) and these parts.
#[must_use]
pub fn name(kind: &str, parts: &[&str]) -> String {
    debug_assert!(
        !kind.is_empty() && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "stream kind {kind:?} must be a lowercase word"
    );
    let mut out =
        String::with_capacity(kind.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    out.push_str(kind);
    for part in parts {
        out.push(SEPARATOR);
        push_escaped(&mut out, part);
    }
    out
}

/// Reads a name back into its kind and parts; `None` when it is not a name [`name`] makes
/// (a `%` not followed by `25` or `3A`, an empty kind).
#[must_use]
pub fn parse(stream: &str) -> Option<(&str, Vec<String>)> {
    let mut pieces = stream.split(SEPARATOR);
    let kind = pieces.next().filter(|k| !k.is_empty())?;
    let mut parts = Vec::new();
    for piece in pieces {
        let mut part = String::with_capacity(piece.len());
        let mut rest = piece;
        while let Some(at) = rest.find('%') {
            part.push_str(&rest[..at]);
            let escape = rest.get(at..at + 3)?;
            part.push(match escape {
                "%25" => '%',
                "%3A" => SEPARATOR,
                _ => return None,
            });
            rest = &rest[at + 3..];
        }
        part.push_str(rest);
        parts.push(part);
    }
    Some((kind, parts))
}

/// `order:{order}`.
#[must_use]
pub fn order(id: &OrderId) -> String {
    name("order", &[id.as_str()])
}

/// `inventory:{location}:{sku}` or `inventory:{location}:{sku}:{lot}`.
#[must_use]
pub fn inventory(key: &StockKey) -> String {
    match &key.lot {
        Some(lot) => name("inventory", &[key.location.as_str(), key.sku.as_str(), lot.as_str()]),
        None => name("inventory", &[key.location.as_str(), key.sku.as_str()]),
    }
}

/// `return:{return}`.
#[must_use]
pub fn return_of(id: &ReturnId) -> String {
    name("return", &[id.as_str()])
}

/// `settlement:{settlement}`.
#[must_use]
pub fn settlement(id: &SettlementId) -> String {
    name("settlement", &[id.as_str()])
}

/// `payout:{payout}`.
#[must_use]
pub fn payout(id: &PayoutId) -> String {
    name("payout", &[id.as_str()])
}

/// `customer:{customer}`.
#[must_use]
pub fn customer(id: &crate::ids::CustomerId) -> String {
    name("customer", &[id.as_str()])
}

/// `lot:{sku}:{lot}`.
#[must_use]
pub fn lot(sku: &Sku, lot: &LotId) -> String {
    name("lot", &[sku.as_str(), lot.as_str()])
}

/// `location:{location}`.
#[must_use]
pub fn location(id: &LocationId) -> String {
    name("location", &[id.as_str()])
}

/// `channel:{channel}`.
#[must_use]
pub fn channel(id: &ChannelId) -> String {
    name("channel", &[id.as_str()])
}

/// `sku:{sku}`.
#[must_use]
pub fn sku(id: &Sku) -> String {
    name("sku", &[id.as_str()])
}

/// `supplier:{supplier}`: its definition, invoices and payments.
#[must_use]
pub fn supplier(id: &crate::ids::SupplierId) -> String {
    name("supplier", &[id.as_str()])
}

/// `purchase_order:{purchase order}`: the order and the goods received against it.
#[must_use]
pub fn purchase_order(id: &crate::ids::PurchaseOrderId) -> String {
    name("purchase_order", &[id.as_str()])
}
