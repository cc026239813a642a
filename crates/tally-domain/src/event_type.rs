//! The event types, listed once: each with its stored name (`inventory.received`), its
//! variant and its doc. [`crate::codec::KNOWN_TYPES`] is this list's names, and with feature
//! `graphql` the list is the GraphQL enum `EventType` (`INVENTORY_RECEIVED`), so a new event
//! type is added here and in the codec, nowhere else. The codec's tests check that every type
//! is decodable and emitted by some scenario, and that every event's type name is listed.

macro_rules! event_types {
    ($($variant:ident => $name:literal, $doc:literal,)*) => {
        /// The type of an event (`type` of `Event`): its stored name in SCREAMING_SNAKE_CASE,
        /// `INVENTORY_RECEIVED` for `inventory.received`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
        pub enum EventType {
            $(
                #[doc = $doc]
                $variant,
            )*
        }

        impl EventType {
            /// Every event type, in the codec's order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            /// Every stored type name, in the same order ([`crate::codec::KNOWN_TYPES`]).
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The stored type name (`inventory.received`).
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            /// The value of a stored type name; `None` for a name the codec does not know.
            #[must_use]
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(EventType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    LocationDefined => "location.defined", "`location.defined`: A location was defined or redefined.",
    ChannelDefined => "channel.defined", "`channel.defined`: A sales channel was defined or redefined.",
    SkuDefined => "sku.defined", "`sku.defined`: A SKU was defined or redefined.",
    InventorySafetyStockSet => "inventory.safety_stock_set", "`inventory.safety_stock_set`: The safety stock of a SKU at a location was set.",
    InventoryReorderPointSet => "inventory.reorder_point_set", "`inventory.reorder_point_set`: The reorder point of a SKU at a location was set or cleared.",
    InventoryCountToleranceSet => "inventory.count_tolerance_set", "`inventory.count_tolerance_set`: The cycle-count tolerance of an ABC class was set.",
    OrderReceived => "order.received", "`order.received`: An order was received from a channel.",
    OrderValidated => "order.validated", "`order.validated`: An order was validated.",
    OrderHeld => "order.held", "`order.held`: An order was put on hold.",
    OrderHoldReleased => "order.hold_released", "`order.hold_released`: An order's hold was released.",
    OrderLineAllocated => "order.line_allocated", "`order.line_allocated`: Units of an order line were reserved at a location.",
    OrderLineBackordered => "order.line_backordered", "`order.line_backordered`: An order line waits for stock.",
    OrderLineSubstituted => "order.line_substituted", "`order.line_substituted`: An order line's SKU was substituted.",
    OrderReservationReleased => "order.reservation_released", "`order.reservation_released`: Reserved units of an order line went back to available.",
    OrderPicked => "order.picked", "`order.picked`: Units of an order were picked.",
    OrderPacked => "order.packed", "`order.packed`: Units of an order were packed.",
    OrderShipped => "order.shipped", "`order.shipped`: Units of an order were shipped.",
    OrderDelivered => "order.delivered", "`order.delivered`: An order was delivered.",
    OrderCancelled => "order.cancelled", "`order.cancelled`: An order was cancelled.",
    OrderRemainderCancelled => "order.remainder_cancelled", "`order.remainder_cancelled`: The unshipped remainder of an order was cancelled.",
    InventoryInboundExpected => "inventory.inbound_expected", "`inventory.inbound_expected`: Inbound units were announced.",
    InventoryReceived => "inventory.received", "`inventory.received`: Units were received at a location.",
    InventoryAdjusted => "inventory.adjusted", "`inventory.adjusted`: Stock was adjusted (found, lost, damage, correction).",
    InventoryCycleCounted => "inventory.cycle_counted", "`inventory.cycle_counted`: A cycle count was recorded.",
    InventorySnapshotReconciled => "inventory.snapshot_reconciled", "`inventory.snapshot_reconciled`: A partner's on-hand snapshot of a bucket was compared with on-hand (never overwriting it).",
    InventoryTransferShipped => "inventory.transfer_shipped", "`inventory.transfer_shipped`: A transfer left a location.",
    InventoryTransferReceived => "inventory.transfer_received", "`inventory.transfer_received`: A transfer arrived at a location.",
    InventoryQuarantined => "inventory.quarantined", "`inventory.quarantined`: Units were quarantined.",
    InventoryQuarantineReleased => "inventory.quarantine_released", "`inventory.quarantine_released`: Quarantined units were released.",
    InventoryScrapped => "inventory.scrapped", "`inventory.scrapped`: Units were scrapped.",
    LotRecalled => "lot.recalled", "`lot.recalled`: A lot was recalled.",
    ReturnAuthorized => "return.authorized", "`return.authorized`: A customer return was authorised.",
    ReturnReceived => "return.received", "`return.received`: Returned units were received.",
    ReturnInspected => "return.inspected", "`return.inspected`: Returned units were inspected and disposed of.",
    ReturnClosed => "return.closed", "`return.closed`: A return was closed.",
    FinancePaymentCaptured => "finance.payment_captured", "`finance.payment_captured`: A payment was captured.",
    FinanceInvoiceIssued => "finance.invoice_issued", "`finance.invoice_issued`: An invoice was issued.",
    FinanceProcessorFeeRecorded => "finance.processor_fee_recorded", "`finance.processor_fee_recorded`: A payment processor's fee was recorded.",
    FinanceRefundIssued => "finance.refund_issued", "`finance.refund_issued`: A refund was issued.",
    FinanceDepositRefunded => "finance.deposit_refunded", "`finance.deposit_refunded`: A deposit was refunded.",
    FinanceProcessorPayoutRecorded => "finance.processor_payout_recorded", "`finance.processor_payout_recorded`: A processor payout to the bank was recorded.",
    SettlementOpened => "settlement.opened", "`settlement.opened`: A marketplace settlement was opened.",
    SettlementLineRecorded => "settlement.line_recorded", "`settlement.line_recorded`: A money line of a settlement was recorded.",
    SettlementPayoutSettled => "settlement.payout_settled", "`settlement.payout_settled`: A settlement's payout was deposited.",
    JournalEntryPosted => "journal.entry_posted", "`journal.entry_posted`: A journal entry was posted.",
    CommandAccepted => "command.accepted", "`command.accepted`: A command was accepted with no other event (a marker).",
    OrderHoldSlaBreached => "order.hold_sla_breached", "`order.hold_sla_breached`: A hold passed its SLA due time (appended by the engine's timer).",
    OrderBackordersCancelled => "order.backorders_cancelled", "`order.backorders_cancelled`: Units of an order still waiting for stock were cancelled (a workflow's backorder timeout).",
    WorkflowConfigured => "workflow.configured", "`workflow.configured`: The workflow rules were set (which rules decide from here on).",
    ExceptionRaised => "exception.raised", "`exception.raised`: Something a person must look at was raised (a cycle-count task, an invoice or payout mismatch).",
    SupplierDefined => "supplier.defined", "`supplier.defined`: A supplier was defined or redefined.",
    PurchaseOrderCreated => "purchase_order.created", "`purchase_order.created`: A purchase order was created.",
    PurchaseOrderReceived => "purchase_order.received", "`purchase_order.received`: Units just received arrived against a purchase-order line.",
    SupplierInvoiceRecorded => "supplier.invoice_recorded", "`supplier.invoice_recorded`: A supplier invoice was matched and recorded.",
    SupplierPaymentRecorded => "supplier.payment_recorded", "`supplier.payment_recorded`: A payment to a supplier was recorded.",
    CustomerDefined => "customer.defined", "`customer.defined`: A B2B customer was defined or redefined.",
    FinanceCustomerPaymentRecorded => "finance.customer_payment_recorded", "`finance.customer_payment_recorded`: A customer's payment was received and applied to invoices.",
    ExceptionAcknowledged => "exception.acknowledged", "`exception.acknowledged`: A person took an open exception in hand.",
    ExceptionResolved => "exception.resolved", "`exception.resolved`: An exception left the queue: resolved or dismissed by a person, or cleared by a later decision.",
    OrderAmended => "order.amended", "`order.amended`: An order's lines, shipping or ship-to were changed before shipment (an order edit at the channel).",
}
