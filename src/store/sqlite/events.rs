//! Writes of events and the session totals they move, applied by the
//! writer thread.

use rusqlite::{Connection, params};

use super::rows;
use super::writer::now_us;
use crate::model::{CostParts, CostSource, EventPatch, EventRecord, ProjectId, SessionPk, kind};
use crate::store::{EventPricer, InsertOutcome, StoreResult, UpdateOutcome};

/// Changes to a session's totals caused by one request.
#[derive(Default)]
struct TotalsDelta {
    events: i64,
    llms: i64,
    tools: i64,
    actions: i64,
    errors: i64,
    prompt: i64,
    completion: i64,
    cache_read: i64,
    cache_creation: i64,
    reasoning: i64,
    cost_pd: i64,
    cost_parts: CostParts,
    unpriced: i64,
}

impl TotalsDelta {
    fn add_event(&mut self, event: &EventRecord, sign: i64) {
        self.events += sign;
        match event.kind.as_str() {
            kind::LLM => self.llms += sign,
            kind::TOOL => self.tools += sign,
            kind::ACTION => self.actions += sign,
            _ => {}
        }
        if event.is_error || event.kind == kind::ERROR {
            self.errors += sign;
        }
        self.add_tokens(event, sign);
    }

    /// Adds (sign 1) or removes (sign -1) an event's tokens and cost. The
    /// sums saturate at the `i64` bounds, because a client may send counts
    /// near `i64::MAX` and an overflow must not stop the writer thread.
    fn add_tokens(&mut self, event: &EventRecord, sign: i64) {
        let usage = &event.usage;
        let add = |sum: &mut i64, value: Option<i64>| {
            *sum = sum.saturating_add(sign.saturating_mul(value.unwrap_or(0)));
        };
        add(&mut self.prompt, usage.prompt);
        add(&mut self.completion, usage.completion);
        add(&mut self.cache_read, usage.cache_read);
        add(&mut self.cache_creation, usage.cache_creation);
        add(&mut self.reasoning, usage.reasoning);
        add(&mut self.cost_pd, event.cost);
        if let Some(parts) = &event.cost_parts {
            self.cost_parts.add_scaled(parts, sign);
        }
        if matches!(event.cost_source, Some(CostSource::Unpriced)) {
            self.unpriced += sign;
        }
    }

    /// Adds the delta to the session's row. Token and cost sums stay within
    /// `0..=i64::MAX`: SQLite turns an overflowing integer sum into a REAL,
    /// which the row reader cannot read back as `i64`, so `min` brings it
    /// back to the largest integer.
    fn apply(&self, tx: &Connection, session: SessionPk) -> StoreResult<()> {
        let mut stmt = tx.prepare_cached(
            "UPDATE sessions SET event_count = event_count + ?2, llm_count = llm_count + ?3, \
             tool_count = tool_count + ?4, action_count = action_count + ?5, \
             error_count = error_count + ?6, \
             prompt_tokens = max(min(prompt_tokens + ?7, 9223372036854775807), 0), \
             completion_tokens = max(min(completion_tokens + ?8, 9223372036854775807), 0), \
             cache_read_tokens = max(min(cache_read_tokens + ?9, 9223372036854775807), 0), \
             cache_creation_tokens = \
                 max(min(cache_creation_tokens + ?10, 9223372036854775807), 0), \
             reasoning_tokens = max(min(reasoning_tokens + ?11, 9223372036854775807), 0), \
             cost_pd = max(min(cost_pd + ?12, 9223372036854775807), 0), \
             unpriced_count = unpriced_count + ?13, updated_us = ?14, \
             uncached_input_cost_pd = \
                 max(min(uncached_input_cost_pd + ?15, 9223372036854775807), 0), \
             cache_read_cost_pd = max(min(cache_read_cost_pd + ?16, 9223372036854775807), 0), \
             cache_creation_cost_pd = \
                 max(min(cache_creation_cost_pd + ?17, 9223372036854775807), 0), \
             output_cost_pd = max(min(output_cost_pd + ?18, 9223372036854775807), 0), \
             reasoning_cost_pd = max(min(reasoning_cost_pd + ?19, 9223372036854775807), 0) \
             WHERE pk = ?1",
        )?;
        stmt.execute(params![
            session,
            self.events,
            self.llms,
            self.tools,
            self.actions,
            self.errors,
            self.prompt,
            self.completion,
            self.cache_read,
            self.cache_creation,
            self.reasoning,
            self.cost_pd,
            self.unpriced,
            now_us(),
            self.cost_parts.uncached_input,
            self.cost_parts.cache_read,
            self.cost_parts.cache_creation,
            self.cost_parts.output,
            self.cost_parts.reasoning
        ])?;
        Ok(())
    }
}

