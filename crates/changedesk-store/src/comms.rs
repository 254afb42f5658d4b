//! Communications of changes (migration 0034, issue 21 item 4): asked for a
//! post, drafted, approved, sent once through a channel (an outbox
//! delivery), acknowledged by the people of their audience. The operations
//! are in `comms_ops.rs`, compiled for each backend; the rules of their
//! life (`next_state`) and measure are core's `comms`.

use changedesk_core::Timestamp;
use changedesk_core::comms::{Audience, CommsAction, CommsFacts, CommsState, CommsText};

use super::{Backend, Result, Store, StoreError, postgres, sqlite};

/// A communication as kept, with its delivery and acknowledgements.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommsRow {
    pub id: i64,
    pub post_id: String,
    pub state: CommsState,
    pub version: i64,
    /// Whose people it is for (empty: everyone's).
    pub tenants: Vec<String>,
    pub audience: Audience,
    /// The channel it is (to be) sent through, by name; empty: not chosen.
    pub channel: String,
    /// Who writes it (the comms lead).
    pub assignee: Option<String>,
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub updated_by: String,
    pub updated_at: Timestamp,
    pub approved_by: Option<String>,
    pub approved_at: Option<Timestamp>,
    pub sent_by: Option<String>,
    pub sent_at: Option<Timestamp>,
    /// How many people it went to (fixed when sent).
    pub sent_to: Option<u64>,
    /// Its delivery's message id, once sent.
    pub message_id: Option<String>,
    pub text: CommsText,
    /// Its delivery: `pending`, `sending`, `delivered` or `failed`.
    pub delivery_state: Option<String>,
    pub delivered_at: Option<Timestamp>,
    pub delivery_error: Option<String>,
    /// Distinct acknowledgers.
    pub acks: u64,
    /// The post's rollout start (its timeline's, else Graph's).
    pub rollout_start: Option<Timestamp>,
}

impl CommsRow {
    /// What core measures of it.
    pub fn facts(&self) -> CommsFacts {
        CommsFacts {
            id: self.id,
            post_id: self.post_id.clone(),
            state: self.state,
            sent_at: self.sent_at,
            delivered_at: self.delivered_at,
            failed: self.delivery_state.as_deref() == Some("failed"),
            audience: self.sent_to.unwrap_or(0),
            acks: self.acks,
            rollout_start: self.rollout_start,
        }
    }
}

/// A communication to ask for.
#[derive(Debug, Clone)]
pub struct NewComms {
    pub post_id: String,
    pub tenants: Vec<String>,
    pub audience: Audience,
    pub channel: String,
    pub assignee: Option<String>,
    pub text: CommsText,
}

/// A person's change to a communication (each audited).
#[derive(Debug, Clone)]
pub enum CommsChange {
    /// New text, audience and channel (an approved one goes back to draft).
    Edit {
        text: CommsText,
        audience: Audience,
        channel: String,
        assignee: Option<String>,
    },
    Approve,
    Cancel,
}

impl CommsChange {
    pub(crate) fn action(&self) -> CommsAction {
        match self {
            CommsChange::Edit { .. } => CommsAction::Edit,
            CommsChange::Approve => CommsAction::Approve,
            CommsChange::Cancel => CommsAction::Cancel,
        }
    }
}

/// How it is sent: the delivery the send records with it.
#[derive(Debug, Clone)]
pub struct CommsSend {
    pub channel_id: i64,
    pub message_id: String,
    /// The delivery's body (the rendered message).
    pub body: String,
    /// Its event (already dispatched).
    pub event: changedesk_core::notify::Event,
    /// How many people it goes to.
    pub audience: u64,
}

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// Recorded.
    Recorded,
    /// This person had acknowledged already (nothing changes).
    Already,
    /// As many people acknowledged as the audience holds: refused.
    Full,
    /// The communication is not sent (or is unknown).
    NotSent,
}

/// The most communications one page of a list returns.
pub const MAX_COMMS_LIST: i64 = 1000;

/// Which communications a list reads: all by default, newest first.
#[derive(Debug, Clone, Default)]
pub struct CommsQuery {
    /// One post's.
    pub post_id: Option<String>,
    /// Those sent at or after this instant.
    pub sent_since: Option<Timestamp>,
    /// Those in this state.
    pub state: Option<changedesk_core::comms::CommsState>,
    /// Those older than this one (its id: the last of the page before).
    pub before: Option<i64>,
}

impl Store {
    /// Asks for a communication of `new.post_id` (state draft), audited
    /// `comms.request`. By the rules (`actor` `rules`) at most once per post:
    /// `None` when the rules asked before.
    pub async fn create_comms(
        &self,
        new: &NewComms,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<i64>> {
        let writer = &*self.writer;
        dispatch_write!(self.create_comms(writer, new, actor, at))
    }

    /// One communication.
    pub async fn comms(&self, id: i64) -> Result<Option<CommsRow>> {
        dispatch!(self.comms_by_id(id))
    }

    /// One page of the communications `query` names, newest first: at
    /// most `limit` (1 to [`MAX_COMMS_LIST`]); the next page is read
    /// `before` the last one's id.
    pub async fn comms_page(&self, query: &CommsQuery, limit: i64) -> Result<Vec<CommsRow>> {
        let limit = limit.clamp(1, MAX_COMMS_LIST);
        dispatch!(self.comms_page(query, limit))
    }

    /// Every communication `query` names, newest first, read a page at a
    /// time (for the reports: whatever the count, none is left out).
    pub async fn comms_all(&self, query: &CommsQuery) -> Result<Vec<CommsRow>> {
        let mut query = query.clone();
        let mut out: Vec<CommsRow> = Vec::new();
        loop {
            let page = self.comms_page(&query, MAX_COMMS_LIST).await?;
            let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= MAX_COMMS_LIST;
            query.before = page.last().map(|c| c.id);
            out.extend(page);
            if !full || query.before.is_none() {
                return Ok(out);
            }
        }
    }

    /// Applies a person's change to communication `id` at `version` (a
    /// `Conflict` when it moved since; `Invalid` when its state does not
    /// allow it), audited `comms.edit`, `comms.approve` or `comms.cancel`.
    pub async fn change_comms(
        &self,
        id: i64,
        version: i64,
        change: &CommsChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<CommsRow> {
        let writer = &*self.writer;
        dispatch_write!(self.change_comms(writer, id, version, change, actor, at))?;
        self.comms(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("communication {id}")))
    }

    /// Sends approved communication `id` at `version`: its state, sender
    /// and audience, its event and its delivery (due now) in one
    /// transaction, audited `comms.send`.
    pub async fn send_comms(
        &self,
        id: i64,
        version: i64,
        send: &CommsSend,
        actor: &str,
        at: Timestamp,
    ) -> Result<CommsRow> {
        let writer = &*self.writer;
        dispatch_write!(self.send_comms(writer, id, version, send, actor, at))?;
        self.comms(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("communication {id}")))
    }

    /// Records that `who` (core's `comms::acknowledger` key) acknowledged
    /// sent communication `id`: once per person, never more people than
    /// its audience. Not a change of the archive's answers (bookkeeping).
    pub async fn acknowledge_comms(&self, id: i64, who: &str, at: Timestamp) -> Result<AckOutcome> {
        let writer = &*self.writer;
        dispatch_write!(self.acknowledge_comms(writer, id, who, at))
    }

    /// Whether `who` acknowledged communication `id`.
    pub async fn acknowledged_comms(&self, id: i64, who: &str) -> Result<bool> {
        dispatch!(self.acknowledged_comms(id, who))
    }
}
