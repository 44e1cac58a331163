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

    // Bind first: a start that cannot listen must not create the first key
    // and admin password without showing them.
    let listener = TcpListener::bind(settings.listen).await.map_err(|err| {
        anyhow::anyhow!(
            "cannot listen on {}: {err}; pass a free address with --listen",
            settings.listen
        )
    })?;
    create_private_dir(&settings.data_dir)?;
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

    let address = listener.local_addr()?;
    let base_url = format!("http://{address}");
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| base_url.clone());

    let mut banner = format!("tracewell listening on {base_url}\n");
    if let Some(key) = first_key {
        banner.push_str(&first_start_text(&public_url, &key));
    }
    if let Some(password) = admin_password {
        banner.push_str(&admin_password_text(&public_url, &password));
    }
    print_banner(&banner);
    tracing::info!(%address, data_dir = %settings.data_dir.display(), "server started");

    let state = AppState {
        store,
        tokens,
        pricer,
        key_status: Default::default(),
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

/// Creates the data folder readable by its owner only: it holds prompts,
/// password hashes and the signing secret.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
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

/// Writes the startup text to stdout. A closed stdout (a supervisor that
/// read the first line and left) must not stop the server, so a failed
/// write is logged, not raised.
fn print_banner(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        tracing::warn!(error = %err, "cannot write the startup text to stdout");
    }
}

fn first_start_text(public_url: &str, key: &str) -> String {
    format!(
        "\nCreated project \"default\" with this API key (shown once, stored hashed):\n  {key}\n\n\
         Point the AgentOps SDK at this server:\n\
         \x20 export AGENTOPS_API_KEY={key}\n\
         \x20 export AGENTOPS_API_ENDPOINT={public_url}\n\
         \x20 export AGENTOPS_EXPORTER_ENDPOINT={public_url}/v1/traces\n\n"
    )
}

fn admin_password_text(public_url: &str, password: &str) -> String {
    format!(
        "Created the dashboard user \"{ADMIN_USERNAME}\" with this one-time password:\n  \
         {password}\nSign in at {public_url}/signin; the dashboard then asks for a new \
         password.\n\n"
    )
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
