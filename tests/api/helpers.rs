//! Test harness: starts the real `tracewell` binary on a fresh data folder
//! and sends it HTTP requests.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use tempfile::TempDir;

pub const PROJECT_A: &str = "project-a";
pub const PROJECT_B: &str = "project-b";

pub const S1: &str = "5e551011-0000-4000-8000-000000000001";
pub const S2: &str = "5e551011-0000-4000-8000-000000000002";
pub const S3: &str = "5e551011-0000-4000-8000-000000000003";

/// A well-formed key that no project was ever given.
pub const UNKNOWN_KEY: &str = "0badc0de-0000-4000-8000-00000000beef";

/// Event groups of the export, in the order the export lists them.
pub const EVENT_GROUPS: [&str; 5] = ["llms", "tools", "actions", "errors", "other"];

/// How long the server may take to print its address before the test fails.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Returns event id `n` in the fixed test pattern (`e7e00001-…-00000000000n`).
pub fn event_id(n: u32) -> String {
    format!("e7e00001-0000-4000-8000-{n:012}")
}

/// Returns the body of `CS(id)`: a session created at 2024-03-05T10:00:00Z with no
/// tags and an empty host environment.
pub fn default_session(id: &str) -> Value {
    json!({"id": id, "init_timestamp": "2024-03-05T10:00:00.000Z", "tags": [], "host_env": {}})
}

/// Returns a minimal valid action event.
pub fn action_event(id: &str, init_timestamp: &str) -> Value {
    json!({"id": id, "type": "action", "action_type": "step", "init_timestamp": init_timestamp})
}

/// Status and body of one HTTP response.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    /// The body parsed as JSON, or `Value::Null` when it is not JSON.
    pub body: Value,
    pub text: String,
}

impl ApiResponse {
    fn from_reqwest(response: reqwest::blocking::Response) -> Self {
        let status = response.status().as_u16();
        let bytes = response.bytes().expect("response body is readable");
        let text = String::from_utf8(bytes.to_vec()).expect("response body is valid UTF-8");
        Self::new(status, text)
    }

    pub fn new(status: u16, text: String) -> Self {
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self { status, body, text }
    }

    /// Returns the string field `name` of the body, failing the test when it
    /// is missing or not a string.
    pub fn str_field(&self, name: &str) -> &str {
        self.body[name]
            .as_str()
            .unwrap_or_else(|| panic!("response has no string field {name:?}: {}", self.text))
    }
}

/// One running server on its own data folder, with keys of two projects.
pub struct TestApp {
    /// Base URL, `http://127.0.0.1:PORT`, as the server printed it.
    pub address: String,
    /// Key of project A; every `CS` call uses it.
    pub key_a: String,
    /// Key of project B.
    pub key_b: String,
    pub client: Client,
    server: Child,
    data_dir: PathBuf,
    log_path: PathBuf,
    // Dropped last, so the folder outlives the server process.
    _root: TempDir,
}

