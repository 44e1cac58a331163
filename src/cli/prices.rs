//! `tracewell prices update|show|set|unset|recompute`.

use std::path::PathBuf;

use clap::Subcommand;

use super::DataArgs;
use crate::cost::{PriceTable, Pricer, describe_price_in, price_file};
use crate::ingest::time;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Replace the price table with a newer copy of litellm's
    /// model_prices_and_context_window.json; servers load it at their next
    /// start.
    Update {
        #[command(flatten)]
        data: DataArgs,
        file: PathBuf,
    },
    /// Print what a model costs and which table entry matched.
    Show {
        #[command(flatten)]
        data: DataArgs,
        model: String,
        /// Apply this project's overrides
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Set a project's price for a model (or a custom model), in dollars per
    /// token, e.g. --input 0.0000025 --output 0.00001.
    Set {
        #[command(flatten)]
        data: DataArgs,
        model: String,
        #[arg(long, default_value = "default")]
        project: String,
        /// Dollars per input (prompt) token
        #[arg(long)]
        input: String,
        /// Dollars per output (completion) token
        #[arg(long)]
        output: String,
        /// Dollars per input token read from the provider's cache
        #[arg(long)]
        cache_read: Option<String>,
        /// Dollars per input token written to the provider's cache
        #[arg(long)]
        cache_creation: Option<String>,
        /// Dollars per reasoning token
        #[arg(long)]
        reasoning: Option<String>,
    },
    /// Remove a project's price override for a model.
    Unset {
        #[command(flatten)]
        data: DataArgs,
        model: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Price again the events of sessions that started in a date range, with
    /// the prices in force now. Client-sent costs are kept.
    Recompute {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, default_value = "default")]
        project: String,
        /// Start of the range, RFC 3339 (e.g. 2024-03-01T00:00:00Z)
        #[arg(long)]
        from: String,
        /// End of the range (exclusive), RFC 3339
        #[arg(long)]
        to: String,
    },
}

/// Builds a price entry in the price table's field names from dollar
/// amounts given as text, so no digit passes through a float.
pub fn price_entry(
    input: &str,
    output: &str,
    cache_read: Option<&str>,
    cache_creation: Option<&str>,
    reasoning: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let mut text = format!(
        "{{\"input_cost_per_token\": {}, \"output_cost_per_token\": {}",
        number(input)?,
        number(output)?
    );
    for (field, value) in [
        ("cache_read_input_token_cost", cache_read),
        ("cache_creation_input_token_cost", cache_creation),
        ("output_cost_per_reasoning_token", reasoning),
    ] {
        if let Some(value) = value {
            text.push_str(&format!(", \"{field}\": {}", number(value)?));
        }
    }
    text.push('}');
    let entry: serde_json::Value = serde_json::from_str(&text)?;
    crate::cost::ModelPrice::from_value(&entry)
        .map_err(|err| anyhow::anyhow!("invalid price: {err}"))?;
    Ok(entry)
}

fn number(text: &str) -> anyhow::Result<&str> {
    let valid = crate::cost::parse_usd(text).is_ok() && !text.trim_start().starts_with('-');
    anyhow::ensure!(
        valid,
        "{text:?} is not a price; give dollars per token as a decimal, e.g. 0.0000025"
    );
    Ok(text.trim())
}

pub async fn run(command: PricesCommand) -> anyhow::Result<()> {
    match command {
        PricesCommand::Update { data, file } => {
            let bytes = std::fs::read(&file)
                .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", file.display()))?;
            let table = PriceTable::from_json_bytes(&bytes)?;
            let (dir, _store) = data.open_store(false)?;
            let target = price_file(&dir);
            let staging = target.with_extension("json.new");
            std::fs::write(&staging, table.to_bytes())?;
            std::fs::rename(&staging, &target)?;
            println!(
                "stored {} prices ({}) in {}; restart the server to use them",
                table.len(),
                table.label(),
                target.display()
            );
        }
        PricesCommand::Show {
            data,
            model,
            project,
        } => {
            let (dir, store) = data.open_store(false)?;
            let pricer = Pricer::load(&dir)?;
            pricer.set_overrides(&store.price_overrides().await?);
            let project = store.ensure_project(&project).await?;
            let tables = pricer.tables(project.id);
            let refs: Vec<&PriceTable> = tables.iter().map(|table| table.as_ref()).collect();
            println!("{}", describe_price_in(&refs, &model));
        }
        PricesCommand::Set {
            data,
            model,
            project,
            input,
            output,
            cache_read,
            cache_creation,
            reasoning,
        } => {
            let entry = price_entry(
                &input,
                &output,
                cache_read.as_deref(),
                cache_creation.as_deref(),
                reasoning.as_deref(),
            )?;
            let (_dir, store) = data.open_store(false)?;
            let project = store.ensure_project(&project).await?;
            store
                .set_price_override(project.id, &model, Some(entry.to_string()))
                .await?;
            println!("set the price of {model} for project {}", project.name);
        }
        PricesCommand::Unset {
            data,
            model,
            project,
        } => {
            let (_dir, store) = data.open_store(false)?;
            let project = store.ensure_project(&project).await?;
            match store.set_price_override(project.id, &model, None).await? {
                0 => anyhow::bail!("project {} has no price override for {model}", project.name),
                _ => println!("removed the price override of {model}"),
            }
        }
        PricesCommand::Recompute {
            data,
            project,
            from,
            to,
        } => {
            let range_error = |field: &str, value: &str| {
                anyhow::anyhow!("--{field} {value:?} is not a timestamp; use RFC 3339")
            };
            let from_us = time::parse_text(&from).ok_or_else(|| range_error("from", &from))?;
            let to_us = time::parse_text(&to).ok_or_else(|| range_error("to", &to))?;
            let (dir, store) = data.open_store(false)?;
            let pricer = std::sync::Arc::new(Pricer::load(&dir)?);
            pricer.set_overrides(&store.price_overrides().await?);
            store.set_pricer(pricer);
            let project = store.ensure_project(&project).await?;
            let changed = store.recompute_costs(project.id, from_us, to_us).await?;
            println!("recomputed: {changed} event cost(s) changed");
        }
    }
    Ok(())
}
