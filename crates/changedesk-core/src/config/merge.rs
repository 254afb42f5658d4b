//! Merging the layers (defaults < file < environment < command line) and
//! validating the result. Every value carries its origin so a problem is
//! reported where the user wrote the value.

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::app::{self, AppRegistration};
use super::database::DatabaseUrl;
use super::env::{self, EnvLayer, TenantField};
use super::error::{ConfigError, ConfigErrors, Location, Position};
use super::file::{RawApp, RawFile, RawTenant};
use super::tenant::{self, CredentialSpec, TenantConfig};
use super::{CliOverrides, Config, ConfigFile, LogFormat};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Origin {
    /// Byte offset in the file.
    File(usize),
    Env(String),
    Cli(&'static str),
}

impl Origin {
    /// Later layers rank higher; within the file, later text ranks higher.
    fn rank(&self) -> (u8, usize) {
        match self {
            Origin::File(offset) => (1, *offset),
            Origin::Env(_) => (2, 0),
            Origin::Cli(_) => (3, 0),
        }
    }
}

/// A value and where it came from.
pub(super) struct Val<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Val<T> {
    pub(super) fn file(s: toml::Spanned<T>) -> Self {
        let origin = Origin::File(s.span().start);
        Val {
            value: s.into_inner(),
            origin,
        }
    }
}

/// Collects errors, turning origins into locations.
pub(super) struct Reporter<'a> {
    file: Option<&'a ConfigFile<'a>>,
    pub errors: Vec<ConfigError>,
}

impl<'a> Reporter<'a> {
    pub fn new(file: Option<&'a ConfigFile<'a>>) -> Self {
        Reporter {
            file,
            errors: Vec::new(),
        }
    }

    /// Where `origin` is, as shown in messages.
    pub fn location(&self, origin: &Origin) -> Location {
        match origin {
            Origin::File(offset) => Location::File {
                path: self.file.map_or("(config file)", |f| f.path).to_owned(),
                position: self.file.map(|f| Position::of_offset(f.text, *offset)),
            },
            Origin::Env(var) => Location::Env { var: var.clone() },
            Origin::Cli(flag) => Location::Cli {
                flag: (*flag).to_owned(),
            },
        }
    }

    /// Records a problem. `key` is the key path in the file; it is shown only
    /// when the value came from the file.
    pub fn error(&mut self, origin: &Origin, key: &str, message: impl Into<String>) {
        let key = matches!(origin, Origin::File(_)).then(|| key.to_owned());
        self.errors.push(ConfigError {
            location: self.location(origin),
            key,
            message: message.into(),
        });
    }

    /// `value` if no error was recorded; otherwise the errors, with
    /// `warnings` attached.
    pub fn finish<T>(self, value: Option<T>, warnings: &[String]) -> Result<T, ConfigErrors> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(ConfigErrors {
                errors: self.errors,
                warnings: warnings.to_vec(),
            }),
        }
    }
}

/// The environment layer with `CHANGEDESK_DATABASE_FILE` already read.
pub(super) struct EnvInput {
    pub database: Option<Val<String>>,
    pub layer: EnvLayer,
}

/// The merged, validated configuration before secret files are read, and
/// for each tenant where its credential came from and the key path of its
/// `client_secret_file`.
pub(super) struct Built {
    pub config: Config<CredentialSpec>,
    pub credential_origins: Vec<(Origin, String)>,
    /// Where `[app]`'s credential came from, when `[app]` is configured.
    pub app_credential_origin: Option<Origin>,
    /// Where `[oidc] client_secret_file` came from, when OIDC is configured.
    pub oidc_secret_origin: Option<Origin>,
}

