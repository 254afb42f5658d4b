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
                Via::Feed { .. } => "feed",
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
    /// The rollout start read from the body's timeline (its earliest
    /// phase's first day, midnight UTC), when it names one.
    pub rollout_start: Option<String>,
    /// Its introduction and what to do, read from its body.
    pub preview: PreviewDto,
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
            rollout_start: ts_opt(&s.rollout_start),
            preview: PreviewDto {
                summary: s.preview.summary.clone(),
                prepare: s.preview.prepare.clone(),
            },
            revision: s.revision,
            state: s.state.as_str().to_string(),
            tenants_visible: s.tenants_visible,
            tenants_seen: s.tenants_seen,
            first_seen: ts(&s.first_seen),
        }
    }
}

/// A post's preview: a few sentences of its body (each at most 300
/// characters, empty when the body has none).
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewDto {
    /// What the post is about: its introduction, else its first lines.
    pub summary: String,
    /// What an admin is asked to do: its "what you can do to prepare" or
    /// "action required" section (empty without one: never a guess).
    pub prepare: String,
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
    /// How people name the field: `Act by`, `Rollout timeline`.
    pub label: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub summary: Option<String>,
    /// The change for people: `Act by: 2026-03-20 → 2026-04-20`.
    pub readable: String,
}

impl From<&changedesk_core::diff::FieldChange> for FieldChangeDto {
    fn from(c: &changedesk_core::diff::FieldChange) -> FieldChangeDto {
        FieldChangeDto {
            label: changedesk_core::diff::field_label(&c.field).to_owned(),
            readable: c.readable(),
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
    /// The rollout timeline read from this version's body.
    pub timeline: Option<TimelineDto>,
}

/// Days from `from` to `to`, both included (`YYYY-MM-DD`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DateRangeDto {
    pub from: String,
    pub to: String,
    /// As Microsoft writes it: `mid-May 2026`, `Q3 2026`, `2026-05-14`.
    pub text: String,
}

impl From<&changedesk_core::timeline::DateRange> for DateRangeDto {
    fn from(r: &changedesk_core::timeline::DateRange) -> DateRangeDto {
        DateRangeDto {
            from: changedesk_core::timeline::iso(r.from),
            to: changedesk_core::timeline::iso(r.to),
            text: r.describe(),
        }
    }
}

/// One ring's rollout in one cloud, as the post's body tells it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseDto {
    /// `public_preview`, `targeted_release`, `general_availability`,
    /// `retirement` or `other`.
    pub ring: String,
    /// `worldwide`, `gcc`, `gcc_high`, `dod` or `other`.
    pub cloud: String,
    pub start: Option<DateRangeDto>,
    pub end: Option<DateRangeDto>,
    /// The sentence it was read from.
    pub text: String,
}

/// A date a phase had before Microsoft moved it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviouslyDto {
    pub ring: String,
    pub cloud: String,
    /// `start` or `end`.
    pub bound: String,
    pub was: Option<DateRangeDto>,
    /// What the post says: `previously late April`.
    pub text: String,
}

/// A post's rollout timeline, read from its body (docs/TIMELINE.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineDto {
    pub phases: Vec<PhaseDto>,
    pub previously: Vec<PreviouslyDto>,
}

impl From<&changedesk_core::timeline::Timeline> for TimelineDto {
    fn from(t: &changedesk_core::timeline::Timeline) -> TimelineDto {
        use changedesk_core::timeline::Bound;
        TimelineDto {
            phases: t
                .phases
                .iter()
                .map(|p| PhaseDto {
                    ring: p.ring.name().to_owned(),
                    cloud: p.cloud.name().to_owned(),
                    start: p.start.as_ref().map(DateRangeDto::from),
                    end: p.end.as_ref().map(DateRangeDto::from),
                    text: p.text.clone(),
                })
                .collect(),
            previously: t
                .previously
                .iter()
                .map(|p| PreviouslyDto {
                    ring: p.ring.name().to_owned(),
                    cloud: p.cloud.name().to_owned(),
                    bound: match p.bound {
                        Bound::Start => "start",
                        Bound::End => "end",
                    }
                    .to_owned(),
                    was: p.was.as_ref().map(DateRangeDto::from),
                    text: p.text.clone(),
                })
                .collect(),
        }
    }
}

impl RevisionDto {
    pub fn new(r: &changedesk_store::RevisionInfo, caller: &Caller) -> RevisionDto {
        RevisionDto {
            revision: r.revision,
            last_modified: ts_opt(&r.last_modified),
            recorded_at: ts(&r.recorded_at),
            tenant: r.tenant.clone().filter(|t| caller.sees(t)),
            changes: r.changes.iter().map(FieldChangeDto::from).collect(),
            timeline: r.timeline.as_ref().map(TimelineDto::from),
        }
    }
}
