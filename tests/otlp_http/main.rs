//! HTTP-level tests of OTLP trace ingestion and the public trace read API.
//! Each test starts the real `tracewell` binary on a fresh data folder and
//! posts OTLP/HTTP requests to `/v1/traces` over 127.0.0.1. It reads the
//! result back through `/public/v1`, the v2 export and the CLI.

// The REST suite's harness: only part of it is used here.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod bad_input;
mod fixtures;
mod reads;
mod support;
