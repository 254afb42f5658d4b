//! A person's request for a channel (CLI, API, web UI, configuration
//! file), checked and sealed into what the store keeps.

use changedesk_core::Timestamp;
use changedesk_core::notify::delivery::{DEFAULT_BATCH_MINUTES, MAX_BATCH_MINUTES, MAX_RECIPIENTS};
use changedesk_core::notify::{ChannelFilter, ChannelKind, ChannelSettings, EventKind, QuietHours};
use changedesk_core::text::clip_chars;
use changedesk_notify::WebhookSecret;
use changedesk_secrets::Keyring;
use secrecy::{ExposeSecret as _, SecretString};

/// The context a channel's URL is sealed for.
pub fn url_context(channel: &str) -> String {
    format!("channel/{}/url", channel.trim().to_ascii_lowercase())
}

/// The context a channel's signing secret is sealed for.
pub fn secret_context(channel: &str) -> String {
    format!("channel/{}/secret", channel.trim().to_ascii_lowercase())
}

/// The most channels changedesk keeps (each event is matched to each).
pub const MAX_CHANNELS: usize = 1000;

/// Graph's global root: a Planner connector's URL when none is given.
pub const GRAPH_ROOT: &str = "https://graph.microsoft.com";

/// Quiet hours as a person asks for them.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietRequest {
    /// `hh:mm`, local time.
    pub from: String,
    /// `hh:mm`, local time (before `from`: the span crosses midnight).
    pub to: String,
    /// An IANA time zone (`Europe/Paris`); default UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Severities that still go out at once (`critical`).
    #[serde(default)]
    pub urgent_severities: Vec<String>,
    /// Major changes still go out at once.
    #[serde(default)]
    pub urgent_major: bool,
}

/// A digest as a person asks for it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestRequest {
    /// `monday` … `sunday` for a weekly digest; none: daily.
    #[serde(default)]
    pub weekday: Option<String>,
    /// `hh:mm` local time.
    pub at: String,
    /// An IANA time zone (`Europe/Paris`); default UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A scheduled report as a person asks for it (an e-mail channel).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// `monthly`: the executive report of the month before, on each month's
    /// first working day; `weekly`: the weekly status of the week before,
    /// each Monday.
    pub every: String,
    /// `hh:mm` local time.
    pub at: String,
    /// An IANA time zone (`Europe/Paris`); default UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A person's request for a channel.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRequest {
    /// 1 to 64 letters, digits, `-` or `_`.
    pub name: String,
    /// `webhook` (default), `email`, `teams` or `slack`; or a connector:
    /// `servicenow`, `jira`, `glpi` or `planner`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The endpoint of a webhook, Teams Workflows or Slack channel: https
    /// (plain http only with `allow_private`). A secret: kept sealed, never
    /// shown again. A connector's system (an instance, a site, GLPI's
    /// `apirest.php`, Graph's root for Planner).
    #[serde(default, alias = "webhook")]
    pub url: Option<String>,
    /// A webhook's signing secret (`whsec_…`); none: a new one, shown once.
    /// A connector's password, API token, user token or client secret.
    #[serde(default)]
    pub secret: Option<String>,
    /// An e-mail channel's addresses (at most 100). An owner's e-mail
    /// channel may leave them out: the owner's address is used.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Only these events (`post.routed`, `post.changed`, `item.reopened`,
    /// `rule.notify`, `item.due_soon`, `item.overdue`, `item.missed`,
    /// `post.major`, `post.act_by_soon`, `incident.new`, `incident.updated`,
    /// `incident.resolved`, `tenant.sync_failing`, `tenant.sync_recovered`,
    /// `post.new_tenants`); none: every event but `post.new_tenants`, which
    /// only a channel that names it hears of.
    #[serde(default)]
    pub events: Vec<String>,
    /// Only posts of these services.
    #[serde(default)]
    pub services: Vec<String>,
    /// Only posts of these severities (`normal`, `high`, `critical`).
    #[serde(default)]
    pub severities: Vec<String>,
    /// Only major changes.
    #[serde(default)]
    pub major: bool,
    /// Only these tenants: the channel hears only of them, never of others.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Only items of this owner (an owner's channel).
    #[serde(default)]
    pub owner: Option<String>,
    /// Minutes to gather events into one message (e-mail, Teams, Slack;
    /// default 5; 0: at once). Webhooks never batch.
    #[serde(default)]
    pub batch_minutes: Option<u32>,
    /// Hours in which nothing is sent but what is urgent.
    #[serde(default)]
    pub quiet: Option<QuietRequest>,
    /// A daily or weekly digest instead of the batching window (e-mail,
    /// Teams, Slack).
    #[serde(default)]
    pub digest: Option<DigestRequest>,
    /// An owner's channel: also send the owner's review (their part of the
    /// agenda) on this schedule (weekly with a `weekday`, else daily).
    #[serde(default)]
    pub review: Option<DigestRequest>,
    /// An e-mail channel: also send a scheduled report (the monthly
    /// executive report or the weekly status) of the organisation, or of
    /// the channel's `tenants`.
    #[serde(default)]
    pub report: Option<ReportRequest>,
    /// Allow private, loopback and plain-http targets (a receiver on this
    /// network).
    #[serde(default)]
    pub allow_private: bool,
    /// A connector's settings (`kind` `servicenow`, `jira` or `glpi`): its
    /// system is at `url`, and `secret` is the password, API token, user
    /// token or OAuth client secret it signs in with (kept sealed).
    #[serde(default)]
    pub connector: Option<ConnectorRequest>,
}

