//! The event body codec: postcard 1.x of each variant's payload struct, keyed in the envelope
//! by (event type, schema version), with the upcasting hook for older versions.
//!
//! Postcard is not self-describing: payload types must never use serde attributes that make
//! fields conditional (`skip_serializing_if`, `flatten`, untagged enums).

use serde::{Deserialize, Serialize};

use crate::customer::Customer;
use crate::event::{
    CommandAccepted, CountToleranceSet, CustomerPaymentRecorded, CycleCounted, DepositRefunded,
    Event, ExceptionRaised, HoldSlaBreached, InboundExpected, InventoryAdjusted, InventoryReceived,
    InvoiceIssued, LineAllocated, LineBackordered, LineSubstituted, LotRecalled, OrderAmended,
    OrderCancelled, OrderEvent, OrderFulfilment, OrderHeld, OrderReceived, OrderShipped,
    PaymentCaptured, PayoutSettled, ProcessorFeeRecorded, ProcessorPayoutRecorded, QuarantineMove,
    RefundIssued, ReorderPointSet, ReservationReleased, ReturnAuthorized, ReturnClosed,
    ReturnInspected, ReturnReceived, SafetyStockSet, SettlementLineRecorded, SettlementOpened,
    StockScrapped, StockSnapshotReconciled, TransferReceived, TransferShipped,
};
use crate::ids::OrderId;
use crate::journal::JournalEntry;
use crate::master::{Channel, Location, SkuDef};
use crate::order::HoldReason;
use crate::time::Timestamp;

/// Why stored bytes do not decode into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// No event has this type name.
    #[error("unknown event type '{0}'")]
    UnknownType(String),
    /// The type exists but not in this schema version.
    #[error("unknown schema version {version} of event type '{event_type}'")]
    UnknownVersion {
        /// The type name.
        event_type: String,
        /// The version.
        version: u16,
    },
    /// The body does not decode as the payload of that type and version.
    #[error("malformed body of event type '{event_type}' v{version}: {reason}")]
    Malformed {
        /// The type name.
        event_type: String,
        /// The version.
        version: u16,
        /// What postcard said.
        reason: String,
    },
}

fn body<T: Serialize>(payload: &T) -> Vec<u8> {
    postcard::to_allocvec(payload).expect("postcard serialises owned in-memory payloads infallibly")
}

