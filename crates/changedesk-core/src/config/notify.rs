//! The `[notify]` section: how changedesk sends e-mail, where message
//! templates may be overridden, when events are told, and the channels
//! declared in the file (`[[notify.channel]]`). Channels can also be added
//! in the database (`changedesk notify channel add`, the API, the web UI).
//!
//! ```toml
//! [notify]
//! templates_dir = "/etc/changedesk/templates"   # optional
//! late_after_days = 7        # posts first seen more than 7 days after publication tell nobody (1 to 365)
//! act_by_soon_days = 30      # a new post to act on within 30 days is `post.act_by_soon` (1 to 365)
//! sync_failing_after = 3     # the 3rd failed sync in a row is `tenant.sync_failing` (1 to 100)
//!
//! [notify.email]
//! from = "changedesk <changedesk@contoso.com>"
//! reply_to = "m365-changes@contoso.com"          # optional
//! transport = "smtp"                              # smtp, graph or directory
//!
//! [notify.email.smtp]
//! host = "smtp.contoso.com"
//! port = 587                                      # default: 587, 465 for tls, 25 for none
//! security = "starttls"                           # starttls, tls or none
//! auth = "login"                                  # none, plain, login or xoauth2
//! user = "changedesk@contoso.com"
//! password_file = "/etc/changedesk/smtp-password" # the password, or the XOAUTH2 token
//! ca_file = "/etc/changedesk/relay-ca.pem"        # optional: a private CA to trust
//!
//! [notify.email.graph]                            # Microsoft Graph sendMail (Mail.Send)
//! tenant = "contoso"                              # a configured tenant's app registration
//! sender = "changedesk@contoso.com"               # the mailbox it sends as
//!
//! [notify.email.directory]                        # a local capture: one .eml file per message
//! path = "mail"
//!
//! # Channels declared here are made or brought up to date in the database
//! # whenever changedesk applies the file (`serve` at start, `sync`, `import`,
//! # the owners and rules commands), with `config` as the actor in the audit
//! # log; they are read-only elsewhere (a test can still be sent). A channel
//! # no longer declared is disabled, its delivery log kept. The keys are
//! # those of a channel in the API (`POST /api/v1/channels`).
//! [[notify.channel]]
//! name = "servicedesk"                            # unique; 1 to 64 letters, digits, - or _
//! kind = "webhook"                                # webhook (default), email, teams or slack
//! url_file = "/run/secrets/servicedesk_url"       # the URL: url, url_file or url_env (a secret)
//! secret_env = "SERVICEDESK_WEBHOOK_SECRET"       # a webhook's whsec_… signing secret (required):
//!                                                 # secret, secret_file or secret_env
//! events = ["post.routed", "post.changed"]        # default: every event
//! services = ["Exchange Online"]
//! severities = ["high", "critical"]
//! major = false                                   # only major changes
//! tenants = ["contoso"]                           # only these tenants
//! allow_private = false                           # a private or plain-http receiver
//!
//! [[notify.channel]]
//! name = "cab"
//! kind = "email"
//! recipients = ["cab@contoso.com"]                # or owner = "…" (the owner's address)
//! owner = "collaboration"                         # only this owner's items
//! batch_minutes = 5                               # e-mail, Teams, Slack: gather events (0 to 1440)
//! quiet = { from = "22:00", to = "07:00", time_zone = "Europe/Paris", urgent_severities = ["critical"] }
//! digest = { weekday = "monday", at = "08:00", time_zone = "Europe/Paris" }   # instead of the window
//! review = { weekday = "monday", at = "08:00", time_zone = "Europe/Paris" }   # an owner's weekly review
//! report = { every = "monthly", at = "08:00", time_zone = "Europe/Paris" }   # e-mail: the executive report (or "weekly": the weekly status)
//! ```
//!
//! A file (`url_file`, `secret_file`) or an environment variable (`url_env`,
//! `secret_env`, any name) is read when the configuration is loaded, its
//! value trimmed; [`super::check`] reads neither. The checks a channel needs
//! the database for (its tenants and owner exist), and those the API makes
//! of every channel, run when the file is applied, with the same messages
//! as the API's, at the key they concern.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, Location, Position};
use super::merge::{Origin, Reporter};
use crate::notify::Thresholds;

