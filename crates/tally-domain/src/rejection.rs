//! Rejections: why a command was refused, with a stable machine code and a message naming the
//! offending value.

use crate::ids::{
    ChannelId, CustomerId, InvoiceId, LocationId, LotId, OrderId, ReturnId, SettlementId, Sku,
    TransferId,
};
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
    /// No supplier has this id.
    #[error("unknown supplier '{0}'")]
    UnknownSupplier(crate::ids::SupplierId),
    /// No purchase order has this id.
    #[error("unknown purchase order '{0}'")]
    UnknownPurchaseOrder(crate::ids::PurchaseOrderId),
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
    /// The settlement's payout was already recorded and equals its lines: it takes no more
    /// lines and no second payout.
    #[error("settlement '{0}' is paid out and reconciled")]
    SettlementPaidOut(SettlementId),
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
    /// The customer was never defined.
    #[error("unknown customer '{0}'")]
    UnknownCustomer(CustomerId),
    /// No invoice with this id has an amount open in accounts receivable.
    #[error("no open invoice '{0}'")]
    UnknownInvoice(InvoiceId),
    /// Money asked for exceeds what is open or was paid (an application over an invoice's
    /// open amount, applications over the payment and credit, a refund over what was paid or
    /// invoiced for its lines).
    #[error("{what} of {requested} for '{id}' exceeds the {open} open")]
    ExceedsOpenAmount {
        /// What was asked.
        what: &'static str,
        /// The invoice, customer or order.
        id: String,
        /// What is open, as decimal text.
        open: String,
        /// What was asked, as decimal text.
        requested: String,
    },
    /// A stock snapshot's `as_of` is more than the allowed age before the command's time,
    /// before the on-hand history the bucket keeps, or after the command's time.
    #[error(
        "snapshot of '{sku}' at '{location}' is as of {as_of}, {why} (decided at {now}); send a \
         fresh snapshot or record a cycle count"
    )]
    StaleSnapshot {
        /// The location.
        location: LocationId,
        /// The SKU.
        sku: Sku,
        /// The snapshot's time, RFC 3339.
        as_of: String,
        /// The command's business time, RFC 3339.
        now: String,
        /// Why (too old, in the future).
        why: &'static str,
    },
    /// No open exception has this number (never raised, or already resolved).
    #[error("no open exception {0}")]
    UnknownException(u64),
    /// An amendment would remove or change units of a line the warehouse or the books already
    /// hold (picked, packed, shipped, invoiced).
    #[error(
        "line {line} of order '{order}' has {units} unit(s) {why}: an amendment cannot remove or change them"
    )]
    LineLocked {
        /// The order.
        order: OrderId,
        /// The line number.
        line: u32,
        /// How many units are locked.
        units: u64,
        /// Where they are (`picked, packed or shipped`, `shipped`).
        why: &'static str,
    },
}

/// The list of every rejection code, in one place: each with its doc, its variant of
/// [`RejectionCode`] and its stable text. Calls `$callback!` with it, so the API's closed set
/// of `userErrors` codes is generated from the same list.
#[macro_export]
macro_rules! for_each_rejection_code {
    ($callback:ident) => {
        $callback! {
            /// The SKU was never defined.
            UnknownSku "UNKNOWN_SKU";
            /// The location was never defined.
            UnknownLocation "UNKNOWN_LOCATION";
            /// The channel was never defined.
            UnknownChannel "UNKNOWN_CHANNEL";
            /// No open order has this id.
            UnknownOrder "UNKNOWN_ORDER";
            /// The order has no line with this number.
            UnknownLine "UNKNOWN_LINE";
            /// The lot was never received for this SKU.
            UnknownLot "UNKNOWN_LOT";
            /// No open return has this id.
            UnknownReturn "UNKNOWN_RETURN";
            /// No open settlement has this id.
            UnknownSettlement "UNKNOWN_SETTLEMENT";
            /// No transfer in transit has this id.
            UnknownTransfer "UNKNOWN_TRANSFER";
            /// The supplier was never defined.
            UnknownSupplier "UNKNOWN_SUPPLIER";
            /// No purchase order has this id.
            UnknownPurchaseOrder "UNKNOWN_PURCHASE_ORDER";
            /// A quantity is zero or negative where a positive one is required.
            InvalidQuantity "INVALID_QUANTITY";
            /// An amount is not acceptable here (negative price, zero line, empty entry).
            InvalidAmount "INVALID_AMOUNT";
            /// A command is malformed in a way no other code covers (empty order, transfer to itself).
            InvalidInput "INVALID_INPUT";
            /// A state would go negative.
            InsufficientStock "INSUFFICIENT_STOCK";
            /// An order with this id exists with different content.
            DuplicateOrderConflict "DUPLICATE_ORDER_CONFLICT";
            /// An id that must be new is already in use.
            DuplicateId "DUPLICATE_ID";
            /// The entity is not in a state that allows the command.
            InvalidState "INVALID_STATE";
            /// The order is on hold.
            OrderOnHold "ORDER_ON_HOLD";
            /// The lot was recalled.
            LotRecalled "LOT_RECALLED";
            /// The lot is past its removal date or expiry.
            LotExpired "LOT_EXPIRED";
            /// A lot-tracked SKU was moved without a lot.
            LotRequired "LOT_REQUIRED";
            /// A lot was given for a SKU that is not lot-tracked.
            LotNotTracked "LOT_NOT_TRACKED";
            /// A lot was received again with another expiry date.
            LotExpiryConflict "LOT_EXPIRY_CONFLICT";
            /// Amounts of different currencies were mixed.
            CurrencyMismatch "CURRENCY_MISMATCH";
            /// A journal entry's postings do not sum to zero in a currency.
            UnbalancedEntry "UNBALANCED_ENTRY";
            /// More units than are outstanding (returns over shipped, refunds over shipped, receipts
            ExceedsOutstanding "EXCEEDS_OUTSTANDING";
            /// The settlement is paid out and reconciled: no more lines, no second payout.
            SettlementPaidOut "SETTLEMENT_PAID_OUT";
            /// The marketplace-facilitator tax lines of a settlement do not net to zero.
            FacilitatorTaxNotNetted "FACILITATOR_TAX_NOT_NETTED";
            /// A deposit refund exceeds the customer money held for the order.
            RefundExceedsDeposit "REFUND_EXCEEDS_DEPOSIT";
            /// The customer was never defined.
            UnknownCustomer "UNKNOWN_CUSTOMER";
            /// No invoice with this id has an amount open in accounts receivable.
            UnknownInvoice "UNKNOWN_INVOICE";
            /// Money asked for exceeds what is open or was paid.
            ExceedsOpenAmount "EXCEEDS_OPEN_AMOUNT";
            /// A stock snapshot is older than on-hand can be compared with, or in the future.
            StaleSnapshot "STALE_SNAPSHOT";
            /// No open exception has this number.
            UnknownException "UNKNOWN_EXCEPTION";
            /// An amendment would remove or change units already picked, packed or shipped.
            LineLocked "LINE_LOCKED";
        }
    };
}

