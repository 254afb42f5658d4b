//! Configuration rules: the TOML file, the environment variables that
//! override it, validation, and error messages that point at the line or
//! variable to fix. See `docs/CONFIG.md` for the user-facing description.
//!
//! Architecture invariant: no IO here. The caller passes the file's text,
//! the environment as a map, the command-line overrides, and a callback that
//! reads `*_FILE` secrets.
//!
//! Layers, lowest to highest: built-in defaults < file < environment <
//! command line. Validation runs on the merged result, so a value that a
//! higher layer replaces is not validated (`check` validates the file alone).
//!
//! Secrets (client secrets, the PostgreSQL URL) are kept in
//! [`secrecy::SecretString`] or a redacting wrapper, so `Debug` never shows
//! them, and no error message or warning contains one.

mod analytics;
mod app;
mod database;
mod env;
mod error;
mod file;
mod merge;
mod notify;
mod oidc;
mod server;
mod sync;
mod tenant;
mod triage;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub use app::AppRegistration;
pub use database::{DEFAULT_DATABASE_URL, DatabaseUrl, PostgresUrl};
pub use env::{BINARY_ENV_VARS, ENV_PREFIX};
pub use error::{ConfigError, ConfigErrors, Location, Position, ValueError};
pub use notify::{
    ACT_BY_SOON_DAYS_RANGE, DeclaredAt, DeclaredChannel, DeclaredConnector, DeclaredFollow,
    DeclaredQuiet, DeclaredReport, DeclaredSchedule, DeclaredSecret, EmailSettings, EmailTransport,
    LATE_AFTER_DAYS_RANGE, NotifySettings, SYNC_FAILING_AFTER_RANGE, SecretFrom, SmtpConfig,
    looks_like_mailbox,
};
pub use oidc::{DEFAULT_APP_ROLES, OidcConfig};
pub use server::{IpRange, ServerSettings};
pub use sync::SyncSettings;
pub use tenant::{Cloud, Credential, CredentialSpec, TenantConfig, days_left};
pub use triage::TriageConfig;

use merge::{EnvInput, Origin, Reporter, Val};

/// The commented example configuration (`changedesk config example`). It
/// parses with [`check`].
pub const EXAMPLE: &str = include_str!("../../../config/changedesk.example.toml");

/// The whole configuration. `C` is the tenant credential: [`Credential`]
/// after [`load`], [`CredentialSpec`] after [`check`].
///
/// `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct Config<C = Credential> {
    pub database: DatabaseUrl,
    pub log_format: LogFormat,
    /// In file order, then tenants defined only by environment variables,
    /// by name.
    pub tenants: Vec<TenantConfig<C>>,
    /// `[app]`: the multi-tenant app registration through which the tenants
    /// kept in the database are reached, when configured.
    pub app: Option<AppRegistration<C>>,
    /// `[sync]`: how changedesk talks to Graph.
    pub sync: SyncSettings,
    /// Owners, tenant groups, ownership, rules and `[triage]`.
    pub triage: TriageConfig,
    /// `[oidc]`: OpenID Connect sign-in, when configured.
    pub oidc: Option<OidcConfig>,
    /// `[server]`: how `serve` treats its clients.
    pub server: ServerSettings,
    /// `[notify]`: e-mail transport and message templates.
    pub notify: NotifySettings,
    /// `[analytics]`: the working-day calendar and the SLA targets.
    pub analytics: crate::metrics::AnalyticsSettings,
}

impl<C> Config<C> {
    /// The tenant called `name`.
    pub fn tenant(&self, name: &str) -> Option<&TenantConfig<C>> {
        self.tenants.iter().find(|t| t.name == name)
    }
}

/// The format of log lines on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl FromStr for LogFormat {
    type Err = ValueError;

    /// `text` or `json`, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(ValueError(format!(
                "unknown log format {:?} (expected text or json)",
                s.chars().take(32).collect::<String>()
            ))),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The configuration file's text, and its path for messages.
///
/// `Debug` shows the path and the text's length, not the text.
#[derive(Clone, Copy)]
pub struct ConfigFile<'a> {
    pub path: &'a str,
    pub text: &'a str,
}

impl fmt::Debug for ConfigFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigFile")
            .field("path", &self.path)
            .field("text_len", &self.text.len())
            .finish()
    }
}

