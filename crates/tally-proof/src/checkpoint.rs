//! Signed checkpoints: a C2SP tlog checkpoint with Tally's extension lines, as a signed note.
//!
//! Text form (<https://c2sp.org/tlog-checkpoint>, <https://c2sp.org/signed-note>): the body,
//! a blank line, then one or more signature lines. Every line ends with `\n`.
//!
//! ```text
//! tally.example/ledger                                  origin
//! 1234                                                  tree size (decimal)
//! 5kZ0…Q7w=                                             root (standard base64, 32 bytes)
//! head 1234                                             head seq
//! chain 9f86d081884c7d659a2feaa0c55ad015…               head chain hash (64 lowercase hex)
//! time 2026-11-26T15:00:00Z                             RFC 3339 UTC, given by the caller
//! count order.received 1000                             event count per type, sorted by type,
//! count stock.adjusted 234                              zero or more lines
//!
//! — tally-ledger AbCdEf…                                 "— " key name, base64(key id ‖ signature)
//! ```
//!
//! The Ed25519 signature covers the body exactly (every byte up to and including the `\n`
//! before the blank line); the key id is [`key_id`]. Parsing is strict: fields in this order
//! only, canonical numbers and encodings, no trailing text.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::hash::Digest;
use crate::key::{KeyId, PublicKey, check_key_name, key_id};

/// Longest accepted origin line.
pub const ORIGIN_BYTES_MAX: usize = 256;
/// Longest accepted event type name.
pub const EVENT_TYPE_BYTES_MAX: usize = 128;
/// Most `count` lines accepted in one checkpoint.
pub const COUNT_LINES_MAX: usize = 4096;
/// Most signature lines accepted on one note.
pub const SIGNATURES_MAX: usize = 16;
/// Longest accepted note text.
pub const NOTE_BYTES_MAX: usize = 1 << 20;

const SIGNATURE_PREFIX: &str = "\u{2014} ";
const ED25519_SIGNATURE_BYTES: usize = 64;

/// What a checkpoint attests: the log's state at one tree size.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// The log's identity, e.g. `tally.example/ledger`: printable ASCII, no spaces.
    pub origin: String,
    /// Number of leaves (events) in the tree.
    pub size: u64,
    /// The RFC 9162 root of the tree of `size` leaves.
    pub root: Digest,
    /// The seq of the last event covered (equals `size`: seqs start at 1, without gaps).
    pub head_seq: u64,
    /// The chain hash of the event at `head_seq`.
    pub head_hash: Digest,
    /// When it was cut, RFC 3339 UTC (`2026-11-26T15:00:00Z`, fractions of a second allowed).
    pub time: String,
    /// Event count per event type, up to `head_seq`.
    pub counts: BTreeMap<String, u64>,
}

impl Checkpoint {
    /// The note body documented on the module, after checking every field.
    pub fn to_body(&self) -> Result<String, CheckpointError> {
        check_origin(&self.origin).map_err(|reason| CheckpointError::invalid("origin", reason))?;
        check_time(&self.time).map_err(|reason| CheckpointError::invalid("time", reason))?;
        if self.counts.len() > COUNT_LINES_MAX {
            return Err(CheckpointError::invalid("counts", "more than 4096 event types".into()));
        }
        for event_type in self.counts.keys() {
            check_event_type(event_type)
                .map_err(|reason| CheckpointError::invalid("counts", reason))?;
        }
        let mut body = format!(
            "{}\n{}\n{}\nhead {}\nchain {}\ntime {}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root.as_bytes()),
            self.head_seq,
            self.head_hash,
            self.time
        );
        for (event_type, count) in &self.counts {
            body.push_str(&format!("count {event_type} {count}\n"));
        }
        Ok(body)
    }

    /// Reads a body written by [`Checkpoint::to_body`], strictly.
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let Some(body) = body.strip_suffix('\n') else {
            return Err(malformed(0, "body does not end with a newline"));
        };
        let mut lines = body.split('\n').enumerate().map(|(i, line)| (i + 1, line));
        let mut next = |what: &str| {
            lines.next().ok_or_else(|| malformed(0, format!("body ends before the {what} line")))
        };

