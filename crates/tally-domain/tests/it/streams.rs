//! Stream names: one entity, one stream; distinct entities never share one.

use tally_domain::ids::{LocationId, LotId, Sku};
use tally_domain::inventory::StockKey;

fn stock(location: &str, sku: &str, lot: Option<&str>) -> StockKey {
    StockKey::new(
        LocationId::parse(location).unwrap(),
        Sku::parse(sku).unwrap(),
        lot.map(|l| LotId::parse(l).unwrap()),
    )
}

/// Issue #12 item 6: location `WH-1` × SKU `A` and location `WH` × SKU `1-A` were both
/// `inventory-WH-1-A`, so their events interleaved in one stream.
#[test]
fn ids_with_the_separator_do_not_collide() {
    assert_ne!(stock("WH-1", "A", None).stream(), stock("WH", "1-A", None).stream());
    // A lot-less key against a lot-tracked one whose parts join the same way.
    assert_ne!(stock("WH", "A-L1", None).stream(), stock("WH", "A", Some("L1")).stream());
}

/// What a stream may be about, built from random ids.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entity {
    Order(String),
    Stock(String, String, Option<String>),
    Return(String),
    Settlement(String),
    Payout(String),
    Lot(String, String),
    Location(String),
    Channel(String),
    Sku(String),
    Journal,
    Commands,
}

/// Its stream, through the domain's own builders (events, journal references, stock keys).
fn stream_of(entity: &Entity) -> String {
    use tally_domain::Event;
    use tally_domain::event::{CommandAccepted, LotRecalled, SafetyStockSet};
    use tally_domain::ids::{ChannelId, OrderId, PayoutId, ReturnId, SettlementId};
    use tally_domain::journal::JournalRef;
    use tally_domain::master::{Location, LocationKind};
    use tally_domain::stream;
    match entity {
        Entity::Order(id) => JournalRef::Order(OrderId::parse(id.as_str()).unwrap()).stream(),
        Entity::Stock(location, sku, None) => Event::SafetyStockSet(SafetyStockSet {
            location: LocationId::parse(location.as_str()).unwrap(),
            sku: Sku::parse(sku.as_str()).unwrap(),
            qty: 1,
        })
        .stream(),
        Entity::Stock(location, sku, Some(lot)) => {
            JournalRef::Stock(stock(location, sku, Some(lot))).stream()
        }
        Entity::Return(id) => JournalRef::Return(ReturnId::parse(id.as_str()).unwrap()).stream(),
        Entity::Settlement(id) => {
            JournalRef::Settlement(SettlementId::parse(id.as_str()).unwrap()).stream()
        }
        Entity::Payout(id) => JournalRef::Payout(PayoutId::parse(id.as_str()).unwrap()).stream(),
        Entity::Lot(sku, lot) => Event::LotRecalled(LotRecalled {
            sku: Sku::parse(sku.as_str()).unwrap(),
            lot: LotId::parse(lot.as_str()).unwrap(),
        })
        .stream(),
        Entity::Location(id) => Event::LocationDefined(Location {
            id: LocationId::parse(id.as_str()).unwrap(),
            kind: LocationKind::Warehouse,
            rank: 1,
            channels: std::collections::BTreeSet::new(),
        })
        .stream(),
        Entity::Channel(id) => stream::channel(&ChannelId::parse(id.as_str()).unwrap()),
        Entity::Sku(id) => stream::sku(&Sku::parse(id.as_str()).unwrap()),
        Entity::Journal => JournalRef::Manual.stream(),
        Entity::Commands => {
            Event::CommandAccepted(CommandAccepted { command: "define_sku".to_owned() }).stream()
        }
    }
}

mod props {
    use super::{Entity, stream_of};
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use tally_domain::stream;

    /// Ids from a tiny alphabet of separators and escapes, so that ids which join alike under
    /// a naive naming (`-` or `:` between unescaped ids, `%` escapes) are common; and some
    /// from a wider one.
    fn id() -> impl Strategy<Value = String> {
        prop_oneof![4 => "[A:%-]{1,2}", 1 => "[A1:%/_.#|2-5-]{1,6}"]
    }

