//! Runs each scenario on SQLite (always) and PostgreSQL (when
//! `CHANGEDESK_TEST_PG_URL` is set). Each PostgreSQL test gets a database of
//! its own, created here and dropped afterwards. When the variable is set but
//! the server cannot be reached, the test fails: it does not skip.

use std::future::Future;
use std::str::FromStr;

use changedesk_store::{Location, OpenMode, Store};
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

pub async fn with_sqlite<F, Fut>(f: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_sqlite(&dir.path().join("test.db"), OpenMode::ReadWrite)
        .await
        .expect("open sqlite");
    f(store.clone()).await;
    store.close().await;
}

/// A freshly created PostgreSQL database, dropped when the test ends.
pub struct PgDatabase {
    admin: PgConnectOptions,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> Option<PgDatabase> {
        let base = match std::env::var("CHANGEDESK_TEST_PG_URL") {
            Ok(u) if !u.trim().is_empty() => u,
            _ => {
                eprintln!("skipping the PostgreSQL run: CHANGEDESK_TEST_PG_URL is not set");
                return None;
            }
        };
        let admin =
            PgConnectOptions::from_str(&base).expect("CHANGEDESK_TEST_PG_URL is not a valid URL");
        let name = format!("changedesk_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin.connect().await.unwrap_or_else(|e| {
            panic!("CHANGEDESK_TEST_PG_URL is set but PostgreSQL is unreachable: {e}")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&base).expect("CHANGEDESK_TEST_PG_URL is not a valid URL");
        url.set_path(&format!("/{name}"));
        Some(PgDatabase {
            admin,
            name,
            url: url.to_string(),
        })
    }

    pub async fn drop_db(self) {
        if let Ok(mut conn) = self.admin.connect().await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

pub async fn with_postgres<F, Fut>(f: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    let store = Store::open(&Location::Postgres(db.url.clone()), OpenMode::ReadWrite)
        .await
        .expect("open postgres");
    f(store.clone()).await;
    store.close().await;
    db.drop_db().await;
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