/// `[notify]`.
#[derive(Debug, Clone, Default)]
pub struct NotifySettings {
    /// Files here replace the shipped templates of the same name.
    pub templates_dir: Option<PathBuf>,
    /// How e-mail is sent; `None`: e-mail channels cannot deliver.
    pub email: Option<EmailSettings>,
    /// When events are told: `late_after_days`, `act_by_soon_days`,
    /// `sync_failing_after`.
    pub thresholds: Thresholds,
    /// `[[notify.channel]]`: the channels the file declares, in file order.
    pub channels: Vec<DeclaredChannel>,
}

/// The ranges of `[notify]`'s thresholds.
pub const LATE_AFTER_DAYS_RANGE: std::ops::RangeInclusive<i64> = 1..=365;
pub const ACT_BY_SOON_DAYS_RANGE: std::ops::RangeInclusive<i64> = 1..=365;
pub const SYNC_FAILING_AFTER_RANGE: std::ops::RangeInclusive<i64> = 1..=100;

/// Where a declared channel's secret (its URL, a webhook's signing
/// secret) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretFrom {
    /// Written in the file (`url = "…"`, `secret = "…"`).
    Inline,
    /// A file's contents, trimmed (`url_file`, `secret_file`).
    File(PathBuf),
    /// An environment variable's value, trimmed (`url_env`, `secret_env`).
    Env(String),
}

/// A declared channel's secret. `Debug` shows where it comes from, never
/// the value.
#[derive(Debug, Clone)]
pub struct DeclaredSecret {
    pub from: SecretFrom,
    /// The value: after [`super::load`], always; after [`super::check`]
    /// (which reads no file and no environment), only an inline one.
    pub value: Option<SecretString>,
}

/// Quiet hours of a declared channel (as the API's `quiet`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredQuiet {
    /// `hh:mm`, local time.
    pub from: String,
    /// `hh:mm`, local time.
    pub to: String,
    /// An IANA time zone; default UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Severities that still go out at once.
    #[serde(default)]
    pub urgent_severities: Vec<String>,
    /// Major changes still go out at once.
    #[serde(default)]
    pub urgent_major: bool,
}

/// A digest or review schedule of a declared channel (as the API's
/// `digest` and `review`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredSchedule {
    /// `monday` … `sunday` for a weekly one; none: daily.
    #[serde(default)]
    pub weekday: Option<String>,
    /// `hh:mm` local time.
    pub at: String,
    /// An IANA time zone; default UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A scheduled report of a declared e-mail channel (as the API's `report`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredReport {
    /// `monthly` (the executive report) or `weekly` (the weekly status).
    pub every: String,
    /// `hh:mm` local time.
    pub at: String,
    /// An IANA time zone; default UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A connector's settings in a declared channel (`connector = { … }` of a
/// `servicenow`, `jira` or `glpi` channel), as the API's `connector`; its
/// secret is the channel's `secret_file`, `secret_env` or `secret`.
/// Checked when the file is applied.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredConnector {
    /// ServiceNow's user or OAuth client id, Jira's e-mail, GLPI's login.
    #[serde(default)]
    pub user: Option<String>,
    /// ServiceNow: `basic` or `oauth`.
    #[serde(default)]
    pub auth: Option<String>,
    /// ServiceNow: `table`, `normal` or `standard`.
    #[serde(default)]
    pub model: Option<String>,
    /// ServiceNow: the standard change template's sys_id.
    #[serde(default)]
    pub template: Option<String>,
    /// Jira: the project key.
    #[serde(default)]
    pub project: Option<String>,
    /// Jira: the issue type.
    #[serde(default)]
    pub issue_type: Option<String>,
    /// Jira: the issue type incidents are opened as.
    #[serde(default)]
    pub incident_issue_type: Option<String>,
    /// GLPI: the entity.
    #[serde(default)]
    pub entities_id: Option<i64>,
    /// GLPI: `legacy` or `high_level`.
    #[serde(default)]
    pub api: Option<String>,
    /// Raise a change for every item the rules require one of.
    #[serde(default)]
    pub raise_required: bool,
    /// ServiceNow, GLPI: open incidents for Service Health incidents.
    #[serde(default)]
    pub incidents: bool,
    /// What items do as their tickets move, and whether an item closed
    /// here closes its ticket.
    #[serde(default)]
    pub follow: Option<DeclaredFollow>,
    /// Planner: the directory (tenant) id or domain of the plan.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Planner: the sign-in authority.
    #[serde(default)]
    pub login: Option<String>,
    /// Planner: the plan's id.
    #[serde(default)]
    pub plan: Option<String>,
    /// Planner: `workload`, `state` or `one`.
    #[serde(default)]
    pub buckets: Option<String>,
    /// Planner: the bucket with `buckets = "one"`.
    #[serde(default)]
    pub bucket: Option<String>,
}

