//! Token count estimates for LLM events that arrive without counts.
//!
//! Text is encoded with the model's tiktoken encoding, as `tiktoken-rs`
//! maps OpenAI model names (`o200k_base` for gpt-4o, gpt-4.1, gpt-5 and the
//! o-series, `cl100k_base` for gpt-4 and gpt-3.5). Any other model (Claude,
//! Gemini, Llama, ...) is estimated with `cl100k_base`: its own tokenizer is
//! not public or not shipped here, so such counts are approximate. Every
//! estimate is marked `estimated: true`.
//!
//! A prompt given as chat messages adds the framing tokens the OpenAI
//! cookbook documents (3 per message, 1 per `name`, 3 to prime the reply),
//! through `tiktoken_rs::num_tokens_from_messages`. Only text is counted:
//! images, audio and files in content parts are not.

use serde_json::Value;
use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};
use tiktoken_rs::{ChatCompletionRequestMessage, CoreBPE, FunctionCall};

use crate::model::TokenUsage;

/// Encoding for models that tiktoken does not know.
pub const FALLBACK_TOKENIZER: Tokenizer = Tokenizer::Cl100kBase;

/// Estimates prompt and completion tokens of one call.
///
/// `prompt` may be a string, a list of chat messages, one message object or
/// a request body with `messages`. `completion` may be a string, a message,
/// a choice or a response with `choices`, or a list of those. A null value,
/// or one without any text, gives a `None` count.
pub fn estimate_tokens(model: &str, prompt: &Value, completion: &Value) -> TokenUsage {
    let tokenizer = tokenizer_for_model(model);
    TokenUsage {
        prompt: count_prompt(tokenizer, prompt),
        completion: count_completion(tokenizer, completion),
        estimated: true,
        ..TokenUsage::default()
    }
}

/// Fills a missing prompt or completion count with an estimate, and marks
/// the usage estimated when it filled one. Counts the client sent are kept.
pub fn fill_missing_tokens(
    usage: &mut TokenUsage,
    model: &str,
    prompt: &Value,
    completion: &Value,
) {
    let tokenizer = tokenizer_for_model(model);
    if usage.prompt.is_none()
        && let Some(count) = count_prompt(tokenizer, prompt)
    {
        usage.prompt = Some(count);
        usage.estimated = true;
    }
    if usage.completion.is_none()
        && let Some(count) = count_completion(tokenizer, completion)
    {
        usage.completion = Some(count);
        usage.estimated = true;
    }
}

/// Returns the tiktoken encoding for a model name, ignoring a provider
/// prefix such as `openai/` or `azure/`.
pub fn tokenizer_for_model(model: &str) -> Tokenizer {
    let name = model.trim().to_lowercase();
    let bare = name.rsplit('/').next().unwrap_or(&name);
    get_tokenizer(bare).unwrap_or(FALLBACK_TOKENIZER)
}

fn encoding(tokenizer: Tokenizer) -> &'static CoreBPE {
    tiktoken_rs::bpe_for_tokenizer(tokenizer).expect("tiktoken-rs ships every encoding")
}

fn count_text(tokenizer: Tokenizer, text: &str) -> i64 {
    to_count(encoding(tokenizer).count_ordinary(text))
}

fn to_count(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

fn count_prompt(tokenizer: Tokenizer, prompt: &Value) -> Option<i64> {
    match prompt {
        Value::String(text) => Some(count_text(tokenizer, text)),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_string) => {
            let texts = items.iter().filter_map(Value::as_str);
            Some(texts.map(|text| count_text(tokenizer, text)).sum())
        }
        Value::Array(items) => count_messages(tokenizer, items),
        Value::Object(object) => match object.get("messages") {
            Some(Value::Array(messages)) => count_messages(tokenizer, messages),
            _ if is_message(prompt) => count_messages(tokenizer, std::slice::from_ref(prompt)),
            _ => object
                .get("prompt")
                .or_else(|| object.get("text"))
                .and_then(|inner| count_prompt(tokenizer, inner)),
        },
        _ => None,
    }
}

fn count_completion(tokenizer: Tokenizer, completion: &Value) -> Option<i64> {
    let mut texts = Vec::new();
    collect_completion_text(completion, &mut texts);
    if texts.is_empty() {
        return None;
    }
    Some(texts.iter().map(|text| count_text(tokenizer, text)).sum())
}

/// Collects the generated text of a completion: message content, tool call
/// names and arguments, and the `text` of legacy completion choices.
fn collect_completion_text(value: &Value, texts: &mut Vec<String>) {
    match value {
        Value::String(text) => texts.push(text.clone()),
        Value::Array(items) => {
            for item in items {
                collect_completion_text(item, texts);
            }
        }
        Value::Object(object) => {
            if let Some(choices) = object.get("choices") {
                collect_completion_text(choices, texts);
            } else if let Some(message) = object.get("message") {
                collect_completion_text(message, texts);
            } else if let Some(Value::String(text)) = object.get("text") {
                texts.push(text.clone());
            } else {
                let message = to_chat_message(value);
                texts.extend(message.content);
                for call in message.function_call.iter().chain(&message.tool_calls) {
                    texts.push(call.name.clone());
                    texts.push(call.arguments.clone());
                }
            }
        }
        _ => {}
    }
}

