//! What the triage types share: the text-enum macro, parse and validation
//! errors, and the rules for names, labels and free text.

use std::fmt;

/// Declares a fieldless enum whose text form is snake_case: `as_str`,
/// `ALL`, `NAMES`, `Display`, `FromStr` (case-insensitive; `-` and spaces
/// read as `_`; the error lists the valid values) and string serde.
macro_rules! text_enum {
    (
        $(#[$m:meta])*
        pub enum $name:ident: $kind:literal {
            $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Every value's text form, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The snake_case text form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::triage::ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = $crate::triage::common::enum_key(s);
                $(if wanted == $text { return Ok($name::$variant); })+
                Err($crate::triage::ParseEnumError::new($kind, s, Self::NAMES))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

/// Normalises enum text for comparison: trimmed, lower case, `-` and
/// spaces as `_`.
pub(crate) fn enum_key(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A value that is not one of an enum's text forms.
///
/// Displays as ``unknown priority `urgent` (expected one of: low, normal,
/// high, critical)``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}` (expected one of: {})", expected.join(", "))]
pub struct ParseEnumError {
    /// What was being read, e.g. `priority`.
    pub kind: &'static str,
    /// The text given, shortened to 40 characters.
    pub value: String,
    /// The valid values.
    pub expected: &'static [&'static str],
}

impl ParseEnumError {
    /// The error for `value`, which is not a `kind`.
    pub fn new(kind: &'static str, value: &str, expected: &'static [&'static str]) -> Self {
        ParseEnumError {
            kind,
            value: shorten(value.trim(), 40),
            expected,
        }
    }
}

/// One problem with an owner, a tenant group, an ownership entry or a
/// policy. Displays as `what: message`, e.g.
/// ``owner `alice`: email `alice` must contain exactly one @``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{what}: {message}")]
pub struct ValidationError {
    /// Which item, e.g. ``owner `alice` `` or `owners[3]`.
    pub what: String,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl ValidationError {
    pub(crate) fn new(what: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            what: what.into(),
            message: message.into(),
        }
    }
}

/// Every problem found, in order (never empty when returned as an error).
/// Displays one problem per line.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// `Ok(())` when no problem was found.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }

    /// How many problems were found.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no problem was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn push(&mut self, what: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError::new(what, message));
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// The longest owner, group or tenant name.
pub const MAX_NAME_LEN: usize = 64;
/// The longest label.
pub const MAX_LABEL_LEN: usize = 64;
/// The longest reason, comment or note, in characters.
pub const MAX_TEXT_LEN: usize = 4000;

/// Actor names reserved for automatic changes; no owner may use them.
pub const RESERVED_NAMES: &[&str] = &["rules", "system"];

/// At most `max` characters of `s`, with `…` when cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// An owner or tenant group name: trimmed and lower-cased, 1–64 characters
/// of `a-z 0-9 . _ -`, starting with a letter or a digit. `kind` names it
/// in messages (`owner name`).
pub(crate) fn slug(kind: &str, s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("{kind} is empty"));
    }
    let shown = shorten(t, 40);
    if t.chars().count() > MAX_NAME_LEN {
        return Err(format!(
            "{kind} `{shown}` is longer than {MAX_NAME_LEN} characters"
        ));
    }
    let lower = t.to_ascii_lowercase();
    if !lower
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        return Err(format!(
            "{kind} `{shown}` may hold only letters a-z, digits, `.`, `_` and `-`"
        ));
    }
    if !lower
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return Err(format!(
            "{kind} `{shown}` must start with a letter or a digit"
        ));
    }
    Ok(lower)
}

/// A person's name as an owner: a [`slug`] that is not reserved.
pub(crate) fn owner_name(s: &str) -> Result<String, String> {
    let name = slug("owner name", s)?;
    if RESERVED_NAMES.contains(&name.as_str()) {
        return Err(format!(
            "owner name `{name}` is reserved for automatic changes (reserved: {})",
            RESERVED_NAMES.join(", ")
        ));
    }
    Ok(name)
}

/// A tenant name as the configuration writes it: trimmed and lower-cased,
/// 1–64 characters of `a-z 0-9 _ -`, starting with a letter or a digit.
pub(crate) fn tenant_name(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("tenant name is empty".to_string());
    }
    let shown = shorten(t, 40);
    let lower = t.to_ascii_lowercase();
    if lower.chars().count() > MAX_NAME_LEN {
        return Err(format!(
            "tenant name `{shown}` is longer than {MAX_NAME_LEN} characters"
        ));
    }
    if !lower
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
    {
        return Err(format!(
            "tenant name `{shown}` may hold only letters a-z, digits, `_` and `-`"
        ));
    }
    if !lower
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return Err(format!(
            "tenant name `{shown}` must start with a letter or a digit"
        ));
    }
    Ok(lower)
}

