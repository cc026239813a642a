//! One typed mutation per domain command (generated from one list; see the crate's tests for
//! the matching samples). Each input serialises to the command's JSON and the domain parses it.

use super::inputs::*;
use super::mutations::{SubmitResult, submit_typed};
use crate::auth::FieldGuard;
use async_graphql::{Context, Object};

/// The typed mutations.
#[derive(Debug, Default)]
pub struct TypedMutation;

#[Object]
impl TypedMutation {
    /// Define or redefine a location.
    #[graphql(guard = "FieldGuard(\"Mutation.defineLocation\")")]
    async fn define_location(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: DefineLocationInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.defineLocation",
            "define_location",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Define or redefine a channel.
    #[graphql(guard = "FieldGuard(\"Mutation.defineChannel\")")]
    async fn define_channel(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: DefineChannelInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.defineChannel",
            "define_channel",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Define or redefine a SKU.
    #[graphql(guard = "FieldGuard(\"Mutation.defineSku\")")]
    async fn define_sku(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: DefineSkuInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(ctx, "Mutation.defineSku", "define_sku", envelope, &command, wait_for_views)
            .await
    }

    /// Set safety stock of a SKU at a location.
    #[graphql(guard = "FieldGuard(\"Mutation.setSafetyStock\")")]
    async fn set_safety_stock(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: SetSafetyStockInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.setSafetyStock",
            "set_safety_stock",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Receive (place) an order. The same order id with the same content is a no-op.
    #[graphql(guard = "FieldGuard(\"Mutation.receiveOrder\")")]
    async fn receive_order(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: ReceiveOrderInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.receiveOrder",
            "receive_order",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Validate a received order.
    #[graphql(guard = "FieldGuard(\"Mutation.validateOrder\")")]
    async fn validate_order(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        order: String,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        let command = OrderRef { order };
        submit_typed(
            ctx,
            "Mutation.validateOrder",
            "validate_order",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Put an order on hold with a reason and an SLA due time.
    #[graphql(guard = "FieldGuard(\"Mutation.holdOrder\")")]
    async fn hold_order(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: HoldOrderInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(ctx, "Mutation.holdOrder", "hold_order", envelope, &command, wait_for_views)
            .await
    }

    /// Release an order's hold.
    #[graphql(guard = "FieldGuard(\"Mutation.releaseHold\")")]
    async fn release_hold(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        order: String,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        let command = OrderRef { order };
        submit_typed(
            ctx,
            "Mutation.releaseHold",
            "release_hold",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Allocate a validated order: rank order, split, backorder, FEFO.
    #[graphql(guard = "FieldGuard(\"Mutation.allocateOrder\")")]
    async fn allocate_order(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        order: String,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        let command = OrderRef { order };
        submit_typed(
            ctx,
            "Mutation.allocateOrder",
            "allocate_order",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Pick reserved units (at one location, or all).
    #[graphql(guard = "FieldGuard(\"Mutation.pickOrder\")")]
    async fn pick_order(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: FulfilOrderInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(ctx, "Mutation.pickOrder", "pick_order", envelope, &command, wait_for_views)
            .await
    }

    /// Pack picked units.
    #[graphql(guard = "FieldGuard(\"Mutation.packOrder\")")]
    async fn pack_order(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: FulfilOrderInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(ctx, "Mutation.packOrder", "pack_order", envelope, &command, wait_for_views)
            .await
    }

    /// Ship packed units; issues the invoice and the COGS entry.
    #[graphql(guard = "FieldGuard(\"Mutation.shipOrder\")")]
    async fn ship_order(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: ShipOrderInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(ctx, "Mutation.shipOrder", "ship_order", envelope, &command, wait_for_views)
            .await
    }

    /// Record delivery of a fully shipped order.
    #[graphql(guard = "FieldGuard(\"Mutation.deliverOrder\")")]
    async fn deliver_order(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        order: String,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        let command = OrderRef { order };
        submit_typed(
            ctx,
            "Mutation.deliverOrder",
            "deliver_order",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Cancel an order nothing of which has shipped.
    #[graphql(guard = "FieldGuard(\"Mutation.cancelOrder\")")]
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: CancelOrderInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.cancelOrder",
            "cancel_order",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Replace the SKU of a line nothing of which is allocated.
    #[graphql(guard = "FieldGuard(\"Mutation.substituteLine\")")]
    async fn substitute_line(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: SubstituteLineInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.substituteLine",
            "substitute_line",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Record expected inbound (purchase order / ASN).
    #[graphql(guard = "FieldGuard(\"Mutation.expectInbound\")")]
    async fn expect_inbound(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: ExpectInboundInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.expectInbound",
            "expect_inbound",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Receive stock.
    #[graphql(guard = "FieldGuard(\"Mutation.receiveInventory\")")]
    async fn receive_inventory(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: ReceiveInventoryInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.receiveInventory",
            "receive_inventory",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Adjust available stock up or down.
    #[graphql(guard = "FieldGuard(\"Mutation.adjustInventory\")")]
    async fn adjust_inventory(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: AdjustInventoryInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.adjustInventory",
            "adjust_inventory",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Record a cycle count; the variance becomes an adjustment.
    #[graphql(guard = "FieldGuard(\"Mutation.cycleCount\")")]
    async fn cycle_count(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: CycleCountInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(ctx, "Mutation.cycleCount", "cycle_count", envelope, &command, wait_for_views)
            .await
    }

    /// Ship a transfer: available at the source, in transit at the destination.
    #[graphql(guard = "FieldGuard(\"Mutation.shipTransfer\")")]
    async fn ship_transfer(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: ShipTransferInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.shipTransfer",
            "ship_transfer",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Receive (part of) a transfer: in transit to available.
    #[graphql(guard = "FieldGuard(\"Mutation.receiveTransfer\")")]
    async fn receive_transfer(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: ReceiveTransferInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.receiveTransfer",
            "receive_transfer",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Move available units to a quarantine.
    #[graphql(guard = "FieldGuard(\"Mutation.quarantineStock\")")]
    async fn quarantine_stock(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: QuarantineInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.quarantineStock",
            "quarantine_stock",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Move quarantined units back to available.
    #[graphql(guard = "FieldGuard(\"Mutation.releaseQuarantine\")")]
    async fn release_quarantine(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: QuarantineInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.releaseQuarantine",
            "release_quarantine",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Scrap units from available or a quarantine.
    #[graphql(guard = "FieldGuard(\"Mutation.scrapStock\")")]
    async fn scrap_stock(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: ScrapStockInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(ctx, "Mutation.scrapStock", "scrap_stock", envelope, &command, wait_for_views)
            .await
    }

    /// Recall a lot: quarantine it wherever available, block allocation.
    #[graphql(guard = "FieldGuard(\"Mutation.recallLot\")")]
    async fn recall_lot(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: RecallLotInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(ctx, "Mutation.recallLot", "recall_lot", envelope, &command, wait_for_views)
            .await
    }

    /// Authorise a return.
    #[graphql(guard = "FieldGuard(\"Mutation.authorizeReturn\")")]
    async fn authorize_return(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: AuthorizeReturnInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.authorizeReturn",
            "authorize_return",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Receive returned units into `returned`.
    #[graphql(guard = "FieldGuard(\"Mutation.receiveReturn\")")]
    async fn receive_return(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: ReceiveReturnInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.receiveReturn",
            "receive_return",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Inspect returned units with a disposition each.
    #[graphql(guard = "FieldGuard(\"Mutation.inspectReturn\")")]
    async fn inspect_return(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: InspectReturnInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.inspectReturn",
            "inspect_return",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Close a fully inspected return.
    #[graphql(guard = "FieldGuard(\"Mutation.closeReturn\")")]
    async fn close_return(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        return_id: String,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        let command = ReturnRef { return_id };
        submit_typed(
            ctx,
            "Mutation.closeReturn",
            "close_return",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Record a payment captured for an order.
    #[graphql(guard = "FieldGuard(\"Mutation.capturePayment\")")]
    async fn capture_payment(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: CapturePaymentInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.capturePayment",
            "capture_payment",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Record the processor's fee on an order's payments.
    #[graphql(guard = "FieldGuard(\"Mutation.recordProcessorFee\")")]
    async fn record_processor_fee(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: RecordProcessorFeeInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.recordProcessorFee",
            "record_processor_fee",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Refund shipped units and their tax.
    #[graphql(guard = "FieldGuard(\"Mutation.issueRefund\")")]
    async fn issue_refund(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: IssueRefundInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.issueRefund",
            "issue_refund",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Pay back customer money held for an order that was not invoiced.
    #[graphql(guard = "FieldGuard(\"Mutation.refundDeposit\")")]
    async fn refund_deposit(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: RefundDepositInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.refundDeposit",
            "refund_deposit",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Record a processor payout to the bank.
    #[graphql(guard = "FieldGuard(\"Mutation.recordProcessorPayout\")")]
    async fn record_processor_payout(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: RecordProcessorPayoutInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.recordProcessorPayout",
            "record_processor_payout",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Open a marketplace settlement.
    #[graphql(guard = "FieldGuard(\"Mutation.openSettlement\")")]
    async fn open_settlement(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: OpenSettlementInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.openSettlement",
            "open_settlement",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Record one money line of a settlement.
    #[graphql(guard = "FieldGuard(\"Mutation.recordSettlementLine\")")]
    async fn record_settlement_line(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: RecordSettlementLineInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.recordSettlementLine",
            "record_settlement_line",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Settle a settlement's payout to the bank.
    #[graphql(guard = "FieldGuard(\"Mutation.settlePayout\")")]
    async fn settle_payout(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: SettlePayoutInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.settlePayout",
            "settle_payout",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }

    /// Post a manual journal entry (balanced per currency).
    #[graphql(guard = "FieldGuard(\"Mutation.postJournalEntry\")")]
    async fn post_journal_entry(
        &self,
        ctx: &Context<'_>,
        envelope: EnvelopeInput,
        command: PostJournalEntryInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        submit_typed(
            ctx,
            "Mutation.postJournalEntry",
            "post_journal_entry",
            envelope,
            &command,
            wait_for_views,
        )
        .await
    }
}
