//! HTTP-level tests of the REST API: each test starts the real `tracewell`
//! binary on a fresh data folder and talks to it over 127.0.0.1.

mod auth;
mod costs;
mod errors;
mod events;
mod helpers;
mod isolation;
mod limits;
mod loadgen;
mod loadgen_otlp;
mod reads;
mod sessions;
mod text;
mod timestamps;
mod tokens;