pub(super) fn build(
    rep: &mut Reporter<'_>,
    file: RawFile,
    env: EnvInput,
    cli: &CliOverrides<'_>,
) -> Option<Built> {
    let EnvInput {
        database: env_database,
        layer,
    } = env;

    let database = cli
        .database
        .map(|d| Val {
            value: d.to_owned(),
            origin: Origin::Cli("--database"),
        })
        .or(env_database)
        .or(file.database.map(Val::file));
    let database = match database {
        None => Some(DatabaseUrl::default()),
        Some(d) => match DatabaseUrl::parse(&d.value) {
            Ok(url) => Some(url),
            Err(e) => {
                rep.error(&d.origin, "database", e.0);
                None
            }
        },
    };

    let log_format = cli
        .log_format
        .map(|s| Val {
            value: s.to_owned(),
            origin: Origin::Cli("--log-format"),
        })
        .or(layer.log_format.map(|s| Val {
            value: s,
            origin: Origin::Env(env::LOG_FORMAT.to_owned()),
        }))
        .or(file.log_format.map(Val::file));
    let log_format = match log_format {
        None => Some(LogFormat::default()),
        Some(f) => match f.value.parse::<LogFormat>() {
            Ok(f) => Some(f),
            Err(e) => {
                rep.error(&f.origin, "log_format", e.0);
                None
            }
        },
    };

    let sync = super::sync::build(rep, file.sync, &layer.sync);
    let server = super::server::build(rep, file.server, &layer.server);
    let (oidc, oidc_secret_origin) = super::oidc::build(rep, file.oidc, &layer.oidc).unzip();
    let triage = super::triage::build(
        rep,
        super::triage::RawTriageFile {
            owners: file.owners,
            groups: file.tenant_groups,
            ownership: file.ownership,
            rules: file.rules,
            triage: file.triage,
        },
    );

    let mut drafts: Vec<Draft> = file
        .tenants
        .into_iter()
        .enumerate()
        .map(|(i, t)| Draft::from_file(i, t))
        .collect();
    apply_env_tenants(rep, &mut drafts, layer.tenants);
    check_unique_names(rep, &drafts);

    let mut tenants = Vec::new();
    let mut credential_origins = Vec::new();
    for draft in drafts {
        let key = draft.key("client_secret_file");
        if let Some((tenant, origin)) = draft.finish_tenant(rep) {
            tenants.push(tenant);
            credential_origins.push((origin, key));
        }
    }

    // [app]: from the file, the environment or both
    let app = (file.app.is_some() || !layer.app.is_empty()).then(|| {
        let mut draft = Draft::from_app(file.app);
        draft.apply_env(layer.app, env::app_var);
        draft
    });
    let (app, app_credential_origin) = app.and_then(|d| d.finish_app(rep)).unzip();

    let tenant_names: Vec<String> = tenants.iter().map(|t| t.name.clone()).collect();
    let notify = super::notify::build(rep, file.notify, &tenant_names);
    let analytics = super::analytics::build(rep, file.analytics);

    if !rep.errors.is_empty() {
        return None;
    }
    Some(Built {
        config: Config {
            database: database?,
            log_format: log_format?,
            tenants,
            app,
            sync,
            triage,
            oidc,
            server,
            notify,
            analytics,
        },
        credential_origins,
        app_credential_origin,
        oidc_secret_origin,
    })
}

/// Reads the secret file at `path` (through the caller's callback), trims
/// one trailing newline, and rejects an empty secret. Messages name the
/// path, never the content.
pub(super) fn read_secret(
    path: &Path,
    read: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<SecretString, String> {
    let content = SecretString::from(
        read(path).map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?,
    );
    let text = content.expose_secret();
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    if trimmed.is_empty() {
        return Err(format!("secret file {} is empty", path.display()));
    }
    Ok(SecretString::from(trimmed))
}

/// What a [`Draft`] becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The file's `tenants[i]`, perhaps with environment overrides.
    FileTenant(usize),
    /// A tenant defined only by environment variables.
    EnvTenant,
    /// `[app]`, from the file, the environment or both: no `name` or
    /// `tenant_id`.
    App,
}

