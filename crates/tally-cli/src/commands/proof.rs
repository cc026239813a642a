//! `tally proof`: inclusion and consistency proofs as JSON.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::bail;
use std::path::Path;

pub fn run(
    data: &Path,
    seq: Option<u64>,
    size: Option<u64>,
    range: Option<(u64, u64)>,
) -> anyhow::Result<Outcome> {
    let dir = DataDir::open(data)?;
    let log = dir.open_log()?;
    let result = (|| -> anyhow::Result<serde_json::Value> {
        let head = log.head().seq;
        match (seq, range) {
            (Some(seq), None) => {
                let size = size.unwrap_or(head);
                let proof = log.inclusion_proof(seq, size)?;
                let event =
                    log.get(seq)?.ok_or_else(|| anyhow::anyhow!("no event at seq {seq}"))?;
                Ok(serde_json::json!({
                    "kind": "inclusion",
                    "seq": seq,
                    "event_hash": event.hash(),
                    "root": log.root_at(size)?,
                    "proof": proof,
                }))
            }
            (None, Some((from, to))) => {
                let proof = log.consistency_proof(from, to)?;
                Ok(serde_json::json!({
                    "kind": "consistency",
                    "old_root": log.root_at(from)?,
                    "new_root": log.root_at(to)?,
                    "proof": proof,
                }))
            }
            _ => bail!("give --seq N [--size M] or --from M --to N"),
        }
    })();
    log.close();
    println!("{}", serde_json::to_string_pretty(&result?)?);
    Ok(Outcome::Ok)
}
