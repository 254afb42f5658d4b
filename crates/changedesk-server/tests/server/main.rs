//! The server crate's integration tests: sync against the simulator, and
//! the rules and work items on a real archive. One test binary.

/// Each scenario as two tests: on SQLite, and on PostgreSQL when
/// `CHANGEDESK_TEST_PG_URL` is set (in a database of its own).
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let t = changedesk_store::testing::TestStore::sqlite().await;
                    super::$name(t.store.clone()).await;
                    t.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(t) = changedesk_store::testing::TestStore::postgres().await else { return };
                    super::$name(t.store.clone()).await;
                    t.finish().await;
                }
            }
        )*
    };
}

/// Saves `item` as a new work item at `at`, with no log, notices or events.
async fn save_new_item(
    store: &changedesk_store::Store,
    item: &changedesk_core::triage::WorkItem,
    at: changedesk_core::Timestamp,
) {
    store
        .save_work_item(&changedesk_store::ItemSave {
            item,
            expected_version: None,
            evaluated_revision: None,
            entries: &[],
            notify: &[],
            events: &[],
            at,
        })
        .await
        .unwrap();
}

mod api;
mod briefing;
mod calendar;
mod channels;
mod comms;
mod connectors;
mod csv_export;
mod declared;
mod many_tenants;
mod oidc;
mod onboarding;
mod outbox;
mod pilots;
mod quarter;
mod reports;
mod settings;
mod surfaces;
mod sync;
mod tenant_work;
mod triage;
mod ui;
mod ui_admin;
