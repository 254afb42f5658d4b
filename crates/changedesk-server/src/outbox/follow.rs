//! Tickets followed on the other side (issue 19): each ticket a connector
//! raised that is not done nor canceled is read back from its system, the
//! least recently read first; when it moved, the post's work item follows
//! as the connector's mapping says (`change_control::follow_ticket`: the
//! shared item for a ticket for every tenant, the tenants' own state for a
//! tenant's or a group's), logged with the connector as actor, and the
//! ticket's new state is recorded. The item is saved first: a crash
//! between the two finds the ticket moved again at the next read, and the
//! item there already. What the connector changed here is never sent back
//! (connectors hear only change requests addressed to them).
//!
//! Before reading, each ticket whose post Microsoft revised since it last
//! heard of it is told what moved (`tell_revisions`: a `change.revised`
//! event for its connector, which the outbox delivers as a work note,
//! comment or follow-up).
//!
//! A read that fails is noted on the ticket (`read_error`, shown with it);
//! refused credentials, throttling or no answer end the connector's round
//! (its other tickets are not tried until the next one).

use std::collections::BTreeMap;

use changedesk_connectors::ConnectorError;
use changedesk_connectors::target::Ticket;
use changedesk_core::Timestamp;
use changedesk_core::change_control::{
    TicketMove, TicketProgress, TicketScope, closed_here, follow_ticket, revision_note,
};
use changedesk_core::notify::{Event, EventKind, PostRef};
use changedesk_store::{ChannelRow, FollowedTicket, ItemSave, StoreError, TicketAsk};
use serde::Serialize;

use super::Outbox;
use super::ticket::{Kept, new_ticket, target_of};

/// Tickets read in one round, at most.
pub const FOLLOW_BATCH: i64 = 200;

/// What a round of [`Outbox::follow_tickets`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FollowSummary {
    /// Tickets read back.
    pub read: usize,
    /// Of those, tickets whose state changed on the other side.
    pub moved: usize,
    /// Work items the connectors changed.
    pub items_changed: usize,
    /// Reads that failed (noted on the ticket).
    pub failed: usize,
    /// Items changed here meanwhile: the ticket is read again next round.
    pub conflicts: usize,
    /// Notes asked of connectors: posts Microsoft revised since their
    /// tickets last heard of them.
    pub noted: usize,
    /// Tickets connectors were asked to close: their items closed here.
    pub closes: usize,
}

