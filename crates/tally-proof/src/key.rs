//! The ledger's ed25519 key: generation, the 0600 key file, and the public key's text form.
//!
//! Text forms are those of C2SP signed notes (<https://c2sp.org/signed-note>), so standard note
//! tooling can verify Tally checkpoints:
//!
//! | form | text |
//! | --- | --- |
//! | key id | first 4 bytes of `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)` |
//! | public (verifier) key | `<name>+<hex key id>+<base64(0x01 ‖ 32-byte public key)>` |
//! | private (key file) | `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ 32-byte seed)>` and a newline |
//!
//! A key name is 1..=[`KEY_NAME_BYTES_MAX`] printable ASCII characters without spaces or `+`.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// The C2SP signature-type byte of Ed25519.
pub const ALGORITHM_ED25519: u8 = 0x01;
/// Longest accepted key name.
pub const KEY_NAME_BYTES_MAX: usize = 256;
/// The mode of a key file this crate creates.
pub const KEY_FILE_MODE: u32 = 0o600;
/// Longest key file read (a real one is about 100 bytes).
const KEY_FILE_BYTES_MAX: u64 = 4096;

const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// The 4-byte C2SP key id.
pub type KeyId = [u8; 4];

/// The C2SP key id of an Ed25519 key under `name`.
#[must_use]
pub fn key_id(name: &str, key: &VerifyingKey) -> KeyId {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ALGORITHM_ED25519]);
    hasher.update(key.as_bytes());
    let hash = hasher.finalize();
    [hash[0], hash[1], hash[2], hash[3]]
}

/// Checks a key name: printable ASCII, no space, no `+`, not empty, not too long.
pub fn check_key_name(name: &str) -> Result<(), KeyError> {
    let reason = if name.is_empty() {
        "is empty"
    } else if name.len() > KEY_NAME_BYTES_MAX {
        "is longer than 256 bytes"
    } else if !name.bytes().all(|b| b.is_ascii_graphic() && b != b'+') {
        "holds a character other than printable ASCII without space and '+'"
    } else {
        return Ok(());
    };
    Err(KeyError::Name { name: name.to_owned(), reason })
}

/// A verifier key: a name bound to an Ed25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    key: VerifyingKey,
}

impl PublicKey {
    /// Binds `name` to `key`.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, KeyError> {
        check_key_name(name)?;
        Ok(Self { name: name.to_owned(), key })
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Ed25519 public key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The C2SP key id.
    #[must_use]
    pub fn id(&self) -> KeyId {
        key_id(&self.name, &self.key)
    }

    /// `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.
    #[must_use]
    pub fn to_vkey(&self) -> String {
        let mut raw = [0u8; 33];
        raw[0] = ALGORITHM_ED25519;
        raw[1..].copy_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.id()), BASE64.encode(raw))
    }

    /// Reads [`PublicKey::to_vkey`] (surrounding whitespace ignored); the key id must match.
    pub fn parse_vkey(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        // Base64 may hold '+': the key is everything after the second '+'.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::format("public key is not '<name>+<hex id>+<base64 key>'"));
        };
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(&decode_key_bytes(key)?)
            .map_err(|_| KeyError::format("public key is not a valid ed25519 point"))?;
        let public = Self { name: name.to_owned(), key };
        check_id(id, public.id())?;
        Ok(public)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_vkey())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_vkey(text)
    }
}

/// The ledger's signing key under its name. `Debug` shows only the public half.
#[derive(Clone)]
pub struct LedgerKey {
    name: String,
    signing: SigningKey,
}

