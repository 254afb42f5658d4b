//! Notification channels declared in the configuration file
//! (`[[notify.channel]]`), made the database's whenever the file is applied
//! (`serve` at start, and every command that seeds the file's owners and
//! rules): each declaration is checked exactly as the API checks a channel
//! ([`check_channel`]), its problems reported as configuration errors at the
//! key they concern; then a declared channel new to the database is added,
//! one whose declaration changed since it was last applied is brought up to
//! date (a channel added by hand under that name becomes the declared one,
//! its delivery log kept), and one no longer declared is disabled (its
//! delivery log kept). Everything in one transaction, audited as the actor
//! given (`config`); applying the same file again changes nothing.
//!
//! "Changed" compares what the file says now with what it said when last
//! applied (a digest of the kind, filter and settings, and the URL and
//! signing secret opened from their sealed text), not with the channel as
//! it is: an unsubscribe from a declared e-mail channel, or a `410 Gone` that
//! disabled it, stands until its declaration changes.

use changedesk_core::Timestamp;
use changedesk_core::config::{ConfigError, ConfigErrors, DeclaredChannel};
use changedesk_secrets::Keyring;
use changedesk_store::{
    ChannelRow, DeclaredChange, DeclaredSummary, NewChannel, Store, StoreError,
};
use secrecy::ExposeSecret as _;
use sha2::Digest as _;

use crate::outbox::channel::{
    ChannelRequest, ConnectorRequest, DigestRequest, FollowRequest, MAX_CHANNELS, QuietRequest,
    check_channel, secret_context, url_context,
};

/// What the configuration file declares.
#[derive(Debug, Clone, Copy)]
pub struct Declarations<'a> {
    /// The file, as the database records it (an absolute path, so that
    /// every command names it alike).
    pub file: &'a str,
    /// `[[notify.channel]]`, as loaded (with their secrets read).
    pub channels: &'a [DeclaredChannel],
    /// The tenants the configuration names (known beside the archive's).
    pub configured_tenants: &'a [String],
}

