//! The TOML file layer: its shape (unknown keys are errors) and the
//! translation of TOML errors into messages with a key path and a line and
//! column, without the source snippet toml's own `Display` prints (that line
//! could hold a secret).

use std::ops::Range;

use secrecy::SecretString;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigFile;
use super::error::{ConfigError, Location, Position};

/// The whole file. Every table denies unknown keys; new sections (`[sync]`,
/// …) are added here as optional fields.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub database: Option<Spanned<String>>,
    pub log_format: Option<Spanned<String>>,
    #[serde(default)]
    pub tenants: Vec<Spanned<RawTenant>>,
    pub app: Option<Spanned<RawApp>>,
    pub sync: Option<super::sync::RawSync>,
    #[serde(default)]
    pub owners: Vec<Spanned<crate::triage::Owner>>,
    #[serde(default)]
    pub tenant_groups: Vec<Spanned<crate::triage::TenantGroup>>,
    #[serde(default)]
    pub ownership: Vec<Spanned<crate::triage::OwnershipEntry>>,
    #[serde(default)]
    pub rules: Vec<Spanned<crate::rules::RuleSpec>>,
    pub triage: Option<super::triage::RawTriage>,
    pub oidc: Option<Spanned<super::oidc::RawOidc>>,
    pub server: Option<super::server::RawServer>,
    pub notify: Option<super::notify::RawNotify>,
    pub analytics: Option<super::analytics::RawAnalytics>,
}

/// One `[[tenants]]` table. Every key is optional here: a missing key may be
/// given by the environment, and is reported after merging.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTenant {
    pub name: Option<Spanned<String>>,
    pub tenant_id: Option<Spanned<String>>,
    pub client_id: Option<Spanned<String>>,
    pub client_secret: Option<Spanned<SecretString>>,
    pub client_secret_file: Option<Spanned<String>>,
    pub certificate_file: Option<Spanned<String>>,
    pub private_key_file: Option<Spanned<String>>,
    pub cloud: Option<Spanned<String>>,
    pub login_url: Option<Spanned<String>>,
    pub graph_url: Option<Spanned<String>>,
    /// A date string, a TOML date or an RFC 3339 instant; checked when merged.
    pub secret_expires: Option<Spanned<toml::Value>>,
}

/// `[app]`: the multi-tenant app registration. The keys of a tenant but
/// `name` and `tenant_id`; every key is optional here, as for a tenant.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApp {
    pub client_id: Option<Spanned<String>>,
    pub client_secret: Option<Spanned<SecretString>>,
    pub client_secret_file: Option<Spanned<String>>,
    pub certificate_file: Option<Spanned<String>>,
    pub private_key_file: Option<Spanned<String>>,
    pub cloud: Option<Spanned<String>>,
    pub login_url: Option<Spanned<String>>,
    pub graph_url: Option<Spanned<String>>,
    pub secret_expires: Option<Spanned<toml::Value>>,
}

/// Parses and shapes the file; a syntax or shape error stops here (one
/// error, the first).
pub(super) fn parse(file: &ConfigFile<'_>) -> Result<RawFile, ConfigError> {
    let root = DeTable::parse(file.text).map_err(|e| syntax_error(file, &e))?;
    let tree = Spanned::new(root.span(), DeValue::Table(root.get_ref().clone()));
    RawFile::deserialize(toml::de::Deserializer::from(root))
        .map_err(|e| shape_error(file, &tree, &e))
}

fn location(file: &ConfigFile<'_>, offset: Option<usize>) -> Location {
    Location::File {
        path: file.path.to_owned(),
        position: offset.map(|o| Position::of_offset(file.text, o)),
    }
}

/// A TOML syntax error. The parser's messages describe the problem and what
/// was expected, not the text found; a duplicate key is named.
fn syntax_error(file: &ConfigFile<'_>, e: &toml::de::Error) -> ConfigError {
    let span = e.span();
    let mut message = format!("TOML syntax error: {}", e.message());
    if e.message() == "duplicate key"
        && let Some(key) = span.as_ref().and_then(|s| file.text.get(s.clone()))
        && is_plain_key(key)
    {
        message = format!("TOML syntax error: duplicate key `{key}`");
    }
    ConfigError {
        location: location(file, span.map(|s| s.start)),
        key: None,
        message,
    }
}