/// Counts chat messages with the cookbook's framing tokens. Items that are
/// not message objects are ignored, and `None` means none was a message.
fn count_messages(tokenizer: Tokenizer, items: &[Value]) -> Option<i64> {
    let messages: Vec<ChatCompletionRequestMessage> = items
        .iter()
        .filter(|item| is_message(item))
        .map(to_chat_message)
        .collect();
    if messages.is_empty() {
        return None;
    }

    match chat_model_for(tokenizer) {
        Some(model) => tiktoken_rs::num_tokens_from_messages(model, &messages)
            .ok()
            .map(to_count),
        // Legacy completion encodings have no chat framing: count text only.
        None => Some(
            messages
                .iter()
                .filter_map(|message| message.content.as_deref())
                .map(|text| count_text(tokenizer, text))
                .sum(),
        ),
    }
}

/// Returns a model name that `num_tokens_from_messages` maps to this encoding.
fn chat_model_for(tokenizer: Tokenizer) -> Option<&'static str> {
    match tokenizer {
        Tokenizer::O200kBase => Some("gpt-4o"),
        Tokenizer::Cl100kBase => Some("gpt-4"),
        Tokenizer::O200kHarmony => Some("gpt-oss-120b"),
        _ => None,
    }
}

fn is_message(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|object| object.contains_key("role") || object.contains_key("content"))
}

/// Converts a chat message in OpenAI or Anthropic form to the struct
/// tiktoken-rs counts, keeping only its text.
fn to_chat_message(value: &Value) -> ChatCompletionRequestMessage {
    let text_field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
    let mut parts = Vec::new();
    if let Some(content) = value.get("content") {
        collect_content_text(content, &mut parts);
    }

    let tool_calls = match value.get("tool_calls") {
        Some(Value::Array(calls)) => calls.iter().filter_map(to_function_call).collect(),
        _ => Vec::new(),
    };
    ChatCompletionRequestMessage {
        role: text_field("role").unwrap_or_else(|| "user".to_string()),
        content: (!parts.is_empty()).then(|| parts.join("\n")),
        name: text_field("name"),
        function_call: value.get("function_call").and_then(to_function_call),
        tool_calls,
        refusal: text_field("refusal"),
    }
}

/// Collects text from message content: a string, or a list of parts whose
/// text is in `text` (OpenAI and Anthropic text parts) or in a nested
/// `content` (Anthropic tool results).
fn collect_content_text(content: &Value, parts: &mut Vec<String>) {
    match content {
        Value::String(text) => parts.push(text.clone()),
        Value::Array(items) => {
            for item in items {
                collect_content_text(item, parts);
            }
        }
        Value::Object(object) => {
            if let Some(Value::String(text)) = object.get("text") {
                parts.push(text.clone());
            } else if let Some(nested) = object.get("content") {
                collect_content_text(nested, parts);
            }
        }
        _ => {}
    }
}