/// Why the declarations could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum DeclareError {
    /// A declaration does not check (each problem at its key, as the
    /// configuration's own errors).
    #[error("{0}")]
    Config(ConfigErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The API's request for `d`.
fn request_of(d: &DeclaredChannel) -> ChannelRequest {
    let value = |s: &Option<changedesk_core::config::DeclaredSecret>| {
        s.as_ref()
            .and_then(|s| s.value.as_ref())
            .map(|v| v.expose_secret().to_string())
    };
    let schedule = |s: &changedesk_core::config::DeclaredSchedule| DigestRequest {
        weekday: s.weekday.clone(),
        at: s.at.clone(),
        time_zone: s.time_zone.clone(),
    };
    ChannelRequest {
        name: d.name.clone(),
        kind: d.kind.clone(),
        url: value(&d.url),
        secret: value(&d.secret),
        recipients: d.recipients.clone(),
        events: d.events.clone(),
        services: d.services.clone(),
        severities: d.severities.clone(),
        major: d.major,
        tenants: d.tenants.clone(),
        owner: d.owner.clone(),
        batch_minutes: d.batch_minutes,
        quiet: d.quiet.as_ref().map(|q| QuietRequest {
            from: q.from.clone(),
            to: q.to.clone(),
            time_zone: q.time_zone.clone(),
            urgent_severities: q.urgent_severities.clone(),
            urgent_major: q.urgent_major,
        }),
        digest: d.digest.as_ref().map(schedule),
        review: d.review.as_ref().map(schedule),
        report: d
            .report
            .as_ref()
            .map(|r| crate::outbox::channel::ReportRequest {
                every: r.every.clone(),
                at: r.at.clone(),
                time_zone: r.time_zone.clone(),
            }),
        allow_private: d.allow_private,
        // GLPI's application token is a secret of its own, beside `connector`
        connector: match (d.connector.as_ref(), value(&d.app_token)) {
            (Some(c), app_token) => Some(ConnectorRequest {
                app_token,
                ..connector_request(c)
            }),
            (None, Some(app_token)) => Some(ConnectorRequest {
                app_token: Some(app_token),
                ..ConnectorRequest::default()
            }),
            (None, None) => None,
        },
    }
}

/// A declared connector's settings as the API's request.
fn connector_request(c: &changedesk_core::config::DeclaredConnector) -> ConnectorRequest {
    ConnectorRequest {
        user: c.user.clone(),
        auth: c.auth.clone(),
        model: c.model.clone(),
        template: c.template.clone(),
        project: c.project.clone(),
        issue_type: c.issue_type.clone(),
        incident_issue_type: c.incident_issue_type.clone(),
        entities_id: c.entities_id,
        api: c.api.clone(),
        app_token: None,
        follow: c.follow.as_ref().map(|f| FollowRequest {
            in_progress: f.in_progress.clone(),
            done: f.done.clone(),
            canceled: f.canceled.clone(),
            close_ticket: Some(f.close_ticket),
        }),
        raise_required: Some(c.raise_required),
        incidents: Some(c.incidents),
        tenant: c.tenant.clone(),
        login: c.login.clone(),
        plan: c.plan.clone(),
        buckets: c.buckets.clone(),
        bucket: c.bucket.clone(),
    }
}

/// A digest of what the file says of a channel, its URL and secret aside.
pub fn declaration_digest(c: &NewChannel) -> String {
    let text = serde_json::json!({
        "kind": c.kind,
        "filter": c.filter,
        "settings": c.settings,
        "allow_private": c.allow_private,
    })
    .to_string();
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `a` and `b` seal the same text for `context` (both empty: no
/// URL). A value that no longer opens (its key is gone) is not the same.
fn same_sealed(ring: &Keyring, a: Option<&str>, b: Option<&str>, context: &str) -> bool {
    match (a.filter(|s| !s.is_empty()), b.filter(|s| !s.is_empty())) {
        (None, None) => true,
        (Some(a), Some(b)) => match (ring.open(a, context), ring.open(b, context)) {
            (Ok(a), Ok(b)) => a.expose_secret() == b.expose_secret(),
            _ => false,
        },
        _ => false,
    }
}

/// Checks every declaration against the database's tenants and owners, as
/// the API would: each channel to store, or every problem found.
async fn check_all(
    store: &Store,
    ring: Option<&Keyring>,
    d: &Declarations<'_>,
    existing: &[ChannelRow],
    actor: &str,
    at: Timestamp,
) -> Result<Vec<NewChannel>, DeclareError> {
    let mut known = store.tenant_names().await?;
    known.extend(d.configured_tenants.iter().cloned());
    let owners: Vec<String> = store.owners().await?.into_iter().map(|o| o.name).collect();
    // an e-mail channel seals nothing: it checks without a key
    let ephemeral;
    let ring = match ring {
        Some(r) => Some(r),
        None if d
            .channels
            .iter()
            .all(|c| c.url.is_none() && c.secret.is_none()) =>
        {
            ephemeral = changedesk_secrets::Key::generate()
                .map(|(k, _)| Keyring::new(k, []))
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            Some(&ephemeral)
        }
        None => None,
    };
    let others = existing
        .iter()
        .filter(|r| {
            !d.channels
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&r.name))
        })
        .count();
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut checked = Vec::with_capacity(d.channels.len());
    for (i, c) in d.channels.iter().enumerate() {
        let Some(ring) = ring else {
            let field = if c.url.is_some() { "url" } else { "secret" };
            errors.push(c.error(
                field,
                "a channel's URL and signing secret are kept sealed, and no secret key is configured: \
                 set CHANGEDESK_SECRET_KEY or [server] secret_key_file",
            ));
            continue;
        };
        if others + i >= MAX_CHANNELS {
            errors.push(c.error(
                "name",
                format!("changedesk keeps at most {MAX_CHANNELS} channels; remove one first"),
            ));
            continue;
        }
        let unread = [("url", &c.url), ("secret", &c.secret)]
            .into_iter()
            .find(|(_, s)| s.as_ref().is_some_and(|s| s.value.is_none()));
        if let Some((field, _)) = unread {
            errors.push(c.error(field, "was not read (the configuration was only checked)"));
            continue;
        }
        match check_channel(ring, &request_of(c), &known, &owners, actor, at) {
            Ok((_, Some(_))) => errors.push(c.error(
                "secret",
                "a webhook declared in the file needs its signing secret (`secret_file`, `secret_env` or `secret`)",
            )),
            Ok((channel, None)) => checked.push(channel),
            Err(e) => errors.push(c.error(e.field, e.message)),
        }
    }
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(DeclareError::Config(ConfigErrors {
            errors,
            warnings: Vec::new(),
        }))
    }
}

