//! Generative-AI span attributes (`gen_ai.*`): the model, token usage, client
//! cost and chat messages of LLM spans.
//!
//! Attribute names follow the OpenTelemetry GenAI semantic conventions and the
//! older names the AgentOps SDK 0.4 instrumentors still send
//! (`gen_ai.usage.prompt_tokens`, indexed `gen_ai.prompt.N.*` messages).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::ingest::value::token_count;
use crate::model::TokenUsage;

/// Returns whether the attributes describe a call to a model.
pub(crate) fn is_llm(attributes: &Map<String, Value>) -> bool {
    [
        "gen_ai.system",
        "gen_ai.provider.name",
        "gen_ai.request.model",
    ]
    .iter()
    .any(|key| attributes.contains_key(*key))
}

/// Returns whether the attributes describe a tool call
/// (`gen_ai.operation.name` is `execute_tool`). Some instrumentors also set
/// `gen_ai.system` on such spans.
pub(crate) fn is_tool_call(attributes: &Map<String, Value>) -> bool {
    string(attributes, "gen_ai.operation.name") == Some("execute_tool")
}

/// Returns the response model, else the request model.
pub(crate) fn model(attributes: &Map<String, Value>) -> Option<String> {
    ["gen_ai.response.model", "gen_ai.request.model"]
        .iter()
        .find_map(|key| string(attributes, key).filter(|model| !model.is_empty()))
        .map(str::to_owned)
}

/// Reads the token counts from `gen_ai.usage.*`. The newer `input_tokens` and
/// `output_tokens` are read when the older `prompt_tokens` and
/// `completion_tokens` are absent. Counts follow the REST ingest rule of
/// [`token_count`]: a non-negative integer or a string of digits, else `None`.
pub(crate) fn token_usage(attributes: &Map<String, Value>) -> TokenUsage {
    let count = |keys: &[&str]| token_count(keys.iter().find_map(|key| attributes.get(*key)));
    TokenUsage {
        prompt: count(&["gen_ai.usage.prompt_tokens", "gen_ai.usage.input_tokens"]),
        completion: count(&[
            "gen_ai.usage.completion_tokens",
            "gen_ai.usage.output_tokens",
        ]),
        cache_read: count(&["gen_ai.usage.cache_read_input_tokens"]),
        cache_creation: count(&["gen_ai.usage.cache_creation_input_tokens"]),
        reasoning: count(&["gen_ai.usage.reasoning_tokens"]),
        estimated: false,
    }
}

/// Returns the client's cost in US dollars from `gen_ai.usage.total_cost`, as a plain
/// decimal string (`"0.01"`, never an exponent) for exact conversion by the
/// cost module. Negative, non-finite and non-numeric values give `None`.
pub(crate) fn client_cost_usd(attributes: &Map<String, Value>) -> Option<String> {
    match attributes.get("gen_ai.usage.total_cost")? {
        Value::Number(number) => {
            if let Some(integer) = number.as_u64() {
                return Some(integer.to_string());
            }
            // Display of f64 prints the shortest digits that read back as the
            // same double, without an exponent: 0.01 prints as "0.01".
            let double = number.as_f64().filter(|double| *double >= 0.0)?;
            Some(double.to_string())
        }
        Value::String(text) => {
            let text = text.trim();
            is_plain_decimal(text).then(|| text.to_owned())
        }
        _ => None,
    }
}

fn is_plain_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    !whole.is_empty() && digits(whole) && digits(fraction) && !text.ends_with('.')
}

