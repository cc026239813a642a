//! The store's workflow rules file (`<data-dir>/workflow.toml`): read, checked for shape with
//! errors that name the key and line, and turned into the `configure_workflow` command that
//! records the rules in the log. The domain then checks the meaning (channels and SKUs
//! defined, amounts in the channel's currency, bounds) when the command is decided.
//!
//! ```toml
//! [channels.web]
//! validate = true              # default true: validate on receipt
//! require_address = true       # default true
//! validation_sla = "24h"       # default 24h; minutes "m", hours "h", days "d"
//! auto_release = true          # default true: release payment/credit holds when cleared
//! auto_allocate = true         # default true: allocate validated orders no rule holds
//! backorder = "cancel_after"   # wait (default) | cancel_after | substitute
//! backorder_days = 14          # for cancel_after
//!
//! [[channels.web.holds]]       # in order; the first that matches holds the order
//! name = "unpaid"
//! when = "payment_not_captured"
//! reason = "payment"
//! sla = "24h"
//!
//! [[channels.web.holds]]
//! name = "risky"
//! when = "fraud_score_at_least"
//! fraud_score = 75
//! reason = "fraud"
//! sla = "4h"
//!
//! [channels.web.substitutes]   # for backorder = "substitute"
//! "SKU-A" = "SKU-A2"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tally_domain::command::ConfigureWorkflow;
use tally_domain::ids::{ChannelId, Sku};
use tally_domain::money::{Currency, Money};
use tally_domain::order::HoldReason;
use tally_domain::workflow::{
    BackorderPolicy, ChannelWorkflow, HoldCondition, HoldRule, Substitute,
};

/// The file's name in the data directory.
pub const WORKFLOW_FILE: &str = "workflow.toml";

/// Largest rules file read, in bytes.
pub const WORKFLOW_FILE_BYTES_MAX: u64 = 1 << 20;

/// Why the rules file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowFileError {
    /// It could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Its shape or a value is wrong (the message names the key and the line).
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, and where.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    channels: BTreeMap<String, ChannelFile>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelFile {
    #[serde(default = "yes")]
    validate: bool,
    #[serde(default = "yes")]
    require_address: bool,
    #[serde(default)]
    validation_sla: Option<String>,
    #[serde(default = "yes")]
    auto_release: bool,
    #[serde(default = "yes")]
    auto_allocate: bool,
    #[serde(default)]
    backorder: BackorderPolicy,
    #[serde(default)]
    backorder_days: Option<i64>,
    #[serde(default)]
    holds: Vec<HoldFile>,
    #[serde(default)]
    substitutes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldFile {
    name: String,
    when: HoldCondition,
    reason: HoldReason,
    sla: String,
    #[serde(default)]
    fraud_score: Option<i64>,
    /// `"1000.00 USD"`.
    #[serde(default)]
    amount: Option<String>,
}

/// Minutes in a duration written `30m`, `4h` or `2d`.
fn minutes(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let per = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 1_440,
        _ => return Err(format!("duration '{text}' must end in m, h or d (e.g. \"4h\")")),
    };
    let n: i64 = number
        .parse()
        .map_err(|_| format!("duration '{text}' must be a whole number of m, h or d"))?;
    n.checked_mul(per).ok_or_else(|| format!("duration '{text}' is too long"))
}

fn money(text: &str) -> Result<Money, String> {
    let mut parts = text.split_whitespace();
    let (Some(amount), Some(code), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "amount '{text}' must be a decimal and a currency, e.g. \"1000.00 USD\""
        ));
    };
    let currency = Currency::parse(code).map_err(|e| format!("amount '{text}': {e}"))?;
    Money::parse(amount, currency).map_err(|e| format!("amount '{text}': {e}"))
}

/// Parses rules text (the file's content) into the command that sets them.
///
/// # Errors
/// A message naming the key (and for syntax, the line and column).
pub fn parse(text: &str) -> Result<ConfigureWorkflow, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut channels = Vec::with_capacity(file.channels.len());
    for (name, c) in file.channels {
        let at = |key: &str, e: String| format!("channels.{name}.{key}: {e}");
        let channel = ChannelId::parse(name.clone()).map_err(|e| at("", e.to_string()))?;
        let validation_sla_minutes = match &c.validation_sla {
            Some(text) => minutes(text).map_err(|e| at("validation_sla", e))?,
            None => 1_440,
        };
        let mut holds = Vec::with_capacity(c.holds.len());
        for (n, h) in c.holds.into_iter().enumerate() {
            let key = format!("holds[{n}]");
            holds.push(HoldRule {
                sla_minutes: minutes(&h.sla).map_err(|e| at(&format!("{key}.sla"), e))?,
                amount: h
                    .amount
                    .as_deref()
                    .map(money)
                    .transpose()
                    .map_err(|e| at(&format!("{key}.amount"), e))?,
                name: h.name,
                when: h.when,
                reason: h.reason,
                fraud_score: h.fraud_score,
            });
        }
        let mut substitutes = Vec::with_capacity(c.substitutes.len());
        for (sku, substitute) in c.substitutes {
            let key = format!("substitutes.{sku}");
            substitutes.push(Substitute {
                sku: Sku::parse(sku).map_err(|e| at(&key, e.to_string()))?,
                substitute: Sku::parse(substitute).map_err(|e| at(&key, e.to_string()))?,
            });
        }
        channels.push(ChannelWorkflow {
            channel,
            validate: c.validate,
            require_address: c.require_address,
            validation_sla_minutes,
            holds,
            auto_release: c.auto_release,
            auto_allocate: c.auto_allocate,
            backorder: c.backorder,
            backorder_days: c.backorder_days,
            substitutes,
        });
    }
    Ok(ConfigureWorkflow { channels })
}