        let (n, origin) = next("origin")?;
        check_origin(origin).map_err(|reason| malformed(n, format!("origin {reason}")))?;
        let (n, size) = next("tree size")?;
        let size =
            parse_decimal(size).map_err(|reason| malformed(n, format!("tree size {reason}")))?;
        let (n, root) = next("root")?;
        let root = parse_root(root).map_err(|reason| malformed(n, reason))?;
        let (n, line) = next("head")?;
        let head_seq = field(line, "head")
            .and_then(parse_decimal)
            .map_err(|reason| malformed(n, format!("head line: {reason}")))?;
        let (n, line) = next("chain")?;
        let head_hash = field(line, "chain")
            .and_then(|hex| Digest::from_hex(hex).map_err(|e| e.to_string()))
            .map_err(|reason| malformed(n, format!("chain line: {reason}")))?;
        let (n, line) = next("time")?;
        let time = field(line, "time")
            .and_then(|time| check_time(time).map(|()| time.to_owned()))
            .map_err(|reason| malformed(n, format!("time line: {reason}")))?;

        let mut counts = BTreeMap::new();
        let mut previous: Option<&str> = None;
        for (n, line) in lines {
            let (event_type, count) = field(line, "count")
                .and_then(|rest| rest.split_once(' ').ok_or_else(|| "has no count".to_owned()))
                .map_err(|reason| malformed(n, format!("count line: {reason}")))?;
            check_event_type(event_type).map_err(|reason| malformed(n, reason))?;
            let count = parse_decimal(count)
                .map_err(|reason| malformed(n, format!("count of '{event_type}' {reason}")))?;
            if previous.is_some_and(|previous| previous >= event_type) {
                return Err(malformed(
                    n,
                    format!("count lines are not sorted by event type at '{event_type}'"),
                ));
            }
            if counts.len() == COUNT_LINES_MAX {
                return Err(malformed(n, "more than 4096 count lines"));
            }
            previous = Some(event_type);
            counts.insert(event_type.to_owned(), count);
        }
        Ok(Self { origin: origin.to_owned(), size, root, head_seq, head_hash, time, counts })
    }

    /// A one-line description for messages: `checkpoint size 1234 at 2026-11-26T15:00:00Z`.
    #[must_use]
    pub fn describe(&self) -> String {
        format!("checkpoint size {} at {}", self.size, self.time)
    }
}

/// One signature line of a note.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The signer's key id.
    pub key_id: KeyId,
    /// The signature bytes (64 for Ed25519; other algorithms are carried, not checked).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `name+hexid`, as messages name keys.
    #[must_use]
    pub fn key_label(&self) -> String {
        format!("{}+{}", self.name, hex::encode(self.key_id))
    }
}

/// A checkpoint note: its exact body text, the parsed checkpoint and its signatures.
///
/// The checkpoint inside is *unverified* until [`SignedCheckpoint::verify`] returns it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedCheckpoint {
    body: String,
    checkpoint: Checkpoint,
    signatures: Vec<NoteSignature>,
}

impl SignedCheckpoint {
    /// Signs `checkpoint` with `key` under `key_name`.
    pub fn sign(
        checkpoint: &Checkpoint,
        key: &SigningKey,
        key_name: &str,
    ) -> Result<Self, CheckpointError> {
        check_key_name(key_name)
            .map_err(|e| CheckpointError::invalid("key name", e.to_string()))?;
        let body = checkpoint.to_body()?;
        let signature = key.sign(body.as_bytes());
        let signatures = vec![NoteSignature {
            name: key_name.to_owned(),
            key_id: key_id(key_name, &key.verifying_key()),
            signature: signature.to_bytes().to_vec(),
        }];
        Ok(Self { body, checkpoint: checkpoint.clone(), signatures })
    }

