//! Traces and spans as the public API shows them: the OTLP spans of a
//! session, their tree, and token and cost metrics.
//!
//! A span is stored as an event whose body the OTLP mapping wrote (trace id,
//! span id, span name, kinds, status, times with nanoseconds, attributes,
//! resource and scope). Durations here are in nanoseconds, as OpenTelemetry
//! counts them, and costs in the metrics are dollar strings with seven
//! decimals, rounded half to even from the exact picodollar sums.

use std::collections::{HashMap, HashSet};

use chrono::DateTime;
use serde_json::{Map, Value, json};

use super::cost_parts_json;
use crate::cost::picodollars_to_usd;
use crate::model::{CostParts, Picodollars};
use crate::otlp::nest_attributes;
use crate::store::{EventRow, SessionRow};

/// Decimal places of the cost strings in the metrics.
const COST_DECIMALS: u32 = 7;

/// Depth at which the span tree stops nesting; a node there lists no
/// children and has `"children_truncated": true`, and the spans below it are
/// left out of the tree. The `spans` list still contains every span. The
/// bound keeps a chain of thousands of spans from nesting JSON without limit.
pub const MAX_TREE_DEPTH: usize = 64;

/// One stored span: its event row and the parsed body.
pub struct SpanView<'a> {
    pub event: &'a EventRow,
    body: Map<String, Value>,
}

