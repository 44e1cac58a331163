//! The AgentOps REST API bodies: sessions, events and agents, in the shapes
//! of the public API document and of what the 0.3 SDK really sends.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::error::{FieldError, preview};
use super::{time, value};
use crate::model::{
    AgentRecord, EventPatch, EventRecord, Micros, SessionPatch, SessionRecord, TokenUsage, kind,
};

/// Reads a request body as a JSON object: `{"session": {...}}` and the flat
/// object are both accepted, under the key `wrapper`.
pub fn unwrap_object(body: Value, wrapper: &str) -> Result<Map<String, Value>, FieldError> {
    let Value::Object(mut outer) = body else {
        return Err(FieldError::new(
            "body",
            "the request body is not a JSON object; send an object such as {\"session\": {...}}",
        ));
    };
    match outer.remove(wrapper) {
        Some(Value::Object(inner)) => Ok(inner),
        Some(other) => Err(FieldError::new(
            wrapper,
            format!(
                "{wrapper} {} is not an object; send {{\"{wrapper}\": {{...}}}}",
                preview(&other.to_string())
            ),
        )),
        None => Ok(outer),
    }
}

/// Reads the session id of a session object (`id` in the API document,
/// `session_id` in the SDK), canonicalized.
pub fn session_id(object: &Map<String, Value>) -> Result<Option<String>, FieldError> {
    let raw = match object.get("id") {
        Some(Value::Null) | None => value::id_field("session_id", object.get("session_id"))?,
        present => value::id_field("id", present)?,
    };
    Ok(raw.map(|id| value::canonical_session_id(&id)))
}

fn opt_timestamp(object: &Map<String, Value>, field: &str) -> Result<Option<Micros>, FieldError> {
    match object.get(field) {
        None => Ok(None),
        Some(present) => time::parse_field(field, present),
    }
}

/// Builds the session record of `create_session`. A session without an id
/// gets a random UUID.
pub fn session_record(object: Map<String, Value>) -> Result<SessionRecord, FieldError> {
    let id = session_id(&object)?.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let init_us = opt_timestamp(&object, "init_timestamp")?.or_else(|| Some(time::now()));
    let end_us = opt_timestamp(&object, "end_timestamp")?;
    let host_env = object.get("host_env").filter(|v| v.is_object()).cloned();
    Ok(SessionRecord {
        id,
        name: value::opt_string(object.get("name")),
        init_us,
        end_us,
        end_state: value::opt_string(object.get("end_state")),
        end_state_reason: value::opt_string(object.get("end_state_reason")),
        tags: value::tags(object.get("tags")),
        host_env,
        body: Some(Value::Object(object).to_string()),
    })
}

