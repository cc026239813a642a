//! The key file (0600, never overwritten, refused when group/other readable) and key text forms.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use ed25519_dalek::SigningKey;
use tally_proof::key::{KeyError, LedgerKey, PublicKey, generate_key_file, key_id};

#[test]
fn key_file_is_created_0600_and_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.key");
    let key = generate_key_file(&path, "tally-ledger").expect("creates");
    let mode = fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = fs::read_to_string(&path).expect("reads");
    assert!(text.starts_with("PRIVATE+KEY+tally-ledger+"), "{text}");
    let read = LedgerKey::read_file(&path).expect("reads back");
    assert_eq!(read.public_key(), key.public_key());
    assert_eq!(read.signing_key().to_bytes(), key.signing_key().to_bytes());
    // Debug never shows the secret.
    let debug = format!("{read:?}");
    let seed = text.trim().splitn(5, '+').nth(4).expect("seed");
    assert!(!debug.contains(seed), "{debug}");
    assert!(debug.contains("secret redacted"), "{debug}");
}

#[test]
fn key_file_is_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.key");
    generate_key_file(&path, "a").expect("creates");
    let before = fs::read(&path).expect("reads");
    let error = generate_key_file(&path, "b").expect_err("exists");
    assert!(matches!(error, KeyError::Exists { .. }), "{error}");
    assert_eq!(fs::read(&path).expect("reads"), before);
}

#[test]
fn group_or_world_readable_key_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.key");
    generate_key_file(&path, "tally-ledger").expect("creates");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    let error = LedgerKey::read_file(&path).expect_err("refused");
    assert!(matches!(error, KeyError::Permissions { mode: 0o644, .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("0644") && message.contains("chmod 600"), "{message}");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
    assert!(matches!(LedgerKey::read_file(&path), Err(KeyError::Permissions { .. })));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).expect("chmod");
    LedgerKey::read_file(&path).expect("owner-only is fine");
}

#[test]
fn vkey_roundtrip_and_id_check() {
    let signing = SigningKey::from_bytes(&[7; 32]);
    let public = PublicKey::new("tally-ledger", signing.verifying_key()).expect("name");
    let vkey = public.to_vkey();
    let parts: Vec<&str> = vkey.split('+').collect();
    assert_eq!(parts[0], "tally-ledger");
    assert_eq!(parts[1], hex::encode(key_id("tally-ledger", &signing.verifying_key())));
    assert_eq!(PublicKey::parse_vkey(&format!("{vkey}\n")).expect("parses"), public);
    // A renamed key no longer matches its id.
    let renamed = vkey.replacen("tally-ledger", "tally-ledgers", 1);
    assert!(matches!(PublicKey::parse_vkey(&renamed), Err(KeyError::KeyIdMismatch { .. })));
    assert!(PublicKey::parse_vkey("tally-ledger+00000000").is_err());
    assert!(PublicKey::parse_vkey(&format!("{vkey}+extra")).is_err());
    assert!(PublicKey::new("has space", signing.verifying_key()).is_err());
    assert!(PublicKey::new("", signing.verifying_key()).is_err());
}

#[test]
fn c2sp_key_id_matches_a_known_answer() {
    // SHA-256("tally-ledger\n" ‖ 0x01 ‖ pk)[..4], computed independently of the crate.
    use sha2::Digest as _;
    let signing = SigningKey::from_bytes(&[7; 32]);
    let mut input = b"tally-ledger\n\x01".to_vec();
    input.extend_from_slice(signing.verifying_key().as_bytes());
    let hash = sha2::Sha256::digest(&input);
    assert_eq!(key_id("tally-ledger", &signing.verifying_key()), hash[..4]);
}

#[test]
fn private_text_is_strict() {
    let key = LedgerKey::new("k", SigningKey::from_bytes(&[9; 32])).expect("name");
    let text = key.to_private_text();
    assert_eq!(
        LedgerKey::parse_private_text(&text).expect("parses").public_key(),
        key.public_key()
    );
    assert!(LedgerKey::parse_private_text(&text.replacen("PRIVATE", "PUBLIC", 1)).is_err());
    assert!(LedgerKey::parse_private_text(&text.replacen("+k+", "+j+", 1)).is_err());
    assert!(LedgerKey::parse_private_text(&format!("{text}\n\n")).is_err());
}

#[test]
fn keys_whose_base64_holds_a_plus_parse() {
    let mut seen = 0;
    for seed in 0..=255u8 {
        let key = LedgerKey::new("k", SigningKey::from_bytes(&[seed; 32])).expect("name");
        let vkey = key.public_key().to_vkey();
        let private = key.to_private_text();
        if vkey.matches('+').count() > 2 || private.matches('+').count() > 4 {
            seen += 1;
            assert_eq!(PublicKey::parse_vkey(&vkey).expect("vkey"), key.public_key());
            assert_eq!(
                LedgerKey::parse_private_text(&private).expect("private").public_key(),
                key.public_key()
            );
        }
    }
    assert!(seen > 0, "no seed gave a '+' in base64");
}
