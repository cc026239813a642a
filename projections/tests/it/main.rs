//! Integration tests of the views: DOMAIN.md scenarios through the log, rebuild = incremental,
//! quarantine.
#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    missing_debug_implementations,
    reason = "tests panic on the unexpected"
)]

mod support;

mod as_of;
mod audit;
mod faults;
mod fill_rate;
mod finance;
mod inventory;
mod kpis;
mod ledger;
mod lots;
mod orders;
mod pagination;
mod rebuild;