/// A connector's settings as a person asks for them.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorRequest {
    /// Who signs in: ServiceNow's user (or OAuth client id), Jira's
    /// account e-mail, GLPI's login (none: `secret` is a user token).
    #[serde(default)]
    pub user: Option<String>,
    /// ServiceNow: `basic` (default) or `oauth` (client credentials).
    #[serde(default)]
    pub auth: Option<String>,
    /// ServiceNow: `table` (default: a `change_request` record), `normal`
    /// or `standard` (the Change Management API).
    #[serde(default)]
    pub model: Option<String>,
    /// ServiceNow: the standard change template's sys_id.
    #[serde(default)]
    pub template: Option<String>,
    /// Jira: the project's key.
    #[serde(default)]
    pub project: Option<String>,
    /// Jira: the issue type's name.
    #[serde(default)]
    pub issue_type: Option<String>,
    /// Jira: the issue type Service Health incidents are opened as (with
    /// `incidents`), e.g. Jira Service Management's `Incident`.
    #[serde(default)]
    pub incident_issue_type: Option<String>,
    /// GLPI: the entity changes are created in (the legacy API).
    #[serde(default)]
    pub entities_id: Option<i64>,
    /// GLPI: `legacy` (default: `apirest.php`, `user` a login or none for a
    /// user token) or `high_level` (GLPI 11's `api.php/v2.0`, `user` the
    /// OAuth client's id and `secret` its secret; changes only).
    #[serde(default)]
    pub api: Option<String>,
    /// GLPI: the API client's application token, if the server asks for
    /// one (kept sealed).
    #[serde(default)]
    pub app_token: Option<String>,
    /// What the item does when its ticket moves on the other side (each
    /// stage left out: the default).
    #[serde(default)]
    pub follow: Option<FollowRequest>,
    /// Raise a change request by itself for every item the rules mark as
    /// requiring one (for every tenant; a connector limited to some
    /// tenants: for each of those that sees the post).
    #[serde(default)]
    pub raise_required: Option<bool>,
    /// Open an incident in the service desk for each Service Health
    /// incident or advisory of the connector's tenants, add Microsoft's
    /// updates to it and resolve it with Microsoft (ServiceNow, GLPI).
    #[serde(default)]
    pub incidents: Option<bool>,
    /// Planner: the directory (tenant) id or domain the plan lives in (the
    /// connector's `url` is Graph's root, `https://graph.microsoft.com`;
    /// `user` the app registration's client id, `secret` its client
    /// secret).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Planner: the sign-in authority (default
    /// `https://login.microsoftonline.com`).
    #[serde(default)]
    pub login: Option<String>,
    /// Planner: the plan's id.
    #[serde(default)]
    pub plan: Option<String>,
    /// Planner: `workload` (default: a bucket per workload), `state`
    /// (`To do`, then `Done` when changedesk closes it) or `one` (the
    /// bucket `bucket`).
    #[serde(default)]
    pub buckets: Option<String>,
    /// Planner: the bucket's name with `buckets = one` (default `To do`).
    #[serde(default)]
    pub bucket: Option<String>,
}