fn cost_source_label(source: &Option<CostSource>) -> (Option<&'static str>, Option<&str>) {
    match source {
        None => (None, None),
        Some(CostSource::Client) => (Some("client"), None),
        Some(CostSource::Computed { price_key }) => (Some("computed"), Some(price_key.as_str())),
        Some(CostSource::Unpriced) => (Some("unpriced"), None),
    }
}

pub(super) fn insert_events(
    tx: &Connection,
    session: SessionPk,
    events: &[EventRecord],
) -> StoreResult<InsertOutcome> {
    let mut outcome = InsertOutcome::default();
    let mut delta = TotalsDelta::default();
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO events (session_pk, id, kind, name, init_us, end_us, agent_id, \
             parent_id, model, prompt_tokens, completion_tokens, cache_read_tokens, \
             cache_creation_tokens, reasoning_tokens, tokens_estimated, cost_pd, cost_source, \
             price_key, is_error, body, request_model, price, uncached_input_cost_pd, \
             cache_read_cost_pd, cache_creation_cost_pd, output_cost_pd, reasoning_cost_pd) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
             ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27) \
             ON CONFLICT (session_pk, id) DO NOTHING",
        )?;
        for event in events {
            let (source, price_key) = cost_source_label(&event.cost_source);
            let parts = split_parts(&event.cost_parts);
            let changed = stmt.execute(params![
                session,
                event.id,
                event.kind,
                event.name,
                event.init_us,
                event.end_us,
                event.agent_id,
                event.parent_id,
                event.model,
                event.usage.prompt,
                event.usage.completion,
                event.usage.cache_read,
                event.usage.cache_creation,
                event.usage.reasoning,
                event.usage.estimated,
                event.cost,
                source,
                price_key,
                event.is_error,
                event.body,
                event.request_model,
                event.price,
                parts[0],
                parts[1],
                parts[2],
                parts[3],
                parts[4]
            ])?;
            if changed == 1 {
                outcome.inserted += 1;
                delta.add_event(event, 1);
            } else {
                outcome.duplicates += 1;
            }
        }
    }
    if outcome.inserted > 0 {
        delta.apply(tx, session)?;
    }
    Ok(outcome)
}

/// Applies the patches to events of one session. When a patch changes the
/// model or token counts of an event whose cost the client did not send, the
/// event is priced again.
pub(super) fn update_events(
    tx: &Connection,
    project: ProjectId,
    session: SessionPk,
    patches: Vec<EventPatch>,
    pricer: Option<&dyn EventPricer>,
) -> StoreResult<UpdateOutcome> {
    let mut outcome = UpdateOutcome::default();
    let mut delta = TotalsDelta::default();
    for patch in patches {
        let stored = rows::event_by_id(tx, session, &patch.id)?;
        let Some(old) = stored else {
            outcome.missing.push(patch.id);
            continue;
        };
        let reprice = patch.model.is_some() || has_counts(&patch);
        let mut new = merge_event(&old, patch);
        if reprice
            && !matches!(new.cost_source, Some(CostSource::Client))
            && let Some(pricer) = pricer
        {
            pricer.price(project, &mut new);
        }
        delta.add_tokens(&old, -1);
        delta.add_tokens(&new, 1);
        write_event_update(tx, session, &new)?;
        outcome.updated += 1;
    }
    if outcome.updated > 0 {
        delta.apply(tx, session)?;
    }
    Ok(outcome)
}

fn has_counts(patch: &EventPatch) -> bool {
    let usage = &patch.usage;
    [
        usage.prompt,
        usage.completion,
        usage.cache_read,
        usage.cache_creation,
        usage.reasoning,
    ]
    .iter()
    .any(Option::is_some)
}

fn split_parts(parts: &Option<CostParts>) -> [Option<i64>; 5] {
    match parts {
        Some(parts) => [
            Some(parts.uncached_input),
            Some(parts.cache_read),
            Some(parts.cache_creation),
            Some(parts.output),
            Some(parts.reasoning),
        ],
        None => [None; 5],
    }
}

