//! The web dashboard: server-rendered pages with a little JavaScript, served
//! from the same router as the API. Every page except sign-in needs a
//! signed-in user (see `auth`).

mod agents;
mod assets;
pub mod auth;
mod filters;
mod keys;
mod metrics;
mod overview;
mod page;
mod session;
mod sessions;
mod users;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header;
use axum::middleware::map_response;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

use crate::http::AppState;

/// Scripts, styles and images only from this server, no inline script, no
/// framing; a prompt that smuggles markup past escaping still cannot run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/overview") }))
        .route("/signin", get(auth::sign_in_page).post(auth::sign_in))
        .route("/signout", post(auth::sign_out))
        .route("/overview", get(overview::page))
        .route("/api/metrics", get(metrics::metrics))
        .route("/sessions", get(sessions::list))
        .route("/sessions.csv", get(sessions::csv))
        .route("/drilldown", get(sessions::drilldown))
        .route("/sessions/{id}", get(session::page))
        .route("/sessions/{id}/timeline.json", get(session::timeline))
        .route("/sessions/{id}/events/{event_id}", get(session::event))
        .route("/sessions/{id}/export.json", get(session::export))
        .route("/agents", get(agents::page))
        .route("/keys", get(keys::page).post(keys::create))
        .route("/keys/{id}/revoke", post(keys::revoke))
        .route("/users", get(users::page).post(users::create))
        .route(
            "/account/password",
            get(users::password_page).post(users::change_password),
        )
        .route("/assets/{name}", get(assets::serve))
        .layer(map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// URL of an embedded asset, for templates without a layout.
pub fn assets_url(name: &str) -> String {
    assets::url(name)
}

/// CSS class of an end state badge, for templates.
pub fn end_state_class(end_state: &str) -> &'static str {
    sessions::end_state_class(end_state)
}
