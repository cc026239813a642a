//! The event types as a GraphQL enum, `EventType`: the domain's list
//! ([`tally_domain::event_type`]), `INVENTORY_RECEIVED` for the stored name
//! `inventory.received`.

pub use tally_domain::event_type::EventType;
