//! Runs each scenario on SQLite (always) and PostgreSQL (when
//! `CHANGEDESK_TEST_PG_URL` is set), with `changedesk_store::testing`.

use std::future::Future;

use changedesk_store::Store;
use changedesk_store::testing::TestStore;

pub async fn with_sqlite<F, Fut>(f: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let t = TestStore::sqlite().await;
    f(t.store.clone()).await;
    t.finish().await;
}

pub async fn with_postgres<F, Fut>(f: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(t) = TestStore::postgres().await else {
        return;
    };
    f(t.store.clone()).await;
    t.finish().await;
}

/// Declares a scenario run once per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! conformance {
    ($(#[$m:meta])* $name:ident, $body:expr) => {
        $(#[$m])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::harness::with_sqlite($body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::harness::with_postgres($body).await;
            }
        }
    };
}