fn write_event_update(tx: &Connection, session: SessionPk, event: &EventRecord) -> StoreResult<()> {
    let (source, price_key) = cost_source_label(&event.cost_source);
    let parts = split_parts(&event.cost_parts);
    tx.prepare_cached(
        "UPDATE events SET end_us = ?3, model = ?4, prompt_tokens = ?5, \
         completion_tokens = ?6, cache_read_tokens = ?7, cache_creation_tokens = ?8, \
         reasoning_tokens = ?9, tokens_estimated = ?10, cost_pd = ?11, cost_source = ?12, \
         price_key = ?13, body = ?14, price = ?15, uncached_input_cost_pd = ?16, \
         cache_read_cost_pd = ?17, cache_creation_cost_pd = ?18, output_cost_pd = ?19, \
         reasoning_cost_pd = ?20 WHERE session_pk = ?1 AND id = ?2",
    )?
    .execute(params![
        session,
        event.id,
        event.end_us,
        event.model,
        event.usage.prompt,
        event.usage.completion,
        event.usage.cache_read,
        event.usage.cache_creation,
        event.usage.reasoning,
        event.usage.estimated,
        event.cost,
        source,
        price_key,
        event.body,
        event.price,
        parts[0],
        parts[1],
        parts[2],
        parts[3],
        parts[4]
    ])?;
    Ok(())
}

/// Prices again every event with a model in the project's sessions that
/// started within `[from_us, to_us)`, with the current prices. Client-sent
/// costs are kept. Returns how many events changed cost.
pub(super) fn recompute_costs(
    tx: &Connection,
    project: ProjectId,
    from_us: i64,
    to_us: i64,
    pricer: &dyn EventPricer,
) -> StoreResult<usize> {
    let sessions: Vec<SessionPk> = tx
        .prepare(
            "SELECT pk FROM sessions WHERE project_id = ?1 \
             AND coalesce(init_us, created_us) >= ?2 AND coalesce(init_us, created_us) < ?3",
        )?
        .query_map(params![project, from_us, to_us], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut changed = 0;
    for session in sessions {
        let mut delta = TotalsDelta::default();
        for row in rows::session_events(tx, session)? {
            let old = row.into_record();
            if old.model.is_none() && old.request_model.is_none() {
                continue;
            }
            if matches!(old.cost_source, Some(CostSource::Client)) {
                continue;
            }
            let mut new = old.clone();
            pricer.price(project, &mut new);
            if new.cost == old.cost && new.cost_source == old.cost_source {
                continue;
            }
            delta.add_tokens(&old, -1);
            delta.add_tokens(&new, 1);
            write_event_update(tx, session, &new)?;
            changed += 1;
        }
        delta.apply(tx, session)?;
    }
    Ok(changed)
}

/// Applies `patch` over a stored event: fields the patch leaves `None` keep
/// their stored value, and the patch's extra fields are merged into the body.
fn merge_event(old: &EventRecord, patch: EventPatch) -> EventRecord {
    let mut new = old.clone();
    new.end_us = patch.end_us.or(old.end_us);
    new.model = patch.model.or_else(|| old.model.clone());
    let usage = patch.usage;
    let usage_changed = usage.prompt.is_some()
        || usage.completion.is_some()
        || usage.cache_read.is_some()
        || usage.cache_creation.is_some()
        || usage.reasoning.is_some();
    if usage_changed {
        new.usage.prompt = usage.prompt.or(old.usage.prompt);
        new.usage.completion = usage.completion.or(old.usage.completion);
        new.usage.cache_read = usage.cache_read.or(old.usage.cache_read);
        new.usage.cache_creation = usage.cache_creation.or(old.usage.cache_creation);
        new.usage.reasoning = usage.reasoning.or(old.usage.reasoning);
        new.usage.estimated = false;
    }
    if let Some(cost) = patch.cost {
        new.cost = Some(cost);
        new.cost_source = Some(CostSource::Client);
    }
    if !patch.fields.is_empty() {
        let mut body: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&old.body).unwrap_or_default();
        for (key, value) in patch.fields {
            body.insert(key, value);
        }
        new.body = serde_json::Value::Object(body).to_string();
    }
    new
}
