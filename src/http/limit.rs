//! Answers an oversized request with 413 in a way the client can read.
//!
//! A server that answers 413 as soon as it sees a large `Content-Length`
//! and closes the connection leaves the client writing into a closed socket,
//! so many clients report a broken pipe instead of the 413. This layer reads
//! and discards such a body (up to a bound) before it answers.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::extract::payload_too_large;

/// Bodies up to this many times the limit are read to the end before the
/// 413; larger ones are cut off, and the connection is closed.
const DRAIN_FACTOR: usize = 4;

pub async fn reject_oversized(
    State(max_body_bytes): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    match declared {
        Some(length) if length > max_body_bytes => {
            tracing::info!(
                length,
                max_body_bytes,
                "request body over the limit rejected"
            );
            drain(
                request.into_body(),
                max_body_bytes.saturating_mul(DRAIN_FACTOR),
            )
            .await;
            payload_too_large().into_response()
        }
        _ => next.run(request).await,
    }
}

async fn drain(mut body: Body, max_bytes: usize) {
    let mut read = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            read += data.len();
        }
        if read > max_bytes {
            break;
        }
    }
}
