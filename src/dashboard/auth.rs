//! Dashboard users: Argon2 password hashes, the session cookie, CSRF tokens
//! and the sign-in, sign-out and first-admin flows.
//!
//! A signed-in browser holds a cookie with 256 random bits; the store keeps
//! only its SHA-256, with an expiry and a CSRF token. Every POST carries that
//! token in a hidden `csrf_token` field ([`CsrfForm`] checks it). The
//! sign-in form, posted before any session exists, checks a double-submit
//! token instead: a random cookie that the form repeats.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::{FromRequest, FromRequestParts, Query, RawForm, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::page::{PageError, render};
use crate::http::AppState;
use crate::ingest::time;
use crate::model::Micros;
use crate::store::Store;
use crate::store::dashboard::{NewUser, NewWebSession, User};

pub const SESSION_COOKIE: &str = "tracewell_session";
const SIGNIN_COOKIE: &str = "tracewell_signin";
/// How long a sign-in lasts: 7 days, not extended by use.
const WEB_SESSION_TTL_US: Micros = 7 * 24 * 3600 * 1_000_000;
/// Shortest password accepted for new and changed passwords.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The password page, the only page a user with a one-time password sees.
pub const PASSWORD_PATH: &str = "/account/password";
/// Name of the user created on the first start.
pub const ADMIN_USERNAME: &str = "admin";

/// 256 random bits as 64 hex digits.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn tokens_match(expected: &str, given: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// Hashes a password with Argon2id (default parameters, random salt) into
/// a PHC string, on a blocking thread because it takes tens of milliseconds.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("password hashing failed: {err}"))
    })
    .await?
}

/// A hash to verify against when the username is unknown, so that a wrong
/// username takes as long as a wrong password.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(random_token().as_bytes())
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DECOY_HASH.clone());
        let verified = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        known && verified
    })
    .await
    .unwrap_or(false)
}

/// Checks a new password; returns the sentence to show when it is rejected.
pub fn check_new_password(password: &str, confirmation: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "The new password is too short; use at least {MIN_PASSWORD_CHARS} characters."
        ));
    }
    if password != confirmation {
        return Err("The two new passwords differ; type the same password twice.".into());
    }
    Ok(())
}

/// Creates the user `admin` when the database has no user. Returns the
/// generated password to print, or `None` when `configured_password` was
/// used or users already exist.
pub async fn ensure_admin(
    store: &dyn Store,
    configured_password: Option<&str>,
) -> anyhow::Result<Option<String>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match configured_password {
        Some(password) => {
            if password.chars().count() < MIN_PASSWORD_CHARS {
                anyhow::bail!(
                    "TRACEWELL_ADMIN_PASSWORD is too short; set at least {MIN_PASSWORD_CHARS} \
                     characters"
                );
            }
            (password.to_owned(), false)
        }
        None => (random_token()[..24].to_owned(), true),
    };
    let user = NewUser {
        username: ADMIN_USERNAME.to_owned(),
        password_hash: hash_password(password.clone()).await?,
        is_admin: true,
        must_change_password: generated,
    };
    store.create_user(user).await?;
    tracing::info!(username = ADMIN_USERNAME, "dashboard admin created");
    Ok(generated.then_some(password))
}

/// The signed-in user of a dashboard request.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub csrf_token: String,
    /// SHA-256 of the session cookie, the key of the stored session.
    pub session_hash: String,
}

impl SignedIn {
    /// Reads and checks the session cookie; `None` when absent, unknown or
    /// expired.
    pub async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Option<Self>, PageError> {
        let jar = CookieJar::from_headers(headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Ok(None);
        };
        let session_hash = sha256_hex(cookie.value());
        let found = state.store.web_session(&session_hash, time::now()).await?;
        Ok(found.map(|session| SignedIn {
            user: session.user,
            csrf_token: session.csrf_token,
            session_hash,
        }))
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match SignedIn::from_headers(state, &parts.headers).await {
            Ok(Some(signed_in)) if signed_in.user.must_change_password => {
                if [PASSWORD_PATH, "/signout"].contains(&parts.uri.path()) {
                    Ok(signed_in)
                } else {
                    Err(Redirect::to(PASSWORD_PATH).into_response())
                }
            }
            Ok(Some(signed_in)) => Ok(signed_in),
            Ok(None) => Err(sign_in_redirect(parts).into_response()),
            Err(err) => Err(err.into_response()),
        }
    }
}

/// Redirects to the sign-in page, which returns to this page afterwards.
fn sign_in_redirect(parts: &Parts) -> Redirect {
    let next = parts
        .uri
        .path_and_query()
        .map(|path| path.as_str())
        .unwrap_or("/");
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/signin?{query}"))
}

/// A signed-in user who is an admin; others get 403.
pub struct Admin(pub SignedIn);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if !signed_in.user.is_admin {
            return Err(PageError::forbidden("Only an admin can manage users.").into_response());
        }
        Ok(Admin(signed_in))
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf_token: String,
}

