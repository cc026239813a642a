//! `tally serve` reloads `webhooks.toml` on SIGHUP: a good file takes effect without a
//! restart (the new endpoint delivers), a bad one is reported and the endpoints in force stay.

use crate::cli::{code, tally};
use crate::served::{Served, graphql};
use std::io::{BufRead as _, Read as _, Write as _};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "tly_ops";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A plain HTTP receiver on 127.0.0.1:0 answering 204 to every request; the bodies it got.
fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let got = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = std::io::BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            got.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
            let mut stream = reader.into_inner();
            let _ = stream.write_all(
                b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (url, bodies)
}

fn hangup(served: &Served) {
    let pid = served.pid().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
}

/// Waits (bounded) until `done` holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn endpoints(served: &Served) -> Vec<(String, String)> {
    let answer = graphql(
        &served.address,
        Some(TOKEN),
        "{ webhookEndpoints { name url } }",
        serde_json::json!({}),
    );
    let json = answer.json();
    json["data"]["webhookEndpoints"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", answer.body))
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e["url"].as_str().unwrap().to_owned()))
        .collect()
}

fn endpoint_toml(name: &str, url: &str, types: &str) -> String {
    format!(
        "[[endpoint]]\nname = \"{name}\"\nurl = \"{url}\"\ntypes = [{types}]\nsecret = \"{SECRET}\"\nstart = \"earliest\"\n"
    )
}

#[test]
fn sighup_reloads_webhooks_toml_and_a_bad_file_leaves_the_endpoints_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let init = tally(&data, &["init"]);
    assert_eq!(code(&init), 0);
    let commands = dir.path().join("commands.ndjson");
    std::fs::write(
        &commands,
        "{\"type\": \"define_channel\", \"channel\": \"web\", \"priority\": \"standard\", \"kind\": \"direct\", \"currency\": \"USD\"}\n",
    )
    .unwrap();
    assert_eq!(code(&tally(&data, &["import", commands.to_str().unwrap()])), 0);
    let served = Served::start(&data, &[("TALLY_API_TOKENS", "ops:admin:tly_ops")]);
    assert!(endpoints(&served).is_empty());

    // A good file: the endpoint starts and delivers the history (start = "earliest").
    let (url, bodies) = receiver();
    std::fs::write(data.join("webhooks.toml"), endpoint_toml("erp", &url, "\"channel.*\""))
        .unwrap();
    hangup(&served);
    wait_until("erp in force", || endpoints(&served) == [("erp".to_owned(), url.clone())]);
    wait_until("the delivery", || !bodies.lock().unwrap().is_empty());
    let body: serde_json::Value = serde_json::from_str(&bodies.lock().unwrap()[0]).unwrap();
    assert_eq!(body["type"], "channel.defined");
    assert_eq!(body["data"]["stream"], "channel:web", "{body}");

    // A bad file: reported, and erp stays as it was.
    std::fs::write(
        data.join("webhooks.toml"),
        endpoint_toml("erp", "http://127.0.0.1:9/elsewhere", "\"channel.definedd\""),
    )
    .unwrap();
    hangup(&served);
    let refused = "SIGHUP: webhooks.toml not reloaded, the endpoints in force stay: ";
    wait_until("the refusal", || served.output().contains(refused));
    assert_eq!(endpoints(&served), [("erp".to_owned(), url.clone())]);
    let (status, output) = served.stop();
    assert!(status.success(), "{output}");
    assert!(
        output.contains(
            "webhooks: webhooks.toml reloaded: added erp; changed none; removed none; 0 unchanged"
        ),
        "{output}"
    );
    assert!(
        output.contains(refused) && output.contains("unknown event type 'channel.definedd'"),
        "{output}"
    );
}
