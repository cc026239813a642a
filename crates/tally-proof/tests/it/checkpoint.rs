//! Signed checkpoints: roundtrip, strict parsing, forgeries rejected with a named reason.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use tally_proof::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use tally_proof::hash::{Digest, GENESIS, chain_hash};
use tally_proof::key::{LedgerKey, PublicKey};

pub fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn sample() -> Checkpoint {
    let mut counts = BTreeMap::new();
    counts.insert("order.received".to_owned(), 1000);
    counts.insert("stock.adjusted".to_owned(), 234);
    Checkpoint {
        origin: "tally.example/ledger".to_owned(),
        size: 1234,
        root: chain_hash(&GENESIS, b"root"),
        head_seq: 1234,
        head_hash: chain_hash(&GENESIS, b"head"),
        time: "2026-11-26T15:00:00Z".to_owned(),
        counts,
    }
}

fn signed_text() -> String {
    SignedCheckpoint::sign(&sample(), &signing_key(1), "tally-ledger").expect("signs").to_text()
}

fn reason(text: &str) -> CheckpointError {
    match SignedCheckpoint::parse(text) {
        Ok(signed) => signed.verify(&signing_key(1).verifying_key()).expect_err("must fail"),
        Err(error) => error,
    }
}

#[test]
fn sign_parse_verify_roundtrip() {
    let text = signed_text();
    let body_end = text.find("\n\n").expect("blank line");
    let lines: Vec<&str> = text[..body_end].lines().collect();
    assert_eq!(lines[0], "tally.example/ledger");
    assert_eq!(lines[1], "1234");
    assert_eq!(lines[3], "head 1234");
    assert!(lines[4].starts_with("chain ") && lines[4].len() == 6 + 64);
    assert_eq!(lines[5], "time 2026-11-26T15:00:00Z");
    assert_eq!(lines[6..], ["count order.received 1000", "count stock.adjusted 234"]);
    assert!(text[body_end + 2..].starts_with("\u{2014} tally-ledger "));
    assert!(text.ends_with('\n'));

    let parsed = SignedCheckpoint::parse(&text).expect("parses");
    assert_eq!(parsed.to_text(), text);
    assert_eq!(parsed.verify(&signing_key(1).verifying_key()), Ok(sample()));
    let public = PublicKey::new("tally-ledger", signing_key(1).verifying_key()).expect("name");
    assert_eq!(parsed.verify_with(&public), Ok(sample()));
}

#[test]
fn empty_counts_and_fractional_time_roundtrip() {
    let mut checkpoint = sample();
    checkpoint.counts.clear();
    checkpoint.time = "2028-02-29T23:59:60.123456789Z".to_owned();
    checkpoint.size = 0;
    checkpoint.head_seq = 0;
    let text = SignedCheckpoint::sign(&checkpoint, &signing_key(1), "k").expect("signs").to_text();
    let parsed = SignedCheckpoint::parse(&text).expect("parses");
    assert_eq!(parsed.verify(&signing_key(1).verifying_key()), Ok(checkpoint));
}

#[test]
fn wrong_key_is_rejected_naming_the_signer() {
    let parsed = SignedCheckpoint::parse(&signed_text()).expect("parses");
    let error = parsed.verify(&signing_key(2).verifying_key()).expect_err("wrong key");
    assert!(matches!(error, CheckpointError::UnknownKey { .. }), "{error}");
    assert!(error.to_string().contains("tally-ledger+"), "{error}");

    let other = PublicKey::new("tally-ledger", signing_key(2).verifying_key()).expect("name");
    let error = parsed.verify_with(&other).expect_err("wrong key");
    assert!(matches!(error, CheckpointError::WrongKeyId { .. }), "{error}");
}

#[test]
fn edited_size_root_count_or_time_breaks_the_signature() {
    let text = signed_text();
    let root_b64 = text.lines().nth(2).expect("root line").to_owned();
    let other_root = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(Digest::from_bytes([5; 32]).as_bytes())
    };
    for (what, from, to) in [
        ("size", "\n1234\n", "\n1235\n"),
        ("root", root_b64.as_str(), other_root.as_str()),
        ("count", "count order.received 1000", "count order.received 999"),
        ("time", "time 2026-11-26T15:00:00Z", "time 2026-11-26T15:00:01Z"),
        ("head", "head 1234", "head 1233"),
    ] {
        let forged = text.replacen(from, to, 1);
        assert_ne!(forged, text, "{what}");
        let error = reason(&forged);
        assert!(matches!(error, CheckpointError::BadSignature { .. }), "{what}: {error}");
        assert!(error.to_string().contains("does not verify"), "{what}: {error}");
    }
}

