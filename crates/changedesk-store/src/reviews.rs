//! The change reviews recorded as held (migration 0033), and the routing
//! and feedback figures of the decision log: what the maturity level observes of a
//! team's habits (issue 21). The operations are in `reviews_ops.rs`,
//! compiled for each backend.

use changedesk_core::Timestamp;

use super::{Backend, Result, Store, StoreError, TenantScope, postgres, sqlite};

/// The longest note kept with a review, in characters.
pub const MAX_REVIEW_NOTE: usize = 2000;

/// How the rules' assignments fared since a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoutingCounts {
    /// Items a rule assigned.
    pub rule_assignments: usize,
    /// Of those, the items a person then assigned to someone else.
    pub reassigned_by_people: usize,
}

impl Store {
    /// Records the review of the week starting `week` (a Monday) as held,
    /// for `tenant_group` (`""`: the organisation), by `actor`, with a note
    /// (at most [`MAX_REVIEW_NOTE`] characters); audited as `review.held`.
    /// Returns false when it was already recorded (nothing changes).
    pub async fn record_review(
        &self,
        week: time::Date,
        tenant_group: &str,
        note: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<bool> {
        if week.weekday() != time::Weekday::Monday {
            return Err(StoreError::Invalid(format!("{week} is not a Monday")));
        }
        if note.chars().count() > MAX_REVIEW_NOTE {
            return Err(StoreError::Invalid(format!(
                "the note is longer than {MAX_REVIEW_NOTE} characters"
            )));
        }
        let writer = &*self.writer;
        dispatch_write!(self.record_review(writer, week, tenant_group, note, actor, at))
    }

    /// The Mondays of the weeks whose review was recorded as held for
    /// `tenant_group` (`""`: the organisation) since `since`, oldest first.
    pub async fn reviews_held(
        &self,
        tenant_group: &str,
        since: time::Date,
    ) -> Result<Vec<time::Date>> {
        dispatch!(self.reviews_held(tenant_group, since))
    }

    /// How many times feedback was given to Microsoft (the decision log's
    /// `feedback` entries) about the posts `scope` sees since `since`.
    pub async fn feedback_given(&self, scope: &TenantScope, since: Timestamp) -> Result<usize> {
        dispatch!(self.logged_since(scope, "feedback", since))
    }

    /// Whether a message with this id was recorded (a scheduled message
    /// made once per period: made already, whatever became of it).
    pub async fn message_recorded(&self, message_id: &str) -> Result<bool> {
        dispatch!(self.message_recorded(message_id))
    }

    /// How many scheduled reports (the executive report, the weekly
    /// status: events `report.sent`) were delivered in `[since, until)`.
    pub async fn reports_delivered(&self, since: Timestamp, until: Timestamp) -> Result<usize> {
        dispatch!(self.reports_delivered(since, until))
    }

    /// The items of the posts `scope` sees that a rule assigned since
    /// `since`, and how many of them a person re-assigned afterwards.
    pub async fn routing_counts(
        &self,
        scope: &TenantScope,
        since: Timestamp,
    ) -> Result<RoutingCounts> {
        dispatch!(self.routing_counts(scope, since))
    }
}
