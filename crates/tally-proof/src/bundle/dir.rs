//! The audit bundle directory: reading (and the line formats for writing) its three files.
//!
//! ```text
//! <bundle>/events.ndjson    one event a line: {"seq":1,"hash":"<64 hex chain hash>","frame":"<base64>"}
//! <bundle>/checkpoints.txt  signed checkpoint notes, each followed by a line holding only a
//!                           form feed (U+000C), in any order
//! <bundle>/key.pub          the ledger's public key: <name>+<hex key id>+<base64 key>, newline
//! ```
//!
//! `frame` is the exact byte string the chain hash covers (standard base64 with padding).
//!
//! Every file is read strictly, so a bundle has one spelling and nothing unverified rides
//! along in it:
//! - an event line is exactly what [`event_line`] writes (fields `seq`, `hash`, `frame` in
//!   that order, no spaces, no unknown or duplicate fields), ends with `\n` (not `\r\n`, the
//!   last line too), and is at most [`EVENT_LINE_BYTES_MAX`] bytes;
//! - the checkpoints file is strictly parsed notes (`tally_proof::checkpoint`), each followed
//!   by the terminator line, nothing after the last one; two notes of one tree size are an
//!   error;
//! - `key.pub` holds exactly one public key: one line, optionally ending with `\n`
//!   ([`parse_key_file`]).

use std::fs;
use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::bundle::{BundleError, BundleReport, UnsignedTail, verify_log};
use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::hash::Digest;
use crate::key::{KeyError, PublicKey};

/// The events file's name.
pub const EVENTS_FILE: &str = "events.ndjson";
/// The checkpoints file's name.
pub const CHECKPOINTS_FILE: &str = "checkpoints.txt";
/// The public key file's name.
pub const KEY_FILE: &str = "key.pub";
/// What follows every note in the checkpoints file: a form feed on its own line.
pub const CHECKPOINT_TERMINATOR: &str = "\u{c}\n";
/// Longest accepted checkpoints file.
pub const CHECKPOINTS_BYTES_MAX: u64 = 256 << 20;
/// Longest accepted event line, newline included (a frame of the log's largest event, 1 MiB,
/// is about 1.4 MiB in base64).
pub const EVENT_LINE_BYTES_MAX: usize = 4 << 20;
/// Longest accepted public key file.
pub const KEY_FILE_BYTES_MAX: u64 = 4096;

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EventLine<'a> {
    seq: u64,
    hash: Digest,
    #[serde(borrow)]
    frame: std::borrow::Cow<'a, str>,
}

/// One `events.ndjson` line, without the newline.
#[must_use]
pub fn event_line(seq: u64, hash: &Digest, frame: &[u8]) -> String {
    let line = EventLine { seq, hash: *hash, frame: BASE64.encode(frame).into() };
    // Serialising a struct of a number and two strings cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// Reads `events.ndjson` lazily and strictly (module docs): one `(seq, frame, claimed hash)`
/// per line, 1-based line numbers in errors. Blank lines are errors; the first error ends it.
pub fn read_events<R: BufRead>(
    reader: R,
) -> impl Iterator<Item = Result<(u64, Vec<u8>, Digest), EventReadError>> {
    let mut reader = reader;
    let mut line_number = 0u64;
    let mut failed = false;
    let mut buf = Vec::new();
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        line_number += 1;
        buf.clear();
        let read = (&mut reader)
            .take(EVENT_LINE_BYTES_MAX as u64)
            .read_until(b'\n', &mut buf)
            .map_err(|e| EventReadError::Line { line: line_number, reason: e.to_string() });
        let item = match read {
            Ok(0) => return None,
            Ok(_) => parse_event_line(&buf, line_number),
            Err(e) => Err(e),
        };
        failed = item.is_err();
        Some(item)
    })
}

/// One line as read, with its newline.
fn parse_event_line(raw: &[u8], line: u64) -> Result<(u64, Vec<u8>, Digest), EventReadError> {
    let bad = |reason: String| EventReadError::Line { line, reason };
    let Some(body) = raw.strip_suffix(b"\n") else {
        return Err(bad(if raw.len() >= EVENT_LINE_BYTES_MAX {
            format!("is longer than {EVENT_LINE_BYTES_MAX} bytes")
        } else {
            "does not end with a newline (trailing data at the end of the file)".to_owned()
        }));
    };
    parse_canonical(body).ok_or_else(|| bad(describe_bad_line(body)))
}

