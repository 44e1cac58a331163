//! Query parameters shared by the overview, the session list, its CSV
//! export, the agents page and `/api/metrics`: time range and filters.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::ingest::time;
use crate::model::{Micros, ProjectId};
use crate::store::dashboard::SessionFilter;

const HOUR_US: Micros = 3_600_000_000;
const DAY_US: Micros = 24 * HOUR_US;

/// Preset time ranges of the pickers, newest sessions up to now.
pub const RANGES: [(&str, &str); 5] = [
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("all", "All time"),
];

/// Filters as the forms send them: an empty field means no filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FilterParams {
    pub project: String,
    /// A preset of [`RANGES`]; `from` and `to` override it.
    pub range: String,
    /// RFC 3339 instant or `YYYY-MM-DD` (00:00 UTC), inclusive.
    pub from: String,
    /// RFC 3339 instant (exclusive) or `YYYY-MM-DD` (the whole day included).
    pub to: String,
    pub tag: String,
    pub end_state: String,
    pub model: String,
    pub agent: String,
    /// Text in prompts and completions.
    pub q: String,
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Parses an instant; a date alone is its midnight UTC, plus one day when
/// `end_of_day` is set.
fn parse_instant(text: &str, end_of_day: bool) -> Option<Micros> {
    if let Ok(date) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros();
        return Some(if end_of_day {
            midnight + DAY_US
        } else {
            midnight
        });
    }
    time::parse_text(text)
}

fn preset_length(range: &str) -> Option<Micros> {
    match range {
        "24h" => Some(DAY_US),
        "7d" => Some(7 * DAY_US),
        "30d" => Some(30 * DAY_US),
        "90d" => Some(90 * DAY_US),
        _ => None,
    }
}

impl FilterParams {
    /// The range preset to show as selected, `default` when none was sent.
    pub fn range_or<'a>(&'a self, default: &'a str) -> &'a str {
        if RANGES.iter().any(|(key, _)| *key == self.range) {
            &self.range
        } else {
            default
        }
    }

    /// Start and end of the chosen range; `default_range` applies when no
    /// preset and no dates were sent. Returns the sentence to show when a
    /// date is invalid.
    pub fn bounds(
        &self,
        default_range: &str,
        now: Micros,
    ) -> Result<(Option<Micros>, Option<Micros>), String> {
        let from = match non_empty(&self.from) {
            Some(text) => {
                Some(parse_instant(&text, false).ok_or_else(|| invalid_date("from", &text))?)
            }
            None => None,
        };
        let to = match non_empty(&self.to) {
            Some(text) => {
                Some(parse_instant(&text, true).ok_or_else(|| invalid_date("to", &text))?)
            }
            None => None,
        };
        if from.is_some() || to.is_some() {
            if let (Some(from), Some(to)) = (from, to)
                && from >= to
            {
                return Err(
                    "The range ends before it starts; pick a \"to\" after \"from\".".into(),
                );
            }
            return Ok((from, to));
        }
        let length = preset_length(self.range_or(default_range));
        Ok((length.map(|length| now - length), None))
    }

    /// The store filter for `project`, with the range already resolved.
    pub fn to_filter(
        &self,
        project: ProjectId,
        (from_us, to_us): (Option<Micros>, Option<Micros>),
    ) -> SessionFilter {
        SessionFilter {
            project,
            from_us,
            to_us,
            tag: non_empty(&self.tag),
            end_state: non_empty(&self.end_state),
            model: non_empty(&self.model),
            agent: non_empty(&self.agent),
            text: non_empty(&self.q),
        }
    }

    /// The parameters as a query string, to build links that keep them.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let fields = [
            ("project", &self.project),
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("tag", &self.tag),
            ("end_state", &self.end_state),
            ("model", &self.model),
            ("agent", &self.agent),
            ("q", &self.q),
        ];
        fields
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| (name, value.trim().to_owned()))
            .collect()
    }
}

fn invalid_date(field: &str, value: &str) -> String {
    format!(
        "The \"{field}\" date \"{value}\" is invalid; use YYYY-MM-DD or an RFC 3339 time \
         such as 2026-12-04T15:00:00Z."
    )
}

/// Encodes query pairs, escaping each value.
pub fn encode_query(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Micros = 1_800_000_000_000_000;

    #[test]
    fn bounds_use_preset_when_no_dates() {
        let params = FilterParams {
            range: "24h".into(),
            ..FilterParams::default()
        };
        assert_eq!(params.bounds("7d", NOW), Ok((Some(NOW - DAY_US), None)));
    }

    #[test]
    fn bounds_default_range_all_is_unbounded() {
        let params = FilterParams::default();
        assert_eq!(params.bounds("all", NOW), Ok((None, None)));
    }

    #[test]
    fn bounds_date_to_includes_whole_day() {
        let params = FilterParams {
            from: "2026-12-01".into(),
            to: "2026-12-01".into(),
            ..FilterParams::default()
        };
        let (from, to) = params.bounds("7d", NOW).unwrap();
        assert_eq!(to.unwrap() - from.unwrap(), DAY_US);
    }

    #[test]
    fn bounds_reject_invalid_date() {
        let params = FilterParams {
            from: "yesterday".into(),
            ..FilterParams::default()
        };
        assert!(params.bounds("7d", NOW).unwrap_err().contains("yesterday"));
    }
}