/// The body of `event`: postcard of its payload struct. Store it with
/// [`Event::event_type`] and [`Event::schema_version`].
#[must_use]
pub fn encode(event: &Event) -> Vec<u8> {
    match event {
        Event::LocationDefined(p) => body(p),
        Event::ChannelDefined(p) => body(p),
        Event::SkuDefined(p) => body(p),
        Event::SafetyStockSet(p) => body(p),
        Event::ReorderPointSet(p) => body(p),
        Event::CountToleranceSet(p) => body(p),
        Event::OrderReceived(p) => body(p),
        Event::OrderValidated(p) | Event::OrderHoldReleased(p) | Event::OrderDelivered(p) => {
            body(p)
        }
        Event::OrderHeld(p) => body(p),
        Event::LineAllocated(p) => body(p),
        Event::LineBackordered(p) => body(p),
        Event::LineSubstituted(p) => body(p),
        Event::ReservationReleased(p) => body(p),
        Event::OrderPicked(p) | Event::OrderPacked(p) => body(p),
        Event::OrderShipped(p) => body(p),
        Event::OrderCancelled(p) | Event::OrderRemainderCancelled(p) => body(p),
        Event::InboundExpected(p) => body(p),
        Event::InventoryReceived(p) => body(p),
        Event::InventoryAdjusted(p) => body(p),
        Event::CycleCounted(p) => body(p),
        Event::StockSnapshotReconciled(p) => body(p),
        Event::TransferShipped(p) => body(p),
        Event::TransferReceived(p) => body(p),
        Event::StockQuarantined(p) | Event::QuarantineReleased(p) => body(p),
        Event::StockScrapped(p) => body(p),
        Event::LotRecalled(p) => body(p),
        Event::ReturnAuthorized(p) => body(p),
        Event::ReturnReceived(p) => body(p),
        Event::ReturnInspected(p) => body(p),
        Event::ReturnClosed(p) => body(p),
        Event::PaymentCaptured(p) => body(p),
        Event::InvoiceIssued(p) => body(p),
        Event::ProcessorFeeRecorded(p) => body(p),
        Event::RefundIssued(p) => body(p),
        Event::DepositRefunded(p) => body(p),
        Event::ProcessorPayoutRecorded(p) => body(p),
        Event::SettlementOpened(p) => body(p),
        Event::SettlementLineRecorded(p) => body(p),
        Event::PayoutSettled(p) => body(p),
        Event::JournalEntryPosted(p) => body(p),
        Event::CommandAccepted(p) => body(p),
        Event::ExceptionRaised(p) => body(p),
        Event::HoldSlaBreached(p) => body(p),
        Event::BackordersCancelled(p) => body(p),
        Event::WorkflowConfigured(p) => body(p),
        Event::SupplierDefined(p) => body(p),
        Event::PurchaseOrderCreated(p) => body(p),
        Event::PurchaseOrderReceived(p) => body(p),
        Event::SupplierInvoiceRecorded(p) => body(p),
        Event::SupplierPaymentRecorded(p) => body(p),
        Event::CustomerDefined(p) => body(p),
        Event::CustomerPaymentRecorded(p) => body(p),
        Event::ExceptionAcknowledged(p) => body(p),
        Event::ExceptionResolved(p) => body(p),
        Event::OrderAmended(p) => body(p),
    }
}

/// Version 1 of `order.held`, before holds carried a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderHeldV1 {
    /// The order.
    pub order: OrderId,
    /// Why.
    pub reason: HoldReason,
    /// SLA due time.
    pub due_at: Timestamp,
}

impl From<OrderHeldV1> for OrderHeld {
    fn from(v1: OrderHeldV1) -> Self {
        OrderHeld { order: v1.order, reason: v1.reason, due_at: v1.due_at, note: String::new() }
    }
}

