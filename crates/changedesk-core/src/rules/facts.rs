//! The facts rules read: once per post ([`PostFacts`]) and per post–tenant
//! pair ([`TenantFacts`]).

use std::sync::OnceLock;

use crate::graph::{MessageContent, RolloutEntry, RolloutStatus, TenantView};

/// Everything a rule can know about a post, prepared once per post:
/// `roadmap_ids` and `platforms` decoded from the view's details, the title
/// lowercased for word matching (the body is lowercased on first use).
#[derive(Debug)]
pub struct PostFacts<'a> {
    pub(crate) content: &'a MessageContent,
    pub(crate) roadmap_ids: Vec<String>,
    pub(crate) platforms: Vec<String>,
    pub(crate) body: &'a str,
    title_lower: String,
    body_lower: OnceLock<String>,
}

impl<'a> PostFacts<'a> {
    /// The facts of `content`, with `RoadmapIds` and `Platforms` from `view`
    /// and `body_text`, the plain text of the body (see
    /// [`crate::diff::body_text`]), given by the caller.
    pub fn new(content: &'a MessageContent, view: &TenantView, body_text: &'a str) -> Self {
        PostFacts {
            content,
            roadmap_ids: view.roadmap_ids(),
            platforms: view.platforms(),
            body: body_text,
            title_lower: content.display_title().to_ascii_lowercase(),
            body_lower: OnceLock::new(),
        }
    }

    /// The post's shared content.
    pub fn content(&self) -> &'a MessageContent {
        self.content
    }

    /// The `title` field: the title without Microsoft's `(Updated) ` prefix.
    pub fn title(&self) -> &'a str {
        self.content.display_title()
    }

    /// The `body` field: the body's plain text.
    pub fn body(&self) -> &'a str {
        self.body
    }

    /// The `roadmap_ids` field.
    pub fn roadmap_ids(&self) -> &[String] {
        &self.roadmap_ids
    }

    /// The `platforms` field.
    pub fn platforms(&self) -> &[String] {
        &self.platforms
    }

    pub(crate) fn title_lower(&self) -> &str {
        &self.title_lower
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
