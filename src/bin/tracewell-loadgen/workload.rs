//! Request shapes, one per `--workload` value.

use std::sync::Arc;

use anyhow::bail;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use rand::rngs::SmallRng;

use crate::cli::{Args, WorkloadKind};
use crate::http::HttpClient;
use crate::rest::RestWorkload;

/// Items (events or spans) that the server stored from one 2xx response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepted {
    pub stored: u64,
    pub rejected: u64,
}

/// A request shape, set up on the server and ready to send.
pub trait Workload: Send + Sync {
    /// Name as given to `--workload`.
    fn name(&self) -> &'static str;

    /// Items (events or spans) in every request.
    fn items_per_request(&self) -> u64;

    /// Builds the request numbered `sequence` with fresh ids from `rng`.
    fn build_request(&self, sequence: u64, rng: &mut SmallRng) -> Request<Full<Bytes>>;

    /// Reads how many items a 2xx response says were stored and rejected.
    fn read_accepted(&self, body: &[u8]) -> anyhow::Result<Accepted>;
}

/// Sets up the workload that `args.workload` selects: for `rest`, creates the sessions.
pub async fn prepare(
    args: &Args,
    client: &HttpClient,
    base_url: &str,
) -> anyhow::Result<Arc<dyn Workload>> {
    match args.workload {
        WorkloadKind::Rest => Ok(Arc::new(
            RestWorkload::prepare(args, client, base_url).await?,
        )),
        // TODO: OTLP/HTTP protobuf batches of agent traces, one agent root span
        // with nine LLM and tool children, sent to /v1/traces.
        WorkloadKind::Otlp => bail!("--workload otlp is not implemented yet; use --workload rest"),
    }
}
