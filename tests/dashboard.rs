//! HTTP-level tests of the dashboard pages against the real binary: status
//! codes, sign-in redirects, CSRF rejection, escaping of user text, the SDK
//! links, exports, `/api/metrics` and keyset paging.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "http-test-password";
const FORM: &str = "application/x-www-form-urlencoded";

fn encode(form: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(form).unwrap()
}

struct Server {
    child: Child,
    base: String,
    api_key: String,
    /// The one-time admin password, when the server generated one.
    printed_password: Option<String>,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server on a fresh data folder and reads its startup lines.
fn start(admin_password: Option<&str>) -> Server {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracewell"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env_remove("TRACEWELL_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(password) = admin_password {
        command.env("TRACEWELL_ADMIN_PASSWORD", password);
    }

    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    // Keeps reading after the test stops listening: a server whose stdout
    // is closed fails on its next print.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = sender.send(line);
        }
    });

    let mut lines = Vec::new();
    let want_password = admin_password.is_none();
    loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("server printed its startup lines");
        lines.push(line);
        let has_key = lines.iter().any(|l| l.contains("AGENTOPS_API_KEY="));
        let has_password = lines.iter().any(|l| l.contains("one-time password"));
        if has_key && (!want_password || has_password) {
            break;
        }
    }
    if want_password {
        lines.push(receiver.recv_timeout(Duration::from_secs(5)).unwrap());
    }

    let base = lines[0]
        .strip_prefix("tracewell listening on ")
        .expect("first line names the address")
        .to_owned();
    let api_key = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("export AGENTOPS_API_KEY="))
        .unwrap()
        .to_owned();
    let printed_password = want_password.then(|| {
        let index = lines
            .iter()
            .position(|l| l.contains("one-time password"))
            .unwrap();
        lines[index + 1].trim().to_owned()
    });
    Server {
        child,
        base,
        api_key,
        printed_password,
        _data: data,
    }
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Returns the `name=value` part of the response's Set-Cookie for `name`.
fn cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| value.split(';').next().unwrap().to_owned())
}

fn set_cookie_header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    html[start..start + 64].to_owned()
}

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    client: Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Browser {
    fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .unwrap()
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, FORM)
            .body(encode(form))
            .send()
            .unwrap()
    }
}

fn sign_in_response(server: &Server, username: &str, password: &str) -> Response {
    let client = client();
    let page = client
        .get(format!("{}/signin", server.base))
        .send()
        .unwrap();
    let signin_cookie = cookie(&page, "tracewell_signin").unwrap();
    let csrf = hidden_csrf(&page.text().unwrap());
    client
        .post(format!("{}/signin", server.base))
        .header(COOKIE, signin_cookie)
        .header(CONTENT_TYPE, FORM)
        .body(encode(&[
            ("username", username),
            ("password", password),
            ("csrf_token", &csrf),
            ("next", "/overview"),
        ]))
        .send()
        .unwrap()
}

fn sign_in_as(server: &Server, username: &str, password: &str) -> Browser {
    let response = sign_in_response(server, username, password);
    assert_eq!(response.status(), 303, "sign-in of {username} failed");
    let cookie = cookie(&response, "tracewell_session").unwrap();
    let client = client();
    let page = client
        .get(format!("{}/account/password", server.base))
        .header(COOKIE, &cookie)
        .send()
        .unwrap();
    let csrf = hidden_csrf(&page.text().unwrap());
    Browser {
        client,
        base: server.base.clone(),
        cookie,
        csrf,
    }
}

fn sign_in(server: &Server) -> Browser {
    sign_in_as(server, "admin", ADMIN_PASSWORD)
}