    /// Reads a note, strictly: a checkpoint body, one blank line, 1..=16 well-formed
    /// signature lines, nothing after the last newline. Does not check signatures.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > NOTE_BYTES_MAX {
            return Err(malformed(0, "note is larger than 1 MiB"));
        }
        if let Some(at) = text.find(|c: char| c.is_control() && c != '\n') {
            let line = text[..at].matches('\n').count() + 1;
            return Err(malformed(line, "holds a control character"));
        }
        let Some(split) = text.find("\n\n") else {
            return Err(malformed(0, "note has no blank line before its signatures"));
        };
        let body = &text[..=split];
        let checkpoint = Checkpoint::parse_body(body)?;
        let body_lines = body.matches('\n').count();
        let signature_text = &text[split + 2..];
        let Some(signature_text) = signature_text.strip_suffix('\n') else {
            return Err(if signature_text.is_empty() {
                CheckpointError::NoSignatures
            } else {
                malformed(
                    body_lines + 2 + signature_text.matches('\n').count(),
                    "note does not end with a newline",
                )
            });
        };
        let mut signatures = Vec::new();
        for (i, line) in signature_text.split('\n').enumerate() {
            let n = body_lines + 2 + i;
            if signatures.len() == SIGNATURES_MAX {
                return Err(malformed(n, "more than 16 signature lines"));
            }
            signatures.push(parse_signature_line(line).map_err(|reason| malformed(n, reason))?);
        }
        Ok(Self { body: body.to_owned(), checkpoint, signatures })
    }

    /// Verifies the signature by `key` (found by its key id under the line's name) and returns
    /// the checkpoint. Signature lines of other keys are ignored, as in C2SP notes.
    pub fn verify(&self, key: &VerifyingKey) -> Result<Checkpoint, CheckpointError> {
        let ours = self.signatures.iter().find(|s| s.key_id == key_id(&s.name, key));
        let Some(line) = ours else {
            return Err(CheckpointError::UnknownKey {
                expected: format!("ed25519 key {}", BASE64.encode(key.as_bytes())),
                found: self.signers(),
            });
        };
        self.check_signature(line, key)
    }

    /// [`SignedCheckpoint::verify`] for a named key: also reports a line that carries the
    /// key's name with another key id.
    pub fn verify_with(&self, key: &PublicKey) -> Result<Checkpoint, CheckpointError> {
        let id = key.id();
        if let Some(line) = self.signatures.iter().find(|s| s.name == key.name() && s.key_id == id)
        {
            return self.check_signature(line, key.verifying_key());
        }
        if let Some(line) = self.signatures.iter().find(|s| s.name == key.name()) {
            return Err(CheckpointError::WrongKeyId {
                name: key.name().to_owned(),
                expected: hex::encode(id),
                found: hex::encode(line.key_id),
            });
        }
        Err(CheckpointError::UnknownKey { expected: key.to_vkey(), found: self.signers() })
    }

    /// The checkpoint as parsed, before any signature check: for messages only.
    #[must_use]
    pub fn unverified(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The exact signed body.
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The signature lines.
    #[must_use]
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The note text: body, blank line, signature lines.
    #[must_use]
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    fn signers(&self) -> Vec<String> {
        self.signatures.iter().map(NoteSignature::key_label).collect()
    }

    fn check_signature(
        &self,
        line: &NoteSignature,
        key: &VerifyingKey,
    ) -> Result<Checkpoint, CheckpointError> {
        let bytes: &[u8; ED25519_SIGNATURE_BYTES] =
            line.signature.as_slice().try_into().map_err(|_| CheckpointError::SignatureLength {
                key: line.key_label(),
                found: line.signature.len(),
            })?;
        key.verify_strict(self.body.as_bytes(), &Signature::from_bytes(bytes))
            .map_err(|_| CheckpointError::BadSignature { key: line.key_label() })?;
        Ok(self.checkpoint.clone())
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.body)?;
        for line in &self.signatures {
            let mut raw = line.key_id.to_vec();
            raw.extend_from_slice(&line.signature);
            writeln!(f, "{SIGNATURE_PREFIX}{} {}", line.name, BASE64.encode(raw))?;
        }
        Ok(())
    }
}

/// Why a checkpoint could not be made, parsed or verified. Each variant names what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A field cannot be written into a checkpoint.
    #[error("invalid checkpoint {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The note text is malformed; `line` is 1-based, 0 for the note as a whole.
    #[error("malformed checkpoint at line {line}: {reason}")]
    Malformed {
        /// The line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The note has no signature lines.
    #[error("checkpoint has no signature lines")]
    NoSignatures,
    /// No signature line is by the expected key.
    #[error("checkpoint is not signed by {expected}; signed by: {}", found.join(", "))]
    UnknownKey {
        /// The key looked for.
        expected: String,
        /// The `name+id` of every signature line.
        found: Vec<String>,
    },
    /// A signature line carries the key's name but another key id.
    #[error("checkpoint signature by '{name}' has key id {found}, expected {expected}")]
    WrongKeyId {
        /// The key name.
        name: String,
        /// The key's id.
        expected: String,
        /// The id on the line.
        found: String,
    },
    /// The signature by the key is not 64 bytes (truncated or padded).
    #[error("checkpoint signature by {key} has {found} bytes, expected 64")]
    SignatureLength {
        /// `name+id` of the key.
        key: String,
        /// Signature bytes found.
        found: usize,
    },
    /// The signature by the key does not verify: the body was edited or the signature forged.
    #[error(
        "checkpoint signature by {key} does not verify: the body was altered or the signature forged"
    )]
    BadSignature {
        /// `name+id` of the key.
        key: String,
    },
}

