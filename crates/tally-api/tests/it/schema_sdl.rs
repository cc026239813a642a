//! `schema/schema.graphql` is generated from the code; this fails on drift.

use std::path::PathBuf;

#[test]
fn schema_file_matches_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/schema.graphql");
    let sdl = tally_api::schema::sdl();
    if std::env::var_os("TALLY_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == sdl,
        "schema/schema.graphql is out of date with the code; regenerate it with\n  \
         TALLY_UPDATE_SCHEMA=1 cargo test -p tally-api --test it schema_file_matches_the_code"
    );
}
