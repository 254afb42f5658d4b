//! What the analytics of issue 21 read (`changedesk_core::metrics`): the
//! work items of the posts in a scope, with the facts of their posts and
//! the tenant groups some of whose tenants see each. The operations are in
//! `analytics_ops.rs`, compiled for each backend like `query_ops.rs`.

use changedesk_core::Timestamp;
use changedesk_core::metrics::ItemFacts;

use super::{Backend, Result, Store, TenantScope, postgres, sqlite};

/// The most tenant groups read for the group dimension (one query each).
pub const MAX_GROUPS: usize = 50;

impl Store {
    /// The work items of the posts some tenant of `scope` sees that were
    /// open at some time since `since` (created since, or not closed
    /// before it) or whose decision deadline is since `since` (an item
    /// decided well ahead of its deadline still counts where its deadline
    /// falls: whatever earlier `since` a caller reads from, the items of a
    /// later one are all among them), sorted by post id; each with the names of `groups`
    /// (a group's name and its tenants, at most [`MAX_GROUPS`]) some of
    /// whose tenants see its post.
    pub async fn analytics_items(
        &self,
        scope: &TenantScope,
        since: Timestamp,
        groups: &[(String, Vec<String>)],
    ) -> Result<Vec<ItemFacts>> {
        let groups = groups.get(..MAX_GROUPS.min(groups.len())).unwrap_or(groups);
        dispatch!(self.analytics_items(scope, since, groups))
    }
}
