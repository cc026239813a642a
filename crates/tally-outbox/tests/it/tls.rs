//! HTTPS delivery: a receiver with a private CA (its certificate made at test time) gets signed
//! deliveries when the endpoint's `ca_file` names that CA, and nothing when its certificate is
//! not trusted: the attempts fail with a TLS error, are retried, then dead-lettered.

use crate::support::*;
use tally_outbox::{Origin, Start, WebhooksConfig};

fn write_ca(dir: &std::path::Path, file: &str, pki: &TestPki) {
    std::fs::write(dir.join(file), &pki.ca_pem).unwrap();
}

/// An endpoint of `webhooks.toml` with `ca_file` (relative to the data directory) reaches an
/// https receiver whose certificate that CA signed; every delivery's signature verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_receiver_with_a_private_ca_gets_signed_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let pki = TestPki::generate("receiver");
    let receiver = Receiver::start_tls(&pki).await;
    assert!(receiver.url.starts_with("https://127.0.0.1:"));
    write_ca(dir.path(), "receiver-ca.pem", &pki);
    let text = format!(
        "[[endpoint]]\nname = \"erp\"\nurl = \"{}\"\ntypes = [\"channel.*\", \"sku.*\"]\nsecret = \"{SECRET}\"\nstart = \"earliest\"\nca_file = \"receiver-ca.pem\"\n",
        receiver.url
    );
    std::fs::write(dir.path().join("webhooks.toml"), text).unwrap();
    let config = WebhooksConfig::load(dir.path()).unwrap().unwrap();
    let ca = config.endpoints[0].ca_file.clone().expect("ca_file read");
    assert_eq!(ca.path, dir.path().join("receiver-ca.pem").canonicalize().unwrap());
    let outbox = tally_outbox::Outbox::start(
        dir.path(),
        WebhooksConfig { delivery: fast(5), ..config },
        engine.log().clone(),
        engine.views().clone(),
        std::sync::Arc::new(tally_outbox::SystemClock),
    )
    .unwrap();
    seed(&engine, 3).await;
    // Channels web and b2b, SKU A.
    receiver.wait_until("three deliveries", |r| r.len() >= 3).await;
    let got = receiver.all();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|r| r.verified && r.status == 204), "{got:?}");
    let types: Vec<&str> = got.iter().map(Received::event_type).collect();
    assert_eq!(types, ["channel.defined", "channel.defined", "sku.defined"]);
    let head = engine.log().head().seq;
    assert!(outbox.wait_for_cursor("erp", head, WAIT).await.unwrap());
    let status = outbox.endpoint("erp").unwrap();
    assert_eq!((status.delivered, status.failed_attempts), (3, 0));
    assert_eq!(status.ca_file.as_deref(), Some(ca.path.to_str().unwrap()));
    assert_eq!(receiver.handshake_failures(), 0);
    outbox.shutdown().await;
    close(&engine);
}