/// A well-formed file with a key or value of the wrong shape. serde's
/// "invalid type" messages quote the value, so they are rebuilt from the
/// value's type.
fn shape_error(
    file: &ConfigFile<'_>,
    tree: &Spanned<DeValue<'_>>,
    e: &toml::de::Error,
) -> ConfigError {
    let offset = e.span().map(|s| s.start);
    let found = offset.and_then(|o| locate(tree, o));
    let key = found.as_ref().map(|(path, _)| render_path(path));
    let found_type = found.as_ref().and_then(|(_, t)| *t);
    let msg = e.message();
    let expected = msg
        .split_once(", expected ")
        .map(|(_, exp)| toml_words(exp));
    let expected = expected.as_deref();
    let mut message = if msg.starts_with("invalid type:")
        || msg.starts_with("invalid value:")
        || msg.starts_with("invalid length")
    {
        match (expected, found_type) {
            (Some(exp), Some(t)) => format!("expected {exp}, found {}", article(t)),
            (Some(exp), None) => format!("wrong type or value, expected {exp}"),
            (None, _) => "wrong type or value".to_owned(),
        }
    } else if let Some(rest) = msg.strip_prefix("unknown field") {
        format!("unknown key{rest}")
    } else {
        msg.to_owned()
    };
    if key.as_deref() == Some("tenants") && found_type == Some("table") {
        message.push_str(" (write each tenant as a [[tenants]] table)");
    }
    ConfigError {
        location: location(file, offset),
        key,
        message,
    }
}

/// serde's names for what was expected, in TOML's words.
fn toml_words(expected: &str) -> String {
    if expected.starts_with("struct ") || expected == "a map" {
        "a table".to_owned()
    } else if expected == "a sequence" {
        "an array".to_owned()
    } else {
        expected.to_owned()
    }
}

/// `a string`, `an integer`: a TOML type with its article.
pub(super) fn article(type_str: &str) -> String {
    match type_str {
        "integer" | "array" => format!("an {type_str}"),
        t => format!("a {t}"),
    }
}

enum Segment {
    Key(String),
    Index(usize),
}

/// A key (with its span) or an array index, and the value under it.
type Child<'a, 'i> = (Segment, Option<Range<usize>>, &'a Spanned<DeValue<'i>>);

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && (offset < span.end || span.start == span.end)
}

