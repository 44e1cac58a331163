//! Field readers shared by the REST and OTLP ingest paths.

use serde_json::Value;

use super::error::{FieldError, preview};

/// Longest id (session, event, agent) accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// Largest token count accepted for one call. No model has a context of a
/// trillion tokens, and the bound keeps sums over millions of events far
/// from overflowing 64-bit integers.
pub const MAX_TOKEN_COUNT: i64 = 1_000_000_000_000;

/// Reads a token count. One rule for every token field: an integer from 0
/// to [`MAX_TOKEN_COUNT`], or a string of such digits, is the count;
/// anything else (negative, fractional, larger, text, a list) is stored as
/// no count, and the event is kept.
pub fn token_count(value: Option<&Value>) -> Option<i64> {
    let count = match value? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    count.filter(|count| (0..=MAX_TOKEN_COUNT).contains(count))
}

/// Reads an optional string field; numbers and booleans become their text.
pub fn opt_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Canonical session id: the lowercase hyphenated UUID when `raw` is a UUID
/// in any spelling, or 32 hex digits (an OpenTelemetry trace id); otherwise
/// the client's string as sent.
pub fn canonical_session_id(raw: &str) -> String {
    match uuid::Uuid::try_parse(raw.trim()) {
        Ok(uuid) => uuid.hyphenated().to_string(),
        Err(_) => raw.to_owned(),
    }
}

/// Reads a client-chosen id: a non-empty string (or number) of at most
/// [`MAX_ID_BYTES`]. `Ok(None)` when absent or null.
pub fn id_field(field: &str, value: Option<&Value>) -> Result<Option<String>, FieldError> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(Value::Number(number)) => number.to_string(),
        Some(other) => {
            return Err(FieldError::new(
                field,
                format!(
                    "{field} {} is not a string; send the id as a string such as a UUID",
                    preview(&other.to_string())
                ),
            ));
        }
    };
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > MAX_ID_BYTES {
        return Err(FieldError::new(
            field,
            format!(
                "{field} \"{}\" is {} bytes long; ids may be at most {MAX_ID_BYTES} bytes",
                preview(&text),
                text.len()
            ),
        ));
    }
    Ok(Some(text))
}

/// Reads tags: a list (non-string items become their JSON text) or a
/// comma-separated string. `None` when absent or null.
pub fn tags(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::Array(items) => Some(
            items
                .iter()
                .map(|item| match item {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        Value::String(text) => Some(
            text.split(',')
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_count_one_rule_per_value() {
        assert_eq!(token_count(Some(&json!(12))), Some(12));
        assert_eq!(token_count(Some(&json!("42"))), Some(42));
        assert_eq!(token_count(Some(&json!(-5))), None);
        assert_eq!(token_count(Some(&json!(3.5))), None);
        assert_eq!(token_count(Some(&json!(null))), None);
        assert_eq!(token_count(Some(&json!("seven"))), None);
        assert_eq!(token_count(Some(&json!("-1"))), None);
        assert_eq!(
            token_count(Some(&json!(MAX_TOKEN_COUNT))),
            Some(MAX_TOKEN_COUNT)
        );
        assert_eq!(token_count(Some(&json!(MAX_TOKEN_COUNT + 1))), None);
        let huge: Value = serde_json::from_str("99999999999999999999999").unwrap();
        assert_eq!(token_count(Some(&huge)), None);
    }

    #[test]
    fn session_id_canonical_forms_agree() {
        let hyphenated = canonical_session_id("5E551011-0000-4000-8000-000000000001");
        let trace_id = canonical_session_id("5e551011000040008000000000000001");
        assert_eq!(hyphenated, "5e551011-0000-4000-8000-000000000001");
        assert_eq!(trace_id, hyphenated);
        assert_eq!(canonical_session_id("my-session"), "my-session");
    }

    #[test]
    fn id_field_rejects_objects_and_long_ids() {
        assert!(id_field("id", Some(&json!({"a": 1}))).is_err());
        assert!(id_field("id", Some(&json!("x".repeat(300)))).is_err());
        assert_eq!(id_field("id", Some(&json!(""))).unwrap(), None);
        assert_eq!(
            id_field("id", Some(&json!(7))).unwrap().as_deref(),
            Some("7")
        );
    }
}
