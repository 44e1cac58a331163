//! The AgentOps REST workload: sessions from `/v2/create_session`, then
//! `/v2/create_events` batches signed with each session's JWT.

use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use http_body_util::Full;
use hyper::header::HeaderValue;
use hyper::{Request, Uri};
use rand::rngs::SmallRng;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cli::Args;
use crate::events::EventPool;
use crate::http::{self, HttpClient};
use crate::workload::{Accepted, Workload};

/// Seed of the event templates, fixed so that runs send the same text.
const TEMPLATE_SEED: u64 = 0x7ace_3e11;

/// Time a `create_session` call may take during setup.
const SETUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One session on the server and the header that signs its events.
#[derive(Debug, Clone)]
struct Session {
    id: String,
    authorization: HeaderValue,
}

#[derive(Debug)]
pub struct RestWorkload {
    create_events: Uri,
    sessions: Vec<Session>,
    pool: EventPool,
    batch_size: usize,
}

#[derive(Deserialize)]
struct CreateSessionResponse {
    jwt: String,
}

/// The parts of a `create_events` response the report needs; the id list is skipped.
#[derive(Deserialize)]
struct CreateEventsResponse {
    stored: u64,
    #[serde(default)]
    rejected: Vec<IgnoredAny>,
}

impl RestWorkload {
    /// Creates `args.sessions` sessions, `args.concurrency` at a time, and builds
    /// the event templates. Fails on the first session the server does not create.
    pub async fn prepare(args: &Args, client: &HttpClient, base_url: &str) -> anyhow::Result<Self> {
        let create_session: Uri = format!("{base_url}/v2/create_session").parse()?;
        let create_events: Uri = format!("{base_url}/v2/create_events").parse()?;
        let api_key = HeaderValue::from_str(&args.api_key)
            .context("invalid --api-key: it must be printable ASCII, like the UUID that `tracewell keys create` prints")?;

        let sessions = create_sessions(
            client,
            &create_session,
            api_key,
            args.sessions,
            args.concurrency,
        )
        .await?;
        Ok(Self {
            create_events,
            sessions,
            pool: EventPool::generate(args.event_bytes as usize, TEMPLATE_SEED),
            batch_size: args.batch_size as usize,
        })
    }
}

impl Workload for RestWorkload {
    fn name(&self) -> &'static str {
        "rest"
    }

    fn items_per_request(&self) -> u64 {
        self.batch_size as u64
    }

    fn build_request(&self, sequence: u64, rng: &mut SmallRng) -> Request<Full<Bytes>> {
        let session = &self.sessions[(sequence % self.sessions.len() as u64) as usize];
        let mut body = Vec::new();
        self.pool
            .write_batch(&mut body, self.batch_size, &session.id, Utc::now(), rng);
        http::json_post(
            &self.create_events,
            &[("authorization", &session.authorization)],
            Bytes::from(body),
        )
    }

    fn read_accepted(&self, body: &[u8]) -> anyhow::Result<Accepted> {
        let response: CreateEventsResponse = serde_json::from_slice(body)
            .context("the create_events response has no numeric `stored` field")?;
        Ok(Accepted {
            stored: response.stored,
            rejected: response.rejected.len() as u64,
        })
    }
}

async fn create_sessions(
    client: &HttpClient,
    uri: &Uri,
    api_key: HeaderValue,
    count: u32,
    concurrency: u32,
) -> anyhow::Result<Vec<Session>> {
    let permits = Arc::new(Semaphore::new(concurrency as usize));
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let (client, uri, api_key) = (client.clone(), uri.clone(), api_key.clone());
        let permit = permits.clone().acquire_owned().await?;
        tasks.spawn(async move {
            let session = create_session(&client, &uri, &api_key).await;
            drop(permit);
            session
        });
    }

    let mut sessions = Vec::with_capacity(count as usize);
    while let Some(joined) = tasks.join_next().await {
        sessions.push(joined??);
    }
    Ok(sessions)
}

async fn create_session(
    client: &HttpClient,
    uri: &Uri,
    api_key: &HeaderValue,
) -> anyhow::Result<Session> {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({"session": {
        "session_id": id,
        "init_timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        "end_timestamp": null,
        "end_state": "Indeterminate",
        "tags": ["tracewell-loadgen"],
        "host_env": {"SDK": {"AgentOps SDK Version": "tracewell-loadgen"}},
    }});
    let request = http::json_post(
        uri,
        &[("x-agentops-api-key", api_key)],
        Bytes::from(body.to_string()),
    );

    let (status, response) = http::send(client, request, SETUP_TIMEOUT)
        .await
        .with_context(|| format!("create_session at {uri} failed"))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&response[..response.len().min(500)]).into_owned();
        bail!("create_session at {uri} returned {status}: {text}");
    }
    let response: CreateSessionResponse = serde_json::from_slice(&response)
        .context("the create_session response has no `jwt` string")?;
    let authorization = HeaderValue::from_str(&format!("Bearer {}", response.jwt))
        .context("the create_session response's `jwt` is not a valid header value")?;
    Ok(Session { id, authorization })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn workload(batch_size: usize, sessions: usize) -> RestWorkload {
        let sessions = (0..sessions)
            .map(|index| Session {
                id: format!("00000000-0000-4000-8000-00000000000{index}"),
                authorization: HeaderValue::from_str(&format!("Bearer token-{index}")).unwrap(),
            })
            .collect();
        RestWorkload {
            create_events: "http://127.0.0.1:4318/v2/create_events".parse().unwrap(),
            sessions,
            pool: EventPool::generate(128, 9),
            batch_size,
        }
    }

    #[test]
    fn requests_take_sessions_in_turn() {
        let workload = workload(4, 3);
        let mut rng = SmallRng::seed_from_u64(1);
        for sequence in 0..6u64 {
            let request = workload.build_request(sequence, &mut rng);
            let expected = format!("Bearer token-{}", sequence % 3);
            assert_eq!(request.headers()["authorization"], expected.as_str());
            assert_eq!(request.uri(), "http://127.0.0.1:4318/v2/create_events");
            assert_eq!(request.headers()["content-type"], "application/json");
        }
    }

    #[tokio::test]
    async fn request_body_has_batch_of_session() {
        use http_body_util::BodyExt;

        let workload = workload(25, 2);
        let mut rng = SmallRng::seed_from_u64(2);
        let request = workload.build_request(1, &mut rng);
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();

        let events = body["events"].as_array().unwrap();
        assert_eq!(events.len(), 25);
        for event in events {
            assert_eq!(event["session_id"], "00000000-0000-4000-8000-000000000001");
        }
    }

    #[test]
    fn response_counts_stored_and_rejected() {
        let workload = workload(3, 1);
        let body = br#"{"status":"success","stored":2,"ids":["a","b"],"rejected":[{"index":1,"id":"x","field":"type","message":"m"}]}"#;
        let accepted = workload.read_accepted(body).unwrap();
        assert_eq!(
            accepted,
            Accepted {
                stored: 2,
                rejected: 1
            }
        );

        let without_rejected = workload.read_accepted(br#"{"stored":3,"ids":[]}"#).unwrap();
        assert_eq!(
            without_rejected,
            Accepted {
                stored: 3,
                rejected: 0
            }
        );
    }

    #[test]
    fn response_without_stored_is_error() {
        let workload = workload(3, 1);
        assert!(workload.read_accepted(br#"{"status":"success"}"#).is_err());
        assert!(workload.read_accepted(b"Success").is_err());
    }
}
