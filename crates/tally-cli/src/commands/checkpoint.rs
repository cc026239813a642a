//! `tally checkpoint`: a signed checkpoint of the head.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::Context as _;
use std::path::Path;

pub fn run(data: &Path, out: Option<&Path>) -> anyhow::Result<Outcome> {
    let dir = DataDir::open(data)?;
    let log = dir.open_log()?;
    let checkpoint = log.checkpoint_blocking()?;
    log.close();
    let text = checkpoint.to_text();
    if let Some(out) = out {
        std::fs::write(out, &text).with_context(|| format!("writing '{}'", out.display()))?;
    }
    print!("{text}");
    Ok(Outcome::Ok)
}

/// `tally checkpoint` against a running server: `cutCheckpoint` (admin).
pub fn online(remote: &crate::remote::Remote, out: Option<&Path>) -> anyhow::Result<Outcome> {
    let answer = remote.graphql("mutation { cutCheckpoint { text } }", serde_json::Value::Null)?;
    let text = answer
        .pointer("/cutCheckpoint/text")
        .and_then(|t| t.as_str())
        .ok_or_else(|| anyhow::anyhow!("the server answered no checkpoint"))?;
    if let Some(out) = out {
        std::fs::write(out, text).with_context(|| format!("writing '{}'", out.display()))?;
    }
    print!("{text}");
    Ok(Outcome::Ok)
}
