//! Rejections: why a command was refused, with a stable machine code and a message naming the
//! offending value.

use crate::ids::{ChannelId, LocationId, LotId, OrderId, ReturnId, SettlementId, Sku, TransferId};
use crate::money::Currency;

/// Why `decide` refused a command. Codes are stable; messages are for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The SKU was never defined.
    #[error("unknown sku '{0}'")]
    UnknownSku(Sku),
    /// The location was never defined.
    #[error("unknown location '{0}'")]
    UnknownLocation(LocationId),
    /// The channel was never defined.
    #[error("unknown channel '{0}'")]
    UnknownChannel(ChannelId),
    /// No open order has this id.
    #[error("unknown order '{0}'")]
    UnknownOrder(OrderId),
    /// The order has no line with this number.
    #[error("unknown line {line} on order '{order}'")]
    UnknownLine {
        /// The order.
        order: OrderId,
        /// The line number.
        line: u32,
    },
    /// The lot was never received for this SKU.
    #[error("unknown lot '{lot}' of sku '{sku}'")]
    UnknownLot {
        /// The SKU.
        sku: Sku,
        /// The lot.
        lot: LotId,
    },
    /// No open return has this id.
    #[error("unknown return '{0}'")]
    UnknownReturn(ReturnId),
    /// No open settlement has this id.
    #[error("unknown settlement '{0}'")]
    UnknownSettlement(SettlementId),
    /// No transfer in transit has this id.
    #[error("unknown transfer '{0}'")]
    UnknownTransfer(TransferId),
    /// A quantity is zero or negative where a positive one is required.
    #[error("invalid quantity {0}")]
    InvalidQuantity(i64),
    /// An amount is not acceptable here (negative price, zero line, empty entry).
    #[error("invalid amount '{value}' for {what}")]
    InvalidAmount {
        /// What the amount was for.
        what: &'static str,
        /// The offending amount as text.
        value: String,
    },
    /// A command is malformed in a way no other code covers (empty order, transfer to itself).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A state would go negative.
    #[error(
        "insufficient {state} stock of sku '{sku}' at '{location}': {present} present, {requested} requested"
    )]
    InsufficientStock {
        /// The SKU.
        sku: Sku,
        /// The location.
        location: LocationId,
        /// Which state would go negative.
        state: &'static str,
        /// Units present in that state.
        present: u64,
        /// Units the command needs.
        requested: u64,
    },
    /// An order with this id exists with different content.
    #[error("order '{0}' already exists with different content")]
    DuplicateOrderConflict(OrderId),
    /// An id that must be new is already in use.
    #[error("{kind} '{id}' already exists")]
    DuplicateId {
        /// Which kind of id.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// The entity is not in a state that allows the command.
    #[error("{entity} '{id}' is {state}: cannot {action}")]
    InvalidState {
        /// Which kind of entity.
        entity: &'static str,
        /// Its id.
        id: String,
        /// Its state.
        state: String,
        /// What was asked.
        action: &'static str,
    },
    /// The order is on hold.
    #[error("order '{0}' is on hold")]
    OrderOnHold(OrderId),
    /// The lot was recalled.
    #[error("lot '{lot}' of sku '{sku}' is recalled")]
    LotRecalled {
        /// The SKU.
        sku: Sku,
        /// The lot.
        lot: LotId,
    },
    /// The lot is past its removal date or expiry.
    #[error("lot '{lot}' of sku '{sku}' is past its removal date")]
    LotExpired {
        /// The SKU.
        sku: Sku,
        /// The lot.
        lot: LotId,
    },
    /// A lot-tracked SKU was moved without a lot.
    #[error("sku '{0}' is lot-tracked: a lot is required")]
    LotRequired(Sku),
    /// A lot was given for a SKU that is not lot-tracked.
    #[error("sku '{0}' is not lot-tracked: no lot may be given")]
    LotNotTracked(Sku),
    /// A lot was received again with another expiry date.
    #[error("lot '{lot}' of sku '{sku}' already has another expiry date")]
    LotExpiryConflict {
        /// The SKU.
        sku: Sku,
        /// The lot.
        lot: LotId,
    },
    /// Amounts of different currencies were mixed.
    #[error("currency mismatch: expected {expected}, found {found}")]
    CurrencyMismatch {
        /// The currency required here.
        expected: Currency,
        /// The currency given.
        found: Currency,
    },
    /// A journal entry's postings do not sum to zero in a currency.
    #[error("unbalanced entry: postings in {currency} sum to {imbalance}")]
    UnbalancedEntry {
        /// The unbalanced currency.
        currency: Currency,
        /// The sum of its postings, as decimal text.
        imbalance: String,
    },
    /// More units than are outstanding (returns over shipped, refunds over shipped, receipts
    /// over in-transit).
    #[error("{what} of {requested} exceeds the {allowed} outstanding")]
    ExceedsOutstanding {
        /// What was asked.
        what: &'static str,
        /// Units asked.
        requested: u64,
        /// Units outstanding.
        allowed: u64,
    },
    /// A payout does not equal the net of the settlement's lines.
    #[error("payout {found} of settlement '{settlement}' differs from its net {expected}")]
    SettlementMismatch {
        /// The settlement.
        settlement: SettlementId,
        /// Σ net of its lines, as decimal text.
        expected: String,
        /// The payout, as decimal text.
        found: String,
    },
    /// The marketplace-facilitator tax lines of a settlement do not net to zero.
    #[error("facilitator tax of settlement '{settlement}' nets to {net}, not zero")]
    FacilitatorTaxNotNetted {
        /// The settlement.
        settlement: SettlementId,
        /// The net, as decimal text.
        net: String,
    },
    /// A deposit refund exceeds the customer money held for the order.
    #[error("refund {requested} exceeds the deposit {deposit} held for order '{order}'")]
    RefundExceedsDeposit {
        /// The order.
        order: OrderId,
        /// The deposit, as decimal text.
        deposit: String,
        /// The refund, as decimal text.
        requested: String,
    },
    /// A payout exceeds the clearing balance.
    #[error("payout {requested} exceeds the clearing balance {balance}")]
    InsufficientFunds {
        /// The balance, as decimal text.
        balance: String,
        /// The payout, as decimal text.
        requested: String,
    },
}