/// What an item does when its ticket is being implemented, done or
/// canceled: `nothing`, `start`, `close`, `close:DECISION` or `dismiss`.
/// By default: `start`, `close:change_request_raised`, `nothing`.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowRequest {
    #[serde(default)]
    pub in_progress: Option<String>,
    #[serde(default)]
    pub done: Option<String>,
    #[serde(default)]
    pub canceled: Option<String>,
    /// Close (or, for a dismissed item, cancel) the ticket there when its
    /// item closes here (default: no).
    #[serde(default)]
    pub close_ticket: Option<bool>,
}

impl FollowRequest {
    /// The mapping asked for, checked.
    pub fn mapping(&self) -> Result<changedesk_core::change_control::TicketMapping, String> {
        use changedesk_core::change_control::FollowAction;
        let mut m = changedesk_core::change_control::TicketMapping::default();
        for (stage, asked, slot) in [
            ("in_progress", &self.in_progress, &mut m.in_progress),
            ("done", &self.done, &mut m.done),
            ("canceled", &self.canceled, &mut m.canceled),
        ] {
            if let Some(a) = asked {
                *slot = FollowAction::parse(a).map_err(|e| format!("follow.{stage}: {e}"))?;
            }
        }
        m.close_ticket = self.close_ticket.unwrap_or(false);
        Ok(m)
    }
}

