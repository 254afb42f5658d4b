//! The `database` setting: a SQLite file or a PostgreSQL server, chosen by
//! the URL scheme. An unknown scheme or a bare path is an error, never a
//! silent default.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::error::ValueError;

/// The database URL used when no layer sets one.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./changedesk.db";

const EXPECTED: &str = "expected sqlite://PATH or postgres://…";

/// Where changedesk keeps its data.
///
/// `Debug` and `Display` hide the PostgreSQL password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file. A relative path is relative to the working directory
    /// of the process.
    Sqlite { path: PathBuf },
    /// A PostgreSQL server (the URL may hold a password).
    Postgres(PostgresUrl),
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH` (`sqlite:///abs/path` is absolute, `sqlite:PATH`
    /// is accepted too), `postgres://…` or `postgresql://…`. The scheme is
    /// case-insensitive; surrounding whitespace is ignored.
    ///
    /// Error messages echo at most the scheme, never the rest of the URL.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ValueError(format!("the database URL is empty: {EXPECTED}")));
        }
        let scheme = s
            .split_once(':')
            .map(|(scheme, _)| scheme)
            .filter(|scheme| {
                // one letter is a Windows drive (`C:\…`), not a scheme
                scheme.len() > 1
                    && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            });
        let Some(scheme) = scheme else {
            return Err(ValueError(format!(
                "the database URL has no scheme: {EXPECTED} (write a file path as sqlite://PATH)"
            )));
        };
        let rest = s.get(scheme.len() + 1..).unwrap_or_default();
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(ValueError(
                        "the sqlite URL has no path: expected sqlite://PATH, e.g. sqlite://./changedesk.db"
                            .into(),
                    ));
                }
                if path.contains('?') {
                    return Err(ValueError(
                        "sqlite URLs take no `?` options: expected sqlite://PATH".into(),
                    ));
                }
                Ok(DatabaseUrl::Sqlite {
                    path: PathBuf::from(path),
                })
            }
            "postgres" | "postgresql" => PostgresUrl::parse(s).map(DatabaseUrl::Postgres),
            _ => Err(ValueError(format!(
                "unsupported database URL scheme `{scheme}`: {EXPECTED}"
            ))),
        }
    }

    /// A SQLite database at `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        DatabaseUrl::Sqlite { path: path.into() }
    }

    /// The URL with any password replaced by `***`, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite { path } => sqlite_url(path),
            DatabaseUrl::Postgres(url) => url.redacted(),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite { .. })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseUrl::Postgres(_))
    }
}

impl Default for DatabaseUrl {
    fn default() -> Self {
        DatabaseUrl::sqlite("./changedesk.db")
    }
}

impl FromStr for DatabaseUrl {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatabaseUrl::parse(s)
    }
}

/// Displays the redacted URL.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A `postgres://` URL. The text is kept in a [`SecretString`]; `Debug` and
/// `Display` show it with the password (in the user-info part or a
/// `password=` / `sslpassword=` query parameter) replaced by `***`.
#[derive(Clone)]
pub struct PostgresUrl {
    url: SecretString,
}

impl PostgresUrl {
    fn parse(s: &str) -> Result<Self, ValueError> {
        let rest = s.split_once(':').map_or("", |(_, rest)| rest);
        if !rest.starts_with("//") {
            return Err(ValueError(
                "invalid postgres URL: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE".into(),
            ));
        }
        // url's ParseError messages describe the problem without the input
        Url::parse(s).map_err(|e| ValueError(format!("invalid postgres URL: {e}")))?;
        Ok(PostgresUrl { url: s.into() })
    }

    /// The full URL, password included, for connecting.
    pub fn expose_url(&self) -> &str {
        self.url.expose_secret()
    }

    /// The URL with the password replaced by `***`.
    pub fn redacted(&self) -> String {
        let Ok(mut url) = Url::parse(self.url.expose_secret()) else {
            return "postgres://***".into();
        };
        if url.password().is_some() && url.set_password(Some("***")).is_err() {
            return "postgres://***".into();
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let hidden =
                        matches!(k.to_ascii_lowercase().as_str(), "password" | "sslpassword");
                    let v = if hidden { "***".into() } else { v.into_owned() };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.into()
    }
}

impl PartialEq for PostgresUrl {
    fn eq(&self, other: &Self) -> bool {
        self.expose_url() == other.expose_url()
    }
}

impl Eq for PostgresUrl {}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PostgresUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_path(s: &str) -> PathBuf {
        match DatabaseUrl::parse(s) {
            Ok(DatabaseUrl::Sqlite { path }) => path,
            other => panic!("{s}: expected sqlite, got {other:?}"),
        }
    }

