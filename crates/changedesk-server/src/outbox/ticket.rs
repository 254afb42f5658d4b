//! A connector's deliveries (a channel of kind `servicenow`, `jira`,
//! `glpi` or `planner`): a `change.revised` event noted on the post's ticket (a work
//! note, a comment, a follow-up: what Microsoft moved); a
//! `change.requested` event raised as a ticket in the
//! connector's system **once** per correlation id (the post and whom it is
//! for: the system's client looks the id up before every attempt, so a
//! retry, a lease taken over after a crash, or a create the system
//! committed without answering never makes a second ticket), then linked
//! to the post's work item (`Store::record_ticket`, with a decision log
//! entry by the connector the first time); "send a test" checks the
//! connection. What the system answers decides the outcome: throttling, no
//! answer and 5xx are retried on the outbox's schedule (honouring
//! `Retry-After`), refused credentials and other 4xx are dead at once.

use changedesk_connectors::ConnectorError;
use changedesk_connectors::target::{Credentials, IncidentRequest, Target, TicketRequest, Tuning};
use changedesk_core::Timestamp;
use changedesk_core::change_control::{TicketKind, TicketScope, TicketText, correlation_id};
use changedesk_core::notify::{IncidentRef, PostRef};
use changedesk_notify::SendOutcome;
use changedesk_store::{ChannelRow, NewTicket, Store};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// What a connector reads of an event's payload (`notify::payload`).
#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Data,
}

#[derive(Deserialize, Default)]
struct Data {
    #[serde(default)]
    post: Option<PostRef>,
    #[serde(default)]
    ticket_scope: Option<TicketScope>,
    #[serde(default)]
    links: Links,
    #[serde(default)]
    changes: Vec<String>,
    #[serde(default)]
    incident: Option<IncidentRef>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    tenants: Vec<String>,
    #[serde(default)]
    owner: Option<String>,
}

#[derive(Deserialize, Default)]
struct Links {
    #[serde(default)]
    changedesk: Option<String>,
    #[serde(default)]
    admin_center: Option<String>,
}

/// A post's date to act by, else its rollout's start: `YYYY-MM-DD`.
fn due_of(post: &PostRef) -> Option<String> {
    post.act_by
        .or(post.start)
        .map(|t| t.to_canonical().chars().take(10).collect())
}

fn failed(error: String) -> SendOutcome {
    SendOutcome::Failed {
        status: None,
        error,
    }
}

/// Who raises a ticket, from when until when (`Store::lock_ticket`): the
/// delivery (its message id), on the outbox's clock, for its lease.
pub(super) struct Hold<'a> {
    pub(super) holder: &'a str,
    pub(super) now: Timestamp,
    pub(super) until: Timestamp,
}

