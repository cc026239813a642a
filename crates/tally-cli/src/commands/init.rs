//! `tally init`: a new store.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::Context as _;
use std::path::Path;

pub fn run(data: &Path, origin: &str, key: Option<&Path>) -> anyhow::Result<Outcome> {
    let (dir, key) = DataDir::init(data, origin, key)?;
    let engine = dir.open_engine().context("creating the store")?;
    let checkpoint = engine.log().checkpoint_blocking().context("cutting the first checkpoint")?;
    engine.close();
    println!("initialised {}", data.display());
    println!("ledger key: {} (mode 0600)", dir.key_path().display());
    println!("public key: {}", key.public_key().to_vkey());
    let token = crate::tokens::generate();
    crate::tokens::create_file(
        &data.join(crate::tokens::TOKENS_FILE),
        "admin",
        tally_api::Role::Admin,
        &token,
    )?;
    println!("admin API token (shown once, stored hashed in tokens.toml): {token}");
    println!("first checkpoint (size {}):", checkpoint.unverified().size);
    print!("{}", checkpoint.to_text());
    Ok(Outcome::Ok)
}
