//! Feeds of saved views (issue 20): a person subscribes a calendar (ICS) or
//! a feed reader (Atom) to one of their saved views at a secret URL
//! (migration 0029). The operations are in `feed_ops.rs`, compiled for each
//! backend like `view_ops.rs`.
//!
//! The store never sees a feed's secret: the server hashes it (SHA-256 in
//! hex, as for API tokens) and the store keeps and looks up the hash, with
//! the secret's first characters as a hint to tell feeds apart. A feed
//! belongs to its view's user and goes with the view or the user; revoking
//! it deletes it. Creating and revoking are audited (`feed.create`,
//! `feed.revoke`, target the user's name), in bookkeeping transactions (they
//! change nothing the server's kept answers show).
//!
//! A fetch is looked up with [`Store::view_feed_by_secret`], which returns
//! the view's query and its user as they are now (never a disabled user):
//! the server applies that user's current role and tenant scope. The posts
//! a feed or the calendar shows are read with [`Store::calendar_posts`].

use changedesk_core::{MessageContent, Timestamp};
use serde::Serialize;

use super::{Backend, Result, Store, User, postgres, sqlite};

/// The most feeds one user may have.
pub const MAX_FEEDS_PER_USER: usize = 20;
/// The longest hint, in characters.
pub const MAX_FEED_HINT: usize = 16;
/// The most posts [`Store::calendar_posts`] reads at once.
pub const MAX_CALENDAR_POSTS: usize = 1000;

/// A feed of a saved view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewFeed {
    pub id: i64,
    pub user_id: i64,
    pub view_id: i64,
    /// The view's name and query (the inbox's query string, without `?`)
    /// as they are now: a feed follows its view.
    pub view_name: String,
    pub view_query: String,
    /// The secret's first characters.
    pub hint: String,
    pub created_at: Timestamp,
    /// The last fetch, to the hour ([`FEED_USE_GRANULARITY_SECS`]).
    pub last_used_at: Option<Timestamp>,
}

/// How long a feed's `last_used_at` may lag: a feed fetched again within
/// this many seconds of its recorded use is not written again (calendar
/// clients poll every few minutes).
pub const FEED_USE_GRANULARITY_SECS: i64 = 3600;

/// A post as the calendar and the feeds show it: its current content (for
/// its rollout timeline, act-by date, title and link) and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarPost {
    pub id: String,
    /// Grows with every revision Microsoft makes.
    pub revision: i64,
    pub first_seen: Timestamp,
    pub content: MessageContent,
    /// The rollout timeline stored with the current revision.
    pub timeline: changedesk_core::timeline::Timeline,
}

impl CalendarPost {
    /// When the post last changed: Microsoft's last modification, else
    /// when changedesk first saw it.
    pub fn modified(&self) -> Timestamp {
        self.content.last_modified.unwrap_or(self.first_seen)
    }
}

impl Store {
    /// A user's feeds, by their view's name (ignoring case), then oldest
    /// first.
    pub async fn view_feeds(&self, user_id: i64) -> Result<Vec<ViewFeed>> {
        dispatch!(self.view_feeds(user_id))
    }

    /// Creates a feed of user `user_id`'s saved view `view_id`, whose
    /// secret hashes to `secret_hash`, showing `hint` (the secret's first
    /// characters). Audited as `actor` (`feed.create`).
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) for a view the
    /// user does not have (another user's included) or an unknown user;
    /// [`StoreError::Invalid`](crate::StoreError::Invalid) for a disabled
    /// user, an empty hash or hint, or a feed past [`MAX_FEEDS_PER_USER`];
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) when a feed
    /// with this hash exists.
    pub async fn create_view_feed(
        &self,
        user_id: i64,
        view_id: i64,
        secret_hash: &str,
        hint: &str,
        actor: &str,
        at: &Timestamp,
    ) -> Result<ViewFeed> {
        let writer = &*self.writer;
        dispatch_write!(self.create_view_feed(
            writer,
            user_id,
            view_id,
            secret_hash,
            hint,
            actor,
            at
        ))
    }

    /// Revokes (deletes) user `user_id`'s feed `id`, audited as `actor`
    /// (`feed.revoke`). [`StoreError::NotFound`](crate::StoreError::NotFound)
    /// when they have no such feed (another user's included).
    pub async fn revoke_view_feed(
        &self,
        user_id: i64,
        id: i64,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.revoke_view_feed(writer, user_id, id, actor, at))
    }

    /// The feed whose secret hashes to `secret_hash`, with its user as they
    /// are now; `None` for an unknown (or revoked) feed, or a disabled
    /// user's.
    pub async fn view_feed_by_secret(&self, secret_hash: &str) -> Result<Option<(ViewFeed, User)>> {
        dispatch!(self.view_feed_by_secret(secret_hash))
    }

    /// Records a fetch of feed `id` at `now`, unless one was recorded after
    /// `stale_before` (bookkeeping: not an archive change).
    pub async fn view_feed_used(
        &self,
        id: i64,
        now: &Timestamp,
        stale_before: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.view_feed_used(writer, id, now, stale_before))
    }

    /// The posts of `ids` the archive holds, in the order of `ids` (unknown
    /// ids left out), with their current content. At most
    /// [`MAX_CALENDAR_POSTS`] ids are read (the first ones). The caller
    /// has limited `ids` to its scope (a post query's page).
    pub async fn calendar_posts(&self, ids: &[String]) -> Result<Vec<CalendarPost>> {
        dispatch!(self.calendar_posts(ids))
    }
}