/// How long a delivery that found its ticket being raised by another waits.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Sends the delivery `body` of `channel` (a connector) whose sealed
/// credentials opened to `secret`, holding the ticket's lock as `hold`
/// says while it raises it. `Err`: the archive could not be read or
/// written (retried).
pub(super) async fn send(
    store: &Store,
    channel: &ChannelRow,
    secret: &SecretString,
    body: &str,
    tuning: Tuning,
    hold: &Hold<'_>,
) -> Result<SendOutcome, String> {
    let target = match target_of(channel, secret, tuning) {
        Ok(t) => t,
        Err(e) => return Ok(failed(e)),
    };
    let payload: Payload = match serde_json::from_str(body) {
        Ok(p) => p,
        Err(e) => return Ok(failed(format!("the stored event is not readable: {e}"))),
    };
    match payload.kind.as_str() {
        "changedesk.test" => Ok(match target.test_connection().await {
            Ok(()) => SendOutcome::Delivered { status: 200 },
            Err(e) => outcome_of(&e),
        }),
        "change.requested" => {
            let Some(post) = payload.data.post else {
                return Ok(failed("the change request names no post".into()));
            };
            let scope = payload.data.ticket_scope.unwrap_or(TicketScope::All);
            let correlation = match correlation_id(&post.id, &scope) {
                Ok(c) => c,
                Err(e) => return Ok(failed(e)),
            };
            let links = payload.data.links;
            let link = links
                .changedesk
                .or(links.admin_center)
                .unwrap_or_else(|| changedesk_core::notify::admin_center_url(&post.id));
            let text = TicketText::for_post(
                &post.id,
                &post.title,
                &post.services,
                post.act_by,
                post.start,
                &link,
            );
            let due = due_of(&post);
            // Planner assigns the item's owner by their Entra object id
            let assignees: Vec<String> = match &payload.data.owner {
                Some(name) if channel.kind == "planner" => store
                    .owners()
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .find(|o| o.is_named(name))
                    .and_then(|o| o.entra_id)
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            };
            let checklist =
                changedesk_core::change_control::planner_checklist(post.act_by, post.start);
            // one raise at a time per ticket, whichever worker or replica:
            // the look-up before the create then sees the other's ticket
            let maybe_made = match lock(store, channel, &correlation, hold).await? {
                Ok(taken_over) => taken_over,
                Err(busy) => return Ok(busy),
            };
            let request = TicketRequest {
                maybe_made,
                post_id: &post.id,
                correlation_id: &correlation,
                text: &text,
                link: &link,
                due,
                services: &post.services,
                assignees: &assignees,
                checklist: &checklist,
            };
            let raised = target.raise(&request).await;
            // a crash here leaves a ticket on the other side that the
            // archive does not know: the delivery is taken over after its
            // lease, the lock too, and the look-up finds the ticket
            changedesk_store::failpoint::hit("ticket.raised");
            let recorded = match raised {
                Ok((ticket, created)) => store
                    .record_ticket(&new_ticket(
                        channel,
                        Kept {
                            id: &post.id,
                            scope,
                            correlation: &correlation,
                            kind: TicketKind::Change,
                            at: Timestamp::now_utc(),
                        },
                        &ticket,
                    ))
                    .await
                    .map(|_| SendOutcome::Delivered {
                        status: if created { 201 } else { 200 },
                    })
                    .map_err(|e| format!("the ticket was raised but not recorded: {e}")),
                Err(e) => Ok(outcome_of(&e)),
            };
            changedesk_store::failpoint::hit("ticket.recorded");
            store
                .unlock_ticket(&lock_key(channel), &correlation, hold.holder)
                .await
                .map_err(|e| e.to_string())?;
            recorded
        }
        "change.revised" => {
            let (post, _, ticket) = match ticket_of(
                store,
                channel,
                payload.data.post,
                payload.data.ticket_scope,
                "note the revision on",
            )
            .await?
            {
                Ok(t) => t,
                Err(outcome) => return Ok(outcome),
            };
            if payload.data.changes.is_empty() {
                return Ok(failed("the revision says nothing to note".into()));
            }
            // a note is not idempotent: a retry after no answer may add it
            // twice (the systems keep every note), never lose it
            let due = due_of(&post);
            Ok(
                match target
                    .revise(&ticket.external_id, &payload.data.changes, due.as_deref())
                    .await
                {
                    Ok(()) => SendOutcome::Delivered { status: 200 },
                    Err(e) => outcome_of(&e),
                },
            )
        }
        "change.closed" => {
            let (post, scope, kept) = match ticket_of(
                store,
                channel,
                payload.data.post,
                payload.data.ticket_scope,
                "close",
            )
            .await?
            {
                Ok(t) => t,
                Err(outcome) => return Ok(outcome),
            };
            let cancel = payload.data.reason.as_deref() == Some("cancel");
            match target
                .close(&kept.external_id, cancel, &payload.data.changes)
                .await
            {
                Ok(ticket) => {
                    store
                        .record_ticket(&new_ticket(
                            channel,
                            Kept {
                                id: &post.id,
                                scope,
                                correlation: &kept.correlation_id,
                                kind: TicketKind::Change,
                                at: Timestamp::now_utc(),
                            },
                            &ticket,
                        ))
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(SendOutcome::Delivered { status: 200 })
                }
                Err(e) => Ok(outcome_of(&e)),
            }
        }
        kind @ ("incident.new" | "incident.updated" | "incident.resolved") => {
            incident(store, channel, &target, kind, payload.data, hold).await
        }
        other => Ok(failed(format!(
            "a connector takes change requests, revisions, incidents and tests, not `{other}` events"
        ))),
    }
}

