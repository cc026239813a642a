//! GraphiQL is served by the binary: the page refers to no other origin, and every asset it
//! loads is served (without a token) with its type, a long cache and the vendored bytes.

use crate::support::TestServer;
use sha2::{Digest, Sha256};
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn vendored_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/graphiql")
}

/// The values of every `src="…"` and `href="…"` attribute in `html`.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            let value = &rest[start + attribute.len()..];
            let end = value.find('"').expect("an unterminated attribute");
            found.push(value[..end].to_owned());
            rest = &value[end..];
        }
    }
    found
}

async fn page(server: &TestServer) -> (reqwest::header::HeaderMap, String) {
    let response = server.client.get(format!("{}/graphql", server.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

#[tokio::test]
async fn graphiql_page_refers_to_no_other_origin_and_sets_a_strict_csp() {
    let server = TestServer::start().await;
    let (headers, html) = page(&server).await;
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    // No CDN, no absolute URL of any origin, no protocol-relative URL.
    for scheme in ["http://", "https://", "//unpkg", "//cdn", "jsdelivr"] {
        assert!(!html.contains(scheme), "the page names {scheme}:\n{html}");
    }
    let refs = references(&html);
    assert!(refs.len() >= 6, "{refs:?}");
    for reference in &refs {
        let local = reference.starts_with('/') && !reference.starts_with("//");
        assert!(local || reference.starts_with("data:"), "not same-origin: {reference}");
    }
    // No inline script: every <script> has a src.
    assert_eq!(html.matches("<script").count(), html.matches("<script src=\"/").count());
    assert!(!html.contains("<style"), "inline style");
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self';",
        "style-src 'self';",
        "connect-src 'self' ws://127.0.0.1:",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(html.contains("data-endpoint=\"/graphql\""));
    assert!(html.contains("data-subscription-endpoint=\"/graphql/ws\""));
    server.stop().await;
}

#[tokio::test]
async fn graphiql_assets_are_public_typed_cached_and_the_vendored_bytes() {
    let server = TestServer::start().await;
    let (_, html) = page(&server).await;
    let mut served = Vec::new();
    for reference in references(&html).into_iter().filter(|r| r.starts_with("/graphiql/")) {
        // No Authorization header: the assets are public.
        let response = server.client.get(format!("{}{reference}", server.base)).send().await;
        let response = response.unwrap();
        assert_eq!(response.status(), 200, "{reference}");
        let name = reference.trim_start_matches("/graphiql/");
        let (name, version) = name.split_once("?v=").expect("a versioned reference");
        assert_eq!(version.len(), 16, "{reference}");
        let expected_type = if name.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if name.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            panic!("an asset of unexpected kind: {reference}")
        };
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], expected_type, "{reference}");
        assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        // No Accept-Encoding (reqwest is built without compression): identity.
        assert!(headers.get("content-encoding").is_none(), "{reference}: {headers:?}");
        assert_eq!(headers["vary"], "accept-encoding", "{reference}");
        let bytes = response.bytes().await.unwrap();
        let vendored = std::fs::read(vendored_dir().join(name)).unwrap();
        assert!(bytes[..] == vendored[..], "{name}: the served bytes are not the vendored file");
        served.push(name.to_owned());
    }
    served.sort();
    assert_eq!(
        served,
        [
            "graphiql-init.js",
            "graphiql-page.css",
            "graphiql.min.css",
            "graphiql.min.js",
            "react-dom.production.min.js",
            "react.production.min.js",
        ]
    );
    // Without the version too; an unknown file is 404.
    let plain = server.client.get(format!("{}/graphiql/graphiql.min.js", server.base)).send();
    assert_eq!(plain.await.unwrap().status(), 200);
    for missing in ["/graphiql/nope.js", "/graphiql/README.md", "/graphiql/..%2FCargo.toml"] {
        let response = server.client.get(format!("{}{missing}", server.base)).send().await;
        assert_eq!(response.unwrap().status(), 404, "{missing}");
    }
    server.stop().await;
}

