//! Live reload of `webhooks.toml` (SIGHUP in `tally serve`): a good file takes effect without a
//! restart, with each endpoint's cursor kept; a bad file is refused and the endpoints in force
//! stay as they were.

use crate::support::*;
use tally_outbox::{Error, NewEndpoint, Outbox, Reloaded, Start, WebhooksConfig};

const DELIVERY: &str = "[delivery]\nmax_attempts = 5\nbackoff_initial_ms = 5\nbackoff_max_ms = 40\nrequest_timeout_ms = 5000\nats_coalesce_ms = 20\n";

fn endpoint_toml(name: &str, url: &str, start: &str) -> String {
    format!(
        "\n[[endpoint]]\nname = \"{name}\"\nurl = \"{url}\"\ntypes = [\"channel.*\"]\nsecret = \"{SECRET}\"\nstart = \"{start}\"\n"
    )
}

fn write(dir: &std::path::Path, text: &str) {
    std::fs::write(dir.join("webhooks.toml"), text).unwrap();
}

fn open(dir: &std::path::Path, engine: &tally_engine::Engine) -> Outbox {
    let config = WebhooksConfig::load(dir).unwrap().expect("webhooks.toml");
    Outbox::start(
        dir,
        config,
        engine.log().clone(),
        engine.views().clone(),
        std::sync::Arc::new(tally_outbox::SystemClock),
    )
    .unwrap()
}

async fn reload(outbox: &Outbox) -> Result<Reloaded, Error> {
    let config = outbox.load_file()?;
    outbox.reload(config).await
}

async fn define_channel(engine: &tally_engine::Engine, channel: &str) -> u64 {
    submit(
        engine,
        &format!("channel-{channel}"),
        serde_json::json!({"type": "define_channel", "channel": channel, "priority": "standard", "kind": "direct", "currency": "USD"}),
    )
    .await;
    engine.log().head().seq
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn seqs(receiver: &Receiver) -> Vec<u64> {
    receiver.all().iter().map(Received::seq).collect()
}

/// A changed URL, a new endpoint, an endpoint taken out and put back, and a changed
/// `[delivery]` are put in force by a reload; every endpoint keeps its cursor, so nothing is
/// sent twice and nothing is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_file_takes_effect_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let (old, new, audit) =
        (Receiver::start().await, Receiver::start().await, Receiver::start().await);
    write(dir.path(), &format!("{DELIVERY}{}", endpoint_toml("erp", &old.url, "earliest")));
    let outbox = open(dir.path(), &engine);
    let first = define_channel(&engine, "web").await;
    old.wait_until("the first event", |r| !r.is_empty()).await;
    assert!(outbox.wait_for_cursor("erp", first, WAIT).await.unwrap());

    // erp moves to another receiver; audit is new and starts at the head.
    write(
        dir.path(),
        &format!(
            "{DELIVERY}{}{}",
            endpoint_toml("erp", &new.url, "earliest"),
            endpoint_toml("audit", &audit.url, "head")
        ),
    );
    let report = reload(&outbox).await.unwrap();
    assert_eq!(
        report,
        Reloaded {
            added: names(&["audit"]),
            changed: names(&["erp"]),
            removed: vec![],
            unchanged: vec![],
            delivery_changed: false
        }
    );
    let second = define_channel(&engine, "b2b").await;
    new.wait_until("the second event", |r| !r.is_empty()).await;
    audit.wait_until("the second event", |r| !r.is_empty()).await;
    assert_eq!(seqs(&new), [second], "erp resumed from its cursor: the first event is not resent");
    assert_eq!(seqs(&audit), [second], "audit started at the head");
    assert_eq!(seqs(&old), [first], "the old URL gets nothing more");
    assert!(outbox.wait_for_cursor("erp", second, WAIT).await.unwrap());
    let erp = outbox.endpoint("erp").unwrap();
    assert_eq!((erp.url.as_str(), erp.delivered), (new.url.as_str(), 2), "its counters are kept");
    assert!(new.all().iter().all(|r| r.verified));

    // The same file again changes nothing.
    let report = reload(&outbox).await.unwrap();
    assert_eq!(
        (report.unchanged, report.added, report.changed),
        (names(&["audit", "erp"]), vec![], vec![])
    );

    // audit taken out of the file: stopped, its cursor kept.
    assert!(outbox.wait_for_cursor("audit", second, WAIT).await.unwrap());
    write(dir.path(), &format!("{DELIVERY}{}", endpoint_toml("erp", &new.url, "earliest")));
    let report = reload(&outbox).await.unwrap();
    assert_eq!((report.removed, report.unchanged), (names(&["audit"]), names(&["erp"])));
    assert!(matches!(outbox.endpoint("audit"), Err(Error::NotFound(_))));
    let third = define_channel(&engine, "eu").await;
    new.wait_until("the third event", |r| r.len() >= 2).await;
    assert_eq!(seqs(&new), [second, third]);
    assert_eq!(seqs(&audit), [second]);

    // Put back under the same name, it resumes from its cursor: the event it missed, once.
    // A changed [delivery] is reported; it applies at the next start.
    write(
        dir.path(),
        &format!(
            "{}{}{}",
            DELIVERY.replace("max_attempts = 5", "max_attempts = 6"),
            endpoint_toml("erp", &new.url, "earliest"),
            endpoint_toml("audit", &audit.url, "head")
        ),
    );
    let report = reload(&outbox).await.unwrap();
    assert_eq!((report.added, report.delivery_changed), (names(&["audit"]), true));
    audit.wait_until("the missed event", |r| r.len() >= 2).await;
    assert!(outbox.wait_for_cursor("audit", third, WAIT).await.unwrap());
    assert_eq!(seqs(&audit), [second, third]);
    assert_eq!(seqs(&new), [second, third]);
    outbox.shutdown().await;
    close(&engine);
}