/// Reads the one spelling [`event_line`] writes, byte by byte (cheaper than JSON parsing and
/// re-encoding): `{"seq":<canonical decimal>,"hash":"<64 lowercase hex>","frame":"<standard
/// base64, padded, canonical>"}`. `None` for anything else.
fn parse_canonical(body: &[u8]) -> Option<(u64, Vec<u8>, Digest)> {
    let rest = body.strip_prefix(b"{\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (seq, rest) = rest.split_at(digits);
    if seq.is_empty() || (seq.len() > 1 && seq[0] == b'0') {
        return None;
    }
    let seq: u64 = std::str::from_utf8(seq).ok()?.parse().ok()?;
    let rest = rest.strip_prefix(b",\"hash\":\"")?;
    let (hash, rest) = rest.split_at_checked(2 * crate::hash::DIGEST_BYTES)?;
    let hash = Digest::from_hex(std::str::from_utf8(hash).ok()?).ok()?;
    let frame = rest.strip_prefix(b"\",\"frame\":\"")?.strip_suffix(b"\"}")?;
    // The standard engine refuses missing padding and non-zero trailing bits: one spelling.
    let frame = BASE64.decode(frame).ok()?;
    Some((seq, frame, hash))
}

/// Why a line is not canonical, as precisely as JSON parsing can tell.
fn describe_bad_line(body: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(body) else {
        return "is not UTF-8".to_owned();
    };
    match serde_json::from_str::<EventLine<'_>>(text) {
        Err(e) => e.to_string(),
        Ok(event) => match BASE64.decode(event.frame.as_bytes()) {
            Err(e) => format!("frame: {e}"),
            Ok(_) => {
                "is not in the canonical form {\"seq\":…,\"hash\":\"…\",\"frame\":\"…\"} (extra \
                      spaces, reordered fields, escapes or trailing data)"
                    .to_owned()
            }
        },
    }
}

/// Reads a public key file strictly: exactly one key on one line, optionally followed by a
/// newline; no blank lines, comments, spaces or second key.
pub fn parse_key_file(text: &str) -> Result<PublicKey, KeyError> {
    let line = text.strip_suffix('\n').unwrap_or(text);
    let lines = text.lines().count();
    if line.contains('\n') || line.is_empty() {
        return Err(KeyError::Format {
            reason: format!("the key file holds {lines} lines; expected exactly one public key"),
        });
    }
    if line.trim() != line || line.contains(char::is_whitespace) {
        return Err(KeyError::Format {
            reason: "the key line holds spaces; expected exactly one public key".to_owned(),
        });
    }
    PublicKey::parse_vkey(line)
}

/// The checkpoints file for `checkpoints`.
#[must_use]
pub fn write_checkpoints(checkpoints: &[SignedCheckpoint]) -> String {
    checkpoints.iter().map(|c| format!("{c}{CHECKPOINT_TERMINATOR}")).collect()
}

/// Reads a checkpoints file: notes each followed by [`CHECKPOINT_TERMINATOR`].
pub fn parse_checkpoints(text: &str) -> Result<Vec<SignedCheckpoint>, DirError> {
    let Some(text) = text.strip_suffix(CHECKPOINT_TERMINATOR).or(text.is_empty().then_some(""))
    else {
        return Err(DirError::CheckpointsFile {
            reason: "does not end with a form-feed line".into(),
        });
    };
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(CHECKPOINT_TERMINATOR)
        .enumerate()
        .map(|(index, note)| {
            SignedCheckpoint::parse(note)
                .map_err(|source| DirError::Checkpoint { number: index + 1, source })
        })
        .collect()
}

