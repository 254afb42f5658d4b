//! The fields an expression can read, their types, and which stage of the
//! evaluation knows them.

use crate::graph::{Category, RolloutStatus, Severity};

use super::check::{Elem, Ty};

/// A field an expression can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `services`: list of strings.
    Services,
    /// `tags`: list of strings.
    Tags,
    /// `roadmap_ids`: list of strings.
    RoadmapIds,
    /// `platforms`: list of strings.
    Platforms,
    /// `category`: string.
    Category,
    /// `severity`: string.
    Severity,
    /// `title`: string (without Microsoft's `(Updated) ` prefix).
    Title,
    /// `body`: the plain text of the body.
    Body,
    /// `id`: string.
    Id,
    /// `major`: boolean.
    Major,
    /// `act_by`: optional date.
    ActBy,
    /// `start`: optional date.
    Start,
    /// `end`: optional date.
    End,
    /// `last_modified`: optional date.
    LastModified,
    /// `rollout_start`: optional date, the timeline's earliest start.
    RolloutStart,
    /// `rollout_end`: optional date, the timeline's latest end.
    RolloutEnd,
    /// `rings`: list of strings, the timeline's rings.
    Rings,
    /// `clouds`: list of strings, the timeline's clouds.
    Clouds,
    /// `tenant`: string.
    Tenant,
    /// `tenant_group`: list of strings.
    TenantGroup,
    /// `rollout`: list of rollout statuses (strings).
    Rollout,
    /// `is_new`: boolean.
    IsNew,
    /// `is_updated`: boolean.
    IsUpdated,
    /// `changed_fields`: list of strings.
    ChangedFields,
    /// `now`: the evaluation time.
    Now,
}

/// Which facts a field comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Known once per post (and `now`).
    Post,
    /// Known per post–tenant pair.
    Tenant,
}

impl Field {
    /// Every field, in documentation order.
    pub const ALL: &'static [Field] = &[
        Field::Services,
        Field::Tags,
        Field::RoadmapIds,
        Field::Platforms,
        Field::Category,
        Field::Severity,
        Field::Title,
        Field::Body,
        Field::Id,
        Field::Major,
        Field::ActBy,
        Field::Start,
        Field::End,
        Field::LastModified,
        Field::RolloutStart,
        Field::RolloutEnd,
        Field::Rings,
        Field::Clouds,
        Field::Tenant,
        Field::TenantGroup,
        Field::Rollout,
        Field::IsNew,
        Field::IsUpdated,
        Field::ChangedFields,
        Field::Now,
    ];

    /// The name as written in expressions.
    pub fn name(self) -> &'static str {
        match self {
            Field::Services => "services",
            Field::Tags => "tags",
            Field::RoadmapIds => "roadmap_ids",
            Field::Platforms => "platforms",
            Field::Category => "category",
            Field::Severity => "severity",
            Field::Title => "title",
            Field::Body => "body",
            Field::Id => "id",
            Field::Major => "major",
            Field::ActBy => "act_by",
            Field::Start => "start",
            Field::End => "end",
            Field::LastModified => "last_modified",
            Field::RolloutStart => "rollout_start",
            Field::RolloutEnd => "rollout_end",
            Field::Rings => "rings",
            Field::Clouds => "clouds",
            Field::Tenant => "tenant",
            Field::TenantGroup => "tenant_group",
            Field::Rollout => "rollout",
            Field::IsNew => "is_new",
            Field::IsUpdated => "is_updated",
            Field::ChangedFields => "changed_fields",
            Field::Now => "now",
        }
    }

    /// The field called exactly `name` (field names are lowercase).
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Whether its values are lists of strings.
    pub(crate) fn is_list(self) -> bool {
        matches!(self.ty().0, Ty::List(_))
    }

    /// Whether its values are strings.
    pub(crate) fn is_string(self) -> bool {
        self.ty().0 == Ty::Str
    }

    /// Whether the post's facts or the tenant's know it.
    pub fn level(self) -> Level {
        match self {
            Field::Tenant
            | Field::TenantGroup
            | Field::Rollout
            | Field::IsNew
            | Field::IsUpdated
            | Field::ChangedFields => Level::Tenant,
            _ => Level::Post,
        }
    }

    /// Its type, and whether it can be null.
    pub(crate) fn ty(self) -> (Ty, bool) {
        match self {
            Field::Services
            | Field::Tags
            | Field::RoadmapIds
            | Field::Platforms
            | Field::TenantGroup
            | Field::Rollout
            | Field::Rings
            | Field::Clouds
            | Field::ChangedFields => (Ty::List(Elem::Str), false),
            Field::Category | Field::Severity | Field::Title | Field::Body | Field::Id => {
                (Ty::Str, false)
            }
            Field::Tenant => (Ty::Str, false),
            Field::Major | Field::IsNew | Field::IsUpdated => (Ty::Bool, false),
            Field::ActBy
            | Field::Start
            | Field::End
            | Field::LastModified
            | Field::RolloutStart
            | Field::RolloutEnd => (Ty::Date, true),
            Field::Now => (Ty::Date, false),
        }
    }

    /// The values Graph (or changedesk) uses, when the set is known: a
    /// literal that looks like a misspelling of one is an error.
    pub(crate) fn known_values(self) -> &'static [&'static str] {
        match self {
            Field::Category => Category::KNOWN,
            Field::Severity => Severity::KNOWN,
            Field::Rollout => RolloutStatus::KNOWN,
            Field::ChangedFields => crate::diff::MESSAGE_FIELDS,
            Field::Rings => crate::timeline::RING_NAMES,
            Field::Clouds => crate::timeline::CLOUD_NAMES,
            _ => &[],
        }
    }
}

/// Levenshtein distance, ASCII-case-insensitive, for "did you mean".
// every index is below `b.len() + 1`, the length of both rows
#[allow(clippy::indexing_slicing)]
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest of `candidates` to `word`, if close enough to be a likely
/// misspelling.
pub(crate) fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    if word.chars().count() > 64 {
        return None;
    }
    let limit = match word.chars().count() {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    };
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