impl CheckpointError {
    fn invalid(field: &'static str, reason: String) -> Self {
        Self::Invalid { field, reason }
    }
}

fn malformed(line: usize, reason: impl Into<String>) -> CheckpointError {
    CheckpointError::Malformed { line, reason: reason.into() }
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, String> {
    let Some(rest) = line.strip_prefix(SIGNATURE_PREFIX) else {
        return Err("signature line does not start with '\u{2014} '".into());
    };
    let Some((name, encoded)) = rest.split_once(' ') else {
        return Err("signature line is not '\u{2014} <key name> <base64>'".into());
    };
    check_key_name(name).map_err(|e| e.to_string())?;
    let raw = BASE64
        .decode(encoded)
        .map_err(|_| format!("signature by '{name}' is not standard base64"))?;
    let Some((key_id, signature)) = raw.split_first_chunk::<4>() else {
        return Err(format!("signature by '{name}' is shorter than its 4-byte key id"));
    };
    if signature.is_empty() {
        return Err(format!("signature by '{name}' is empty"));
    }
    Ok(NoteSignature { name: name.to_owned(), key_id: *key_id, signature: signature.to_vec() })
}

/// `<keyword> <rest>`.
fn field<'a>(line: &'a str, keyword: &str) -> Result<&'a str, String> {
    line.strip_prefix(keyword)
        .and_then(|rest| rest.strip_prefix(' '))
        .ok_or_else(|| format!("expected '{keyword} …', found '{line}'"))
}

/// A canonical decimal u64: digits only, no leading zero unless it is `0`.
fn parse_decimal(text: &str) -> Result<u64, String> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(format!("'{text}' is not a canonical decimal number"));
    }
    text.parse().map_err(|_| format!("'{text}' does not fit in 64 bits"))
}

fn parse_root(text: &str) -> Result<Digest, String> {
    let bytes = BASE64.decode(text).map_err(|_| format!("root '{text}' is not standard base64"))?;
    Digest::from_slice(&bytes).map_err(|e| format!("root: {e}"))
}

fn check_origin(origin: &str) -> Result<(), String> {
    if origin.is_empty() || origin.len() > ORIGIN_BYTES_MAX {
        return Err("must be 1 to 256 bytes".into());
    }
    if !origin.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("'{origin}' holds a character other than printable ASCII"));
    }
    if origin.starts_with(SIGNATURE_PREFIX) {
        return Err("must not look like a signature line".into());
    }
    Ok(())
}

fn check_event_type(event_type: &str) -> Result<(), String> {
    if event_type.is_empty() || event_type.len() > EVENT_TYPE_BYTES_MAX {
        return Err(format!("event type '{event_type}' must be 1 to 128 bytes"));
    }
    if !event_type.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "event type '{event_type}' holds a character other than printable ASCII"
        ));
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with a real calendar date (leap second 60 allowed).
fn check_time(time: &str) -> Result<(), String> {
    let bad = || format!("'{time}' is not an RFC 3339 UTC time like 2026-11-26T15:00:00Z");
    let bytes = time.as_bytes();
    if bytes.len() < 20 || bytes.last() != Some(&b'Z') {
        return Err(bad());
    }
    let shape_ok = bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| bytes[i].is_ascii_digit());
    if !shape_ok {
        return Err(bad());
    }
    let fraction = &bytes[19..bytes.len() - 1];
    if !fraction.is_empty()
        && (fraction[0] != b'.'
            || fraction.len() < 2
            || fraction.len() > 10
            || !fraction[1..].iter().all(u8::is_ascii_digit))
    {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range].iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
        return Err(bad());
    }
    Ok(())
}
