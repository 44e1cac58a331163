//! Project metrics by time bucket and by model, summed in SQL as integers
//! so that picodollar totals stay exact.

use std::collections::BTreeMap;

use rusqlite::Connection;
use rusqlite::params_from_iter;

use super::listing::{START_EXPR, indexed_conditions, model_condition};
use crate::model::Micros;
use crate::store::StoreResult;
use crate::store::dashboard::{Metrics, MetricsBucket, MetricsQuery, ModelFigures, SessionFigures};

pub(super) fn metrics(conn: &Connection, query: &MetricsQuery) -> StoreResult<Metrics> {
    let mut conditions = indexed_conditions(&query.filter);
    model_condition(&query.filter, &mut conditions);
    let width = query.granularity.width_us();
    let origin = query.granularity.origin_us();
    // NOTE: integer division truncates toward zero, so buckets are exact
    // only for sessions that start after 1970-01-05.
    let bucket = format!("(({START_EXPR} - {origin}) / {width}) * {width} + {origin}");

    let mut buckets: BTreeMap<Micros, MetricsBucket> = BTreeMap::new();
    session_figures(
        conn,
        &conditions.sql(),
        conditions.values(),
        &bucket,
        &mut buckets,
    )?;
    end_states(
        conn,
        &conditions.sql(),
        conditions.values(),
        &bucket,
        &mut buckets,
    )?;
    let model_filter = query.filter.model.as_deref();
    model_figures(
        conn,
        &conditions.sql(),
        conditions.values(),
        &bucket,
        model_filter,
        &mut buckets,
    )?;

    let buckets: Vec<MetricsBucket> = buckets.into_values().collect();
    let totals = sum_sessions(&buckets)?;
    let models = sum_models(&buckets)?;
    Ok(Metrics {
        totals,
        models,
        buckets,
    })
}

fn empty_bucket(start_us: Micros) -> MetricsBucket {
    MetricsBucket {
        start_us,
        figures: SessionFigures::default(),
        models: Vec::new(),
    }
}

