//! The environment layer: which `CHANGEDESK_*` variables are settings, which
//! belong to the binary, and warnings for the rest. Values are never put in
//! warnings.

use std::collections::BTreeMap;

/// Prefix of every changedesk environment variable.
pub const ENV_PREFIX: &str = "CHANGEDESK_";

/// Variables the binary reads itself; the configuration neither warns about
/// them nor uses them (except `CHANGEDESK_LOG_FORMAT`, which also sets
/// `log_format`). Anything starting with `CHANGEDESK_TEST_` is also left
/// alone.
pub const BINARY_ENV_VARS: &[&str] = &[
    "CHANGEDESK_CONFIG",
    "CHANGEDESK_LOG",
    "CHANGEDESK_LOG_FORMAT",
    "CHANGEDESK_NOW",
    "CHANGEDESK_FAILPOINT",
    "CHANGEDESK_TEST_PG_URL",
    // who `changedesk tasks …` records as the actor when `--as` is not given
    "CHANGEDESK_USER",
    // `changedesk user add|set`: the password, for scripts (else it is asked)
    "CHANGEDESK_PASSWORD",
    // `changedesk serve --listen`
    "CHANGEDESK_LISTEN",
    // the key of secrets at rest (changedesk-secrets), instead of a key file
    "CHANGEDESK_SECRET_KEY",
    // `changedesk serve --cache-mb / --cache-ttl`
    "CHANGEDESK_CACHE_MB",
    "CHANGEDESK_CACHE_TTL",
];

pub(super) const DATABASE: &str = "CHANGEDESK_DATABASE";
pub(super) const DATABASE_FILE: &str = "CHANGEDESK_DATABASE_FILE";
pub(super) const LOG_FORMAT: &str = "CHANGEDESK_LOG_FORMAT";
const TENANTS_PREFIX: &str = "CHANGEDESK_TENANTS__";
const APP_PREFIX: &str = "CHANGEDESK_APP__";

/// The fields of a tenant (and, but for `TenantId`, of `[app]`) that the
/// environment can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TenantField {
    TenantId,
    ClientId,
    ClientSecret,
    ClientSecretFile,
    CertificateFile,
    PrivateKeyFile,
    Cloud,
    LoginUrl,
    GraphUrl,
    SecretExpires,
}

impl TenantField {
    const ALL: [TenantField; 10] = [
        TenantField::TenantId,
        TenantField::ClientId,
        TenantField::ClientSecret,
        TenantField::ClientSecretFile,
        TenantField::CertificateFile,
        TenantField::PrivateKeyFile,
        TenantField::Cloud,
        TenantField::LoginUrl,
        TenantField::GraphUrl,
        TenantField::SecretExpires,
    ];

    /// The fields `CHANGEDESK_APP__<FIELD>` can set: all but `TenantId`.
    const APP: [TenantField; 9] = [
        TenantField::ClientId,
        TenantField::ClientSecret,
        TenantField::ClientSecretFile,
        TenantField::CertificateFile,
        TenantField::PrivateKeyFile,
        TenantField::Cloud,
        TenantField::LoginUrl,
        TenantField::GraphUrl,
        TenantField::SecretExpires,
    ];

    /// The key in the file.
    pub(super) fn key(self) -> &'static str {
        match self {
            TenantField::TenantId => "tenant_id",
            TenantField::ClientId => "client_id",
            TenantField::ClientSecret => "client_secret",
            TenantField::ClientSecretFile => "client_secret_file",
            TenantField::CertificateFile => "certificate_file",
            TenantField::PrivateKeyFile => "private_key_file",
            TenantField::Cloud => "cloud",
            TenantField::LoginUrl => "login_url",
            TenantField::GraphUrl => "graph_url",
            TenantField::SecretExpires => "secret_expires",
        }
    }

    fn from_env(s: &str) -> Option<Self> {
        TenantField::ALL
            .into_iter()
            .find(|f| f.key().to_ascii_uppercase() == s)
    }

    /// The field of `[app]` named `s` (upper case) in a variable.
    fn app_from_env(s: &str) -> Option<Self> {
        TenantField::APP
            .into_iter()
            .find(|f| f.key().to_ascii_uppercase() == s)
    }
}

