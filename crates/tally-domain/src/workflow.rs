//! Workflow automation: per-channel rules that validate, hold, release, allocate, substitute
//! and cancel backorders without a person sending each command (DOMAIN.md §2, "Workflow
//! automation").
//!
//! The rules are data in the state (`workflow.configured` records each change, so history
//! shows which rules were in force). The policy is pure: [`next`] looks at one order and says
//! the one command a rule wants next, if any; the engine's single writer submits it with the
//! actor `rule:<name>` right after the command that changed the order, and asks again after
//! each one, so a chain (received → validated → held, or → allocated) runs inside one group.
//! A held order waits: nothing but `auto-release` acts on it; a released order that was never
//! validated is validated then (and the hold rules look at it), a validated one is allocated
//! by the release itself.
//!
//! Because [`next`] reads the order's state, not the event that changed it, the same question
//! asked again (after a crash, at the timer's scan) gives the same answer or none: a rule acts
//! at most once per state of the order.
//!
//! Time-driven steps (backorder timeout) are in [`crate::timers`].

use serde::{Deserialize, Serialize};

use crate::command::{CancelOrder, Command, HoldOrder, OrderRef, SubstituteLine};
use crate::ids::{ChannelId, Sku};
use crate::money::Money;
use crate::order::{CancelReason, HoldReason, Order, OrderStatus};
use crate::state::State;
use crate::time::Timestamp;

/// Most hold rules one channel may have.
pub const HOLD_RULES_MAX: usize = 32;
/// Most substitutes one channel may have.
pub const SUBSTITUTES_MAX: usize = 1_000;
/// Longest SLA of a hold, in minutes (one year).
pub const SLA_MINUTES_MAX: i64 = 525_600;
/// Longest backorder wait before cancelling, in days.
pub const BACKORDER_DAYS_MAX: i64 = 365;
/// Longest rule name, in bytes.
pub const RULE_NAME_BYTES_MAX: usize = 48;

/// Names of the built-in rules (configured hold rules have their own names).
pub mod rules {
    /// Validates received orders, or holds them (`address`, `data`).
    pub const VALIDATE: &str = "validate";
    /// Allocates validated orders no rule holds.
    pub const AUTO_ALLOCATE: &str = "auto-allocate";
    /// Releases a hold whose cause cleared (payment captured, credit restored).
    pub const AUTO_RELEASE: &str = "auto-release";
    /// Substitutes a backordered line from the channel's substitute SKU.
    pub const SUBSTITUTE: &str = "substitute";
    /// Cancels backorders older than the channel allows.
    pub const BACKORDER_TIMEOUT: &str = "backorder-timeout";
}

/// The actor recorded on a command a rule submits.
#[must_use]
pub fn rule_actor(rule: &str) -> String {
    format!("rule:{rule}")
}

/// What a hold rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum HoldCondition {
    /// Less captured than the order's total (consumer orders; B2B orders on terms pay later).
    PaymentNotCaptured,
    /// The channel's fraud score is at least `fraud_score`.
    FraudScoreAtLeast,
    /// The order's total (with shipping and tax) is at least `amount`.
    OrderValueAtLeast,
    /// The buyer's first order (or a guest's), with a total above `amount`.
    FirstOrderAbove,
    /// The B2B customer's open AR − credit + this order passes its credit limit.
    CreditLimitExceeded,
}

/// One hold rule: when it matches, the order is held with its reason and SLA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject, async_graphql::SimpleObject),
    graphql(input_name = "HoldRuleInput")
)]
pub struct HoldRule {
    /// Its name (`a-z`, `0-9`, `-`; unique in the channel): the actor is `rule:<name>`.
    pub name: String,
    /// What it looks at.
    pub when: HoldCondition,
    /// The hold's reason.
    pub reason: HoldReason,
    /// Minutes until the hold is past its SLA (1 to 525,600).
    pub sla_minutes: i64,
    /// For `fraud_score_at_least`: the threshold, 0 to 100.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub fraud_score: Option<i64>,
    /// For `order_value_at_least` and `first_order_above`: the limit, in the channel's
    /// currency.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub amount: Option<Money>,
}

/// What happens to the part of an order no stock can fill.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum BackorderPolicy {
    /// It waits for stock, however long.
    #[default]
    Wait,
    /// It is cancelled (reason `stockout`) `backorder_days` after the order was placed.
    CancelAfter,
    /// A line with nothing allocated takes the channel's substitute SKU when that has stock.
    Substitute,
}

/// A substitute SKU a channel accepts for another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject, async_graphql::SimpleObject),
    graphql(input_name = "SubstituteInput")
)]
pub struct Substitute {
    /// The SKU ordered.
    pub sku: Sku,
    /// The SKU that may ship instead.
    pub substitute: Sku,
}

