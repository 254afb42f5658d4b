//! Tickets in change-control systems (migration 0025): what a connector
//! (a channel of kind `servicenow`, `jira` or `glpi`) raised for a post,
//! kept once per connector and correlation id, with its number, link and
//! state as last read. The first time a ticket is recorded, the post's
//! work item gets a decision log entry by the connector
//! (`connector:NAME`, `change_raised`). The operations are in
//! `ticket_ops.rs`, compiled for each backend.

use changedesk_core::Timestamp;
use changedesk_core::change_control::{TicketKind, TicketProgress, TicketScope};
use serde::Serialize;

use super::{Backend, Result, Store, postgres, sqlite};

/// Who holds the lock on raising a ticket ([`crate::Store::lock_ticket`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketLock {
    /// The asker holds it.
    Held,
    /// The asker holds it, taken over from a holder that never let go: a
    /// raise cut short (a crash), whose ticket may exist unseen.
    TakenOver,
    /// Another holds it.
    Busy,
}

impl TicketLock {
    /// Whether the asker holds it.
    pub fn is_held(self) -> bool {
        self != TicketLock::Busy
    }
}

/// A ticket a connector raised (or found raised) for a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// The connector's channel.
    pub channel_id: i64,
    /// Its name (kept when the connector is removed).
    pub connector: String,
    pub post_id: String,
    /// Whom it is for.
    pub scope: TicketScope,
    /// changedesk's id for it, kept on the other side.
    pub correlation_id: String,
    /// The system's id (sys_id, issue key, change id).
    pub external_id: String,
    /// Its number for people.
    pub number: String,
    pub url: String,
    /// Its state as the system names it.
    pub state: String,
    pub progress: TicketProgress,
    /// A change request, or an incident (whose `post_id` is the
    /// incident's id).
    pub kind: TicketKind,
    pub at: Timestamp,
}

/// A ticket as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketRow {
    pub connector: String,
    pub post_id: String,
    /// `all`, `tenant:NAME` or `group:NAME`.
    pub scope: String,
    pub correlation_id: String,
    pub external_id: String,
    pub number: String,
    pub url: String,
    pub state: String,
    pub progress: TicketProgress,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When it was last read back from its system (`None`: not yet).
    pub checked_at: Option<Timestamp>,
    /// Why the last read failed, if it did.
    pub read_error: Option<String>,
    pub kind: TicketKind,
    /// The item closed here and the connector was asked to close it.
    pub close_asked: bool,
}

/// A ticket whose post was revised since it last heard of it
/// (`Store::tickets_behind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketBehind {
    pub ticket: FollowedTicket,
    /// The post's revision it last heard of.
    pub noted_revision: i64,
    /// The post's revision now.
    pub revision: i64,
}

/// What a connector was asked of a ticket (`Store::record_ticket_asks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketAsk {
    pub connector: String,
    pub correlation_id: String,
    /// Told of the post up to this revision.
    pub noted_revision: Option<i64>,
    /// Asked to close it.
    pub close: bool,
}

/// A ticket to read back (`Store::tickets_to_follow`): not done nor
/// canceled, its connector enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedTicket {
    /// Its connector's channel.
    pub channel_id: i64,
    pub ticket: TicketRow,
}

impl Store {
    /// Records `t`: a new ticket (with a decision log entry on the post's
    /// work item, if it has one, by the connector), or an update of the
    /// one kept under its connector and correlation id (its number, link
    /// and state). Whether it was new.
    pub async fn record_ticket(&self, t: &NewTicket) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.record_ticket(writer, t))
    }

    /// Takes the lock on raising the ticket `correlation_id` of
    /// `connector` for `holder` (a delivery's message id) until `until`:
    /// whether it is `holder`'s now, and whether it was taken over from a
    /// holder that never let go (past its time: a raise cut short, whose
    /// ticket may exist unseen). Two deliveries of the same request never
    /// raise it at once, so the look-up each makes before creating sees
    /// the other's ticket.
    pub async fn lock_ticket(
        &self,
        connector: &str,
        correlation_id: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<crate::TicketLock> {
        let writer = &*self.writer;
        dispatch_write!(self.lock_ticket(writer, connector, correlation_id, holder, now, until))
    }

    /// Lets go of `holder`'s lock (none held: nothing happens).
    pub async fn unlock_ticket(
        &self,
        connector: &str,
        correlation_id: &str,
        holder: &str,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.unlock_ticket(writer, connector, correlation_id, holder))
    }

    /// At most `limit` tickets to read back from their systems: those not
    /// done nor canceled whose connector is enabled, the least recently
    /// read first. A ticket belongs to its connector by name: a connector
    /// removed and added again (new credentials) follows its tickets.
    pub async fn tickets_to_follow(&self, limit: i64) -> Result<Vec<FollowedTicket>> {
        dispatch!(self.tickets_to_follow(limit))
    }

    /// Notes that the ticket `correlation_id` of `connector` was read at
    /// `at`, and why the read failed (`None`: it did not). Bookkeeping: a
    /// ticket's state is recorded by [`Store::record_ticket`].
    pub async fn ticket_checked(
        &self,
        connector: &str,
        correlation_id: &str,
        at: Timestamp,
        error: Option<&str>,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.ticket_checked(writer, connector, correlation_id, at, error))
    }

    /// The ticket `correlation_id` of `connector`, if it was raised.
    pub async fn ticket(&self, connector: &str, correlation_id: &str) -> Result<Option<TicketRow>> {
        dispatch!(self.ticket(connector, correlation_id))
    }

    /// At most `limit` tickets (not done nor canceled, their connector
    /// enabled) whose post has a revision they have not heard of.
    pub async fn tickets_behind(&self, limit: i64) -> Result<Vec<TicketBehind>> {
        dispatch!(self.tickets_behind(limit))
    }

    /// Records the outbox events that ask connectors something of their
    /// tickets (a note of a post's revision, a close), and marks each ticket
    /// as asked, in one transaction: each is asked once.
    pub async fn record_ticket_asks(
        &self,
        events: &[changedesk_core::notify::Event],
        marks: &[TicketAsk],
        at: Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.record_ticket_asks(writer, events, marks, at))
    }

    /// The tickets raised for a post, oldest first.
    pub async fn tickets_of_post(&self, post_id: &str) -> Result<Vec<TicketRow>> {
        dispatch!(self.tickets_of_post(post_id))
    }
}
