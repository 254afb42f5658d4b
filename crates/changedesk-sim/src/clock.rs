//! Calendar arithmetic on Unix milliseconds, and the text forms of dates the
//! simulator writes: Graph `DateTimeOffset` strings, Message Center prose
//! ("mid-March 2026", "July 6, 2026") and service health prose
//! ("Wednesday, November 17, 2021, at 1:00 PM UTC").
//!
//! Everything here is pure integer arithmetic so the hot path of the
//! generator never touches `time`'s formatting machinery.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) const MS_PER_SEC: i64 = 1_000;
pub(crate) const MS_PER_MIN: i64 = 60 * MS_PER_SEC;
pub(crate) const MS_PER_HOUR: i64 = 60 * MS_PER_MIN;
pub(crate) const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31).
/// Howard Hinnant's `civil_from_days`.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month 1..=12, day 1..=31) to days since 1970-01-01.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)) as u32
}

pub(crate) fn day_of(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

pub(crate) fn ymd(ms: i64) -> (i64, u32, u32) {
    civil_from_days(day_of(ms))
}

/// Graph style: `2025-02-14T01:18:26.963Z`, trailing zeros of the fraction
/// trimmed the way .NET does (`.53Z`, `.5Z`, or no fraction at all).
pub(crate) fn iso(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    push_iso(&mut s, ms);
    s
}

pub(crate) fn push_iso(s: &mut String, ms: i64) {
    use std::fmt::Write;
    let (y, mo, d) = ymd(ms);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let h = in_day / MS_PER_HOUR;
    let mi = in_day % MS_PER_HOUR / MS_PER_MIN;
    let se = in_day % MS_PER_MIN / MS_PER_SEC;
    let frac = in_day % MS_PER_SEC;
    let _ = write!(s, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}");
    if frac != 0 {
        let digits = format!("{frac:03}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push('Z');
}

/// Seven fractional digits (100 ns ticks), trimmed, as in `FeatureStatusJson`:
/// `2026-08-22T20:06:00.9552878Z`.
pub(crate) fn iso_ticks(ms: i64, sub_ms_ticks: u32) -> String {
    let mut s = iso(ms - ms.rem_euclid(MS_PER_SEC));
    s.pop(); // 'Z'
    let ticks = ms.rem_euclid(MS_PER_SEC) * 10_000 + i64::from(sub_ms_ticks % 10_000);
    if ticks != 0 {
        let digits = format!("{ticks:07}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses any RFC 3339 instant to Unix milliseconds (sub-millisecond digits
/// are dropped).
pub(crate) fn parse_ms(s: &str) -> Option<i64> {
    let dt = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    Some((dt.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub(crate) fn to_ms(dt: OffsetDateTime) -> i64 {
    (dt.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// "August 14, 2026"
pub(crate) fn long_date(ms: i64) -> String {
    let (y, m, d) = ymd(ms);
    format!("{} {d}, {y}", MONTHS[(m - 1) as usize])
}

/// "Wednesday, November 17, 2021, at 1:00 PM UTC"
pub(crate) fn health_time(ms: i64) -> String {
    let day = day_of(ms);
    let wd = WEEKDAYS[day.rem_euclid(7) as usize];
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let h = in_day / MS_PER_HOUR;
    let mi = in_day % MS_PER_HOUR / MS_PER_MIN;
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{wd}, {}, at {h12}:{mi:02} {ampm} UTC", long_date(ms))
}

/// A third of a month, counted from year 0: the unit of Message Center
/// rollout wording ("early May", "mid-May", "late May").
pub(crate) fn period_of(ms: i64) -> i64 {
    let (y, m, d) = ymd(ms);
    let third = match d {
        1..=10 => 0,
        11..=20 => 1,
        _ => 2,
    };
    (y * 12 + i64::from(m) - 1) * 3 + third
}

fn period_parts(p: i64) -> (i64, usize, i64) {
    let third = p.rem_euclid(3);
    let month_index = p.div_euclid(3);
    (
        month_index.div_euclid(12),
        month_index.rem_euclid(12) as usize,
        third,
    )
}

/// "mid-March" (no year), as used in "(previously mid-March)".
pub(crate) fn period_short(p: i64) -> String {
    let (_, m, third) = period_parts(p);
    match third {
        0 => format!("early {}", MONTHS[m]),
        1 => format!("mid-{}", MONTHS[m]),
        _ => format!("late {}", MONTHS[m]),
    }
}

/// "mid-March 2026"
pub(crate) fn period_phrase(p: i64) -> String {
    let (y, _, _) = period_parts(p);
    format!("{} {y}", period_short(p))
}

/// The first instant of a period, for ordering checks.
#[cfg(test)]
pub(crate) fn period_start_ms(p: i64) -> i64 {
    let (y, m, third) = period_parts(p);
    let d = [1, 11, 21][third as usize];
    days_from_civil(y, m as u32 + 1, d) * MS_PER_DAY
}

/// How a date token found in prose was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateToken {
    /// "early May 2026", "mid-May 2026", "late May 2026"
    Period(i64),
    /// "July 6, 2026", as the day number since the epoch
    Day(i64),
}

/// Finds the date tokens in `text`: returns (start byte, end byte, token),
/// where the end also swallows an immediately following
/// " (previously ...)" note so rewriting replaces it.
pub(crate) fn find_date_tokens(text: &str) -> Vec<(usize, usize, DateToken)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut j = 0;
    while j < bytes.len() {
        if !bytes[j].is_ascii_uppercase() || (j > 0 && bytes[j - 1].is_ascii_alphabetic()) {
            j += 1;
            continue;
        }
        let Some((mi, name)) = MONTHS
            .iter()
            .enumerate()
            .find(|(_, name)| text[j..].starts_with(**name))
        else {
            j += 1;
            continue;
        };
        let after = j + name.len();
        let before = &text[..j];
        let third = if before.ends_with("early ") {
            Some((0, j - 6))
        } else if before.ends_with("mid-") {
            Some((1, j - 4))
        } else if before.ends_with("late ") {
            Some((2, j - 5))
        } else {
            None
        };
        let mut token = None;
        if let Some((third, start)) = third {
            if let Some(year) = year_at(bytes, after + 1).filter(|_| byte_is(bytes, after, b' ')) {
                let p = (year * 12 + mi as i64) * 3 + third;
                token = Some((start, after + 5, DateToken::Period(p)));
            }
        } else if byte_is(bytes, after, b' ') {
            // "July 6, 2026"
            let mut k = after + 1;
            let mut day = 0u32;
            let mut nd = 0;
            while k < bytes.len() && bytes[k].is_ascii_digit() && nd < 2 {
                day = day * 10 + u32::from(bytes[k] - b'0');
                k += 1;
                nd += 1;
            }
            if nd > 0
                && byte_is(bytes, k, b',')
                && byte_is(bytes, k + 1, b' ')
                && let Some(year) = year_at(bytes, k + 2)
            {
                let m = mi as u32 + 1;
                if day >= 1 && day <= days_in_month(year, m) {
                    token = Some((j, k + 6, DateToken::Day(days_from_civil(year, m, day))));
                }
            }
        }
        match token {
            Some((start, mut end, tok)) => {
                const NOTE: &str = " (previously ";
                if text[end..].starts_with(NOTE)
                    && let Some(close) = text[end..].find(')')
                {
                    end += close + 1;
                }
                out.push((start, end, tok));
                j = end;
            }
            None => j = after,
        }
    }
    out
}

fn byte_is(bytes: &[u8], i: usize, b: u8) -> bool {
    bytes.get(i) == Some(&b)
}

fn year_at(bytes: &[u8], i: usize) -> Option<i64> {
    let digits = bytes.get(i..i + 4)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.get(i + 4).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')),
    )
}

/// Moves every date token in `text` later: periods by `thirds` thirds of a
/// month, exact dates by `days`, appending "(previously ...)" with the old
/// value the way Message Center does. Returns the new text and how many
/// tokens moved. With `notes` false the "(previously ...)" notes are left
/// out (summaries are rewritten without them).
pub(crate) fn shift_dates(text: &str, thirds: i64, days: i64, notes: bool) -> (String, usize) {
    let tokens = find_date_tokens(text);
    if tokens.is_empty() {
        return (text.to_owned(), 0);
    }
    let mut out = String::with_capacity(text.len() + 32 * tokens.len());
    let mut cursor = 0;
    for &(start, end, tok) in &tokens {
        out.push_str(&text[cursor..start]);
        match tok {
            DateToken::Period(p) => {
                out.push_str(&period_phrase(p + thirds));
                if notes {
                    out.push_str(" (previously ");
                    out.push_str(&period_short(p));
                    out.push(')');
                }
            }
            DateToken::Day(d) => {
                let (_, m, dd) = civil_from_days(d);
                out.push_str(&long_date((d + days) * MS_PER_DAY));
                if notes {
                    out.push_str(" (previously ");
                    out.push_str(MONTHS[(m - 1) as usize]);
                    out.push(' ');
                    out.push_str(&dd.to_string());
                    out.push(')');
                }
            }
        }
        cursor = end;
    }
    out.push_str(&text[cursor..]);
    (out, tokens.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for d in [-800_000, -1, 0, 1, 19_000, 20_687, 200_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_in_month(2028, 2), 29);
        assert_eq!(days_in_month(2026, 2), 28);
    }

    #[test]
    fn iso_trims_fraction_like_dotnet() {
        let base = parse_ms("2025-02-28T21:59:19Z").unwrap();
        assert_eq!(iso(base), "2025-02-28T21:59:19Z");
        assert_eq!(iso(base + 530), "2025-02-28T21:59:19.53Z");
        assert_eq!(iso(base + 963), "2025-02-28T21:59:19.963Z");
        assert_eq!(iso(base + 500), "2025-02-28T21:59:19.5Z");
        assert_eq!(parse_ms(&iso(base + 963)), Some(base + 963));
        assert_eq!(iso_ticks(base + 955, 2878), "2025-02-28T21:59:19.9552878Z");
        assert_eq!(iso_ticks(base + 955, 2880), "2025-02-28T21:59:19.955288Z");
    }

    #[test]
    fn health_time_matches_graph_prose() {
        let t = parse_ms("2021-11-17T13:00:00Z").unwrap();
        assert_eq!(
            health_time(t),
            "Wednesday, November 17, 2021, at 1:00 PM UTC"
        );
        let t = parse_ms("2021-11-17T00:05:00Z").unwrap();
        assert_eq!(
            health_time(t),
            "Wednesday, November 17, 2021, at 12:05 AM UTC"
        );
    }

    #[test]
    fn shifting_rewrites_periods_and_days() {
        let text = "<p>We will begin rolling out mid-March 2026 and expect to complete by late April 2026.</p><p>Retired on <b>July 6, 2026</b>. In early adopters March we test.</p>";
        let (out, n) = shift_dates(text, 2, 14, true);
        assert_eq!(n, 3);
        assert!(
            out.contains("early April 2026 (previously mid-March)"),
            "{out}"
        );
        assert!(
            out.contains("mid-May 2026 (previously late April)"),
            "{out}"
        );
        assert!(out.contains("July 20, 2026 (previously July 6)"), "{out}");
        assert!(out.contains("early adopters March we test"));
        // a second shift replaces the note instead of stacking notes
        let (again, n) = shift_dates(&out, 1, 7, true);
        assert_eq!(n, 3);
        assert!(
            again.contains("mid-April 2026 (previously early April)"),
            "{again}"
        );
        assert_eq!(again.matches("previously").count(), 3);
    }

    #[test]
    fn period_phrases() {
        let t = parse_ms("2026-03-15T00:00:00Z").unwrap();
        let p = period_of(t);
        assert_eq!(period_phrase(p), "mid-March 2026");
        assert_eq!(period_phrase(p + 2), "early April 2026");
        assert_eq!(period_phrase(p - 3), "mid-February 2026");
        assert!(period_start_ms(p) <= t && t < period_start_ms(p + 1));
    }
}