/// Builds the patch of `update_session`: absent and null fields stay as
/// they are.
pub fn session_patch(object: &Map<String, Value>) -> Result<SessionPatch, FieldError> {
    Ok(SessionPatch {
        end_us: opt_timestamp(object, "end_timestamp")?,
        end_state: value::opt_string(object.get("end_state")),
        end_state_reason: value::opt_string(object.get("end_state_reason")),
        tags: value::tags(object.get("tags")),
        fields: object
            .iter()
            .filter(|(key, value)| !value.is_null() && !SESSION_KEYS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    })
}

/// Session fields that identify the session or carry a secret, never merged
/// into the stored session object by an update.
const SESSION_KEYS: [&str; 3] = ["id", "session_id", "jwt"];

/// Maps the API document's `type` and the SDK's `event_type` to one kind.
/// Known types are matched without regard to case or plural (`LLM`, `llms`);
/// any other type is kept, lowercased.
pub fn normalize_kind(raw: &str) -> String {
    let lower = raw.trim().to_lowercase();
    match lower.as_str() {
        "llm" | "llms" => kind::LLM.into(),
        "tool" | "tools" => kind::TOOL.into(),
        "action" | "actions" => kind::ACTION.into(),
        "error" | "errors" => kind::ERROR.into(),
        "api" | "apis" => kind::API.into(),
        _ => lower,
    }
}

fn event_kind(object: &Map<String, Value>) -> Result<String, FieldError> {
    let raw = value::opt_string(object.get("type"))
        .or_else(|| value::opt_string(object.get("event_type")))
        .filter(|text| !text.trim().is_empty());
    raw.map(|text| normalize_kind(&text)).ok_or_else(|| {
        FieldError::new(
            "type",
            "type is missing; set type to llm, tool, action or error (or event_type to llms, \
             tools, actions, errors or apis)",
        )
    })
}

fn usage(object: &Map<String, Value>) -> TokenUsage {
    TokenUsage {
        prompt: value::token_count(object.get("prompt_tokens")),
        completion: value::token_count(object.get("completion_tokens")),
        cache_read: value::token_count(
            object
                .get("cache_read_tokens")
                .or_else(|| object.get("cache_read_input_tokens")),
        ),
        cache_creation: value::token_count(
            object
                .get("cache_creation_tokens")
                .or_else(|| object.get("cache_creation_input_tokens")),
        ),
        reasoning: value::token_count(object.get("reasoning_tokens")),
        estimated: false,
    }
}

fn event_name(object: &Map<String, Value>) -> Option<String> {
    ["name", "tool_name", "action_type", "error_type"]
        .iter()
        .find_map(|field| value::opt_string(object.get(*field)))
}

/// An event that could not be read, with its position in the batch.
#[derive(Debug, Clone)]
pub struct RejectedEvent {
    pub index: usize,
    pub id: Option<String>,
    pub error: FieldError,
}

/// The events of a `create_events` body: the valid ones as records, and the
/// invalid ones with their reasons. One invalid event never rejects another.
#[derive(Debug, Default)]
pub struct ParsedEvents {
    pub events: Vec<EventRecord>,
    pub rejected: Vec<RejectedEvent>,
}

/// Why a `create_events` body could not be read at all.
#[derive(Debug)]
pub enum EventsBodyError {
    /// Not JSON.
    Syntax(serde_json::Error),
    /// JSON, but not `{"events": [...]}`.
    Shape(FieldError),
}

/// Reads `{"events": [...]}`; unknown top-level fields are ignored.
pub fn parse_events(body: &str, received_us: Micros) -> Result<ParsedEvents, EventsBodyError> {
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        events: Option<Vec<&'a RawValue>>,
    }
    let parsed: Body<'_> = serde_json::from_str(body).map_err(|err| {
        if err.is_data() {
            EventsBodyError::Shape(FieldError::new(
                "events",
                format!(
                    "events is not a list of event objects ({err}); send {{\"events\": [...]}}"
                ),
            ))
        } else {
            EventsBodyError::Syntax(err)
        }
    })?;
    let Some(raw_events) = parsed.events else {
        return Err(EventsBodyError::Shape(FieldError::new(
            "events",
            "events is missing; send {\"events\": [...]} with one object per event",
        )));
    };

    // Parse every event before storing any: text that is not JSON (such as
    // an unpaired surrogate escape, which no UTF-8 can hold) rejects the
    // whole body, while valid JSON of the wrong shape rejects one event.
    let mut values = Vec::with_capacity(raw_events.len());
    for raw in &raw_events {
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(value) => values.push(value),
            Err(err) if !err.is_data() => return Err(EventsBodyError::Syntax(err)),
            Err(err) => {
                return Err(EventsBodyError::Shape(FieldError::new(
                    "events",
                    format!("an event could not be read ({err}); send one JSON object per event"),
                )));
            }
        }
    }

    let mut result = ParsedEvents::default();
    for (index, (raw, value)) in raw_events.into_iter().zip(values).enumerate() {
        match event_record(raw, value, received_us) {
            Ok(event) => result.events.push(event),
            Err((id, error)) => result.rejected.push(RejectedEvent { index, id, error }),
        }
    }
    Ok(result)
}

type EventError = (Option<String>, FieldError);