/// Reads `<dir>/workflow.toml`: `None` when there is none.
///
/// # Errors
/// [`WorkflowFileError`] when it cannot be read or is not a valid rules file.
pub fn load(dir: &Path) -> Result<Option<(ConfigureWorkflow, blake3::Hash)>, WorkflowFileError> {
    let path = dir.join(WORKFLOW_FILE);
    let shown = path.display().to_string();
    let io = |source| WorkflowFileError::Io { path: shown.clone(), source };
    let len = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    if len > WORKFLOW_FILE_BYTES_MAX {
        return Err(WorkflowFileError::Invalid {
            path: shown,
            message: format!("{len} bytes, more than {WORKFLOW_FILE_BYTES_MAX}"),
        });
    }
    let bytes = std::fs::read(&path).map_err(io)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| WorkflowFileError::Invalid {
        path: shown.clone(),
        message: format!("not UTF-8: {e}"),
    })?;
    let command = parse(text)
        .map_err(|message| WorkflowFileError::Invalid { path: shown.clone(), message })?;
    Ok(Some((command, blake3::hash(&bytes))))
}

/// The idempotency key of one load of the rules file: its digest and the load time. (The
/// digest alone would not do: after file A, then B, loading A again must set A's rules, not
/// return the first load's answer.) A load that changes nothing appends only the
/// `command.accepted` marker that says it was loaded.
#[must_use]
pub fn key(digest: &blake3::Hash, now_ms: i64) -> String {
    format!("workflow-file:{}:{now_ms}", &digest.to_hex()[..32])
}

/// What loading the rules file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The store has no rules file.
    NoFile,
    /// The rules were set (`workflow.configured` at this seq) for this many channels.
    Changed {
        /// Seq of `workflow.configured`.
        seq: u64,
        /// Channels with a workflow.
        channels: usize,
    },
    /// The file says what is already in force.
    Unchanged,
}

/// Loads `<dir>/workflow.toml` and submits it as `configure_workflow` (actor `actor`, source
/// `tally/workflow.toml`). Blocks: call it outside an async runtime's worker threads.
///
/// # Errors
/// The file's error, or the engine's rejection of the rules (an unknown channel or SKU, an
/// amount in the wrong currency), as a message.
pub fn apply_blocking(engine: &crate::Engine, dir: &Path, actor: &str) -> Result<Applied, String> {
    let Some((command, digest)) = load(dir).map_err(|e| e.to_string())? else {
        return Ok(Applied::NoFile);
    };
    let channels = command.channels.len();
    let now_ms = crate::writer::now_ms();
    let mut submission = crate::Submission::new(
        key(&digest, now_ms),
        tally_domain::Command::ConfigureWorkflow(command),
    );
    actor.clone_into(&mut submission.actor);
    "tally/workflow.toml".clone_into(&mut submission.source);
    let accepted = engine
        .submit_blocking(submission)
        .map_err(|e| format!("{}: {e}", dir.join(WORKFLOW_FILE).display()))?;
    Ok(match accepted.events.first() {
        Some(e) => Applied::Changed { seq: e.seq, channels },
        None => Applied::Unchanged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses_with_defaults() {
        let c = parse(
            r#"
            [channels.web]
            backorder = "cancel_after"
            backorder_days = 14
            [[channels.web.holds]]
            name = "unpaid"
            when = "payment_not_captured"
            reason = "payment"
            sla = "24h"
            [[channels.web.holds]]
            name = "big"
            when = "order_value_at_least"
            amount = "1000.00 USD"
            reason = "manual"
            sla = "2d"
            [channels.b2b]
            require_address = false
            backorder = "substitute"
            [channels.b2b.substitutes]
            "SKU-A" = "SKU-A2"
            "#,
        )
        .expect("parses");
        assert_eq!(c.channels.len(), 2);
        let b2b = &c.channels[0];
        assert_eq!(b2b.channel.as_str(), "b2b");
        assert!(!b2b.require_address && b2b.validate && b2b.auto_allocate);
        assert_eq!(b2b.substitutes[0].substitute.as_str(), "SKU-A2");
        let web = &c.channels[1];
        assert_eq!(web.validation_sla_minutes, 1_440);
        assert_eq!(web.backorder, BackorderPolicy::CancelAfter);
        assert_eq!(web.holds[0].sla_minutes, 1_440);
        assert_eq!(web.holds[1].sla_minutes, 2_880);
        assert_eq!(web.holds[1].amount.map(|m| m.minor()), Some(100_000));
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("[channels.web]\nvalidat = true\n").expect_err("unknown key");
        assert!(e.contains("validat"), "{e}");
        let e = parse(
            "[[channels.web.holds]]\nname = \"x\"\nwhen = \"fraud\"\nreason = \"fraud\"\nsla = \"1h\"\n",
        )
        .expect_err("unknown condition");
        assert!(e.contains("fraud") && e.contains("line"), "{e}");
        let e = parse(
            "[[channels.web.holds]]\nname = \"x\"\nwhen = \"payment_not_captured\"\nreason = \"payment\"\nsla = \"1w\"\n",
        )
        .expect_err("bad duration");
        assert!(e.contains("channels.web.holds[0].sla"), "{e}");
        let e = parse(
            "[[channels.web.holds]]\nname = \"x\"\nwhen = \"order_value_at_least\"\namount = \"12.345 USD\"\nreason = \"manual\"\nsla = \"1h\"\n",
        )
        .expect_err("too many decimals");
        assert!(e.contains("channels.web.holds[0].amount"), "{e}");
    }
}