impl LedgerKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        check_key_name(name)?;
        let signing = SigningKey::generate(&mut rand_core::OsRng);
        Ok(Self { name: name.to_owned(), signing })
    }

    /// Binds `name` to an existing signing key.
    pub fn new(name: &str, signing: SigningKey) -> Result<Self, KeyError> {
        check_key_name(name)?;
        Ok(Self { name: name.to_owned(), signing })
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Ed25519 signing key.
    #[must_use]
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The public half under the same name.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey { name: self.name.clone(), key: self.signing.verifying_key() }
    }

    /// `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`: secret, keep it in a 0600 file.
    #[must_use]
    pub fn to_private_text(&self) -> String {
        let mut raw = [0u8; 33];
        raw[0] = ALGORITHM_ED25519;
        raw[1..].copy_from_slice(self.signing.as_bytes());
        format!(
            "{PRIVATE_PREFIX}{}+{}+{}",
            self.name,
            hex::encode(self.public_key().id()),
            BASE64.encode(raw)
        )
    }

    /// Reads [`LedgerKey::to_private_text`] (one trailing newline allowed); the id must match.
    pub fn parse_private_text(text: &str) -> Result<Self, KeyError> {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let Some(rest) = text.strip_prefix(PRIVATE_PREFIX) else {
            return Err(KeyError::format("key file does not start with 'PRIVATE+KEY+'"));
        };
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(seed)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::format(
                "key file is not 'PRIVATE+KEY+<name>+<hex id>+<base64 key>'",
            ));
        };
        check_key_name(name)?;
        let signing = SigningKey::from_bytes(&decode_key_bytes(seed)?);
        let key = Self { name: name.to_owned(), signing };
        check_id(id, key.public_key().id())?;
        Ok(key)
    }

    /// Writes the key to a new file with mode 0600; never overwrites an existing file.
    pub fn create_file(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io { path: path.to_owned(), source };
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(KEY_FILE_MODE)
            .open(path)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    KeyError::Exists { path: path.to_owned() }
                } else {
                    io(source)
                }
            })?;
        // The umask can only remove bits from 0600, but be explicit about the result.
        file.set_permissions(fs::Permissions::from_mode(KEY_FILE_MODE)).map_err(io)?;
        file.write_all(self.to_private_text().as_bytes()).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(())
    }

    /// Reads a key file, refusing one that group or others may read or write.
    pub fn read_file(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: path.to_owned(), source };
        let metadata = fs::metadata(path).map_err(io)?;
        if !metadata.is_file() {
            return Err(KeyError::NotAFile { path: path.to_owned() });
        }
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions { path: path.to_owned(), mode });
        }
        if metadata.len() > KEY_FILE_BYTES_MAX {
            return Err(KeyError::format("key file is larger than 4096 bytes"));
        }
        let text = fs::read_to_string(path).map_err(io)?;
        Self::parse_private_text(&text)
    }
}

impl fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LedgerKey({}, secret redacted)", self.public_key().to_vkey())
    }
}

/// Generates a key and writes it to a new 0600 file at `path`.
pub fn generate_key_file(path: &Path, name: &str) -> Result<LedgerKey, KeyError> {
    let key = LedgerKey::generate(name)?;
    key.create_file(path)?;
    Ok(key)
}

fn decode_key_bytes(text: &str) -> Result<[u8; 32], KeyError> {
    let raw = BASE64.decode(text).map_err(|_| KeyError::format("key is not standard base64"))?;
    let Some((&algorithm, key)) = raw.split_first() else {
        return Err(KeyError::format("key is empty"));
    };
    if algorithm != ALGORITHM_ED25519 {
        return Err(KeyError::format(format!(
            "key algorithm {algorithm:#04x} is not ed25519 ({ALGORITHM_ED25519:#04x})"
        )));
    }
    key.try_into()
        .map_err(|_| KeyError::format(format!("ed25519 key has {} bytes, expected 32", key.len())))
}

fn check_id(text: &str, expected: KeyId) -> Result<(), KeyError> {
    if text == hex::encode(expected) {
        Ok(())
    } else {
        Err(KeyError::KeyIdMismatch { expected: hex::encode(expected), found: text.to_owned() })
    }
}

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key name is not acceptable.
    #[error("key name '{name}' {reason}")]
    Name {
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The key text is malformed.
    #[error("malformed key: {reason}")]
    Format {
        /// What is wrong.
        reason: String,
    },
    /// The key id in the text is not the id of the name and key it carries.
    #[error("key id '{found}' does not match the key, expected '{expected}'")]
    KeyIdMismatch {
        /// The id of the name and key.
        expected: String,
        /// The id in the text.
        found: String,
    },
    /// A key file already exists where a new one was to be created.
    #[error("key file '{}' already exists; refusing to overwrite it", path.display())]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// The key file may be read or written by group or others.
    #[error(
        "key file '{}' has mode {mode:04o}, readable by group or others; expected 0600 (chmod 600)",
        path.display()
    )]
    Permissions {
        /// The path.
        path: PathBuf,
        /// The permission bits found.
        mode: u32,
    },
    /// The key path is not a regular file.
    #[error("key file '{}' is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Reading or writing the key file failed.
    #[error("key file '{}'", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl KeyError {
    fn format(reason: impl Into<String>) -> Self {
        Self::Format { reason: reason.into() }
    }
}