impl<'a> SpanView<'a> {
    /// Reads `event` as a span of the trace `trace_hex` (32 lowercase hex
    /// digits). Returns `None` for an event that did not come from OTLP: its
    /// body must carry `span_id` equal to the event id and this `trace_id`.
    pub fn of_trace(event: &'a EventRow, trace_hex: &str) -> Option<Self> {
        let body: Map<String, Value> = serde_json::from_str(&event.body).ok()?;
        let is_span = body.get("span_id").and_then(Value::as_str) == Some(event.id.as_str())
            && body.get("trace_id").and_then(Value::as_str) == Some(trace_hex);
        is_span.then_some(SpanView { event, body })
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    fn field(&self, key: &str) -> Value {
        self.body.get(key).cloned().unwrap_or(Value::Null)
    }

    pub fn parent_span_id(&self) -> Option<&str> {
        self.text("parent_span_id")
    }

    pub fn status_code(&self) -> &str {
        self.text("status_code").unwrap_or("UNSET")
    }

    /// Start and end in nanoseconds since the Unix epoch, from the body's
    /// RFC 3339 times; the stored microseconds when a time does not parse.
    fn start_end_nanos(&self) -> (i64, Option<i64>) {
        let micros_to_nanos = |micros: i64| micros.saturating_mul(1_000);
        let start = self
            .text("start_time")
            .and_then(rfc3339_nanos)
            .unwrap_or_else(|| micros_to_nanos(self.event.init_us));
        let end = self
            .text("end_time")
            .and_then(rfc3339_nanos)
            .or_else(|| self.event.end_us.map(micros_to_nanos));
        (start, end)
    }

    /// Nanoseconds from start to end; `None` without an end or when the end
    /// is before the start.
    pub fn duration_nanos(&self) -> Option<i64> {
        let (start, end) = self.start_end_nanos();
        end.filter(|end| *end >= start).map(|end| end - start)
    }

    fn nested_attributes(&self, key: &str) -> Value {
        match self.body.get(key) {
            Some(Value::Object(flat)) => nest_attributes(flat),
            _ => Value::Object(Map::new()),
        }
    }

    /// Builds the span as the trace endpoint lists it, with its attributes nested
    /// (`{"gen_ai": {"request": {"model": …}}}`) under `span_attributes`.
    pub fn summary_json(&self) -> Value {
        json!({
            "span_id": self.event.id,
            "parent_span_id": self.parent_span_id(),
            "span_name": self.field("span_name"),
            "span_kind": self.field("span_kind"),
            "otel_kind": self.field("otel_kind"),
            "type": self.event.kind,
            "start_time": self.field("start_time"),
            "end_time": self.field("end_time"),
            "duration": self.duration_nanos(),
            "status_code": self.status_code(),
            "status_message": self.field("status_message"),
            "span_attributes": self.nested_attributes("attributes"),
        })
    }

    /// Builds the span as the span endpoint returns it: the summary plus the
    /// trace id, scope, span events, links, and three nested attribute sets.
    /// These are `span_attributes`, `resource_attributes`, and `attributes`,
    /// the other two merged with the span's attributes winning on a shared
    /// key. LLM spans also carry `prompt` and `completion` as message lists.
    pub fn detail_json(&self) -> Value {
        let mut object = match self.summary_json() {
            Value::Object(object) => object,
            _ => Map::new(),
        };
        let mut merged = match self.body.get("resource") {
            Some(Value::Object(resource)) => resource.clone(),
            _ => Map::new(),
        };
        if let Some(Value::Object(attributes)) = self.body.get("attributes") {
            merged.extend(attributes.clone());
        }

        object.insert("trace_id".into(), self.field("trace_id"));
        object.insert("attributes".into(), nest_attributes(&merged));
        object.insert(
            "resource_attributes".into(),
            self.nested_attributes("resource"),
        );
        for key in ["scope", "events", "links", "prompt", "completion"] {
            if let Some(value) = self.body.get(key) {
                object.insert(key.into(), value.clone());
            }
        }
        Value::Object(object)
    }
}

fn rfc3339_nanos(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()?
        .timestamp_nanos_opt()
}

/// Builds the trace document: the session's trace id, project and tags,
/// every span in start order, and the span tree.
pub fn trace_json(trace_hex: &str, session: &SessionRow, spans: &[SpanView<'_>]) -> Value {
    json!({
        "trace_id": trace_hex,
        "project_id": session.project_id.to_string(),
        "session_id": session.id,
        "name": session.name,
        "tags": session.tags,
        "end_state": session.end_state,
        "span_count": spans.len(),
        "spans": spans.iter().map(SpanView::summary_json).collect::<Vec<_>>(),
        "tree": tree_json(spans),
    })
}

/// Nests the spans by parent: each node is `{span_id, span_name, span_kind,
/// status_code, children}`, children in the order of `spans`.
///
/// The roots are the spans without a parent or whose parent is not among
/// `spans` (it was never received, or belongs to another trace). Spans that
/// no root reaches, which only a parent cycle can cause, are added as roots
/// too, so every span appears once, except below a node truncated at
/// [`MAX_TREE_DEPTH`].
pub fn tree_json(spans: &[SpanView<'_>]) -> Vec<Value> {
    let positions: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(position, span)| (span.event.id.as_str(), position))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (position, span) in spans.iter().enumerate() {
        let parent = span
            .parent_span_id()
            .and_then(|parent| positions.get(parent))
            .filter(|parent| **parent != position);
        match parent {
            Some(&parent) => children[parent].push(position),
            None => roots.push(position),
        }
    }

    let mut builder = TreeBuilder {
        spans,
        children: &children,
        visited: HashSet::new(),
    };
    let mut tree: Vec<Value> = roots.iter().map(|&root| builder.node(root, 1)).collect();
    for position in 0..spans.len() {
        if !builder.visited.contains(&position) {
            tree.push(builder.node(position, 1));
        }
    }
    tree
}

struct TreeBuilder<'a, 'b> {
    spans: &'a [SpanView<'b>],
    children: &'a [Vec<usize>],
    visited: HashSet<usize>,
}

impl TreeBuilder<'_, '_> {
    /// Builds the node of `position` at `depth` (1 for a root). Recursion is
    /// bounded by [`MAX_TREE_DEPTH`].
    fn node(&mut self, position: usize, depth: usize) -> Value {
        self.visited.insert(position);
        let span = &self.spans[position];
        let mut node = json!({
            "span_id": span.event.id,
            "span_name": span.field("span_name"),
            "span_kind": span.field("span_kind"),
            "status_code": span.status_code(),
        });

        let pending: Vec<usize> = self.children[position]
            .iter()
            .copied()
            .filter(|child| !self.visited.contains(child))
            .collect();
        if depth >= MAX_TREE_DEPTH && !pending.is_empty() {
            self.skip_subtrees(pending);
            node["children"] = json!([]);
            node["children_truncated"] = json!(true);
            return node;
        }
        let nodes: Vec<Value> = pending
            .into_iter()
            .map(|child| self.node(child, depth + 1))
            .collect();
        node["children"] = Value::Array(nodes);
        node
    }

    /// Marks the spans below a truncated node as visited, without recursion,
    /// so that they are not listed again as roots.
    fn skip_subtrees(&mut self, mut stack: Vec<usize>) {
        while let Some(position) = stack.pop() {
            if self.visited.insert(position) {
                stack.extend(self.children[position].iter().copied());
            }
        }
    }
}

/// Token, cost, status and timing sums over a set of spans.
#[derive(Debug, Default)]
struct SpanTotals {
    spans: i64,
    success: i64,
    fail: i64,
    indeterminate: i64,
    errors: i64,
    llm_spans: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    cache_read_tokens: i64,
    cache_creation_tokens: i64,
    reasoning_tokens: i64,
    cost_pd: Picodollars,
    cost_parts: CostParts,
    start_nanos: Option<i64>,
    end_nanos: Option<i64>,
}

impl SpanTotals {
    fn add(&mut self, span: &SpanView<'_>) {
        let event = span.event;
        let add = |sum: &mut i64, value: Option<i64>| *sum = sum.saturating_add(value.unwrap_or(0));

        self.spans += 1;
        match span.status_code() {
            "OK" => self.success += 1,
            "ERROR" => self.fail += 1,
            _ => self.indeterminate += 1,
        }
        self.errors += i64::from(event.is_error);
        self.llm_spans += i64::from(event.kind == crate::model::kind::LLM);

        add(&mut self.prompt_tokens, event.prompt_tokens);
        add(&mut self.completion_tokens, event.completion_tokens);
        add(&mut self.cache_read_tokens, event.cache_read_tokens);
        add(&mut self.cache_creation_tokens, event.cache_creation_tokens);
        add(&mut self.reasoning_tokens, event.reasoning_tokens);
        add(&mut self.cost_pd, event.cost_pd);
        if let Some(parts) = &event.cost_parts {
            self.cost_parts.add_scaled(parts, 1);
        }

        let (start, end) = span.start_end_nanos();
        self.start_nanos = Some(self.start_nanos.map_or(start, |first| first.min(start)));
        if let Some(end) = end {
            self.end_nanos = Some(self.end_nanos.map_or(end, |last| last.max(end)));
        }
    }