fn event_record(
    raw: &RawValue,
    value: Value,
    received_us: Micros,
) -> Result<EventRecord, EventError> {
    let object = match value {
        Value::Object(object) => object,
        _ => {
            let error = FieldError::new(
                "event",
                format!(
                    "event {} is not a JSON object; send one object per event",
                    preview(raw.get())
                ),
            );
            return Err((None, error));
        }
    };
    let id = value::id_field("id", object.get("id")).map_err(|error| (None, error))?;
    let fail = |error: FieldError| (id.clone(), error);

    let kind = event_kind(&object).map_err(fail)?;
    let init_us = opt_timestamp(&object, "init_timestamp")
        .map_err(fail)?
        .unwrap_or(received_us);
    let end_us = opt_timestamp(&object, "end_timestamp").map_err(fail)?;
    let agent_id = value::id_field("agent_id", object.get("agent_id")).map_err(fail)?;

    let model = value::opt_string(object.get("model"));
    let mut usage = usage(&object);
    if kind == kind::LLM {
        estimate_absent_counts(&object, model.as_deref(), &mut usage);
    }
    let (cost, cost_source) = client_cost(&object);

    Ok(EventRecord {
        id: id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        is_error: kind == kind::ERROR,
        name: event_name(&object),
        init_us,
        end_us,
        agent_id,
        parent_id: value::opt_string(object.get("parent_id")),
        request_model: request_model(&object),
        model,
        usage,
        cost,
        cost_source,
        body: raw.get().to_owned(),
        kind,
        ..EventRecord::default()
    })
}

