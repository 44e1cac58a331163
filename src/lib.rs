//! Tracewell: a self-hosted observability server for AI agents that speaks the
//! AgentOps API.
//!
//! The write path runs `http` → `ingest` (parse and validate into `model`
//! records) → `store` (one writer that commits in groups). The read path runs
//! `store` queries → `view` (the JSON readers see) → `http` handlers and the
//! `cli`.

pub mod auth;
pub mod cli;
pub mod config;
pub mod cost;
pub mod dashboard;
pub mod http;
pub mod ingest;
pub mod model;
pub mod otlp;
pub mod store;
pub mod view;