    fn entity() -> impl Strategy<Value = Entity> {
        prop_oneof![
            id().prop_map(Entity::Order),
            (id(), id(), proptest::option::of(id()))
                .prop_map(|(l, s, lot)| Entity::Stock(l, s, lot)),
            id().prop_map(Entity::Return),
            id().prop_map(Entity::Settlement),
            id().prop_map(Entity::Payout),
            (id(), id()).prop_map(|(s, l)| Entity::Lot(s, l)),
            id().prop_map(Entity::Location),
            id().prop_map(Entity::Channel),
            id().prop_map(Entity::Sku),
            Just(Entity::Journal),
            Just(Entity::Commands),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Distinct entities never share a stream.
        #[test]
        fn distinct_entities_never_share_a_stream(entities in proptest::collection::vec(entity(), 1..200)) {
            let mut seen: BTreeMap<String, Entity> = BTreeMap::new();
            for entity in entities {
                let name = stream_of(&entity);
                if let Some(earlier) = seen.insert(name.clone(), entity.clone()) {
                    prop_assert_eq!(&earlier, &entity, "both are stream {}", name);
                }
            }
        }

        /// Every name reads back into its kind and parts (so the naming is injective).
        #[test]
        fn names_read_back(kind in "[a-z_]{1,10}", parts in proptest::collection::vec("\\PC{0,8}", 0..4)) {
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            let name = stream::name(&kind, &refs);
            let (k, p) = stream::parse(&name).expect("a built name parses");
            prop_assert_eq!(k, kind.as_str());
            prop_assert_eq!(p, parts);
        }
    }
}

/// Every order, location, lot and stock position over ids of up to three characters of `A`,
/// `-`, `:` and `%` (two for a stock position with a lot) has a stream of its own.
#[test]
fn small_ids_never_share_a_stream_exhaustively() {
    let mut ids = vec![String::new()];
    for _ in 0..3 {
        let longer: Vec<String> =
            ids.iter().flat_map(|id| ['A', '-', ':', '%'].map(|c| format!("{id}{c}"))).collect();
        ids.extend(longer);
    }
    ids.retain(|id| !id.is_empty());
    ids.sort_unstable();
    ids.dedup();
    let mut seen: std::collections::HashMap<String, Entity> = std::collections::HashMap::new();
    let mut check = |entity: Entity| {
        if let Some(earlier) = seen.insert(stream_of(&entity), entity.clone()) {
            assert_eq!(earlier, entity, "both are stream {}", stream_of(&entity));
        }
    };
    for a in &ids {
        check(Entity::Order(a.clone()));
        check(Entity::Location(a.clone()));
        for b in &ids {
            check(Entity::Stock(a.clone(), b.clone(), None));
            check(Entity::Lot(a.clone(), b.clone()));
        }
    }
    // Three parts: ids of up to two characters.
    let short: Vec<&String> = ids.iter().filter(|id| id.len() <= 2).collect();
    for a in &short {
        for b in &short {
            check(Entity::Stock((*a).clone(), (*b).clone(), None));
            for c in &short {
                check(Entity::Stock((*a).clone(), (*b).clone(), Some((*c).clone())));
            }
        }
    }
}

#[test]
fn names_stay_readable_and_escape_only_what_they_must() {
    assert_eq!(stock("WH-1", "SKU-A", None).stream(), "inventory:WH-1:SKU-A");
    assert_eq!(stock("WH", "1-A", Some("L-7")).stream(), "inventory:WH:1-A:L-7");
    assert_eq!(stock("W:1", "100%", None).stream(), "inventory:W%3A1:100%25");
    assert_eq!(tally_domain::stream::parse("inventory:W%3A1:100%25").unwrap().1, ["W:1", "100%"]);
    assert_eq!(tally_domain::stream::parse("order:50%"), None);
    assert_eq!(tally_domain::stream::parse("order:%41"), None);
}