/// The model the client asked for, from the request parameters the SDK
/// sends (`params.model`).
fn request_model(object: &Map<String, Value>) -> Option<String> {
    object
        .get("params")
        .and_then(|params| params.get("model"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Counts the tokens of an LLM event that carries no token counts at all,
/// with the model's tokenizer, and marks them estimated. An event that sends
/// either count (even in an invalid form, or as null) is left as sent, so a
/// count the client got wrong is never silently replaced.
fn estimate_absent_counts(
    object: &Map<String, Value>,
    model: Option<&str>,
    usage: &mut TokenUsage,
) {
    if object.contains_key("prompt_tokens") || object.contains_key("completion_tokens") {
        return;
    }
    let null = Value::Null;
    let prompt = object.get("prompt").unwrap_or(&null);
    let completion = object.get("completion").unwrap_or(&null);
    let estimate = crate::cost::estimate_tokens(model.unwrap_or(""), prompt, completion);
    usage.prompt = estimate.prompt;
    usage.completion = estimate.completion;
    usage.estimated = true;
}

/// A cost the client sent, in dollars, wins over the computed one. One rule
/// for a cost that is not a non-negative number: it is ignored and the cost
/// is computed from the tokens.
fn client_cost(object: &Map<String, Value>) -> (Option<i64>, Option<crate::model::CostSource>) {
    match object.get("cost").filter(|value| !value.is_null()) {
        Some(value) => match crate::cost::client_cost_to_picodollars(value) {
            Ok(cost) => (Some(cost), Some(crate::model::CostSource::Client)),
            Err(_) => (None, None),
        },
        None => (None, None),
    }
}

/// Fields of an event that the store keeps in columns, so `update_events`
/// does not also merge them into the body.
const PATCH_COLUMNS: [&str; 3] = ["id", "event_id", "end_timestamp"];

/// Reads the patches of `update_events`: the event is named by `event_id`
/// (API document) or `id`.
pub fn parse_event_patches(body: Value) -> Result<Vec<EventPatch>, FieldError> {
    let events = match body {
        Value::Object(mut object) => match object.remove("events") {
            Some(Value::Array(events)) => events,
            Some(_) | None => vec![Value::Object(object)],
        },
        _ => {
            return Err(FieldError::new(
                "events",
                "the body is not a JSON object; send {\"events\": [{\"id\": ..., ...}]}",
            ));
        }
    };
    events
        .into_iter()
        .enumerate()
        .map(|(index, event)| event_patch(event).map_err(|e| e.within(&format!("events[{index}]"))))
        .collect()
}

fn event_patch(event: Value) -> Result<EventPatch, FieldError> {
    let Value::Object(object) = event else {
        return Err(FieldError::new(
            "event",
            "the event is not a JSON object; send {\"id\": ..., fields to change}",
        ));
    };
    let id = match value::id_field("event_id", object.get("event_id"))? {
        Some(id) => Some(id),
        None => value::id_field("id", object.get("id"))?,
    };
    let Some(id) = id else {
        return Err(FieldError::new(
            "id",
            "the event id is missing; name the event to update with id or event_id",
        ));
    };
    let end_us = opt_timestamp(&object, "end_timestamp")?;
    let usage = usage(&object);
    let model = value::opt_string(object.get("model"));
    let fields = object
        .into_iter()
        .filter(|(key, _)| !PATCH_COLUMNS.contains(&key.as_str()))
        .collect();
    Ok(EventPatch {
        id,
        end_us,
        model,
        usage,
        cost: None,
        fields,
    })
}

/// Reads `create_agent`: `{"id", "name"}`, flat or under `agent`.
pub fn agent_record(body: Value) -> Result<AgentRecord, FieldError> {
    let object = unwrap_object(body, "agent")?;
    let id = value::id_field("id", object.get("id"))?
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    Ok(AgentRecord {
        id,
        name: value::opt_string(object.get("name")),
        body: Value::Object(object).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_kind_accepts_both_vocabularies() {
        assert_eq!(normalize_kind("llms"), "llm");
        assert_eq!(normalize_kind("LLM"), "llm");
        assert_eq!(normalize_kind("tools"), "tool");
        assert_eq!(normalize_kind("apis"), "api");
        assert_eq!(normalize_kind("Retrieval"), "retrieval");
    }

    #[test]
    fn parse_events_rejects_only_bad_event() {
        let body = r#"{"events":[
            {"id":"a","type":"llm","init_timestamp":"2024-03-05T10:00:01Z"},
            {"id":"b","type":"llm","init_timestamp":"yesterday after lunch"},
            {"id":"c","type":"tool","init_timestamp":"2024-03-05T10:00:03Z"}]}"#;
        let parsed = parse_events(body, 0).unwrap();
        let ids: Vec<_> = parsed.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].index, 1);
        assert_eq!(parsed.rejected[0].id.as_deref(), Some("b"));
        assert_eq!(parsed.rejected[0].error.field, "init_timestamp");
    }

    #[test]
    fn parse_events_keeps_body_bytes() {
        let body = r#"{"events":[{"type":"llm","prompt":[{"role":"user","content":null}]}]}"#;
        let parsed = parse_events(body, 5).unwrap();
        let event = &parsed.events[0];
        assert_eq!(
            event.body,
            r#"{"type":"llm","prompt":[{"role":"user","content":null}]}"#
        );
        assert_eq!(event.init_us, 5);
        assert_eq!(event.id.len(), 36);
    }

    #[test]
    fn parse_events_requires_a_type() {
        let parsed = parse_events(r#"{"events":[{"id":"x","action_type":"a"}]}"#, 0).unwrap();
        assert_eq!(parsed.rejected[0].error.field, "type");
    }

    #[test]
    fn parse_events_estimates_only_without_counts() {
        let body = r#"{"events":[
            {"id":"a","type":"llm","model":"gpt-4o","prompt":"Hello there","completion":"Hi"},
            {"id":"b","type":"llm","model":"gpt-4o","prompt":"Hello","prompt_tokens":-1}]}"#;
        let parsed = parse_events(body, 0).unwrap();
        let estimated = &parsed.events[0].usage;
        assert!(estimated.estimated);
        assert!(estimated.prompt.unwrap() > 0);
        assert!(estimated.completion.unwrap() > 0);
        let sent = &parsed.events[1].usage;
        assert!(!sent.estimated);
        assert_eq!(sent.prompt, None);
        assert_eq!(sent.completion, None);
    }

    #[test]
    fn event_patch_accepts_event_id_and_id() {
        let body = serde_json::json!({"events": [
            {"event_id": "e1", "completion": "x", "completion_tokens": 4},
            {"id": "e2", "end_timestamp": "2024-03-05T10:00:00Z"}]});
        let patches = parse_event_patches(body).unwrap();
        assert_eq!(patches[0].id, "e1");
        assert_eq!(patches[0].usage.completion, Some(4));
        assert!(patches[0].fields.contains_key("completion"));
        assert!(!patches[0].fields.contains_key("event_id"));
        assert_eq!(patches[1].id, "e2");
        assert!(patches[1].end_us.is_some());
    }

    #[test]
    fn session_record_reads_sdk_shape() {
        let body = serde_json::json!({"session": {
            "session_id": "7B144995-E7F9-4D3D-BC7C-F0C4B4126930",
            "init_timestamp": "2026-12-04T15:08:39.026478+00:00",
            "end_state": "Indeterminate", "tags": ["a", "b"], "host_env": {"OS": {}}}});
        let object = unwrap_object(body, "session").unwrap();
        let record = session_record(object).unwrap();
        assert_eq!(record.id, "7b144995-e7f9-4d3d-bc7c-f0c4b4126930");
        assert_eq!(record.tags, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert!(record.host_env.is_some());
    }
}
