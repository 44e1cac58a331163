//! The API keys page: list, create (the key is shown once) and revoke.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{CsrfForm, EmptyForm, SignedIn};
use super::page::{Layout, PageError, format_optional_time, format_time, render};
use crate::auth::api_key;
use crate::http::AppState;
use crate::store::ApiKeyInfo;

/// Maximum length of project names and key labels, in characters.
const MAX_NAME_CHARS: usize = 100;

pub struct KeyLine {
    pub id: i64,
    pub project: String,
    pub prefix: String,
    pub name: String,
    pub created: String,
    pub revoked: Option<String>,
}

impl KeyLine {
    fn new(key: ApiKeyInfo) -> Self {
        KeyLine {
            id: key.id,
            project: key.project,
            prefix: key.prefix,
            name: key.name.unwrap_or_default(),
            created: format_time(key.created_us),
            revoked: key.revoked_us.map(|us| format_optional_time(Some(us))),
        }
    }
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    layout: Layout,
    keys: Vec<KeyLine>,
    /// The key just created: its project and plain text, shown once.
    new_key: Option<(String, String)>,
    error: Option<String>,
    form_project: String,
    form_name: String,
}

async fn keys_page(
    state: &AppState,
    signed_in: &SignedIn,
    new_key: Option<(String, String)>,
    error: Option<String>,
    form: (String, String),
) -> Result<Response, PageError> {
    let keys = state.store.list_api_keys().await?;
    let mut layout = Layout::new("API keys", "keys", signed_in);
    layout.projects = state.store.list_projects().await?;
    let form_project = if form.0.is_empty() {
        layout
            .projects
            .first()
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "default".into())
    } else {
        form.0
    };
    let page = KeysPage {
        layout,
        keys: keys.into_iter().rev().map(KeyLine::new).collect(),
        new_key,
        error,
        form_project,
        form_name: form.1,
    };
    Ok(render(&page))
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    keys_page(&state, &signed_in, None, None, Default::default()).await
}

#[derive(Deserialize)]
pub struct CreateKeyForm {
    #[serde(default)]
    project: String,
    #[serde(default)]
    name: String,
}

/// Creates a key and shows it on the returned page; the page is not stored
/// by the browser (`no-store`), so the key cannot be shown again.
pub async fn create(
    State(state): State<AppState>,
    CsrfForm { signed_in, form }: CsrfForm<CreateKeyForm>,
) -> Result<Response, PageError> {
    if !signed_in.user.is_admin {
        return Err(PageError::forbidden("Only an admin can create API keys."));
    }
    let project = form.project.trim().to_owned();
    let name = form.name.trim().to_owned();
    let invalid = if project.is_empty() || project.chars().count() > MAX_NAME_CHARS {
        Some(format!(
            "The project name must have 1 to {MAX_NAME_CHARS} characters."
        ))
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(format!(
            "The key name must have at most {MAX_NAME_CHARS} characters."
        ))
    } else {
        None
    };
    if let Some(error) = invalid {
        return keys_page(&state, &signed_in, None, Some(error), (project, name)).await;
    }
    let project = state.store.ensure_project(&project).await?;
    let key = api_key::generate();
    let label = (!name.is_empty()).then_some(name.as_str());
    state
        .store
        .insert_api_key(project.id, &key.hash, &key.prefix, label)
        .await?;
    tracing::info!(
        project = project.name,
        prefix = key.prefix,
        user = signed_in.user.username,
        "api key created"
    );
    let new_key = Some((project.name, key.plain));
    keys_page(&state, &signed_in, new_key, None, Default::default()).await
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { signed_in, .. }: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    if !signed_in.user.is_admin {
        return Err(PageError::forbidden("Only an admin can revoke API keys."));
    }
    let revoked = state.store.revoke_api_key(&id.to_string()).await?;
    tracing::info!(
        key_id = id,
        revoked,
        user = signed_in.user.username,
        "api key revoked"
    );
    Ok(Redirect::to("/keys").into_response())
}