/// One channel's workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject, async_graphql::SimpleObject),
    graphql(input_name = "ChannelWorkflowInput")
)]
pub struct ChannelWorkflow {
    /// The channel (must be defined).
    pub channel: ChannelId,
    /// Validate orders on receipt; a failure holds the order (`address` or `data`).
    pub validate: bool,
    /// Validation requires a complete ship-to address.
    pub require_address: bool,
    /// SLA of a validation hold, in minutes.
    pub validation_sla_minutes: i64,
    /// Hold rules, in order: the first that matches holds the order.
    pub holds: Vec<HoldRule>,
    /// Release a `payment` or `credit` hold when its cause clears.
    pub auto_release: bool,
    /// Allocate a validated order no rule holds.
    pub auto_allocate: bool,
    /// What happens to backorders.
    pub backorder: BackorderPolicy,
    /// For `cancel_after`: days after placement (1 to 365).
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub backorder_days: Option<i64>,
    /// For `substitute`: which SKU may ship for which.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub substitutes: Vec<Substitute>,
}

impl ChannelWorkflow {
    /// The substitute of `sku`, if the channel has one.
    #[must_use]
    pub fn substitute_of(&self, sku: &Sku) -> Option<&Sku> {
        self.substitutes.iter().find(|s| &s.sku == sku).map(|s| &s.substitute)
    }
}

/// A command a rule wants, with the rule's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// The rule (the actor is `rule:<name>`).
    pub rule: String,
    /// What it asks.
    pub command: Command,
}

fn minutes_ms(minutes: i64) -> i64 {
    minutes.saturating_mul(60_000)
}

/// What validation finds wrong with an order: the hold reason and the problems, or `None`.
#[must_use]
pub fn validation_problems(
    state: &State,
    wf: &ChannelWorkflow,
    order: &Order,
) -> Option<(HoldReason, String)> {
    if order.checks_waived {
        return None;
    }
    let mut data = Vec::new();
    for (n, line) in order.lines.iter().enumerate() {
        if state.sku(&line.sku).is_none() {
            data.push(format!("line {n}: unknown SKU '{}'", line.sku));
        }
        if line.unit_price.minor() == 0 {
            data.push(format!("line {n} ({}): no price", line.sku));
        }
    }
    if !data.is_empty() {
        return Some((HoldReason::Data, data.join("; ")));
    }
    if wf.require_address {
        match &order.profile.ship_to {
            None => return Some((HoldReason::Address, "no ship-to address".to_owned())),
            Some(address) => {
                if let Some(missing) = address.missing() {
                    return Some((
                        HoldReason::Address,
                        format!("ship-to address has no {missing}"),
                    ));
                }
            }
        }
    }
    None
}

/// Whether a hold rule matches the order.
fn matches(state: &State, rule: &HoldRule, order: &Order) -> bool {
    let gross = crate::decide::order_gross(order);
    match rule.when {
        HoldCondition::PaymentNotCaptured => {
            order.billing.customer.is_none()
                && gross.is_some_and(|g| order.captured_minor < g.minor())
        }
        HoldCondition::FraudScoreAtLeast => match (order.profile.fraud_score, rule.fraud_score) {
            (Some(score), Some(threshold)) => i64::from(score) >= threshold,
            _ => false,
        },
        HoldCondition::OrderValueAtLeast => match (gross, rule.amount) {
            (Some(g), Some(limit)) => g.minor() >= limit.minor(),
            _ => false,
        },
        HoldCondition::FirstOrderAbove => {
            let first = order
                .profile
                .buyer
                .as_ref()
                .is_none_or(|b| state.buyer_orders.get(b).copied().unwrap_or(0) <= 1);
            first
                && match (gross, rule.amount) {
                    (Some(g), Some(limit)) => g.minor() > limit.minor(),
                    _ => false,
                }
        }
        HoldCondition::CreditLimitExceeded => {
            order.billing.customer.is_some() && !crate::decide::credit_fits(state, order)
        }
    }
}

/// Whether the cause of the order's hold has cleared, so `auto-release` may release it.
fn cause_cleared(state: &State, order: &Order) -> bool {
    let Some(hold) = &order.hold else { return false };
    match hold.reason {
        HoldReason::Payment => {
            crate::decide::order_gross(order).is_some_and(|g| order.captured_minor >= g.minor())
        }
        HoldReason::Credit => crate::decide::credit_fits(state, order),
        HoldReason::Fraud | HoldReason::Address | HoldReason::Manual | HoldReason::Data => false,
    }
}