/// A declared connector's `follow = { … }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredFollow {
    #[serde(default)]
    pub in_progress: Option<String>,
    #[serde(default)]
    pub done: Option<String>,
    #[serde(default)]
    pub canceled: Option<String>,
    #[serde(default)]
    pub close_ticket: bool,
}

/// One `[[notify.channel]]`: a notification channel declared in the file,
/// with the settings a channel has through the API. Checked here for what
/// the file alone tells (a name, one source per secret, a webhook's signing
/// secret); the rest is checked as the API checks a channel, when the file
/// is applied to the database. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct DeclaredChannel {
    /// As written (trimmed); unique in the file, ignoring case.
    pub name: String,
    /// `webhook` (none: webhook), `email`, `teams` or `slack`, unchecked.
    pub kind: Option<String>,
    pub url: Option<DeclaredSecret>,
    pub secret: Option<DeclaredSecret>,
    /// A GLPI connector's application token (`app_token`, `app_token_file`,
    /// `app_token_env`), when its server asks for one.
    pub app_token: Option<DeclaredSecret>,
    pub recipients: Vec<String>,
    pub events: Vec<String>,
    pub services: Vec<String>,
    pub severities: Vec<String>,
    pub major: bool,
    pub tenants: Vec<String>,
    pub owner: Option<String>,
    pub batch_minutes: Option<u32>,
    pub quiet: Option<DeclaredQuiet>,
    pub digest: Option<DeclaredSchedule>,
    pub review: Option<DeclaredSchedule>,
    pub report: Option<DeclaredReport>,
    pub allow_private: bool,
    /// A connector's settings (`servicenow`, `jira`, `glpi`).
    pub connector: Option<DeclaredConnector>,
    /// Its place in the file, for the messages of later checks.
    pub at: DeclaredAt,
}

/// Where a declared channel and each of its keys are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredAt {
    /// Its index among the `[[notify.channel]]` tables.
    pub index: usize,
    /// Its `[[notify.channel]]` header.
    pub header: Location,
    /// Each key written: the channel field it sets (`url` for `url_file`),
    /// the key as written, and where.
    pub keys: Vec<(String, String, Location)>,
}

impl DeclaredChannel {
    /// The key path of the channel (`notify.channel[1]`).
    pub fn key(&self) -> String {
        format!("notify.channel[{}]", self.at.index)
    }

    /// A problem with `field` of this channel (a field of the API's channel
    /// request: `url`, `owner`, `quiet`, …) as a configuration error at the
    /// key that sets it (`changedesk.toml:42:7: notify.channel[1].url_file:
    /// …`), else at the channel's `[[notify.channel]]` header.
    pub fn error(&self, field: &str, message: impl Into<String>) -> ConfigError {
        let message = message.into();
        match self.at.keys.iter().find(|(f, _, _)| f == field) {
            Some((_, key, location)) => ConfigError {
                location: location.clone(),
                key: Some(format!("{}.{key}", self.key())),
                message,
            },
            None => ConfigError {
                location: self.at.header.clone(),
                key: Some(self.key()),
                message,
            },
        }
    }
}

/// `[notify.email]`.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// The sender mailbox (`Name <address>` or `address`).
    pub from: String,
    pub reply_to: Option<String>,
    pub transport: EmailTransport,
}

/// How e-mail leaves changedesk.
#[derive(Debug, Clone)]
pub enum EmailTransport {
    Smtp(SmtpConfig),
    /// Microsoft Graph `sendMail` through `tenant`'s app registration,
    /// as the mailbox `sender`.
    Graph {
        tenant: String,
        sender: String,
    },
    /// One `.eml` file per message in a directory (a local capture).
    Directory(PathBuf),
}

impl EmailTransport {
    /// `smtp host:port`, `graph as sender (tenant)`, `directory path`.
    pub fn describe(&self) -> String {
        match self {
            EmailTransport::Smtp(s) => format!("SMTP {}:{} ({})", s.host, s.port, s.security),
            EmailTransport::Graph { tenant, sender } => {
                format!("Microsoft Graph sendMail as {sender} (tenant {tenant})")
            }
            EmailTransport::Directory(p) => format!("the directory {}", p.display()),
        }
    }
}

