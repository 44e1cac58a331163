//! The session a trace's spans describe: the span that defines the session,
//! the fields taken from it, and how batches of the same trace combine.

use serde_json::{Map, Value, json};

use super::attributes::nest_attributes;
use crate::model::{Micros, SessionRecord};

/// Source of a batch's session fields, weakest first. The order is the merge
/// priority of [`merge_session`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionSource {
    /// No session span in the batch: only `init_us`, the earliest span start,
    /// is known. Every other field is `None`.
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
pub(crate) fn derive_session(
    session_id: &str,
    trace_id: &str,
    spans: &[SpanFacts<'_>],
) -> (SessionRecord, SessionSource) {
    let root = spans
        .iter()
        .filter(|span| span.is_root)
        .min_by_key(|span| (!span.is_session_kind, span.start_us, span.span_id));
    let nested = || {
        spans
            .iter()
            .filter(|span| span.is_session_kind)
            .min_by_key(|span| (span.start_us, span.span_id))
    };

    if let Some(root) = root {
        (
            session_from_span(session_id, trace_id, root),
            SessionSource::RootSpan,
        )
    } else if let Some(nested) = nested() {
        let session = session_from_span(session_id, trace_id, nested);
        (session, SessionSource::NestedSessionSpan)
    } else {
        let session = SessionRecord {
            id: session_id.to_owned(),
            init_us: spans.iter().map(|span| span.start_us).min(),
            ..SessionRecord::default()
        };
        (session, SessionSource::Spans)
    }
}

fn session_from_span(session_id: &str, trace_id: &str, span: &SpanFacts<'_>) -> SessionRecord {
    let attributes = span.attributes;
    let text = |key: &str| attributes.get(key).and_then(attribute_text);
    let name = text("operation.name")
        .filter(|name| !name.is_empty())
        .or_else(|| name_from_span_name(span.name));
    let body = json!({
        "trace_id": trace_id,
        "span_id": span.span_id,
        "span_name": span.name,
        "attributes": attributes,
    });

    SessionRecord {
        id: session_id.to_owned(),
        name,
        init_us: Some(span.start_us),
        end_us: span.end_us,
        end_state: text("agentops.session.end_state"),
        end_state_reason: text("agentops.legacy.end_state_reason"),
        tags: attributes.get("agentops.tags").and_then(parse_tags),
        host_env: host_env(attributes),
        body: Some(body.to_string()),
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

/// Combines the stored session of a trace with the session derived from a new
/// batch of its spans, so that batches in any order, or sent twice, give the
/// same session. Returns the record to store and its source.
///
/// - A stronger source replaces every field, including with `None`, because
///   the root span defines the session whatever a nested session span set.
/// - A weaker source changes nothing.
/// - Two `Spans` sources keep the earlier `init_us`.
/// - Two session spans of the same source: the one that started earlier
///   wins, and on equal starts the stored one stays.
pub fn merge_session(
    stored: Option<(&SessionRecord, SessionSource)>,
    incoming: &SessionRecord,
    incoming_source: SessionSource,
) -> (SessionRecord, SessionSource) {
    let Some((stored, stored_source)) = stored else {
        return (incoming.clone(), incoming_source);
    };
    if incoming_source != stored_source {
        return if incoming_source > stored_source {
            (with_id(incoming, &stored.id), incoming_source)
        } else {
            (stored.clone(), stored_source)
        };
    }

    let incoming_first = match (incoming.init_us, stored.init_us) {
        (Some(incoming_init), Some(stored_init)) => incoming_init < stored_init,
        (incoming_init, stored_init) => incoming_init.is_some() && stored_init.is_none(),
    };
    if incoming_source == SessionSource::Spans {
        let mut merged = stored.clone();
        if incoming_first {
            merged.init_us = incoming.init_us;
        }
        return (merged, stored_source);
    }
    if incoming_first {
        (with_id(incoming, &stored.id), stored_source)
    } else {
        (stored.clone(), stored_source)
    }
}

fn with_id(session: &SessionRecord, id: &str) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        ..session.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test input must be a JSON object"),
        }
    }

    fn session(name: &str, init_us: Micros) -> SessionRecord {
        SessionRecord {
            id: "s".to_owned(),
            name: Some(name.to_owned()),
            init_us: Some(init_us),
            ..SessionRecord::default()
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
        assert_eq!(session.end_us, None);
        assert_eq!(session.name, None);
        assert_eq!(session.body, None);
    }

    #[test]
    fn merge_session_stronger_source_replaces() {
        let nested = session("inner", 10);
        let root = SessionRecord {
            end_state: None,
            ..session("outer", 5)
        };
        let nested_with_state = SessionRecord {
            end_state: Some("Fail".to_owned()),
            ..nested
        };
        let stored = Some((&nested_with_state, SessionSource::NestedSessionSpan));

        let (merged, source) = merge_session(stored, &root, SessionSource::RootSpan);
        assert_eq!(source, SessionSource::RootSpan);
        assert_eq!(merged.name.as_deref(), Some("outer"));
        assert_eq!(merged.end_state, None);
    }

    #[test]
    fn merge_session_weaker_source_ignored() {
        let root = session("outer", 5);
        let spans_only = SessionRecord {
            name: None,
            ..session("", 1)
        };
        let stored = Some((&root, SessionSource::RootSpan));
        let (merged, source) = merge_session(stored, &spans_only, SessionSource::Spans);
        assert_eq!(source, SessionSource::RootSpan);
        assert_eq!(merged.name.as_deref(), Some("outer"));
        assert_eq!(merged.init_us, Some(5));
    }

    #[test]
    fn merge_session_spans_keep_earliest_init() {
        let later = SessionRecord {
            name: None,
            ..session("", 50)
        };
        let earlier = SessionRecord {
            name: None,
            ..session("", 20)
        };
        let spans = SessionSource::Spans;
        let (one, _) = merge_session(Some((&later, spans)), &earlier, spans);
        let (two, _) = merge_session(Some((&earlier, spans)), &later, spans);
        assert_eq!(one.init_us, Some(20));
        assert_eq!(two.init_us, Some(20));
    }

    #[test]
    fn merge_session_same_source_earlier_wins() {
        let outer = session("outer", 5);
        let inner = session("inner", 9);
        let nested = SessionSource::NestedSessionSpan;
        let (one, _) = merge_session(Some((&outer, nested)), &inner, nested);
        let (two, _) = merge_session(Some((&inner, nested)), &outer, nested);
        assert_eq!(one.name.as_deref(), Some("outer"));
        assert_eq!(two.name.as_deref(), Some("outer"));
    }
}