/// The post, scope and kept ticket an event about a raised ticket names
/// (`Err`: the outcome when it names none, to `what` — the delivery's
/// failure); `Err` outside: the archive could not be read.
async fn ticket_of(
    store: &Store,
    channel: &ChannelRow,
    post: Option<PostRef>,
    scope: Option<TicketScope>,
    what: &str,
) -> Result<Result<(PostRef, TicketScope, changedesk_store::TicketRow), SendOutcome>, String> {
    let Some(post) = post else {
        return Ok(Err(failed("the event names no post".into())));
    };
    let scope = scope.unwrap_or(TicketScope::All);
    let correlation = match correlation_id(&post.id, &scope) {
        Ok(c) => c,
        Err(e) => return Ok(Err(failed(e))),
    };
    match store
        .ticket(&channel.name, &correlation)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(t) => Ok(Ok((post, scope, t))),
        None => Ok(Err(failed(format!(
            "{} holds no ticket {correlation} to {what}",
            channel.name
        )))),
    }
}

/// What a ticket's lock is taken on with its correlation id: the system
/// and instance the connector raises it in (`servicenow:https://…`), so
/// that two connectors of one instance (a change board per workload) never
/// raise the same correlation id at once, each missing the other's in its
/// look-up; the connector's name without settings.
fn lock_key(channel: &ChannelRow) -> String {
    match &channel.settings.connector {
        Some(t) => format!(
            "{}:{}",
            t.system(),
            t.url().trim().trim_end_matches('/').to_ascii_lowercase()
        ),
        None => channel.name.clone(),
    }
}