/// `[notify.email.smtp]`.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: String,
    /// `none`, `plain`, `login` or `xoauth2`.
    pub auth: String,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    /// The password (or XOAUTH2 token) read from `password_file` by
    /// [`super::load`]; `None` after [`super::check`].
    pub password: Option<SecretString>,
    pub ca_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub templates_dir: Option<Spanned<String>>,
    pub late_after_days: Option<Spanned<i64>>,
    pub act_by_soon_days: Option<Spanned<i64>>,
    pub sync_failing_after: Option<Spanned<i64>>,
    pub email: Option<Spanned<RawEmail>>,
    #[serde(default)]
    pub channel: Vec<Spanned<RawChannel>>,
}

/// One `[[notify.channel]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChannel {
    pub name: Option<Spanned<String>>,
    pub kind: Option<Spanned<String>>,
    pub url: Option<Spanned<SecretString>>,
    pub url_file: Option<Spanned<String>>,
    pub url_env: Option<Spanned<String>>,
    pub secret: Option<Spanned<SecretString>>,
    pub secret_file: Option<Spanned<String>>,
    pub secret_env: Option<Spanned<String>>,
    pub app_token: Option<Spanned<SecretString>>,
    pub app_token_file: Option<Spanned<String>>,
    pub app_token_env: Option<Spanned<String>>,
    pub recipients: Option<Spanned<Vec<String>>>,
    pub events: Option<Spanned<Vec<String>>>,
    pub services: Option<Spanned<Vec<String>>>,
    pub severities: Option<Spanned<Vec<String>>>,
    pub major: Option<Spanned<bool>>,
    pub tenants: Option<Spanned<Vec<String>>>,
    pub owner: Option<Spanned<String>>,
    pub batch_minutes: Option<Spanned<i64>>,
    pub quiet: Option<Spanned<DeclaredQuiet>>,
    pub digest: Option<Spanned<DeclaredSchedule>>,
    pub review: Option<Spanned<DeclaredSchedule>>,
    pub report: Option<Spanned<DeclaredReport>>,
    pub allow_private: Option<Spanned<bool>>,
    pub connector: Option<Spanned<DeclaredConnector>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmail {
    pub from: Option<Spanned<String>>,
    pub reply_to: Option<Spanned<String>>,
    pub transport: Option<Spanned<String>>,
    pub smtp: Option<Spanned<RawSmtp>>,
    pub graph: Option<Spanned<RawGraph>>,
    pub directory: Option<Spanned<RawDirectory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub host: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
    pub security: Option<Spanned<String>>,
    pub auth: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGraph {
    pub tenant: Option<Spanned<String>>,
    pub sender: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirectory {
    pub path: Option<Spanned<String>>,
}

fn at<T>(s: &Spanned<T>) -> Origin {
    Origin::File(s.span().start)
}

/// A loose mailbox check (`Name <a@b>` or `a@b`): one `@`, no spaces or
/// line breaks in the address. The e-mail crate checks strictly.
pub fn looks_like_mailbox(s: &str) -> bool {
    let t = s.trim();
    let addr = match (t.rfind('<'), t.ends_with('>')) {
        (Some(i), true) => t.get(i + 1..t.len() - 1).unwrap_or(""),
        (None, false) => t,
        _ => return false,
    };
    if addr.contains(['<', '>']) {
        return false;
    }
    let mut parts = addr.split('@');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(l), Some(d), None) if !l.is_empty() && d.contains('.') && !d.starts_with('.')
    ) && !addr.chars().any(|c| c.is_whitespace() || c.is_control())
        && !t.chars().any(|c| c == '\r' || c == '\n')
}

/// Merges `[notify]` from the file. `tenants`: the configured tenants'
/// names (the Graph transport must name one).
pub(super) fn build(
    rep: &mut Reporter<'_>,
    raw: Option<RawNotify>,
    tenants: &[String],
) -> NotifySettings {
    let Some(raw) = raw else {
        return NotifySettings::default();
    };
    let thresholds = build_thresholds(rep, &raw);
    let channels = raw
        .channel
        .into_iter()
        .enumerate()
        .filter_map(|(i, c)| build_channel(rep, i, c))
        .collect::<Vec<_>>();
    check_channel_names(rep, &channels);
    let templates_dir = raw.templates_dir.and_then(|d| {
        if d.get_ref().trim().is_empty() {
            rep.error(
                &at(&d),
                "notify.templates_dir",
                "is empty: give a directory or leave it out",
            );
            None
        } else {
            Some(PathBuf::from(d.get_ref().trim()))
        }
    });
    let email = raw.email.and_then(|e| {
        let origin = at(&e);
        build_email(rep, origin, e.into_inner(), tenants)
    });
    NotifySettings {
        templates_dir,
        email,
        thresholds,
        channels,
    }
}