/// The connector settings and sealed credentials `req` asks for, checked.
fn check_connector(
    ring: &Keyring,
    name: &str,
    kind: ChannelKind,
    req: &ChannelRequest,
    url: &url::Url,
) -> Result<(changedesk_core::change_control::TargetSettings, String), ChannelError> {
    let c = req.connector.clone().unwrap_or_default();
    let mut v = serde_json::json!({"system": kind.as_str(), "url": url.as_str()});
    let fields = [
        ("user", c.user.map(|u| u.trim().to_string().into())),
        ("auth", c.auth.map(|a| a.trim().to_ascii_lowercase().into())),
        (
            "model",
            c.model.map(|m| m.trim().to_ascii_lowercase().into()),
        ),
        ("template", c.template.map(|t| t.trim().to_string().into())),
        ("project", c.project.map(|p| p.trim().to_string().into())),
        (
            "issue_type",
            c.issue_type.map(|t| t.trim().to_string().into()),
        ),
        ("entities_id", c.entities_id.map(Into::into)),
        (
            "incident_issue_type",
            c.incident_issue_type.map(|t| t.trim().to_string().into()),
        ),
        (
            "api",
            c.api
                .map(|a| a.trim().to_ascii_lowercase().replace('-', "_").into()),
        ),
        ("tenant", c.tenant.map(|t| t.trim().to_string().into())),
        ("plan", c.plan.map(|p| p.trim().to_string().into())),
        (
            "buckets",
            c.buckets.map(|b| b.trim().to_ascii_lowercase().into()),
        ),
        ("bucket", c.bucket.map(|b| b.trim().to_string().into())),
    ];
    if let Some(login) = &c.login {
        // the client secret goes there: checked as the system's URL is
        let login = check_url(login, kind, req.allow_private)
            .map_err(|e| on("connector")(format!("login: {e}")))?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("login".into(), login.as_str().into());
        }
    }
    for (k, value) in fields {
        if let (Some(value), Some(obj)) = (value, v.as_object_mut()) {
            obj.insert(k.to_string(), value);
        }
    }
    let settings: changedesk_core::change_control::TargetSettings = serde_json::from_value(v)
        .map_err(|e| on("connector")(format!("a {kind} connector: {e}")))?;
    if c.app_token.is_some() && kind != ChannelKind::Glpi {
        return Err(on("connector")(
            "an application token is GLPI's; leave `app_token` out".into(),
        ));
    }
    let secret = req
        .secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            on("secret")(format!(
                "a {kind} connector needs its secret (password, API token, user token or client secret)"
            ))
        })?;
    let credentials = changedesk_connectors::target::Credentials {
        secret: secret.to_string(),
        app_token: c
            .app_token
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty()),
    };
    // the settings must make a client (a standard change's template…)
    changedesk_connectors::target::Target::new(&settings, &credentials)
        .map_err(|e| on("connector")(e.to_string()))?;
    let json = serde_json::to_string(&credentials).map_err(|e| on("secret")(e.to_string()))?;
    let sealed = ring
        .seal(&json, &secret_context(name))
        .map_err(|e| on("secret")(e.to_string()))?;
    Ok((settings, sealed))
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A channel request that does not check: which of its fields (as named
/// in [`ChannelRequest`]: `name`, `kind`, `url`, `secret`, `recipients`,
/// `events`, `services`, `severities`, `tenants`, `owner`,
/// `batch_minutes`, `quiet`, `digest`, `review`, `report`) and what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ChannelError {}

/// `message` as a problem of `field`.
fn on(field: &'static str) -> impl FnOnce(String) -> ChannelError {
    move |message| ChannelError { field, message }
}

/// Checks `req` and seals its URL and secret with `ring`: the channel to
/// store, and a webhook's signing secret when it was made here (to show
/// once). `known` are the tenants that exist, `owners` the owners' names.
/// Errors say what to fix.
pub fn new_channel(
    ring: &Keyring,
    req: &ChannelRequest,
    known: &[String],
    owners: &[String],
    actor: &str,
    at: Timestamp,
) -> Result<(changedesk_store::NewChannel, Option<SecretString>), String> {
    check_channel(ring, req, known, owners, actor, at).map_err(|e| e.message)
}

/// [`new_channel`], its error naming the field it concerns (the
/// configuration file reports it at that key).
pub fn check_channel(
    ring: &Keyring,
    req: &ChannelRequest,
    known: &[String],
    owners: &[String],
    actor: &str,
    at: Timestamp,
) -> Result<(changedesk_store::NewChannel, Option<SecretString>), ChannelError> {
    let name = req.name.trim().to_ascii_lowercase();
    if !name_ok(&name) {
        return Err(on("name")(
            "a channel name is 1 to 64 letters, digits, `-` or `_`".into(),
        ));
    }
    let kind = match &req.kind {
        Some(k) => k.parse::<ChannelKind>().map_err(on("kind"))?,
        None => ChannelKind::Webhook,
    };
    let events = req
        .events
        .iter()
        .map(|e| e.parse::<EventKind>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(on("events"))?;
    let severities = parse_severities(&req.severities).map_err(on("severities"))?;
    for t in &req.tenants {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(t.trim())) {
            return Err(on("tenants")(format!(
                "no tenant is named `{}`",
                clip_chars(t, 60)
            )));
        }
    }
    if req.services.len() + req.tenants.len() + req.severities.len() > 10_000 {
        return Err(on("services")(
            "at most 10,000 services, severities and tenants".into(),
        ));
    }
    let owner = match &req.owner {
        None => None,
        Some(o) => {
            let o = o.trim().to_ascii_lowercase();
            if !owners.iter().any(|x| x.eq_ignore_ascii_case(&o)) {
                return Err(on("owner")(format!(
                    "no owner is named `{}`",
                    clip_chars(&o, 60)
                )));
            }
            Some(o)
        }
    };
    let seal = |text: &str, context: String, field: &'static str| {
        ring.seal(text, &context)
            .map_err(|e| on(field)(e.to_string()))
    };
    let mut connector = None;
    let mut follow = None;
    let mut incidents = false;
    if events.contains(&EventKind::ChangeRequested) && !kind.is_connector() {
        return Err(on("events")(
            "change.requested is heard only by the connector a change request names".into(),
        ));
    }
    if req.connector.is_some() && !kind.is_connector() {
        return Err(on("connector")(format!(
            "a {kind} channel is not a connector: `connector` is for servicenow, jira, glpi and planner"
        )));
    }
    let (url_sealed, secret_sealed, generated) = if kind.is_connector() {
        if !req.recipients.is_empty() {
            return Err(on("recipients")(format!(
                "a {kind} connector has a URL, not recipients"
            )));
        }
        if !events.is_empty() || !req.severities.is_empty() || req.major || owner.is_some() {
            return Err(on("events")(format!(
                "a {kind} connector hears only of the change requests addressed to it: leave out events, \
                 severities, major and owner (tenants limit whom it raises tickets for, services the posts \
                 the rules raise changes of and the incidents it opens)"
            )));
        }
        let raw = req
            .url
            .as_deref()
            .or((kind == ChannelKind::Planner).then_some(GRAPH_ROOT))
            .ok_or_else(|| on("url")(format!("a {kind} connector needs its system's URL")))?;
        let url = check_url(raw, kind, req.allow_private).map_err(on("url"))?;
        let (settings, sealed) = check_connector(ring, &name, kind, req, &url)?;
        connector = Some(settings);
        follow = req
            .connector
            .as_ref()
            .and_then(|c| c.follow.as_ref())
            .map(FollowRequest::mapping)
            .transpose()
            .map_err(on("connector"))?;
        incidents = req
            .connector
            .as_ref()
            .and_then(|c| c.incidents)
            .unwrap_or(false);
        let jira_incidents = req
            .connector
            .as_ref()
            .and_then(|c| c.incident_issue_type.as_deref())
            .is_some_and(|t| !t.trim().is_empty());
        if incidents && kind == ChannelKind::Planner {
            return Err(on("connector")(
                "Planner is not a service desk: Service Health incidents go to ServiceNow, GLPI or Jira"
                    .into(),
            ));
        }
        if incidents
            && matches!(
                connector,
                Some(changedesk_core::change_control::TargetSettings::Glpi {
                    api: changedesk_core::change_control::GlpiApi::HighLevel,
                    ..
                })
            )
        {
            return Err(on("connector")(
                "GLPI's high-level API connector raises changes only: open incidents with a legacy (apirest.php) one"
                    .into(),
            ));
        }
        if incidents && kind == ChannelKind::Jira && !jira_incidents {
            return Err(on("connector")(
                "a Jira connector opens incidents as issues of `incident_issue_type` (e.g. Incident): set it"
                    .into(),
            ));
        }
        (
            seal(url.as_str(), url_context(&name), "url")?,
            Some(sealed),
            None,
        )
    } else if kind.has_url() {
        if !req.recipients.is_empty() {
            return Err(on("recipients")(format!(
                "a {kind} channel has a URL, not recipients"
            )));
        }
        let raw = req
            .url
            .as_deref()
            .ok_or_else(|| on("url")(format!("a {kind} channel needs its URL")))?;
        let url = check_url(raw, kind, req.allow_private).map_err(on("url"))?;
        let (secret, generated) = match (kind, &req.secret) {
            (ChannelKind::Webhook, Some(s)) => {
                WebhookSecret::parse(s.trim())
                    .map_err(|e| on("secret")(format!("the signing secret: {e}")))?;
                (Some(SecretString::from(s.trim().to_string())), false)
            }
            (ChannelKind::Webhook, None) => (
                Some(
                    WebhookSecret::generate()
                        .map_err(|e| on("secret")(e.to_string()))?
                        .1,
                ),
                true,
            ),
            (_, Some(_)) => {
                return Err(on("secret")(format!(
                    "a {kind} channel has no signing secret: its URL is the credential"
                )));
            }
            (_, None) => (None, false),
        };
        let sealed_secret = match &secret {
            Some(s) => Some(seal(s.expose_secret(), secret_context(&name), "secret")?),
            None => None,
        };
        (
            seal(url.as_str(), url_context(&name), "url")?,
            sealed_secret,
            generated.then_some(secret).flatten(),
        )
    } else {
        if req.url.is_some() || req.secret.is_some() {
            let field = if req.url.is_some() { "url" } else { "secret" };
            return Err(on(field)(
                "an e-mail channel has recipients, not a URL or secret".into(),
            ));
        }
        if req.recipients.is_empty() && owner.is_none() {
            return Err(on("recipients")(
                "an e-mail channel needs recipients (or an owner, whose address is used)".into(),
            ));
        }
        if req.recipients.len() > MAX_RECIPIENTS {
            return Err(on("recipients")(format!(
                "at most {MAX_RECIPIENTS} recipients"
            )));
        }
        for r in &req.recipients {
            changedesk_notify::email::parse_address(r.trim())
                .map_err(|e| on("recipients")(format!("recipient `{}`: {e}", clip_chars(r, 80))))?;
        }
        (String::new(), None, None)
    };
    let batch_minutes = if kind.batches() {
        let m = req.batch_minutes.unwrap_or(DEFAULT_BATCH_MINUTES);
        if m > MAX_BATCH_MINUTES {
            return Err(on("batch_minutes")(format!(
                "the batching window is at most {MAX_BATCH_MINUTES} minutes (a day)"
            )));
        }
        m
    } else {
        let field = if req.batch_minutes.is_some_and(|m| m > 0) {
            Some("batch_minutes")
        } else if req.quiet.is_some() {
            Some("quiet")
        } else if req.digest.is_some() {
            Some("digest")
        } else {
            None
        };
        if let Some(field) = field {
            return Err(on(field)(
                "a webhook sends each event at once: batching, digests and quiet hours are for e-mail, Teams and Slack"
                    .into(),
            ));
        }
        0
    };
    let quiet = match &req.quiet {
        None => None,
        Some(q) => {
            let urgent_severities = parse_severities(&q.urgent_severities).map_err(on("quiet"))?;
            let quiet = QuietHours {
                from: q.from.trim().to_string(),
                to: q.to.trim().to_string(),
                time_zone: q
                    .time_zone
                    .as_deref()
                    .map_or_else(|| "UTC".to_string(), |z| z.trim().to_string()),
                urgent: (!urgent_severities.is_empty() || q.urgent_major).then(|| ChannelFilter {
                    severities: urgent_severities,
                    major_only: q.urgent_major && q.urgent_severities.is_empty(),
                    ..Default::default()
                }),
            };
            quiet.validate().map_err(on("quiet"))?;
            Some(quiet)
        }
    };
    let digest = req
        .digest
        .as_ref()
        .map(digest_of)
        .transpose()
        .map_err(on("digest"))?;
    let review = match &req.review {
        None => None,
        Some(_) if owner.is_none() || !kind.batches() => {
            return Err(on("review")(
                "a review is an owner's: give the owner, on an e-mail, Teams or Slack channel"
                    .into(),
            ));
        }
        Some(d) => Some(digest_of(d).map_err(on("review"))?),
    };
    let report = match &req.report {
        None => None,
        Some(_) if kind != ChannelKind::Email => {
            return Err(on("report")(
                "a scheduled report is sent by e-mail: give it on an e-mail channel".into(),
            ));
        }
        Some(r) => Some(report_of(r).map_err(on("report"))?),
    };
    let channel = changedesk_store::NewChannel {
        url_sealed,
        secret_sealed,
        name,
        kind: kind.as_str().to_string(),
        filter: ChannelFilter {
            events,
            services: req.services.iter().map(|s| s.trim().to_string()).collect(),
            severities,
            major_only: req.major,
            tenants: (!req.tenants.is_empty()).then(|| {
                req.tenants
                    .iter()
                    .map(|t| t.trim().to_ascii_lowercase())
                    .collect()
            }),
        },
        settings: ChannelSettings {
            recipients: req
                .recipients
                .iter()
                .map(|r| r.trim().to_string())
                .collect(),
            batch_minutes,
            quiet,
            owner,
            digest,
            review,
            report,
            person: None,
            raise_required: connector.is_some()
                && req
                    .connector
                    .as_ref()
                    .and_then(|c| c.raise_required)
                    .unwrap_or(false),
            incidents,
            connector,
            follow,
        },
        allow_private: req.allow_private,
        created_by: actor.to_string(),
        at,
    };
    Ok((channel, generated))
}

