//! Saved views: a person's named inbox queries, which the web UI lists in
//! its menu (migration 0009). The operations are in `view_ops.rs`, compiled
//! for each backend like `auth_ops.rs`.
//!
//! The store does not read the query: it is the web UI's query string, kept
//! as text (the server checks it before saving). Every change is in the
//! audit log with the `actor` given, and a user's views go with the user.

use changedesk_core::Timestamp;
use serde::Serialize;

use super::{Backend, Result, Store, postgres, sqlite};

/// The most views one user may keep.
pub const MAX_SAVED_VIEWS: usize = 50;
/// The longest view name, in characters.
pub const MAX_VIEW_NAME: usize = 100;
/// The longest query string, in bytes.
pub const MAX_VIEW_QUERY: usize = 2000;

/// A saved view of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedView {
    pub id: i64,
    pub user_id: i64,
    /// As the person wrote it (trimmed); unique per user, ignoring case.
    pub name: String,
    /// The inbox's query string, without the leading `?` (may be empty:
    /// the whole inbox).
    pub query: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Store {
    /// A user's saved views, by name (ignoring case), then oldest first.
    pub async fn saved_views(&self, user_id: i64) -> Result<Vec<SavedView>> {
        dispatch!(self.saved_views(user_id))
    }

    /// Saves `query` as user `user_id`'s view `name`: a new view, or the
    /// new query of their view of that name (in any case, which keeps its
    /// first spelling). Audited as `actor` (`view.save`, target the user's
    /// name). [`StoreError::Invalid`](crate::StoreError::Invalid) for an
    /// empty or too long name or query, control characters, or a new view
    /// past [`MAX_SAVED_VIEWS`]; [`StoreError::NotFound`](crate::StoreError::NotFound)
    /// for an unknown user.
    pub async fn save_view(
        &self,
        user_id: i64,
        name: &str,
        query: &str,
        actor: &str,
        at: &Timestamp,
    ) -> Result<SavedView> {
        let writer = &*self.writer;
        dispatch_write!(self.save_view(writer, user_id, name, query, actor, at))
    }

    /// Deletes user `user_id`'s view `id` (audited as `actor`,
    /// `view.delete`). [`StoreError::NotFound`](crate::StoreError::NotFound)
    /// when they have no such view (another user's view included).
    pub async fn delete_saved_view(
        &self,
        user_id: i64,
        id: i64,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.delete_saved_view(writer, user_id, id, actor, at))
    }
}
