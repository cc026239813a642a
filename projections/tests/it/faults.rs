//! Storage failures of the view store: they stop the views (nothing is quarantined), and a
//! restart resumes from each view's checkpoint to the same bytes as a rebuild.

use crate::support::*;
use tally_projections::ViewStore;

#[test]
fn a_storage_failure_stops_the_views_and_a_restart_resumes_from_the_checkpoint() {
    let mut l = Ledger::new();
    l.run_all(world());
    let before = l.store.applied("inventory").unwrap();
    l.append(&receive("WH1", "A", 10)).unwrap();
    // The disk fails for the next read of any projection.
    l.store.inject_read_faults(1);
    let failed = l.store.catch_up(&l.log, None);
    assert!(failed.is_err(), "a storage failure is an error of catch-up: {failed:?}");
    for name in l.store.names() {
        assert!(
            l.store.quarantined(name).unwrap().is_empty(),
            "{name}: a storage failure quarantined an event"
        );
    }
    assert_eq!(l.store.applied("inventory").unwrap(), before, "the checkpoint did not move");
    let failure = l.store.failure();
    assert!(failure.is_some(), "the store reports itself failed");
    // A stopped store applies nothing more, even when the disk is fine again.
    assert!(l.store.catch_up(&l.log, None).is_err());
    assert_eq!(l.store.applied("inventory").unwrap(), before);

    // Restart: the views resume from their checkpoints and equal a rebuild.
    l.reopen_store(tally_projections::all());
    assert!(l.store.failure().is_none());
    l.store.catch_up(&l.log, None).unwrap();
    let rebuilt = ViewStore::temporary(tally_projections::all()).unwrap();
    rebuilt.catch_up(&l.log, None).unwrap();
    for name in l.store.names() {
        assert_eq!(l.store.applied(name).unwrap(), l.head());
        assert!(l.store.quarantined(name).unwrap().is_empty(), "{name} quarantined");
        assert!(l.store.dump(name).unwrap() == rebuilt.dump(name).unwrap(), "{name} differs");
    }
}

#[test]
fn a_key_longer_than_the_store_holds_is_an_error_not_a_panic() {
    let l = Ledger::new();
    let r = l.reader("inventory");
    let long = vec![b'k'; tally_projections::KEY_BYTES_MAX + 1];
    assert!(matches!(r.get_raw(&long), Err(tally_projections::Error::KeyTooLong(_))));
    assert!(matches!(r.scan(&long), Err(tally_projections::Error::KeyTooLong(_))));
    assert!(r.scan_after(b"k", Some(&long), 1).is_err());
    assert!(tally_projections::inventory::stock(&r, &"L".repeat(70_000), "A").is_err());
}