/// Command-line flags that override every other layer.
///
/// `Debug` shows the database URL redacted.
#[derive(Clone, Copy, Default)]
pub struct CliOverrides<'a> {
    /// `--database URL`.
    pub database: Option<&'a str>,
    /// `--log-format text|json`.
    pub log_format: Option<&'a str>,
}

impl fmt::Debug for CliOverrides<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let database = self.database.map(|d| {
            DatabaseUrl::parse(d).map_or_else(|_| "(invalid)".to_owned(), |u| u.redacted())
        });
        f.debug_struct("CliOverrides")
            .field("database", &database)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// Everything [`load`] reads from.
///
/// `Debug` shows the names of the `CHANGEDESK_*` variables, not their values.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    /// The file named by `--config` or `CHANGEDESK_CONFIG`, if any.
    pub file: Option<ConfigFile<'a>>,
    /// The process environment. Only `CHANGEDESK_*` variables are looked
    /// at, and those a declared channel's `url_env` or `secret_env` names.
    pub env: &'a BTreeMap<String, String>,
    pub cli: CliOverrides<'a>,
}

impl fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vars: Vec<&str> = self
            .env
            .keys()
            .filter(|k| k.starts_with(ENV_PREFIX))
            .map(String::as_str)
            .collect();
        f.debug_struct("Sources")
            .field("file", &self.file)
            .field("env", &vars)
            .field("cli", &self.cli)
            .finish()
    }
}