    fn duration_nanos(&self) -> Option<i64> {
        let (start, end) = (self.start_nanos?, self.end_nanos?);
        (end >= start).then(|| end - start)
    }
}

/// Sums the metrics of `spans`, which belong to `trace_count` traces.
///
/// Success, fail and indeterminate count spans by OTel status (`OK`,
/// `ERROR`, anything else). `prompt_cost` is the input cost (uncached, cache
/// read and cache creation), `completion_cost` the output and reasoning cost.
/// `total_cost` also includes costs the client sent itself (the
/// `gen_ai.usage.total_cost` of a tool span), which have no split, so it may
/// exceed the sum of the two. `duration` runs from the first start to the
/// last end, in nanoseconds.
pub fn metrics_json(spans: &[SpanView<'_>], trace_count: i64) -> Value {
    let mut totals = SpanTotals::default();
    for span in spans {
        totals.add(span);
    }
    let parts = &totals.cost_parts;
    let prompt_cost = parts
        .uncached_input
        .saturating_add(parts.cache_read)
        .saturating_add(parts.cache_creation);
    let completion_cost = parts.output.saturating_add(parts.reasoning);
    let average = match trace_count {
        0 => totals.cost_pd,
        count => totals.cost_pd / count,
    };

    json!({
        "span_count": totals.spans,
        "trace_count": trace_count,
        "success_count": totals.success,
        "fail_count": totals.fail,
        "indeterminate_count": totals.indeterminate,
        "error_count": totals.errors,
        "llm_count": totals.llm_spans,
        "prompt_tokens": totals.prompt_tokens,
        "completion_tokens": totals.completion_tokens,
        "cache_read_input_tokens": totals.cache_read_tokens,
        "cache_creation_input_tokens": totals.cache_creation_tokens,
        "reasoning_tokens": totals.reasoning_tokens,
        "total_tokens": totals.prompt_tokens.saturating_add(totals.completion_tokens),
        "prompt_cost": cost_text(prompt_cost),
        "completion_cost": cost_text(completion_cost),
        "average_cost_per_trace": cost_text(average),
        "total_cost": cost_text(totals.cost_pd),
        "cost_by_kind": cost_parts_json(&totals.cost_parts),
        "duration": totals.duration_nanos(),
    })
}

/// Formats picodollars as dollars with exactly seven decimals, rounded half
/// to even: 1_234_550_000 pd is "0.0012346".
pub fn cost_text(amount: Picodollars) -> String {
    let usd = picodollars_to_usd(amount).round_dp(COST_DECIMALS);
    format!("{usd:.prec$}", prec = COST_DECIMALS as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, body: Value) -> EventRow {
        EventRow {
            id: id.to_owned(),
            kind: "task".to_owned(),
            name: None,
            init_us: 1_000,
            end_us: Some(2_000),
            agent_id: None,
            parent_id: None,
            model: None,
            request_model: None,
            prompt_tokens: None,
            completion_tokens: None,
            cache_read_tokens: None,
            cache_creation_tokens: None,
            reasoning_tokens: None,
            tokens_estimated: false,
            cost_pd: None,
            cost_source: None,
            price_key: None,
            price: None,
            cost_parts: None,
            is_error: false,
            body: body.to_string(),
        }
    }

    const TRACE: &str = "0123456789abcdef0123456789abcdef";

    fn span_event(id: &str, parent: Option<&str>) -> EventRow {
        event(
            id,
            json!({
                "trace_id": TRACE,
                "span_id": id,
                "parent_span_id": parent,
                "span_name": format!("{id}.task"),
                "start_time": "2026-01-02T03:04:05.000000100Z",
                "end_time": "2026-01-02T03:04:05.000000350Z",
                "status_code": "UNSET",
            }),
        )
    }

    fn views(events: &[EventRow]) -> Vec<SpanView<'_>> {
        events
            .iter()
            .map(|event| SpanView::of_trace(event, TRACE).expect("event is a span"))
            .collect()
    }

    #[test]
    fn cost_text_has_seven_decimals() {
        assert_eq!(cost_text(0), "0.0000000");
        assert_eq!(cost_text(1_234_550_000), "0.0012346");
        assert_eq!(cost_text(1_234_450_000), "0.0012344");
        assert_eq!(cost_text(2_500_000_000_000), "2.5000000");
        assert_eq!(cost_text(49_999), "0.0000000");
        assert_eq!(cost_text(50_001), "0.0000001");
    }

    #[test]
    fn span_view_rejects_rest_events() {
        let rest = event("e1", json!({"type": "action", "action_type": "step"}));
        assert!(SpanView::of_trace(&rest, TRACE).is_none());
        let other_trace = span_event("00000000000000aa", None);
        assert!(SpanView::of_trace(&other_trace, &"f".repeat(32)).is_none());
    }

    #[test]
    fn duration_uses_nanoseconds() {
        let events = [span_event("00000000000000aa", None)];
        let spans = views(&events);
        assert_eq!(spans[0].duration_nanos(), Some(250));
    }

    #[test]
    fn tree_nests_children_and_orphans() {
        let events = [
            span_event("00000000000000aa", None),
            span_event("00000000000000bb", Some("00000000000000aa")),
            span_event("00000000000000cc", Some("00000000000000bb")),
            span_event("00000000000000dd", Some("00000000000000ff")),
        ];
        let tree = tree_json(&views(&events));
        assert_eq!(tree.len(), 2, "root and orphan: {tree:?}");
        assert_eq!(tree[0]["span_id"], "00000000000000aa");
        let child = &tree[0]["children"][0];
        assert_eq!(child["span_id"], "00000000000000bb");
        assert_eq!(child["children"][0]["span_id"], "00000000000000cc");
        assert_eq!(tree[1]["span_id"], "00000000000000dd");
    }

    #[test]
    fn tree_lists_parent_cycle_once() {
        let events = [
            span_event("00000000000000aa", Some("00000000000000bb")),
            span_event("00000000000000bb", Some("00000000000000aa")),
        ];
        let tree = tree_json(&views(&events));
        assert_eq!(tree.len(), 1, "{tree:?}");
        assert_eq!(tree[0]["children"][0]["span_id"], "00000000000000bb");
        assert_eq!(tree[0]["children"][0]["children"], json!([]));
    }

    #[test]
    fn tree_truncates_deep_chains() {
        let ids: Vec<String> = (0..MAX_TREE_DEPTH + 10)
            .map(|n| format!("{:016x}", n + 1))
            .collect();
        let events: Vec<EventRow> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| span_event(id, n.checked_sub(1).map(|parent| ids[parent].as_str())))
            .collect();
        let tree = tree_json(&views(&events));
        assert_eq!(tree.len(), 1);
        let mut node = &tree[0];
        for _ in 1..MAX_TREE_DEPTH {
            node = &node["children"][0];
        }
        assert_eq!(node["children_truncated"], json!(true));
        assert_eq!(node["children"], json!([]));
    }

