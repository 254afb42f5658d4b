//! The rollout timeline read from each revision's body (migration 0028):
//! stored with the post and each revision, its rollout start on the post's
//! summary, and a move between revisions as the `timeline` change.

use changedesk_core::timeline::{Cloud, Ring};
use changedesk_store::{MessageFilter, Store};
use serde_json::json;

use crate::conformance;
use crate::fixtures::*;

fn with_body(id: &str, last_modified: &str, when: &str) -> changedesk_core::graph::Message {
    parse(&with(
        post_json(id, last_modified),
        "body",
        json!({"contentType": "html", "content": format!("<p>[When this will happen:]</p>{when}<p>[How this will affect your organization:]</p><p>Nothing else.</p>")}),
    ))
}

const BEFORE: &str = "<p>Targeted Release: We will begin rolling out early April 2026 and expect to complete by mid-April 2026.</p>\
    <p>General Availability (Worldwide, GCC): We will begin rolling out late April 2026 and expect to complete by mid-May 2026.</p>";
const AFTER: &str = "<p>Targeted Release: We will begin rolling out early April 2026 and expect to complete by mid-April 2026.</p>\
    <p>General Availability (Worldwide, GCC): We will begin rolling out mid-May 2026 (previously late April) and expect to complete by late June 2026 (previously mid-May).</p>";

conformance!(
    the_timeline_is_stored_with_each_revision_and_a_move_is_a_change,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &[with_body("MC10", "2026-03-01T00:00:00Z", BEFORE)],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        let d = store.get_message("MC10").await.unwrap();
        let phases: Vec<(Ring, Cloud)> = d
            .timeline
            .phases
            .iter()
            .map(|p| (p.ring, p.cloud))
            .collect();
        assert_eq!(
            phases,
            vec![
                (Ring::TargetedRelease, Cloud::Worldwide),
                (Ring::GeneralAvailability, Cloud::Worldwide),
                (Ring::GeneralAvailability, Cloud::Gcc),
            ]
        );
        // the earliest start: early April
        assert_eq!(d.summary.rollout_start, Some(at("2026-04-01T00:00:00Z")));
        assert_eq!(d.revisions[0].timeline.as_ref(), Some(&d.timeline));
        let listed = store
            .list_messages(&MessageFilter::default())
            .await
            .unwrap();
        assert_eq!(listed[0].rollout_start, Some(at("2026-04-01T00:00:00Z")));
        assert!(!listed[0].date_moved, "one revision moves nothing");

        // Microsoft moves GA in the body; no Graph date moves
        store
            .import_messages(
                "alpha",
                &[with_body("MC10", "2026-03-20T00:00:00Z", AFTER)],
                &opts("2026-03-21T00:00:00Z"),
            )
            .await
            .unwrap();
        let d = store.get_message("MC10").await.unwrap();
        assert_eq!(d.summary.revision, 2);
        let r2 = &d.revisions[1];
        let fields: Vec<&str> = r2.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, vec!["timeline", "body", "last_modified"]);
        let moved = r2.changes[0].summary.as_deref().unwrap();
        assert_eq!(
            moved,
            "General availability: was late April 2026 → mid-May 2026, now mid-May 2026 → late June 2026; \
             General availability (GCC): was late April 2026 → mid-May 2026, now mid-May 2026 → late June 2026"
        );
        // each revision keeps its own
        let old = d.revisions[0].timeline.as_ref().unwrap();
        let new = r2.timeline.as_ref().unwrap();
        assert_eq!(new, &d.timeline);
        assert_ne!(old, new);
        assert_eq!(d.timeline.previously.len(), 4);
        let r1 = store.message_revision("MC10", 1).await.unwrap();
        assert_eq!(r1.info.timeline.as_ref(), Some(old));
        assert!(
            d.summary.date_moved,
            "the newest revision moved the timeline"
        );
        // the rollout start stays early April (Targeted Release did not move)
        assert_eq!(d.summary.rollout_start, Some(at("2026-04-01T00:00:00Z")));
        // everything was read by this version: nothing to read again
        assert_eq!(store.refresh_timelines().await.unwrap(), 0);
    }
);

conformance!(
    a_body_without_dates_has_no_rollout_start,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &[with_body(
                    "MC11",
                    "2026-03-01T00:00:00Z",
                    "<p>Targeted Release: we will share the timeline later.</p>",
                )],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        let d = store.get_message("MC11").await.unwrap();
        assert_eq!(d.timeline.phases.len(), 1);
        assert_eq!(d.timeline.phases[0].start, None);
        assert_eq!(d.summary.rollout_start, None);
    }
);

conformance!(
    each_post_has_a_preview_and_a_stale_reading_is_read_again,
    |store: Store| async move {
        let body = "<p>Updated May 1, 2026: We have updated the timeline.</p>\
            <p>[Introduction:]</p><p>Teams gets a new calendar.</p>\
            <p>[When this will happen:]</p><p>General Availability: mid-May 2026.</p>\
            <p>[What you can do to prepare:]</p><p>Tell your help desk.</p>";
        store
            .import_messages(
                "alpha",
                &[parse(&with(
                    post_json("MC12", "2026-03-01T00:00:00Z"),
                    "body",
                    json!({"contentType": "html", "content": body}),
                ))],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        let want = changedesk_core::preview::Preview {
            summary: "Teams gets a new calendar.".into(),
            prepare: "Tell your help desk.".into(),
        };
        let listed = store
            .list_messages(&MessageFilter::default())
            .await
            .unwrap();
        assert_eq!(listed[0].preview, want);
        // a page of the inbox carries it, the timeline and the item's columns
        let page = store
            .query_posts(&changedesk_store::PostQuery::new(
                changedesk_store::TenantScope::All,
            ))
            .await
            .unwrap();
        let hit = &page.items[0];
        assert_eq!(hit.summary.preview, want);
        assert_eq!(hit.timeline.phases.len(), 1);
        assert_eq!(hit.summary.rollout_start, Some(at("2026-05-11T00:00:00Z")));

        // every row read by this version: opening again reads nothing
        assert_eq!(store.refresh_timelines().await.unwrap(), 0);
        // rows read by an older version are found only when the archive's
        // one-row record says so: the record is what spares the scan
        crate::triage::raw_execute(
            &store,
            "UPDATE posts SET preview = NULL, rollout_start = NULL, timeline_version = 1",
        )
        .await
        .unwrap();
        crate::triage::raw_execute(&store, "UPDATE post_revisions SET timeline_version = 1")
            .await
            .unwrap();
        assert_eq!(store.refresh_timelines().await.unwrap(), 0);
        crate::triage::raw_execute(&store, "UPDATE readings SET version = 1")
            .await
            .unwrap();
        // one revision and one post read again
        assert_eq!(store.refresh_timelines().await.unwrap(), 2);
        let listed = store
            .list_messages(&MessageFilter::default())
            .await
            .unwrap();
        assert_eq!(listed[0].preview, want);
        assert_eq!(listed[0].rollout_start, Some(at("2026-05-11T00:00:00Z")));
        assert_eq!(store.refresh_timelines().await.unwrap(), 0);
    }
);