/// What to change so that the database's channels are `d`'s.
fn plan(
    ring: Option<&Keyring>,
    file: &str,
    checked: Vec<NewChannel>,
    existing: &[ChannelRow],
) -> Vec<DeclaredChange> {
    let declared: Vec<String> = checked.iter().map(|c| c.name.clone()).collect();
    let mut changes = Vec::new();
    for mut c in checked {
        let digest = declaration_digest(&c);
        let Some(row) = existing.iter().find(|r| r.name == c.name) else {
            changes.push(DeclaredChange::Add { channel: c, digest });
            continue;
        };
        let (same_url, same_secret) = match ring {
            Some(ring) => (
                same_sealed(
                    ring,
                    Some(&row.url_sealed),
                    Some(&c.url_sealed),
                    &url_context(&c.name),
                ),
                same_sealed(
                    ring,
                    row.secret_sealed.as_deref(),
                    c.secret_sealed.as_deref(),
                    &secret_context(&c.name),
                ),
            ),
            // e-mail only: nothing sealed on either side
            None => (
                row.url_sealed.is_empty() && c.url_sealed.is_empty(),
                row.secret_sealed.is_none() && c.secret_sealed.is_none(),
            ),
        };
        if row.declared_in.as_deref() == Some(file)
            && row.declared_digest.as_deref() == Some(digest.as_str())
            && same_url
            && same_secret
        {
            continue;
        }
        // an unchanged secret keeps its sealed text (a new seal differs)
        if same_url {
            c.url_sealed = row.url_sealed.clone();
        }
        if same_secret {
            c.secret_sealed = row.secret_sealed.clone();
        }
        changes.push(DeclaredChange::Update {
            id: row.id,
            channel: c,
            digest,
        });
    }
    for row in existing.iter().filter(|r| r.declared_in.is_some()) {
        if !declared.contains(&row.name) {
            changes.push(DeclaredChange::Undeclare { id: row.id });
        }
    }
    changes
}

/// Makes the database's channels those `d` declares (see the module's
/// documentation), audited as `actor`. Nothing is written when nothing
/// changed. A declaration that does not check changes nothing at all.
pub async fn apply_declared(
    store: &Store,
    ring: Option<&Keyring>,
    d: &Declarations<'_>,
    actor: &str,
    at: Timestamp,
) -> Result<DeclaredSummary, DeclareError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let existing = store.channels().await?;
        if d.channels.is_empty() && existing.iter().all(|r| r.declared_in.is_none()) {
            return Ok(DeclaredSummary::default());
        }
        let checked = check_all(store, ring, d, &existing, actor, at).await?;
        let changes = plan(ring, d.file, checked, &existing);
        if changes.is_empty() {
            return Ok(DeclaredSummary::default());
        }
        match store
            .apply_declared_channels(d.file, &changes, actor, at)
            .await
        {
            // someone changed the channels meanwhile: once more
            Err(StoreError::Conflict(_)) if attempt < 2 => continue,
            r => return Ok(r?),
        }
    }
}