/// Defines [`RejectionCode`] from [`for_each_rejection_code!`].
macro_rules! define_rejection_codes {
    ($($(#[doc = $doc:literal])* $variant:ident $code:literal;)*) => {
        /// A rejection's stable code: one per [`Rejection`] variant. With feature `graphql` it
        /// is a GraphQL enum whose values are the codes themselves (`UNKNOWN_SKU`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
        pub enum RejectionCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl RejectionCode {
            /// Every code, in list order.
            pub const ALL: &'static [RejectionCode] = &[$(RejectionCode::$variant),*];

            /// The code as text (`UNKNOWN_SKU`).
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(RejectionCode::$variant => $code,)*
                }
            }

            /// The code of `text`, if it is one.
            #[must_use]
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|c| c.as_str() == text)
            }
        }
    };
}

for_each_rejection_code!(define_rejection_codes);

impl Rejection {
    /// Which code this rejection has.
    #[must_use]
    pub const fn kind(&self) -> RejectionCode {
        match self {
            Self::UnknownSku(_) => RejectionCode::UnknownSku,
            Self::UnknownLocation(_) => RejectionCode::UnknownLocation,
            Self::UnknownChannel(_) => RejectionCode::UnknownChannel,
            Self::UnknownOrder(_) => RejectionCode::UnknownOrder,
            Self::UnknownLine { .. } => RejectionCode::UnknownLine,
            Self::UnknownLot { .. } => RejectionCode::UnknownLot,
            Self::UnknownReturn(_) => RejectionCode::UnknownReturn,
            Self::UnknownSettlement(_) => RejectionCode::UnknownSettlement,
            Self::UnknownTransfer(_) => RejectionCode::UnknownTransfer,
            Self::UnknownSupplier(_) => RejectionCode::UnknownSupplier,
            Self::UnknownPurchaseOrder(_) => RejectionCode::UnknownPurchaseOrder,
            Self::InvalidQuantity(_) => RejectionCode::InvalidQuantity,
            Self::InvalidAmount { .. } => RejectionCode::InvalidAmount,
            Self::InvalidInput(_) => RejectionCode::InvalidInput,
            Self::InsufficientStock { .. } => RejectionCode::InsufficientStock,
            Self::DuplicateOrderConflict(_) => RejectionCode::DuplicateOrderConflict,
            Self::DuplicateId { .. } => RejectionCode::DuplicateId,
            Self::InvalidState { .. } => RejectionCode::InvalidState,
            Self::OrderOnHold(_) => RejectionCode::OrderOnHold,
            Self::LotRecalled { .. } => RejectionCode::LotRecalled,
            Self::LotExpired { .. } => RejectionCode::LotExpired,
            Self::LotRequired(_) => RejectionCode::LotRequired,
            Self::LotNotTracked(_) => RejectionCode::LotNotTracked,
            Self::LotExpiryConflict { .. } => RejectionCode::LotExpiryConflict,
            Self::CurrencyMismatch { .. } => RejectionCode::CurrencyMismatch,
            Self::UnbalancedEntry { .. } => RejectionCode::UnbalancedEntry,
            Self::ExceedsOutstanding { .. } => RejectionCode::ExceedsOutstanding,
            Self::SettlementPaidOut(_) => RejectionCode::SettlementPaidOut,
            Self::FacilitatorTaxNotNetted { .. } => RejectionCode::FacilitatorTaxNotNetted,
            Self::RefundExceedsDeposit { .. } => RejectionCode::RefundExceedsDeposit,
            Self::UnknownCustomer(_) => RejectionCode::UnknownCustomer,
            Self::UnknownInvoice(_) => RejectionCode::UnknownInvoice,
            Self::ExceedsOpenAmount { .. } => RejectionCode::ExceedsOpenAmount,
            Self::StaleSnapshot { .. } => RejectionCode::StaleSnapshot,
            Self::UnknownException(_) => RejectionCode::UnknownException,
            Self::LineLocked { .. } => RejectionCode::LineLocked,
        }
    }

    /// A stable SCREAMING_SNAKE code for machines (API error extensions, metrics).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        self.kind().as_str()
    }
}