/// Upper-case field names, for messages.
fn field_list(fields: &[TenantField]) -> String {
    fields
        .iter()
        .map(|f| f.key().to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name of the variable that sets `field` of the tenant whose name in
/// variables is `env_name`.
pub(super) fn tenant_var(env_name: &str, field: &str) -> String {
    format!("{TENANTS_PREFIX}{env_name}__{}", field.to_ascii_uppercase())
}

/// The name of the variable that sets `field` of `[app]`.
pub(super) fn app_var(field: &str) -> String {
    format!("{APP_PREFIX}{}", field.to_ascii_uppercase())
}

/// The settings found in the environment, not yet validated.
#[derive(Default)]
pub(super) struct EnvLayer {
    pub database: Option<String>,
    pub database_file: Option<String>,
    pub log_format: Option<String>,
    /// `CHANGEDESK_SYNC__<KEY>`, by lower-case key.
    pub sync: BTreeMap<String, String>,
    /// `CHANGEDESK_OIDC__<KEY>`, by lower-case key.
    pub oidc: BTreeMap<String, String>,
    /// `CHANGEDESK_SERVER__<KEY>`, by lower-case key.
    pub server: BTreeMap<String, String>,
    /// By tenant name as written in the variables (`CONTOSO`, `FAB_RIKAM`).
    pub tenants: BTreeMap<String, BTreeMap<TenantField, String>>,
    /// `CHANGEDESK_APP__<FIELD>`.
    pub app: BTreeMap<TenantField, String>,
    pub warnings: Vec<String>,
}

enum Recognised {
    Database,
    DatabaseFile,
    LogFormat,
    Sync(String),
    Oidc(String),
    Server(String),
    Binary,
    Tenant(String, TenantField),
    App(TenantField),
}

fn recognise(var: &str) -> Result<Recognised, String> {
    match var {
        DATABASE => return Ok(Recognised::Database),
        DATABASE_FILE => return Ok(Recognised::DatabaseFile),
        LOG_FORMAT => return Ok(Recognised::LogFormat),
        _ => {}
    }
    if BINARY_ENV_VARS.contains(&var) || var.starts_with("CHANGEDESK_TEST_") {
        return Ok(Recognised::Binary);
    }
    if let Some(key) = var.strip_prefix(super::sync::ENV_PREFIX) {
        let key = key.to_ascii_lowercase();
        return if super::sync::KEYS.contains(&key.as_str()) && var == var.to_ascii_uppercase() {
            Ok(Recognised::Sync(key))
        } else {
            Err(format!(
                "{var} is not a changedesk setting; ignored ([sync] keys: {})",
                super::sync::KEYS.join(", ")
            ))
        };
    }
    if let Some(key) = var.strip_prefix(super::oidc::ENV_PREFIX) {
        let key = key.to_ascii_lowercase();
        return if super::oidc::KEYS.contains(&key.as_str()) && var == var.to_ascii_uppercase() {
            Ok(Recognised::Oidc(key))
        } else {
            Err(format!(
                "{var} is not a changedesk setting; ignored ([oidc] keys: {}; the role and scope tables only in the file)",
                super::oidc::KEYS.join(", ")
            ))
        };
    }
    if let Some(key) = var.strip_prefix(super::server::ENV_PREFIX) {
        let key = key.to_ascii_lowercase();
        return if super::server::KEYS.contains(&key.as_str()) && var == var.to_ascii_uppercase() {
            Ok(Recognised::Server(key))
        } else {
            Err(format!(
                "{var} is not a changedesk setting; ignored ([server] keys: {})",
                super::server::KEYS.join(", ")
            ))
        };
    }
    if let Some(field) = var.strip_prefix(APP_PREFIX) {
        return match TenantField::app_from_env(field) {
            Some(f) => Ok(Recognised::App(f)),
            None => Err(format!(
                "{var} is not a changedesk setting; ignored ([app] fields: {})",
                field_list(&TenantField::APP)
            )),
        };
    }
    let Some(rest) = var.strip_prefix(TENANTS_PREFIX) else {
        return Err(format!(
            "{var} is not a changedesk setting; ignored (settings: {DATABASE}, {DATABASE_FILE}, {LOG_FORMAT}, {TENANTS_PREFIX}<NAME>__<FIELD>, {APP_PREFIX}<FIELD>)"
        ));
    };
    let fields = || field_list(&TenantField::ALL);
    let Some((name, field)) = rest.rsplit_once("__") else {
        return Err(format!(
            "{var} is not a changedesk setting; ignored (expected {TENANTS_PREFIX}<NAME>__<FIELD>, FIELD one of {})",
            fields()
        ));
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "{var} is not a changedesk setting; ignored (<NAME> in {TENANTS_PREFIX}<NAME>__<FIELD> is the tenant name in upper case with '-' written as '_')"
        ));
    }
    match TenantField::from_env(field) {
        Some(f) => Ok(Recognised::Tenant(name.to_owned(), f)),
        None => Err(format!(
            "{var} is not a changedesk setting; ignored (tenant field `{field}` is not one of {})",
            fields()
        )),
    }
}

