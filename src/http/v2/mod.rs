//! The legacy AgentOps REST API (`/v2/...`), used by SDK 0.3.

mod agents;
mod events;
mod read;
mod sessions;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/create_session", post(sessions::create_session))
        .route("/create_session", post(sessions::create_session))
        .route("/v2/update_session", post(sessions::update_session))
        .route("/v2/reauthorize_jwt", post(sessions::reauthorize_jwt))
        .route("/v2/create_events", post(events::create_events))
        .route("/v2/update_events", post(events::update_events))
        .route("/v2/create_agent", post(agents::create_agent))
        .route("/v2/create_thread", post(agents::create_thread))
        .route("/v2/developer_errors", post(agents::developer_errors))
        .route("/v2/sessions/{id}/stats", get(read::stats))
        .route("/v2/sessions/{id}/export", get(read::export))
}