/// Rebuilds the chat messages stored as indexed attributes under `prefix`
/// (`gen_ai.prompt` or `gen_ai.completion`).
///
/// `prefix.N.field` sets `field` of message N, and `prefix.N.list.M.field`
/// (such as `tool_calls.0.name`) sets `field` of item M of the list `list`.
/// Messages and list items come out ordered by index, skipping missing
/// indexes. Values are kept as sent, so a `content` that contains JSON text stays
/// a string. Without indexed attributes, a JSON array in `fallback_key`
/// (`gen_ai.input.messages` or `gen_ai.output.messages`, either as an array
/// value or as JSON text) is used. Returns `None` when neither is present.
pub(crate) fn messages(
    attributes: &Map<String, Value>,
    prefix: &str,
    fallback_key: &str,
) -> Option<Vec<Value>> {
    let mut messages: BTreeMap<u64, MessageParts> = BTreeMap::new();
    for (key, value) in attributes {
        let Some((index, field)) = indexed_field(key, prefix) else {
            continue;
        };
        messages.entry(index).or_default().set(field, value);
    }

    if messages.is_empty() {
        return message_list(attributes.get(fallback_key)?);
    }
    Some(
        messages
            .into_values()
            .map(MessageParts::into_json)
            .collect(),
    )
}

/// Splits `prefix.N.field` into N and `field`.
fn indexed_field<'a>(key: &'a str, prefix: &str) -> Option<(u64, &'a str)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('.')?;
    let (index, field) = rest.split_once('.')?;
    if field.is_empty() {
        return None;
    }
    Some((parse_index(index)?, field))
}

