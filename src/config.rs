//! Server configuration, layered: built-in defaults, then a TOML file, then
//! `TRACEWELL_*` environment variables, then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::store::sqlite::Synchronous;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4318";
pub const DEFAULT_DATA_DIR: &str = "tracewell-data";
/// 32 MiB: room for long-context prompts in one request.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// A secret that never appears in `Debug` output or logs.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The keys a configuration file may set; unknown keys are rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    /// Base URL that links returned to clients point at.
    pub public_url: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub jwt_secret: Option<Secret>,
    pub synchronous: Option<Synchronous>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|err| anyhow::anyhow!("cannot read config file {}: {err}", path.display()))?;
        toml::from_str(&text)
            .map_err(|err| anyhow::anyhow!("invalid config file {}: {err}", path.display()))
    }
}

/// The resolved settings of a running server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    pub jwt_secret: Option<Secret>,
    pub synchronous: Synchronous,
}

/// Values given by flags or environment variables; each wins over the file.
#[derive(Debug, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub public_url: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub jwt_secret: Option<String>,
}

impl Settings {
    pub fn resolve(file: FileConfig, overrides: Overrides) -> Settings {
        let default_listen = DEFAULT_LISTEN.parse().expect("default address parses");
        Settings {
            listen: overrides.listen.or(file.listen).unwrap_or(default_listen),
            data_dir: overrides
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            public_url: overrides
                .public_url
                .or(file.public_url)
                .map(|url| url.trim_end_matches('/').to_owned()),
            max_body_bytes: overrides
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(DEFAULT_MAX_BODY_BYTES),
            jwt_secret: overrides.jwt_secret.map(Secret::new).or(file.jwt_secret),
            synchronous: file.synchronous.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_config_rejects_unknown_keys() {
        let err = toml::from_str::<FileConfig>("listen_addr = \"x\"").unwrap_err();
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }

    #[test]
    fn overrides_win_over_file() {
        let file: FileConfig =
            toml::from_str("listen = \"127.0.0.1:9000\"\nmax_body_bytes = 10").unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:9001".parse().unwrap()),
            ..Overrides::default()
        };
        let settings = Settings::resolve(file, overrides);
        assert_eq!(settings.listen.port(), 9001);
        assert_eq!(settings.max_body_bytes, 10);
    }

    #[test]
    fn secret_debug_hides_value() {
        let secret = Secret::new("hunter2".into());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