/// A label: trimmed and lower-cased, 1–64 characters, no control
/// characters and no commas (labels are shown comma-separated).
pub(crate) fn label(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("label is empty".to_string());
    }
    let shown = shorten(t, 40);
    if t.chars().count() > MAX_LABEL_LEN {
        return Err(format!(
            "label `{shown}` is longer than {MAX_LABEL_LEN} characters"
        ));
    }
    if t.chars().any(|c| c.is_control() || c == ',') {
        return Err(format!(
            "label `{}` may not hold commas or control characters",
            shown.escape_debug()
        ));
    }
    Ok(t.to_lowercase())
}

/// Free text (a reason, a comment, a note): trimmed; `None` when empty;
/// at most 4000 characters.
pub(crate) fn text(kind: &str, s: &str) -> Result<Option<String>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > MAX_TEXT_LEN {
        return Err(format!("{kind} is longer than {MAX_TEXT_LEN} characters"));
    }
    Ok(Some(t.to_string()))
}

/// Sort key for post ids: shorter first, then as text, so `MC99999` comes
/// before `MC1005517`.
pub(crate) fn id_key(id: &str) -> (usize, &str) {
    (id.len(), id)
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `time::Duration` as the text `parse_duration` reads (`7d`, `1d12h`,
/// `0s`), for policies in configuration files and JSON.
pub(crate) mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};

    /// `90m`, `1d12h`, `2w`; `0s` for zero; negative durations as zero.
    pub fn format(d: time::Duration) -> String {
        let mut secs = d.whole_seconds().max(0);
        if secs == 0 {
            return "0s".to_string();
        }
        let mut out = String::new();
        for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
            if secs >= size {
                out.push_str(&format!("{}{unit}", secs / size));
                secs %= size;
            }
        }
        if secs > 0 {
            out.push_str(&format!("{secs}s"));
        }
        out
    }

    pub fn serialize<S: Serializer>(d: &time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<time::Duration, D::Error> {
        let s = String::deserialize(d)?;
        crate::duration::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowered_and_checked() {
        assert_eq!(slug("owner name", " Alice.B-1 ").unwrap(), "alice.b-1");
        assert_eq!(slug("owner name", "").unwrap_err(), "owner name is empty");
        assert_eq!(
            slug("owner name", "al ice").unwrap_err(),
            "owner name `al ice` may hold only letters a-z, digits, `.`, `_` and `-`"
        );
        assert_eq!(
            slug("owner name", "-x").unwrap_err(),
            "owner name `-x` must start with a letter or a digit"
        );
        assert!(slug("owner name", &"a".repeat(64)).is_ok());
        assert!(slug("owner name", &"a".repeat(65)).is_err());
        assert!(slug("owner name", "émile").is_err());
        assert!(owner_name("System").unwrap_err().contains("reserved"));
    }

    #[test]
    fn tenant_names_follow_the_configuration_rule() {
        assert_eq!(tenant_name("Contoso-EU").unwrap(), "contoso-eu");
        assert!(tenant_name("contoso.eu").is_err());
        assert!(tenant_name("_x").is_err());
        assert!(tenant_name(" ").is_err());
    }

    #[test]
    fn labels_and_text() {
        assert_eq!(label(" Needs-Comms ").unwrap(), "needs-comms");
        assert!(label("a,b").is_err());
        assert!(label("a\nb").is_err());
        assert!(label("").is_err());
        assert_eq!(text("reason", "  ").unwrap(), None);
        assert_eq!(text("reason", " x ").unwrap().as_deref(), Some("x"));
        assert!(text("reason", &"x".repeat(4001)).is_err());
    }

    #[test]
    fn durations_format_as_parse_duration_reads_them() {
        for s in ["0s", "90m", "1d12h", "2w", "1w1d1h1m1s"] {
            let d = crate::duration::parse_duration(s).unwrap();
            let f = duration_text::format(d);
            assert_eq!(crate::duration::parse_duration(&f).unwrap(), d, "{s} → {f}");
        }
        assert_eq!(duration_text::format(time::Duration::minutes(90)), "1h30m");
        assert_eq!(duration_text::format(time::Duration::seconds(-5)), "0s");
    }

    #[test]
    fn lists_read_naturally() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(or_list(&v(&[])), "");
        assert_eq!(or_list(&v(&["a"])), "a");
        assert_eq!(or_list(&v(&["a", "b", "c"])), "a, b or c");
        assert!(id_key("MC99999") < id_key("MC1005517"));
    }
}
