//! `POST /v1/traces`: OTLP/HTTP traces, protobuf or JSON, gzip or not, from
//! SDK 0.4 and any OpenTelemetry client, with a Bearer project token.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::AppState;
use super::error::ApiError;
use super::extract::{ProjectToken, payload_too_large};
use crate::cost::{Pricer, client_cost_to_picodollars};
use crate::model::{CostSource, TraceRecord};
use crate::otlp::{self, TraceBatch};
use crate::store::EventPricer;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/traces", post(export_traces))
}

/// Stores the spans of an export request. Spans that cannot be stored (a
/// wrong-length id, a zero start time) are counted in `partial_success`;
/// the others are stored, and the answer comes only after they commit.
async fn export_traces(
    State(state): State<AppState>,
    ProjectToken(claims): ProjectToken,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let body = match Bytes::from_request(request, &state).await {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return payload_too_large().into_response();
        }
        Err(rejection) => {
            return ApiError::new(
                rejection.status(),
                "invalid_body",
                "Invalid body",
                format!("The request body could not be read ({rejection}); resend it."),
            )
            .into_response();
        }
    };
    let content_type = header_text(&headers, CONTENT_TYPE.as_str()).unwrap_or("");
    let content_encoding = header_text(&headers, CONTENT_ENCODING.as_str());

    let decoded = otlp::decode_request(&body, content_type, content_encoding, state.max_body_bytes);
    drop(body);
    let (request, encoding) = match decoded {
        Ok(decoded) => decoded,
        Err(err) => {
            tracing::info!(status = %err.status(), code = err.code(), "otlp request rejected");
            let (content_type, body) = otlp::encode_error(&err);
            return (err.status(), [(CONTENT_TYPE, content_type)], body).into_response();
        }
    };

    let batch = otlp::map_request(&request);
    drop(request);
    let (rejected, message) = (batch.rejected_spans(), batch.rejection_message());
    if rejected > 0 {
        tracing::info!(rejected, project = claims.project_id, "otlp spans rejected");
    }
    let traces: Vec<TraceRecord> = batch
        .traces
        .into_iter()
        .map(|trace| priced_record(&state.pricer, claims.project_id, trace))
        .collect();
    if !traces.is_empty()
        && let Err(err) = state.store.ingest_traces(claims.project_id, traces).await
    {
        return ApiError::from(err).into_response();
    }
    let (content_type, body) = otlp::encode_response(encoding, rejected, &message);
    (StatusCode::OK, [(CONTENT_TYPE, content_type)], body).into_response()
}

/// Turns a mapped trace into a record whose events carry their costs: a
/// span's `gen_ai.usage.total_cost` wins, else the tokens are priced.
fn priced_record(pricer: &Pricer, project: i64, mut trace: TraceBatch) -> TraceRecord {
    let client_costs = std::mem::take(&mut trace.client_costs);
    let mut record = trace.into_record();
    for event in &mut record.events {
        if let Some(usd) = client_costs.get(&event.id) {
            match client_cost_to_picodollars(&serde_json::Value::String(usd.clone())) {
                Ok(cost) => {
                    event.cost = Some(cost);
                    event.cost_source = Some(CostSource::Client);
                }
                Err(err) => {
                    tracing::info!(span_id = event.id, error = %err, "span cost ignored");
                }
            }
        }
        pricer.price(project, event);
    }
    record
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
