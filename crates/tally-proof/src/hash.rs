//! The hash constructions: the log's chain hash and the Merkle tree's leaf and node hashes.
//!
//! This module is the only place in Tally where these constructions are defined. Both are
//! blake3 in keyed mode, each with its own key, so a chain hash can never be mistaken for a
//! Merkle hash or the other way round:
//!
//! | construction | definition |
//! | --- | --- |
//! | chain key | `blake3::derive_key("tally 2026-11-26 log chain v1", b"")` |
//! | merkle key | `blake3::derive_key("tally 2026-11-26 merkle v1", b"")` |
//! | [`chain_hash`] | `keyed_blake3(chain key, prev ‖ frame)`, with [`GENESIS`] (all zeros) before seq 1 |
//! | [`leaf_hash`] | `keyed_blake3(merkle key, 0x00 ‖ event hash)` |
//! | [`node_hash`] | `keyed_blake3(merkle key, 0x01 ‖ left ‖ right)` |
//! | [`empty_root`] | `keyed_blake3(merkle key, "")`, the root of the tree of size 0 |
//!
//! The `0x00`/`0x01` prefixes are those of RFC 9162 §2.1.1, so a leaf can never be presented
//! as an interior node. The keys are spelled out as constants (derivation costs nothing at run
//! time); a test checks that they equal the derivation above.

use std::fmt;
use std::str::FromStr;

/// The blake3 derive-key context of the chain hash.
pub const CHAIN_CONTEXT: &str = "tally 2026-11-26 log chain v1";
/// The blake3 derive-key context of the Merkle hashes.
pub const MERKLE_CONTEXT: &str = "tally 2026-11-26 merkle v1";

/// `blake3::derive_key(CHAIN_CONTEXT, b"")`.
pub const CHAIN_KEY: [u8; 32] = [
    190, 93, 11, 219, 234, 200, 254, 178, 39, 111, 130, 233, 138, 71, 236, 15, 10, 186, 97, 145,
    153, 251, 112, 244, 212, 165, 77, 84, 142, 68, 56, 67,
];
/// `blake3::derive_key(MERKLE_CONTEXT, b"")`.
pub const MERKLE_KEY: [u8; 32] = [
    193, 221, 93, 7, 160, 103, 44, 155, 167, 130, 19, 81, 125, 187, 24, 6, 53, 18, 102, 169, 228,
    86, 183, 151, 7, 181, 242, 175, 59, 147, 236, 236,
];

/// Length of a digest in bytes.
pub const DIGEST_BYTES: usize = 32;

/// A 32-byte blake3 output: a chain hash, a leaf hash, a node hash or a tree root.
///
/// Displays and parses as 64 lowercase hex digits; serde uses the same hex string.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Digest([u8; DIGEST_BYTES]);

/// The chain hash before the first frame (seq 1): all zeros.
pub const GENESIS: Digest = Digest([0; DIGEST_BYTES]);

impl Digest {
    /// Wraps 32 raw bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; DIGEST_BYTES]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; DIGEST_BYTES] {
        &self.0
    }

    /// Reads a digest from a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DigestError> {
        let array: [u8; DIGEST_BYTES] =
            bytes.try_into().map_err(|_| DigestError::Length { found: bytes.len() })?;
        Ok(Self(array))
    }

    /// 64 lowercase hex digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits (lowercase only, so that every digest has one spelling).
    pub fn from_hex(text: &str) -> Result<Self, DigestError> {
        if text.len() != 2 * DIGEST_BYTES {
            return Err(DigestError::HexLength { found: text.len() });
        }
        if text.bytes().any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::HexDigit { text: text.to_owned() });
        }
        let mut bytes = [0; DIGEST_BYTES];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| DigestError::HexDigit { text: text.to_owned() })?;
        Ok(Self(bytes))
    }
}

impl From<[u8; DIGEST_BYTES]> for Digest {
    fn from(bytes: [u8; DIGEST_BYTES]) -> Self {
        Self(bytes)
    }
}

impl From<Digest> for [u8; DIGEST_BYTES] {
    fn from(digest: Digest) -> Self {
        digest.0
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 2 * DIGEST_BYTES];
        // Cannot fail: the buffer is exactly twice the input length.
        if hex::encode_to_slice(self.0, &mut buf).is_err() {
            return Err(fmt::Error);
        }
        // Hex digits are ASCII.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Why bytes or text are not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The slice is not 32 bytes long.
    #[error("digest has {found} bytes, expected {DIGEST_BYTES}")]
    Length {
        /// Length found.
        found: usize,
    },
    /// The hex text is not 64 characters long.
    #[error("hex digest has {found} characters, expected {}", 2 * DIGEST_BYTES)]
    HexLength {
        /// Length found.
        found: usize,
    },
    /// The text holds a character that is not a lowercase hex digit.
    #[error("hex digest '{text}' holds a character other than 0-9 a-f")]
    HexDigit {
        /// The offending text.
        text: String,
    },
}

/// The chain hash of a frame: `keyed_blake3(CHAIN_KEY, prev ‖ frame)`.
///
/// `prev` is the chain hash of the previous frame, or [`GENESIS`] for seq 1. Allocates
/// nothing.
#[must_use]
#[inline]
pub fn chain_hash(prev: &Digest, frame: &[u8]) -> Digest {
    let mut hasher = blake3::Hasher::new_keyed(&CHAIN_KEY);
    hasher.update(&prev.0);
    hasher.update(frame);
    Digest(*hasher.finalize().as_bytes())
}

/// The Merkle leaf for an event: `keyed_blake3(MERKLE_KEY, 0x00 ‖ event_hash)`.
///
/// `event_hash` is the event's chain hash.
#[must_use]
#[inline]
pub fn leaf_hash(event_hash: &Digest) -> Digest {
    let mut input = [0u8; 1 + DIGEST_BYTES];
    input[0] = 0x00;
    input[1..].copy_from_slice(&event_hash.0);
    Digest(*blake3::keyed_hash(&MERKLE_KEY, &input).as_bytes())
}

/// An interior Merkle node: `keyed_blake3(MERKLE_KEY, 0x01 ‖ left ‖ right)`.
#[must_use]
#[inline]
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    let mut input = [0u8; 1 + 2 * DIGEST_BYTES];
    input[0] = 0x01;
    input[1..=DIGEST_BYTES].copy_from_slice(&left.0);
    input[1 + DIGEST_BYTES..].copy_from_slice(&right.0);
    Digest(*blake3::keyed_hash(&MERKLE_KEY, &input).as_bytes())
}

/// The root of the empty tree: `keyed_blake3(MERKLE_KEY, "")` (RFC 9162: the hash of the
/// empty string).
#[must_use]
pub fn empty_root() -> Digest {
    Digest(*blake3::keyed_hash(&MERKLE_KEY, b"").as_bytes())
}
