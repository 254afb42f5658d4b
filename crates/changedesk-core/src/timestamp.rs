//! Instants as changedesk stores and compares them.
//!
//! Graph sends `DateTimeOffset` strings with fractional seconds of varying
//! length (`.963Z`, `.53Z`, seven digits in `FeatureStatusJson`). PostgreSQL
//! keeps microseconds, so every instant is truncated to microseconds on the
//! way in: a value read back always compares equal to the value parsed.
//! The canonical text form (`2025-02-14T01:18:26.963000Z`) has a fixed width,
//! so it sorts chronologically as text on both databases.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A UTC instant with microsecond precision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A string that is not a date and time changedesk understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a date and time (expected ISO 8601, e.g. 2025-02-14T01:18:26Z)")]
pub struct TimestampError(pub String);

impl Timestamp {
    /// Wraps an instant, converting it to UTC and truncating it to microseconds.
    pub fn from_datetime(dt: OffsetDateTime) -> Self {
        let dt = dt.to_offset(UtcOffset::UTC);
        let micros = dt.microsecond();
        // replace_microsecond cannot fail for a value taken from the same instant
        let dt = dt.replace_microsecond(micros).unwrap_or(dt);
        Timestamp(dt)
    }

    /// Seconds since the Unix epoch.
    pub fn from_unix(secs: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .map(Self::from_datetime)
    }

    /// The current instant, from the system clock.
    ///
    /// The only clock read in core; callers that need a settable clock pass
    /// instants explicitly instead of calling this.
    pub fn now_utc() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// Parses the forms seen in Graph and roadmap data: RFC 3339 with any
    /// number of fractional digits, a date and time without an offset (read
    /// as UTC), or a bare date (midnight UTC).
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        let t = s.trim();
        if let Ok(dt) = OffsetDateTime::parse(t, &Rfc3339) {
            return Ok(Self::from_datetime(dt));
        }
        // lowercase 'z' or 't' are accepted by RFC 3339 readers in the wild
        let upper = t.to_ascii_uppercase();
        if upper != t
            && let Ok(dt) = OffsetDateTime::parse(&upper, &Rfc3339)
        {
            return Ok(Self::from_datetime(dt));
        }
        let no_zone = format_description!(
            version = 2,
            "[year]-[month]-[day][first [T] [ ]][hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
        );
        if let Ok(pdt) = PrimitiveDateTime::parse(&upper, &no_zone) {
            return Ok(Self::from_datetime(pdt.assume_utc()));
        }
        let date_only = format_description!("[year]-[month]-[day]");
        if let Ok(d) = time::Date::parse(t, &date_only) {
            return Ok(Self::from_datetime(d.midnight().assume_utc()));
        }
        Err(TimestampError(truncate_for_message(s)))
    }

    /// The canonical, fixed-width, sortable text form.
    pub fn to_canonical(&self) -> String {
        let f = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        self.0
            .format(&f)
            .unwrap_or_else(|_| self.0.unix_timestamp().to_string())
    }

    /// A short human form: `2025-02-14 01:18 UTC`.
    pub fn human(&self) -> String {
        let f = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
        self.0.format(&f).unwrap_or_else(|_| self.to_canonical())
    }

    /// The date alone: `2025-02-14`.
    pub fn date(&self) -> String {
        let f = format_description!("[year]-[month]-[day]");
        self.0.format(&f).unwrap_or_else(|_| self.to_canonical())
    }

    pub fn as_datetime(&self) -> OffsetDateTime {
        self.0
    }

    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// This instant moved by a signed duration, saturating at the limits.
    pub fn saturating_add(&self, d: time::Duration) -> Self {
        Timestamp(self.0.saturating_add(d))
    }
}

fn truncate_for_message(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_canonical())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_canonical())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_graph_forms_and_truncates_to_micros() {
        let a = Timestamp::parse("2025-07-10T23:26:38.5775946Z").unwrap();
        assert_eq!(a.to_canonical(), "2025-07-10T23:26:38.577594Z");
        let b = Timestamp::parse("2025-02-28T21:59:19.53Z").unwrap();
        assert_eq!(b.to_canonical(), "2025-02-28T21:59:19.530000Z");
        let c = Timestamp::parse("2021-11-17T13:00:00Z").unwrap();
        assert_eq!(c.to_canonical(), "2021-11-17T13:00:00.000000Z");
        let d = Timestamp::parse("2026-02-13T23:15:55").unwrap();
        assert_eq!(d.to_canonical(), "2026-02-13T23:15:55.000000Z");
        let e = Timestamp::parse("2026-02-13").unwrap();
        assert_eq!(e.to_canonical(), "2026-02-13T00:00:00.000000Z");
        let f = Timestamp::parse("2026-02-13T01:00:00+02:00").unwrap();
        assert_eq!(f.to_canonical(), "2026-02-12T23:00:00.000000Z");
        assert!(Timestamp::parse("soon").is_err());
        assert!(Timestamp::parse("").is_err());
    }

    #[test]
    fn canonical_round_trips_and_sorts() {
        let a = Timestamp::parse("2025-07-10T23:26:38.5775946Z").unwrap();
        let back = Timestamp::parse(&a.to_canonical()).unwrap();
        assert_eq!(a, back);
        let later = Timestamp::parse("2025-07-10T23:26:39Z").unwrap();
        assert!(a < later);
        assert!(a.to_canonical() < later.to_canonical());
    }
}