    #[test]
    fn metrics_split_cost_by_kind() {
        let mut llm = span_event("00000000000000aa", None);
        llm.kind = "llm".to_owned();
        llm.prompt_tokens = Some(21);
        llm.completion_tokens = Some(8);
        llm.cache_read_tokens = Some(4);
        llm.cost_pd = Some(9_000_000);
        llm.cost_parts = Some(CostParts {
            uncached_input: 3_000_000,
            cache_read: 1_000_000,
            output: 5_000_000,
            ..CostParts::default()
        });
        let mut tool = span_event("00000000000000bb", Some("00000000000000aa"));
        tool.cost_pd = Some(10_000_000_000);
        tool.is_error = true;
        tool.body = tool.body.replace("UNSET", "ERROR");
        let events = [llm, tool];

        let metrics = metrics_json(&views(&events), 1);
        assert_eq!(metrics["span_count"], 2);
        assert_eq!(metrics["fail_count"], 1);
        assert_eq!(metrics["indeterminate_count"], 1);
        assert_eq!(metrics["error_count"], 1);
        assert_eq!(metrics["total_tokens"], 29);
        assert_eq!(metrics["cache_read_input_tokens"], 4);
        assert_eq!(metrics["prompt_cost"], "0.0000040");
        assert_eq!(metrics["completion_cost"], "0.0000050");
        assert_eq!(metrics["total_cost"], "0.0100090");
        assert_eq!(metrics["average_cost_per_trace"], "0.0100090");
        assert_eq!(metrics["duration"], 250);
    }
}