/// A report schedule as asked for, checked.
fn report_of(r: &ReportRequest) -> Result<changedesk_core::notify::ReportSchedule, String> {
    let schedule = changedesk_core::notify::ReportSchedule {
        every: changedesk_core::metrics::briefing::Cadence::parse(&r.every)?,
        at: r.at.trim().to_string(),
        time_zone: r
            .time_zone
            .as_deref()
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .map_or_else(|| "UTC".to_string(), str::to_string),
    };
    schedule.validate()?;
    Ok(schedule)
}

/// A digest or review schedule as asked for, checked.
fn digest_of(d: &DigestRequest) -> Result<changedesk_core::notify::Digest, String> {
    let digest = changedesk_core::notify::Digest {
        weekday: d
            .weekday
            .as_deref()
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty()),
        at: d.at.trim().to_string(),
        time_zone: d
            .time_zone
            .as_deref()
            .map_or_else(|| "UTC".to_string(), |z| z.trim().to_string()),
    };
    digest.validate()?;
    Ok(digest)
}

fn parse_severities(list: &[String]) -> Result<Vec<String>, String> {
    list.iter()
        .map(|s| {
            let t = s.trim().to_ascii_lowercase();
            if ["normal", "high", "critical"].contains(&t.as_str()) {
                Ok(t)
            } else {
                Err(format!(
                    "severity `{}` is not normal, high or critical",
                    clip_chars(s, 40)
                ))
            }
        })
        .collect()
}