/// Verifies the bundle in `dir` with [`verify_log`].
///
/// `key` is the key the auditor trusts; when given, the bundle's `key.pub` must be that key.
/// Without it the bundle's own key is used, which shows only that the bundle is consistent
/// with itself, not who signed it — unless `trusted` was verified with a key the auditor
/// holds. `tail` says whether events beyond the newest signed checkpoint fail
/// ([`UnsignedTail`]).
pub fn verify_dir(
    dir: &Path,
    key: Option<&PublicKey>,
    trusted: Option<&Checkpoint>,
    tail: UnsignedTail,
) -> Result<BundleReport, DirError> {
    let key_path = dir.join(KEY_FILE);
    let key_text = read_small(&key_path, KEY_FILE_BYTES_MAX)?;
    let bundle_key = parse_key_file(&key_text)
        .map_err(|source| DirError::Key { path: key_path.clone(), source })?;
    if let Some(key) = key
        && *key != bundle_key
    {
        return Err(DirError::KeyMismatch { expected: key.to_vkey(), found: bundle_key.to_vkey() });
    }
    let checkpoints =
        parse_checkpoints(&read_small(&dir.join(CHECKPOINTS_FILE), CHECKPOINTS_BYTES_MAX)?)?;
    let events_path = dir.join(EVENTS_FILE);
    let events = fs::File::open(&events_path)
        .map_err(|source| DirError::Io { path: events_path.clone(), source })?;
    // Two stages on two threads: one reads and parses lines (JSON and base64 cost about as
    // much as the hashing), the caller's thread checks the chain and builds the tree. Batches
    // keep the hand-over cheap; the bounded channel keeps memory flat. When verification stops
    // early, the receiver is dropped and the reader stops at its next send.
    let reader = BufReader::with_capacity(1 << 20, events);
    let (batches, received) = std::sync::mpsc::sync_channel::<Vec<ParsedEvent>>(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut batch = Vec::with_capacity(PARSE_BATCH_EVENTS);
            for event in read_events(reader) {
                let failed = event.is_err();
                batch.push(event);
                if batch.len() == PARSE_BATCH_EVENTS || failed {
                    let full =
                        std::mem::replace(&mut batch, Vec::with_capacity(PARSE_BATCH_EVENTS));
                    if batches.send(full).is_err() || failed {
                        return;
                    }
                }
            }
            let _ = batches.send(batch);
        });
        let events = received.into_iter().flatten();
        Ok(verify_log(events, &checkpoints, bundle_key.verifying_key(), trusted, tail)?)
    })
}

/// One parsed `events.ndjson` line.
type ParsedEvent = Result<(u64, Vec<u8>, Digest), EventReadError>;

/// Lines parsed per hand-over between the reading and the verifying thread.
const PARSE_BATCH_EVENTS: usize = 1024;

fn read_small(path: &Path, bytes_max: u64) -> Result<String, DirError> {
    let io = |source| DirError::Io { path: path.to_owned(), source };
    let len = fs::metadata(path).map_err(io)?.len();
    if len > bytes_max {
        return Err(DirError::TooLarge { path: path.to_owned(), bytes: len, bytes_max });
    }
    fs::read_to_string(path).map_err(io)
}

/// Why an `events.ndjson` line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventReadError {
    /// The line is not a well-formed event line.
    #[error("{EVENTS_FILE} line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Why a bundle directory could not be read or did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirError {
    /// A file could not be read.
    #[error("reading '{}'", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than this reader accepts.
    #[error("'{}' is {bytes} bytes, more than the {bytes_max} accepted", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit.
        bytes_max: u64,
    },
    /// The public key file is malformed.
    #[error("public key '{}'", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// The bundle's key is not the key the auditor trusts.
    #[error("bundle key {found} is not the trusted key {expected}")]
    KeyMismatch {
        /// The trusted key.
        expected: String,
        /// The bundle's key.
        found: String,
    },
    /// The checkpoints file is malformed as a whole.
    #[error("{CHECKPOINTS_FILE} {reason}")]
    CheckpointsFile {
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint note in the checkpoints file is malformed.
    #[error("{CHECKPOINTS_FILE} checkpoint #{number}")]
    Checkpoint {
        /// 1-based position in the file.
        number: usize,
        /// Why.
        #[source]
        source: CheckpointError,
    },
    /// The bundle's contents failed verification.
    #[error(transparent)]
    Verify(#[from] BundleError<EventReadError>),
}
