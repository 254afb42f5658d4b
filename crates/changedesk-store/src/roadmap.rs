//! The Microsoft 365 roadmap archive (migration 0037, issue 22 item 1):
//! each roadmap item as last read, with a revision for every change that
//! matters (core's `roadmap_changes`), as posts keep theirs. The operations
//! are in `roadmap_ops.rs`, compiled for each backend.
//!
//! An import is one write transaction: new items get revision 1, changed
//! ones a revision naming what changed, the others only their `last_seen`;
//! after a read of the whole feed, an item it no longer holds is marked
//! gone (kept, never deleted), and back when it returns. Each import is
//! audited (`roadmap.import`, with its counts and its source).

use changedesk_core::Timestamp;
use changedesk_core::roadmap::{RoadmapChange, RoadmapItem};

use super::{Backend, Result, Store, postgres, sqlite};

/// The most roadmap items a page holds.
pub const MAX_ROADMAP_PAGE: i64 = 500;

/// A roadmap item as the archive keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredRoadmapItem {
    #[serde(flatten)]
    pub item: RoadmapItem,
    /// 1 when first read, one more for each change.
    pub revision: i64,
    pub first_seen: Timestamp,
    /// When it last changed (its latest revision).
    pub updated_at: Timestamp,
    /// The last read that held it.
    pub last_seen: Timestamp,
    /// Since when a read of the whole feed no longer holds it.
    pub gone_since: Option<Timestamp>,
}

/// One revision of a roadmap item: the item as read then, and what had
/// changed from the revision before (nothing for the first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoadmapRevision {
    pub revision: i64,
    pub seen_at: Timestamp,
    pub item: RoadmapItem,
    pub changes: Vec<RoadmapChange>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoadmapImport {
    /// Items read for the first time.
    pub added: Vec<u64>,
    /// Items changed, with what changed.
    pub changed: Vec<(u64, Vec<RoadmapChange>)>,
    /// Items read again unchanged.
    pub unchanged: usize,
    /// Items a read of the whole feed no longer held (marked gone now).
    pub gone: Vec<u64>,
    /// Items gone before and held again.
    pub returned: Vec<u64>,
}

/// Which roadmap items a list reads (all by default), soonest release
/// first (items without a month last), then by id.
#[derive(Debug, Clone, Default)]
pub struct RoadmapQuery {
    /// These statuses (as the roadmap writes them: `In development`…);
    /// empty: any.
    pub statuses: Vec<String>,
    /// Naming this product (exactly, ignoring case).
    pub product: Option<String>,
    /// With this text in the title or the description (ignoring case).
    pub text: Option<String>,
    /// Released from this month on (`YYYY-MM`).
    pub release_from: Option<String>,
    /// Released up to this month (`YYYY-MM`).
    pub release_to: Option<String>,
    /// Those gone from the feed too.
    pub include_gone: bool,
    /// Only these ids.
    pub ids: Option<Vec<u64>>,
    /// How many to pass over (the pages before).
    pub offset: i64,
}

impl Store {
    /// Imports a read of the roadmap (`whole`: the whole feed, so an item
    /// it lacks is gone), audited `roadmap.import` by `actor` with
    /// `source` (a file or URL) in its detail.
    pub async fn import_roadmap(
        &self,
        items: &[RoadmapItem],
        whole: bool,
        source: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<RoadmapImport> {
        let writer = &*self.writer;
        dispatch_write!(self.import_roadmap(writer, items, whole, source, actor, at))
    }

    /// One page of the roadmap items `query` names (at most `limit`, 1 to
    /// [`MAX_ROADMAP_PAGE`]), and how many it names in all.
    pub async fn roadmap_items(
        &self,
        query: &RoadmapQuery,
        limit: i64,
    ) -> Result<(Vec<StoredRoadmapItem>, i64)> {
        let limit = limit.clamp(1, MAX_ROADMAP_PAGE);
        dispatch!(self.roadmap_items(query, limit))
    }

    /// A roadmap item with its revisions, newest first.
    pub async fn roadmap_item(
        &self,
        id: u64,
    ) -> Result<Option<(StoredRoadmapItem, Vec<RoadmapRevision>)>> {
        dispatch!(self.roadmap_item(id))
    }

    /// How many roadmap items the archive holds, and when it last read one.
    pub async fn roadmap_summary(&self) -> Result<(i64, Option<Timestamp>)> {
        dispatch!(self.roadmap_summary())
    }
}
