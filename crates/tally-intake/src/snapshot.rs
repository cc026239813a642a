//! `stock-snapshot-csv --location L`: a 3PL or drop-ship partner's on-hand snapshot.
//!
//! **What is read.** A comma-separated file (RFC 4180 quoting) with a header row naming at
//! least `sku`, `lot`, `expiry`, `quantity`, `as_of` (any order; other columns ignored). One
//! row per bucket the partner holds: `lot` and `expiry` (`YYYY-MM-DD`) empty for SKUs that are
//! not lot-tracked, `quantity` a whole number of units on hand, `as_of` when the partner counted
//! (RFC 3339, `YYYY-MM-DD HH:MM:SS UTC`, or a bare date = midnight UTC).
//!
//! **How it maps.** Each row is one `reconcile_stock` command at `--location`: it never
//! overwrites on-hand. The domain records the partner's count and the variance against
//! on-hand, adjusts a variance within the SKU class's count tolerance (valued at the moving
//! average, 5500), and raises an exception beyond it. An unknown SKU or lot is that row's
//! rejection (with its source id); the other rows import.
//!
//! **Idempotency.** The key is a digest of location, sku, lot and `as_of`: the same snapshot
//! imported twice appends nothing; a later snapshot (new `as_of`) is a new reconciliation; the
//! same bucket and `as_of` with another quantity is refused (`IDEMPOTENCY_CONFLICT`). The same
//! bucket twice in one file is refused as `DUPLICATE_ROW` (which count would be the
//! partner's?). The commands carry no business time of their own: `as_of` is in the command,
//! and the decision compares the count with on-hand at `as_of` (see `SNAPSHOT_AGE_MAX_MS`).

use std::collections::{HashMap, HashSet};

use tally_domain::Command;
use tally_domain::command::ReconcileStock;
use tally_domain::ids::{LocationId, LotId, Sku};
use tally_domain::time::Date;

use crate::common::{digest, invalid, timestamp, utf8};
use crate::{FormatError, Intent, Options, Record, Refusal};

/// The columns a snapshot must have.
const REQUIRED: [&str; 5] = ["sku", "lot", "expiry", "quantity", "as_of"];

fn file_error(message: String) -> FormatError {
    FormatError::Invalid(format!("stock-snapshot-csv: {message}"))
}

/// Translates one snapshot file.
///
/// # Errors
/// [`FormatError`] when `--location` is not given, or the bytes are not a CSV with the
/// snapshot's columns.
pub fn translate(bytes: &[u8], options: &Options) -> Result<Vec<Record>, FormatError> {
    let location: LocationId = options.location.clone().ok_or_else(|| {
        file_error("--location is required: the partner location the snapshot counts".to_owned())
    })?;
    let text = utf8(bytes, "stock-snapshot-csv")?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| file_error(format!("header: {e}")))?.clone();
    let columns: HashMap<String, usize> =
        header.iter().enumerate().map(|(i, h)| (h.trim().to_ascii_lowercase(), i)).collect();
    let missing: Vec<&str> =
        REQUIRED.iter().copied().filter(|c| !columns.contains_key(*c)).collect();
    if !missing.is_empty() {
        return Err(file_error(format!("header lacks {}", missing.join(", "))));
    }
    let source = format!("snapshot/{location}");
    let mut records = Vec::new();
    let mut buckets: HashSet<(String, String)> = HashSet::new();
    for (n, cells) in reader.records().enumerate() {
        let line = n + 2;
        let cells = cells.map_err(|e| file_error(format!("line {line}: {e}")))?;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |c: &str| columns.get(c).and_then(|&i| cells.get(i)).map_or("", str::trim);
        let (sku, lot) = (get("sku"), get("lot"));
        let source_id = if lot.is_empty() {
            format!("line {line} sku {sku}")
        } else {
            format!("line {line} sku {sku} lot {lot}")
        };
        let outcome = if buckets.insert((sku.to_owned(), lot.to_owned())) {
            row(&location, &get, line, &source)
        } else {
            Err(Refusal {
                code: "DUPLICATE_ROW",
                message: format!(
                    "line {line}: sku '{sku}' lot '{lot}' appears earlier in this snapshot"
                ),
            })
        };
        records.push(Record { source_id, outcome });
    }
    Ok(records)
}

fn row<'a>(
    location: &LocationId,
    get: &impl Fn(&str) -> &'a str,
    line: usize,
    source: &str,
) -> Result<Vec<Intent>, Refusal> {
    let at = |what: String| invalid(format!("line {line}: {what}"));
    let sku = Sku::parse(get("sku")).map_err(|e| at(format!("sku: {e}")))?;
    let lot = match get("lot") {
        "" => None,
        text => Some(LotId::parse(text).map_err(|e| at(format!("lot: {e}")))?),
    };
    let expiry = match get("expiry") {
        "" => None,
        text => {
            Some(Date::parse(text).map_err(|_| at(format!("expiry '{text}' is not YYYY-MM-DD")))?)
        }
    };
    let quantity = get("quantity");
    let counted = quantity
        .parse::<i64>()
        .ok()
        .filter(|q| *q >= 0)
        .ok_or_else(|| at(format!("quantity '{quantity}' is not a whole number of units")))?;
    let as_of_text = get("as_of");
    let as_of =
        timestamp(as_of_text).ok_or_else(|| at(format!("as_of '{as_of_text}' is not a time")))?;
    let key = format!(
        "snapshot:{}",
        digest(&[
            location.as_str(),
            sku.as_str(),
            lot.as_ref().map_or("", LotId::as_str),
            &as_of.millis().to_string()
        ])
    );
    Ok(vec![Intent {
        idempotency_key: key,
        source: source.to_owned(),
        occurred_at_ms: None,
        command: Command::ReconcileStock(ReconcileStock {
            location: location.clone(),
            sku,
            lot,
            expiry,
            counted,
            as_of,
        }),
    }])
}
