//! Users: the admin's list and add form, and every user's password change.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::auth::{Admin, CsrfForm, SignedIn, check_new_password, hash_password};
use super::page::{Layout, PageError, format_time, render};
use crate::http::AppState;
use crate::store::StoreError;
use crate::store::dashboard::{NewUser, User};

/// Maximum username length, in characters.
const MAX_USERNAME_CHARS: usize = 64;

pub struct UserLine {
    pub username: String,
    pub is_admin: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserLine>,
    message: Option<String>,
    error: Option<String>,
    form_username: String,
}

async fn users_page(
    state: &AppState,
    signed_in: &SignedIn,
    message: Option<String>,
    error: Option<String>,
    form_username: String,
) -> Result<Response, PageError> {
    let users = state.store.list_users().await?;
    let users = users
        .into_iter()
        .map(|user: User| UserLine {
            username: user.username,
            is_admin: user.is_admin,
            created: format_time(user.created_us),
        })
        .collect();
    let mut layout = Layout::new("Users", "users", signed_in);
    layout.projects = state.store.list_projects().await?;
    Ok(render(&UsersPage {
        layout,
        users,
        message,
        error,
        form_username,
    }))
}

pub async fn page(
    State(state): State<AppState>,
    Admin(signed_in): Admin,
) -> Result<Response, PageError> {
    users_page(&state, &signed_in, None, None, String::new()).await
}

#[derive(Deserialize)]
pub struct CreateUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
    /// Present (as "on") when the admin box is checked.
    is_admin: Option<String>,
}

fn check_username(username: &str) -> Result<(), String> {
    let valid_chars = username
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if username.is_empty() || username.chars().count() > MAX_USERNAME_CHARS || !valid_chars {
        return Err(format!(
            "The username must have 1 to {MAX_USERNAME_CHARS} letters, digits or . _ - @."
        ));
    }
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    CsrfForm { signed_in, form }: CsrfForm<CreateUserForm>,
) -> Result<Response, PageError> {
    if !signed_in.user.is_admin {
        return Err(PageError::forbidden("Only an admin can add users."));
    }
    let username = form.username.trim().to_owned();
    let checked = check_username(&username)
        .and_then(|_| check_new_password(&form.password, &form.confirmation));
    if let Err(error) = checked {
        return users_page(&state, &signed_in, None, Some(error), username).await;
    }
    let hash = hash_password(form.password)
        .await
        .map_err(|_| PageError::internal())?;
    let new_user = NewUser {
        username: username.clone(),
        password_hash: hash,
        is_admin: form.is_admin.is_some(),
        must_change_password: false,
    };
    match state.store.create_user(new_user).await {
        Ok(user) => {
            tracing::info!(
                username = user.username,
                by = signed_in.user.username,
                "user added"
            );
            let message = format!("Added user {}.", user.username);
            users_page(&state, &signed_in, Some(message), None, String::new()).await
        }
        Err(StoreError::Conflict(_)) => {
            let error = format!("A user named {username} exists; pick another name.");
            users_page(&state, &signed_in, None, Some(error), username).await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    layout: Layout,
    error: Option<String>,
    message: Option<String>,
}

async fn password_page_with(
    state: &AppState,
    signed_in: &SignedIn,
    error: Option<String>,
    message: Option<String>,
) -> Result<Response, PageError> {
    let mut layout = Layout::new("Change password", "password", signed_in);
    layout.projects = state.store.list_projects().await?;
    Ok(render(&PasswordPage {
        layout,
        error,
        message,
    }))
}

pub async fn password_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    password_page_with(&state, &signed_in, None, None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirmation: String,
}

/// Changes the signed-in user's password after checking the current one,
/// and signs out their other browsers.
pub async fn change_password(
    State(state): State<AppState>,
    CsrfForm { signed_in, form }: CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let credentials = state
        .store
        .user_credentials(&signed_in.user.username)
        .await?
        .ok_or_else(|| PageError::not_found("Your user no longer exists; sign in again."))?;
    let current_ok =
        super::auth::verify_password(form.current, Some(credentials.password_hash)).await;
    if !current_ok {
        let error = Some("The current password is wrong.".to_owned());
        return password_page_with(&state, &signed_in, error, None).await;
    }
    if let Err(error) = check_new_password(&form.password, &form.confirmation) {
        return password_page_with(&state, &signed_in, Some(error), None).await;
    }
    let hash = hash_password(form.password)
        .await
        .map_err(|_| PageError::internal())?;
    state
        .store
        .set_password(signed_in.user.id, &hash, Some(&signed_in.session_hash))
        .await?;
    tracing::info!(username = signed_in.user.username, "password changed");
    let mut signed_in = signed_in;
    signed_in.user.must_change_password = false;
    let message = Some("Your password was changed; other browsers were signed out.".to_owned());
    password_page_with(&state, &signed_in, None, message).await
}
