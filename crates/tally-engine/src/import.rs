//! NDJSON import lines (what `tally import` reads): bounded line reading and the parse of one
//! line into a [`Submission`].
//!
//! Each line is either a bare command (`{"type": "receive_inventory", …}`) or an envelope
//! `{"key": "…", "command": {…}, "source": "…", "actor": "…", "occurred_at": "RFC 3339"}`.
//! A line without a key is keyed by the file it is in and its place there,
//! `import:{file digest}:{line number}` (the digest is blake3 of the file's bytes, 32 hex
//! digits): importing the same file again appends nothing, and two identical lines of one file
//! are two commands (two receipts of 5 units are 10 units). A file that changed, even by one
//! appended line, is another file: its key-less lines are imported again. Lines that must be
//! imported once whatever file they arrive in need their own `key`.
//!
//! A line is strict JSON: an object with the same member twice is refused (not last one
//! wins). A UTF-8 byte order mark at the start of the file is skipped.

use crate::submission::Submission;
use std::io::{BufRead, Read as _};
use tally_domain::Command;
use tally_domain::time::Timestamp;

/// The UTF-8 byte order mark some tools write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Longest accepted line, in bytes (without its line ending). A longer line is rejected
/// without being held in memory.
pub const IMPORT_LINE_BYTES_MAX: usize = 1 << 20;

/// Why one import line was refused before reaching the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportLineError {
    /// The line is longer than [`IMPORT_LINE_BYTES_MAX`].
    #[error("line of {len} bytes is over {IMPORT_LINE_BYTES_MAX}")]
    TooLong {
        /// Bytes in the line (counted, not kept).
        len: usize,
    },
    /// The line is not UTF-8.
    #[error("line is not utf-8")]
    NotUtf8,
    /// The line is not a command or an envelope (JSON syntax, shape, values, nesting).
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

impl ImportLineError {
    /// The stable machine code of every import-line error.
    #[must_use]
    pub fn code(&self) -> &'static str {
        "INVALID_INPUT"
    }
}

/// The file lines come from: the digest its key-less lines are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportFile {
    digest: blake3::Hash,
}

impl ImportFile {
    /// The file whose whole content has this blake3 digest.
    #[must_use]
    pub fn new(digest: blake3::Hash) -> Self {
        Self { digest }
    }

    /// The file of exactly these bytes.
    #[must_use]
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self::new(blake3::hash(bytes))
    }

    /// The key of line `number` (from 1) when the line has none.
    #[must_use]
    pub fn line_key(&self, number: u64) -> String {
        format!("import:{}:{number}", &self.digest.to_hex()[..32])
    }
}

/// A JSON value read strictly: an object with the same member twice is an error.
struct Strict(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        serde::Deserialize::deserialize(d).map(|Strict(v)| v)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if members.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate member '{key}'")));
            }
            members.insert(key, value);
        }
        Ok(serde_json::Value::Object(members))
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    key: Option<String>,
    command: Command,
    source: Option<String>,
    actor: Option<String>,
    occurred_at: Option<Timestamp>,
}

/// Parses line `number` (from 1, as [`ImportLines`] counts) of `file` (already without its
/// line ending) into a submission. Blank lines are the caller's to skip.
pub fn parse_import_line(
    line: &str,
    file: &ImportFile,
    number: u64,
) -> Result<Submission, ImportLineError> {
    if line.len() > IMPORT_LINE_BYTES_MAX {
        return Err(ImportLineError::TooLong { len: line.len() });
    }
    // serde_json refuses nesting deeper than 128 levels, so a hostile line cannot exhaust the
    // stack here or when the value is dropped.
    let Strict(value) = serde_json::from_str(line)?;
    let derived = || file.line_key(number);
    if value.get("command").is_some() {
        let envelope: Envelope = serde_json::from_value(value)?;
        let mut submission =
            Submission::new(envelope.key.unwrap_or_else(derived), envelope.command);
        submission.source = envelope.source.unwrap_or_else(|| "import".to_owned());
        if let Some(actor) = envelope.actor {
            submission.actor = actor;
        }
        submission.occurred_at_ms = envelope.occurred_at.map(Timestamp::millis);
        Ok(submission)
    } else {
        let command: Command = serde_json::from_value(value)?;
        let mut submission = Submission::new(derived(), command);
        submission.source = "import".to_owned();
        Ok(submission)
    }
}

/// Reads NDJSON lines with a bound on the memory one line may take: a line longer than
/// [`IMPORT_LINE_BYTES_MAX`] is skipped to its end and answered as
/// [`ImportLineError::TooLong`]. Yields `(line number from 1, line)`; `\n` or `\r\n` ends a
/// line; a UTF-8 byte order mark at the start of the first line is skipped; I/O errors end the
/// iteration with the error.
#[derive(Debug)]
pub struct ImportLines<R> {
    reader: R,
    number: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> ImportLines<R> {
    /// Lines of `reader`.
    pub fn new(reader: R) -> Self {
        Self { reader, number: 0, buf: Vec::new(), done: false }
    }

    /// Skips to the end of the current line, returning the bytes skipped and whether a
    /// line ending was found.
    fn skip_line(&mut self) -> std::io::Result<(usize, bool)> {
        let mut skipped = 0;
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                return Ok((skipped, false));
            }
            if let Some(at) = available.iter().position(|&b| b == b'\n') {
                self.reader.consume(at + 1);
                return Ok((skipped + at, true));
            }
            let n = available.len();
            skipped += n;
            self.reader.consume(n);
        }
    }

    fn next_line(&mut self) -> std::io::Result<Option<Result<String, ImportLineError>>> {
        self.buf.clear();
        // One byte over the limit (plus a possible `\r\n`) tells a long line from a full one.
        let limit = (IMPORT_LINE_BYTES_MAX + 2) as u64;
        let read = (&mut self.reader).take(limit).read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(None);
        }
        if self.number == 0 && self.buf.starts_with(BOM) {
            self.buf.drain(..BOM.len());
        }
        let ended = self.buf.last() == Some(&b'\n');
        if ended {
            self.buf.pop();
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.buf.len() > IMPORT_LINE_BYTES_MAX {
            let mut len = self.buf.len();
            if !ended {
                len += self.skip_line()?.0;
            }
            self.buf = Vec::new();
            return Ok(Some(Err(ImportLineError::TooLong { len })));
        }
        Ok(Some(
            String::from_utf8(std::mem::take(&mut self.buf)).map_err(|_| ImportLineError::NotUtf8),
        ))
    }
}

impl<R: BufRead> Iterator for ImportLines<R> {
    type Item = std::io::Result<(u64, Result<String, ImportLineError>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_line() {
            Ok(Some(line)) => {
                self.number += 1;
                Some(Ok((self.number, line)))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