/// Takes the lock on the ticket `correlation` of `channel` for `hold`:
/// `Err(outcome)` when another delivery holds it (tried again shortly),
/// else whether it was taken over from a raise cut short (its ticket may
/// exist unseen: the connector waits for its system's search to settle
/// before creating).
async fn lock(
    store: &Store,
    channel: &ChannelRow,
    correlation: &str,
    hold: &Hold<'_>,
) -> Result<Result<bool, SendOutcome>, String> {
    let locked = store
        .lock_ticket(
            &lock_key(channel),
            correlation,
            hold.holder,
            hold.now,
            hold.until,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(match locked {
        changedesk_store::TicketLock::Busy => Err(SendOutcome::Retry {
            status: None,
            retry_after: Some(BUSY_WAIT),
            error: "another delivery is working on this ticket now".into(),
        }),
        changedesk_store::TicketLock::Held => Ok(false),
        changedesk_store::TicketLock::TakenOver => Ok(true),
    })
}

/// The most characters of Microsoft's latest update copied into a note.
const UPDATE_CHARS: usize = 4_000;

/// A Service Health incident's event for a connector that takes them
/// (`ChannelSettings::incidents`): the service desk's incident is opened
/// once per Microsoft incident (whichever of its events comes first: the
/// outbox sends side by side, so `updated` may come before `new`),
/// Microsoft's update is added as a work note, and its resolution resolves
/// it. Held under the ticket's lock, as a change request is.
async fn incident(
    store: &Store,
    channel: &ChannelRow,
    target: &Target,
    kind: &str,
    data: Data,
    hold: &Hold<'_>,
) -> Result<SendOutcome, String> {
    let Some(incident) = data.incident else {
        return Ok(failed("the event names no incident".into()));
    };
    if !target.takes_incidents() {
        return Ok(failed(
            "this connector takes no Service Health incidents (a Jira one needs an incident issue type)".into(),
        ));
    }
    let correlation = match correlation_id(&incident.id, &TicketScope::All) {
        Ok(c) => c,
        Err(e) => return Ok(failed(e)),
    };
    let maybe_made = match lock(store, channel, &correlation, hold).await? {
        Ok(taken_over) => taken_over,
        Err(busy) => return Ok(busy),
    };
    // Microsoft's latest update, for a note or the resolution (a new
    // incident's text is the event's own)
    let detail = match kind {
        "incident.updated" | "incident.resolved" => store.get_incident(&incident.id).await.ok(),
        _ => None,
    };
    let latest = detail
        .as_ref()
        .and_then(|d| d.posts.iter().max_by_key(|p| p.created))
        .map(|p| {
            changedesk_core::text::clip_chars(
                changedesk_core::diff::body_text(&p.description_html).trim(),
                UPDATE_CHARS,
            )
            .into_owned()
        })
        .filter(|t| !t.is_empty());
    let outcome = async {
        // opened once, whichever event comes first
        let ticket = match store
            .ticket(&channel.name, &correlation)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(t) => t.external_id,
            None => {
                let text = incident_text(&incident, &data.tenants, &data.links);
                let request = IncidentRequest {
                    maybe_made,
                    correlation_id: &correlation,
                    text: &text,
                    impact: if incident.classification == "advisory" {
                        3
                    } else {
                        2
                    },
                };
                let (ticket, _) = match target.raise_incident(&request).await {
                    Ok(t) => t,
                    Err(e) => return Ok(outcome_of(&e)),
                };
                changedesk_store::failpoint::hit("ticket.raised");
                store
                    .record_ticket(&new_ticket(
                        channel,
                        incident_kept(&incident.id, &correlation),
                        &ticket,
                    ))
                    .await
                    .map_err(|e| format!("the incident was opened but not recorded: {e}"))?;
                ticket.id
            }
        };
        let done = match kind {
            "incident.updated" => {
                let mut lines = vec![format!(
                    "Microsoft updated {} ({}, {}):",
                    incident.id, incident.status, incident.impact
                )];
                lines.extend(latest.clone());
                target.note_incident(&ticket, &lines).await.map(|()| None)
            }
            "incident.resolved" => {
                let notes = format!(
                    "Microsoft resolved {} ({}).{}",
                    incident.id,
                    incident.status,
                    latest
                        .as_deref()
                        .map(|t| format!("\n\n{t}"))
                        .unwrap_or_default()
                );
                target.resolve_incident(&ticket, &notes).await.map(Some)
            }
            _ => Ok(None),
        };
        match done {
            Ok(Some(resolved)) => {
                store
                    .record_ticket(&new_ticket(
                        channel,
                        incident_kept(&incident.id, &correlation),
                        &resolved,
                    ))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(SendOutcome::Delivered { status: 200 })
            }
            Ok(None) => Ok(SendOutcome::Delivered { status: 200 }),
            Err(e) => Ok(outcome_of(&e)),
        }
    }
    .await;
    store
        .unlock_ticket(&lock_key(channel), &correlation, hold.holder)
        .await
        .map_err(|e| e.to_string())?;
    outcome
}

/// What `channel` keeps of `ticket`, as its system shows it at `at`: the
/// ticket of kind `kind` for `id` (a post, or an incident) and `scope`,
/// under `correlation`.
pub(super) struct Kept<'a> {
    pub(super) id: &'a str,
    pub(super) scope: TicketScope,
    pub(super) correlation: &'a str,
    pub(super) kind: TicketKind,
    pub(super) at: Timestamp,
}

/// The ticket to record (`Store::record_ticket`) of `channel`, read as
/// `ticket`, kept as `kept` says.
pub(super) fn new_ticket(
    channel: &ChannelRow,
    kept: Kept<'_>,
    ticket: &changedesk_connectors::target::Ticket,
) -> NewTicket {
    NewTicket {
        channel_id: channel.id,
        connector: channel.name.clone(),
        post_id: kept.id.to_owned(),
        scope: kept.scope,
        correlation_id: kept.correlation.to_owned(),
        external_id: ticket.id.clone(),
        number: ticket.number.clone(),
        url: ticket.url.clone(),
        state: ticket.state.clone(),
        progress: ticket.progress,
        kind: kept.kind,
        at: kept.at,
    }
}

