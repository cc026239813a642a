//! Cursor pagination over `ViewReader::scan_after`: every item exactly once, in order, across
//! more than three pages; cursors between, before and after the keys.

use tally_domain::order::OrderStatus;
use tally_projections::audit::{Entity, entities, trail};
use tally_projections::orders::orders_by_status;

use crate::support::*;

#[test]
fn audit_trail_pages_give_every_event_once_in_seq_order() {
    let mut l = Ledger::new();
    l.run_all(world());
    for n in 1..=14 {
        l.run(receive("WH1", "A", n));
        // Events of another entity in between: not in the trail.
        l.run(receive("WH2", "A", 1));
    }
    l.run(cycle_count("WH1", "A", 3));
    let entity = Entity::Stock { location: "WH1".into(), sku: "A".into() };
    let expected: Vec<u64> = l
        .log
        .read(1..=l.head())
        .map(|e| e.unwrap())
        .filter(|e| {
            let event =
                tally_domain::decode(e.event_type(), e.schema_version(), e.payload()).unwrap();
            entities(&event).contains(&entity)
        })
        .map(|e| e.seq())
        .collect();
    assert!(expected.len() > 12, "more than three pages of three");

    let r = l.reader("audit");
    let (mut seen, mut pages, mut after) = (Vec::new(), 0, 0);
    loop {
        let page = trail(&r, &entity, after, 3).unwrap();
        assert!(page.items.len() <= 3);
        pages += 1;
        seen.extend(page.items.iter().map(|rec| rec.seq));
        match page.next {
            Some(seq) => after = seq,
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert!(pages > 3);
    // A cursor between two seqs starts after it; past the end is empty; limit 0 is empty.
    let gap = expected.windows(2).position(|w| w[1] > w[0] + 1).unwrap();
    let mid = trail(&r, &entity, expected[gap] + 1, 2).unwrap();
    assert_eq!(mid.items.iter().map(|x| x.seq).collect::<Vec<_>>(), expected[gap + 1..gap + 3]);
    assert_eq!(mid.next, Some(expected[gap + 2]));
    let past = trail(&r, &entity, u64::MAX, 3).unwrap();
    assert!(past.items.is_empty() && past.next.is_none());
    let none = trail(&r, &entity, 0, 0).unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
}

#[test]
fn orders_by_status_pages_give_every_order_once_in_id_order() {
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive("WH1", "A", 100));
    let ids: Vec<String> = (0..14).map(|n| format!("P{n}")).collect();
    for id in &ids {
        l.run(place(id, "web", T0, &[("A", 1, 100)], 0, 0));
    }
    // Orders in neighbouring statuses stay out of the page.
    l.run_all(order_flow("Q1", "web", T0, "A", 1));
    l.run_all([place("Q2", "web", T0, &[("A", 1, 100)], 0, 0), validate("Q2")]);
    let mut expected = ids.clone();
    expected.sort(); // byte order: P0, P1, P10, …, P13, P2, …
    let r = l.reader("orders");
    let (mut seen, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page = orders_by_status(&r, OrderStatus::Received, cursor.as_deref(), 3).unwrap();
        assert!(page.items.len() <= 3);
        assert!(page.items.iter().all(|o| o.status == OrderStatus::Received));
        pages += 1;
        seen.extend(page.items.iter().map(|o| o.id.to_string()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert!(pages > 3);
    // A cursor that is not an order id starts at the next id; past the last id is empty.
    let from = orders_by_status(&r, OrderStatus::Received, Some("P1"), 2).unwrap();
    let got: Vec<_> = from.items.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(got, ["P10", "P11"]);
    let past = orders_by_status(&r, OrderStatus::Received, Some("Z"), 3).unwrap();
    assert!(past.items.is_empty() && past.next.is_none());
    let all = orders_by_status(&r, OrderStatus::Received, Some(""), usize::MAX).unwrap();
    assert_eq!(all.items.len(), 14);
}

#[test]
fn scan_after_reads_at_most_limit_keys_strictly_after_the_cursor_within_the_prefix() {
    let mut l = Ledger::new();
    l.run_all(world());
    for n in 0..5 {
        l.run(place(&format!("P{n}"), "web", T0, &[("A", 1, 100)], 0, 0));
    }
    let r = l.reader("orders");
    let p = b"status\0received\0";
    let key = |id: &str| [&p[..], id.as_bytes()].concat();
    let ids = |rows: Vec<(Vec<u8>, Vec<u8>)>| {
        rows.into_iter()
            .map(|(k, _)| String::from_utf8(k[p.len()..].to_vec()).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(r.scan_after(p, None, 2).unwrap()), ["P0", "P1"]);
    assert_eq!(ids(r.scan_after(p, Some(&key("P1")), 10).unwrap()), ["P2", "P3", "P4"]);
    // A cursor before the prefix starts at its beginning; one after it reads nothing.
    assert_eq!(ids(r.scan_after(p, Some(b"order"), 1).unwrap()), ["P0"]);
    assert!(r.scan_after(p, Some(b"status\0received\x01"), 10).unwrap().is_empty());
    assert!(r.scan_after(p, Some(&key("P4")), 10).unwrap().is_empty());
    assert!(r.scan_after(p, None, 0).unwrap().is_empty());
    // The empty prefix spans the keyspace, reserved keys included, like `scan`.
    assert_eq!(r.scan_after(&[], None, usize::MAX).unwrap(), r.scan(&[]).unwrap());
}