fn check_url(raw: &str, kind: ChannelKind, allow_private: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim())
        .map_err(|_| format!("the {kind} channel's URL is not a URL (https://…)"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return Err(format!(
                "the {kind} URL must be https (plain http only when private targets are allowed, for a local receiver)"
            ));
        }
        _ => return Err(format!("the {kind} URL must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "the {kind} URL must not carry a user name or password"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("the {kind} URL has no host"));
    }
    Ok(url)
}

/// What a person asks to be told, by e-mail to their own address.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRequest {
    /// Only these events (as a channel's); none: every event.
    #[serde(default)]
    pub events: Vec<String>,
    /// Only posts and incidents of these services.
    #[serde(default)]
    pub services: Vec<String>,
    /// Only posts of these severities (`normal`, `high`, `critical`).
    #[serde(default)]
    pub severities: Vec<String>,
    /// Only major changes.
    #[serde(default)]
    pub major: bool,
    /// Only these of the tenants the person sees; none: all of them.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// `immediately` (gathered for 5 minutes; the default), `daily` or
    /// `weekly`.
    #[serde(default)]
    pub cadence: Option<String>,
    /// A digest's time, `hh:mm` (default 08:00).
    #[serde(default)]
    pub at: Option<String>,
    /// A weekly digest's day (default monday).
    #[serde(default)]
    pub weekday: Option<String>,
    /// The time zone of the digest and quiet hours (IANA; default UTC).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Quiet hours (`from`, `to`; urgent severities still go out).
    #[serde(default)]
    pub quiet: Option<QuietRequest>,
}

