//! The HTTP/1.1 client: pooled keep-alive connections and one send-and-read call.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Failure of a request that got no HTTP response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("request failed: {0}")]
    Transport(#[from] hyper_util::client::legacy::Error),
    #[error("reading the response body failed: {0}")]
    Body(#[from] hyper::Error),
}

/// Builds a client that keeps up to `connections` idle keep-alive connections,
/// one per request in flight, so a steady run opens each connection once.
pub fn build_client(connections: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_max_idle_per_host(connections)
        .build(connector)
}

/// Builds a JSON `POST` to `uri` with the extra headers given.
pub fn json_post(
    uri: &Uri,
    headers: &[(&'static str, &HeaderValue)],
    body: Bytes,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(uri.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(body))
        .expect("the method, URI and headers were validated before")
}

/// Builds a `GET` of `uri` with the extra headers given.
pub fn get(uri: &Uri, headers: &[(&'static str, &HeaderValue)]) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(Method::GET).uri(uri.clone());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(Bytes::new()))
        .expect("the method, URI and headers were validated before")
}

/// Sends `request` and reads the whole response, all within `timeout`.
pub async fn send(
    client: &HttpClient,
    request: Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), SendError> {
    let exchange = async {
        let response = client.request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(SendError::Timeout(timeout)))
}
