//! Adding, pausing and removing endpoints through the handle.

use crate::support::*;
use tally_outbox::{Error, NewEndpoint, Origin, Start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_are_added_paused_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let receiver = Receiver::start().await;
    let outbox = start(
        dir.path(),
        &engine,
        fast(5),
        vec![endpoint("from-file", &receiver.url, &["order.*"], Start::Head)],
    );
    let new = NewEndpoint {
        name: "erp".to_owned(),
        url: receiver.url.clone(),
        types: vec!["sku.*".to_owned()],
        channels: vec![],
        skus: vec![],
        secret: Some(SECRET.to_owned()),
        start: Start::Head,
        ca_file: None,
    };
    let (status, secret) = outbox.add_endpoint(new.clone()).unwrap();
    assert_eq!(secret, SECRET);
    assert_eq!(
        (status.origin, status.paused, status.cursor),
        (Origin::Api, false, engine.log().head().seq)
    );
    assert!(matches!(outbox.add_endpoint(new.clone()), Err(Error::Exists(_))));
    let bad =
        NewEndpoint { name: "bad".to_owned(), types: vec!["nope.*".to_owned()], ..new.clone() };
    let err = outbox.add_endpoint(bad).unwrap_err();
    assert!(err.to_string().contains("matches no event type"), "{err}");
    let generated = NewEndpoint { name: "gen".to_owned(), secret: None, ..new.clone() };
    let (_, secret) = outbox.add_endpoint(generated).unwrap();
    assert!(tally_outbox::Secret::parse(&secret).is_ok());

    seed(&engine, 1).await;
    receiver
        .wait_until("the sku definition, twice", |r| {
            r.iter().filter(|r| r.event_type() == "sku.defined").count() == 2
        })
        .await;

    assert!(matches!(outbox.remove_endpoint("from-file").await, Err(Error::FromConfig(_))));
    assert!(matches!(outbox.remove_endpoint("nope").await, Err(Error::NotFound(_))));
    outbox.remove_endpoint("gen").await.unwrap();
    let paused = outbox.set_paused("erp", true).unwrap();
    assert!(paused.paused);
    let names: Vec<String> = outbox.endpoints().unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["erp", "from-file"]);
    outbox.shutdown().await;
    drop(outbox);

    // The API's endpoint and its pause survive a restart.
    let again = start(dir.path(), &engine, fast(5), vec![]);
    let listed = again.endpoints().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].name.as_str(), listed[0].paused), ("erp", true));
    again.shutdown().await;
    close(&engine);
}