impl Rejection {
    /// A stable SCREAMING_SNAKE code for machines (API error extensions, metrics).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnknownSku(_) => "UNKNOWN_SKU",
            Self::UnknownLocation(_) => "UNKNOWN_LOCATION",
            Self::UnknownChannel(_) => "UNKNOWN_CHANNEL",
            Self::UnknownOrder(_) => "UNKNOWN_ORDER",
            Self::UnknownLine { .. } => "UNKNOWN_LINE",
            Self::UnknownLot { .. } => "UNKNOWN_LOT",
            Self::UnknownReturn(_) => "UNKNOWN_RETURN",
            Self::UnknownSettlement(_) => "UNKNOWN_SETTLEMENT",
            Self::UnknownTransfer(_) => "UNKNOWN_TRANSFER",
            Self::InvalidQuantity(_) => "INVALID_QUANTITY",
            Self::InvalidAmount { .. } => "INVALID_AMOUNT",
            Self::InvalidInput(_) => "INVALID_INPUT",
            Self::InsufficientStock { .. } => "INSUFFICIENT_STOCK",
            Self::DuplicateOrderConflict(_) => "DUPLICATE_ORDER_CONFLICT",
            Self::DuplicateId { .. } => "DUPLICATE_ID",
            Self::InvalidState { .. } => "INVALID_STATE",
            Self::OrderOnHold(_) => "ORDER_ON_HOLD",
            Self::LotRecalled { .. } => "LOT_RECALLED",
            Self::LotExpired { .. } => "LOT_EXPIRED",
            Self::LotRequired(_) => "LOT_REQUIRED",
            Self::LotNotTracked(_) => "LOT_NOT_TRACKED",
            Self::LotExpiryConflict { .. } => "LOT_EXPIRY_CONFLICT",
            Self::CurrencyMismatch { .. } => "CURRENCY_MISMATCH",
            Self::UnbalancedEntry { .. } => "UNBALANCED_ENTRY",
            Self::ExceedsOutstanding { .. } => "EXCEEDS_OUTSTANDING",
            Self::SettlementMismatch { .. } => "SETTLEMENT_MISMATCH",
            Self::FacilitatorTaxNotNetted { .. } => "FACILITATOR_TAX_NOT_NETTED",
            Self::InsufficientFunds { .. } => "INSUFFICIENT_FUNDS",
            Self::RefundExceedsDeposit { .. } => "REFUND_EXCEEDS_DEPOSIT",
        }
    }
}
