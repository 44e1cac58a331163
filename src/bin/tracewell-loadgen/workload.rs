//! Request shapes, one per `--workload` value.

use std::sync::Arc;

use anyhow::bail;
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use rand::rngs::SmallRng;
use tokio::time::Instant;

use crate::cli::{Args, WorkloadKind};
use crate::http::HttpClient;
use crate::otlp::OtlpWorkload;
use crate::readback::ReadBack;
use crate::rest::RestWorkload;

/// Items (events or spans) that the server stored from one 2xx response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepted {
    pub stored: u64,
    pub rejected: u64,
}

/// A request shape, set up on the server and ready to send.
#[async_trait]
pub trait Workload: Send + Sync {
    /// Name as given to `--workload`.
    fn name(&self) -> &'static str;

    /// Items (events or spans) in every request.
    fn items_per_request(&self) -> u64;

    /// Builds the request numbered `sequence` with fresh ids from `rng`.
    fn build_request(&self, sequence: u64, rng: &mut SmallRng) -> Request<Full<Bytes>>;

    /// Reads the counts of stored and rejected items from the body of a 2xx response.
    fn read_accepted(&self, body: &[u8]) -> anyhow::Result<Accepted>;

    /// Notes that request `sequence` got a 2xx response that stored `accepted`.
    /// The runner calls it for every such response, warm-up included.
    fn record_acknowledged(&self, _sequence: u64, _accepted: Accepted) {}

    /// Reads acknowledged items back from the server after the run, which
    /// began at `run_started` and got its last response at `run_ended`.
    /// Returns `None` for a workload without a read-back.
    async fn read_back(
        &self,
        _client: &HttpClient,
        _run_started: Instant,
        _run_ended: Instant,
    ) -> anyhow::Result<Option<ReadBack>> {
        Ok(None)
    }
}

/// Sets up the workload that `args.workload` selects: for `rest`, creates the
/// sessions; for `otlp`, obtains the project token when `--api-key` is given.
pub async fn prepare(
    args: &Args,
    client: &HttpClient,
    base_url: &str,
) -> anyhow::Result<Arc<dyn Workload>> {
    match args.workload {
        WorkloadKind::Rest => {
            if args.api_key.is_empty() {
                bail!("missing --api-key (or AGENTOPS_API_KEY) for --workload rest");
            }
            Ok(Arc::new(
                RestWorkload::prepare(args, client, base_url).await?,
            ))
        }
        WorkloadKind::Otlp => Ok(Arc::new(
            OtlpWorkload::prepare(args, client, base_url).await?,
        )),
    }
}
