//! The decision that sets the workflow rules ([`crate::workflow`]): every field checked, so a
//! rules file that loads is one the policy can run.

use std::collections::BTreeSet;

use super::{Decision, non_negative, same_currency};
use crate::command::ConfigureWorkflow;
use crate::event::{Event, WorkflowConfigured};
use crate::rejection::Rejection;
use crate::workflow::{
    BACKORDER_DAYS_MAX, BackorderPolicy, ChannelWorkflow, HOLD_RULES_MAX, HoldCondition,
    RULE_NAME_BYTES_MAX, SLA_MINUTES_MAX, SUBSTITUTES_MAX,
};

fn invalid(channel: &ChannelWorkflow, what: String) -> Rejection {
    Rejection::InvalidInput(format!("workflow of channel '{}': {what}", channel.channel))
}

fn check_sla(wf: &ChannelWorkflow, what: &str, minutes: i64) -> Result<(), Rejection> {
    if (1..=SLA_MINUTES_MAX).contains(&minutes) {
        Ok(())
    } else {
        Err(invalid(
            wf,
            format!("{what} of {minutes} minutes is not between 1 and {SLA_MINUTES_MAX}"),
        ))
    }
}

fn check_rule_name(wf: &ChannelWorkflow, name: &str) -> Result<(), Rejection> {
    let ok = !name.is_empty()
        && name.len() <= RULE_NAME_BYTES_MAX
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(invalid(
            wf,
            format!(
                "rule name '{name}' must be 1 to {RULE_NAME_BYTES_MAX} characters of a-z, 0-9 and '-'"
            ),
        ));
    }
    if [
        crate::workflow::rules::VALIDATE,
        crate::workflow::rules::AUTO_ALLOCATE,
        crate::workflow::rules::AUTO_RELEASE,
        crate::workflow::rules::SUBSTITUTE,
        crate::workflow::rules::BACKORDER_TIMEOUT,
    ]
    .contains(&name)
    {
        return Err(invalid(wf, format!("rule name '{name}' is a built-in rule's")));
    }
    Ok(())
}

fn check_channel(d: &Decision<'_>, wf: &ChannelWorkflow) -> Result<(), Rejection> {
    let channel = d.channel(&wf.channel)?;
    check_sla(wf, "validation SLA", wf.validation_sla_minutes)?;
    if wf.holds.len() > HOLD_RULES_MAX {
        return Err(invalid(
            wf,
            format!("{} hold rules, more than {HOLD_RULES_MAX}", wf.holds.len()),
        ));
    }
    let mut names = BTreeSet::new();
    for rule in &wf.holds {
        check_rule_name(wf, &rule.name)?;
        if !names.insert(rule.name.as_str()) {
            return Err(invalid(wf, format!("two hold rules are named '{}'", rule.name)));
        }
        check_sla(wf, &format!("SLA of rule '{}'", rule.name), rule.sla_minutes)?;
        let needs_score = rule.when == HoldCondition::FraudScoreAtLeast;
        let needs_amount =
            matches!(rule.when, HoldCondition::OrderValueAtLeast | HoldCondition::FirstOrderAbove);
        match (needs_score, rule.fraud_score) {
            (true, Some(score))
                if (0..=crate::decide::orders::FRAUD_SCORE_MAX).contains(&score) => {}
            (true, _) => {
                return Err(invalid(
                    wf,
                    format!("rule '{}' needs a fraud_score between 0 and 100", rule.name),
                ));
            }
            (false, Some(_)) => {
                return Err(invalid(wf, format!("rule '{}' takes no fraud_score", rule.name)));
            }
            (false, None) => {}
        }
        match (needs_amount, rule.amount) {
            (true, Some(amount)) => {
                same_currency(channel.currency, amount.currency())?;
                non_negative("rule amount", amount, true)?;
            }
            (true, None) => {
                return Err(invalid(wf, format!("rule '{}' needs an amount", rule.name)));
            }
            (false, Some(_)) => {
                return Err(invalid(wf, format!("rule '{}' takes no amount", rule.name)));
            }
            (false, None) => {}
        }
    }
    match (wf.backorder, wf.backorder_days) {
        (BackorderPolicy::CancelAfter, Some(days)) if (1..=BACKORDER_DAYS_MAX).contains(&days) => {}
        (BackorderPolicy::CancelAfter, _) => {
            return Err(invalid(
                wf,
                format!(
                    "backorder policy cancel_after needs backorder_days between 1 and {BACKORDER_DAYS_MAX}"
                ),
            ));
        }
        (_, Some(_)) => {
            return Err(invalid(wf, "backorder_days is only for cancel_after".to_owned()));
        }
        (_, None) => {}
    }
    if wf.substitutes.len() > SUBSTITUTES_MAX {
        return Err(invalid(wf, format!("more than {SUBSTITUTES_MAX} substitutes")));
    }
    if !wf.substitutes.is_empty() && wf.backorder != BackorderPolicy::Substitute {
        return Err(invalid(wf, "substitutes are only for backorder policy substitute".to_owned()));
    }
    let mut from = BTreeSet::new();
    for s in &wf.substitutes {
        d.sku(&s.sku)?;
        d.sku(&s.substitute)?;
        if s.sku == s.substitute {
            return Err(invalid(wf, format!("SKU '{}' substitutes itself", s.sku)));
        }
        if !from.insert(&s.sku) {
            return Err(invalid(wf, format!("SKU '{}' has two substitutes", s.sku)));
        }
    }
    Ok(())
}

pub(super) fn configure(d: &Decision<'_>, c: &ConfigureWorkflow) -> Result<Vec<Event>, Rejection> {
    let mut seen = BTreeSet::new();
    for wf in &c.channels {
        if !seen.insert(&wf.channel) {
            return Err(Rejection::InvalidInput(format!(
                "channel '{}' has two workflows",
                wf.channel
            )));
        }
        check_channel(d, wf)?;
    }
    let mut channels = c.channels.clone();
    channels.sort_by(|a, b| a.channel.cmp(&b.channel));
    let current: Vec<&ChannelWorkflow> = d.state.workflow.values().collect();
    if current.len() == channels.len() && current.iter().zip(&channels).all(|(a, b)| *a == b) {
        return Ok(Vec::new());
    }
    Ok(vec![Event::WorkflowConfigured(WorkflowConfigured { channels })])
}