/// Creates a fresh data folder, API keys for projects A and B, and starts
/// `tracewell serve` on a free port of 127.0.0.1.
pub fn spawn_app() -> TestApp {
    let root = tempfile::tempdir().expect("temporary folder can be created");
    let data_dir = root.path().join("data");
    let key_a = create_key(&data_dir, PROJECT_A);
    let key_b = create_key(&data_dir, PROJECT_B);

    let log_path = root.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("server log file can be created");
    let mut server = Command::new(env!("CARGO_BIN_EXE_tracewell"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("tracewell serve starts");

    let stdout = server.stdout.take().expect("server stdout is piped");
    let first_line = read_first_line(stdout);
    let address = match first_line {
        Some(line) => parse_listen_line(&line),
        None => {
            let _ = server.kill();
            let _ = server.wait();
            panic!(
                "server printed no address line; its log:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
    };

    let client = Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("HTTP client builds");
    TestApp {
        address,
        key_a,
        key_b,
        client,
        server,
        data_dir,
        log_path,
        _root: root,
    }
}

/// Reads the first stdout line in a thread, then keeps draining stdout so
/// the server never blocks on a full pipe. `None` when the server exits or
/// stays silent for [`STARTUP_TIMEOUT`].
fn read_first_line(stdout: std::process::ChildStdout) -> Option<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line).unwrap_or(0);
        let _ = sender.send((read > 0).then_some(line));
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    receiver.recv_timeout(STARTUP_TIMEOUT).ok().flatten()
}

fn parse_listen_line(line: &str) -> String {
    let prefix = "tracewell listening on ";
    let address = line
        .trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("first stdout line is not {prefix:?}ADDRESS: {line:?}"));
    assert!(
        address.starts_with("http://127.0.0.1:"),
        "server listens on {address}, expected http://127.0.0.1:PORT"
    );
    address.to_string()
}

fn run_tracewell(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracewell"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("tracewell command runs")
}

fn create_key(data_dir: &Path, project: &str) -> String {
    let output = run_tracewell(data_dir, &["keys", "create", "--project", project]);
    assert!(
        output.status.success(),
        "tracewell keys create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).expect("key output is UTF-8");
    let key = key.trim().to_string();
    assert!(
        uuid::Uuid::parse_str(&key).is_ok(),
        "tracewell keys create printed {key:?}, expected only a UUID"
    );
    key
}

impl TestApp {
    /// Runs `tracewell ARGS --data-dir D` on this app's data folder.
    pub fn cli(&self, args: &[&str]) -> Output {
        run_tracewell(&self.data_dir, args)
    }

    /// Creates one more API key of `project` with the CLI.
    pub fn create_key(&self, project: &str) -> String {
        create_key(&self.data_dir, project)
    }

    /// Returns the HS256 key: the trimmed text of `D/jwt-secret` as bytes.
    pub fn jwt_secret(&self) -> Vec<u8> {
        let text = std::fs::read_to_string(self.data_dir.join("jwt-secret"))
            .expect("server wrote DATA_DIR/jwt-secret");
        text.trim().as_bytes().to_vec()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> ApiResponse {
        let mut request = self.client.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        ApiResponse::from_reqwest(request.send().expect("GET request completes"))
    }

    pub fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> ApiResponse {
        self.post_bytes(
            path,
            headers,
            serde_json::to_vec(body).expect("JSON serializes"),
        )
    }

    /// Posts raw bytes as `application/json`.
    pub fn post_bytes(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> ApiResponse {
        let mut request = self
            .client
            .post(self.url(path))
            .header("Content-Type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.body(body).send();
        let response = response.unwrap_or_else(|error| panic!("POST {path} failed: {error:?}"));
        ApiResponse::from_reqwest(response)
    }

    pub fn post_with_key(&self, path: &str, key: &str, body: &Value) -> ApiResponse {
        self.post_json(path, &[("X-Agentops-Api-Key", key)], body)
    }

    pub fn post_with_jwt(&self, path: &str, jwt: &str, body: &Value) -> ApiResponse {
        let bearer = format!("Bearer {jwt}");
        self.post_json(path, &[("Authorization", bearer.as_str())], body)
    }

    pub fn post_bytes_with_jwt(&self, path: &str, jwt: &str, body: Vec<u8>) -> ApiResponse {
        let bearer = format!("Bearer {jwt}");
        self.post_bytes(path, &[("Authorization", bearer.as_str())], body)
    }

    /// `POST /v2/create_session` with `{"session": session}` and `key`.
    pub fn create_session_with(&self, key: &str, session: Value) -> ApiResponse {
        self.post_with_key("/v2/create_session", key, &json!({ "session": session }))
    }

    /// Creates `session` with project A's key, checks the 200 and returns the JWT.
    pub fn create_session_jwt(&self, session: Value) -> String {
        let response = self.create_session_with(&self.key_a, session);
        assert_eq!(
            response.status, 200,
            "create_session failed: {}",
            response.text
        );
        response.str_field("jwt").to_string()
    }

    /// `CS(id)`: the default session of project A; returns its JWT.
    pub fn create_session(&self, id: &str) -> String {
        self.create_session_jwt(default_session(id))
    }

    pub fn create_events(&self, jwt: &str, events: Value) -> ApiResponse {
        self.post_with_jwt("/v2/create_events", jwt, &json!({ "events": events }))
    }

    pub fn update_session(&self, jwt: &str, session: Value) -> ApiResponse {
        self.post_with_jwt("/v2/update_session", jwt, &json!({ "session": session }))
    }

    pub fn update_events(&self, jwt: &str, events: Value) -> ApiResponse {
        self.post_with_jwt("/v2/update_events", jwt, &json!({ "events": events }))
    }

    pub fn reauthorize(&self, key: &str, session_id: &str) -> ApiResponse {
        let body = json!({ "session_id": session_id });
        self.post_with_key("/v2/reauthorize_jwt", key, &body)
    }

    pub fn export_with(&self, key: &str, session_id: &str) -> ApiResponse {
        let path = format!("/v2/sessions/{session_id}/export");
        self.get(&path, &[("X-Agentops-Api-Key", key)])
    }

    /// `READ(id)` with project A's key; fails the test unless it is a 200.
    pub fn export(&self, session_id: &str) -> Value {
        let response = self.export_with(&self.key_a, session_id);
        assert_eq!(
            response.status, 200,
            "export of {session_id} failed: {}",
            response.text
        );
        response.body
    }

    pub fn stats_with(&self, key: &str, session_id: &str) -> ApiResponse {
        let path = format!("/v2/sessions/{session_id}/stats");
        self.get(&path, &[("X-Agentops-Api-Key", key)])
    }

    /// Session stats with project A's key; fails the test unless it is a 200.
    pub fn stats(&self, session_id: &str) -> Value {
        let response = self.stats_with(&self.key_a, session_id);
        assert_eq!(
            response.status, 200,
            "stats of {session_id} failed: {}",
            response.text
        );
        response.body
    }

    /// Reads the claims of a token this server signed, checking its signature.
    pub fn decode_jwt(&self, jwt: &str) -> Value {
        let key =
            DecodingKey::from_secret(&self.jwt_secret()).expect("secret is a valid HS256 key");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        jsonwebtoken::decode::<Value>(jwt, &key, &validation)
            .expect("token verifies with DATA_DIR/jwt-secret")
            .claims
    }

    /// Signs `claims` with HS256 and this server's secret.
    pub fn sign_jwt(&self, claims: &Value) -> String {
        sign_jwt_with(&self.jwt_secret(), claims)
    }

    /// True while the server process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.server.try_wait(), Ok(None))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        if std::thread::panicking() {
            let mut log = String::new();
            if let Ok(mut file) = std::fs::File::open(&self.log_path) {
                let _ = file.read_to_string(&mut log);
            }
            let start = log.len().saturating_sub(8_000);
            let start = (start..log.len())
                .find(|i| log.is_char_boundary(*i))
                .unwrap_or(0);
            eprintln!("--- server log (last 8000 bytes) ---\n{}", &log[start..]);
        }
    }
}

/// Signs `claims` with HS256 and `secret`.
pub fn sign_jwt_with(secret: &[u8], claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret).expect("secret is a valid HS256 key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("token signs")
}

/// Current Unix time in seconds.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Checks a JSON error of `status` with non-empty `error` and `message`
/// strings and a non-empty snake_case `code`.
pub fn assert_error_body(response: &ApiResponse, status: u16) {
    assert_eq!(
        response.status, status,
        "unexpected status; body: {}",
        response.text
    );
    let error = response.body["error"].as_str().unwrap_or_default();
    assert!(
        !error.is_empty(),
        "error body has no `error` text: {}",
        response.text
    );
    let message = response.body["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "error body has no `message` text: {}",
        response.text
    );
    let code = response.body["code"].as_str().unwrap_or_default();
    assert!(
        !code.is_empty(),
        "error body has no `code`: {}",
        response.text
    );
    let snake_case = code
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    assert!(snake_case, "error code {code:?} is not snake_case");
}

/// Checks [`assert_error_body`] plus the exact `code`.
pub fn assert_json_error(response: &ApiResponse, status: u16, code: &str) {
    assert_error_body(response, status);
    assert_eq!(
        response.body["code"], code,
        "wrong error code; body: {}",
        response.text
    );
}

/// Finds the event `id` in any group of an export.
pub fn find_event<'a>(export: &'a Value, id: &str) -> Option<&'a Value> {
    all_events(export)
        .into_iter()
        .find(|event| event["id"] == id)
}

/// Returns the event `id` of an export, failing the test when it is absent.
pub fn event<'a>(export: &'a Value, id: &str) -> &'a Value {
    find_event(export, id).unwrap_or_else(|| panic!("export has no event {id}: {export}"))
}

/// Returns every event of an export, group by group.
pub fn all_events(export: &Value) -> Vec<&Value> {
    EVENT_GROUPS
        .iter()
        .filter_map(|group| export[*group].as_array())
        .flatten()
        .collect()
}

/// Counts the events of an export that carry `id`.
pub fn count_events(export: &Value, id: &str) -> usize {
    all_events(export)
        .iter()
        .filter(|event| event["id"] == id)
        .count()
}

/// Ids of one export group, in the order listed.
pub fn group_ids(export: &Value, group: &str) -> Vec<String> {
    export[group]
        .as_array()
        .unwrap_or_else(|| panic!("export has no list {group:?}: {export}"))
        .iter()
        .map(|event| event["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Returns the name of the export group that contains event `id`.
pub fn group_of(export: &Value, id: &str) -> Option<&'static str> {
    EVENT_GROUPS.into_iter().find(|group| {
        export[*group]
            .as_array()
            .is_some_and(|events| events.iter().any(|event| event["id"] == id))
    })
}

/// True for a non-negative decimal number written as a string (`"0"`, `"0.00"`, `"1.2345"`).
pub fn is_decimal_string(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}
