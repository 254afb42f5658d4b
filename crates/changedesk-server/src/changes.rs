//! Change requests, whoever asks (the API and web UI for a signed-in
//! person, the CLI): a connector (a channel of kind `servicenow`, `jira`
//! or `glpi`) is asked to raise a ticket for a post's work item, for every
//! tenant, one tenant or a tenant group. The request is the item's
//! `request_change` log entry and a `change.requested` event addressed to
//! the connector, saved together; the outbox delivers it to that connector
//! alone (`outbox::ticket`), which raises the ticket once per correlation
//! id and links it to the item. Who may ask, and for which tenants, is the
//! caller's business (`http::routes::changes` checks a person's rights).

use changedesk_core::Timestamp;
use changedesk_core::change_control::{TicketScope, correlation_id};
use changedesk_core::notify::{ChannelKind, Event, EventKind, PostRef};
use changedesk_core::triage::{Actor, LogAction, LogEntry, LogScope};
use changedesk_store::{ItemSave, Store, StoreError};

use crate::http::error::{ApiError, ApiResult};

/// A change request on its way to its connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    /// The connector's name.
    pub connector: String,
    pub scope: TicketScope,
    /// The ticket's id on the other side: asking again finds it.
    pub correlation_id: String,
}

/// Records `actor`'s request that connector `name` raise a ticket for post
/// `id`'s work item for `scope`, whose tenants (those that see the post)
/// are `tenants`. Refused: a connector that does not exist or is disabled
/// (`404`, `409`), a scope outside a connector limited to some tenants, a
/// post id or name that cannot make a correlation id (`400`), an item
/// changed since `version` (`409`).
#[allow(clippy::too_many_arguments)]
pub async fn request_change(
    store: &Store,
    id: &str,
    name: &str,
    scope: TicketScope,
    tenants: Vec<String>,
    actor: &Actor,
    version: Option<i64>,
    now: Timestamp,
) -> ApiResult<Requested> {
    let name = name.trim().to_ascii_lowercase();
    let connector = store
        .channels()
        .await?
        .into_iter()
        .find(|c| {
            c.name == name
                && c.kind
                    .parse::<ChannelKind>()
                    .is_ok_and(ChannelKind::is_connector)
        })
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no connector is named `{}`",
                changedesk_core::text::clip_chars(&name, 80)
            ))
        })?;
    if !connector.enabled {
        return Err(ApiError::conflict(format!(
            "connector `{name}` is disabled{}",
            connector
                .disabled_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )));
    }
    // a connector limited to some tenants (a customer's own system) raises
    // tickets for those tenants only
    if let Some(limit) = &connector.filter.tenants {
        let outside = tenants.iter().any(|t| !limit.iter().any(|l| l == t));
        if scope == TicketScope::All || outside {
            return Err(ApiError::bad_request(format!(
                "connector `{name}` is for tenants {}: ask for one of them or their group",
                limit.join(", ")
            )));
        }
    }
    let correlation = correlation_id(id, &scope).map_err(ApiError::bad_request)?;
    let stored = store.work_item(id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "{id} has no work item yet (the rules create it at the next sync)"
        ))
    })?;
    if let Some(v) = version
        && v != stored.version
    {
        return Err(ApiError::conflict(format!(
            "{id} was changed since version {v} (it is at version {}); reload and try again",
            stored.version
        )));
    }
    let post = store.get_message(id).await?;
    let (entry, event) = change_request(
        &post.content,
        stored.item.assignee.as_deref(),
        &name,
        &scope,
        tenants,
        actor,
        now,
    );
    let save = ItemSave {
        item: &stored.item,
        expected_version: Some(stored.version),
        evaluated_revision: None,
        entries: std::slice::from_ref(&entry),
        notify: &[],
        events: std::slice::from_ref(&event),
        at: now,
    };
    match store.save_work_item(&save).await {
        Ok(_) => {}
        Err(StoreError::Conflict(m)) => return Err(ApiError::conflict(m)),
        Err(e) => return Err(e.into()),
    }
    Ok(Requested {
        connector: name,
        scope,
        correlation_id: correlation,
    })
}