fn build_thresholds(rep: &mut Reporter<'_>, raw: &RawNotify) -> Thresholds {
    let mut t = Thresholds::default();
    for (key, value, range, unit, target) in [
        (
            "late_after_days",
            &raw.late_after_days,
            LATE_AFTER_DAYS_RANGE,
            "days",
            &mut t.late_after_days,
        ),
        (
            "act_by_soon_days",
            &raw.act_by_soon_days,
            ACT_BY_SOON_DAYS_RANGE,
            "days",
            &mut t.act_by_soon_days,
        ),
        (
            "sync_failing_after",
            &raw.sync_failing_after,
            SYNC_FAILING_AFTER_RANGE,
            "failed syncs in a row",
            &mut t.sync_failing_after,
        ),
    ] {
        let Some(v) = value else { continue };
        if range.contains(v.get_ref()) {
            *target = *v.get_ref();
        } else {
            rep.error(
                &at(v),
                &format!("notify.{key}"),
                format!(
                    "must be from {} to {} ({unit}); found {}",
                    range.start(),
                    range.end(),
                    v.get_ref()
                ),
            );
        }
    }
    t
}

/// The names of people's own subscriptions (`person-<user id>`), which a
/// declared channel may not take.
fn is_subscription_name(name: &str) -> bool {
    name.strip_prefix("person-")
        .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
}

/// One source for a secret: `key`, `key_file` or `key_env`.
fn secret_of(
    rep: &mut Reporter<'_>,
    prefix: &str,
    field: &str,
    inline: Option<Spanned<SecretString>>,
    file: Option<Spanned<String>>,
    env: Option<Spanned<String>>,
    keys: &mut Vec<(String, String, Location)>,
) -> Option<DeclaredSecret> {
    let mut given: Vec<(String, Origin, DeclaredSecret)> = Vec::new();
    if let Some(v) = inline {
        let o = at(&v);
        let value = v.into_inner().expose_secret().trim().to_string();
        if value.is_empty() {
            rep.error(&o, &format!("{prefix}.{field}"), "is empty");
        } else {
            given.push((
                field.to_string(),
                o,
                DeclaredSecret {
                    from: SecretFrom::Inline,
                    value: Some(SecretString::from(value)),
                },
            ));
        }
    }
    if let Some(p) = file {
        let o = at(&p);
        let key = format!("{field}_file");
        match super::tenant::validate_path(p.get_ref()) {
            Ok(path) => given.push((
                key,
                o,
                DeclaredSecret {
                    from: SecretFrom::File(path),
                    value: None,
                },
            )),
            Err(e) => rep.error(&o, &format!("{prefix}.{key}"), e.0),
        }
    }
    if let Some(v) = env {
        let o = at(&v);
        let key = format!("{field}_env");
        let name = v.get_ref().trim();
        if name.is_empty() || name.contains(['=', '\0']) || name.chars().any(char::is_whitespace) {
            rep.error(
                &o,
                &format!("{prefix}.{key}"),
                "is not the name of an environment variable",
            );
        } else {
            given.push((
                key,
                o,
                DeclaredSecret {
                    from: SecretFrom::Env(name.to_string()),
                    value: None,
                },
            ));
        }
    }
    if given.len() > 1 {
        let names: Vec<&str> = given.iter().map(|(k, _, _)| k.as_str()).collect();
        let message = format!(
            "give one of {field}, {field}_file or {field}_env (found {})",
            names.join(", ")
        );
        if let Some((key, o, _)) = given.last() {
            rep.error(o, &format!("{prefix}.{key}"), message);
        }
        return None;
    }
    let (key, o, secret) = given.pop()?;
    keys.push((field.to_string(), key, rep.location(&o)));
    Some(secret)
}

