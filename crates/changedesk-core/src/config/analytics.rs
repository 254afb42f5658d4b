//! The `[analytics]` section: the working-day calendar and the SLA targets
//! of the analytics ([`crate::metrics`], `docs/ANALYTICS.md`).
//!
//! ```toml
//! [analytics]
//! working_days = ["monday", "tuesday", "wednesday", "thursday", "friday"]
//! holidays = ["2026-12-25", 2026-12-26]     # strings or TOML dates
//! triage_within_days = 5
//! major_triage_within_days = 2
//! close_within_days = 30                    # no close target when left out
//! ```
//!
//! Every key is optional; a target is a number of working days (an integer
//! or a float) greater than zero.

use std::collections::BTreeSet;

use serde::Deserialize;
use time::Date;
use toml::Spanned;

use super::merge::{Origin, Reporter};
use crate::metrics::{AnalyticsSettings, parse_weekday};
use crate::text::clip_chars;

/// `[analytics]` as written in the file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAnalytics {
    pub working_days: Option<Spanned<Vec<Spanned<String>>>>,
    pub holidays: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub triage_within_days: Option<Spanned<toml::Value>>,
    pub major_triage_within_days: Option<Spanned<toml::Value>>,
    pub close_within_days: Option<Spanned<toml::Value>>,
}

fn at<T>(s: &Spanned<T>) -> Origin {
    Origin::File(s.span().start)
}

/// Checks `[analytics]`; every problem is reported, and a bad value leaves
/// its default in place.
pub(super) fn build(rep: &mut Reporter<'_>, raw: Option<RawAnalytics>) -> AnalyticsSettings {
    let mut out = AnalyticsSettings::default();
    let Some(raw) = raw else { return out };

    if let Some(days) = &raw.working_days {
        let mut weekdays = Vec::new();
        let mut ok = true;
        for (i, d) in days.get_ref().iter().enumerate() {
            match parse_weekday(d.get_ref()) {
                Some(w) if weekdays.contains(&w) => {}
                Some(w) => weekdays.push(w),
                None => {
                    ok = false;
                    rep.error(
                        &at(d),
                        &format!("analytics.working_days[{i}]"),
                        format!(
                            "`{}` is not a weekday (monday … sunday)",
                            clip_chars(d.get_ref(), 20)
                        ),
                    );
                }
            }
        }
        if days.get_ref().is_empty() {
            rep.error(
                &at(days),
                "analytics.working_days",
                "give at least one working day (monday … sunday)",
            );
        } else if ok {
            out.calendar.working_weekdays = weekdays;
        }
    }

    if let Some(days) = &raw.holidays {
        let mut holidays = BTreeSet::new();
        for (i, d) in days.get_ref().iter().enumerate() {
            match holiday(d.get_ref()) {
                Ok(day) => {
                    holidays.insert(day);
                }
                Err(message) => {
                    rep.error(&at(d), &format!("analytics.holidays[{i}]"), message);
                }
            }
        }
        out.calendar.holidays = holidays;
    }

    let mut target = |key: &str, value: &Option<Spanned<toml::Value>>| {
        let v = value.as_ref()?;
        match days(v.get_ref()) {
            Ok(d) => Some(d),
            Err(message) => {
                rep.error(&at(v), &format!("analytics.{key}"), message);
                None
            }
        }
    };
    if let Some(d) = target("triage_within_days", &raw.triage_within_days) {
        out.sla.triage_days = d;
    }
    if let Some(d) = target("major_triage_within_days", &raw.major_triage_within_days) {
        out.sla.major_triage_days = d;
    }
    out.sla.close_days = target("close_within_days", &raw.close_within_days);
    out
}

/// A holiday: `"YYYY-MM-DD"` or a TOML local date.
fn holiday(value: &toml::Value) -> Result<Date, String> {
    const FORM: &str = "a date YYYY-MM-DD, e.g. \"2026-12-25\"";
    match value {
        toml::Value::String(s) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            Date::parse(s.trim(), &format)
                .map_err(|_| format!("`{}` is not {FORM}", clip_chars(s, 40)))
        }
        toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => time::Month::try_from(d.month)
                .ok()
                .and_then(|m| Date::from_calendar_date(i32::from(d.year), m, d.day).ok())
                .ok_or_else(|| format!("not a valid date: expected {FORM}")),
            _ => Err(format!("expected {FORM}, found a date and time")),
        },
        other => Err(format!(
            "expected {FORM}, found {}",
            super::file::article(other.type_str())
        )),
    }
}

/// A target: a number of working days greater than zero.
fn days(value: &toml::Value) -> Result<f64, String> {
    let d = match value {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        other => {
            return Err(format!(
                "expected a number of working days (e.g. 5), found {}",
                super::file::article(other.type_str())
            ));
        }
    };
    if !d.is_finite() || d <= 0.0 {
        return Err(format!(
            "must be a number of working days greater than zero, not {d}"
        ));
    }
    Ok(d)
}