/// A file that does not parse, names an unknown type, names a CA file that is missing, or
/// takes the name of an endpoint of the API is refused with the reason; the endpoints in
/// force stay and keep delivering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_is_refused_and_the_endpoints_in_force_stay() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let (erp, other) = (Receiver::start().await, Receiver::start().await);
    let good = format!("{DELIVERY}{}", endpoint_toml("erp", &erp.url, "earliest"));
    write(dir.path(), &good);
    let outbox = open(dir.path(), &engine);
    let shop = NewEndpoint {
        name: "shop".to_owned(),
        url: other.url.clone(),
        ca_file: None,
        types: vec!["channel.*".to_owned()],
        channels: vec![],
        skus: vec![],
        secret: Some(SECRET.to_owned()),
        start: Start::Earliest,
    };
    outbox.add_endpoint(shop).unwrap();
    let before = outbox.endpoints().unwrap();
    let cases = [
        (good.replace("[[endpoint]]", "[[endpoint]"), "webhooks.toml: TOML parse error"),
        (good.replace("channel.*", "channel.definedd"), "unknown event type 'channel.definedd'"),
        (
            good.replace("http://", "https://") + "ca_file = \"missing-ca.pem\"\n",
            "endpoint 'erp': ca_file 'missing-ca.pem': cannot read",
        ),
        (
            format!("{good}{}", endpoint_toml("shop", &erp.url, "head")),
            "endpoint 'shop' is defined through the API",
        ),
    ];
    for (i, (text, reason)) in cases.iter().enumerate() {
        write(dir.path(), text);
        let error = reload(&outbox).await.expect_err(reason).to_string();
        assert!(error.contains(reason), "case {i}: {error}");
        let after = outbox.endpoints().unwrap();
        let kept = |v: &[tally_outbox::EndpointStatus]| {
            v.iter().map(|e| (e.name.clone(), e.url.clone(), e.origin)).collect::<Vec<_>>()
        };
        assert_eq!(kept(&after), kept(&before), "case {i}: the endpoints in force stay");
        let seq = define_channel(&engine, &format!("c{i}")).await;
        erp.wait_until("the event", |r| r.iter().any(|r| r.seq() == seq)).await;
        assert!(outbox.wait_for_cursor("shop", seq, WAIT).await.unwrap());
    }
    assert_eq!(seqs(&erp), [1, 2, 3, 4], "erp kept delivering, each event once");
    outbox.shutdown().await;
    close(&engine);
}
