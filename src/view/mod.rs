//! How stored rows are shown to readers: the JSON of the export and stats
//! endpoints, which the CLI prints too, and of the public trace API.

pub mod trace;

use serde_json::{Map, Value, json};

use crate::ingest::time;
use crate::model::{CostParts, Picodollars, kind};
use crate::store::{AgentRow, EventRow, SessionRow};

const PICODOLLARS_PER_DOLLAR: i64 = 1_000_000_000_000;

/// Formats picodollars as a decimal dollar string with at least two and at
/// most twelve fractional digits: 0 → "0.00", 1_230_000_000 → "0.00123".
pub fn format_dollars(amount: Picodollars) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let magnitude = amount.unsigned_abs();
    let per_dollar = PICODOLLARS_PER_DOLLAR as u64;
    let fraction = format!("{:012}", magnitude % per_dollar);
    let trimmed = fraction.trim_end_matches('0');
    let digits = if trimmed.len() < 2 {
        &fraction[..2]
    } else {
        trimmed
    };
    format!("{sign}{}.{digits}", magnitude / per_dollar)
}

/// Duration in milliseconds; `None` when unknown or when the clock of the
/// client ran backwards (end before start), never negative.
pub fn duration_ms(init_us: Option<i64>, end_us: Option<i64>) -> Option<f64> {
    let (init, end) = (init_us?, end_us?);
    (end >= init).then(|| (end - init) as f64 / 1000.0)
}

pub fn session_json(session: &SessionRow) -> Value {
    let mut object: Map<String, Value> = session
        .body
        .as_deref()
        .and_then(|body| serde_json::from_str(body).ok())
        .unwrap_or_default();
    object.remove("session_id");
    object.remove("jwt");
    let derived = json!({
        "id": session.id,
        "session_id": session.id,
        "name": session.name,
        "init_timestamp": session.init_us.map(time::format),
        "end_timestamp": session.end_us.map(time::format),
        "end_state": session.end_state,
        "end_state_reason": session.end_state_reason,
        "tags": session.tags,
        "host_env": session.host_env,
        "duration_ms": duration_ms(session.init_us, session.end_us),
    });
    if let Value::Object(derived) = derived {
        object.extend(derived);
    }
    Value::Object(object)
}

/// One event as the client sent it, with the fields the server normalized
/// (id, type, timestamps, token counts, cost) replaced by their stored form.
pub fn event_json(event: &EventRow) -> Value {
    let mut object: Map<String, Value> = serde_json::from_str(&event.body).unwrap_or_default();
    let derived = json!({
        "id": event.id,
        "type": event.kind,
        "init_timestamp": time::format(event.init_us),
        "end_timestamp": event.end_us.map(time::format),
        "duration_ms": duration_ms(Some(event.init_us), event.end_us),
        "agent_id": event.agent_id,
        "model": event.model,
        "prompt_tokens": event.prompt_tokens,
        "completion_tokens": event.completion_tokens,
        "cost": event.cost_pd.map(format_dollars),
        "cost_source": event.cost_source,
    });
    if let Value::Object(derived) = derived {
        object.extend(derived);
    }
    optional_member(&mut object, "parent_id", &event.parent_id);
    optional_member(&mut object, "price_key", &event.price_key);
    for (field, count) in [
        ("cache_read_tokens", event.cache_read_tokens),
        ("cache_creation_tokens", event.cache_creation_tokens),
        ("reasoning_tokens", event.reasoning_tokens),
    ] {
        if count.is_some() || object.contains_key(field) {
            object.insert(field.into(), count.into());
        }
    }
    if let Some(parts) = &event.cost_parts {
        object.insert("cost_by_kind".into(), cost_parts_json(parts));
    }
    if event.tokens_estimated {
        object.insert("tokens_estimated".into(), true.into());
    }
    if event.is_error {
        object.insert("is_error".into(), true.into());
    }
    Value::Object(object)
}

fn optional_member(object: &mut Map<String, Value>, field: &str, value: &Option<String>) {
    if let Some(value) = value {
        object.insert(field.into(), value.clone().into());
    }
}

/// Cost by token kind as decimal dollar strings.
pub fn cost_parts_json(parts: &CostParts) -> Value {
    json!({
        "uncached_input": format_dollars(parts.uncached_input),
        "cache_read": format_dollars(parts.cache_read),
        "cache_creation": format_dollars(parts.cache_creation),
        "output": format_dollars(parts.output),
        "reasoning": format_dollars(parts.reasoning),
    })
}

pub fn agent_json(agent: &AgentRow) -> Value {
    let mut object: Map<String, Value> = serde_json::from_str(&agent.body).unwrap_or_default();
    object.insert("id".into(), agent.id.clone().into());
    object.insert("name".into(), agent.name.clone().into());
    Value::Object(object)
}

/// The export document: the session, its agents, its events grouped by kind
/// (`llms`, `tools`, `actions`, `errors`, and `other` for the rest), each
/// group ordered by init time, and `log`, the terminal output the SDK
/// uploaded (null when none was).
pub fn export_json(
    session: &SessionRow,
    agents: &[AgentRow],
    events: &[EventRow],
    log: Option<&str>,
) -> Value {
    let mut groups: [Vec<Value>; 5] = Default::default();
    for event in events {
        let group = match event.kind.as_str() {
            kind::LLM => 0,
            kind::TOOL => 1,
            kind::ACTION => 2,
            kind::ERROR => 3,
            _ => 4,
        };
        groups[group].push(event_json(event));
    }
    let [llms, tools, actions, errors, other] = groups;
    json!({
        "session": session_json(session),
        "stats": stats_json(session),
        "agents": agents.iter().map(agent_json).collect::<Vec<_>>(),
        "llms": llms,
        "tools": tools,
        "actions": actions,
        "errors": errors,
        "other": other,
        "log": log,
    })
}

pub fn stats_json(session: &SessionRow) -> Value {
    let totals = &session.totals;
    json!({
        "session_id": session.id,
        "events": totals.events,
        "llms": totals.llms,
        "tools": totals.tools,
        "actions": totals.actions,
        "errors": totals.errors,
        "prompt_tokens": totals.prompt_tokens,
        "completion_tokens": totals.completion_tokens,
        "cache_read_tokens": totals.cache_read_tokens,
        "cache_creation_tokens": totals.cache_creation_tokens,
        "reasoning_tokens": totals.reasoning_tokens,
        "total_tokens": totals.prompt_tokens.saturating_add(totals.completion_tokens),
        "cost": format_dollars(totals.cost_pd),
        "cost_by_kind": cost_parts_json(&totals.cost_parts),
        "unpriced_events": totals.unpriced,
        "duration_ms": duration_ms(session.init_us, session.end_us),
        "end_state": session.end_state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_dollars_keeps_two_to_twelve_digits() {
        assert_eq!(format_dollars(0), "0.00");
        assert_eq!(format_dollars(1_500_000_000_000), "1.50");
        assert_eq!(format_dollars(123_000_000), "0.000123");
        assert_eq!(format_dollars(1), "0.000000000001");
        assert_eq!(format_dollars(-20_000_000_000), "-0.02");
    }

    #[test]
    fn duration_never_negative() {
        assert_eq!(duration_ms(Some(5_000), Some(2_000)), None);
        assert_eq!(duration_ms(Some(2_000), Some(5_000)), Some(3.0));
        assert_eq!(duration_ms(Some(2_000), None), None);
    }
}
