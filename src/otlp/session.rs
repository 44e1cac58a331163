//! The session a trace's spans describe: the span that defines the session
//! and the fields taken from it.

use serde::Serialize;
use serde_json::{Map, Value};

use super::attributes::nest_attributes;
use super::map::json_text;
use crate::model::{Micros, SessionRecord};

/// Source of a batch's session fields, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionSource {
    /// No session span in the batch: only the provisional times are known,
    /// and every other field is `None`.
    Spans,
    /// A span of kind `session` that has a parent, such as `start_trace`
    /// called while the SDK's automatic trace is open.
    NestedSessionSpan,
    /// The trace's root span, the one without a parent.
    RootSpan,
}

/// Fields of one valid span that session derivation reads.
pub(crate) struct SpanFacts<'a> {
    pub span_id: &'a str,
    pub name: &'a str,
    pub is_root: bool,
    pub is_session_kind: bool,
    pub start_us: Micros,
    pub end_us: Option<Micros>,
    pub attributes: &'a Map<String, Value>,
}

/// Derives the partial session of one trace from one batch of its spans.
///
/// The session span is the root span when the batch has one, else the
/// outermost span of kind `session`. Among several roots a `session` root
/// wins, then the earliest start, then the smallest span id. Among nested
/// session spans the earliest start wins, then the smallest span id. So the
/// choice does not depend on the order of spans in the request.
///
/// With the root span, the session's times are the root's. Without it, they
/// are provisional: the earliest start and the latest end of the batch's
/// spans, which the store widens until the root arrives.
pub(crate) fn derive_session(
    session_id: &str,
    trace_id: &str,
    spans: &[SpanFacts<'_>],
) -> (SessionRecord, SessionSource) {
    let root = spans
        .iter()
        .filter(|span| span.is_root)
        .min_by_key(|span| (!span.is_session_kind, span.start_us, span.span_id));
    if let Some(root) = root {
        let session = session_from_span(session_id, trace_id, root);
        return (session, SessionSource::RootSpan);
    }

    let nested = spans
        .iter()
        .filter(|span| span.is_session_kind)
        .min_by_key(|span| (span.start_us, span.span_id));
    let (session, source) = match nested {
        Some(nested) => (
            session_from_span(session_id, trace_id, nested),
            SessionSource::NestedSessionSpan,
        ),
        None => (SessionRecord::default(), SessionSource::Spans),
    };
    let provisional = SessionRecord {
        id: session_id.to_owned(),
        init_us: spans.iter().map(|span| span.start_us).min(),
        end_us: spans.iter().filter_map(|span| span.end_us).max(),
        ..session
    };
    (provisional, source)
}

/// The stored session body: the span it came from and that span's
/// attributes, borrowed so that they are serialized without a copy.
#[derive(Serialize)]
struct SessionBody<'a> {
    trace_id: &'a str,
    span_id: &'a str,
    span_name: &'a str,
    attributes: &'a Map<String, Value>,
}

fn session_from_span(session_id: &str, trace_id: &str, span: &SpanFacts<'_>) -> SessionRecord {
    let attributes = span.attributes;
    let text = |key: &str| attributes.get(key).and_then(attribute_text);
    let name = text("operation.name")
        .filter(|name| !name.is_empty())
        .or_else(|| name_from_span_name(span.name));
    let body = SessionBody {
        trace_id,
        span_id: span.span_id,
        span_name: span.name,
        attributes,
    };

    SessionRecord {
        id: session_id.to_owned(),
        name,
        init_us: Some(span.start_us),
        end_us: span.end_us,
        end_state: text("agentops.session.end_state"),
        end_state_reason: text("agentops.legacy.end_state_reason"),
        tags: attributes.get("agentops.tags").and_then(parse_tags),
        host_env: host_env(attributes),
        body: Some(json_text(&body)),
    }
}