#[test]
fn truncated_or_damaged_signature_is_rejected() {
    let text = signed_text();
    let (body, signature_line) = text.split_once("\n\n").expect("blank line");
    let encoded = signature_line.trim_end().rsplit(' ').next().expect("base64");
    // Drop 8 of the 68 bytes, re-encoding so that the base64 itself stays valid.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let raw = b64.decode(encoded).expect("base64");
    let truncated = format!("{body}\n\n\u{2014} tally-ledger {}\n", b64.encode(&raw[..60]));
    let error = reason(&truncated);
    assert_eq!(
        error,
        CheckpointError::SignatureLength {
            key: format!("tally-ledger+{}", hex::encode(&raw[..4])),
            found: 56
        }
    );
    // Cutting the text mid-base64 is malformed.
    let cut = format!("{}\n", &text[..text.len() - 10]);
    assert!(matches!(reason(&cut), CheckpointError::Malformed { .. }), "{}", reason(&cut));
    // A missing signature section.
    assert_eq!(reason(&format!("{body}\n\n")), CheckpointError::NoSignatures);
}

#[test]
fn strict_parsing_rejects_malformed_text() {
    let text = signed_text();
    let cases: Vec<(&str, String)> = vec![
        ("trailing garbage", format!("{text}extra")),
        ("trailing line", format!("{text}extra\n")),
        ("missing final newline", text.trim_end().to_owned()),
        ("crlf", text.replace('\n', "\r\n")),
        ("leading zero size", text.replacen("\n1234\n", "\n01234\n", 1)),
        ("negative size", text.replacen("\n1234\n", "\n-1\n", 1)),
        ("unsorted counts", text.replacen("order.received", "zzz", 1)),
        ("unknown extension", text.replacen("head 1234", "heads 1234", 1)),
        ("upper-case chain", {
            let chain = text.lines().nth(4).expect("chain").to_owned();
            text.replacen(&chain, &chain.to_uppercase().replacen("CHAIN", "chain", 1), 1)
        }),
        ("bad time", text.replacen("2026-11-26T15:00:00Z", "2026-02-30T15:00:00Z", 1)),
        ("local time", text.replacen("15:00:00Z", "15:00:00+01:00", 1)),
        ("no blank line", text.replacen("\n\n", "\n", 1)),
        ("bad signature prefix", text.replacen("\u{2014} ", "- ", 1)),
        ("space in origin", text.replacen("tally.example/ledger", "tally example", 1)),
        (
            "count without number",
            text.replacen("count stock.adjusted 234", "count stock.adjusted", 1),
        ),
        ("short root", text.replacen(text.lines().nth(2).expect("root"), "AAAA", 1)),
    ];
    for (what, forged) in cases {
        let error = reason(&forged);
        assert!(
            matches!(error, CheckpointError::Malformed { .. } | CheckpointError::NoSignatures),
            "{what}: {error}"
        );
    }
}

#[test]
fn invalid_fields_cannot_be_signed() {
    let key = signing_key(1);
    let mut bad_time = sample();
    bad_time.time = "yesterday".to_owned();
    assert!(matches!(
        SignedCheckpoint::sign(&bad_time, &key, "k"),
        Err(CheckpointError::Invalid { field: "time", .. })
    ));
    let mut bad_origin = sample();
    bad_origin.origin = "two\nlines".to_owned();
    assert!(matches!(
        SignedCheckpoint::sign(&bad_origin, &key, "k"),
        Err(CheckpointError::Invalid { field: "origin", .. })
    ));
    let mut bad_type = sample();
    bad_type.counts.insert("has space".to_owned(), 1);
    assert!(SignedCheckpoint::sign(&bad_type, &key, "k").is_err());
    assert!(SignedCheckpoint::sign(&sample(), &key, "a+b").is_err());
}

#[test]
fn other_signers_are_ignored_and_ours_is_found() {
    // A witness cosignature line from another key does not disturb verification.
    let ours = SignedCheckpoint::sign(&sample(), &signing_key(1), "tally-ledger").expect("signs");
    let theirs = SignedCheckpoint::sign(&sample(), &signing_key(3), "witness").expect("signs");
    let theirs_line = theirs.to_text().split_once("\n\n").expect("blank").1.to_owned();
    let both = format!("{}{theirs_line}", ours.to_text());
    let parsed = SignedCheckpoint::parse(&both).expect("parses");
    assert_eq!(parsed.signatures().len(), 2);
    assert_eq!(parsed.verify(&signing_key(1).verifying_key()), Ok(sample()));
    assert_eq!(parsed.verify(&signing_key(3).verifying_key()), Ok(sample()));
}

#[test]
fn ledger_key_signs_checkpoints_verifiable_from_its_vkey() {
    let key = LedgerKey::generate("tally-ledger").expect("generates");
    let signed = SignedCheckpoint::sign(&sample(), key.signing_key(), key.name()).expect("signs");
    let vkey: PublicKey = key.public_key().to_vkey().parse().expect("vkey parses");
    let parsed = SignedCheckpoint::parse(&signed.to_text()).expect("parses");
    assert_eq!(parsed.verify_with(&vkey), Ok(sample()));
}
