//! Realistic AgentOps events in the shape the Python SDK sends them.
//!
//! The text-heavy part of each event is built once as a JSON template. A request
//! then only writes a fresh id, the session id and two timestamps in front of a
//! template, so the generator spends little of the shared CPU on building bodies.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// Templates built per run; batches pick from them at random.
const TEMPLATE_COUNT: usize = 256;

const WORDS: &[&str] = &[
    "the",
    "agent",
    "calls",
    "a",
    "tool",
    "to",
    "search",
    "for",
    "recent",
    "papers",
    "on",
    "retrieval",
    "and",
    "then",
    "summarizes",
    "each",
    "result",
    "in",
    "two",
    "sentences",
    "user",
    "asked",
    "about",
    "quarterly",
    "revenue",
    "growth",
    "compared",
    "with",
    "last",
    "year",
    "please",
    "response",
    "using",
    "only",
    "context",
    "below",
    "if",
    "unsure",
    "say",
    "so",
    "customer",
    "order",
    "shipped",
    "from",
    "warehouse",
    "berlin",
    "delayed",
    "by",
    "weather",
    "refund",
    "policy",
    "allows",
    "returns",
    "within",
    "thirty",
    "days",
    "of",
    "purchase",
    "database",
    "query",
    "returned",
    "rows",
    "table",
    "invoices",
    "where",
    "status",
    "is",
    "open",
    "plan",
    "next",
    "step",
    "check",
    "inventory",
    "before",
    "confirming",
    "delivery",
    "date",
    "translate",
    "paragraph",
    "into",
    "french",
    "keep",
    "tone",
    "formal",
    "error",
    "rate",
    "rose",
    "after",
    "deploy",
    "rollback",
    "candidate",
    "latency",
    "budget",
    "exceeded",
    "ticket",
    "escalated",
    "support",
    "team",
];

const MODELS: &[&str] = &[
    "gpt-4o-mini",
    "gpt-4o-2024-08-06",
    "claude-3-5-sonnet-20241022",
    "claude-3-5-haiku-20241022",
    "gemini-1.5-pro",
];

pub(crate) const TOOLS: &[&str] = &[
    "web_search",
    "calculator",
    "read_file",
    "sql_query",
    "http_get",
];

const ACTIONS: &[&str] = &["plan", "lookup", "summarize", "reflect", "route"];

/// One event without its id, session id and timestamps.
#[derive(Debug, Clone)]
pub struct EventTemplate {
    /// The event's other fields as JSON, from the first field after the
    /// timestamps to the closing brace.
    fields: String,
    /// Time from the event's start to its end.
    duration: TimeDelta,
}

/// A fixed set of event templates with the run's mix of event types:
/// half LLM calls, three tenths tool calls and a fifth actions.
#[derive(Debug, Clone)]
pub struct EventPool {
    templates: Vec<EventTemplate>,
}

impl EventPool {
    /// Builds the templates, each with about `event_bytes` bytes of text.
    /// The same `seed` gives the same templates.
    pub fn generate(event_bytes: usize, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let templates = (0..TEMPLATE_COUNT)
            .map(|index| match index % 10 {
                0..=4 => llm_template(&mut rng, event_bytes),
                5..=7 => tool_template(&mut rng, event_bytes),
                _ => action_template(&mut rng, event_bytes),
            })
            .collect();
        Self { templates }
    }

    /// Appends `{"events":[...]}` with `count` events of `session_id` to `out`.
    /// Every event gets a fresh random UUID; the batch ends at `now`, one
    /// millisecond between the ends of consecutive events.
    pub fn write_batch(
        &self,
        out: &mut Vec<u8>,
        count: usize,
        session_id: &str,
        now: DateTime<Utc>,
        rng: &mut SmallRng,
    ) {
        out.extend_from_slice(b"{\"events\":[");
        for index in 0..count {
            if index > 0 {
                out.push(b',');
            }
            let template = self.templates.choose(rng).expect("the pool is never empty");
            let offset = TimeDelta::milliseconds((count - 1 - index) as i64);
            let end = now - offset;
            write_event(out, template, session_id, end, rng);
        }
        out.extend_from_slice(b"]}");
    }
}

fn write_event(
    out: &mut Vec<u8>,
    template: &EventTemplate,
    session_id: &str,
    end: DateTime<Utc>,
    rng: &mut SmallRng,
) {
    let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    let mut id_text = uuid::Uuid::encode_buffer();
    let start = end - template.duration;

    out.extend_from_slice(b"{\"id\":\"");
    out.extend_from_slice(id.hyphenated().encode_lower(&mut id_text).as_bytes());
    out.extend_from_slice(b"\",\"session_id\":\"");
    out.extend_from_slice(session_id.as_bytes());
    out.extend_from_slice(b"\",\"init_timestamp\":\"");
    out.extend_from_slice(rfc3339(start).as_bytes());
    out.extend_from_slice(b"\",\"end_timestamp\":\"");
    out.extend_from_slice(rfc3339(end).as_bytes());
    out.extend_from_slice(b"\",");
    out.extend_from_slice(template.fields.as_bytes());
}

fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn llm_template(rng: &mut SmallRng, event_bytes: usize) -> EventTemplate {
    let system = text(rng, event_bytes * 15 / 100);
    let user = text(rng, event_bytes * 45 / 100);
    let completion = text(rng, event_bytes * 40 / 100);
    let prompt_tokens = (system.len() + user.len()).div_ceil(4) + 12;
    let completion_tokens = completion.len().div_ceil(4) + 1;
    let fields = json!({
        "event_type": "llms",
        "agent_id": null,
        "thread_id": null,
        "model": MODELS.choose(rng),
        "params": {"temperature": 0.2, "max_tokens": 1024},
        "prompt": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ],
        "prompt_tokens": prompt_tokens,
        "completion": {"role": "assistant", "content": completion},
        "completion_tokens": completion_tokens,
        "cost": null,
    });
    template(
        fields,
        TimeDelta::milliseconds(rng.random_range(300..3_000)),
    )
}