/// Decodes a stored body into the current event, upcasting older schema versions.
pub fn decode(event_type: &str, schema_version: u16, bytes: &[u8]) -> Result<Event, DecodeError> {
    fn read<'a, T: Deserialize<'a>>(t: &str, v: u16, bytes: &'a [u8]) -> Result<T, DecodeError> {
        let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| {
            DecodeError::Malformed { event_type: t.to_owned(), version: v, reason: e.to_string() }
        })?;
        if !rest.is_empty() {
            return Err(DecodeError::Malformed {
                event_type: t.to_owned(),
                version: v,
                reason: format!("{} trailing bytes", rest.len()),
            });
        }
        Ok(value)
    }
    let t = event_type;
    let v = schema_version;
    let event = match (t, v) {
        ("location.defined", 1) => Event::LocationDefined(read::<Location>(t, v, bytes)?),
        ("channel.defined", 1) => Event::ChannelDefined(read::<Channel>(t, v, bytes)?),
        ("sku.defined", 1) => Event::SkuDefined(read::<SkuDef>(t, v, bytes)?),
        ("inventory.safety_stock_set", 1) => {
            Event::SafetyStockSet(read::<SafetyStockSet>(t, v, bytes)?)
        }
        ("inventory.reorder_point_set", 1) => {
            Event::ReorderPointSet(read::<ReorderPointSet>(t, v, bytes)?)
        }
        ("inventory.count_tolerance_set", 1) => {
            Event::CountToleranceSet(read::<CountToleranceSet>(t, v, bytes)?)
        }
        ("order.received", 1) => Event::OrderReceived(read::<OrderReceived>(t, v, bytes)?),
        ("order.validated", 1) => Event::OrderValidated(read::<OrderEvent>(t, v, bytes)?),
        // Upcast: v1 had no note.
        ("order.held", 1) => Event::OrderHeld(read::<OrderHeldV1>(t, v, bytes)?.into()),
        ("order.held", 2) => Event::OrderHeld(read::<OrderHeld>(t, v, bytes)?),
        ("order.hold_released", 1) => Event::OrderHoldReleased(read::<OrderEvent>(t, v, bytes)?),
        ("order.line_allocated", 1) => Event::LineAllocated(read::<LineAllocated>(t, v, bytes)?),
        ("order.line_backordered", 1) => {
            Event::LineBackordered(read::<LineBackordered>(t, v, bytes)?)
        }
        ("order.line_substituted", 1) => {
            Event::LineSubstituted(read::<LineSubstituted>(t, v, bytes)?)
        }
        ("order.reservation_released", 1) => {
            Event::ReservationReleased(read::<ReservationReleased>(t, v, bytes)?)
        }
        ("order.picked", 1) => Event::OrderPicked(read::<OrderFulfilment>(t, v, bytes)?),
        ("order.packed", 1) => Event::OrderPacked(read::<OrderFulfilment>(t, v, bytes)?),
        ("order.shipped", 1) => Event::OrderShipped(read::<OrderShipped>(t, v, bytes)?),
        ("order.delivered", 1) => Event::OrderDelivered(read::<OrderEvent>(t, v, bytes)?),
        ("order.cancelled", 1) => Event::OrderCancelled(read::<OrderCancelled>(t, v, bytes)?),
        ("order.remainder_cancelled", 1) => {
            Event::OrderRemainderCancelled(read::<OrderCancelled>(t, v, bytes)?)
        }
        ("inventory.inbound_expected", 1) => {
            Event::InboundExpected(read::<InboundExpected>(t, v, bytes)?)
        }
        ("inventory.received", 1) => {
            Event::InventoryReceived(read::<InventoryReceived>(t, v, bytes)?)
        }
        ("inventory.adjusted", 1) => {
            Event::InventoryAdjusted(read::<InventoryAdjusted>(t, v, bytes)?)
        }
        ("inventory.cycle_counted", 1) => Event::CycleCounted(read::<CycleCounted>(t, v, bytes)?),
        ("inventory.snapshot_reconciled", 1) => {
            Event::StockSnapshotReconciled(read::<StockSnapshotReconciled>(t, v, bytes)?)
        }
        ("inventory.transfer_shipped", 1) => {
            Event::TransferShipped(read::<TransferShipped>(t, v, bytes)?)
        }
        ("inventory.transfer_received", 1) => {
            Event::TransferReceived(read::<TransferReceived>(t, v, bytes)?)
        }
        ("inventory.quarantined", 1) => {
            Event::StockQuarantined(read::<QuarantineMove>(t, v, bytes)?)
        }
        ("inventory.quarantine_released", 1) => {
            Event::QuarantineReleased(read::<QuarantineMove>(t, v, bytes)?)
        }
        ("inventory.scrapped", 1) => Event::StockScrapped(read::<StockScrapped>(t, v, bytes)?),
        ("lot.recalled", 1) => Event::LotRecalled(read::<LotRecalled>(t, v, bytes)?),
        ("return.authorized", 1) => Event::ReturnAuthorized(read::<ReturnAuthorized>(t, v, bytes)?),
        ("return.received", 1) => Event::ReturnReceived(read::<ReturnReceived>(t, v, bytes)?),
        ("return.inspected", 1) => Event::ReturnInspected(read::<ReturnInspected>(t, v, bytes)?),
        ("return.closed", 1) => Event::ReturnClosed(read::<ReturnClosed>(t, v, bytes)?),
        ("finance.payment_captured", 1) => {
            Event::PaymentCaptured(read::<PaymentCaptured>(t, v, bytes)?)
        }
        ("finance.invoice_issued", 1) => Event::InvoiceIssued(read::<InvoiceIssued>(t, v, bytes)?),
        ("finance.processor_fee_recorded", 1) => {
            Event::ProcessorFeeRecorded(read::<ProcessorFeeRecorded>(t, v, bytes)?)
        }
        ("finance.refund_issued", 1) => Event::RefundIssued(read::<RefundIssued>(t, v, bytes)?),
        ("finance.deposit_refunded", 1) => {
            Event::DepositRefunded(read::<DepositRefunded>(t, v, bytes)?)
        }
        ("finance.processor_payout_recorded", 1) => {
            Event::ProcessorPayoutRecorded(read::<ProcessorPayoutRecorded>(t, v, bytes)?)
        }
        ("settlement.opened", 1) => Event::SettlementOpened(read::<SettlementOpened>(t, v, bytes)?),
        ("settlement.line_recorded", 1) => {
            Event::SettlementLineRecorded(read::<SettlementLineRecorded>(t, v, bytes)?)
        }
        ("settlement.payout_settled", 1) => {
            Event::PayoutSettled(read::<PayoutSettled>(t, v, bytes)?)
        }
        ("journal.entry_posted", 1) => {
            Event::JournalEntryPosted(read::<JournalEntry>(t, v, bytes)?)
        }
        ("command.accepted", 1) => Event::CommandAccepted(read::<CommandAccepted>(t, v, bytes)?),
        ("exception.raised", 1) => Event::ExceptionRaised(read::<ExceptionRaised>(t, v, bytes)?),
        ("order.hold_sla_breached", 1) => {
            Event::HoldSlaBreached(read::<HoldSlaBreached>(t, v, bytes)?)
        }
        ("order.backorders_cancelled", 1) => {
            Event::BackordersCancelled(read::<crate::event::BackordersCancelled>(t, v, bytes)?)
        }
        ("workflow.configured", 1) => {
            Event::WorkflowConfigured(read::<crate::event::WorkflowConfigured>(t, v, bytes)?)
        }
        ("supplier.defined", 1) => {
            Event::SupplierDefined(read::<crate::purchasing::Supplier>(t, v, bytes)?)
        }
        ("purchase_order.created", 1) => {
            Event::PurchaseOrderCreated(read::<crate::event::PurchaseOrderCreated>(t, v, bytes)?)
        }
        ("purchase_order.received", 1) => {
            Event::PurchaseOrderReceived(read::<crate::event::PurchaseOrderReceived>(t, v, bytes)?)
        }
        ("supplier.invoice_recorded", 1) => Event::SupplierInvoiceRecorded(read::<
            crate::event::SupplierInvoiceRecorded,
        >(t, v, bytes)?),
        ("supplier.payment_recorded", 1) => Event::SupplierPaymentRecorded(read::<
            crate::event::SupplierPaymentRecorded,
        >(t, v, bytes)?),
        ("customer.defined", 1) => Event::CustomerDefined(read::<Customer>(t, v, bytes)?),
        ("finance.customer_payment_recorded", 1) => {
            Event::CustomerPaymentRecorded(read::<CustomerPaymentRecorded>(t, v, bytes)?)
        }
        ("exception.acknowledged", 1) => {
            Event::ExceptionAcknowledged(read::<crate::event::ExceptionAcknowledged>(t, v, bytes)?)
        }
        ("exception.resolved", 1) => {
            Event::ExceptionResolved(read::<crate::event::ExceptionResolved>(t, v, bytes)?)
        }
        ("order.amended", 1) => Event::OrderAmended(read::<OrderAmended>(t, v, bytes)?),
        _ => {
            return Err(if KNOWN_TYPES.contains(&t) {
                DecodeError::UnknownVersion { event_type: t.to_owned(), version: v }
            } else {
                DecodeError::UnknownType(t.to_owned())
            });
        }
    };
    Ok(event)
}

/// Every event type name the codec knows, in a stable order: the names of
/// [`crate::event_type::EventType`]'s list.
pub const KNOWN_TYPES: &[&str] = crate::event_type::EventType::NAMES;
