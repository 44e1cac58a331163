//! Shared parts of every page: the layout (navigation, project picker,
//! assets), rendering, the HTML error page and the formats of times, counts
//! and money.

use askama::Template;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use super::assets;
use super::auth::SignedIn;
use crate::ingest::time;
use crate::model::{Micros, Picodollars};
use crate::store::dashboard::User;
use crate::store::{Project, StoreError};
use crate::view;

/// Renders a template as an HTML response; a template error is logged and
/// becomes a 500 page.
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "page template failed");
            PageError::internal().into_response()
        }
    }
}

/// The navigation bar, the signed-in user and the project picker.
pub struct Layout {
    pub title: String,
    /// Key of the highlighted navigation entry.
    pub active: &'static str,
    pub user: User,
    pub csrf_token: String,
    pub projects: Vec<Project>,
    /// The project the page shows, when it shows one.
    pub project: Option<Project>,
}

impl Layout {
    pub fn new(title: impl Into<String>, active: &'static str, signed_in: &SignedIn) -> Self {
        Layout {
            title: title.into(),
            active,
            user: signed_in.user.clone(),
            csrf_token: signed_in.csrf_token.clone(),
            projects: Vec::new(),
            project: None,
        }
    }

    /// URL of an embedded asset, with its content hash for caching.
    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }

    pub fn is_active(&self, entry: &str) -> bool {
        self.active == entry
    }

    pub fn project_name(&self) -> &str {
        self.project.as_ref().map(|p| p.name.as_str()).unwrap_or("")
    }
}

/// Picks the project named `requested`, or the first project.
pub fn choose_project(projects: &[Project], requested: Option<&str>) -> Result<Project, PageError> {
    let chosen = match requested.filter(|name| !name.is_empty()) {
        Some(name) => projects.iter().find(|project| project.name == name),
        None => projects.first(),
    };
    chosen.cloned().ok_or_else(|| match requested {
        Some(name) => PageError::not_found(format!(
            "No project is named \"{name}\"; pick one from the project list."
        )),
        None => PageError::not_found("No project exists yet; create an API key first."),
    })
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// An error shown as an HTML page with its status code.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PageError {
            status,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        PageError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        PageError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        PageError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn internal() -> Self {
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server failed to show this page; the cause has been logged. Retry later.",
        )
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => PageError::not_found(format!("{what} was not found.")),
            StoreError::Conflict(what) => PageError::new(StatusCode::CONFLICT, what),
            StoreError::Closed => PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is shutting down; retry in a moment.",
            ),
            StoreError::Database(cause) => {
                tracing::error!(error = %cause, "storage failed");
                PageError::internal()
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            status: self.status.as_u16(),
            reason: self.status.canonical_reason().unwrap_or("Error"),
            message: &self.message,
        };
        let html = page.render().unwrap_or_else(|_| self.message.clone());
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Html(html),
        )
            .into_response()
    }
}

/// `2026-12-04 15:08:23` in UTC.
pub fn format_time(micros: Micros) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|time| time.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| time::format(micros))
}

pub fn format_optional_time(micros: Option<Micros>) -> String {
    micros.map(format_time).unwrap_or_else(|| "—".into())
}

/// Formats a duration for people: `850 ms`, `12.4 s`, `3 min 05 s`, `2 h 03 min`.
pub fn format_duration(init_us: Option<Micros>, end_us: Option<Micros>) -> String {
    let Some(ms) = view::duration_ms(init_us, end_us) else {
        return "—".into();
    };
    let ms = ms.round() as i64;
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{} h {:02} min", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

/// Formats an integer with thin spaces between groups of three digits.
pub fn format_count(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    if value < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// `$0.00123`: the exact decimal of [`view::format_dollars`] with a sign.
pub fn format_cost(amount: Picodollars) -> String {
    format!("${}", view::format_dollars(amount))
}

/// Removes ANSI escape sequences (colors, cursor moves) from terminal
/// output: an ESC, an optional `[`, parameter bytes, and one final letter.
pub fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '\u{1b}' {
            plain.push(ch);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
        }
        for next in chars.by_ref() {
            if next.is_ascii_alphabetic() {
                break;
            }
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_count_groups_thousands() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(format_count(-1_000), "-1\u{202f}000");
    }

    #[test]
    fn format_duration_picks_unit() {
        assert_eq!(format_duration(Some(0), Some(850_000)), "850 ms");
        assert_eq!(format_duration(Some(0), Some(12_400_000)), "12.4 s");
        assert_eq!(format_duration(Some(0), Some(185_000_000)), "3 min 05 s");
        assert_eq!(format_duration(Some(0), None), "—");
    }

    #[test]
    fn strip_ansi_keeps_text_only() {
        assert_eq!(strip_ansi("\u{1b}[1;32mok\u{1b}[0m done"), "ok done");
        assert_eq!(strip_ansi("plain <b>text</b>"), "plain <b>text</b>");
    }

    #[test]
    fn format_time_is_utc_seconds() {
        assert_eq!(format_time(1_700_000_000_123_456), "2023-11-14 22:13:20");
    }
}
