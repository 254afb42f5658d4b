//! The preview and pilot programme (issue 21, item 5): when a post's public
//! preview or targeted release starts (its timeline, read from its body),
//! a pilot task opens for each pilot group whose workloads the post
//! concerns, once per post and group. The group's finding (its
//! recommendation) is recorded on the post's work item as a decision-log
//! entry (`record_pilot_finding`), which the maturity level's preview
//! engagement counts. A group that names a channel is told of each task
//! opened for it (`pilot.opened`, for that channel alone).

use changedesk_core::Timestamp;
use changedesk_core::notify::{Event, EventKind, PostRef};
use changedesk_store::{NewPilotTask, Store, StoreError};

/// Opens the pilot tasks due at `now`: for each post whose preview or
/// targeted release started on or before `now`'s day, one per pilot group
/// that tries its workloads, unless opened before; a group that names a
/// channel is told with a `pilot.opened` event, recorded with its task.
/// How many were opened.
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
    let pairs: Vec<(String, String)> = due.iter().map(|(p, g, _)| (p.clone(), g.clone())).collect();
    let new = store.unopened_pilot_tasks(&pairs).await?;
    let mut tasks = Vec::with_capacity(new.len());
    for (post_id, group, start) in due {
        if !new.iter().any(|(p, g)| *p == post_id && *g == group) {
            continue;
        }
        let channel = groups
            .iter()
            .find(|g| g.name == group)
            .map(|g| g.channel.clone())
            .unwrap_or_default();
        let event = if channel.is_empty() {
            None
        } else {
            notice(store, &post_id, &group, &channel, start, now).await?
        };
        tasks.push(NewPilotTask {
            post_id,
            group,
            pilot_start: start,
            event,
        });
    }
    store.open_pilot_tasks(&tasks, now).await
}

/// The `pilot.opened` event telling `group` (through `channel`) to try
/// `post_id` from `start`; `None` when the post is gone.
async fn notice(
    store: &Store,
    post_id: &str,
    group: &str,
    channel: &str,
    start: time::Date,
    now: Timestamp,
) -> Result<Option<Event>, StoreError> {
    let post = match store.get_message(post_id).await {
        Ok(p) => p,
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(Event {
        kind: EventKind::PilotOpened,
        at: now,
        post: Some(PostRef::of(&post.content)),
        incident: None,
        tenants: post
            .tenants
            .iter()
            .filter(|l| l.visible)
            .map(|l| l.name.clone())
            .collect(),
        owner: None,
        changes: Vec::new(),
        reason: Some(format!(
            "Pilot group {group}: its preview or targeted release starts {}; try it and record the group's finding on the post's page",
            changedesk_core::timeline::iso(start)
        )),
        target: Some(channel.to_string()),
        ticket_scope: None,
        moves: Vec::new(),
    }))
}
