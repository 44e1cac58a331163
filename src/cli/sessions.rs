//! `tracewell sessions list|show`.

use clap::Subcommand;

use super::DataArgs;
use crate::ingest::{time, value::canonical_session_id};
use crate::store::{SessionQuery, Store};
use crate::view;

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List sessions, newest first.
    List {
        #[command(flatten)]
        data: DataArgs,
        /// Only this project's sessions
        #[arg(long)]
        project: Option<String>,
        /// How many sessions to print
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print one session with its agents, events and terminal log as JSON.
    Show {
        #[command(flatten)]
        data: DataArgs,
        /// Session id (a UUID, or a 32-digit trace id)
        id: String,
        /// Project of the session
        #[arg(long, default_value = "default")]
        project: String,
        /// Print only the terminal output the SDK uploaded, as plain text
        #[arg(long)]
        log: bool,
    },
}

pub async fn run(command: SessionsCommand) -> anyhow::Result<()> {
    match command {
        SessionsCommand::List {
            data,
            project,
            limit,
        } => {
            let (_, store) = data.open_store(false)?;
            let project_id = match project {
                Some(name) => Some(store.ensure_project(&name).await?.id),
                None => None,
            };
            let query = SessionQuery {
                limit,
                before: None,
            };
            println!(
                "{:<36}  {:<27}  {:<13}  {:>6}  {:>6}  {:>12}  TAGS",
                "SESSION", "STARTED", "END STATE", "EVENTS", "ERRORS", "COST"
            );
            for session in store.list_sessions(project_id, query).await? {
                println!(
                    "{:<36}  {:<27}  {:<13}  {:>6}  {:>6}  {:>12}  {}",
                    super::printable(&session.id),
                    session.init_us.map(time::format).unwrap_or_default(),
                    super::printable(&session.end_state),
                    session.totals.events,
                    session.totals.errors,
                    view::format_dollars(session.totals.cost_pd),
                    super::printable(&session.tags.join(","))
                );
            }
        }
        SessionsCommand::Show {
            data,
            id,
            project,
            log,
        } => {
            let (_, store) = data.open_store(false)?;
            let project = store.ensure_project(&project).await?;
            let id = canonical_session_id(&id);
            let Some(session) = store.session(project.id, &id).await? else {
                anyhow::bail!("session {id} not found in project {}", project.name);
            };
            let terminal_log = store.session_log(session.pk).await?;
            if log {
                let Some(text) = terminal_log else {
                    anyhow::bail!("session {id} has no terminal log");
                };
                print!("{text}");
                return Ok(());
            }
            let events = store.session_events(session.pk).await?;
            let agents = store.session_agents(session.pk).await?;
            let export = view::export_json(&session, &agents, &events, terminal_log.as_deref());
            println!("{}", serde_json::to_string_pretty(&export)?);
        }
    }
    Ok(())
}
