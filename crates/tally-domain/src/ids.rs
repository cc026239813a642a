//! Identifiers parsed at the edge: order, SKU, location, channel, lot, return, settlement and
//! the other entity ids, plus the acting principal.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest identifier accepted, in bytes (documented with the other bounds in `crate::limits`).
pub use crate::limits::ID_BYTES_MAX;

/// What every identifier type shares: parsing (the one place an id's bounds are checked) and
/// its text. Lets callers at the edge parse any id through one helper.
pub trait Id: Sized {
    /// What the id names, for messages (`sku`, `order id`).
    const KIND: &'static str;
    /// Parses an identifier: 1 to [`ID_BYTES_MAX`] bytes of printable UTF-8 (see [`check`]).
    fn parse_id(value: String) -> Result<Self, IdError>;
    /// The identifier as text.
    fn text(&self) -> &str;
}

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The string is empty.
    #[error("empty {kind}")]
    Empty {
        /// Which kind of id.
        kind: &'static str,
    },
    /// The string is longer than [`ID_BYTES_MAX`]. The message quotes its first bytes only.
    #[error("{kind} '{prefix}…' has {len} bytes, more than {ID_BYTES_MAX}")]
    TooLong {
        /// Which kind of id.
        kind: &'static str,
        /// The offending value's first [`ID_BYTES_MAX`] bytes (cut at a character boundary).
        prefix: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The string holds a control character or whitespace other than the plain space, or
    /// starts or ends with whitespace.
    #[error(
        "{kind} '{value}' holds a control character or whitespace other than an inner space, or starts or ends with whitespace"
    )]
    BadChar {
        /// Which kind of id.
        kind: &'static str,
        /// The offending value.
        value: String,
    },
}

/// The one rule every identifier follows: 1 to [`ID_BYTES_MAX`] bytes of UTF-8 with no control
/// character (tab, newline, NUL, …), no whitespace other than the plain space (U+0020), and no
/// space at either end. So real channel ids (`#1001`, `Order 1001/B`, `Café-Crème 250 g`) are
/// ids as they are, and an id always prints on one line, the same in every view.
pub fn check(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > ID_BYTES_MAX {
        let mut cut = ID_BYTES_MAX;
        while !value.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(IdError::TooLong { kind, prefix: value[..cut].to_owned(), len: value.len() });
    }
    let bad = |c: char| c.is_control() || (c.is_whitespace() && c != ' ');
    if value.chars().any(bad) || value.starts_with(' ') || value.ends_with(' ') {
        return Err(IdError::BadChar { kind, value: value.to_owned() });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an identifier: 1 to [`ID_BYTES_MAX`] bytes of printable UTF-8, inner
            /// spaces allowed (see [`check`]).
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check($kind, &value)?;
                Ok(Self(value))
            }

            /// The identifier as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Id for $name {
            const KIND: &'static str = $kind;
            fn parse_id(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
            fn text(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(value: &str) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// An order, as numbered by the channel that placed it.
    OrderId, "order id"
);
id_type!(
    /// A stock-keeping unit.
    Sku, "sku"
);
id_type!(
    /// A stocking location: warehouse, store, 3PL node.
    LocationId, "location id"
);
id_type!(
    /// A sales channel: web shop, marketplace, EDI partner.
    ChannelId, "channel id"
);
id_type!(
    /// A production lot of a lot-tracked SKU.
    LotId, "lot id"
);
id_type!(
    /// A customer return (RMA).
    ReturnId, "return id"
);
id_type!(
    /// A marketplace settlement report.
    SettlementId, "settlement id"
);
id_type!(
    /// A stock transfer between two locations.
    TransferId, "transfer id"
);
id_type!(
    /// A payment captured by the processor.
    PaymentId, "payment id"
);
id_type!(
    /// A refund paid back to a customer.
    RefundId, "refund id"
);
id_type!(
    /// A processor payout to the bank.
    PayoutId, "payout id"
);
id_type!(
    /// A journal entry; minted by the domain, deterministically.
    JournalEntryId, "journal entry id"
);
id_type!(
    /// An invoice; minted by the domain, deterministically.
    InvoiceId, "invoice id"
);
id_type!(
    /// A supplier (vendor) goods are bought from.
    SupplierId, "supplier id"
);
id_type!(
    /// A purchase order sent to a supplier.
    PurchaseOrderId, "purchase order id"
);
id_type!(
    /// A supplier's invoice, as numbered by the supplier.
    SupplierInvoiceId, "supplier invoice id"
);
id_type!(
    /// A payment made to a supplier.
    SupplierPaymentId, "supplier payment id"
);
id_type!(
    /// A B2B customer buying on terms.
    CustomerId, "customer id"
);
id_type!(
    /// Who asked for a command: a user, an integration or a system job.
    Actor, "actor"
);
id_type!(
    /// A buyer as the channel knows them (the channel's customer id or e-mail): what "first
    /// order of a new customer" counts by. Not a B2B customer on terms (`CustomerId`).
    BuyerId, "buyer"
);