fn build_channel(
    rep: &mut Reporter<'_>,
    index: usize,
    raw: Spanned<RawChannel>,
) -> Option<DeclaredChannel> {
    let header = Origin::File(raw.span().start);
    let prefix = format!("notify.channel[{index}]");
    let errors_before = rep.errors.len();
    let c = raw.into_inner();
    let mut keys: Vec<(String, String, Location)> = Vec::new();
    let mut note = |rep: &Reporter<'_>, field: &str, origin: Origin| {
        keys.push((field.to_string(), field.to_string(), rep.location(&origin)));
    };
    macro_rules! plain {
        ($field:ident) => {
            c.$field.map(|v| {
                note(rep, stringify!($field), at(&v));
                v.into_inner()
            })
        };
    }
    let name = plain!(name).map(|n| n.trim().to_string());
    let kind = plain!(kind);
    let recipients = plain!(recipients).unwrap_or_default();
    let events = plain!(events).unwrap_or_default();
    let services = plain!(services).unwrap_or_default();
    let severities = plain!(severities).unwrap_or_default();
    let major = plain!(major).unwrap_or(false);
    let tenants = plain!(tenants).unwrap_or_default();
    let owner = plain!(owner);
    let quiet = plain!(quiet);
    let digest = plain!(digest);
    let review = plain!(review);
    let report = plain!(report);
    let allow_private = plain!(allow_private).unwrap_or(false);
    let connector = plain!(connector);
    let batch_minutes = match c.batch_minutes {
        None => None,
        Some(m) => {
            note(rep, "batch_minutes", at(&m));
            match u32::try_from(*m.get_ref()) {
                Ok(n) => Some(n),
                Err(_) if *m.get_ref() > 0 => Some(u32::MAX),
                Err(_) => {
                    rep.error(
                        &at(&m),
                        &format!("{prefix}.batch_minutes"),
                        "is a number of minutes, 0 or more",
                    );
                    None
                }
            }
        }
    };
    let url = secret_of(rep, &prefix, "url", c.url, c.url_file, c.url_env, &mut keys);
    let secret = secret_of(
        rep,
        &prefix,
        "secret",
        c.secret,
        c.secret_file,
        c.secret_env,
        &mut keys,
    );
    let app_token = secret_of(
        rep,
        &prefix,
        "app_token",
        c.app_token,
        c.app_token_file,
        c.app_token_env,
        &mut keys,
    );
    let name = match name {
        Some(n) if is_subscription_name(&n.to_ascii_lowercase()) => {
            rep.error(
                &header,
                &format!("{prefix}.name"),
                "`person-…` names are people's own subscriptions (My notifications): choose another name",
            );
            None
        }
        Some(n) => Some(n),
        None => {
            rep.error(&header, &prefix, "missing `name`");
            None
        }
    };
    let webhook = kind
        .as_deref()
        .is_none_or(|k| k.trim().eq_ignore_ascii_case("webhook"));
    if webhook && secret.is_none() && rep.errors.len() == errors_before {
        rep.error(
            &header,
            &prefix,
            "a webhook declared in the file needs its signing secret (`secret_file`, `secret_env` or `secret`: a whsec_… value), which its receiver checks: changedesk shows none it makes",
        );
    }
    if rep.errors.len() > errors_before {
        return None;
    }
    Some(DeclaredChannel {
        name: name?,
        kind,
        url,
        secret,
        app_token,
        recipients,
        events,
        services,
        severities,
        major,
        tenants,
        owner,
        batch_minutes,
        quiet,
        digest,
        review,
        report,
        allow_private,
        connector,
        at: DeclaredAt {
            index,
            header: rep.location(&header),
            keys,
        },
    })
}

/// Channel names are unique, ignoring case; the second and later uses are
/// errors.
fn check_channel_names(rep: &mut Reporter<'_>, channels: &[DeclaredChannel]) {
    let mut seen: BTreeMap<String, &DeclaredChannel> = BTreeMap::new();
    for c in channels {
        let name = c.name.to_ascii_lowercase();
        match seen.get(&name) {
            None => {
                seen.insert(name, c);
            }
            Some(first) => {
                let line = match &first.at.header {
                    Location::File {
                        position: Some(Position { line, .. }),
                        ..
                    } => format!(" (first on line {line})"),
                    _ => String::new(),
                };
                rep.errors.push(c.error(
                    "name",
                    format!("channel `{}` is declared twice{line}", c.name),
                ));
            }
        }
    }
}