/// Returns the span name without the `.session` suffix the AgentOps SDK
/// appends, or `None` when nothing remains.
fn name_from_span_name(span_name: &str) -> Option<String> {
    let name = span_name.strip_suffix(".session").unwrap_or(span_name);
    (!name.is_empty()).then(|| name.to_owned())
}

/// Strings as themselves, other values as their JSON text, null as `None`.
fn attribute_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// Reads `agentops.tags`: an array, or the JSON text of an array as
/// `update_trace_metadata` writes it. Any other text is one tag, and an empty
/// text is no tags.
fn parse_tags(value: &Value) -> Option<Vec<String>> {
    let tag_list = |items: &[Value]| items.iter().filter_map(attribute_text).collect();
    match value {
        Value::Null => None,
        Value::Array(items) => Some(tag_list(items)),
        Value::String(text) if text.trim().is_empty() => Some(Vec::new()),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => Some(tag_list(&items)),
            _ => Some(vec![text.clone()]),
        },
        other => attribute_text(other).map(|tag| vec![tag]),
    }
}

/// Attribute prefixes the SDK's legacy `start_session` uses for the host.
const HOST_ENV_PREFIXES: [&str; 4] = ["host.", "os.", "cpu.", "memory."];

/// Collects the host attributes as nested JSON
/// (`{"host": {"name": …}, "cpu": …}`), or `None` when the span has none.
fn host_env(attributes: &Map<String, Value>) -> Option<Value> {
    let host: Map<String, Value> = attributes
        .iter()
        .filter(|(key, _)| {
            HOST_ENV_PREFIXES
                .iter()
                .any(|prefix| key.starts_with(prefix))
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    (!host.is_empty()).then(|| nest_attributes(&host))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attributes(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test input must be a JSON object"),
        }
    }

    #[test]
    fn parse_tags_accepts_each_form() {
        let cases = [
            (json!(["a", "b"]), Some(vec!["a", "b"])),
            (json!("[\"meta-tag\"]"), Some(vec!["meta-tag"])),
            (json!("single"), Some(vec!["single"])),
            (json!(""), Some(vec![])),
            (json!([1, true]), Some(vec!["1", "true"])),
            (json!(null), None),
        ];
        for (value, expected) in cases {
            let expected = expected.map(|tags| tags.into_iter().map(String::from).collect());
            assert_eq!(parse_tags(&value), expected, "agentops.tags = {value}");
        }
    }

    #[test]
    fn derive_session_prefers_root_span() {
        let nested_attributes = attributes(json!({
            "agentops.span.kind": "session",
            "operation.name": "inner",
        }));
        let root_attributes = attributes(json!({"agentops.span.kind": "session"}));
        let spans = [
            SpanFacts {
                span_id: "0000000000000002",
                name: "inner.session",
                is_root: false,
                is_session_kind: true,
                start_us: 10,
                end_us: Some(20),
                attributes: &nested_attributes,
            },
            SpanFacts {
                span_id: "0000000000000001",
                name: "outer.session",
                is_root: true,
                is_session_kind: true,
                start_us: 5,
                end_us: None,
                attributes: &root_attributes,
            },
        ];
        let (session, source) = derive_session("s", "t", &spans);
        assert_eq!(source, SessionSource::RootSpan);
        assert_eq!(session.name.as_deref(), Some("outer"));
        assert_eq!(session.init_us, Some(5));
        assert_eq!(session.end_us, None);
    }

    #[test]
    fn derive_session_without_session_span() {
        let empty = Map::new();
        let span = |start_us| SpanFacts {
            span_id: "0000000000000003",
            name: "step",
            is_root: false,
            is_session_kind: false,
            start_us,
            end_us: Some(start_us + 1),
            attributes: &empty,
        };
        let (session, source) = derive_session("s", "t", &[span(30), span(7)]);
        assert_eq!(source, SessionSource::Spans);
        assert_eq!(session.init_us, Some(7));
        assert_eq!(session.end_us, Some(31));
        assert_eq!(session.name, None);
        assert_eq!(session.body, None);
    }
}