/// A receiver whose certificate is not trusted gets no request: without `ca_file` (the
/// built-in web roots do not know the test CA), or with the `ca_file` of another CA. Each
/// attempt fails with a TLS error, is retried with backoff, and the message ends in the dead
/// letters; nothing panics and the cursor moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_a_failed_attempt_with_a_tls_error() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let pki = TestPki::generate("receiver");
    let other = TestPki::generate("another");
    write_ca(dir.path(), "other-ca.pem", &other);
    let public_roots = Receiver::start_tls(&pki).await;
    let wrong_ca = Receiver::start_tls(&pki).await;
    let mut wrong = tally_outbox::EndpointText {
        name: "wrong-ca".to_owned(),
        url: wrong_ca.url.clone(),
        types: vec!["channel.*".to_owned()],
        channels: vec![],
        skus: vec![],
        secret: SECRET.to_owned(),
        start: Start::Earliest,
        ca_file: Some("other-ca.pem".to_owned()),
    };
    let wrong_spec = wrong.clone().into_spec_in(Origin::Config, Some(dir.path())).unwrap();
    let outbox = start(
        dir.path(),
        &engine,
        fast(3),
        vec![endpoint("web-roots", &public_roots.url, &["channel.*"], Start::Earliest), wrong_spec],
    );
    submit(&engine, "c1", serde_json::json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"})).await;
    for (name, receiver) in [("web-roots", &public_roots), ("wrong-ca", &wrong_ca)] {
        assert!(outbox.wait_for_cursor(name, 1, WAIT).await.unwrap(), "{name}");
        receiver.wait_for_handshake_failures(3).await;
        assert!(receiver.all().is_empty(), "{name}: no request got through");
        let status = outbox.endpoint(name).unwrap();
        assert_eq!((status.delivered, status.failed_attempts), (0, 3), "{name}");
        let dead = outbox.dead_letters(name, 10).unwrap();
        assert_eq!(dead.len(), 1, "{name}");
        assert_eq!(dead[0].attempts, 3);
        let error = &dead[0].last_error;
        assert!(error.starts_with("TLS handshake failed"), "{name}: {error}");
        assert!(error.contains("certificate"), "{name}: {error}");
    }
    // The wrong CA file is the only root for its endpoint: with the right one, it delivers.
    outbox.shutdown().await;
    drop(outbox);
    write_ca(dir.path(), "other-ca.pem", &pki);
    wrong.name = "right-ca".to_owned();
    let right = wrong.into_spec_in(Origin::Config, Some(dir.path())).unwrap();
    let outbox = start(dir.path(), &engine, fast(3), vec![right]);
    wrong_ca.wait_until("the delivery", |r| !r.is_empty()).await;
    assert!(wrong_ca.all().iter().all(|r| r.verified && r.event_type() == "channel.defined"));
    outbox.shutdown().await;
    close(&engine);
}

/// An operator's fix, live: the endpoint trusts the wrong CA, so the message is retried with a
/// TLS error (not lost); the right CA is written into the same `ca_file` and `webhooks.toml`
/// reloaded (the file's contents changed, so the endpoint restarts with its retry state); the
/// same message, with its original `webhook-id`, is then delivered, and nothing is
/// dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_ca_file_reloaded_delivers_the_message_being_retried() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let pki = TestPki::generate("receiver");
    let other = TestPki::generate("another");
    let receiver = Receiver::start_tls(&pki).await;
    write_ca(dir.path(), "erp-ca.pem", &other);
    std::fs::write(
        dir.path().join("webhooks.toml"),
        format!(
            "[delivery]\nmax_attempts = 100\nbackoff_initial_ms = 5\nbackoff_max_ms = 40\n\n[[endpoint]]\nname = \"erp\"\nurl = \"{}\"\ntypes = [\"channel.*\"]\nsecret = \"{SECRET}\"\nstart = \"earliest\"\nca_file = \"erp-ca.pem\"\n",
            receiver.url
        ),
    )
    .unwrap();
    let outbox = tally_outbox::Outbox::start(
        dir.path(),
        WebhooksConfig::load(dir.path()).unwrap().unwrap(),
        engine.log().clone(),
        engine.views().clone(),
        std::sync::Arc::new(tally_outbox::SystemClock),
    )
    .unwrap();
    submit(&engine, "c1", serde_json::json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"})).await;
    receiver.wait_for_handshake_failures(2).await;
    assert!(outbox.wait_for("erp", WAIT, |s| s.failed_attempts >= 2).await.unwrap());
    let status = outbox.endpoint("erp").unwrap();
    assert!(status.last_error.as_deref().is_some_and(|e| e.starts_with("TLS handshake failed")));
    let id = tally_outbox::message::event_message_id("erp", 1);
    assert_eq!(status.retrying.as_ref().map(|r| r.id.as_str()), Some(id.as_str()), "being retried");
    assert_eq!(status.delivered, 0);

    write_ca(dir.path(), "erp-ca.pem", &pki);
    let report = outbox.reload(outbox.load_file().unwrap()).await.unwrap();
    assert_eq!(report.changed, ["erp"]);
    receiver.wait_until("the delivery", |r| !r.is_empty()).await;
    assert!(outbox.wait_for_cursor("erp", 1, WAIT).await.unwrap());
    let got = receiver.all();
    assert_eq!(got.len(), 1);
    assert!(got[0].verified);
    assert_eq!(got[0].id, id, "the same webhook-id");
    let status = outbox.endpoint("erp").unwrap();
    assert_eq!((status.delivered, status.dead_letters, status.consecutive_failures), (1, 0, 0));
    assert!(status.failed_attempts >= 2, "the failed attempts stay counted");
    outbox.shutdown().await;
    close(&engine);
}