/// Creates a session through the AgentOps API and returns its token.
fn create_session(server: &Server, session: Value) -> String {
    let response = client()
        .post(format!("{}/v2/create_session", server.base))
        .header("X-Agentops-Api-Key", &server.api_key)
        .json(&json!({ "session": session }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().unwrap()["jwt"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn create_events(server: &Server, jwt: &str, events: Value) {
    let response = client()
        .post(format!("{}/v2/create_events", server.base))
        .bearer_auth(jwt)
        .json(&json!({ "events": events }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
}

const HOSTILE: &str = "<script>alert('x')</script>";

fn hostile_session(server: &Server) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let jwt = create_session(
        server,
        json!({
            "session_id": id,
            "init_timestamp": "2026-01-02T03:04:05Z",
            "tags": [HOSTILE, "plain"],
            "host_env": {"OS": {"Hostname": HOSTILE}},
        }),
    );
    create_events(
        server,
        &jwt,
        json!([{
            "id": uuid::Uuid::new_v4().to_string(),
            "event_type": "llms",
            "init_timestamp": "2026-01-02T03:04:06Z",
            "end_timestamp": "2026-01-02T03:04:07Z",
            "model": "gpt-4o-mini",
            "prompt": [{"role": "user", "content": HOSTILE}],
            "completion": {"role": "assistant", "content": "fine"},
            "prompt_tokens": 12,
            "completion_tokens": 3,
        }]),
    );
    id
}

#[test]
fn pages_redirect_to_sign_in() {
    let server = start(Some(ADMIN_PASSWORD));
    let client = client();
    for path in [
        "/",
        "/overview",
        "/sessions",
        "/sessions/abc",
        "/sessions.csv",
        "/agents",
        "/keys",
        "/users",
        "/drilldown?session_id=abc",
    ] {
        let response = client.get(format!("{}{path}", server.base)).send().unwrap();
        assert_eq!(response.status(), 303, "{path}");
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        if path == "/" {
            assert_eq!(location, "/overview");
        } else {
            assert!(
                location.starts_with("/signin?next=%2F"),
                "{path} → {location}"
            );
        }
    }
    let signin = client
        .get(format!("{}/signin", server.base))
        .send()
        .unwrap();
    assert_eq!(signin.status(), 200);
}

#[test]
fn sign_in_sets_httponly_lax_cookie() {
    let server = start(Some(ADMIN_PASSWORD));
    let response = sign_in_response(&server, "admin", ADMIN_PASSWORD);
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/overview");
    let header = set_cookie_header(&response, "tracewell_session");
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    let value = cookie(&response, "tracewell_session").unwrap();
    assert_eq!(value.len(), "tracewell_session=".len() + 64);
}

#[test]
fn sign_in_rejects_wrong_password() {
    let server = start(Some(ADMIN_PASSWORD));
    let wrong = sign_in_response(&server, "admin", "not the password");
    assert_eq!(wrong.status(), 401);
    assert!(cookie(&wrong, "tracewell_session").is_none());
    let unknown = sign_in_response(&server, "nobody", ADMIN_PASSWORD);
    assert_eq!(unknown.status(), 401);
}

#[test]
fn sign_in_without_csrf_cookie_is_403() {
    let server = start(Some(ADMIN_PASSWORD));
    let response = client()
        .post(format!("{}/signin", server.base))
        .header(CONTENT_TYPE, FORM)
        .body(encode(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf_token", "0000"),
        ]))
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(cookie(&response, "tracewell_session").is_none());
}

#[test]
fn forms_without_valid_csrf_token_are_403() {
    let server = start(Some(ADMIN_PASSWORD));
    let browser = sign_in(&server);
    let wrong = "f".repeat(64);
    for token in ["", wrong.as_str()] {
        let form = [("csrf_token", token), ("project", "other"), ("name", "x")];
        assert_eq!(browser.post("/keys", &form).status(), 403);
        assert_eq!(
            browser.post("/signout", &[("csrf_token", token)]).status(),
            403
        );
        let user = [("csrf_token", token), ("username", "eve")];
        assert_eq!(browser.post("/users", &user).status(), 403);
    }
    let keys = browser.get("/keys").text().unwrap();
    assert!(!keys.contains("<td>other</td>"), "a key was created");

    let form = [
        ("csrf_token", browser.csrf.as_str()),
        ("project", "other"),
        ("name", "x"),
    ];
    let created = browser.post("/keys", &form);
    assert_eq!(created.status(), 200);
    assert!(created.text().unwrap().contains("id=\"new-key-value\""));
}

#[test]
fn sign_out_ends_web_session() {
    let server = start(Some(ADMIN_PASSWORD));
    let browser = sign_in(&server);
    assert_eq!(browser.get("/overview").status(), 200);
    let out = browser.post("/signout", &[("csrf_token", &browser.csrf)]);
    assert_eq!(out.status(), 303);
    assert_eq!(browser.get("/overview").status(), 303);
}

#[test]
fn user_text_is_escaped_in_pages() {
    let server = start(Some(ADMIN_PASSWORD));
    let id = hostile_session(&server);
    let browser = sign_in(&server);
    for path in [
        "/sessions".to_owned(),
        format!("/sessions/{id}"),
        "/overview".to_owned(),
    ] {
        let response = browser.get(&path);
        assert_eq!(response.status(), 200, "{path}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        let html = response.text().unwrap();
        assert!(!html.contains(HOSTILE), "{path} contains the raw script");
    }
    let page = browser.get(&format!("/sessions/{id}")).text().unwrap();
    assert!(page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"));

    let event_list = browser
        .get(&format!("/sessions/{id}/timeline.json?project=default"))
        .json::<Value>()
        .unwrap();
    let event_id = event_list["events"][0]["id"].as_str().unwrap();
    let event = browser.get(&format!("/sessions/{id}/events/{event_id}?project=default"));
    assert!(
        event.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let event: Value = event.json().unwrap();
    assert_eq!(event["prompt"][0]["content"], HOSTILE);
}

#[test]
fn terminal_log_shows_as_text() {
    let server = start(Some(ADMIN_PASSWORD));
    let id = hostile_session(&server);
    let token: Value = client()
        .post(format!("{}/v3/auth/token", server.base))
        .json(&json!({"api_key": server.api_key}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let trace_id = uuid::Uuid::parse_str(&id).unwrap().as_u128().to_string();
    let log = "\u{1b}[32mstep 1 ok\u{1b}[0m\n<script>alert('log')</script>\n";
    let upload = client()
        .post(format!("{}/v4/logs/upload/", server.base))
        .bearer_auth(token["token"].as_str().unwrap())
        .header("Trace-Id", trace_id)
        .json(&json!({"body": log}))
        .send()
        .unwrap();
    assert_eq!(upload.status(), 200);

    let browser = sign_in(&server);
    let page = browser.get(&format!("/sessions/{id}")).text().unwrap();
    assert!(page.contains("id=\"terminal-log\""));
    assert!(page.contains("step 1 ok"));
    assert!(!page.contains('\u{1b}'));
    assert!(!page.contains("<script>alert('log')"));
}

#[test]
fn sdk_links_open_session_page() {
    let server = start(Some(ADMIN_PASSWORD));
    let id = hostile_session(&server);
    let browser = sign_in(&server);
    let upper = id.to_uppercase();
    let drilldown = browser.get(&format!("/drilldown?session_id={upper}"));
    assert_eq!(drilldown.status(), 303);
    assert_eq!(
        drilldown.headers()[LOCATION],
        format!("/sessions/{id}").as_str()
    );
    let trace_id = id.replace('-', "");
    let by_trace = browser.get(&format!("/sessions?trace_id={trace_id}"));
    assert_eq!(
        by_trace.headers()[LOCATION],
        format!("/sessions/{id}").as_str()
    );
    assert_eq!(browser.get(&format!("/sessions/{id}")).status(), 200);
    let missing = browser.get(&format!("/sessions/{}", uuid::Uuid::new_v4()));
    assert_eq!(missing.status(), 404);
}

#[test]
fn exports_session_json_and_list_csv() {
    let server = start(Some(ADMIN_PASSWORD));
    let id = hostile_session(&server);
    let browser = sign_in(&server);
    let export = browser.get(&format!("/sessions/{id}/export.json?project=default"));
    assert_eq!(export.status(), 200);
    let disposition = export.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let document: Value = export.json().unwrap();
    assert_eq!(document["session"]["id"], id.as_str());
    assert_eq!(document["llms"].as_array().unwrap().len(), 1);

    let csv = browser.get("/sessions.csv?project=default");
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("session_id,name,tags,"));
    assert!(lines[1].starts_with(&id));
}

#[test]
fn metrics_require_auth_and_sum_exactly() {
    let server = start(Some(ADMIN_PASSWORD));
    hostile_session(&server);
    hostile_session(&server);
    let url = format!(
        "{}/api/metrics?from=2026-01-01&to=2026-01-03&granularity=day",
        server.base
    );
    assert_eq!(client().get(&url).send().unwrap().status(), 401);

    let response = client()
        .get(&url)
        .header("X-Agentops-Api-Key", &server.api_key)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let metrics: Value = response.json().unwrap();
    assert_eq!(metrics["project"], "default");
    assert_eq!(metrics["totals"]["sessions"], 2);
    assert_eq!(metrics["totals"]["prompt_tokens"], 24);
    assert_eq!(metrics["totals"]["end_states"]["Indeterminate"], 2);
    let buckets = metrics["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0]["start"], "2026-01-02T00:00:00.000000Z");
    assert_eq!(metrics["models"][0]["model"], "gpt-4o-mini");
    assert_eq!(metrics["models"][0]["calls"], 2);
    let cost_pd = metrics["totals"]["cost_pd"].as_i64().unwrap();
    assert_eq!(
        metrics["totals"]["cost"],
        tracewell::view::format_dollars(cost_pd)
    );

    let browser = sign_in(&server);
    let by_cookie = browser.get("/api/metrics?from=2026-01-01&to=2026-01-03&tag=plain");
    assert_eq!(by_cookie.json::<Value>().unwrap()["totals"]["sessions"], 2);
    let no_match = browser.get("/api/metrics?from=2026-01-01&to=2026-01-03&end_state=Fail");
    assert_eq!(no_match.json::<Value>().unwrap()["totals"]["sessions"], 0);
    let invalid = browser.get("/api/metrics?granularity=minute");
    assert_eq!(invalid.status(), 400);
    assert_eq!(
        invalid.json::<Value>().unwrap()["code"],
        "invalid_parameter"
    );
    let mismatch = client()
        .get(format!("{}/api/metrics?project=other", server.base))
        .header("X-Agentops-Api-Key", &server.api_key)
        .send()
        .unwrap();
    assert_eq!(mismatch.status(), 403);
}

/// Session ids in the order the list page shows them.
fn listed_ids(html: &str) -> Vec<String> {
    html.split("class=\"session-link\"")
        .skip(1)
        .map(|part| {
            let code = part.find("<code>").unwrap() + "<code>".len();
            let end = part[code..].find("</code>").unwrap();
            part[code..code + end].to_owned()
        })
        .collect()
}

fn next_link(html: &str) -> Option<String> {
    let end = html.find("\" rel=\"next\"")?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

#[test]
fn session_list_pages_by_keyset() {
    let server = start(Some(ADMIN_PASSWORD));
    let mut created = HashSet::new();
    for index in 0..120 {
        let id = uuid::Uuid::new_v4().to_string();
        // Several sessions share a start, so paging must break ties by pk.
        let start = format!("2026-02-01T00:{:02}:00Z", index / 3);
        create_session(&server, json!({"session_id": id, "init_timestamp": start}));
        created.insert(id);
    }
    let browser = sign_in(&server);
    let mut seen = Vec::new();
    let mut path = Some("/sessions?project=default".to_owned());
    let mut pages = 0;
    while let Some(current) = path {
        let html = browser.get(&current).text().unwrap();
        seen.extend(listed_ids(&html));
        path = next_link(&html);
        pages += 1;
        assert!(pages <= 3, "more pages than expected");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 120);
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);
}

#[test]
fn printed_password_must_be_changed() {
    let server = start(None);
    let password = server.printed_password.clone().unwrap();
    assert!(password.len() >= 10);
    let browser = sign_in_as(&server, "admin", &password);
    let overview = browser.get("/overview");
    assert_eq!(overview.status(), 303);
    assert_eq!(overview.headers()[LOCATION], "/account/password");

    let change = [
        ("csrf_token", browser.csrf.as_str()),
        ("current", password.as_str()),
        ("password", "my own password"),
        ("confirmation", "my own password"),
    ];
    assert_eq!(browser.post("/account/password", &change).status(), 200);
    assert_eq!(browser.get("/overview").status(), 200);
    let old = sign_in_response(&server, "admin", &password);
    assert_eq!(old.status(), 401);
}

#[test]
fn users_page_is_admin_only() {
    let server = start(Some(ADMIN_PASSWORD));
    let admin = sign_in(&server);
    let form = [
        ("csrf_token", admin.csrf.as_str()),
        ("username", "reader"),
        ("password", "reader-password"),
        ("confirmation", "reader-password"),
    ];
    let added = admin.post("/users", &form);
    assert_eq!(added.status(), 200);
    assert!(added.text().unwrap().contains("Added user reader."));

    let reader = sign_in_as(&server, "reader", "reader-password");
    assert_eq!(reader.get("/users").status(), 403);
    assert_eq!(reader.get("/sessions").status(), 200);
    let by_reader = [
        ("csrf_token", reader.csrf.as_str()),
        ("username", "second"),
        ("password", "second-password"),
        ("confirmation", "second-password"),
    ];
    assert_eq!(reader.post("/users", &by_reader).status(), 403);
}

#[test]
fn assets_have_content_hash_caching() {
    let server = start(Some(ADMIN_PASSWORD));
    let html = client()
        .get(format!("{}/signin", server.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let start = html.find("/assets/app.css?v=").unwrap();
    let end = start + html[start..].find('"').unwrap();
    let url = format!("{}{}", server.base, &html[start..end]);
    let css = client().get(url).send().unwrap();
    assert_eq!(css.status(), 200);
    let cache = css.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.contains("immutable"), "{cache}");
    assert!(
        css.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let stale = client()
        .get(format!("{}/assets/app.css?v=old", server.base))
        .send()
        .unwrap();
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    let missing = client()
        .get(format!("{}/assets/nothing.js", server.base))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
}