/// The name of person `user_id`'s subscription channel.
pub fn subscription_name(user_id: i64) -> String {
    format!("person-{user_id}")
}

/// Who subscribes.
#[derive(Debug, Clone, Copy)]
pub struct Subscriber<'a> {
    pub user_id: i64,
    /// Their user name.
    pub name: &'a str,
    /// Their e-mail address.
    pub email: &'a str,
    /// The tenants they see.
    pub visible: &'a changedesk_core::access::TenantSet,
}

/// Checks `req` for the signed-in person `who`: their subscription
/// channel, e-mail to their address (read when each message is made),
/// limited to the tenants they may see when each event is told. A tenant
/// outside their sight is refused as unknown, without saying whether it
/// exists.
pub fn new_subscription(
    ring: &Keyring,
    who: Subscriber<'_>,
    known: &[String],
    req: &SubscriptionRequest,
    at: Timestamp,
) -> Result<changedesk_store::NewChannel, String> {
    use changedesk_core::access::TenantSet;
    let Subscriber {
        user_id,
        name: user,
        email,
        visible,
    } = who;
    if email.trim().is_empty() {
        return Err("your account has no e-mail address: ask an administrator to add one".into());
    }
    let mut tenants = Vec::with_capacity(req.tenants.len());
    for t in &req.tenants {
        let found = known
            .iter()
            .find(|k| k.eq_ignore_ascii_case(t.trim()))
            .filter(|k| match visible {
                TenantSet::All => true,
                TenantSet::Only(set) => set.iter().any(|v| v.eq_ignore_ascii_case(k)),
            });
        match found {
            Some(k) => tenants.push(k.to_ascii_lowercase()),
            None => {
                return Err(format!(
                    "no tenant you see is named `{}`",
                    clip_chars(t, 60)
                ));
            }
        }
    }
    let (batch_minutes, digest) = match req.cadence.as_deref().map(str::trim) {
        None | Some("immediately") => (None, None),
        Some(c @ ("daily" | "weekly")) => (
            None,
            Some(DigestRequest {
                weekday: (c == "weekly")
                    .then(|| req.weekday.clone().unwrap_or_else(|| "monday".into())),
                at: req.at.clone().unwrap_or_else(|| "08:00".into()),
                time_zone: req.time_zone.clone(),
            }),
        ),
        Some(other) => {
            return Err(format!(
                "cadence `{}` is not immediately, daily or weekly",
                clip_chars(other, 20)
            ));
        }
    };
    let quiet = req.quiet.clone().map(|mut q| {
        if q.time_zone.is_none() {
            q.time_zone = req.time_zone.clone();
        }
        q
    });
    let channel = ChannelRequest {
        name: subscription_name(user_id),
        kind: Some("email".into()),
        recipients: vec![email.trim().to_string()],
        events: req.events.clone(),
        services: req.services.clone(),
        severities: req.severities.clone(),
        major: req.major,
        batch_minutes,
        digest,
        quiet,
        ..Default::default()
    };
    let (mut c, _) = new_channel(ring, &channel, known, &[], user, at)?;
    c.settings.recipients = Vec::new();
    c.settings.person = Some(user.to_string());
    c.filter.tenants = (!tenants.is_empty()).then_some(tenants);
    Ok(c)
}

