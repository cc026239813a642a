//! API tokens: generated here, shown once, stored only as blake3 hashes in `tokens.toml`.

use anyhow::Context as _;
use rand_core::RngCore as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use tally_api::{AuthConfig, Role};

/// The token file's name in the data directory.
pub const TOKENS_FILE: &str = "tokens.toml";

/// A fresh random token: `tly_` and 32 random bytes in hex.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("tly_{hex}")
}

/// Writes a new token file (mode 0600) holding the hash of `token` for `name`/`role`.
pub fn create_file(path: &Path, name: &str, role: Role, token: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating '{}'", path.display()))?;
    let body = format!(
        "# API tokens, hashed (blake3 of the token). Add lines to give more people access.\n\
         [[tokens]]\nname = \"{name}\"\nrole = \"{}\"\nblake3 = \"{}\"\n",
        role.as_str(),
        AuthConfig::hash_token(token)
    );
    file.write_all(body.as_bytes()).with_context(|| format!("writing '{}'", path.display()))?;
    Ok(())
}

/// The tokens the server accepts: the data directory's file, then `TALLY_API_TOKENS` /
/// `TALLY_API_TOKENS_FILE` when set. A token file (either) that group or others may read or
/// write is refused ([`AuthConfig::from_file`]): whoever can write it can give themselves any
/// role.
pub fn load(data: &Path) -> anyhow::Result<AuthConfig> {
    let path = data.join(TOKENS_FILE);
    let from_env = std::env::var_os("TALLY_API_TOKENS").is_some()
        || std::env::var_os("TALLY_API_TOKENS_FILE").is_some();
    if from_env {
        return AuthConfig::from_env().context("reading API tokens from the environment");
    }
    if path.exists() {
        return AuthConfig::from_file(&path)
            .with_context(|| format!("reading '{}'", path.display()));
    }
    Ok(AuthConfig::empty())
}