/// Reads `{"function": {"name", "arguments"}}` or `{"name", "arguments"}`.
fn to_function_call(value: &Value) -> Option<FunctionCall> {
    let call = value.get("function").unwrap_or(value);
    let name = call.get("name")?.as_str()?.to_string();
    let arguments = match call.get("arguments") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Some(FunctionCall { name, arguments })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn o200k(text: &str) -> i64 {
        count_text(Tokenizer::O200kBase, text)
    }

    fn cl100k(text: &str) -> i64 {
        count_text(Tokenizer::Cl100kBase, text)
    }

    #[test]
    fn tokenizer_by_model_family() {
        assert_eq!(tokenizer_for_model("gpt-4o"), Tokenizer::O200kBase);
        assert_eq!(
            tokenizer_for_model("gpt-4o-mini-2024-07-18"),
            Tokenizer::O200kBase
        );
        assert_eq!(
            tokenizer_for_model("openai/gpt-4.1-mini"),
            Tokenizer::O200kBase
        );
        assert_eq!(tokenizer_for_model("o1"), Tokenizer::O200kBase);
        assert_eq!(tokenizer_for_model("o3-mini"), Tokenizer::O200kBase);
        assert_eq!(tokenizer_for_model("gpt-5-mini"), Tokenizer::O200kBase);
        assert_eq!(tokenizer_for_model("gpt-4"), Tokenizer::Cl100kBase);
        assert_eq!(tokenizer_for_model("GPT-3.5-turbo"), Tokenizer::Cl100kBase);
        assert_eq!(
            tokenizer_for_model("azure/gpt-35-turbo"),
            Tokenizer::Cl100kBase
        );
        assert_eq!(tokenizer_for_model("claude-sonnet-4-5"), FALLBACK_TOKENIZER);
        assert_eq!(tokenizer_for_model(""), FALLBACK_TOKENIZER);
    }

    #[test]
    fn encodings_count_known_text() {
        // "hello world" is the tokens "hello" and " world" in both encodings.
        assert_eq!(o200k("hello world"), 2);
        assert_eq!(cl100k("hello world"), 2);
        assert_eq!(o200k(""), 0);
    }

    #[test]
    fn estimate_string_prompt() {
        let usage = estimate_tokens("gpt-4o", &json!("Hello, world!"), &json!("Hi there!"));
        assert_eq!(usage.prompt, Some(o200k("Hello, world!")));
        assert_eq!(usage.completion, Some(o200k("Hi there!")));
        assert!(usage.prompt.unwrap() > 0);
        assert!(usage.estimated);
        assert_eq!(usage.cache_read, None);
        assert_eq!(usage.reasoning, None);
    }

    #[test]
    fn estimate_chat_list_prompt() {
        let prompt = json!([
            {"role": "system", "content": "You are a helpful assistant"},
            {"role": "user", "content": "Analyze this data...", "name": "ana"}
        ]);
        let completion = json!({"role": "assistant", "content": "Based on the data..."});
        let usage = estimate_tokens("gpt-4", &prompt, &completion);

        // Cookbook framing: 3 per message, the role and content text, the
        // name plus 1, and 3 to prime the reply.
        let expected = 3
            + cl100k("system")
            + cl100k("You are a helpful assistant")
            + 3
            + cl100k("user")
            + cl100k("Analyze this data...")
            + cl100k("ana")
            + 1
            + 3;
        assert_eq!(usage.prompt, Some(expected));
        assert_eq!(usage.completion, Some(cl100k("Based on the data...")));
        assert!(usage.estimated);
    }

    #[test]
    fn estimate_content_parts_text_only() {
        let prompt = json!([{"role": "user", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
        ]}]);
        let usage = estimate_tokens("gpt-4o", &prompt, &Value::Null);
        let expected = 3 + o200k("user") + o200k("What is in this image?") + 3;
        assert_eq!(usage.prompt, Some(expected));
        assert_eq!(usage.completion, None);
    }

    #[test]
    fn estimate_single_message_and_request_body() {
        let message = json!({"role": "user", "content": "Hello"});
        let body = json!({"model": "gpt-4o", "messages": [message.clone()]});
        let expected = 3 + o200k("user") + o200k("Hello") + 3;
        assert_eq!(
            estimate_tokens("gpt-4o", &message, &Value::Null).prompt,
            Some(expected)
        );
        assert_eq!(
            estimate_tokens("gpt-4o", &body, &Value::Null).prompt,
            Some(expected)
        );
    }

    #[test]
    fn estimate_completion_shapes() {
        let text = "The answer is 42.";
        let expected = Some(o200k(text));
        let shapes = [
            json!(text),
            json!({"role": "assistant", "content": text}),
            json!({"message": {"role": "assistant", "content": text}}),
            json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}),
            json!({"choices": [{"text": text}]}),
            json!({"role": "assistant", "content": [{"type": "text", "text": text}]}),
        ];
        for shape in shapes {
            let usage = estimate_tokens("gpt-4o", &Value::Null, &shape);
            assert_eq!(usage.completion, expected, "{shape}");
        }
    }

    #[test]
    fn estimate_completion_tool_calls() {
        let completion = json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
        ]});
        let usage = estimate_tokens("gpt-4o", &Value::Null, &completion);
        let expected = o200k("get_weather") + o200k("{\"city\":\"Paris\"}");
        assert_eq!(usage.completion, Some(expected));
    }

    #[test]
    fn estimate_unknown_model_uses_fallback() {
        let usage = estimate_tokens(
            "claude-sonnet-4-5",
            &json!("Bonjour tout le monde"),
            &Value::Null,
        );
        assert_eq!(usage.prompt, Some(cl100k("Bonjour tout le monde")));
    }

    #[test]
    fn estimate_without_text_is_none() {
        let usage = estimate_tokens("gpt-4o", &Value::Null, &json!(42));
        assert_eq!(usage.prompt, None);
        assert_eq!(usage.completion, None);
        let empty = estimate_tokens("gpt-4o", &json!([]), &json!({}));
        assert_eq!(empty.prompt, None);
        assert_eq!(empty.completion, None);
    }

    #[test]
    fn fill_keeps_client_counts() {
        let mut usage = TokenUsage {
            prompt: Some(150),
            ..TokenUsage::default()
        };
        fill_missing_tokens(&mut usage, "gpt-4o", &json!("ignored"), &json!("Hi there!"));
        assert_eq!(usage.prompt, Some(150));
        assert_eq!(usage.completion, Some(o200k("Hi there!")));
        assert!(usage.estimated);

        let mut complete = TokenUsage {
            prompt: Some(3),
            completion: Some(2),
            ..TokenUsage::default()
        };
        fill_missing_tokens(&mut complete, "gpt-4o", &json!("a"), &json!("b"));
        assert!(!complete.estimated);
    }
}
