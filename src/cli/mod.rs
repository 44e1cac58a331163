//! The `tracewell` command line: the server and the admin commands.

mod keys;
mod prices;
mod serve;
mod sessions;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{DEFAULT_DATA_DIR, FileConfig};

#[derive(Debug, Parser)]
#[command(
    name = "tracewell",
    version,
    about = "Self-hosted observability for AI agents"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(serve::ServeArgs),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Show, override, update and recompute model prices.
    #[command(subcommand)]
    Prices(prices::PricesCommand),
    /// List and show stored sessions.
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
}

/// Where the data lives; every command takes these.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Folder of the database and the signing secret [default: ./tracewell-data]
    #[arg(long, env = "TRACEWELL_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file
    #[arg(long, env = "TRACEWELL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

impl DataArgs {
    pub fn file_config(&self) -> anyhow::Result<FileConfig> {
        FileConfig::load(self.config.as_deref())
    }

    /// Opens the store of the data folder. Only `create` makes a missing
    /// database; otherwise a wrong folder is an error, not a new empty one.
    pub fn open_store(
        &self,
        create: bool,
    ) -> anyhow::Result<(PathBuf, crate::store::sqlite::SqliteStore)> {
        let file = self.file_config()?;
        let dir = self.resolve_data_dir(&file);
        let database = dir.join(crate::store::sqlite::DATABASE_FILE);
        if !create && !database.exists() {
            anyhow::bail!(
                "no Tracewell database at {}; run the command where `tracewell serve` runs, \
                 or pass --data-dir",
                database.display()
            );
        }
        let store =
            crate::store::sqlite::SqliteStore::open(&dir, file.synchronous.unwrap_or_default())?;
        Ok((dir, store))
    }

    /// The data folder: the flag, else the file's, else the default.
    pub fn resolve_data_dir(&self, file: &FileConfig) -> PathBuf {
        self.data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Keys(command) => keys::run(command).await,
        Command::Sessions(command) => sessions::run(command).await,
        Command::Prices(command) => prices::run(command).await,
    }
}

/// Escapes control characters in client-supplied text before it goes to a
/// terminal, so a tag cannot clear the screen or break a table row.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn printable_escapes_terminal_controls() {
        assert_eq!(printable("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
        assert_eq!(printable("東京 ok"), "東京 ok");
    }
}