impl Outbox {
    /// Reads back at most `limit` tickets (the least recently read first)
    /// and makes their items follow them. `Err`: the archive could not be
    /// read or written.
    pub async fn follow_tickets(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<FollowSummary, StoreError> {
        let mut summary = FollowSummary {
            noted: self.tell_revisions(now, limit).await?,
            ..FollowSummary::default()
        };
        let due = self.store.tickets_to_follow(limit).await?;
        if due.is_empty() {
            return Ok(summary);
        }
        let mut by_connector: BTreeMap<i64, Vec<FollowedTicket>> = BTreeMap::new();
        for t in due {
            by_connector.entry(t.channel_id).or_default().push(t);
        }
        let channels = self.store.channels().await?;
        for (channel_id, tickets) in by_connector {
            let Some(channel) = channels.iter().find(|c| c.id == channel_id) else {
                continue;
            };
            let target = self
                .open_secret(channel)
                .and_then(|secret| target_of(channel, &secret, self.connector_tuning));
            let target = match target {
                Ok(t) => t,
                Err(e) => {
                    for t in &tickets {
                        self.note_failed(t, now, &e, &mut summary).await?;
                    }
                    continue;
                }
            };
            let mut stop: Option<String> = None;
            for t in &tickets {
                if let Some(e) = &stop {
                    self.note_failed(t, now, e, &mut summary).await?;
                    continue;
                }
                match target.read(&t.ticket.external_id).await {
                    Ok(read) => {
                        summary.read += 1;
                        self.follow_one(channel, t, read, now, &mut summary).await?;
                    }
                    Err(e) => {
                        let text = e.to_string();
                        if matches!(
                            e,
                            ConnectorError::Credentials(_)
                                | ConnectorError::Throttled(_)
                                | ConnectorError::Transport(_)
                        ) {
                            tracing::warn!(connector = %channel.name, error = %text,
                                "reading tickets back stopped for this round");
                            stop = Some(text.clone());
                        }
                        self.note_failed(t, now, &text, &mut summary).await?;
                    }
                }
            }
        }
        Ok(summary)
    }

    /// Asks each connector holding a ticket (not done nor canceled) for a
    /// post Microsoft revised since the ticket last heard of it to add a
    /// note saying what moved: a `change.revised` event addressed to the
    /// connector, delivered by the outbox (retried, dead-lettered, in the
    /// delivery log like any other), recorded with the ticket's new
    /// watermark in one transaction so each revision is told once. At most
    /// `limit` tickets; how many notes were asked for.
    async fn tell_revisions(&self, now: Timestamp, limit: i64) -> Result<usize, StoreError> {
        let behind = self.store.tickets_behind(limit).await?;
        if behind.is_empty() {
            return Ok(0);
        }
        let mut events = Vec::new();
        let mut marks = Vec::new();
        let mut posts: BTreeMap<String, changedesk_store::PostDetail> = BTreeMap::new();
        for b in behind {
            let t = &b.ticket.ticket;
            let post = match posts.entry(t.post_id.clone()) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(self.store.get_message(&t.post_id).await?)
                }
            };
            let changes: Vec<changedesk_core::diff::FieldChange> = post
                .revisions
                .iter()
                .filter(|r| r.revision > b.noted_revision && r.revision <= b.revision)
                .flat_map(|r| r.changes.iter().cloned())
                .collect();
            let lines = revision_note(&t.post_id, b.revision, &changes);
            if !lines.is_empty() {
                events.push(Event {
                    kind: EventKind::ChangeRevised,
                    at: now,
                    post: Some(PostRef::of(&post.content)),
                    incident: None,
                    tenants: Vec::new(),
                    owner: None,
                    changes: lines,
                    reason: None,
                    target: Some(t.connector.clone()),
                    ticket_scope: Some(TicketScope::parse(&t.scope).map_err(StoreError::Invalid)?),
                    moves: Vec::new(),
                });
            }
            marks.push(TicketAsk {
                connector: t.connector.clone(),
                correlation_id: t.correlation_id.clone(),
                noted_revision: Some(b.revision),
                close: false,
            });
        }
        let told = events.len();
        self.store.record_ticket_asks(&events, &marks, now).await?;
        Ok(told)
    }

    async fn note_failed(
        &self,
        t: &FollowedTicket,
        now: Timestamp,
        error: &str,
        summary: &mut FollowSummary,
    ) -> Result<(), StoreError> {
        summary.failed += 1;
        self.store
            .ticket_checked(
                &t.ticket.connector,
                &t.ticket.correlation_id,
                now,
                Some(error),
            )
            .await
    }

    /// The ticket `t` as `read` now: its item follows when it moved, then
    /// its new state is recorded.
    async fn follow_one(
        &self,
        connector: &ChannelRow,
        t: &FollowedTicket,
        read: Ticket,
        now: Timestamp,
        summary: &mut FollowSummary,
    ) -> Result<(), StoreError> {
        let kept = &t.ticket;
        let moved = read.progress != kept.progress || read.state != kept.state;
        if moved {
            summary.moved += 1;
            match self.move_item(connector, kept, &read, now).await? {
                Some(true) => summary.items_changed += 1,
                Some(false) => {}
                None => {
                    // changed here meanwhile: read again next round
                    summary.conflicts += 1;
                    return Ok(());
                }
            }
        }
        if self.ask_close(connector, kept, &read, now).await? {
            summary.closes += 1;
        }
        if moved || read.number != kept.number || read.url != kept.url {
            let scope = TicketScope::parse(&kept.scope).map_err(StoreError::Invalid)?;
            self.store
                .record_ticket(&new_ticket(
                    connector,
                    Kept {
                        id: &kept.post_id,
                        scope,
                        correlation: &kept.correlation_id,
                        kind: kept.kind,
                        at: now,
                    },
                    &read,
                ))
                .await?;
        }
        self.store
            .ticket_checked(&kept.connector, &kept.correlation_id, now, None)
            .await
    }

    /// Whom `kept` is for, and the tenants that means (`None`: every
    /// tenant; a tenant's or a group's that see the post).
    async fn scope_of(
        &self,
        kept: &changedesk_store::TicketRow,
    ) -> Result<(TicketScope, Option<Vec<String>>), StoreError> {
        let scope = TicketScope::parse(&kept.scope).map_err(StoreError::Invalid)?;
        let tenants: Option<Vec<String>> = match &scope {
            TicketScope::All => None,
            TicketScope::Tenant(name) => {
                let seeing = self.store.post_tenant_names(&kept.post_id).await?;
                Some(seeing.into_iter().filter(|t| t == name).collect())
            }
            TicketScope::Group(name) => {
                let groups = self.store.groups().await?;
                let seeing = self.store.post_tenant_names(&kept.post_id).await?;
                Some(match changedesk_core::triage::find_group(&groups, name) {
                    Some(g) => seeing.into_iter().filter(|t| g.contains(t)).collect(),
                    None => Vec::new(),
                })
            }
        };
        Ok((scope, tenants))
    }

    /// Asks `connector` to close the ticket `kept` (still open there, as
    /// `read`) when its item closed here for every tenant it is for and the
    /// connector's mapping says so: a `change.closed` event, recorded with
    /// the ticket's mark so it is asked once. Whether it was asked.
    async fn ask_close(
        &self,
        connector: &ChannelRow,
        kept: &changedesk_store::TicketRow,
        read: &Ticket,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mapping = connector.settings.follow.unwrap_or_default();
        let open_there = matches!(
            read.progress,
            TicketProgress::Open | TicketProgress::InProgress
        );
        if !mapping.close_ticket || kept.close_asked || !open_there {
            return Ok(false);
        }
        let Some(stored) = self.store.work_item(&kept.post_id).await? else {
            return Ok(false);
        };
        let (scope, tenants) = self.scope_of(kept).await?;
        let Some(cancel) = closed_here(&stored.item, tenants.as_deref()) else {
            return Ok(false);
        };
        let post = self.store.get_message(&kept.post_id).await?;
        let how = match (cancel, stored.item.decision) {
            (true, _) => "dismissed (not relevant)".to_owned(),
            (false, Some(d)) if tenants.is_none() => format!("done ({d})"),
            (false, _) => "done".to_owned(),
        };
        let event = Event {
            kind: EventKind::ChangeClosed,
            at: now,
            post: Some(PostRef::of(&post.content)),
            incident: None,
            tenants: Vec::new(),
            owner: stored.item.assignee.clone(),
            changes: vec![format!(
                "The work item of {} was closed in changedesk for {}: {how}.",
                kept.post_id,
                scope.as_text()
            )],
            reason: Some(if cancel { "cancel" } else { "close" }.to_owned()),
            target: Some(connector.name.clone()),
            ticket_scope: Some(scope),
            moves: Vec::new(),
        };
        self.store
            .record_ticket_asks(
                std::slice::from_ref(&event),
                &[TicketAsk {
                    connector: kept.connector.clone(),
                    correlation_id: kept.correlation_id.clone(),
                    noted_revision: None,
                    close: true,
                }],
                now,
            )
            .await?;
        Ok(true)
    }

    /// Makes the work item of `kept`'s post follow its ticket, now `read`,
    /// as `connector`'s mapping says: whether it changed (`None`: it was
    /// changed here meanwhile).
    async fn move_item(
        &self,
        connector: &ChannelRow,
        kept: &changedesk_store::TicketRow,
        read: &Ticket,
        now: Timestamp,
    ) -> Result<Option<bool>, StoreError> {
        let Some(stored) = self.store.work_item(&kept.post_id).await? else {
            return Ok(Some(false));
        };
        let (scope, tenants) = self.scope_of(kept).await?;
        let mapping = connector.settings.follow.unwrap_or_default();
        let moved = TicketMove {
            connector: &connector.name,
            number: &read.number,
            state: &read.state,
            progress: read.progress,
            scope: &scope,
        };
        let t = follow_ticket(&stored.item, tenants.as_deref(), &moved, &mapping, now);
        if t.entries.is_empty() {
            return Ok(Some(false));
        }
        let changed = t.item != stored.item;
        let save = ItemSave {
            item: &t.item,
            expected_version: Some(stored.version),
            evaluated_revision: None,
            entries: &t.entries,
            notify: &[],
            events: &[],
            at: now,
        };
        match self.store.save_work_item(&save).await {
            Ok(_) => Ok(Some(changed)),
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
