//! A `tally serve` process whose stdout and stderr are kept in full, and a raw HTTP/1.1
//! client that can send what a well-behaved client would not.

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running `tally serve`.
pub struct Served {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub address: String,
    stdout: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

fn keep(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut stream = stream;
        let mut buf = [0u8; 8192];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

impl Served {
    /// Starts `tally serve` on 127.0.0.1:0 with `env` set (and `RUST_LOG` removed unless
    /// given); waits for the address on stdout.
    pub fn start(data: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_with(data, &[], env)
    }

    /// [`Served::start`] with more `serve` arguments.
    pub fn start_with(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
        command
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("TALLY_DATA")
            .env_remove("RUST_LOG")
            .env_remove("TALLY_API_TOKENS")
            .env_remove("TALLY_API_TOKENS_FILE");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr_reader = keep(child.stderr.take().unwrap(), stdout.clone());
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut address = None;
        let mut line = String::new();
        while address.is_none() {
            line.clear();
            assert!(
                lines.read_line(&mut line).unwrap() > 0,
                "serve exited: {}",
                String::from_utf8_lossy(&stdout.lock().unwrap())
            );
            stdout.lock().unwrap().extend_from_slice(line.as_bytes());
            address = line
                .strip_prefix("GraphQL:  http://")
                .map(|r| r.split('/').next().unwrap().to_owned());
        }
        let stdout_reader = keep(lines, stdout.clone());
        Self {
            child,
            address: address.unwrap(),
            stdout,
            readers: vec![stderr_reader, stdout_reader],
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the process, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Everything it wrote so far (stdout and stderr).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Stops it with SIGTERM; its exit status and everything it wrote (stdout and stderr).
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.pid().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let output = String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned();
        (status, output)
    }
}

/// An HTTP answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The `code` of the first GraphQL error, if any.
    pub fn code(&self) -> Option<String> {
        let json = self.json();
        let error = json
            .get("errors")
            .and_then(|e| e.get(0))
            .or_else(|| json.get(0)?.get("errors")?.get(0))?;
        error["extensions"]["code"].as_str().map(str::to_owned)
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) with extra `headers`; the answer, or the
/// I/O error when none came. A body the server refuses early may fail to write; the answer
/// is still read.
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Answer> {
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // The server may answer (413) and close before the whole body is written.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).or_else(|e| if raw.is_empty() { Err(e) } else { Ok(0) })?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| {
        std::io::Error::other(format!("no HTTP status in {:?}", &text[..text.len().min(200)]))
    })?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok(Answer { status, body: dechunk(&body, &text) })
}

/// The body of a `Transfer-Encoding: chunked` answer, joined; other bodies as they are.
fn dechunk(body: &str, whole: &str) -> String {
    let chunked = whole
        .split("\r\n\r\n")
        .next()
        .is_some_and(|h| h.to_ascii_lowercase().contains("transfer-encoding: chunked"));
    if !chunked {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A GraphQL POST with a bearer token (or none).
pub fn graphql(
    address: &str,
    token: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> Answer {
    let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> =
        auth.as_deref().map(|a| vec![("Authorization", a)]).unwrap_or_default();
    request(address, "POST", "/graphql", &headers, body.as_bytes()).unwrap()
}

/// A minimal graphql-transport-ws client over a raw WebSocket (RFC 6455): text frames only,
/// masked as a client must.
pub struct WebSocket {
    stream: std::net::TcpStream,
}

impl WebSocket {
    /// Opens `/graphql/ws` with the `graphql-transport-ws` subprotocol.
    pub fn connect(address: &str) -> Self {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let head = format!(
            "GET /graphql/ws HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        while !answer.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            answer.push(byte[0]);
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
        Self { stream }
    }

    /// Sends `message` as one masked text frame.
    pub fn send(&mut self, message: &serde_json::Value) {
        let payload = message.to_string().into_bytes();
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | u8::try_from(n).unwrap()),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).unwrap();
    }

    /// The next text message as JSON; `None` when the server closed the connection.
    pub fn receive(&mut self) -> Option<serde_json::Value> {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head).ok()?;
        let opcode = head[0] & 0x0f;
        let mut len = u64::from(head[1] & 0x7f);
        if len == 126 {
            let mut ext = [0u8; 2];
            self.stream.read_exact(&mut ext).unwrap();
            len = u64::from(u16::from_be_bytes(ext));
        } else if len == 127 {
            let mut ext = [0u8; 8];
            self.stream.read_exact(&mut ext).unwrap();
            len = u64::from_be_bytes(ext);
        }
        let mut payload = vec![0u8; usize::try_from(len).unwrap()];
        self.stream.read_exact(&mut payload).unwrap();
        match opcode {
            0x1 => Some(serde_json::from_slice(&payload).unwrap()),
            0x8 => None,
            _ => self.receive(),
        }
    }
}
