//! Integration tests of the views: DOMAIN.md scenarios through the log, rebuild = incremental,
//! quarantine.

mod support;

mod audit;
mod finance;
mod inventory;
mod orders;
mod rebuild;