/// The one command a rule of the order's channel wants next, given the order as it is now.
#[must_use]
pub fn next(state: &State, order: &Order, now: Timestamp) -> Option<Reaction> {
    let wf = state.workflow.get(&order.channel)?;
    let reaction = |rule: &str, command: Command| Some(Reaction { rule: rule.to_owned(), command });
    let order_ref = || OrderRef { order: order.id.clone() };
    if order.hold.is_some() {
        if wf.auto_release
            && matches!(
                order.status,
                OrderStatus::Received | OrderStatus::Validated | OrderStatus::Fulfilling
            )
            && cause_cleared(state, order)
        {
            return reaction(rules::AUTO_RELEASE, Command::ReleaseHold(order_ref()));
        }
        return None;
    }
    match order.status {
        OrderStatus::Received if wf.validate => match validation_problems(state, wf, order) {
            Some((reason, problem)) => reaction(
                rules::VALIDATE,
                Command::HoldOrder(HoldOrder {
                    order: order.id.clone(),
                    reason,
                    due_at: Timestamp::from_millis(
                        now.millis().saturating_add(minutes_ms(wf.validation_sla_minutes)),
                    ),
                    note: problem,
                }),
            ),
            None => reaction(rules::VALIDATE, Command::ValidateOrder(order_ref())),
        },
        OrderStatus::Validated => {
            // Hold rules look at a validated order before anything is allocated to it; a
            // release allocates it (`releaseHold`), so a released order is not held again.
            if let Some(rule) = wf.holds.iter().find(|r| matches(state, r, order)) {
                return reaction(
                    &rule.name,
                    Command::HoldOrder(HoldOrder {
                        order: order.id.clone(),
                        reason: rule.reason,
                        due_at: Timestamp::from_millis(
                            now.millis().saturating_add(minutes_ms(rule.sla_minutes)),
                        ),
                        note: format!("rule {}", rule.name),
                    }),
                );
            }
            if wf.auto_allocate {
                return reaction(rules::AUTO_ALLOCATE, Command::AllocateOrder(order_ref()));
            }
            None
        }
        OrderStatus::Fulfilling if wf.backorder == BackorderPolicy::Substitute => {
            let today = now.date();
            for (n, line) in order.lines.iter().enumerate() {
                let waiting = line.unallocated();
                if waiting == 0 || line.allocated > 0 || line.substituted_from.is_some() {
                    continue;
                }
                let Some(substitute) = wf.substitute_of(&line.sku) else { continue };
                if state.ats(&order.channel, substitute, today) >= waiting {
                    return reaction(
                        rules::SUBSTITUTE,
                        Command::SubstituteLine(SubstituteLine {
                            order: order.id.clone(),
                            line: u32::try_from(n).ok()?,
                            sku: substitute.clone(),
                        }),
                    );
                }
            }
            None
        }
        _ => None,
    }
}

/// The backorder-timeout command due for `order` at `now`, if its channel cancels backorders
/// after N days and the order was placed longer ago than that: a whole-order cancellation
/// (reason `stockout`) when nothing of it is allocated or shipped, otherwise the cancellation
/// of its waiting units only.
#[must_use]
pub fn backorder_timeout(state: &State, order: &Order, now: Timestamp) -> Option<Command> {
    let wf = state.workflow.get(&order.channel)?;
    if wf.backorder != BackorderPolicy::CancelAfter || order.hold.is_some() {
        return None;
    }
    if order.status != OrderStatus::Fulfilling {
        return None;
    }
    let days = wf.backorder_days?;
    let due = order.placed_at.millis().saturating_add(days.saturating_mul(86_400_000));
    if now.millis() < due || order.lines.iter().all(|l| l.unallocated() == 0) {
        return None;
    }
    let nothing_taken = order.lines.iter().all(|l| l.allocated == 0 && l.shipped == 0);
    Some(if nothing_taken {
        Command::CancelOrder(CancelOrder {
            order: order.id.clone(),
            reason: CancelReason::Stockout,
        })
    } else {
        Command::CancelBackorders(CancelOrder {
            order: order.id.clone(),
            reason: CancelReason::Stockout,
        })
    })
}

/// Every reaction due in the whole state (the engine asks at start and at each timer tick,
/// so a chain cut by a crash or a rules change is picked up).
#[must_use]
pub fn scan(state: &State, now: Timestamp) -> Vec<(crate::ids::OrderId, Reaction)> {
    if state.workflow.is_empty() {
        return Vec::new();
    }
    state
        .orders()
        .filter(|o| state.workflow.contains_key(&o.channel))
        .filter_map(|o| next(state, o, now).map(|r| (o.id.clone(), r)))
        .collect()
}

/// The open orders an event may have given a rule something to do: the order it is about;
/// for a customer's payment, that customer's orders held for credit.
#[must_use]
pub fn touched_orders(state: &State, event: &crate::event::Event) -> Vec<crate::ids::OrderId> {
    use crate::event::Event;
    match event {
        Event::OrderReceived(e) => vec![e.order.clone()],
        Event::OrderAmended(e) => vec![e.order.clone()],
        Event::OrderValidated(e) | Event::OrderHoldReleased(e) => vec![e.order.clone()],
        Event::OrderHeld(e) => vec![e.order.clone()],
        Event::LineBackordered(e) => vec![e.order.clone()],
        Event::PaymentCaptured(e) => vec![e.order.clone()],
        Event::CustomerPaymentRecorded(e) => state
            .orders()
            .filter(|o| {
                o.billing.customer.as_ref() == Some(&e.customer)
                    && o.hold.as_ref().is_some_and(|h| h.reason == HoldReason::Credit)
            })
            .map(|o| o.id.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `channel` runs a workflow.
#[must_use]
pub fn has_workflow(state: &State, channel: &ChannelId) -> bool {
    state.workflow.contains_key(channel)
}
