//! The one integration-test binary of tally-domain.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    missing_debug_implementations
)]

mod amend;
mod codec;
mod examples;
mod finance;
mod inventory;
mod limits;
mod master;
mod money;
mod order_money;
mod orders;
mod props;
mod purchasing;
mod receivables;
mod rejections;
mod returns;
mod scenarios;
mod streams;
mod support;
mod timers;
mod valuation;
