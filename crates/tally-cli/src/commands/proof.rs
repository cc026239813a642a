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

/// `tally proof` against a running server (`inclusionProof`, `consistencyProof`): the same
/// JSON as offline.
pub fn online(
    remote: &crate::remote::Remote,
    seq: Option<u64>,
    size: Option<u64>,
    range: Option<(u64, u64)>,
) -> anyhow::Result<Outcome> {
    let value = match (seq, range) {
        (Some(seq), None) => {
            let answer = remote.graphql(
                "query Inclusion($seq: UnsignedInt64!, $size: UnsignedInt64) { \
                 inclusionProof(seq: $seq, size: $size) { index size eventHash root path } }",
                serde_json::json!({ "seq": seq.to_string(), "size": size.map(|s| s.to_string()) }),
            )?;
            let p = &answer["inclusionProof"];
            serde_json::json!({
                "kind": "inclusion",
                "seq": seq,
                "event_hash": p["eventHash"],
                "root": p["root"],
                "proof": {
                    "index": crate::remote::number(p, "index"),
                    "size": crate::remote::number(p, "size"),
                    "path": p["path"],
                },
            })
        }
        (None, Some((from, to))) => {
            let answer = remote.graphql(
                "query Consistency($from: UnsignedInt64!, $to: UnsignedInt64) { \
                 consistencyProof(from: $from, to: $to) { oldSize newSize oldRoot newRoot path } }",
                serde_json::json!({ "from": from.to_string(), "to": to.to_string() }),
            )?;
            let p = &answer["consistencyProof"];
            serde_json::json!({
                "kind": "consistency",
                "old_root": p["oldRoot"],
                "new_root": p["newRoot"],
                "proof": {
                    "old_size": crate::remote::number(p, "oldSize"),
                    "new_size": crate::remote::number(p, "newSize"),
                    "path": p["path"],
                },
            })
        }
        _ => bail!("give --seq N [--size M] or --from M --to N"),
    };
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(Outcome::Ok)
}
