//! The HTTP layer: one module per API surface, merged into one router.

pub mod error;
pub mod extract;
mod health;
mod limit;
mod otlp;
mod prices;
mod public;
pub mod v2;
mod v3;
mod v4;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::auth::token::TokenSigner;
use crate::cost::Pricer;
use crate::store::Store;
use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tokens: TokenSigner,
    pub pricer: Arc<Pricer>,
    /// Whether the keys behind tokens are still active.
    pub key_status: Arc<crate::auth::revocation::KeyStatusCache>,
    /// Largest request body, also the bound on a decompressed OTLP body.
    pub max_body_bytes: usize,
    /// Base URL of this server as clients reach it, without a trailing
    /// slash; used in the links the API returns.
    pub public_url: Arc<str>,
}

/// Builds the whole application; `serve` and the tests both call this.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(v2::routes())
        .merge(v3::routes())
        .merge(v4::routes())
        .merge(public::routes())
        .merge(prices::routes())
        .merge(otlp::routes())
        .merge(crate::dashboard::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            max_body_bytes,
            limit::reject_oversized,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ApiError::internal().into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let path = request
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map(|path| path.as_str().to_owned())
                        .unwrap_or_else(|| "unmatched".into());
                    tracing::info_span!("request", method = %request.method(), path)
                })
                .on_request(())
                .on_response(
                    |response: &axum::response::Response, latency: Duration, _: &tracing::Span| {
                        tracing::debug!(status = response.status().as_u16(), ?latency, "response");
                    },
                ),
        )
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "Not found",
        "No endpoint has this path; check the URL against the AgentOps API.",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
        "This endpoint does not take this HTTP method; most write endpoints take POST.",
    )
}
