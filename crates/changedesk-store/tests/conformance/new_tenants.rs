//! `post.new_tenants`: a post already in the archive that a tenant lists
//! for the first time, though the tenant's previous listing came after the
//! post was first seen, is told once, in the load's transaction; a tenant's
//! first listing and a post new in this round tell nothing.

use changedesk_core::notify::EventKind;
use changedesk_store::Store;

use crate::conformance;
use crate::fixtures::*;

fn told(events: &[changedesk_store::StoredEvent]) -> Vec<(String, Vec<String>)> {
    events
        .iter()
        .filter(|e| e.event.kind == EventKind::PostNewTenants)
        .map(|e| {
            (
                e.event.post.as_ref().unwrap().id.clone(),
                e.event.tenants.clone(),
            )
        })
        .collect()
}

conformance!(
    a_known_post_reaching_another_tenant_is_told_once,
    |store: Store| async move {
        let lm = "2026-02-01T00:00:00Z";
        // round 1: both tenants' first listings (the baseline): nothing
        for t in ["alpha", "beta"] {
            store
                .import_messages(t, &[post("MC1", lm)], &opts("2026-03-01T00:00:00Z"))
                .await
                .unwrap();
        }
        // round 2: MC2 is new; alpha lists it first, beta at its first chance
        store
            .import_messages(
                "alpha",
                &[post("MC1", lm), post("MC2", lm), post("MC3", lm)],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        store
            .import_messages(
                "beta",
                &[post("MC1", lm), post("MC2", lm)],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(told(&store.pending_events(100).await.unwrap()), vec![]);
        // round 3: MC3, known since round 2, reaches beta; a new tenant's
        // first listing (gamma) tells nothing; listing again tells nothing
        for _ in 0..2 {
            store
                .import_messages(
                    "beta",
                    &[post("MC1", lm), post("MC2", lm), post("MC3", lm)],
                    &opts("2026-03-03T00:00:00Z"),
                )
                .await
                .unwrap();
        }
        store
            .import_messages(
                "gamma",
                &[post("MC1", lm), post("MC3", lm)],
                &opts("2026-03-03T00:00:00Z"),
            )
            .await
            .unwrap();
        let pending = store.pending_events(100).await.unwrap();
        assert_eq!(
            told(&pending),
            vec![("MC3".to_string(), vec!["beta".to_string()])]
        );
        let e = pending
            .iter()
            .find(|e| e.event.kind == EventKind::PostNewTenants)
            .unwrap();
        assert_eq!(e.event.at, at("2026-03-03T00:00:00Z"));
        assert_eq!(
            e.event.post.as_ref().unwrap().title,
            "Microsoft Teams: feature MC3"
        );
    }
);
