//! `tracewell keys create|list|revoke`.

use clap::Subcommand;

use super::DataArgs;
use crate::auth::api_key;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key and print it (only the key, on stdout).
    Create {
        #[command(flatten)]
        data: DataArgs,
        /// Project of the key; created when missing
        #[arg(long, default_value = "default")]
        project: String,
        /// Label to tell keys apart
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys by prefix; the keys themselves are not stored.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Revoke the key with this prefix (from `keys list`) or row id.
    Revoke {
        #[command(flatten)]
        data: DataArgs,
        key: String,
    },
}

/// Creates `project` if needed and a new key for it; returns the plain key.
pub async fn create_key(
    store: &dyn Store,
    project: &str,
    name: Option<&str>,
) -> anyhow::Result<String> {
    let project = store.ensure_project(project).await?;
    let key = api_key::generate();
    store
        .insert_api_key(project.id, &key.hash, &key.prefix, name)
        .await?;
    tracing::info!(
        project = project.name,
        prefix = key.prefix,
        "api key created"
    );
    Ok(key.plain)
}

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            data,
            project,
            name,
        } => {
            let (_, store) = data.open_store(true)?;
            let key = create_key(&store, &project, name.as_deref()).await?;
            println!("{key}");
        }
        KeysCommand::List { data } => {
            let (_, store) = data.open_store(false)?;
            println!(
                "{:<6} {:<10} {:<20} {:<24} STATUS",
                "ID", "PREFIX", "PROJECT", "NAME"
            );
            for key in store.list_api_keys().await? {
                let status = if key.revoked_us.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:<6} {:<10} {:<20} {:<24} {status}",
                    key.id,
                    key.prefix,
                    super::printable(&key.project),
                    super::printable(&key.name.unwrap_or_default())
                );
            }
        }
        KeysCommand::Revoke { data, key } => {
            let (_, store) = data.open_store(false)?;
            let selector = api_key::canonicalize(&key)
                .map(|canonical| api_key::prefix(&canonical))
                .unwrap_or(key.clone());
            match store.revoke_api_key(&selector).await? {
                0 => anyhow::bail!("no active key matches {key}; see `tracewell keys list`"),
                count => println!("revoked {count} key(s) matching {selector}"),
            }
        }
    }
    Ok(())
}
