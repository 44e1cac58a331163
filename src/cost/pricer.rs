//! The prices in force on a server: the price table (the embedded one, or
//! the copy `tracewell prices update` stored in the data folder) under each
//! project's overrides.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::{ModelPrice, PriceTable, Resolved, price_resolved, resolve_in};
use crate::model::{CostParts, CostSource, EventRecord, ProjectId, kind};
use crate::store::{EventPricer, PriceOverride};

/// File in the data folder that replaces the embedded price table.
pub const PRICE_FILE: &str = "model_prices.json";

pub struct Pricer {
    table: Arc<PriceTable>,
    overrides: RwLock<HashMap<ProjectId, Arc<PriceTable>>>,
    /// Model lookups by project and model names, because matching a name
    /// against thousands of entries costs more than pricing the tokens.
    /// Emptied whenever the overrides change.
    lookups: RwLock<HashMap<LookupKey, Option<Resolved>>>,
}

type LookupKey = (ProjectId, Vec<String>);

/// Bound on the lookup cache; past it the cache starts over.
const MAX_CACHED_LOOKUPS: usize = 10_000;

impl Pricer {
    pub fn new(table: PriceTable) -> Self {
        Pricer {
            table: Arc::new(table),
            overrides: RwLock::new(HashMap::new()),
            lookups: RwLock::new(HashMap::new()),
        }
    }

    /// Loads the price file of `data_dir` when there is one, else the
    /// embedded table.
    pub fn load(data_dir: &Path) -> anyhow::Result<Self> {
        let path = price_file(data_dir);
        let table = match std::fs::read(&path) {
            Ok(bytes) => PriceTable::from_json_bytes(&bytes)
                .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                PriceTable::embedded().clone()
            }
            Err(err) => anyhow::bail!("cannot read {}: {err}", path.display()),
        };
        Ok(Self::new(table))
    }

    pub fn table(&self) -> &PriceTable {
        &self.table
    }

    /// Replaces every project's overrides with `rows`. A stored price that
    /// no longer parses is skipped and logged.
    pub fn set_overrides(&self, rows: &[PriceOverride]) {
        let mut tables: HashMap<ProjectId, PriceTable> = HashMap::new();
        for row in rows {
            let parsed = serde_json::from_str(&row.price)
                .ok()
                .and_then(|value| ModelPrice::from_value(&value).ok());
            let Some(price) = parsed else {
                tracing::warn!(
                    project = row.project_id,
                    model = row.model,
                    "invalid price override skipped"
                );
                continue;
            };
            tables
                .entry(row.project_id)
                .or_insert_with(|| PriceTable::empty("project overrides"))
                .insert(row.model.clone(), price);
        }
        let tables = tables.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        *self.overrides.write().unwrap_or_else(|e| e.into_inner()) = tables;
        self.lookups
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Finds the price entry for the first of `models` that matches, with
    /// the project's overrides first.
    fn resolve(&self, project: ProjectId, models: &[&str]) -> Option<Resolved> {
        let key: LookupKey = (project, models.iter().map(|m| (*m).to_owned()).collect());
        if let Some(found) = self
            .lookups
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return found.clone();
        }
        let tables = self.tables(project);
        let table_refs: Vec<&PriceTable> = tables.iter().map(Arc::as_ref).collect();
        let resolved = resolve_in(&table_refs, models);
        let mut lookups = self.lookups.write().unwrap_or_else(|e| e.into_inner());
        if lookups.len() >= MAX_CACHED_LOOKUPS {
            lookups.clear();
        }
        lookups.insert(key, resolved.clone());
        resolved
    }

    /// The tables that price a project's events, overrides first.
    pub fn tables(&self, project: ProjectId) -> Vec<Arc<PriceTable>> {
        let overrides = self.overrides.read().unwrap_or_else(|e| e.into_inner());
        let mut tables: Vec<Arc<PriceTable>> =
            overrides.get(&project).cloned().into_iter().collect();
        tables.push(self.table.clone());
        tables
    }
}

pub fn price_file(data_dir: &Path) -> PathBuf {
    data_dir.join(PRICE_FILE)
}

impl EventPricer for Pricer {
    /// Decides an event's cost: a client-sent cost is kept; otherwise the
    /// response model, then the request model, is priced from the token
    /// counts. An LLM event that cannot be priced is marked unpriced.
    fn price(&self, project: ProjectId, event: &mut EventRecord) {
        if matches!(event.cost_source, Some(CostSource::Client)) {
            return;
        }
        let models: Vec<&str> = [event.model.as_deref(), event.request_model.as_deref()]
            .into_iter()
            .flatten()
            .filter(|name| !name.trim().is_empty())
            .collect();
        if models.is_empty() && event.kind != kind::LLM {
            return;
        }
        let resolved = self.resolve(project, &models);
        match price_resolved(resolved, !models.is_empty(), &event.usage, None) {
            Ok(priced) => {
                event.cost = priced.cost;
                event.cost_source = priced.source;
                event.cost_parts =
                    priced
                        .breakdown
                        .filter(|_| event.cost.is_some())
                        .map(|b| CostParts {
                            uncached_input: b.uncached_input,
                            cache_read: b.cache_read,
                            cache_creation: b.cache_creation,
                            output: b.output,
                            reasoning: b.reasoning,
                        });
                event.price = priced
                    .resolved
                    .filter(|_| event.cost.is_some())
                    .and_then(|resolved| serde_json::to_string(&resolved.price).ok());
            }
            Err(err) => {
                tracing::warn!(event_id = event.id, error = %err, "event cost overflowed; stored unpriced");
                event.cost = None;
                event.cost_source = None;
            }
        }
        if event.kind == kind::LLM && event.cost.is_none() {
            event.cost_source = Some(CostSource::Unpriced);
            event.cost_parts = None;
            event.price = None;
        }
    }
}
