//! `tracewell serve`.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use tokio::net::TcpListener;

use super::DataArgs;
use super::keys::create_key;
use crate::auth::token::TokenSigner;
use crate::config::{Overrides, Settings};
use crate::cost::Pricer;
use crate::dashboard::auth::{ADMIN_USERNAME, ensure_admin};
use crate::http::{AppState, router};
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Address to listen on [default: 127.0.0.1:4318]; port 0 picks a free one
    #[arg(long, env = "TRACEWELL_LISTEN")]
    listen: Option<SocketAddr>,
    /// Base URL of this server as clients reach it, used in returned links
    /// [default: http://LISTEN-ADDRESS]
    #[arg(long, env = "TRACEWELL_PUBLIC_URL")]
    public_url: Option<String>,
    /// Largest request body accepted, in bytes [default: 33554432]
    #[arg(long, env = "TRACEWELL_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Token signing secret shared by several nodes [default: generated into
    /// the data folder]
    #[arg(long, env = "TRACEWELL_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let file = args.data.file_config()?;
    let overrides = Overrides {
        listen: args.listen,
        data_dir: args.data.data_dir.clone(),
        public_url: args.public_url,
        max_body_bytes: args.max_body_bytes,
        jwt_secret: args.jwt_secret,
    };
    let settings = Settings::resolve(file, overrides);

    let store = Arc::new(SqliteStore::open(&settings.data_dir, settings.synchronous)?);
    let first_key = if store.count_projects().await? == 0 {
        Some(create_key(store.as_ref(), "default", Some("first key")).await?)
    } else {
        None
    };
    let pricer = Arc::new(Pricer::load(&settings.data_dir)?);
    pricer.set_overrides(&store.price_overrides().await?);
    store.set_pricer(pricer.clone());
    spawn_override_refresh(store.clone(), pricer.clone());
    tracing::info!(
        prices = pricer.table().label(),
        models = pricer.table().len(),
        "price table loaded"
    );

    let configured_password = std::env::var("TRACEWELL_ADMIN_PASSWORD")
        .ok()
        .filter(|password| !password.is_empty());
    let admin_password = ensure_admin(store.as_ref(), configured_password.as_deref()).await?;
    let tokens = match &settings.jwt_secret {
        Some(secret) => TokenSigner::new(secret.expose().as_bytes())?,
        None => TokenSigner::load_or_create(&settings.data_dir)?,
    };

    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", settings.listen))?;
    let address = listener.local_addr()?;
    let base_url = format!("http://{address}");
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| base_url.clone());

    println!("tracewell listening on {base_url}");
    if let Some(key) = first_key {
        print_first_start(&public_url, &key);
    }
    if let Some(password) = admin_password {
        print_admin_password(&public_url, &password);
    }
    tracing::info!(%address, data_dir = %settings.data_dir.display(), "server started");

    let state = AppState {
        store,
        tokens,
        pricer,
        max_body_bytes: settings.max_body_bytes,
        public_url: public_url.into(),
    };
    let app = router(state, settings.max_body_bytes);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("server stopped");
    Ok(())
}

/// How often a server reloads price overrides, so that overrides set by the
/// CLI or another node take effect without a restart.
const OVERRIDE_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

fn spawn_override_refresh(store: Arc<SqliteStore>, pricer: Arc<Pricer>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(OVERRIDE_REFRESH);
        loop {
            interval.tick().await;
            match store.price_overrides().await {
                Ok(rows) => pricer.set_overrides(&rows),
                Err(err) => tracing::warn!(error = %err, "price override refresh failed"),
            }
        }
    });
}

fn print_first_start(public_url: &str, key: &str) {
    println!();
    println!("Created project \"default\" with this API key (shown once, stored hashed):");
    println!("  {key}");
    println!();
    println!("Point the AgentOps SDK at this server:");
    println!("  export AGENTOPS_API_KEY={key}");
    println!("  export AGENTOPS_API_ENDPOINT={public_url}");
    println!("  export AGENTOPS_EXPORTER_ENDPOINT={public_url}/v1/traces");
    println!();
}

fn print_admin_password(public_url: &str, password: &str) {
    println!("Created the dashboard user \"{ADMIN_USERNAME}\" with this one-time password:");
    println!("  {password}");
    println!("Sign in at {public_url}/signin; the dashboard then asks for a new password.");
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
