//! Request extractors: JSON bodies with clear errors, API keys and tokens.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::auth::api_key;
use crate::auth::token::{SessionClaims, TokenError};
use crate::store::Project;

pub const API_KEY_HEADER: &str = "x-agentops-api-key";

/// A request body that is valid UTF-8, kept as text. Bodies over the limit
/// get 413 and bytes that are not UTF-8 get 400, each as a JSON error.
pub struct Utf8Body(pub String);

impl<S: Send + Sync> FromRequest<S> for Utf8Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                payload_too_large()
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    "Invalid body",
                    format!("The request body could not be read ({rejection}); resend it."),
                )
            }
        })?;
        match String::from_utf8(bytes.into()) {
            Ok(text) => Ok(Utf8Body(text)),
            Err(err) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "Invalid JSON",
                format!(
                    "The body is not valid UTF-8: byte {} starts an invalid sequence; \
                     encode the body as UTF-8 JSON.",
                    err.utf8_error().valid_up_to()
                ),
            )),
        }
    }
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "Payload too large",
        "The request body is larger than this server's max_body_bytes; send smaller batches \
         or raise max_body_bytes in the server configuration.",
    )
}

/// A UTF-8 body parsed as JSON.
pub struct JsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Utf8Body(text) = Utf8Body::from_request(req, state).await?;
        parse_json(&text).map(JsonBody)
    }
}

pub fn parse_json(text: &str) -> Result<serde_json::Value, ApiError> {
    serde_json::from_str(text).map_err(|err| invalid_json(&err))
}

pub fn invalid_json(err: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_json",
        "Invalid JSON",
        format!("The body is not valid JSON: {err}; send a JSON object."),
    )
}

/// The project of the `X-Agentops-Api-Key` header.
pub struct ApiKeyProject(pub Project);

impl FromRequestParts<AppState> for ApiKeyProject {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let raw = parts
            .headers
            .get(API_KEY_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "missing_api_key",
                    "Missing API key",
                    "Send your API key in the X-Agentops-Api-Key header.",
                )
            })?;
        project_for_key(state, raw).await.map(ApiKeyProject)
    }
}

/// Finds the project of an API key, with the errors both API versions use:
/// 400 when it is not a UUID, 401 when no project has it.
pub async fn project_for_key(state: &AppState, raw: &str) -> Result<Project, ApiError> {
    let Some(key) = api_key::canonicalize(raw) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_api_key_format",
            "Invalid API key format",
            format!(
                "The API key \"{}\" is not a UUID; copy the key that `tracewell keys create` \
                 printed.",
                crate::ingest::error::preview(raw)
            ),
        ));
    };
    state
        .store
        .project_for_key(&api_key::hash(&key))
        .await?
        .ok_or_else(invalid_api_key)
}

pub fn invalid_api_key() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        "Invalid API key",
        "Please check your API key and try again; it is unknown or revoked.",
    )
}

/// Reads `Authorization: Bearer TOKEN`.
pub fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or("");
    if token.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Missing token",
            "The Authorization header holds no Bearer token; send Authorization: Bearer \
             <token>, with the jwt from create_session for /v2 endpoints, or the token from \
             /v3/auth/token for /v1/traces, /v4 and /public endpoints.",
        ));
    }
    Ok(token)
}

pub fn token_error(err: TokenError) -> ApiError {
    match err {
        TokenError::Expired => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "Invalid or expired JWT",
            "The token expired; please reauthorize using /v2/reauthorize_jwt with your API key.",
        ),
        TokenError::Invalid => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Invalid or expired JWT",
            "The token is malformed or its signature is invalid; please reauthorize using \
             /v2/reauthorize_jwt.",
        ),
    }
}

/// The session a v2 session token was issued for.
pub struct SessionToken(pub SessionClaims);

impl FromRequestParts<AppState> for SessionToken {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?;
        let claims = state.tokens.verify_session(token).map_err(token_error)?;
        require_active_key(state, claims.kid).await?;
        Ok(SessionToken(claims))
    }
}

/// The project a 30-day project token (from `/v3/auth/token` or
/// `/public/v1/auth/access_token`) was issued for.
pub struct ProjectToken(pub crate::auth::token::ProjectClaims);

impl FromRequestParts<AppState> for ProjectToken {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?;
        let claims = state
            .tokens
            .verify_project(token)
            .map_err(|err| match err {
                TokenError::Expired => ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "token_expired",
                    "Expired Token",
                    "The project token expired; request a new one from /v3/auth/token with \
                     your API key.",
                ),
                TokenError::Invalid => ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "Invalid token",
                    "The token is malformed, signed with another secret, or not a project \
                     token; request one from /v3/auth/token with your API key.",
                ),
            })?;
        require_active_key(state, claims.kid).await?;
        Ok(ProjectToken(claims))
    }
}

/// Rejects a token whose API key was revoked after the token was issued.
async fn require_active_key(state: &AppState, key_id: Option<i64>) -> Result<(), ApiError> {
    let Some(key_id) = key_id else {
        return Ok(());
    };
    if state
        .key_status
        .is_active(state.store.as_ref(), key_id)
        .await?
    {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "api_key_revoked",
        "API key revoked",
        "The API key this token was issued for has been revoked; get a new token with an \
         active key.",
    ))
}