    fn err(s: &str) -> String {
        match DatabaseUrl::parse(s) {
            Err(e) => e.0,
            Ok(db) => panic!("{s}: expected an error, got {db:?}"),
        }
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(
            sqlite_path("sqlite://./changedesk.db"),
            Path::new("./changedesk.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/changedesk/db.sqlite"),
            Path::new("/var/lib/changedesk/db.sqlite")
        );
        assert_eq!(sqlite_path("sqlite:data/x.db"), Path::new("data/x.db"));
        assert_eq!(sqlite_path("sqlite://data/x.db"), Path::new("data/x.db"));
        assert_eq!(sqlite_path("SQLite://x.db"), Path::new("x.db"));
        assert_eq!(sqlite_path("  sqlite://x.db\n"), Path::new("x.db"));
    }

    #[test]
    fn default_is_the_documented_url() {
        assert_eq!(
            DatabaseUrl::parse(DEFAULT_DATABASE_URL),
            Ok(DatabaseUrl::default())
        );
        assert_eq!(DatabaseUrl::default().to_string(), DEFAULT_DATABASE_URL);
        assert_eq!(
            DatabaseUrl::sqlite("/abs/x.db").to_string(),
            "sqlite:///abs/x.db"
        );
    }

    #[test]
    fn postgres_forms() {
        for s in [
            "postgres://cd:pw@db.example:5432/changedesk",
            "postgresql://cd@localhost/changedesk",
            "postgres:///changedesk?host=/run/postgresql",
        ] {
            match DatabaseUrl::parse(s) {
                Ok(DatabaseUrl::Postgres(url)) => assert_eq!(url.expose_url(), s),
                other => panic!("{s}: {other:?}"),
            }
        }
        assert!(err("postgres:changedesk").contains("invalid postgres URL"));
        assert!(err("postgres://cd:pw@db:99999999/x").contains("invalid postgres URL"));
    }

    #[test]
    fn unknown_scheme_is_an_error() {
        assert_eq!(
            err("mysql://u:p@h/db"),
            "unsupported database URL scheme `mysql`: expected sqlite://PATH or postgres://…"
        );
    }

    #[test]
    fn bare_path_or_empty_is_an_error() {
        for s in [
            "./changedesk.db",
            "/var/lib/db.sqlite",
            "changedesk.db",
            r"C:\data\db.sqlite",
        ] {
            assert!(err(s).contains("has no scheme"), "{s}");
        }
        assert!(err("").contains("empty"));
        assert!(err("sqlite://").contains("no path"));
        assert!(err("sqlite:").contains("no path"));
        assert!(err("sqlite://x.db?mode=rwc").contains("no `?` options"));
    }

    #[test]
    fn errors_do_not_echo_the_url() {
        for s in [
            "postgres://cd:hunter2@db:99999999/x",
            "mysql://cd:hunter2@db/x",
            "cd:hunter2@db/x",
            "hunter2",
        ] {
            assert!(!err(s).contains("hunter2"), "{s}: {}", err(s));
        }
    }

    #[test]
    fn postgres_password_is_redacted() {
        let db = DatabaseUrl::parse(
            "postgres://cd:hunter2@db.example:5432/changedesk?sslmode=require&password=hunter3",
        )
        .expect("valid");
        for shown in [db.to_string(), format!("{db:?}"), db.redacted()] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("hunter3"), "{shown}");
            assert!(
                shown.contains("cd:***@db.example:5432/changedesk"),
                "{shown}"
            );
            assert!(shown.contains("sslmode=require"), "{shown}");
        }
        let no_password = DatabaseUrl::parse("postgres://cd@db/changedesk").expect("valid");
        assert_eq!(no_password.to_string(), "postgres://cd@db/changedesk");
    }
}
