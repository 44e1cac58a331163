//! Tracewell: a self-hosted observability server for AI agents that speaks the
//! AgentOps API.
//!
//! The write path runs `http` → `ingest` (parse and validate into `model`
//! records) → `store` (one writer that commits in groups). The read path runs
//! `store` queries → `http` JSON handlers and the dashboard pages.

pub mod model;
pub mod otlp;
