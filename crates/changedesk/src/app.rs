//! What every command needs: the configuration (file < environment < command
//! line), logging, the clock and the archive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use changedesk_core::Timestamp;
use changedesk_core::config::{
    self, CliOverrides, Config, ConfigFile, DatabaseUrl, LogFormat, Sources,
};
use changedesk_store::{Location, OpenMode, Store};

use crate::cli::Global;

/// The file read when neither --config nor CHANGEDESK_CONFIG names one.
pub const DEFAULT_CONFIG_FILE: &str = "changedesk.toml";

pub struct App {
    pub config: Config,
    /// The configuration file read, as an absolute path when it can be
    /// made one (declared channels record it); `None`: no file.
    pub config_path: Option<String>,
}

/// Who makes changes by hand when `--as` is not given.
pub const USER_ENV: &str = "CHANGEDESK_USER";

/// The environment of this process: the `CHANGEDESK_*` variables are
/// settings; any other is read only when a declared channel's `url_env` or
/// `secret_env` names it.
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        // read by the binary itself (`--as USER`), not a setting
        .filter(|(k, _)| k != USER_ENV)
        .collect()
}

/// The configuration file to read: --config / CHANGEDESK_CONFIG, else
/// `./changedesk.toml` when it exists.
pub fn config_path(global: &Global) -> Option<PathBuf> {
    global.config.clone().or_else(|| {
        let p = PathBuf::from(DEFAULT_CONFIG_FILE);
        p.exists().then_some(p)
    })
}

pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))
}

fn read_secret_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

impl App {
    /// Loads the configuration and starts logging.
    pub fn load(global: &Global) -> Result<App> {
        let path = config_path(global);
        let text = path.as_deref().map(read_text).transpose()?;
        let path_display = path.as_ref().map(|p| p.display().to_string());
        let env = environment();
        let sources = Sources {
            file: match (&path_display, &text) {
                (Some(p), Some(t)) => Some(ConfigFile { path: p, text: t }),
                _ => None,
            },
            env: &env,
            cli: CliOverrides {
                database: global.database.as_deref(),
                log_format: global.log_format.as_deref(),
            },
        };
        let loaded = match config::load(&sources, &read_secret_file) {
            Ok(l) => l,
            Err(errors) => {
                for w in &errors.warnings {
                    eprintln!("warning: {w}");
                }
                bail!("the configuration is not valid:\n{errors}");
            }
        };
        init_logging(global.verbose, loaded.config.log_format);
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        tracing::debug!(
            config = path_display.as_deref().unwrap_or("(none)"),
            database = %loaded.config.database.redacted(),
            tenants = loaded.config.tenants.len(),
            "configuration loaded"
        );
        let config_path = path.as_ref().map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        });
        Ok(App {
            config: loaded.config,
            config_path,
        })
    }

    /// Opens the archive; `ReadOnly` refuses to create a missing SQLite file.
    pub async fn store(&self, mode: OpenMode) -> Result<Store> {
        let location = match &self.config.database {
            DatabaseUrl::Sqlite { path } => Location::Sqlite(path.clone()),
            DatabaseUrl::Postgres(url) => Location::Postgres(url.expose_url().to_string()),
        };
        Ok(Store::open(&location, mode)
            .await?
            .with_sync_failing_after(self.config.notify.thresholds.sync_failing_after))
    }

    /// Refuses a `--tenant` name that is neither configured nor archived: a
    /// typo must not quietly answer "nothing" (or act on nothing).
    pub async fn check_tenant(&self, store: &Store, name: Option<&str>) -> Result<()> {
        let Some(name) = name else { return Ok(()) };
        let name = name.trim();
        if self
            .config
            .tenants
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(name))
        {
            return Ok(());
        }
        let archived = store.tenants().await?;
        if archived.iter().any(|t| t.name.eq_ignore_ascii_case(name)) {
            return Ok(());
        }
        let mut known: Vec<String> = self.config.tenants.iter().map(|t| t.name.clone()).collect();
        for t in archived {
            if !known.contains(&t.name) {
                known.push(t.name);
            }
        }
        let count = known.len();
        let mut list = known.into_iter().take(20).collect::<Vec<_>>().join(", ");
        if count > 20 {
            list.push_str(&format!(" and {} more", count - 20));
        }
        if list.is_empty() {
            list = "none yet".to_string();
        }
        anyhow::bail!(
            "no tenant named `{}` is configured or archived (known: {list})",
            changedesk_core::text::clip_chars(name, 80)
        )
    }

    /// Opens an archive that must exist already, for writing: commands that
    /// change work items have nothing to work on in a new, empty archive.
    pub async fn store_existing(&self) -> Result<Store> {
        if let DatabaseUrl::Sqlite { path } = &self.config.database
            && !path.exists()
        {
            return Err(changedesk_store::StoreError::MissingDatabase(path.clone()).into());
        }
        self.store(OpenMode::ReadWrite).await
    }
}

/// The current instant. `CHANGEDESK_NOW` (an ISO 8601 instant) sets it, for
/// tests and reproducible demos.
pub fn now() -> Result<Timestamp> {
    match std::env::var("CHANGEDESK_NOW") {
        Ok(s) if !s.trim().is_empty() => {
            Timestamp::parse(&s).with_context(|| "CHANGEDESK_NOW is not a valid instant")
        }
        _ => Ok(Timestamp::now_utc()),
    }
}

/// Logs go to standard error, as text or JSON. CHANGEDESK_LOG takes an
/// env-filter directive (e.g. `debug`, `changedesk_store=trace`).
pub fn init_logging(verbose: u8, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter =
        EnvFilter::try_from_env("CHANGEDESK_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