/// A tenant, or `[app]`, while layers are merged.
struct Draft {
    kind: Kind,
    /// Where the tenant is defined: its `[[tenants]]` header (or `[app]`),
    /// or the environment variables (`CHANGEDESK_TENANTS__NAME__*`,
    /// `CHANGEDESK_APP__*`).
    header: Origin,
    name: Option<Val<String>>,
    tenant_id: Option<Val<String>>,
    client_id: Option<Val<String>>,
    client_secret: Option<Val<SecretString>>,
    client_secret_file: Option<Val<String>>,
    certificate_file: Option<Val<String>>,
    private_key_file: Option<Val<String>>,
    cloud: Option<Val<String>>,
    login_url: Option<Val<String>>,
    graph_url: Option<Val<String>>,
    /// A string from the environment; a string or a TOML date in the file.
    secret_expires: Option<Val<toml::Value>>,
}

impl Draft {
    fn empty(kind: Kind, header: Origin) -> Self {
        Draft {
            kind,
            header,
            name: None,
            tenant_id: None,
            client_id: None,
            client_secret: None,
            client_secret_file: None,
            certificate_file: None,
            private_key_file: None,
            cloud: None,
            login_url: None,
            graph_url: None,
            secret_expires: None,
        }
    }

    fn from_file(index: usize, raw: toml::Spanned<RawTenant>) -> Self {
        let header = Origin::File(raw.span().start);
        let t = raw.into_inner();
        Draft {
            kind: Kind::FileTenant(index),
            header,
            name: t.name.map(Val::file),
            tenant_id: t.tenant_id.map(Val::file),
            client_id: t.client_id.map(Val::file),
            client_secret: t.client_secret.map(Val::file),
            client_secret_file: t.client_secret_file.map(Val::file),
            certificate_file: t.certificate_file.map(Val::file),
            private_key_file: t.private_key_file.map(Val::file),
            cloud: t.cloud.map(Val::file),
            login_url: t.login_url.map(Val::file),
            graph_url: t.graph_url.map(Val::file),
            secret_expires: t.secret_expires.map(Val::file),
        }
    }

    fn from_env(env_name: &str) -> Self {
        let origin = Origin::Env(env::tenant_var(env_name, "*"));
        let mut draft = Draft::empty(Kind::EnvTenant, origin.clone());
        draft.name = Some(Val {
            value: env_name.to_ascii_lowercase(),
            origin,
        });
        draft
    }

    /// `[app]` from the file, if there; otherwise an empty one that the
    /// environment (`CHANGEDESK_APP__*`) fills.
    fn from_app(raw: Option<toml::Spanned<RawApp>>) -> Self {
        let Some(raw) = raw else {
            return Draft::empty(Kind::App, Origin::Env(env::app_var("*")));
        };
        let mut draft = Draft::empty(Kind::App, Origin::File(raw.span().start));
        let a = raw.into_inner();
        draft.client_id = a.client_id.map(Val::file);
        draft.client_secret = a.client_secret.map(Val::file);
        draft.client_secret_file = a.client_secret_file.map(Val::file);
        draft.certificate_file = a.certificate_file.map(Val::file);
        draft.private_key_file = a.private_key_file.map(Val::file);
        draft.cloud = a.cloud.map(Val::file);
        draft.login_url = a.login_url.map(Val::file);
        draft.graph_url = a.graph_url.map(Val::file);
        draft.secret_expires = a.secret_expires.map(Val::file);
        draft
    }

    /// The key path of `field` in the file (`tenants[1].cloud`,
    /// `app.client_secret`); `field` empty for the table itself.
    fn key(&self, field: &str) -> String {
        match self.kind {
            Kind::FileTenant(i) if field.is_empty() => format!("tenants[{i}]"),
            Kind::FileTenant(i) => format!("tenants[{i}].{field}"),
            Kind::EnvTenant => format!("tenants.{field}"),
            Kind::App if field.is_empty() => "app".to_owned(),
            Kind::App => format!("app.{field}"),
        }
    }

    fn env_name(&self) -> Option<String> {
        self.name.as_ref().map(|n| tenant::env_name(&n.value))
    }