/// Sorts the `CHANGEDESK_*` variables of `env` into settings and warnings.
pub(super) fn scan(env: &BTreeMap<String, String>) -> EnvLayer {
    let mut layer = EnvLayer::default();
    for (var, value) in env.range(ENV_PREFIX.to_owned()..) {
        if !var.starts_with(ENV_PREFIX) {
            break;
        }
        match recognise(var) {
            Ok(Recognised::Database) => layer.database = Some(value.clone()),
            Ok(Recognised::DatabaseFile) => layer.database_file = Some(value.clone()),
            Ok(Recognised::LogFormat) => layer.log_format = Some(value.clone()),
            Ok(Recognised::Sync(key)) => {
                layer.sync.insert(key, value.clone());
            }
            Ok(Recognised::Oidc(key)) => {
                layer.oidc.insert(key, value.clone());
            }
            Ok(Recognised::Server(key)) => {
                layer.server.insert(key, value.clone());
            }
            Ok(Recognised::Binary) => {}
            Ok(Recognised::Tenant(name, field)) => {
                layer
                    .tenants
                    .entry(name)
                    .or_default()
                    .insert(field, value.clone());
            }
            Ok(Recognised::App(field)) => {
                layer.app.insert(field, value.clone());
            }
            Err(mut warning) => {
                let upper = var.to_ascii_uppercase();
                if upper != *var && recognise(&upper).is_ok() {
                    warning = format!(
                        "{var} is not a changedesk setting; ignored (variable names are upper case: {upper})"
                    );
                }
                layer.warnings.push(warning);
            }
        }
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> BTreeMap<String, String> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sorts_variables() {
        let layer = scan(&env(&[
            ("PATH", "/bin"),
            ("CHANGEDESK_DATABASE", "sqlite://x"),
            ("CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRET", "s"),
            ("CHANGEDESK_TENANTS__FAB_RIKAM__CLOUD", "gcc"),
            ("CHANGEDESK_TENANTS__A__B__CLIENT_ID", "x"),
            ("CHANGEDESK_CONFIG", "x"),
            ("CHANGEDESK_LOG", "debug"),
            ("CHANGEDESK_NOW", "x"),
            ("CHANGEDESK_FAILPOINT", "x"),
            ("CHANGEDESK_TEST_PG_URL", "x"),
            ("CHANGEDESK_TEST_ANYTHING", "x"),
            ("ZZZ", "x"),
        ]));
        assert_eq!(layer.database.as_deref(), Some("sqlite://x"));
        assert_eq!(layer.warnings, Vec::<String>::new());
        assert_eq!(layer.tenants["CONTOSO"][&TenantField::ClientSecret], "s");
        assert_eq!(layer.tenants["FAB_RIKAM"][&TenantField::Cloud], "gcc");
        assert_eq!(layer.tenants["A__B"][&TenantField::ClientId], "x");
    }

    #[test]
    fn warns_about_unknown_variables_without_values() {
        let layer = scan(&env(&[
            ("CHANGEDESK_DATABSE", "postgres://u:hunter2@h/db"),
            ("CHANGEDESK_TENANTS__CONTOSO__CLIENTSECRET", "hunter2"),
            ("CHANGEDESK_TENANTS__CONTOSO", "hunter2"),
            ("CHANGEDESK_TENANTS__contoso__CLIENT_SECRET", "hunter2"),
            ("CHANGEDESK_database", "hunter2"),
        ]));
        assert_eq!(layer.warnings.len(), 5, "{:?}", layer.warnings);
        assert!(layer.warnings.iter().all(|w| !w.contains("hunter2")));
        assert!(layer.warnings[0].starts_with("CHANGEDESK_DATABSE is not a changedesk setting"));
        assert!(layer.tenants.is_empty());
        assert!(
            layer
                .warnings
                .iter()
                .any(|w| w.contains("variable names are upper case: CHANGEDESK_DATABASE")),
            "{:?}",
            layer.warnings
        );
    }
}