/// Reads each declared channel's URL and signing secret from its file
/// (through `read`) or environment variable (from `env`), trimmed; an
/// empty or unreadable one is an error at its key (naming the file or
/// variable, never the value).
pub(super) fn read_channel_secrets(
    rep: &mut Reporter<'_>,
    channels: &mut [DeclaredChannel],
    env: &BTreeMap<String, String>,
    read: &dyn Fn(&Path) -> Result<String, String>,
) {
    for c in channels.iter_mut() {
        for field in ["url", "secret", "app_token"] {
            let slot = match field {
                "url" => &c.url,
                "secret" => &c.secret,
                _ => &c.app_token,
            };
            let from = match slot {
                Some(s) => s.from.clone(),
                None => continue,
            };
            let value = match &from {
                SecretFrom::Inline => continue,
                SecretFrom::File(path) => match read(path) {
                    Ok(text) if text.trim().is_empty() => {
                        Err(format!("the file {} is empty", path.display()))
                    }
                    Ok(text) => Ok(SecretString::from(text.trim())),
                    Err(e) => Err(format!("cannot read the file {}: {e}", path.display())),
                },
                SecretFrom::Env(var) => match env.get(var) {
                    Some(v) if v.trim().is_empty() => {
                        Err(format!("the environment variable {var} is empty"))
                    }
                    Some(v) => Ok(SecretString::from(v.trim())),
                    None => Err(format!("the environment variable {var} is not set")),
                },
            };
            match value {
                Ok(v) => {
                    let slot = match field {
                        "url" => &mut c.url,
                        "secret" => &mut c.secret,
                        _ => &mut c.app_token,
                    };
                    if let Some(s) = slot {
                        s.value = Some(v);
                    }
                }
                Err(message) => {
                    let e = c.error(field, message);
                    rep.errors.push(e);
                }
            }
        }
    }
}