#[tokio::test]
async fn graphiql_assets_are_gzipped_when_the_request_allows_it() {
    let server = TestServer::start().await;
    let get = |name: &str, accept: Option<&'static str>| {
        let mut request = server.client.get(format!("{}/graphiql/{name}", server.base));
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        request.send()
    };
    let mut sizes = Vec::new();
    for asset in tally_api::graphiql::ASSETS {
        let vendored = std::fs::read(vendored_dir().join(asset.name)).unwrap();
        // What a browser sends: gzip, decompressing to exactly the embedded (vendored) bytes.
        let response = get(asset.name, Some("gzip, deflate, br, zstd")).await.unwrap();
        assert_eq!(response.status(), 200, "{}", asset.name);
        let headers = response.headers().clone();
        assert_eq!(headers["content-encoding"], "gzip", "{}", asset.name);
        assert_eq!(headers["vary"], "accept-encoding", "{}", asset.name);
        assert_eq!(headers["content-type"], asset.content_type, "{}", asset.name);
        assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
        let compressed = response.bytes().await.unwrap();
        let mut decompressed = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut decompressed).unwrap();
        assert!(decompressed == asset.bytes, "{}: not the embedded bytes", asset.name);
        assert!(decompressed == vendored, "{}: not the vendored file", asset.name);
        sizes.push(format!("{}: {} -> {} bytes", asset.name, asset.bytes.len(), compressed.len()));
        // Twice: the second answer comes from the cache, byte for byte the same.
        let again = get(asset.name, Some("gzip")).await.unwrap().bytes().await.unwrap();
        assert!(again == compressed, "{}", asset.name);
        // Refused or not offered: identity.
        for accept in [None, Some("gzip;q=0"), Some("br, identity")] {
            let response = get(asset.name, accept).await.unwrap();
            assert!(response.headers().get("content-encoding").is_none(), "{accept:?}");
            assert_eq!(response.headers()["vary"], "accept-encoding");
            let body = response.bytes().await.unwrap();
            assert!(body[..] == vendored[..], "{}, {accept:?}: not identity", asset.name);
        }
    }
    let _ = writeln!(std::io::stderr(), "GraphiQL assets, gzip:\n  {}", sizes.join("\n  "));
    server.stop().await;
}

/// assets/graphiql/README.md names each vendored file's sha256: they match the files.
#[test]
fn vendored_graphiql_files_match_their_readme_checksums() {
    let dir = vendored_dir();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let mut checked = 0;
    for name in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        let digest = Sha256::digest(std::fs::read(dir.join(name)).unwrap());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let row = readme
            .lines()
            .find(|line| line.contains(&format!("`{name}`")))
            .unwrap_or_else(|| panic!("README.md has no row for {name}"));
        assert!(row.contains(&hex), "{name}: sha256 {hex} is not in its README row: {row}");
        checked += 1;
    }
    assert_eq!(checked, 4);
    for license in ["LICENSE-graphiql", "LICENSE-react", "LICENSE-react-dom"] {
        let text = std::fs::read_to_string(dir.join(license)).unwrap();
        assert!(text.starts_with("MIT License"), "{license}");
    }
}

/// GraphiQL renders in a real browser with nothing but this server reachable, and the CSP
/// blocks nothing it needs. Needs Debian's `chromium` (see [`chromium_or_skip`]).
#[tokio::test]
async fn graphiql_renders_in_headless_chromium_offline() {
    let Some(chromium) = chromium_or_skip("graphiql_renders_in_headless_chromium_offline") else {
        return;
    };
    let server = TestServer::start().await;
    let url = format!("{}/graphql", server.base);
    let (dom, log) =
        tokio::task::spawn_blocking(move || run_chromium(&chromium, &url)).await.unwrap();
    assert!(
        dom.contains("class=\"graphiql-container\""),
        "GraphiQL did not render; DOM:\n{dom}\nbrowser log:\n{log}"
    );
    assert!(!dom.contains("Loading GraphiQL"), "still loading:\n{dom}");
    // Everything GraphiQL needs is allowed by the page's policy (a violation is logged as
    // "… violates the following Content Security Policy directive …").
    assert!(!log.contains("Content Security Policy"), "the CSP blocked something:\n{log}");
    assert!(!log.contains("ERR_NAME_NOT_RESOLVED"), "a request left the server:\n{log}");
    server.stop().await;
}

