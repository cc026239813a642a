//! Integration tests of the outbox.
