//! Crash test: the real server is killed with SIGKILL while clients write
//! events, then restarted on the same data folder, and every event that it had
//! acknowledged with a 200 must still be stored.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use uuid::Uuid;

const TRACEWELL: &str = env!("CARGO_BIN_EXE_tracewell");
const CLIENT_THREADS: usize = 4;
const EVENTS_PER_BATCH: usize = 25;
/// Upper bound on the batches one client thread sends, so the load stops by
/// itself even if the kill never happens.
const MAX_BATCHES_PER_THREAD: usize = 400;
/// The server is killed once this many batches were acknowledged...
const ACKED_BATCHES_BEFORE_KILL: usize = 40;
/// ...or after this long, whichever comes first.
const MAX_LOAD_BEFORE_KILL: Duration = Duration::from_secs(20);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A `tracewell serve` child process on 127.0.0.1, killed when dropped.
struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn start(data_dir: &Path, log_path: &Path) -> Server {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .expect("open server log");
        let mut child = Command::new(TRACEWELL)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn tracewell serve");

        let stdout = child.stdout.take().expect("server stdout");
        let (first_line_tx, first_line_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = first_line_tx.send(first);
            // Keep reading, so that the server never blocks on a full pipe.
            for _ in lines {}
        });

        let mut server = Server {
            child,
            base_url: String::new(),
        };
        let first_line = first_line_rx.recv_timeout(STARTUP_TIMEOUT).ok().flatten();
        let Some(address) = first_line
            .as_deref()
            .and_then(|line| line.strip_prefix("tracewell listening on "))
        else {
            panic!(
                "unexpected first stdout line {first_line:?}; server log:\n{}",
                read_log(log_path)
            );
        };
        server.base_url = address.trim().to_owned();
        server
    }

    /// Kills the server with SIGKILL (what `Child::kill` sends on Unix) and reaps it.
    fn kill(&mut self) {
        self.child.kill().expect("kill server");
        self.child.wait().expect("wait for killed server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_log(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

fn http_client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("build HTTP client")
}

fn create_api_key(data_dir: &Path) -> String {
    let output = Command::new(TRACEWELL)
        .args(["keys", "create", "--data-dir"])
        .arg(data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("run tracewell keys create");
    assert!(
        output.status.success(),
        "tracewell keys create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("key is UTF-8")
        .trim()
        .to_owned()
}

fn read_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().expect("response body is JSON");
    (status, body)
}

fn create_session(client: &Client, base_url: &str, api_key: &str, session_id: &str) -> String {
    let body = json!({"session": {
        "session_id": session_id,
        "init_timestamp": now(),
        "end_state": "Indeterminate",
        "tags": ["crash-test"],
    }});
    let response = client
        .post(format!("{base_url}/v2/create_session"))
        .header("X-Agentops-Api-Key", api_key)
        .json(&body)
        .send()
        .expect("create_session request");
    let (status, body) = read_json(response);
    assert_eq!(status, 200, "create_session: {body}");
    body["jwt"]
        .as_str()
        .expect("jwt in create_session")
        .to_owned()
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn event_batch(thread_index: usize, batch_index: usize) -> (Vec<String>, Value) {
    let ids: Vec<String> = (0..EVENTS_PER_BATCH)
        .map(|_| Uuid::new_v4().to_string())
        .collect();
    let events: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(event_index, id)| {
            json!({
                "id": id,
                "event_type": "actions",
                "action_type": "crash-load",
                "init_timestamp": now(),
                "end_timestamp": now(),
                "params": {"thread": thread_index, "batch": batch_index, "event": event_index},
                "returns": null,
            })
        })
        .collect();
    (ids, json!({ "events": events }))
}

/// What one client thread saw: the event ids of acknowledged batches, and
/// the batches that got no response because the server died.
#[derive(Default)]
struct ClientOutcome {
    acked_ids: Vec<String>,
    unanswered_ids: Vec<Vec<String>>,
    unexpected_responses: Vec<String>,
}

fn send_batches(
    thread_index: usize,
    base_url: String,
    jwt: String,
    stop: Arc<AtomicBool>,
    acked_batches: Arc<AtomicUsize>,
) -> ClientOutcome {
    // One client per thread: each thread keeps its own keep-alive connection.
    let client = http_client();
    let url = format!("{base_url}/v2/create_events");
    let mut outcome = ClientOutcome::default();

    for batch_index in 0..MAX_BATCHES_PER_THREAD {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (ids, body) = event_batch(thread_index, batch_index);
        let result = client.post(&url).bearer_auth(&jwt).json(&body).send();
        let response = match result {
            Ok(response) => response,
            Err(_) => {
                outcome.unanswered_ids.push(ids);
                break;
            }
        };
        let status = response.status();
        let text = response.text().unwrap_or_default();
        if status != 200 {
            outcome
                .unexpected_responses
                .push(format!("status {status}: {text}"));
            break;
        }
        outcome.acked_ids.extend(ids);
        acked_batches.fetch_add(1, Ordering::SeqCst);
    }
    outcome
}

fn wait_for_acked_batches(acked_batches: &AtomicUsize) {
    let started = Instant::now();
    while acked_batches.load(Ordering::SeqCst) < ACKED_BATCHES_BEFORE_KILL
        && started.elapsed() < MAX_LOAD_BEFORE_KILL
    {
        thread::sleep(Duration::from_millis(5));
    }
}

fn exported_event_ids(
    client: &Client,
    base_url: &str,
    api_key: &str,
    session_id: &str,
) -> Vec<String> {
    let response = client
        .get(format!("{base_url}/v2/sessions/{session_id}/export"))
        .header("X-Agentops-Api-Key", api_key)
        .send()
        .expect("export request");
    let (status, export) = read_json(response);
    assert_eq!(status, 200, "export after restart: {export}");

    let groups = export.as_object().expect("export is an object");
    groups
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "session" | "agents"))
        .flat_map(|(_, events)| events.as_array().cloned().unwrap_or_default())
        .map(|event| event["id"].as_str().expect("event id").to_owned())
        .collect()
}