/// The result of [`load`]: the configuration, and warnings for the binary
/// to print (unrecognised `CHANGEDESK_*` variables; never a value).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Merges defaults, the file, the environment and the command line,
/// validates the result and reads secret files (`client_secret_file` of a
/// tenant or `[app]`, `CHANGEDESK_DATABASE_FILE`,
/// `CHANGEDESK_TENANTS__<NAME>__CLIENT_SECRET_FILE`, `CHANGEDESK_APP__CLIENT_SECRET_FILE`,
/// `[oidc] client_secret_file`, a declared channel's `url_file` and
/// `secret_file`; its `url_env` and `secret_env` from `sources.env`)
/// through `read_secret_file`, which returns the file's content or an error
/// message (e.g. the IO error, not the content). One trailing newline is
/// removed from a secret read from a file.
///
/// A syntax or shape error in the file stops at that error; otherwise every
/// problem is reported.
pub fn load(
    sources: &Sources<'_>,
    read_secret_file: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<Loaded, ConfigErrors> {
    let layer = env::scan(sources.env);
    let warnings = layer.warnings.clone();
    let raw = match &sources.file {
        Some(f) => file::parse(f).map_err(|e| ConfigErrors {
            errors: vec![e],
            warnings: warnings.clone(),
        })?,
        None => file::RawFile::default(),
    };
    let mut rep = Reporter::new(sources.file.as_ref());

    // CHANGEDESK_DATABASE or CHANGEDESK_DATABASE_FILE, unless --database wins
    let database = match (&layer.database, &layer.database_file) {
        _ if sources.cli.database.is_some() => None,
        (Some(_), Some(_)) => {
            rep.error(
                &Origin::Env(env::DATABASE_FILE.to_owned()),
                "database",
                format!(
                    "set either {} or {}, not both",
                    env::DATABASE,
                    env::DATABASE_FILE
                ),
            );
            None
        }
        (Some(url), None) => Some(Val {
            value: url.clone(),
            origin: Origin::Env(env::DATABASE.to_owned()),
        }),
        (None, Some(path)) => {
            let origin = Origin::Env(env::DATABASE_FILE.to_owned());
            match merge::read_secret(Path::new(path), read_secret_file) {
                Ok(url) => Some(Val {
                    value: secrecy::ExposeSecret::expose_secret(&url).to_owned(),
                    origin,
                }),
                Err(e) => {
                    rep.error(&origin, "database", e);
                    None
                }
            }
        }
        (None, None) => None,
    };

    let built = merge::build(&mut rep, raw, EnvInput { database, layer }, &sources.cli);
    let Some(merge::Built {
        config,
        credential_origins,
        app_credential_origin,
        oidc_secret_origin,
    }) = built
    else {
        return rep.finish(None, &warnings);
    };

    let mut tenants = Vec::with_capacity(config.tenants.len());
    for (tenant, (origin, key)) in config.tenants.into_iter().zip(credential_origins) {
        match read_credential(tenant.credential.clone(), read_secret_file) {
            Ok(credential) => tenants.push(tenant.map_credential(|_| credential)),
            Err(e) => rep.error(&origin, &key, e),
        }
    }
    let app = match (config.app, app_credential_origin) {
        (Some(app), Some(origin)) => {
            match read_credential(app.credential.clone(), read_secret_file) {
                Ok(credential) => Some(app.map_credential(|_| credential)),
                Err(e) => {
                    rep.error(&origin, "app.client_secret_file", e);
                    None
                }
            }
        }
        _ => None,
    };
    let mut oidc = config.oidc;
    if let (Some(o), Some(origin)) = (&mut oidc, &oidc_secret_origin) {
        match merge::read_secret(&o.client_secret_file, read_secret_file) {
            Ok(s) => o.client_secret = Some(s),
            Err(e) => rep.error(origin, "oidc.client_secret_file", e),
        }
    }
    let mut notify = config.notify;
    if let Some(EmailSettings {
        transport: EmailTransport::Smtp(smtp),
        ..
    }) = &mut notify.email
        && let Some(path) = &smtp.password_file
    {
        match merge::read_secret(path, read_secret_file) {
            Ok(s) => smtp.password = Some(s),
            Err(e) => rep.error(&Origin::File(0), "notify.email.smtp.password_file", e),
        }
    }
    notify::read_channel_secrets(
        &mut rep,
        &mut notify.channels,
        sources.env,
        read_secret_file,
    );
    // a variable a channel reads is not a misspelt setting
    let read_by_channels = notify::channel_env_vars(&notify.channels);
    let warnings: Vec<String> = warnings
        .into_iter()
        .filter(|w| {
            !read_by_channels
                .iter()
                .any(|v| w.starts_with(&format!("{v} is not a changedesk setting")))
        })
        .collect();
    let config = Config {
        database: config.database,
        log_format: config.log_format,
        tenants,
        app,
        sync: config.sync,
        triage: config.triage,
        oidc,
        server: config.server,
        notify,
        analytics: config.analytics,
    };
    rep.finish(
        Some(Loaded {
            config,
            warnings: warnings.clone(),
        }),
        &warnings,
    )
}

/// The credential with a `client_secret_file` read (an error names the
/// path, never the content).
fn read_credential(
    spec: CredentialSpec,
    read_secret_file: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<Credential, String> {
    match spec {
        CredentialSpec::Secret(s) => Ok(Credential::Secret(s)),
        CredentialSpec::Certificate {
            certificate_file,
            private_key_file,
        } => Ok(Credential::Certificate {
            certificate_file,
            private_key_file,
        }),
        CredentialSpec::SecretFile(path) => {
            merge::read_secret(&path, read_secret_file).map(Credential::Secret)
        }
    }
}

/// Validates the file alone (no environment, no command line), for
/// `changedesk config check`. Secret files are not read; their paths are
/// checked for form only, and appear as [`CredentialSpec::SecretFile`].
pub fn check(path_for_messages: &str, text: &str) -> Result<Config<CredentialSpec>, ConfigErrors> {
    let file = ConfigFile {
        path: path_for_messages,
        text,
    };
    let raw = file::parse(&file)?;
    let mut rep = Reporter::new(Some(&file));
    let built = merge::build(
        &mut rep,
        raw,
        EnvInput {
            database: None,
            layer: Default::default(),
        },
        &CliOverrides::default(),
    );
    rep.finish(built.map(|b| b.config), &[])
}

/// Whether `s` names a directory as a tenant's `tenant_id` may: a GUID or a
/// domain name (`contoso.onmicrosoft.com`).
pub fn is_directory_id(s: &str) -> bool {
    tenant::is_guid(s) || tenant::is_domain(s)
}

/// Whether `s` is a directory GUID.
pub fn is_guid(s: &str) -> bool {
    tenant::is_guid(s)
}

/// Checks a tenant's short name as `[[tenants]] name` is checked: 1-64
/// lowercase letters, digits, `-` or `_`, starting with a letter or digit.
pub fn check_tenant_name(name: &str) -> Result<(), ValueError> {
    tenant::validate_name(name)
}

#[cfg(test)]
mod tests;
