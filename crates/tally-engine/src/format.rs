//! The store format marker: the file `store-format` next to `log/` names the stream naming
//! and command-id encoding a store was written with. Checked at every open; a store of
//! another format is refused, never read or appended under the wrong names.
//!
//! Format 6: `order.received` carries the source's revision (Shopify's `updated_at`), so an
//! edited order is amended (`order.amended`) rather than refused; format 5 stores are refused
//! rather than misread.
//! Format 5: order events carry what automation and real-format intake need (an order's
//! ship-to address, buyer and fraud score in `order.received`; and the order money model of
//! issue #15), and the workflow's events exist. Postcard payloads are positional, so format 4
//! stores are refused rather than misread.
//! Format 4: the chart of accounts grew (1300 AR, 2000 AP, 2050 GRNI, 4200, 5450, 5600,
//! 9999) and its variant order, which postcard stores, changed; GRNI moved from 2000 to 2050.
//! Format 3 stores are refused: their account indexes would read as other accounts.
//! Format 3: stream names `kind:part[:part]` with `%`-escaped parts
//! (`tally_domain::stream`, naming version 2) and command ids over canonical JSON with rates
//! as decimal fractions ([`crate::ids::COMMAND_ID_VERSION`] 3). Format 2 wrote rates in parts
//! per million in the JSON its command ids hash, so a retry of a format-2 command would not
//! find its first result: format-2 stores are refused like format 1. Format 1 (no marker file) joined stream ids with
//! `-`, which let two entities share a stream, and hashed the postcard layout of commands.
//! There is no migration from format 1: its frames are hash-chained evidence and are never
//! rewritten.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The format this version writes and reads.
pub const STORE_FORMAT: u32 = 6;

/// The marker's file name, in the engine's directory.
pub const FORMAT_FILE: &str = "store-format";

const _: () = assert!(tally_domain::stream::NAMING_VERSION == 2 && STORE_FORMAT == 6);
const _: () = assert!(crate::ids::COMMAND_ID_VERSION == 3);

const HEADER: &str = "tally store format ";

/// Why a store's format is not this version's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The store has events but no marker: it was written before format 2.
    #[error(
        "the store in '{}' has {events} events but no {FORMAT_FILE} file: it was written with store format 1 (stream names joined by '-', command ids over postcard), and this tally reads format {STORE_FORMAT} only; there is no migration: keep using the tally that wrote it, or start a new data directory and import the commands again (if this tally wrote the store and the file was lost, restore it with the line '{HEADER}{STORE_FORMAT}': every event's stream is checked at open)",
        dir.display()
    )]
    Unmarked {
        /// The engine's directory.
        dir: PathBuf,
        /// Events in its log.
        events: u64,
    },
    /// The marker names another format.
    #[error(
        "the store in '{}' is store format {found}, and this tally reads format {STORE_FORMAT} only; there is no migration: use a tally that reads format {found}, or start a new data directory and import the commands again",
        dir.display()
    )]
    Other {
        /// The engine's directory.
        dir: PathBuf,
        /// The format it names.
        found: u32,
    },
    /// The marker cannot be read as one.
    #[error("{}: not a store format marker (expected '{HEADER}{STORE_FORMAT}')", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
    },
    /// The marker could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn contents() -> String {
    format!(
        "{HEADER}{STORE_FORMAT}\n\
         # stream names: kind:part[:part], each part with '%' as %25 and ':' as %3A\n\
         # command ids: blake3 of the command's canonical json, id version 2\n"
    )
}

fn parse(text: &str) -> Option<u32> {
    let first = text.lines().next()?;
    let number = first.strip_prefix(HEADER)?;
    if number.starts_with('+') || number.starts_with('0') {
        return None;
    }
    number.parse().ok()
}

/// Checks the marker of the store in `dir`, whose log holds `events` events. A store with
/// no events and no marker is new: the marker is written (durably) before anything else.
pub fn check_or_mark(dir: &Path, events: u64) -> Result<(), FormatError> {
    let path = dir.join(FORMAT_FILE);
    let io = |source| FormatError::Io { path: path.clone(), source };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| FormatError::Malformed { path: path.clone() })?;
            match parse(text) {
                Some(STORE_FORMAT) => Ok(()),
                Some(found) => Err(FormatError::Other { dir: dir.to_owned(), found }),
                None => Err(FormatError::Malformed { path }),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if events > 0 {
                return Err(FormatError::Unmarked { dir: dir.to_owned(), events });
            }
            let temp = dir.join(format!("{FORMAT_FILE}.tmp"));
            let mut file = std::fs::File::create(&temp).map_err(io)?;
            file.write_all(contents().as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            drop(file);
            std::fs::rename(&temp, &path).map_err(io)?;
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            Ok(())
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn the_marker_reads_back() {
        assert_eq!(parse(&contents()), Some(STORE_FORMAT));
        assert_eq!(parse("tally store format 1\n"), Some(1));
        for bad in [
            "",
            "tally store format\n",
            "tally store format 02",
            "format 2",
            "tally store format x",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