/// The key path of the deepest key or value at `offset`, and the type of the
/// value when the offset is in a value (not a key). The span of an array of
/// tables item is only its `[[header]]`, so children are searched whether or
/// not the parent's span contains the offset.
fn locate(
    value: &Spanned<DeValue<'_>>,
    offset: usize,
) -> Option<(Vec<Segment>, Option<&'static str>)> {
    let children: Vec<Child<'_, '_>> = match value.get_ref() {
        DeValue::Table(t) => t
            .iter()
            .map(|(k, v)| (Segment::Key(k.get_ref().to_string()), Some(k.span()), v))
            .collect(),
        DeValue::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (Segment::Index(i), None, v))
            .collect(),
        _ => return None,
    };
    for (segment, key_span, child) in children {
        if key_span.as_ref().is_some_and(|s| contains(s, offset)) {
            return Some((vec![segment], None));
        }
        if let Some((mut path, found)) = locate(child, offset) {
            path.insert(0, segment);
            return Some((path, found));
        }
        if contains(&child.span(), offset) {
            return Some((vec![segment], Some(child.get_ref().type_str())));
        }
    }
    None
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if is_plain_key(k) {
                    out.push_str(k);
                } else {
                    out.push_str(&format!("{k:?}"));
                }
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ConfigError {
        match parse(&ConfigFile {
            path: "t.toml",
            text,
        }) {
            Err(e) => e,
            Ok(_) => panic!("expected an error for {text:?}"),
        }
    }

    #[test]
    fn empty_file_is_fine() {
        let raw = parse(&ConfigFile {
            path: "t.toml",
            text: "",
        })
        .expect("parses");
        assert!(raw.database.is_none() && raw.tenants.is_empty());
    }

    #[test]
    fn unknown_top_level_key() {
        let e = error("database = \"sqlite://x\"\n\ndatabse = \"x\"\n");
        assert_eq!(
            e.to_string(),
            "t.toml:3:1: databse: unknown key `databse`, expected one of `database`, `log_format`, `tenants`, `app`, `sync`, `owners`, `tenant_groups`, `ownership`, `rules`, `triage`, `oidc`, `server`, `notify`, `analytics`"
        );
    }

    #[test]
    fn unknown_key_in_second_tenant() {
        let text = "[[tenants]]\nname = \"a\"\n\n[[tenants]]\nname = \"b\"\n  clod = \"global\"\n";
        let e = error(text);
        assert_eq!(e.key.as_deref(), Some("tenants[1].clod"));
        assert_eq!(e.location.to_string(), "t.toml:6:3", "{e}");
        assert!(e.message.starts_with("unknown key `clod`"), "{e}");
    }

    #[test]
    fn unknown_section() {
        let e = error("[sink]\na = 1\n");
        assert_eq!(e.key.as_deref(), Some("sink"));
        assert!(
            e.to_string()
                .starts_with("t.toml:1:2: sink: unknown key `sink`"),
            "{e}"
        );
    }

    #[test]
    fn wrong_types_do_not_echo_values() {
        let e = error("[[tenants]]\nname = \"a\"\nclient_secret = 123456789\n");
        assert_eq!(
            e.to_string(),
            "t.toml:3:17: tenants[0].client_secret: expected a string, found an integer"
        );
        let e = error("tenants = \"s3cret-ish\"\n");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert_eq!(e.key.as_deref(), Some("tenants"));
    }

    #[test]
    fn single_tenants_table_gets_a_hint() {
        let e = error("[tenants]\nname = \"a\"\n");
        assert_eq!(
            e.to_string(),
            "t.toml:1:1: tenants: expected an array, found a table (write each tenant as a [[tenants]] table)"
        );
        let e = error("tenants = [1]\n");
        assert_eq!(
            e.to_string(),
            "t.toml:1:12: tenants[0]: expected a table, found an integer"
        );
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = error("database = \"sqlite://x\"\n[[tenants]]\nname = contoso\n");
        assert_eq!(e.location.to_string(), "t.toml:3:8");
        assert!(e.message.starts_with("TOML syntax error: "), "{e}");
        assert!(!e.message.contains("contoso"), "{e}");

        let e = error("[[tenants]]\nname = \"a\"\nname = \"b\"\n");
        assert_eq!(
            e.to_string(),
            "t.toml:3:1: TOML syntax error: duplicate key `name`"
        );
    }

    #[test]
    fn syntax_errors_on_secret_lines_do_not_echo_the_secret() {
        for text in [
            "[[tenants]]\nclient_secret = \"hunter2\\q\"\n",
            "[[tenants]]\nclient_secret = hunter2\n",
            "[[tenants]]\nclient_secret = \"hunter2\n",
            "[[tenants]]\nclient_secret = 'hunter2\n",
            "[[tenants]]\nclient_secret = \"\"\"hunter2\n",
            "[[tenants]]\nclient_secret = \"hunter2\" x\n",
            "[[tenants]]\nclient_secret = [\"hunter2\"\n",
            "database = \"postgres://u:hunter2@h/db\" = 1\n",
        ] {
            let e = error(text);
            assert!(!e.to_string().contains("hunter2"), "{text:?}: {e}");
        }
    }

    #[test]
    fn paths_render_quoted_keys() {
        let e = error("[[tenants]]\n\"we ird\" = 1\n");
        assert_eq!(e.key.as_deref(), Some("tenants[0].\"we ird\""));
    }
}
