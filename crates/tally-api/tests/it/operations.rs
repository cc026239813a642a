//! `startOperation` / `operation`: verify (also against a saved checkpoint), bundle export
//! with its download route, replay check; typed refusals.

use crate::support::{TestServer, first_code, token, u64_of};
use serde_json::{Value, json};
use tally_api::Role;
use tally_log::tally_proof::bundle::UnsignedTail;
use tally_log::tally_proof::bundle::dir::verify_dir;

const FIELDS: &str = "id kind running doneEvents totalEvents ok report error seq \
                      bundle { eventCount checkpointCount headHash files { name bytes path } }";

/// Starts an operation as `role` and polls it to its end.
async fn run(server: &TestServer, kind: &str, args: Value) -> Value {
    let query = format!(
        "mutation($kind: OperationKind!, $against: String, $view: String) {{ \
         startOperation(kind: $kind, against: $against, view: $view) {{ {FIELDS} }} }}"
    );
    let mut vars = json!({ "kind": kind });
    vars.as_object_mut().unwrap().extend(args.as_object().unwrap().clone());
    let started = server.gql_as(Some(&token(Role::Auditor)), &query, vars).await;
    assert!(started.get("errors").is_none(), "{started:#}");
    let mut op = started["data"]["startOperation"].clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while op["running"] == json!(true) {
        assert!(std::time::Instant::now() < deadline, "operation did not end: {op:#}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let answer = server
            .gql_as(
                Some(&token(Role::Auditor)),
                &format!("query($id: String!) {{ operation(id: $id) {{ {FIELDS} }} }}"),
                json!({ "id": op["id"] }),
            )
            .await;
        op = answer["data"]["operation"].clone();
    }
    op
}

async fn populated() -> TestServer {
    let server = TestServer::start_with_views().await;
    server.master_data().await;
    for n in 0..5 {
        server
            .submit(
                &format!("rcv-{n}"),
                json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 3}),
            )
            .await;
    }
    server
}

#[tokio::test]
async fn verify_runs_on_the_served_store_and_checks_a_saved_checkpoint() {
    let server = populated().await;
    let saved = server.gql("mutation { cutCheckpoint { text size } }", json!({})).await;
    let op = run(&server, "VERIFY", json!({})).await;
    assert_eq!(op["ok"], json!(true), "{op:#}");
    assert_eq!(op["kind"], "VERIFY");
    assert_eq!(u64_of(&op["seq"]), server.head());
    assert_eq!(u64_of(&op["doneEvents"]), server.head());
    let report = op["report"].as_array().unwrap();
    assert!(report[0].as_str().unwrap().starts_with("ok: "), "{op:#}");
    assert!(report.last().unwrap().as_str().unwrap().starts_with("views: "), "{op:#}");

    let text = saved["cutCheckpoint"]["text"].clone();
    let op = run(&server, "VERIFY", json!({ "against": text })).await;
    assert_eq!(op["ok"], json!(true), "{op:#}");
    let size = u64_of(&saved["cutCheckpoint"]["size"]);
    let line = format!("the log contains what checkpoint of size {size} attests");
    assert!(op["report"].as_array().unwrap().iter().any(|l| l == &json!(line)), "{op:#}");

    // A checkpoint another key signed is a finding, not an error.
    let other = tally_log::tally_proof::key::LedgerKey::generate("someone-else").unwrap();
    use tally_log::tally_proof::checkpoint::SignedCheckpoint;
    let genuine = SignedCheckpoint::parse(text.as_str().unwrap()).unwrap();
    let forged =
        SignedCheckpoint::sign(genuine.unverified(), other.signing_key(), "tally-test").unwrap();
    let op = run(&server, "VERIFY", json!({ "against": forged.to_text() })).await;
    assert_eq!(op["ok"], json!(false), "{op:#}");
    assert!(op["report"][0].as_str().unwrap().starts_with("FAILED: the checkpoint is not signed"));

    // Text that is no checkpoint, or an argument of another kind: INVALID_INPUT.
    let start = "mutation($a: String, $v: String, $k: OperationKind!) { startOperation(kind: $k, against: $a, view: $v) { id } }";
    let auditor = token(Role::Auditor);
    for vars in [
        json!({ "k": "VERIFY", "a": "not a checkpoint" }),
        json!({ "k": "EXPORT_BUNDLE", "a": text }),
        json!({ "k": "VERIFY", "v": "inventory" }),
        json!({ "k": "REPLAY_CHECK", "v": "no-such-view" }),
    ] {
        let answer = server.gql_as(Some(&auditor), start, vars.clone()).await;
        assert_eq!(first_code(&answer), "INVALID_INPUT", "{vars}: {answer:#}");
    }
    let answer =
        server.gql_as(Some(&auditor), "{ operation(id: \"nope\") { id } }", json!({})).await;
    assert_eq!(first_code(&answer), "NOT_FOUND");
    server.stop().await;
}

