//! The one integration-test binary of tally-proof.

mod bundle;
mod checkpoint;
mod hash;
mod key;
mod merkle_known_answer;
mod merkle_props;
mod reference;
mod support;
