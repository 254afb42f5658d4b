//! The facts rules read: once per post ([`PostFacts`]) and per post–tenant
//! pair ([`TenantFacts`]).

use std::sync::OnceLock;

use crate::graph::{MessageContent, RolloutEntry, RolloutStatus, TenantView};
use crate::timestamp::Timestamp;

/// Everything a rule can know about a post, prepared once per post:
/// `roadmap_ids` and `platforms` split from the view's details (borrowed,
/// not copied); the title and body are lowercased for word matching on
/// first use.
#[derive(Debug)]
pub struct PostFacts<'a> {
    pub(crate) content: &'a MessageContent,
    title: &'a str,
    pub(crate) roadmap_ids: Vec<&'a str>,
    pub(crate) platforms: Vec<&'a str>,
    pub(crate) body: &'a str,
    title_lower: OnceLock<String>,
    body_lower: OnceLock<String>,
    rollout: OnceLock<Rollout>,
}

/// What the rules read of a post's rollout timeline
/// ([`crate::timeline::for_post`]), read once when a rule asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rollout {
    /// The earliest start (its first day, midnight UTC).
    pub(crate) start: Option<Timestamp>,
    /// The latest end (its last day, midnight UTC).
    pub(crate) end: Option<Timestamp>,
    /// Each ring named, once, in the order of the body.
    pub(crate) rings: Vec<&'static str>,
    /// Each cloud named, once, in the order of the body.
    pub(crate) clouds: Vec<&'static str>,
}

impl Rollout {
    fn of(content: &MessageContent) -> Rollout {
        let t = crate::timeline::of_content(content);
        let midnight = |d: time::Date| Timestamp::from_datetime(d.midnight().assume_utc());
        let mut rings = Vec::new();
        let mut clouds = Vec::new();
        for p in &t.phases {
            if !rings.contains(&p.ring.name()) {
                rings.push(p.ring.name());
            }
            if !clouds.contains(&p.cloud.name()) {
                clouds.push(p.cloud.name());
            }
        }
        Rollout {
            start: t.rollout_start().map(midnight),
            end: t
                .phases
                .iter()
                .filter_map(|p| p.end.map(|e| e.to))
                .max()
                .map(midnight),
            rings,
            clouds,
        }
    }
}

/// A comma-separated detail's items, trimmed, empty ones dropped (as
/// [`TenantView::roadmap_ids`] reads them).
fn split_detail<'a>(view: &'a TenantView, name: &str) -> Vec<&'a str> {
    view.detail(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

impl<'a> PostFacts<'a> {
    /// The facts of `content`, with `RoadmapIds` and `Platforms` from `view`
    /// and `body_text`, the plain text of the body (see
    /// [`crate::diff::body_text`]), given by the caller.
    pub fn new(content: &'a MessageContent, view: &'a TenantView, body_text: &'a str) -> Self {
        PostFacts {
            content,
            title: content.display_title(),
            roadmap_ids: split_detail(view, "RoadmapIds"),
            platforms: split_detail(view, "Platforms"),
            body: body_text,
            title_lower: OnceLock::new(),
            body_lower: OnceLock::new(),
            rollout: OnceLock::new(),
        }
    }

    /// The post's shared content.
    pub fn content(&self) -> &'a MessageContent {
        self.content
    }

    /// The `title` field: the title without Microsoft's `(Updated) ` prefix.
    pub fn title(&self) -> &'a str {
        self.title
    }

    /// The `body` field: the body's plain text.
    pub fn body(&self) -> &'a str {
        self.body
    }

    /// The `roadmap_ids` field.
    pub fn roadmap_ids(&self) -> &[&'a str] {
        &self.roadmap_ids
    }

    /// The `platforms` field.
    pub fn platforms(&self) -> &[&'a str] {
        &self.platforms
    }

    /// The `rollout_start`, `rollout_end`, `rings` and `clouds` fields.
    pub(crate) fn rollout(&self) -> &Rollout {
        self.rollout.get_or_init(|| Rollout::of(self.content))
    }

    pub(crate) fn title_lower(&self) -> &str {
        self.title_lower
            .get_or_init(|| self.title().to_ascii_lowercase())
    }

    pub(crate) fn body_lower(&self) -> &str {
        self.body_lower
            .get_or_init(|| self.body.to_ascii_lowercase())
    }
}

/// What a rule can know about one tenant's view of a post. Borrowed, so
/// building one per pair costs nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantFacts<'a> {
    /// The `tenant` field: the tenant's name.
    pub tenant: &'a str,
    /// The `tenant_group` field: the groups the tenant belongs to.
    pub groups: &'a [String],
    /// The `rollout` field: the tenant's rollout statuses for this post
    /// (see [`rollout_statuses`]).
    pub rollout: &'a [RolloutStatus],
    /// The `is_new` field: the tenant sees the post for the first time.
    pub is_new: bool,
    /// The `is_updated` field: the post changed since the tenant last saw it.
    pub is_updated: bool,
    /// The `changed_fields` field: which fields changed (`title`, `act_by`,
    /// `body`, … as in [`crate::diff::FieldChange::field`]).
    pub changed_fields: &'a [String],
}

/// The distinct statuses of a tenant's `FeatureStatusJson` entries, in
/// order of first appearance.
pub fn rollout_statuses(entries: &[RolloutEntry]) -> Vec<RolloutStatus> {
    let mut out: Vec<RolloutStatus> = Vec::new();
    for e in entries {
        if !out.contains(&e.status) {
            out.push(e.status.clone());
        }
    }
    out
}