/// A form posted by a signed-in user with a valid CSRF token. A missing or
/// wrong token gets 403, a form that does not parse gets 400.
pub struct CsrfForm<T> {
    pub signed_in: SignedIn,
    pub form: T,
}

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: serde::de::DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let RawForm(bytes) = RawForm::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|_| bad_form())?;
        if !tokens_match(&signed_in.csrf_token, &field.csrf_token) {
            tracing::warn!(
                user = signed_in.user.username,
                "form rejected: invalid csrf token"
            );
            return Err(csrf_rejected());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|_| bad_form())?;
        Ok(CsrfForm { signed_in, form })
    }
}

fn bad_form() -> Response {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "The form could not be read; reload the page and submit it again.",
    )
    .into_response()
}

fn csrf_rejected() -> Response {
    PageError::forbidden(
        "The form's security token is missing or out of date; reload the page and submit it again.",
    )
    .into_response()
}

fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(
            WEB_SESSION_TTL_US / 1_000_000,
        ))
        .build()
}

fn signin_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SIGNIN_COOKIE, value))
        .path("/signin")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build()
}

fn secure_cookies(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

/// The page to return to after signing in: a path on this server only, so
/// the parameter cannot send the user to another site. Control characters
/// are rejected too, because they cannot go into a `Location` header.
fn local_path(next: Option<&str>) -> String {
    let is_local = |path: &str| {
        path.starts_with('/')
            && !path.starts_with("//")
            && !path.contains('\\')
            && !path.chars().any(char::is_control)
    };
    match next {
        Some(path) if is_local(path) => path.to_owned(),
        _ => "/overview".into(),
    }
}

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    next: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "signin.html")]
struct SignInPage {
    csrf_token: String,
    next: String,
    username: String,
    error: Option<String>,
}

pub async fn sign_in_page(
    State(state): State<AppState>,
    Query(query): Query<SignInQuery>,
    jar: CookieJar,
) -> Response {
    let token = random_token();
    let page = SignInPage {
        csrf_token: token.clone(),
        next: local_path(query.next.as_deref()),
        username: String::new(),
        error: None,
    };
    let jar = jar.add(signin_cookie(token, secure_cookies(&state)));
    (jar, render(&page)).into_response()
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    axum::Form(form): axum::Form<SignInForm>,
) -> Result<Response, PageError> {
    let expected = jar
        .get(SIGNIN_COOKIE)
        .map(|cookie| cookie.value().to_owned());
    if !expected.is_some_and(|token| tokens_match(&token, &form.csrf_token)) {
        return Ok(csrf_rejected());
    }
    let username = form.username.trim().to_owned();
    let credentials = state.store.user_credentials(&username).await?;
    let hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let next = local_path(form.next.as_deref());
    let verified = verify_password(form.password, hash).await;
    let Some(credentials) = credentials.filter(|_| verified) else {
        tracing::info!(username, "sign-in rejected");
        let token = random_token();
        let page = SignInPage {
            csrf_token: token.clone(),
            next,
            username,
            error: Some("Invalid username or password.".into()),
        };
        let jar = jar.add(signin_cookie(token, secure_cookies(&state)));
        return Ok((StatusCode::UNAUTHORIZED, jar, render(&page)).into_response());
    };

    let cookie_value = random_token();
    let session = NewWebSession {
        id_hash: sha256_hex(&cookie_value),
        user_id: credentials.user.id,
        csrf_token: random_token(),
        expires_us: time::now() + WEB_SESSION_TTL_US,
    };
    state.store.create_web_session(session).await?;
    tracing::info!(username = credentials.user.username, "signed in");
    let secure = secure_cookies(&state);
    let jar = jar
        .remove(signin_cookie(String::new(), secure))
        .add(session_cookie(cookie_value, secure));
    Ok((jar, Redirect::to(&next)).into_response())
}

#[derive(Deserialize)]
pub struct EmptyForm {}

pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm { signed_in, .. }: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    state
        .store
        .delete_web_session(&signed_in.session_hash)
        .await?;
    tracing::info!(username = signed_in.user.username, "signed out");
    let jar = jar.remove(session_cookie(String::new(), secure_cookies(&state)));
    Ok((jar, Redirect::to("/signin")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_path_rejects_other_sites() {
        assert_eq!(local_path(Some("/sessions?tag=a")), "/sessions?tag=a");
        assert_eq!(local_path(Some("//evil.example/x")), "/overview");
        assert_eq!(local_path(Some("https://evil.example/")), "/overview");
        assert_eq!(local_path(Some("/\\evil.example")), "/overview");
        assert_eq!(local_path(Some("/x\r\nSet-Cookie: a=b")), "/overview");
        assert_eq!(local_path(None), "/overview");
    }

    #[test]
    fn new_password_needs_length_and_match() {
        assert!(check_new_password("short", "short").is_err());
        assert!(check_new_password("long enough pw", "long enough pX").is_err());
        assert!(check_new_password("long enough pw", "long enough pw").is_ok());
    }

    #[test]
    fn password_hash_verifies_only_same_password() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let hash = runtime
            .block_on(hash_password("correct horse".into()))
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(runtime.block_on(verify_password("correct horse".into(), Some(hash.clone()))));
        assert!(!runtime.block_on(verify_password("wrong horse".into(), Some(hash))));
        assert!(!runtime.block_on(verify_password("correct horse".into(), None)));
    }
}