/// The environment variables the declared channels read (`url_env`,
/// `secret_env`, `app_token_env`).
pub(super) fn channel_env_vars(channels: &[DeclaredChannel]) -> Vec<String> {
    channels
        .iter()
        .flat_map(|c| [&c.url, &c.secret, &c.app_token])
        .filter_map(|s| match s {
            Some(DeclaredSecret {
                from: SecretFrom::Env(v),
                ..
            }) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn build_email(
    rep: &mut Reporter<'_>,
    origin: Origin,
    e: RawEmail,
    tenants: &[String],
) -> Option<EmailSettings> {
    let from = match e.from {
        Some(f) if looks_like_mailbox(f.get_ref()) => Some(f.get_ref().trim().to_string()),
        Some(f) => {
            rep.error(
                &at(&f),
                "notify.email.from",
                "is not a mailbox (`changedesk <changedesk@contoso.com>`)",
            );
            None
        }
        None => {
            rep.error(
                &origin,
                "notify.email.from",
                "is required: the sender (`changedesk <changedesk@contoso.com>`)",
            );
            None
        }
    };
    let reply_to = match e.reply_to {
        Some(r) if looks_like_mailbox(r.get_ref()) => Some(r.get_ref().trim().to_string()),
        Some(r) => {
            rep.error(&at(&r), "notify.email.reply_to", "is not a mailbox");
            None
        }
        None => None,
    };
    let transport_name = e
        .transport
        .as_ref()
        .map(|t| t.get_ref().trim().to_ascii_lowercase());
    let transport_origin = e.transport.as_ref().map_or(origin.clone(), at);
    let transport = match transport_name.as_deref() {
        None => {
            rep.error(
                &origin,
                "notify.email.transport",
                "is required: smtp, graph or directory",
            );
            None
        }
        Some("smtp") => match e.smtp {
            Some(s) => {
                let o = at(&s);
                build_smtp(rep, o, s.into_inner()).map(EmailTransport::Smtp)
            }
            None => {
                rep.error(
                    &transport_origin,
                    "notify.email.smtp",
                    "is required for transport = \"smtp\"",
                );
                None
            }
        },
        Some("graph") => {
            match e.graph {
                Some(g) => {
                    let o = at(&g);
                    let g = g.into_inner();
                    let tenant = g.tenant.map(|t| t.into_inner().trim().to_string());
                    let sender = g.sender.map(|s| s.into_inner().trim().to_string());
                    match (tenant, sender) {
                        (Some(t), Some(s)) => {
                            let mut ok = true;
                            if !tenants.iter().any(|n| n == &t) {
                                rep.error(
                                    &o,
                                    "notify.email.graph.tenant",
                                    format!(
                                        "names no configured tenant (`{}`)",
                                        crate::text::clip_chars(&t, 60)
                                    ),
                                );
                                ok = false;
                            }
                            if !looks_like_mailbox(&s) {
                                rep.error(&o, "notify.email.graph.sender", "is not a mailbox (the user principal name of the sending mailbox)");
                                ok = false;
                            }
                            ok.then_some(EmailTransport::Graph {
                                tenant: t,
                                sender: s,
                            })
                        }
                        _ => {
                            rep.error(&o, "notify.email.graph", "needs `tenant` (a configured tenant) and `sender` (the mailbox it sends as)");
                            None
                        }
                    }
                }
                None => {
                    rep.error(
                        &transport_origin,
                        "notify.email.graph",
                        "is required for transport = \"graph\"",
                    );
                    None
                }
            }
        }
        Some("directory") => match e.directory.and_then(|d| d.into_inner().path) {
            Some(p) if !p.get_ref().trim().is_empty() => {
                Some(EmailTransport::Directory(PathBuf::from(p.get_ref().trim())))
            }
            _ => {
                rep.error(
                    &transport_origin,
                    "notify.email.directory.path",
                    "is required for transport = \"directory\"",
                );
                None
            }
        },
        Some(_) => {
            rep.error(
                &transport_origin,
                "notify.email.transport",
                "must be smtp, graph or directory",
            );
            None
        }
    };
    Some(EmailSettings {
        from: from?,
        reply_to,
        transport: transport?,
    })
}

fn build_smtp(rep: &mut Reporter<'_>, origin: Origin, s: RawSmtp) -> Option<SmtpConfig> {
    let mut ok = true;
    let host = match s.host {
        Some(h) if !h.get_ref().trim().is_empty() && !h.get_ref().contains(char::is_whitespace) => {
            h.get_ref().trim().to_string()
        }
        Some(h) => {
            rep.error(&at(&h), "notify.email.smtp.host", "is not a host name");
            ok = false;
            String::new()
        }
        None => {
            rep.error(&origin, "notify.email.smtp.host", "is required");
            ok = false;
            String::new()
        }
    };
    let security = match &s.security {
        None => "starttls".to_string(),
        Some(v) => {
            let t = v.get_ref().trim().to_ascii_lowercase();
            if !["starttls", "tls", "none"].contains(&t.as_str()) {
                rep.error(
                    &at(v),
                    "notify.email.smtp.security",
                    "must be starttls, tls or none",
                );
                ok = false;
            }
            t
        }
    };
    let port = match &s.port {
        None => match security.as_str() {
            "tls" => 465,
            "none" => 25,
            _ => 587,
        },
        Some(p) => match u16::try_from(*p.get_ref()) {
            Ok(n) if n > 0 => n,
            _ => {
                rep.error(
                    &at(p),
                    "notify.email.smtp.port",
                    "must be a port number from 1 to 65535",
                );
                ok = false;
                0
            }
        },
    };
    let auth = match &s.auth {
        None => "none".to_string(),
        Some(v) => {
            let t = v.get_ref().trim().to_ascii_lowercase();
            if !["none", "plain", "login", "xoauth2"].contains(&t.as_str()) {
                rep.error(
                    &at(v),
                    "notify.email.smtp.auth",
                    "must be none, plain, login or xoauth2",
                );
                ok = false;
            }
            t
        }
    };
    let user = s.user.map(|u| u.into_inner().trim().to_string());
    let password_file = s
        .password_file
        .map(|p| PathBuf::from(p.into_inner().trim()));
    if auth != "none" && (user.is_none() || password_file.is_none()) {
        rep.error(
            &origin,
            "notify.email.smtp",
            format!("auth = \"{auth}\" needs `user` and `password_file` (the password, or the OAuth token for xoauth2)"),
        );
        ok = false;
    }
    if auth != "none" && security == "none" {
        rep.error(
            &origin,
            "notify.email.smtp.auth",
            "sends a password: it needs security = \"starttls\" or \"tls\"",
        );
        ok = false;
    }
    let ca_file = s.ca_file.map(|p| PathBuf::from(p.into_inner().trim()));
    ok.then_some(SmtpConfig {
        host,
        port,
        security,
        auth,
        user,
        password_file,
        password: None,
        ca_file,
    })
}

#[cfg(test)]
mod tests {
    use super::looks_like_mailbox;

    #[test]
    fn mailboxes_are_checked_loosely() {
        for good in [
            "a@b.c",
            "changedesk <changedesk@contoso.com>",
            " x.y@sub.example.org ",
        ] {
            assert!(looks_like_mailbox(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "a b@c.d",
            "a@b.c\r\nBcc: e@f.g",
            "<a@b.c",
            "@b.c",
            "a@@b.c",
            "日本語",
            "x <>",
        ] {
            assert!(!looks_like_mailbox(bad), "{bad}");
        }
    }
}
