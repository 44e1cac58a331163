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
