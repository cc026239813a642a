//! Data-driven scenarios: every `tests/scenarios/*.json` file is a sequence of commands (with
//! business time) and expected values, replayed by [`scenario_files_pass`].

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tally_domain::ids::{ChannelId, LocationId, LotId, Sku};
use tally_domain::journal::Account;
use tally_domain::money::{Currency, Money};
use tally_domain::time::Timestamp;
use tally_domain::{Command, Context, Event, State, decide, evolve};

use crate::support::ctx_at;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[expect(dead_code, reason = "documentation for people reading the file")]
    description: String,
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    at: Option<Timestamp>,
    command: Option<Command>,
    rejects: Option<String>,
    emits: Option<Vec<String>>,
    expect: Option<Expect>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    stock: Vec<StockCheck>,
    #[serde(default)]
    ats: Vec<AtsCheck>,
    #[serde(default)]
    network_ats: Vec<NetworkAtsCheck>,
    #[serde(default)]
    balances: Vec<BalanceCheck>,
    #[serde(default)]
    net_revenue: Vec<NetRevenueCheck>,
    backorders: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StockCheck {
    location: LocationId,
    sku: Sku,
    lot: Option<LotId>,
    available: Option<u64>,
    reserved: Option<u64>,
    picked: Option<u64>,
    packed: Option<u64>,
    quarantined: Option<u64>,
    returned: Option<u64>,
    in_transit: Option<u64>,
    incoming: Option<u64>,
    shipped: Option<u64>,
    on_hand: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtsCheck {
    channel: ChannelId,
    sku: Sku,
    qty: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkAtsCheck {
    sku: Sku,
    qty: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BalanceCheck {
    account: u16,
    currency: Currency,
    amount: String,
    side: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetRevenueCheck {
    currency: Currency,
    amount: String,
}

pub fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Replays one file, checking every expectation; returns the accepted events (with the
/// business time each was decided at) and final state.
pub fn run_file(path: &Path) -> (Vec<(Timestamp, Event)>, State) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let file: File = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut state = State::new();
    let mut ctx = ctx_at(0);
    let mut all = Vec::new();
    for (i, step) in file.steps.iter().enumerate() {
        let at = format!("{name} step {i}");
        if let Some(now) = step.at {
            ctx = ctx_at(now.millis());
        }
        if let Some(command) = &step.command {
            match (decide(&state, command, &ctx), &step.rejects) {
                (Ok(events), None) => {
                    if let Some(emits) = &step.emits {
                        let types: Vec<&str> = events.iter().map(Event::event_type).collect();
                        assert_eq!(&types, emits, "{at}: emitted {events:#?}");
                    }
                    for e in &events {
                        evolve(&mut state, e, ctx.now);
                    }
                    all.extend(events.into_iter().map(|e| (ctx.now, e)));
                }
                (Ok(events), Some(code)) => panic!("{at}: expected {code}, got {events:#?}"),
                (Err(r), Some(code)) => assert_eq!(r.code(), code, "{at}: {r}"),
                (Err(r), None) => panic!("{at}: rejected {}: {r}", r.code()),
            }
        }
        if let Some(expect) = &step.expect {
            check(&state, expect, &at, ctx.now.date());
        }
    }
    (all, state)
}

fn check(state: &State, expect: &Expect, at: &str, today: tally_domain::time::Date) {
    for c in &expect.stock {
        let buckets: Vec<_> = state
            .buckets_at(&c.location, &c.sku)
            .filter(|(k, _)| c.lot.is_none() || k.lot == c.lot)
            .map(|(_, s)| s.clone())
            .collect();
        let sum =
            |f: &dyn Fn(&tally_domain::inventory::Stock) -> u64| buckets.iter().map(f).sum::<u64>();
        let pairs: [(&str, Option<u64>, u64); 10] = [
            ("available", c.available, sum(&|s| s.available)),
            ("reserved", c.reserved, sum(&|s| s.reserved)),
            ("picked", c.picked, sum(&|s| s.picked)),
            ("packed", c.packed, sum(&|s| s.packed)),
            ("quarantined", c.quarantined, sum(&|s| s.quarantined_total())),
            ("returned", c.returned, sum(&|s| s.returned)),
            ("in_transit", c.in_transit, sum(&|s| s.in_transit)),
            ("incoming", c.incoming, sum(&|s| s.incoming)),
            ("shipped", c.shipped, sum(&|s| s.shipped)),
            ("on_hand", c.on_hand, sum(&|s| s.on_hand())),
        ];
        for (what, expected, actual) in pairs {
            if let Some(expected) = expected {
                assert_eq!(
                    actual, expected,
                    "{at}: {what} of {} at {} (lot {:?})",
                    c.sku, c.location, c.lot
                );
            }
        }
    }
    for c in &expect.ats {
        assert_eq!(
            state.ats(&c.channel, &c.sku, today),
            c.qty,
            "{at}: ats of {} for {}",
            c.sku,
            c.channel
        );
    }
    for c in &expect.network_ats {
        assert_eq!(state.network_ats(&c.sku, today), c.qty, "{at}: network ats of {}", c.sku);
    }
    for c in &expect.balances {
        let account = Account::from_number(c.account)
            .unwrap_or_else(|| panic!("{at}: no account {}", c.account));
        let mut balance = state.balance(account, c.currency);
        if c.side.as_deref() == Some("credit") {
            balance = balance.negated();
        }
        assert_eq!(balance.to_decimal_string(), c.amount, "{at}: balance of {}", c.account);
    }
    for c in &expect.net_revenue {
        let revenue = state.balance(Account::ProductRevenue, c.currency).minor()
            + state.balance(Account::SalesReturns, c.currency).minor();
        assert_eq!(
            Money::from_minor(-revenue, c.currency).to_decimal_string(),
            c.amount,
            "{at}: net revenue"
        );
    }
    if let Some(n) = expect.backorders {
        assert_eq!(state.backorders().count(), n, "{at}: backordered lines");
    }
}

#[test]
fn scenario_files_pass() {
    let files = files();
    assert!(files.len() >= 6, "scenario files: {files:?}");
    for path in files {
        run_file(&path);
    }
}

/// Events of every scenario file, each with the state it builds.
pub fn all_stories() -> Vec<(Vec<(Timestamp, Event)>, State)> {
    let mut stories: Vec<_> = files().iter().map(|p| run_file(p)).collect();
    stories.push(examples_story());
    stories
}

/// The domain's examples of every command (`tally_domain::examples`), decided in order.
fn examples_story() -> (Vec<(Timestamp, Event)>, State) {
    let mut state = State::new();
    let mut events = Vec::new();
    let actor = tally_domain::ids::Actor::parse("examples").unwrap();
    for (i, command) in tally_domain::examples::commands().iter().enumerate() {
        let ctx = Context { now: tally_domain::examples::time_of(i), actor: actor.clone() };
        let decided = tally_domain::execute(&mut state, command, &ctx).unwrap();
        events.extend(decided.into_iter().map(|e| (ctx.now, e)));
    }
    (events, state)
}