/// What `actor`'s request that connector `name` raise a ticket for `post`
/// for `scope` (whose tenants are `tenants`) is: the item's
/// `request_change` log entry and the `change.requested` event addressed
/// to the connector, to save with the item.
pub fn change_request(
    post: &changedesk_core::graph::MessageContent,
    owner: Option<&str>,
    name: &str,
    scope: &TicketScope,
    tenants: Vec<String>,
    actor: &Actor,
    now: Timestamp,
) -> (LogEntry, Event) {
    let mut entry = LogEntry::new(now, actor, LogAction::RequestChange).change(
        "change_request",
        None::<String>,
        Some(name.to_owned()),
    );
    entry.reason = Some(format!("for {}", scope.as_text()));
    if let TicketScope::Tenant(t) = scope {
        entry.scope = LogScope::Tenant(t.clone());
    }
    let event = Event {
        kind: EventKind::ChangeRequested,
        at: now,
        post: Some(PostRef::of(post)),
        incident: None,
        tenants,
        owner: owner.map(str::to_owned),
        changes: Vec::new(),
        reason: Some(actor.as_str().into_owned()),
        target: Some(name.to_owned()),
        ticket_scope: Some(scope.clone()),
        moves: Vec::new(),
    };
    (entry, event)
}

/// A connector that raises a change request for every item the rules
/// mark as requiring one (`ChannelSettings::raise_required`): for every
/// tenant, or, limited to some tenants, for each of those that sees the
/// post; limited to some services (its filter's), only for their posts (a
/// Planner plan or a change board per workload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoRaise {
    pub name: String,
    pub tenants: Option<Vec<String>>,
    pub services: Vec<String>,
}

impl AutoRaise {
    /// Whether it raises changes for a post of `services` (no services of
    /// its own: for every post; names compared ignoring case and spaces
    /// around them).
    pub fn takes(&self, services: &[String]) -> bool {
        self.services.is_empty()
            || services.iter().any(|s| {
                self.services
                    .iter()
                    .any(|mine| mine.trim().eq_ignore_ascii_case(s.trim()))
            })
    }
}

/// The enabled connectors that raise change requests by themselves.
pub async fn auto_raisers(store: &Store) -> Result<Vec<AutoRaise>, StoreError> {
    Ok(store
        .channels()
        .await?
        .into_iter()
        .filter(|c| {
            c.enabled
                && c.settings.raise_required
                && c.kind
                    .parse::<ChannelKind>()
                    .is_ok_and(ChannelKind::is_connector)
        })
        .map(|c| AutoRaise {
            name: c.name,
            tenants: c.filter.tenants,
            services: c.filter.services,
        })
        .collect())
}

/// The change requests the rules make for `post`'s item (owned by
/// `owner`, seen by `seeing`) now that `entries` mark it as requiring one
/// (none otherwise): for each of `raisers`, a log entry by the rules and
/// an event, as a person's request would be.
pub fn auto_requests(
    post: &changedesk_core::graph::MessageContent,
    owner: Option<&str>,
    seeing: &[String],
    entries: &[LogEntry],
    raisers: &[AutoRaise],
    now: Timestamp,
) -> (Vec<LogEntry>, Vec<Event>) {
    let required = entries
        .iter()
        .any(|e| e.action == LogAction::RequireChangeRequest && e.new.as_deref() == Some("true"));
    let mut out = (Vec::new(), Vec::new());
    if !required {
        return out;
    }
    for r in raisers.iter().filter(|r| r.takes(&post.services)) {
        let scopes: Vec<(TicketScope, Vec<String>)> = match &r.tenants {
            None => vec![(TicketScope::All, seeing.to_vec())],
            Some(limit) => seeing
                .iter()
                .filter(|t| limit.contains(t))
                .map(|t| (TicketScope::Tenant(t.clone()), vec![t.clone()]))
                .collect(),
        };
        for (scope, tenants) in scopes {
            if let Err(e) = correlation_id(&post.id, &scope) {
                tracing::warn!(post = %post.id, connector = %r.name, error = %e,
                    "the rules' change request cannot name a ticket");
                continue;
            }
            let (entry, event) =
                change_request(post, owner, &r.name, &scope, tenants, &Actor::Rules, now);
            out.0.push(entry);
            out.1.push(event);
        }
    }
    out
}