fn session_figures(
    conn: &Connection,
    conditions: &str,
    values: &[rusqlite::types::Value],
    bucket: &str,
    buckets: &mut BTreeMap<Micros, MetricsBucket>,
) -> StoreResult<()> {
    let sql = format!(
        // saturating_sum: SQLite's sum() fails on 64-bit overflow, which
        // picodollar costs reach past about $9.2 million.
        "SELECT {bucket} AS b, count(*), saturating_sum(error_count > 0), saturating_sum(event_count), \
         saturating_sum(error_count), saturating_sum(prompt_tokens), \
         saturating_sum(completion_tokens), saturating_sum(cost_pd) \
         FROM sessions WHERE {conditions} GROUP BY b"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    while let Some(row) = rows.next()? {
        let start: Micros = row.get(0)?;
        let figures = &mut buckets
            .entry(start)
            .or_insert_with(|| empty_bucket(start))
            .figures;
        figures.sessions = row.get(1)?;
        figures.sessions_with_errors = row.get(2)?;
        figures.events = row.get(3)?;
        figures.errors = row.get(4)?;
        figures.prompt_tokens = row.get(5)?;
        figures.completion_tokens = row.get(6)?;
        figures.cost_pd = row.get(7)?;
    }
    Ok(())
}

fn end_states(
    conn: &Connection,
    conditions: &str,
    values: &[rusqlite::types::Value],
    bucket: &str,
    buckets: &mut BTreeMap<Micros, MetricsBucket>,
) -> StoreResult<()> {
    let sql = format!(
        "SELECT {bucket} AS b, end_state, count(*) FROM sessions WHERE {conditions} \
         GROUP BY b, end_state ORDER BY b, end_state"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    while let Some(row) = rows.next()? {
        let start: Micros = row.get(0)?;
        let entry = buckets.entry(start).or_insert_with(|| empty_bucket(start));
        entry.figures.end_states.push((row.get(1)?, row.get(2)?));
    }
    Ok(())
}

/// LLM calls by bucket and model; with a model filter, only that model.
fn model_figures(
    conn: &Connection,
    conditions: &str,
    values: &[rusqlite::types::Value],
    bucket: &str,
    model: Option<&str>,
    buckets: &mut BTreeMap<Micros, MetricsBucket>,
) -> StoreResult<()> {
    let mut values = values.to_vec();
    let model_clause = match model {
        Some(model) => {
            values.push(rusqlite::types::Value::Text(model.to_owned()));
            "AND e.model = ?"
        }
        None => "",
    };
    let sql = format!(
        "SELECT s.b, coalesce(e.model, 'unknown') AS m, count(*), \
         saturating_sum(e.prompt_tokens), saturating_sum(e.completion_tokens), \
         saturating_sum(e.cost_pd), saturating_sum(e.cost_source IS 'unpriced') \
         FROM (SELECT pk, {bucket} AS b FROM sessions WHERE {conditions}) s \
         JOIN events e ON e.session_pk = s.pk \
         WHERE e.kind = 'llm' {model_clause} GROUP BY s.b, m ORDER BY s.b, m"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    while let Some(row) = rows.next()? {
        let start: Micros = row.get(0)?;
        let entry = buckets.entry(start).or_insert_with(|| empty_bucket(start));
        entry.models.push(ModelFigures {
            model: row.get(1)?,
            calls: row.get(2)?,
            prompt_tokens: row.get(3)?,
            completion_tokens: row.get(4)?,
            cost_pd: row.get(5)?,
            unpriced: row.get(6)?,
        });
    }
    Ok(())
}

/// Adds at the 64-bit bounds, like `saturating_sum` in SQL, so a report
/// never fails on absurd values.
fn add(total: &mut i64, value: i64) -> StoreResult<()> {
    *total = total.saturating_add(value);
    Ok(())
}

fn sum_sessions(buckets: &[MetricsBucket]) -> StoreResult<SessionFigures> {
    let mut totals = SessionFigures::default();
    let mut states: BTreeMap<String, i64> = BTreeMap::new();
    for bucket in buckets {
        let figures = &bucket.figures;
        add(&mut totals.sessions, figures.sessions)?;
        add(
            &mut totals.sessions_with_errors,
            figures.sessions_with_errors,
        )?;
        add(&mut totals.events, figures.events)?;
        add(&mut totals.errors, figures.errors)?;
        add(&mut totals.prompt_tokens, figures.prompt_tokens)?;
        add(&mut totals.completion_tokens, figures.completion_tokens)?;
        add(&mut totals.cost_pd, figures.cost_pd)?;
        for (state, count) in &figures.end_states {
            add(states.entry(state.clone()).or_default(), *count)?;
        }
    }
    totals.end_states = states.into_iter().collect();
    Ok(totals)
}

/// Totals per model over all buckets, costliest first.
fn sum_models(buckets: &[MetricsBucket]) -> StoreResult<Vec<ModelFigures>> {
    let mut models: BTreeMap<String, ModelFigures> = BTreeMap::new();
    for figures in buckets.iter().flat_map(|bucket| &bucket.models) {
        let total = models
            .entry(figures.model.clone())
            .or_insert_with(|| ModelFigures {
                model: figures.model.clone(),
                ..ModelFigures::default()
            });
        add(&mut total.calls, figures.calls)?;
        add(&mut total.prompt_tokens, figures.prompt_tokens)?;
        add(&mut total.completion_tokens, figures.completion_tokens)?;
        add(&mut total.cost_pd, figures.cost_pd)?;
        add(&mut total.unpriced, figures.unpriced)?;
    }
    let mut models: Vec<ModelFigures> = models.into_values().collect();
    models.sort_by(|a, b| {
        b.cost_pd
            .cmp(&a.cost_pd)
            .then_with(|| a.model.cmp(&b.model))
    });
    Ok(models)
}