/// How an incident's ticket is kept.
fn incident_kept<'a>(id: &'a str, correlation: &'a str) -> Kept<'a> {
    Kept {
        id,
        scope: TicketScope::All,
        correlation,
        kind: TicketKind::Incident,
        at: Timestamp::now_utc(),
    }
}

/// What the service desk's incident says of Microsoft's: its id and
/// title, the service, what it is and since when, the tenants it affects
/// (as many as the channel may know of), and where to read more.
fn incident_text(i: &IncidentRef, tenants: &[String], links: &Links) -> TicketText {
    let summary = changedesk_core::text::clip_chars(
        &format!("[M365 {}] {}", i.id, i.title.trim()),
        changedesk_core::change_control::SUMMARY_CHARS - 1,
    )
    .into_owned();
    let mut paragraphs = vec![format!(
        "Microsoft 365 Service Health {} {}: {}{}.",
        i.classification,
        i.id,
        i.service,
        if i.feature.trim().is_empty() {
            String::new()
        } else {
            format!(" ({})", i.feature.trim())
        }
    )];
    paragraphs.push(format!("Status: {}.", i.status));
    if !i.impact.trim().is_empty() {
        paragraphs.push(format!("Impact: {}", i.impact.trim()));
    }
    if let Some(start) = i.start {
        paragraphs.push(format!("Since {}.", start.human()));
    }
    if !tenants.is_empty() {
        const SHOWN: usize = 50;
        let more = tenants.len().saturating_sub(SHOWN);
        paragraphs.push(format!(
            "Affected tenants ({}): {}{}.",
            tenants.len(),
            tenants
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let link = links
        .changedesk
        .clone()
        .or(links.admin_center.clone())
        .unwrap_or_else(|| changedesk_core::notify::incident_admin_url(&i.id));
    paragraphs.push(format!("Tracked by changedesk: {link}"));
    TicketText {
        summary,
        paragraphs,
    }
}

/// The client of `channel`'s system (a connector) whose sealed
/// credentials opened to `secret`; `Err`: why there is none.
pub(super) fn target_of(
    channel: &ChannelRow,
    secret: &SecretString,
    tuning: Tuning,
) -> Result<Target, String> {
    let settings = channel
        .settings
        .connector
        .as_ref()
        .ok_or("the connector has no settings")?;
    let credentials: Credentials = serde_json::from_str(secret.expose_secret())
        .map_err(|_| "the connector's credentials are not readable".to_owned())?;
    Target::tuned(settings, &credentials, tuning).map_err(|e| e.to_string())
}

/// What the outbox does after a connector's error: throttling, no answer,
/// a 5xx and a conflict are tried again later; refused credentials, a 4xx,
/// an answer that is not the API's and a bad configuration are not.
pub(super) fn outcome_of(e: &ConnectorError) -> SendOutcome {
    let error = e.to_string();
    match e {
        ConnectorError::Throttled(after) => SendOutcome::Retry {
            status: Some(429),
            retry_after: *after,
            error,
        },
        ConnectorError::Transport(_) | ConnectorError::Conflict(_) => SendOutcome::Retry {
            status: None,
            retry_after: None,
            error,
        },
        ConnectorError::Status { status, .. } if *status >= 500 => SendOutcome::Retry {
            status: Some(*status),
            retry_after: None,
            error,
        },
        ConnectorError::Status { status, .. } => SendOutcome::Failed {
            status: Some(*status),
            error,
        },
        ConnectorError::Credentials(_) => SendOutcome::Failed {
            status: Some(401),
            error,
        },
        ConnectorError::Protocol(_) | ConnectorError::Config(_) => failed(error),
    }
}
