//! Test support (feature `testing`): fresh archives on SQLite and on
//! PostgreSQL, for this crate's conformance suite and other crates' tests.
//!
//! PostgreSQL runs only when `CHANGEDESK_TEST_PG_URL` is set; each archive
//! then gets a database of its own, created here and dropped afterwards. Set
//! but unreachable is a failure (a panic), never a silent skip.

use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

use crate::{Location, OpenMode, Store};

/// A fresh archive and what it takes to clean it up.
pub struct TestStore {
    pub store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin: Box<PgConnectOptions>,
        name: String,
    },
}

impl TestStore {
    /// A SQLite archive in a temporary directory.
    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_sqlite(&dir.path().join("test.db"), OpenMode::ReadWrite)
            .await
            .expect("open sqlite");
        TestStore {
            store,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// The URL of a fresh PostgreSQL database, or `None` (with a message)
    /// when `CHANGEDESK_TEST_PG_URL` is not set. The caller drops it with
    /// [`drop_postgres_database`].
    pub async fn postgres_database() -> Option<(String, PgConnectOptions, String)> {
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
        Some((url.to_string(), admin, name))
    }

    /// A PostgreSQL archive in a database of its own, or `None` when
    /// `CHANGEDESK_TEST_PG_URL` is not set.
    pub async fn postgres() -> Option<TestStore> {
        let (url, admin, name) = Self::postgres_database().await?;
        let store = Store::open(&Location::Postgres(url), OpenMode::ReadWrite)
            .await
            .expect("open postgres");
        Some(TestStore {
            store,
            cleanup: Cleanup::Postgres {
                admin: Box::new(admin),
                name,
            },
        })
    }

    /// Closes the archive and removes its database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Cleanup::Postgres { admin, name } = self.cleanup {
            drop_postgres_database(&admin, &name).await;
        }
    }
}

/// Drops a database made by [`TestStore::postgres_database`].
pub async fn drop_postgres_database(admin: &PgConnectOptions, name: &str) {
    if let Ok(mut conn) = admin.connect().await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

/// Runs `f` on a fresh SQLite archive, then on a fresh PostgreSQL one when
/// `CHANGEDESK_TEST_PG_URL` is set.
pub async fn on_each_backend<F, Fut>(f: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let s = TestStore::sqlite().await;
    f(s.store.clone()).await;
    s.finish().await;
    if let Some(p) = TestStore::postgres().await {
        f(p.store.clone()).await;
        p.finish().await;
    }
}
