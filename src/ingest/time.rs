//! Timestamps as clients send them, read into microseconds since the epoch.
//!
//! Accepted: RFC 3339 with any offset (`Z`, `+00:00`, `+05:30`, lowercase
//! `t` and `z`, a space instead of `T`); the same without an offset, read as
//! UTC; any number of fractional digits, truncated (never rounded) to
//! microseconds; and JSON numbers as Unix time, whose unit is told by size:
//! below 10^11 seconds, below 10^14 milliseconds, below 10^17 microseconds,
//! else nanoseconds.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::Value;

use super::error::{FieldError, preview};
use crate::model::Micros;

const FIX: &str = "send an RFC 3339 timestamp such as 2024-03-05T10:00:00.000Z";

/// Reads a required or optional timestamp field; `Ok(None)` for null.
pub fn parse_field(field: &str, value: &Value) -> Result<Option<Micros>, FieldError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => parse_text(text)
            .map(Some)
            .ok_or_else(|| invalid(field, &format!("\"{}\"", preview(text)))),
        Value::Number(number) => number
            .as_f64()
            .and_then(from_unix_number)
            .map(Some)
            .ok_or_else(|| invalid(field, &number.to_string())),
        other => Err(invalid(field, &preview(&other.to_string()))),
    }
}

fn invalid(field: &str, shown: &str) -> FieldError {
    FieldError::new(
        field,
        format!("{field} {shown} is not a valid timestamp; {FIX}"),
    )
}

/// Parses an RFC 3339 or naive ISO 8601 date-time.
pub fn parse_text(text: &str) -> Option<Micros> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(to_micros(instant.with_timezone(&Utc)));
    }
    let normalized = text.replacen(['t', ' '], "T", 1);
    if let Ok(instant) = DateTime::parse_from_rfc3339(&normalized) {
        return Some(to_micros(instant.with_timezone(&Utc)));
    }
    NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| to_micros(Utc.from_utc_datetime(&naive)))
}

/// Floors to the microsecond, so 10:15:35.999999999 stays in second 35.
fn to_micros(instant: DateTime<Utc>) -> Micros {
    let seconds = instant.timestamp();
    let micros = i64::from(instant.timestamp_subsec_nanos() / 1_000);
    seconds * 1_000_000 + micros
}

fn from_unix_number(number: f64) -> Option<Micros> {
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let micros = if number < 1e11 {
        number * 1e6
    } else if number < 1e14 {
        number * 1e3
    } else if number < 1e17 {
        number
    } else {
        number / 1e3
    };
    (micros < 1e17).then(|| micros.floor() as Micros)
}

/// Formats an instant as RFC 3339 UTC with microseconds, e.g.
/// `2024-03-05T10:15:33.000000Z`.
pub fn format(micros: Micros) -> String {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(instant) => instant.to_rfc3339_opts(SecondsFormat::Micros, true),
        None => micros.to_string(),
    }
}

pub fn now() -> Micros {
    Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> String {
        format(parse_text(text).unwrap())
    }

    #[test]
    fn parse_applies_offset() {
        assert_eq!(
            parse("2024-03-05T15:45:33.000+05:30"),
            "2024-03-05T10:15:33.000000Z"
        );
    }

    #[test]
    fn parse_reads_naive_as_utc() {
        assert_eq!(
            parse("2024-03-05T10:15:34.000001"),
            "2024-03-05T10:15:34.000001Z"
        );
    }

    #[test]
    fn parse_truncates_nanoseconds() {
        assert_eq!(
            parse("2024-03-05T10:15:35.999999999Z"),
            "2024-03-05T10:15:35.999999Z"
        );
    }

    #[test]
    fn parse_accepts_lowercase_and_space() {
        assert_eq!(parse("2024-03-05t10:15:30z"), "2024-03-05T10:15:30.000000Z");
        assert_eq!(
            parse("2024-03-05 10:15:30+00:00"),
            "2024-03-05T10:15:30.000000Z"
        );
    }

    #[test]
    fn parse_rejects_prose_and_date_only() {
        assert_eq!(parse_text("yesterday after lunch"), None);
        assert_eq!(parse_text("2024-03-05"), None);
    }

    #[test]
    fn unix_numbers_by_magnitude() {
        let expected = parse_text("2024-03-05T10:00:00Z").unwrap();
        for value in ["1709632800", "1709632800000", "1709632800000000"] {
            let number: Value = serde_json::from_str(value).unwrap();
            assert_eq!(
                parse_field("t", &number).unwrap(),
                Some(expected),
                "{value}"
            );
        }
    }

    #[test]
    fn field_error_names_field_and_value() {
        let err = parse_field("init_timestamp", &Value::from("soon")).unwrap_err();
        assert_eq!(err.field, "init_timestamp");
        assert!(err.message.contains("\"soon\""), "{}", err.message);
        assert!(err.message.contains("RFC 3339"), "{}", err.message);
    }
}