/// The page's subscription path works in a browser: the vendored bundle's
/// `GraphiQL.createFetcher` with a `subscriptionUrl` (what graphiql-init.js uses) subscribes
/// over graphql-ws at `/graphql/ws`, the Headers tab's `Authorization` travelling in
/// `connection_init`, and receives an event, under the page's own CSP. The probe page is the
/// test's: it loads the served assets and replaces only graphiql-init.js.
#[tokio::test]
async fn graphiql_bundle_subscribes_over_graphql_ws_in_headless_chromium() {
    let Some(chromium) =
        chromium_or_skip("graphiql_bundle_subscribes_over_graphql_ws_in_headless_chromium")
    else {
        return;
    };
    let server = TestServer::start().await;
    server.master_data().await;
    // The same router and state, on a second listener, plus the probe's two routes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let probe_host = listener.local_addr().unwrap().to_string();
    let (headers, _) = page(&server).await;
    let server_host = server.base.trim_start_matches("http://");
    let csp =
        headers["content-security-policy"].to_str().unwrap().replace(server_host, &probe_host);
    // The browser's virtual time stands still while a fetch is pending, and WebSocket traffic
    // is not a fetch: the probe holds `/probe-hold` open until it has posted `/probe-result`,
    // so the DOM is dumped once the subscription has answered (or after 30 s).
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let done_tx = std::sync::Arc::new(done_tx);
    let reset = done_tx.clone();
    let app = tally_api::router(server.state.clone())
        .route(
            "/probe",
            axum::routing::get(move || {
                let csp = csp.clone();
                async move {
                    let html = "text/html; charset=utf-8".to_owned();
                    ([("content-type", html), ("content-security-policy", csp)], PROBE_HTML)
                }
            }),
        )
        .route(
            "/probe.js",
            axum::routing::get(|| async { ([("content-type", "text/javascript")], PROBE_JS) }),
        )
        .route(
            "/probe-hold",
            axum::routing::get(move || {
                let mut done = done_rx.clone();
                async move {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(30), done.wait_for(|d| *d)).await;
                    "released"
                }
            }),
        )
        .route(
            "/probe-result",
            axum::routing::post(move || {
                let done = done_tx.clone();
                async move {
                    done.send_replace(true);
                    "ok"
                }
            }),
        );
    let probe = tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{probe_host}/probe");
    // On a loaded machine the page can run out of the browser's time budget before it has
    // any answer (its title is still "probe"); that run proves nothing either way, so it is
    // tried again, at most three times. Any answer (an event, an error) is judged at once.
    let mut runs = 0;
    let (title, log) = loop {
        runs += 1;
        reset.send_replace(false);
        let (chromium, url) = (chromium.clone(), url.clone());
        let (dom, log) =
            tokio::task::spawn_blocking(move || run_chromium(&chromium, &url)).await.unwrap();
        let title = dom
            .split_once("<title>")
            .and_then(|(_, rest)| rest.split_once("</title>"))
            .map(|(title, _)| title.to_owned())
            .unwrap_or_default();
        if title != "probe" || runs == 3 {
            break (title, log);
        }
        eprintln!("graphiql browser test: run {runs} ended before the page had an answer; again");
    };
    probe.abort();
    assert!(
        title.starts_with("SUBSCRIBED ") && title.contains("\"seq\":\"1\""),
        "no event over the subscription: title {title:?}\nbrowser log:\n{log}"
    );
    assert!(!log.contains("Content Security Policy"), "the CSP blocked something:\n{log}");
    server.stop().await;
}

const PROBE_HTML: &str = r#"<!DOCTYPE html>
<html><head><title>probe</title></head><body>
<script src="/graphiql/react.production.min.js"></script>
<script src="/graphiql/react-dom.production.min.js"></script>
<script src="/graphiql/graphiql.min.js"></script>
<script src="/probe.js"></script>
</body></html>"#;

/// What GraphiQL does when a subscription is run with `{"Authorization": …}` in its Headers
/// tab: the fetcher, given the parsed document, sends a subscription over graphql-ws.
const PROBE_JS: &str = r#"
(async function () {
  var hold = fetch('/probe-hold');
  try {
    var fetcher = GraphiQL.createFetcher({
      url: new URL('/graphql', location.href).toString(),
      subscriptionUrl: new URL('/graphql/ws', location.href).toString().replace(/^http/, 'ws'),
    });
    var documentAST = { kind: 'Document', definitions: [{ kind: 'OperationDefinition',
      operation: 'subscription', selectionSet: { kind: 'SelectionSet', selections: [] } }] };
    var result = await fetcher(
      { query: 'subscription { events(afterSeq: 0) { seq type } }', operationName: null },
      { documentAST: documentAST, headers: { Authorization: 'Bearer token-operator' } });
    if (!result || !result[Symbol.asyncIterator]) {
      document.title = 'NOT A STREAM ' + JSON.stringify(result);
      return;
    }
    for await (const value of result) {
      document.title = 'SUBSCRIBED ' + JSON.stringify(value);
      break;
    }
  } catch (e) {
    document.title = 'FAILED ' + e;
  } finally {
    await fetch('/probe-result', { method: 'POST' });
    await hold;
  }
})();
"#;

/// Debian's `chromium`, or `None` after a loud SKIP; with `CI=true` a missing browser fails.
fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(chromium) = find_chromium() {
        return Some(chromium);
    }
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "{test}: chromium is not installed and CI=true (apt-get install -y chromium)"
    );
    // Written to the process's stderr, past the test harness's capture: seen on every run.
    let banner = "*".repeat(70);
    let _ = writeln!(
        std::io::stderr(),
        "\n{banner}\nSKIP {test}: no `chromium` on PATH\n     \
         (apt-get install -y chromium; with CI=true this test fails instead)\n{banner}"
    );
    None
}

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Loads `url` headless, every other host unresolvable; answers (DOM, browser log).
fn run_chromium(chromium: &std::path::Path, url: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish in 90 s; log:\n{}",
                std::fs::read_to_string(err.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let dom = std::fs::read_to_string(out.path()).unwrap_or_default();
    let log = std::fs::read_to_string(err.path()).unwrap_or_default();
    (dom, log)
}
