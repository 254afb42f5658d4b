//! The preview and pilot programme (issue 21, item 5): when a post's public
//! preview or targeted release starts (its timeline, read from its body),
//! a pilot task opens for each pilot group whose workloads the post
//! concerns, once per post and group. The group's finding (its
//! recommendation) is recorded on the post's work item as a decision-log
//! entry (`record_pilot_finding`), which the maturity level's preview
//! engagement counts.

use changedesk_core::Timestamp;
use changedesk_store::{Store, StoreError};

/// Opens the pilot tasks due at `now`: for each post whose preview or
/// targeted release started on or before `now`'s day, one per pilot group
/// that tries its workloads, unless opened before. How many were opened.
pub async fn open_due(store: &Store, now: Timestamp) -> Result<usize, StoreError> {
    let groups = store.pilot_groups().await?;
    if groups.is_empty() {
        return Ok(0);
    }
    let today = now.as_datetime().date();
    let mut due = Vec::new();
    for post in store.pilot_candidates().await? {
        let Some(start) = post.timeline.pilot_start() else {
            continue;
        };
        if start > today {
            continue;
        }
        for g in groups.iter().filter(|g| g.tries(&post.services)) {
            due.push((post.post_id.clone(), g.name.clone(), start));
        }
    }
    store.open_pilot_tasks(&due, now).await
}
