//! Integration tests of tally-api.