/// Accepts plain decimal digits only, so `+1` and ` 1` are not indexes.
fn parse_index(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[derive(Default)]
struct MessageParts {
    fields: Map<String, Value>,
    lists: BTreeMap<String, BTreeMap<u64, Map<String, Value>>>,
}

impl MessageParts {
    fn set(&mut self, field: &str, value: &Value) {
        if let Some((list, item_index, item_field)) = list_item_field(field) {
            self.lists
                .entry(list.to_owned())
                .or_default()
                .entry(item_index)
                .or_default()
                .insert(item_field.to_owned(), value.clone());
        } else {
            self.fields.insert(field.to_owned(), value.clone());
        }
    }

    /// Builds the message object. A list wins over a plain field of the same
    /// name, and the plain value remains in the span's attributes.
    fn into_json(self) -> Value {
        let mut message = self.fields;
        for (name, items) in self.lists {
            let items = items.into_values().map(Value::Object).collect();
            message.insert(name, Value::Array(items));
        }
        Value::Object(message)
    }
}

/// Splits `list.M.field` into its parts.
fn list_item_field(field: &str) -> Option<(&str, u64, &str)> {
    let (list, rest) = field.split_once('.')?;
    let (index, item_field) = rest.split_once('.')?;
    let index = parse_index(index)?;
    (!list.is_empty() && !item_field.is_empty()).then_some((list, index, item_field))
}

fn message_list(value: &Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items.clone()),
        Value::String(text) => match serde_json::from_str(text) {
            Ok(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

fn string<'a>(attributes: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    attributes.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attributes(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test input must be a JSON object"),
        }
    }

    #[test]
    fn is_llm_detects_gen_ai_keys() {
        assert!(is_llm(&attributes(json!({"gen_ai.system": "OpenAI"}))));
        assert!(is_llm(&attributes(json!({"gen_ai.request.model": "m"}))));
        assert!(!is_llm(&attributes(
            json!({"gen_ai.usage.total_cost": 0.01})
        )));
    }

    #[test]
    fn model_prefers_response_model() {
        let both = attributes(json!({
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        }));
        let request_only = attributes(json!({"gen_ai.request.model": "gpt-4o-mini"}));
        assert_eq!(model(&both).as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(model(&request_only).as_deref(), Some("gpt-4o-mini"));
        assert_eq!(model(&attributes(json!({}))), None);
    }

    #[test]
    fn token_usage_reads_every_count() {
        let usage = token_usage(&attributes(json!({
            "gen_ai.usage.input_tokens": 1200,
            "gen_ai.usage.output_tokens": 80,
            "gen_ai.usage.cache_read_input_tokens": 1000,
            "gen_ai.usage.cache_creation_input_tokens": 150,
            "gen_ai.usage.reasoning_tokens": 64,
        })));
        assert_eq!(usage.prompt, Some(1200));
        assert_eq!(usage.completion, Some(80));
        assert_eq!(usage.cache_read, Some(1000));
        assert_eq!(usage.cache_creation, Some(150));
        assert_eq!(usage.reasoning, Some(64));
        assert!(!usage.estimated);
    }

    #[test]
    fn token_usage_prefers_older_names() {
        let usage = token_usage(&attributes(json!({
            "gen_ai.usage.prompt_tokens": 21,
            "gen_ai.usage.input_tokens": 999,
            "gen_ai.usage.completion_tokens": 8,
        })));
        assert_eq!(usage.prompt, Some(21));
        assert_eq!(usage.completion, Some(8));
    }

    #[test]
    fn token_usage_invalid_counts_are_none() {
        let cases = [
            (json!(-5), None),
            (json!(3.5), None),
            (json!(7.0), None),
            (json!("42"), Some(42)),
            (json!("-1"), None),
            (json!("many"), None),
            (json!(true), None),
            (json!(1e300), None),
            (json!(u64::MAX), None),
        ];
        for (value, expected) in cases {
            let usage = token_usage(&attributes(json!({"gen_ai.usage.prompt_tokens": value})));
            assert_eq!(usage.prompt, expected, "prompt_tokens = {value}");
        }
    }

    #[test]
    fn client_cost_is_plain_decimal() {
        let cases = [
            (json!(0.01), Some("0.01")),
            (json!(2), Some("2")),
            (json!(0.0000001), Some("0.0000001")),
            (json!("1.25"), Some("1.25")),
            (json!("1e-3"), None),
            (json!("1."), None),
            (json!(-0.5), None),
            (json!("free"), None),
        ];
        for (value, expected) in cases {
            let cost = client_cost_usd(&attributes(json!({"gen_ai.usage.total_cost": value})));
            assert_eq!(cost.as_deref(), expected, "total_cost = {value}");
        }
    }

    #[test]
    fn messages_rebuilt_in_index_order() {
        let input = attributes(json!({
            "gen_ai.prompt.10.role": "user",
            "gen_ai.prompt.10.content": "third",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "first",
            "gen_ai.prompt.2.content": "second",
            "gen_ai.prompt.x.content": "not indexed",
            "gen_ai.prompts.0.content": "other prefix",
        }));
        let expected = vec![
            json!({"role": "system", "content": "first"}),
            json!({"content": "second"}),
            json!({"role": "user", "content": "third"}),
        ];
        let prompt = messages(&input, "gen_ai.prompt", "gen_ai.input.messages");
        assert_eq!(prompt, Some(expected));
    }

    #[test]
    fn messages_rebuild_tool_calls() {
        let input = attributes(json!({
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_calls",
            "gen_ai.completion.0.tool_calls.1.name": "get_time",
            "gen_ai.completion.0.tool_calls.0.id": "c1",
            "gen_ai.completion.0.tool_calls.0.name": "get_weather",
            "gen_ai.completion.0.tool_calls.0.arguments": "{\"city\":\"Oslo\"}",
        }));
        let expected = json!({
            "role": "assistant",
            "finish_reason": "tool_calls",
            "tool_calls": [
                {"id": "c1", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
                {"name": "get_time"},
            ],
        });
        let completion = messages(&input, "gen_ai.completion", "gen_ai.output.messages");
        assert_eq!(completion, Some(vec![expected]));
    }

    #[test]
    fn messages_fall_back_to_json_text() {
        let input = attributes(json!({
            "gen_ai.input.messages": "[{\"role\":\"user\",\"parts\":[]}]",
        }));
        let prompt = messages(&input, "gen_ai.prompt", "gen_ai.input.messages");
        assert_eq!(prompt, Some(vec![json!({"role": "user", "parts": []})]));
        assert_eq!(
            messages(&input, "gen_ai.completion", "gen_ai.output.messages"),
            None
        );
    }
}
