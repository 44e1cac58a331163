//! OTLP/HTTP trace ingestion: decoding `ExportTraceServiceRequest` bodies and
//! mapping their spans to normalized sessions and events.
//!
//! The HTTP handler calls, in order: [`decode_request`] on the raw body,
//! [`map_request`] on the decoded request, [`TraceBatch::into_record`] on each
//! trace for the store, and [`encode_response`] with the number of rejected
//! spans. None of these functions touches storage.
//!
//! Rules that hold across the module:
//! - One trace is one session. The session id is the trace id's 128 bits in
//!   lowercase hyphenated UUID form, so `uuid::Uuid::parse_str` turns either
//!   form (32 hex digits or hyphenated) into the same session.
//! - Every valid span becomes one [`EventRecord`](crate::model::EventRecord)
//!   whose id is the span id as 16 lowercase hex digits. A span with an
//!   invalid id or a zero start time is rejected on its own, with a reason,
//!   and the rest of the request still maps.
//! - The project never comes from the spans: resource attributes such as
//!   `agentops.project.id` are stored as sent and otherwise ignored.

mod attributes;
mod decode;
mod genai;
mod map;
mod session;

#[cfg(test)]
mod tests;

pub use attributes::nest_attributes;
pub use decode::{Encoding, OtlpError, decode_request, encode_error, encode_response};
pub use map::{MappedBatch, RejectedSpan, TraceBatch, map_request};
pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
pub use session::SessionSource;