#[tokio::test]
async fn an_exported_bundle_downloads_for_audit_roles_and_verifies_offline() {
    let server = populated().await;
    let op = run(&server, "EXPORT_BUNDLE", json!({})).await;
    assert_eq!(op["ok"], json!(true), "{op:#}");
    let bundle = &op["bundle"];
    assert_eq!(u64_of(&bundle["eventCount"]), server.head());
    let files = bundle["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["events.ndjson", "checkpoints.txt", "key.pub"]);

    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let url = format!("{}{}", server.base, file["path"].as_str().unwrap());
        let response =
            server.client.get(&url).bearer_auth(token(Role::Auditor)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let bytes = response.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, u64_of(&file["bytes"]));
        std::fs::write(dir.path().join(file["name"].as_str().unwrap()), &bytes).unwrap();
    }
    let key = server.state.log().config().checkpoints.as_ref().unwrap().key.public_key();
    let report = verify_dir(dir.path(), Some(&key), None, UnsignedTail::Refuse).unwrap();
    assert_eq!(report.event_count, server.head());

    // Who may download: the roles of `operation`; unknown ids and files are 404.
    let path = format!("{}{}", server.base, files[0]["path"].as_str().unwrap());
    let status = |token: Option<String>, url: String| {
        let request = server.client.get(url);
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(None, path.clone()).await, 401);
    assert_eq!(status(Some("wrong".into()), path.clone()).await, 401);
    assert_eq!(status(Some(token(Role::Viewer)), path.clone()).await, 403);
    assert_eq!(status(Some(token(Role::Operator)), path.clone()).await, 403);
    assert_eq!(status(Some(token(Role::Admin)), path.clone()).await, 200);
    let id = op["id"].as_str().unwrap();
    let admin = Some(token(Role::Admin));
    let other = format!("{}/operations/nope/bundle/events.ndjson", server.base);
    assert_eq!(status(admin.clone(), other).await, 404);
    let other = format!("{}/operations/{id}/bundle/ledger.key", server.base);
    assert_eq!(status(admin.clone(), other).await, 404);

    // A newer export replaces the bundle: the older one's files are gone.
    let newer = run(&server, "EXPORT_BUNDLE", json!({})).await;
    assert_eq!(newer["ok"], json!(true), "{newer:#}");
    assert_eq!(status(admin, path).await, 404);
    server.stop().await;
}

#[tokio::test]
async fn replay_check_compares_the_served_views_with_a_rebuild() {
    let server = populated().await;
    let op = run(&server, "REPLAY_CHECK", json!({})).await;
    assert_eq!(op["ok"], json!(true), "{op:#}");
    let line = op["report"][0].as_str().unwrap();
    assert!(line.starts_with("ok: "), "{line}");
    assert!(line.contains("views equal a rebuild from the log"), "{line}");
    assert!(line.contains("and their history as of it"), "{line}");
    let one = run(&server, "REPLAY_CHECK", json!({ "view": "inventory" })).await;
    assert_eq!(one["ok"], json!(true), "{one:#}");
    assert!(one["report"][0].as_str().unwrap().starts_with("ok: 1 views equal"), "{one:#}");
    server.stop().await;
}

#[tokio::test]
async fn exports_download_as_files_for_finance_roles_with_checked_arguments() {
    let server = populated().await;
    let get = |token: Option<String>, query: &str| {
        let request = server.client.get(format!("{}/exports/{query}", server.base));
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let seq =
                response.headers().get("tally-view-seq").map(|v| v.to_str().unwrap().to_owned());
            (status, seq, response.text().await.unwrap())
        }
    };
    let finance = Some(token(Role::Finance));
    let (status, seq, body) = get(finance.clone(), "journal?from=2026-01-01&to=2099-12-31").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(seq, Some(server.head().to_string()), "the views reached the head first");
    let mut lines = body.lines();
    assert_eq!(
        lines.next(),
        Some(
            "date,entry_id,account,account_name,debit,credit,currency,memo,reference_type,reference_id,event_seq"
        )
    );
    assert_eq!(lines.count(), 10, "five receipts, each a two-posting entry: {body}");
    let (status, _, body) =
        get(finance.clone(), "settlement?channel=web&from=2026-01-01&to=2026-12-31&format=json")
            .await;
    assert_eq!((status, body.trim()), (200, "[]"));

    assert_eq!(get(None, "journal?from=2026-01-01&to=2026-01-02").await.0, 401);
    assert_eq!(
        get(Some(token(Role::Viewer)), "journal?from=2026-01-01&to=2026-01-02").await.0,
        403
    );
    assert_eq!(
        get(Some(token(Role::Operator)), "journal?from=2026-01-01&to=2026-01-02").await.0,
        403
    );
    let long_channel =
        format!("settlement?channel={}&from=2026-01-01&to=2026-01-02", "c".repeat(129));
    for (query, reason) in [
        ("journal?from=2026-01-02&to=2026-01-01", "before"),
        ("journal?from=2026-02-30&to=2026-03-01", "from '2026-02-30'"),
        ("journal?from=2026-01-01&to=2026-01-02&format=xml", "csv or json"),
        ("journal?from=2026-01-01&to=2026-01-02&channel=web", "no channel"),
        ("settlement?from=2026-01-01&to=2026-01-02", "channel=<CHANNEL> or processor=true"),
        (
            "settlement?channel=web&processor=true&from=2026-01-01&to=2026-01-02",
            "channel=<CHANNEL> or processor=true",
        ),
        (&long_channel, "channel"),
        ("journal?from=2026-01-01", "query string"),
        ("journal?from=2026-01-01&to=2026-01-02&nope=1", "query string"),
    ] {
        let (status, _, body) = get(finance.clone(), query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(reason), "{query}: {body}");
    }
    assert_eq!(get(finance, "ledger?from=2026-01-01&to=2026-01-02").await.0, 404);
    server.stop().await;
}