    /// Applies the environment's fields; `var` names the variable of a
    /// field. Credential rule: a secret from the environment (`CLIENT_SECRET`
    /// or `CLIENT_SECRET_FILE`) replaces every credential key from the file;
    /// a certificate key from the environment drops the file's
    /// `client_secret` / `client_secret_file` and replaces only the
    /// certificate key it names.
    fn apply_env(&mut self, fields: BTreeMap<TenantField, String>, var: impl Fn(&str) -> String) {
        let has = |f| fields.contains_key(&f);
        if has(TenantField::ClientSecret) || has(TenantField::ClientSecretFile) {
            self.certificate_file = None;
            self.private_key_file = None;
        }
        if has(TenantField::ClientSecret)
            || has(TenantField::ClientSecretFile)
            || has(TenantField::CertificateFile)
            || has(TenantField::PrivateKeyFile)
        {
            self.client_secret = None;
            self.client_secret_file = None;
        }
        for (field, value) in fields {
            let origin = Origin::Env(var(field.key()));
            let v = Some(Val {
                value,
                origin: origin.clone(),
            });
            match field {
                TenantField::TenantId => self.tenant_id = v,
                TenantField::ClientId => self.client_id = v,
                TenantField::ClientSecret => {
                    self.client_secret = v.map(|v| Val {
                        value: SecretString::from(v.value),
                        origin,
                    })
                }
                TenantField::ClientSecretFile => self.client_secret_file = v,
                TenantField::CertificateFile => self.certificate_file = v,
                TenantField::PrivateKeyFile => self.private_key_file = v,
                TenantField::Cloud => self.cloud = v,
                TenantField::LoginUrl => self.login_url = v,
                TenantField::GraphUrl => self.graph_url = v,
                TenantField::SecretExpires => {
                    self.secret_expires = v.map(|v| Val {
                        value: toml::Value::String(v.value),
                        origin,
                    })
                }
            }
        }
    }

    /// Reports that the required `field` is missing, at the header.
    fn missing(&self, rep: &mut Reporter<'_>, field: &str) {
        let message = match (&self.kind, &self.name, &self.header) {
            (Kind::EnvTenant, Some(name), _) => format!(
                "tenant `{}` is defined by environment variables but has no {field} (set {})",
                name.value,
                env::tenant_var(&tenant::env_name(&name.value), field)
            ),
            (Kind::App, _, Origin::Env(_)) => format!(
                "[app] is defined by environment variables but has no {field} (set {})",
                env::app_var(field)
            ),
            _ => format!("missing `{field}`"),
        };
        rep.error(&self.header, &self.key(""), message);
    }

    /// A required string field, checked by `check`.
    fn required(
        &self,
        rep: &mut Reporter<'_>,
        field: &str,
        val: &Option<Val<String>>,
        check: fn(&str) -> Result<(), super::ValueError>,
    ) -> Option<String> {
        match val {
            None => {
                self.missing(rep, field);
                None
            }
            Some(v) => match check(&v.value) {
                Ok(()) => Some(v.value.clone()),
                Err(e) => {
                    rep.error(&v.origin, &self.key(field), e.0);
                    None
                }
            },
        }
    }

    /// Validates the merged tenant; reports every problem found.
    fn finish_tenant(
        self,
        rep: &mut Reporter<'_>,
    ) -> Option<(TenantConfig<CredentialSpec>, Origin)> {
        let errors_before = rep.errors.len();
        let name = match &self.name {
            None => {
                self.missing(rep, "name");
                None
            }
            Some(n) => match tenant::validate_name(&n.value) {
                Ok(()) => Some(n.value.clone()),
                Err(e) => {
                    rep.error(&n.origin, &self.key("name"), e.0);
                    None
                }
            },
        };
        let tenant_id = self.required(
            rep,
            "tenant_id",
            &self.tenant_id,
            tenant::validate_tenant_id,
        );
        let registration = self.registration(rep);
        if rep.errors.len() > errors_before {
            return None;
        }
        let (
            AppRegistration {
                client_id,
                credential,
                cloud,
                login_url,
                graph_url,
                secret_expires,
            },
            credential_origin,
        ) = registration?;
        Some((
            TenantConfig {
                name: name?,
                tenant_id: tenant_id?,
                client_id,
                credential,
                cloud,
                login_url,
                graph_url,
                secret_expires,
            },
            credential_origin,
        ))
    }