/// A test event for the channel `name` ("send a test").
pub fn test_event(name: &str, at: Timestamp) -> changedesk_core::notify::Event {
    changedesk_core::notify::Event {
        kind: EventKind::Test,
        at,
        post: None,
        incident: None,
        tenants: Vec::new(),
        owner: None,
        changes: Vec::new(),
        reason: Some("a test of the channel".into()),
        target: Some(name.trim().to_ascii_lowercase()),
        ticket_scope: None,
        moves: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new(changedesk_secrets::Key::generate().unwrap().0, [])
    }

    fn at() -> Timestamp {
        Timestamp::parse("2026-03-10T09:00:00Z").unwrap()
    }

    fn req(kind: &str) -> ChannelRequest {
        ChannelRequest {
            name: "Ops".into(),
            kind: Some(kind.into()),
            ..Default::default()
        }
    }

    #[test]
    fn each_kind_needs_its_destination() {
        let r = ring();
        let known = vec!["contoso".to_string()];
        let owners = vec!["collab".to_string()];
        let e = new_channel(&r, &req("email"), &known, &owners, "a", at()).unwrap_err();
        assert!(e.contains("recipients"), "{e}");
        let mut mail = req("email");
        mail.recipients = vec!["ops@contoso.com".into()];
        let (c, secret) = new_channel(&r, &mail, &known, &owners, "a", at()).unwrap();
        assert_eq!(
            (c.kind.as_str(), c.url_sealed.as_str(), secret.is_none()),
            ("email", "", true)
        );
        assert_eq!(c.settings.batch_minutes, DEFAULT_BATCH_MINUTES);
        mail.recipients = vec!["ops@contoso.com\r\nBcc: x@y.z".into()];
        assert!(new_channel(&r, &mail, &known, &owners, "a", at()).is_err());
        let mut owner = req("email");
        owner.owner = Some("Collab".into());
        let (c, _) = new_channel(&r, &owner, &known, &owners, "a", at()).unwrap();
        assert_eq!(c.settings.owner.as_deref(), Some("collab"));
        owner.owner = Some("nobody".into());
        assert!(
            new_channel(&r, &owner, &known, &owners, "a", at())
                .unwrap_err()
                .contains("owner")
        );

        let mut teams = req("teams");
        assert!(
            new_channel(&r, &teams, &known, &owners, "a", at())
                .unwrap_err()
                .contains("URL")
        );
        teams.url = Some("https://prod-1.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=s3cr3t".into());
        let (c, secret) = new_channel(&r, &teams, &known, &owners, "a", at()).unwrap();
        assert!(secret.is_none() && c.secret_sealed.is_none());
        assert!(!c.url_sealed.contains("s3cr3t"));
        assert_eq!(
            r.open(&c.url_sealed, &url_context("ops"))
                .unwrap()
                .expose_secret(),
            teams.url.as_deref().unwrap()
        );
        teams.secret = Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        assert!(
            new_channel(&r, &teams, &known, &owners, "a", at())
                .unwrap_err()
                .contains("signing secret")
        );

        let mut hook = req("webhook");
        hook.url = Some("https://hooks.example/x".into());
        let (_, secret) = new_channel(&r, &hook, &known, &owners, "a", at()).unwrap();
        assert!(secret.is_some());
        hook.batch_minutes = Some(5);
        assert!(
            new_channel(&r, &hook, &known, &owners, "a", at())
                .unwrap_err()
                .contains("at once")
        );
    }

    #[test]
    fn quiet_hours_and_batching_are_checked() {
        let r = ring();
        let mut slack = req("slack");
        slack.url = Some("https://hooks.slack.com/services/T0/B0/XXX".into());
        slack.batch_minutes = Some(MAX_BATCH_MINUTES + 1);
        assert!(new_channel(&r, &slack, &[], &[], "a", at()).is_err());
        slack.batch_minutes = Some(0);
        slack.quiet = Some(QuietRequest {
            from: "22:00".into(),
            to: "07:00".into(),
            time_zone: Some("Europe/Paris".into()),
            urgent_severities: vec!["Critical".into()],
            urgent_major: false,
        });
        let (c, _) = new_channel(&r, &slack, &[], &[], "a", at()).unwrap();
        let q = c.settings.quiet.unwrap();
        assert_eq!(q.describe(), "22:00-07:00 Europe/Paris");
        assert_eq!(q.urgent.unwrap().severities, vec!["critical".to_string()]);
        slack.quiet.as_mut().unwrap().time_zone = Some("Nowhere/Land".into());
        assert!(
            new_channel(&r, &slack, &[], &[], "a", at())
                .unwrap_err()
                .contains("time zone")
        );
    }
}
