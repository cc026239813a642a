//! The audit view: an order's trail in seq order with the log's hashes.

use tally_projections::audit::{Entity, trail};

use crate::support::*;

#[test]
fn order_trail_has_the_logs_hashes_in_seq_order() {
    let mut l = Ledger::new();
    l.run_all(web_sale_to_payout());
    let r = l.reader("audit");
    let entity = Entity::Order("O1".to_owned());
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = trail(&r, &entity, after, 4).unwrap();
        all.extend(page.items);
        match page.next {
            Some(seq) => after = seq,
            None => break,
        }
    }
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    for rec in &all {
        let stored = l.log.get(rec.seq).unwrap().unwrap();
        assert_eq!(rec.hash, stored.hash().to_hex());
        assert_eq!(rec.event_type, stored.event_type());
        assert_eq!((rec.actor.as_str(), rec.source.as_str()), ("tester", "test/suite"));
        assert_eq!(rec.recorded_at_ms, stored.recorded_at_ms());
    }
    // Every event of the order's stream is there, plus the return authorised against it.
    let on_stream: Vec<u64> = l
        .log
        .read(1..=l.head())
        .map(|e| e.unwrap())
        .filter(|e| e.stream() == "order:O1")
        .map(|e| e.seq())
        .collect();
    assert!(!on_stream.is_empty(), "order O1 has a stream of its own");
    let in_trail: Vec<u64> = all.iter().filter(|r| r.stream == "order:O1").map(|r| r.seq).collect();
    assert_eq!(in_trail, on_stream);
    assert!(all.iter().any(|r| r.event_type == "return.authorized"));
    // The allocation is also in the trail of the SKU at its location.
    let stock =
        trail(&r, &Entity::Stock { location: "WH1".into(), sku: "A".into() }, 0, 100).unwrap();
    assert!(stock.items.iter().any(|r| r.event_type == "order.line_allocated"));
    assert!(stock.items.iter().any(|r| r.event_type == "inventory.received"));
}