    /// Validates the merged `[app]`; reports every problem found.
    fn finish_app(
        self,
        rep: &mut Reporter<'_>,
    ) -> Option<(AppRegistration<CredentialSpec>, Origin)> {
        let errors_before = rep.errors.len();
        let registration = self.registration(rep);
        if rep.errors.len() > errors_before {
            return None;
        }
        registration
    }

    /// What a tenant and `[app]` share: client id, credential, cloud, URL
    /// overrides and expiry; with where the credential came from.
    fn registration(
        &self,
        rep: &mut Reporter<'_>,
    ) -> Option<(AppRegistration<CredentialSpec>, Origin)> {
        let client_id = self.required(
            rep,
            "client_id",
            &self.client_id,
            tenant::validate_client_id,
        );

        let cloud = match &self.cloud {
            None => Some(tenant::Cloud::default()),
            Some(c) => match c.value.parse::<tenant::Cloud>() {
                Ok(c) => Some(c),
                Err(e) => {
                    rep.error(&c.origin, &self.key("cloud"), e.0);
                    None
                }
            },
        };
        let mut url = |field: &str, val: &Option<Val<String>>| match val {
            None => Some(None),
            Some(v) => match tenant::parse_base_url(&v.value) {
                Ok(u) => Some(Some(u)),
                Err(e) => {
                    rep.error(&v.origin, &self.key(field), e.0);
                    None
                }
            },
        };
        let login_url = url("login_url", &self.login_url);
        let graph_url = url("graph_url", &self.graph_url);

        let credential = self.credential(rep);

        let secret_expires = match &self.secret_expires {
            None => Some(None),
            Some(v) => match app::parse_secret_expires(&v.value) {
                Ok(t) => Some(Some(t)),
                Err(e) => {
                    rep.error(&v.origin, &self.key("secret_expires"), e.0);
                    None
                }
            },
        };

        let (credential, credential_origin) = credential?;
        Some((
            AppRegistration {
                client_id: client_id?,
                credential,
                cloud: cloud?,
                login_url: login_url?,
                graph_url: graph_url?,
                secret_expires: secret_expires?,
            },
            credential_origin,
        ))
    }

    /// Exactly one credential form: `client_secret`, `client_secret_file`,
    /// or `certificate_file` + `private_key_file`.
    fn credential(&self, rep: &mut Reporter<'_>) -> Option<(CredentialSpec, Origin)> {
        const FORMS: &str = "give exactly one of client_secret, client_secret_file, or certificate_file with private_key_file";
        let mut given: Vec<(&str, &Origin)> = Vec::new();
        if let Some(v) = &self.client_secret {
            given.push(("client_secret", &v.origin));
        }
        if let Some(v) = &self.client_secret_file {
            given.push(("client_secret_file", &v.origin));
        }
        let secret_forms = given.len();
        if let Some(v) = &self.certificate_file {
            given.push(("certificate_file", &v.origin));
        }
        if let Some(v) = &self.private_key_file {
            given.push(("private_key_file", &v.origin));
        }
        let certificate_keys = given.len() - secret_forms;

        if given.is_empty() {
            let message = format!("no credential: {FORMS}");
            rep.error(&self.header, &self.key(""), message);
            return None;
        }
        if secret_forms > 1 || (secret_forms == 1 && certificate_keys > 0) {
            let names: Vec<&str> = given.iter().map(|(k, _)| *k).collect();
            let (last_key, last_origin) = given
                .iter()
                .max_by_key(|(_, o)| o.rank())
                .map(|(k, o)| (*k, (*o).clone()))
                .unwrap_or(("", self.header.clone()));
            let message = format!("more than one credential ({}): {FORMS}", names.join(", "));
            rep.error(&last_origin, &self.key(last_key), message);
            return None;
        }

        let path =
            |rep: &mut Reporter<'_>, field: &str, v: &Val<String>| match tenant::validate_path(
                &v.value,
            ) {
                Ok(p) => Some(p),
                Err(e) => {
                    rep.error(&v.origin, &self.key(field), e.0);
                    None
                }
            };
        if let Some(secret) = &self.client_secret {
            if secret.value.expose_secret().is_empty() {
                rep.error(
                    &secret.origin,
                    &self.key("client_secret"),
                    "client_secret is empty",
                );
                return None;
            }
            return Some((
                CredentialSpec::Secret(secret.value.clone()),
                secret.origin.clone(),
            ));
        }
        if let Some(file) = &self.client_secret_file {
            let p = path(rep, "client_secret_file", file)?;
            return Some((CredentialSpec::SecretFile(p), file.origin.clone()));
        }
        match (&self.certificate_file, &self.private_key_file) {
            (Some(cert), Some(key)) => {
                let certificate_file = path(rep, "certificate_file", cert);
                let private_key_file = path(rep, "private_key_file", key);
                Some((
                    CredentialSpec::Certificate {
                        certificate_file: certificate_file?,
                        private_key_file: private_key_file?,
                    },
                    cert.origin.clone(),
                ))
            }
            (Some(cert), None) => {
                rep.error(
                    &cert.origin,
                    &self.key("certificate_file"),
                    "certificate_file needs private_key_file too (both PEM files)",
                );
                None
            }
            (None, Some(key)) => {
                rep.error(
                    &key.origin,
                    &self.key("private_key_file"),
                    "private_key_file needs certificate_file too (both PEM files)",
                );
                None
            }
            (None, None) => None,
        }
    }
}

