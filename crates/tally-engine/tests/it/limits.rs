//! A store written before the bounds of `tally_domain::limits` may hold events whose sums wrap
//! the decision state: the engine refuses to open it, naming the seq, instead of wrapping.

use tally_domain::Event;
use tally_domain::ids::JournalEntryId;
use tally_domain::journal::{Account, JournalEntry, JournalRef, Posting};
use tally_domain::money::{Currency, Money};
use tally_domain::time::Timestamp;
use tally_engine::{Engine, EngineConfig, OpenError};
use tally_log::{AppendRequest, Config, EventId, Log, NewEvent};

fn entry(n: u64) -> Event {
    let minor = i64::MAX;
    Event::JournalEntryPosted(JournalEntry {
        entry: JournalEntryId::parse(format!("je-{n}")).unwrap(),
        posted_at: Timestamp::from_millis(1_772_355_600_000),
        reference: JournalRef::Manual,
        memo: "old".to_owned(),
        postings: vec![
            Posting { account: Account::Bank, amount: Money::from_minor(minor, Currency::USD) },
            Posting {
                account: Account::InventoryWriteOff,
                amount: Money::from_minor(-minor, Currency::USD),
            },
        ],
    })
}

#[test]
fn an_old_event_that_would_wrap_a_balance_stops_the_open_with_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    // A store of this format (the engine writes its marker on an empty store), whose events
    // an older build decided.
    Engine::open(dir.path(), EngineConfig::default(), Vec::new()).unwrap().close();
    {
        let log = Log::open(dir.path().join("log"), Config::default()).unwrap();
        let batch = (1..=2_u64)
            .map(|n| {
                let e = entry(n);
                NewEvent {
                    event_id: EventId::new(u128::from(n)).unwrap(),
                    stream: e.stream(),
                    event_type: e.event_type().to_owned(),
                    schema_version: e.schema_version(),
                    occurred_at_ms: 1_772_355_600_000,
                    source: "old/version".to_owned(),
                    correlation_id: None,
                    causation_id: None,
                    actor: "old".to_owned(),
                    payload: tally_domain::encode(&e),
                }
            })
            .collect();
        log.append_blocking(AppendRequest::new(batch)).unwrap();
        log.close();
    }
    let opened = Engine::open(dir.path(), EngineConfig::default(), Vec::new());
    match opened {
        Err(OpenError::Invariant { seq, .. }) => assert_eq!(seq, 2),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a store whose balances wrap was opened"),
    }
}