#[test]
fn crash_keeps_acknowledged_events() {
    let data_dir = tempfile::tempdir().expect("temporary data folder");
    let log_path = data_dir.path().join("server.log");
    let api_key = create_api_key(data_dir.path());
    let session_id = Uuid::new_v4().to_string();

    let mut server = Server::start(data_dir.path(), &log_path);
    let jwt = create_session(&http_client(), &server.base_url, &api_key, &session_id);

    let stop = Arc::new(AtomicBool::new(false));
    let acked_batches = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENT_THREADS)
        .map(|thread_index| {
            let (base_url, jwt) = (server.base_url.clone(), jwt.clone());
            let (stop, acked_batches) = (stop.clone(), acked_batches.clone());
            thread::spawn(move || send_batches(thread_index, base_url, jwt, stop, acked_batches))
        })
        .collect();

    wait_for_acked_batches(&acked_batches);
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let outcomes: Vec<ClientOutcome> = clients
        .into_iter()
        .map(|client| client.join().expect("client thread"))
        .collect();

    let unexpected: Vec<&String> = outcomes
        .iter()
        .flat_map(|outcome| &outcome.unexpected_responses)
        .collect();
    assert!(
        unexpected.is_empty(),
        "create_events failed before the kill: {unexpected:?}"
    );
    let acked: Vec<&String> = outcomes
        .iter()
        .flat_map(|outcome| &outcome.acked_ids)
        .collect();
    assert!(
        !acked.is_empty(),
        "no batch was acknowledged before the kill"
    );

    let restarted = Server::start(data_dir.path(), &log_path);
    let stored = exported_event_ids(&http_client(), &restarted.base_url, &api_key, &session_id);
    let stored_set: HashSet<&String> = stored.iter().collect();
    assert_eq!(
        stored_set.len(),
        stored.len(),
        "an event id is exported twice"
    );

    let lost: Vec<&&String> = acked
        .iter()
        .filter(|id| !stored_set.contains(**id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events are missing after the restart, e.g. {:?}",
        lost.len(),
        acked.len(),
        lost.first()
    );

    let unanswered: Vec<&Vec<String>> = outcomes
        .iter()
        .flat_map(|outcome| &outcome.unanswered_ids)
        .collect();
    let unanswered_stored: usize = unanswered
        .iter()
        .map(|batch| batch.iter().filter(|id| stored_set.contains(id)).count())
        .sum();
    assert_eq!(
        stored.len(),
        acked.len() + unanswered_stored,
        "the export has events that no client sent"
    );

    let (_, body) = event_batch(CLIENT_THREADS, 0);
    let response = http_client()
        .post(format!("{}/v2/create_events", restarted.base_url))
        .bearer_auth(&jwt)
        .json(&body)
        .send()
        .expect("create_events after restart");
    let (status, answer) = read_json(response);
    assert_eq!(
        status, 200,
        "create_events after restart with the old token: {answer}"
    );

    println!(
        "crash test: {} acknowledged batches ({} events) all stored; \
         {} batches were unanswered at the kill, {} of their {} events stored",
        acked.len() / EVENTS_PER_BATCH,
        acked.len(),
        unanswered.len(),
        unanswered_stored,
        unanswered.len() * EVENTS_PER_BATCH
    );
}