/// Environment variables for tenant NAME apply to the file's tenant whose
/// name maps to NAME (upper case, `-` as `_`), or define a new tenant.
fn apply_env_tenants(
    rep: &mut Reporter<'_>,
    drafts: &mut Vec<Draft>,
    env_tenants: BTreeMap<String, BTreeMap<TenantField, String>>,
) {
    for (env_name, fields) in env_tenants {
        let matching: Vec<usize> = drafts
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                matches!(d.kind, Kind::FileTenant(_))
                    && d.env_name().as_deref() == Some(env_name.as_str())
            })
            .map(|(i, _)| i)
            .collect();
        match matching.as_slice() {
            [] => {
                let mut draft = Draft::from_env(&env_name);
                draft.apply_env(fields, |f| env::tenant_var(&env_name, f));
                drafts.push(draft);
            }
            [i] => {
                if let Some(d) = drafts.get_mut(*i) {
                    d.apply_env(fields, |f| env::tenant_var(&env_name, f));
                }
            }
            several => {
                let names: Vec<String> = several
                    .iter()
                    .filter_map(|i| {
                        drafts
                            .get(*i)?
                            .name
                            .as_ref()
                            .map(|n| format!("`{}`", n.value))
                    })
                    .collect();
                let origin = Origin::Env(env::tenant_var(&env_name, "*"));
                rep.error(
                    &origin,
                    "tenants",
                    format!(
                        "ambiguous: tenants {} all map to {env_name} in variable names; rename one to set it from the environment",
                        names.join(" and ")
                    ),
                );
            }
        }
    }
}

/// Tenant names are unique; the second and later uses are errors.
fn check_unique_names(rep: &mut Reporter<'_>, drafts: &[Draft]) {
    let mut seen: BTreeMap<&str, &Origin> = BTreeMap::new();
    for d in drafts {
        let Some(name) = &d.name else { continue };
        match seen.get(name.value.as_str()) {
            None => {
                seen.insert(&name.value, &name.origin);
            }
            Some(first) => {
                let first_at = match first {
                    Origin::File(offset) => rep
                        .file
                        .map(|f| {
                            format!(
                                " (first defined on line {})",
                                Position::of_offset(f.text, *offset).line
                            )
                        })
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                let message = format!("duplicate tenant name `{}`{first_at}", name.value);
                rep.error(&name.origin, &d.key("name"), message);
            }
        }
    }
}
