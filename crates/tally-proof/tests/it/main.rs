//! The one integration-test binary of tally-proof.

mod hash;
mod merkle_known_answer;
mod merkle_props;
mod reference;
mod support;
