//! The API's JSON shapes, mapped from the core's and the store's types.

use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Caller, Via};

/// A user as the API shows it to themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallerDto {
    pub name: String,
    pub display_name: Option<String>,
    /// `admin`, `change_manager`, `owner` or `reader`.
    pub role: String,
    /// Tenants the user is limited to (empty with no groups: every tenant).
    pub tenants: Vec<String>,
    /// Tenant groups the user is limited to.
    pub tenant_groups: Vec<String>,
    /// `session` or `token`.
    pub via: String,
}

impl From<&Caller> for CallerDto {
    fn from(c: &Caller) -> CallerDto {
        CallerDto {
            name: c.name.clone(),
            display_name: None,
            role: c.role.as_str().to_string(),
            tenants: c.scope.tenants.clone(),
            tenant_groups: c.scope.groups.clone(),
            via: match c.via {
                Via::Session { .. } => "session",
                Via::Token { .. } => "token",
            }
            .to_string(),
        }
    }
}

/// A timestamp as RFC 3339 text.
pub fn ts(t: &changedesk_core::Timestamp) -> String {
    t.to_string()
}

pub fn ts_opt(t: &Option<changedesk_core::Timestamp>) -> Option<String> {
    t.as_ref().map(ts)
}

/// A post in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostSummaryDto {
    /// The Message Center id, e.g. `MC1029154`.
    pub id: String,
    pub title: String,
    pub category: String,
    pub severity: String,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub is_major: bool,
    pub start: Option<String>,
    pub end: Option<String>,
    pub act_by: Option<String>,
    pub last_modified: Option<String>,
    pub revision: i64,
    /// `active` (a tenant in scope returns it now) or `expired`.
    pub state: String,
    /// Tenants in scope that return it now.
    pub tenants_visible: i64,
    /// Tenants in scope that ever returned it.
    pub tenants_seen: i64,
    pub first_seen: String,
}

impl From<&changedesk_store::PostSummary> for PostSummaryDto {
    fn from(s: &changedesk_store::PostSummary) -> PostSummaryDto {
        PostSummaryDto {
            id: s.id.clone(),
            title: s.title.clone(),
            category: s.category.clone(),
            severity: s.severity.clone(),
            services: s.services.clone(),
            tags: s.tags.clone(),
            is_major: s.is_major,
            start: ts_opt(&s.start),
            end: ts_opt(&s.end),
            act_by: ts_opt(&s.act_by),
            last_modified: ts_opt(&s.last_modified),
            revision: s.revision,
            state: s.state.as_str().to_string(),
            tenants_visible: s.tenants_visible,
            tenants_seen: s.tenants_seen,
            first_seen: ts(&s.first_seen),
        }
    }
}

/// A piece of a search snippet: `hit` marks the words that matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnippetPartDto {
    pub text: String,
    pub hit: bool,
}

/// One tenant's view of a post.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantLinkDto {
    pub tenant: String,
    pub visible: bool,
    pub first_seen: String,
    pub last_seen: String,
    pub gone_at: Option<String>,
    pub seen_last_modified: Option<String>,
    /// The tenant's details (name and value pairs from Graph).
    pub details: Vec<DetailDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DetailDto {
    pub name: String,
    pub value: String,
}

impl From<&changedesk_store::TenantLink> for TenantLinkDto {
    fn from(l: &changedesk_store::TenantLink) -> TenantLinkDto {
        TenantLinkDto {
            tenant: l.name.clone(),
            visible: l.visible,
            first_seen: ts(&l.first_seen),
            last_seen: ts(&l.last_seen),
            gone_at: ts_opt(&l.gone_at),
            seen_last_modified: ts_opt(&l.seen_last_modified),
            details: l
                .details
                .iter()
                .map(|d| DetailDto {
                    name: d.name.clone(),
                    value: d.value.clone(),
                })
                .collect(),
        }
    }
}

/// What changed in one field between two revisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChangeDto {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub summary: Option<String>,
}

impl From<&changedesk_core::diff::FieldChange> for FieldChangeDto {
    fn from(c: &changedesk_core::diff::FieldChange) -> FieldChangeDto {
        FieldChangeDto {
            field: c.field.clone(),
            old: c.old.clone(),
            new: c.new.clone(),
            summary: c.summary.clone(),
        }
    }
}

/// One revision of a post.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionDto {
    pub revision: i64,
    pub last_modified: Option<String>,
    pub recorded_at: String,
    /// The tenant whose listing brought this version (only if in scope).
    pub tenant: Option<String>,
    pub changes: Vec<FieldChangeDto>,
}

impl RevisionDto {
    pub fn new(r: &changedesk_store::RevisionInfo, caller: &Caller) -> RevisionDto {
        RevisionDto {
            revision: r.revision,
            last_modified: ts_opt(&r.last_modified),
            recorded_at: ts(&r.recorded_at),
            tenant: r.tenant.clone().filter(|t| caller.sees(t)),
            changes: r.changes.iter().map(FieldChangeDto::from).collect(),
        }
    }
}
