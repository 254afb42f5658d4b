//! Configuration errors: where a problem is (file line, environment
//! variable or command-line flag), which key, and what is wrong.
//!
//! Messages never contain a secret value: they name keys, variables and
//! file paths, and echo only values that cannot be secret (tenant names,
//! clouds, GUIDs, URL schemes).

use std::fmt;

/// A line and column in the configuration file, both counted from 1.
/// Columns count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before.get(line_start..).unwrap_or_default().chars().count() + 1,
        }
    }
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The configuration file; `position` is `None` only when the TOML
    /// library gave no position.
    File {
        path: String,
        position: Option<Position>,
    },
    /// An environment variable, by name.
    Env { var: String },
    /// A command-line flag, such as `--database`.
    Cli { flag: String },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File {
                path,
                position: Some(p),
            } => write!(f, "{path}:{}:{}", p.line, p.column),
            Location::File {
                path,
                position: None,
            } => f.write_str(path),
            Location::Env { var } => f.write_str(var),
            Location::Cli { flag } => f.write_str(flag),
        }
    }
}

/// One problem with the configuration.
///
/// Displays as `changedesk.toml:14:9: tenants[1].cloud: unknown cloud …`
/// for the file and `CHANGEDESK_TENANTS__CONTOSO__CLOUD: unknown cloud …`
/// for the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub location: Location,
    /// The key path in the file (`tenants[1].cloud`, 0-based index); `None`
    /// when the location is not the file or the problem is the whole file.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found, in the order found (never empty when returned as an
/// error), and the warnings about unrecognised environment variables, which
/// often explain an error (a misspelt variable leaves a key unset).
///
/// Displays one error per line, then one `warning: …` line per warning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<String>,
}

impl ConfigErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors {
            errors: vec![e],
            warnings: Vec::new(),
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors.iter().map(|e| e.to_string());
        let warnings = self.warnings.iter().map(|w| format!("warning: {w}"));
        for (i, line) in errors.chain(warnings).enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&line)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A single value that is not valid, without location (for example from
/// [`super::DatabaseUrl::parse`] or [`super::Cloud`]'s `FromStr`). The
/// message never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters_from_one() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(
            Position::of_offset(text, 0),
            Position { line: 1, column: 1 }
        );
        // the second '=' is byte 10: "a = 1\n" is 6 bytes, 'é' is 2
        assert_eq!(
            Position::of_offset(text, 10),
            Position { line: 2, column: 4 }
        );
        // past the end and inside a multi-byte character do not panic
        assert_eq!(Position::of_offset(text, 999).line, 3);
        assert_eq!(
            Position::of_offset(text, 8),
            Position { line: 2, column: 2 }
        );
    }

    #[test]
    fn errors_display_one_per_line() {
        let mut errors = ConfigErrors::from(ConfigError {
            location: Location::Cli {
                flag: "--database".into(),
            },
            key: None,
            message: "first".into(),
        });
        errors.errors = vec![
            ConfigError {
                location: Location::File {
                    path: "changedesk.toml".into(),
                    position: Some(Position {
                        line: 14,
                        column: 9,
                    }),
                },
                key: Some("tenants[1].cloud".into()),
                message: "unknown cloud".into(),
            },
            ConfigError {
                location: Location::Env {
                    var: "CHANGEDESK_DATABASE".into(),
                },
                key: None,
                message: "bad".into(),
            },
        ];
        assert_eq!(
            errors.to_string(),
            "changedesk.toml:14:9: tenants[1].cloud: unknown cloud\nCHANGEDESK_DATABASE: bad"
        );
        errors
            .warnings
            .push("CHANGEDESK_X is not a changedesk setting".into());
        assert!(
            errors
                .to_string()
                .ends_with("bad\nwarning: CHANGEDESK_X is not a changedesk setting")
        );
    }
}
