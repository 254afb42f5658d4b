//! A connector's deliveries (a channel of kind `servicenow`, `jira` or
//! `glpi`): a `change.revised` event noted on the post's ticket (a work
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
use changedesk_connectors::target::{Credentials, Target, TicketRequest, Tuning};
use changedesk_core::Timestamp;
use changedesk_core::change_control::{TicketScope, TicketText, correlation_id};
use changedesk_core::notify::PostRef;
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
}

#[derive(Deserialize, Default)]
struct Links {
    #[serde(default)]
    changedesk: Option<String>,
    #[serde(default)]
    admin_center: Option<String>,
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
            let due = post
                .act_by
                .or(post.start)
                .map(|t| t.to_canonical().chars().take(10).collect());
            let request = TicketRequest {
                correlation_id: &correlation,
                text: &text,
                link: &link,
                due,
            };
            // one raise at a time per ticket, whichever worker or replica:
            // the look-up before the create then sees the other's ticket
            let locked = store
                .lock_ticket(
                    &channel.name,
                    &correlation,
                    hold.holder,
                    hold.now,
                    hold.until,
                )
                .await
                .map_err(|e| e.to_string())?;
            if !locked {
                return Ok(SendOutcome::Retry {
                    status: None,
                    retry_after: Some(BUSY_WAIT),
                    error: "another delivery is raising this ticket now".into(),
                });
            }
            let raised = target.raise(&request).await;
            // a crash here leaves a ticket on the other side that the
            // archive does not know: the delivery is taken over after its
            // lease, the lock too, and the look-up finds the ticket
            changedesk_store::failpoint::hit("ticket.raised");
            let recorded = match raised {
                Ok((ticket, created)) => store
                    .record_ticket(&NewTicket {
                        channel_id: channel.id,
                        connector: channel.name.clone(),
                        post_id: post.id.clone(),
                        scope,
                        correlation_id: correlation.clone(),
                        external_id: ticket.id,
                        number: ticket.number,
                        url: ticket.url,
                        state: ticket.state,
                        progress: ticket.progress,
                        at: Timestamp::now_utc(),
                    })
                    .await
                    .map(|_| SendOutcome::Delivered {
                        status: if created { 201 } else { 200 },
                    })
                    .map_err(|e| format!("the ticket was raised but not recorded: {e}")),
                Err(e) => Ok(outcome_of(&e)),
            };
            changedesk_store::failpoint::hit("ticket.recorded");
            store
                .unlock_ticket(&channel.name, &correlation, hold.holder)
                .await
                .map_err(|e| e.to_string())?;
            recorded
        }
        "change.revised" => {
            let Some(post) = payload.data.post else {
                return Ok(failed("the revision names no post".into()));
            };
            let scope = payload.data.ticket_scope.unwrap_or(TicketScope::All);
            let correlation = match correlation_id(&post.id, &scope) {
                Ok(c) => c,
                Err(e) => return Ok(failed(e)),
            };
            let Some(ticket) = store
                .ticket(&channel.name, &correlation)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(failed(format!(
                    "{} holds no ticket {correlation} to note the revision on",
                    channel.name
                )));
            };
            if payload.data.changes.is_empty() {
                return Ok(failed("the revision says nothing to note".into()));
            }
            // a note is not idempotent: a retry after no answer may add it
            // twice (the systems keep every note), never lose it
            Ok(
                match target
                    .note(&ticket.external_id, &payload.data.changes)
                    .await
                {
                    Ok(()) => SendOutcome::Delivered { status: 200 },
                    Err(e) => outcome_of(&e),
                },
            )
        }
        other => Ok(failed(format!(
            "a connector takes change requests, revisions and tests, not `{other}` events"
        ))),
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