fn tool_template(rng: &mut SmallRng, event_bytes: usize) -> EventTemplate {
    let name = TOOLS.choose(rng);
    let fields = json!({
        "event_type": "tools",
        "agent_id": null,
        "name": name,
        "tool_name": name,
        "params": {"query": text(rng, event_bytes * 40 / 100)},
        "returns": text(rng, event_bytes * 60 / 100),
        "logs": null,
    });
    template(fields, TimeDelta::milliseconds(rng.random_range(5..500)))
}

fn action_template(rng: &mut SmallRng, event_bytes: usize) -> EventTemplate {
    let name = ACTIONS.choose(rng);
    let fields = json!({
        "event_type": "actions",
        "agent_id": null,
        "name": name,
        "action_type": name,
        "params": {"goal": text(rng, event_bytes / 2)},
        "returns": text(rng, event_bytes / 2),
        "logs": "ok",
        "screenshot": null,
    });
    template(fields, TimeDelta::milliseconds(rng.random_range(1..200)))
}

/// Serializes `fields` and drops the opening brace, so that the fixed fields
/// written by `write_event` can go in front.
fn template(fields: Value, duration: TimeDelta) -> EventTemplate {
    let json = fields.to_string();
    let fields = json.strip_prefix('{').expect("an object").to_owned();
    EventTemplate { fields, duration }
}

/// Returns English-like ASCII text of exactly `bytes` bytes.
pub(crate) fn text(rng: &mut SmallRng, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 16);
    while out.len() < bytes {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(WORDS.choose(rng).expect("the word list is never empty"));
    }
    out.truncate(bytes);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn batch(pool: &EventPool, count: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut rng = SmallRng::seed_from_u64(7);
        let now = DateTime::parse_from_rfc3339("2026-12-04T15:08:39.5Z")
            .unwrap()
            .to_utc();
        pool.write_batch(
            &mut out,
            count,
            "7b144995-e7f9-4d3d-bc7c-f0c4b4126930",
            now,
            &mut rng,
        );
        let body: Value = serde_json::from_slice(&out).expect("the batch is valid JSON");
        body["events"].as_array().expect("an events list").clone()
    }

    #[test]
    fn batch_has_count_events_with_unique_ids() {
        let pool = EventPool::generate(256, 1);
        let events = batch(&pool, 500);
        assert_eq!(events.len(), 500);

        let ids: HashSet<&str> = events
            .iter()
            .map(|event| event["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 500);
        for id in ids {
            let parsed = uuid::Uuid::parse_str(id).expect("the id is a UUID");
            assert_eq!(parsed.get_version_num(), 4, "id {id}");
        }
    }

    #[test]
    fn batch_events_carry_session_and_times() {
        let pool = EventPool::generate(64, 2);
        let events = batch(&pool, 3);

        let last_end = events[2]["end_timestamp"].as_str().unwrap();
        assert_eq!(last_end, "2026-12-04T15:08:39.500000Z");
        assert_eq!(events[0]["end_timestamp"], "2026-12-04T15:08:39.498000Z");
        for event in &events {
            assert_eq!(event["session_id"], "7b144995-e7f9-4d3d-bc7c-f0c4b4126930");
            let start = DateTime::parse_from_rfc3339(event["init_timestamp"].as_str().unwrap());
            let end = DateTime::parse_from_rfc3339(event["end_timestamp"].as_str().unwrap());
            assert!(start.unwrap() < end.unwrap(), "event {event}");
        }
    }

    #[test]
    fn pool_mixes_llm_tool_action() {
        let pool = EventPool::generate(100, 3);
        let mut counts = std::collections::BTreeMap::new();
        for template in &pool.templates {
            let fields: Value = serde_json::from_str(&format!("{{{}", template.fields)).unwrap();
            let kind = fields["event_type"].as_str().unwrap().to_owned();
            *counts.entry(kind).or_insert(0) += 1;
        }
        assert_eq!(counts["llms"], 130);
        assert_eq!(counts["tools"], 76);
        assert_eq!(counts["actions"], 50);
    }

    #[test]
    fn llm_event_text_near_event_bytes() {
        let pool = EventPool::generate(2_000, 4);
        let llm = pool
            .templates
            .iter()
            .map(|template| {
                serde_json::from_str::<Value>(&format!("{{{}", template.fields)).unwrap()
            })
            .find(|fields| fields["event_type"] == "llms")
            .expect("the pool has LLM events");

        let prompt_text: usize = llm["prompt"]
            .as_array()
            .unwrap()
            .iter()
            .map(|message| message["content"].as_str().unwrap().len())
            .sum();
        let completion_text = llm["completion"]["content"].as_str().unwrap().len();
        assert_eq!(prompt_text + completion_text, 2_000);
        assert_eq!(llm["prompt_tokens"], (prompt_text.div_ceil(4) + 12) as u64);
        assert_eq!(
            llm["completion_tokens"],
            (completion_text.div_ceil(4) + 1) as u64
        );
        assert!(llm["model"].is_string());
    }

    #[test]
    fn text_has_exact_length() {
        let mut rng = SmallRng::seed_from_u64(5);
        for bytes in [0, 1, 17, 1_000] {
            assert_eq!(text(&mut rng, bytes).len(), bytes);
        }
    }
}
