//! How a channel delivers: its kind, its recipients, its batching window
//! and its quiet hours. Pure values; the server's worker applies them.
//!
//! **Batching.** E-mail, Teams and Slack channels gather events for
//! [`ChannelSettings::batch_minutes`] after the first one (several posts in
//! one message); webhooks never batch (automation wants one event per
//! request). **Quiet hours** defer what would be sent inside them, in the
//! channel's time zone, to their end, except what the channel marks urgent.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{ChannelFilter, Event};
use crate::timestamp::Timestamp;

/// The default batching window of e-mail, Teams and Slack channels.
pub const DEFAULT_BATCH_MINUTES: u32 = 5;

/// The longest batching window: a day (digests are for longer spans).
pub const MAX_BATCH_MINUTES: u32 = 24 * 60;

/// The most recipients of one e-mail channel.
pub const MAX_RECIPIENTS: usize = 100;

/// Where a channel's messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// A signed Standard Webhooks endpoint: one event per request.
    Webhook,
    /// E-mail to a list of addresses, through the configured transport
    /// (SMTP, Microsoft Graph, or a directory of `.eml` files).
    Email,
    /// A Microsoft Teams Workflows webhook: Adaptive Cards.
    Teams,
    /// A Slack incoming webhook: Block Kit.
    Slack,
    /// A ServiceNow instance (a connector: change requests).
    ServiceNow,
    /// A Jira Cloud site (a connector: issues).
    Jira,
    /// A GLPI server (a connector: changes).
    Glpi,
    /// Microsoft Planner through Graph (a connector: tasks in a plan).
    Planner,
}

impl ChannelKind {
    /// Every kind.
    pub const ALL: &'static [ChannelKind] = &[
        ChannelKind::Webhook,
        ChannelKind::Email,
        ChannelKind::Teams,
        ChannelKind::Slack,
        ChannelKind::ServiceNow,
        ChannelKind::Jira,
        ChannelKind::Glpi,
        ChannelKind::Planner,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
            ChannelKind::Teams => "teams",
            ChannelKind::Slack => "slack",
            ChannelKind::ServiceNow => "servicenow",
            ChannelKind::Jira => "jira",
            ChannelKind::Glpi => "glpi",
            ChannelKind::Planner => "planner",
        }
    }

    /// Whether it is a connector to a change-control system (it hears only
    /// of the change requests addressed to it, and raises tickets).
    pub fn is_connector(self) -> bool {
        matches!(
            self,
            ChannelKind::ServiceNow | ChannelKind::Jira | ChannelKind::Glpi | ChannelKind::Planner
        )
    }

    /// Whether messages of this kind gather several events (all but
    /// webhooks).
    pub fn batches(self) -> bool {
        matches!(
            self,
            ChannelKind::Email | ChannelKind::Teams | ChannelKind::Slack
        )
    }

    /// Whether the destination is a URL (webhook, Teams, Slack: a secret;
    /// a connector: its system's address).
    pub fn has_url(self) -> bool {
        self != ChannelKind::Email
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChannelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<ChannelKind, String> {
        let t = s.trim();
        ChannelKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                format!(
                    "unknown channel kind `{}` (expected one of: {})",
                    crate::text::clip_chars(t, 40),
                    ChannelKind::ALL
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

/// A time of day, minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    /// `hh:mm`, 00:00 to 23:59.
    pub fn parse(s: &str) -> Result<TimeOfDay, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "`{}` is not a time of day (hh:mm, 00:00 to 23:59)",
                crate::text::clip_chars(t, 20)
            )
        };
        let (h, m) = t.split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(TimeOfDay(h * 60 + m))
    }

    /// Minutes after midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// Quiet hours: nothing is sent from `from` to `to` (local time of
/// `time_zone`; `to` before `from` spans midnight), except events the
/// `urgent` filter matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `hh:mm`.
    pub from: String,
    /// `hh:mm`.
    pub to: String,
    /// An IANA time zone (`Europe/Paris`); `UTC` by default.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// What still goes out at once (e.g. critical severity); `None`:
    /// nothing.
    #[serde(default)]
    pub urgent: Option<ChannelFilter>,
}

fn utc() -> String {
    "UTC".into()
}

impl QuietHours {
    /// Checks the times and the time zone.
    pub fn validate(&self) -> Result<(), String> {
        let from = TimeOfDay::parse(&self.from)?;
        let to = TimeOfDay::parse(&self.to)?;
        if from == to {
            return Err("quiet hours must not start and end at the same time".into());
        }
        jiff::tz::TimeZone::get(self.time_zone.trim()).map_err(|_| {
            format!(
                "`{}` is not a time zone (an IANA name such as Europe/Paris or UTC)",
                crate::text::clip_chars(&self.time_zone, 60)
            )
        })?;
        Ok(())
    }

    /// `22:00-07:00 Europe/Paris`.
    pub fn describe(&self) -> String {
        format!("{}-{} {}", self.from, self.to, self.time_zone)
    }

    /// When something due at `at` may be sent: `at` itself outside quiet
    /// hours, else their end (local time; a gap or fold of a clock change
    /// resolves to the later instant). Invalid settings never defer.
    pub fn release_at(&self, at: Timestamp) -> Timestamp {
        let (Ok(from), Ok(to), Ok(tz)) = (
            TimeOfDay::parse(&self.from),
            TimeOfDay::parse(&self.to),
            jiff::tz::TimeZone::get(self.time_zone.trim()),
        ) else {
            return at;
        };
        let Ok(instant) = jiff::Timestamp::from_second(at.unix_seconds()) else {
            return at;
        };
        let local = instant.to_zoned_datetime(tz.clone());
        let now = TimeOfDay(
            u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0),
        );
        let quiet = if from < to {
            from <= now && now < to
        } else {
            now >= from || now < to
        };
        if !quiet {
            return at;
        }
        // the end is today's `to`, or tomorrow's when `to` is after midnight
        // and we are before it
        let date = local.date();
        let end_date = if to > now {
            date
        } else {
            date.tomorrow().unwrap_or(date)
        };
        let end = end_date
            .at(
                i8::try_from(to.minutes() / 60).unwrap_or(0),
                i8::try_from(to.minutes() % 60).unwrap_or(0),
                0,
                0,
            )
            .to_zoned_datetime(tz)
            .map(|z| z.timestamp().as_second());
        match end {
            Ok(secs) if secs > at.unix_seconds() => Timestamp::from_unix(secs).unwrap_or(at),
            _ => at,
        }
    }

    /// Whether `e` goes out even in quiet hours.
    pub fn is_urgent(&self, e: &Event) -> bool {
        self.urgent.as_ref().is_some_and(|f| f.matches(e))
    }
}

/// A digest: the channel's events gathered and sent once a day, or once a
/// week on `weekday`, at `at` local time in `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Digest {
    /// `monday` … `sunday` for a weekly digest; `None`: daily.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<String>,
    /// `hh:mm`.
    pub at: String,
    /// An IANA time zone; `UTC` by default.
    #[serde(default = "utc")]
    pub time_zone: String,
}

const WEEKDAYS: [(&str, jiff::civil::Weekday); 7] = [
    ("monday", jiff::civil::Weekday::Monday),
    ("tuesday", jiff::civil::Weekday::Tuesday),
    ("wednesday", jiff::civil::Weekday::Wednesday),
    ("thursday", jiff::civil::Weekday::Thursday),
    ("friday", jiff::civil::Weekday::Friday),
    ("saturday", jiff::civil::Weekday::Saturday),
    ("sunday", jiff::civil::Weekday::Sunday),
];

impl Digest {
    /// Checks the time, the weekday and the time zone.
    pub fn validate(&self) -> Result<(), String> {
        TimeOfDay::parse(&self.at)?;
        if let Some(d) = &self.weekday
            && !WEEKDAYS
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(d.trim()))
        {
            return Err(format!(
                "`{}` is not a day of the week (monday … sunday)",
                crate::text::clip_chars(d, 20)
            ));
        }
        jiff::tz::TimeZone::get(self.time_zone.trim()).map_err(|_| {
            format!(
                "`{}` is not a time zone (an IANA name such as Europe/Paris or UTC)",
                crate::text::clip_chars(&self.time_zone, 60)
            )
        })?;
        Ok(())
    }

    /// `daily` or `weekly`.
    pub fn cadence(&self) -> &'static str {
        if self.weekday.is_some() {
            "weekly"
        } else {
            "daily"
        }
    }

    /// `daily at 08:00 Europe/Paris`, `weekly on monday at 08:00 UTC`.
    pub fn describe(&self) -> String {
        match &self.weekday {
            Some(d) => format!(
                "weekly on {} at {} {}",
                d.trim().to_ascii_lowercase(),
                self.at,
                self.time_zone
            ),
            None => format!("daily at {} {}", self.at, self.time_zone),
        }
    }

    /// The latest digest time at or before `now`, if one is within the
    /// last 8 days (it always is for valid settings).
    pub fn last_at_or_before(&self, now: Timestamp) -> Option<Timestamp> {
        let mut t = self.next_after(now.saturating_add(-time::Duration::days(8)));
        let mut last = None;
        while t <= now {
            last = Some(t);
            let next = self.next_after(t);
            if next <= t {
                break;
            }
            t = next;
        }
        last
    }

    /// The first digest time strictly after `now` (invalid settings: a day
    /// after `now`).
    pub fn next_after(&self, now: Timestamp) -> Timestamp {
        let fallback = now.saturating_add(time::Duration::DAY);
        let (Ok(at), Ok(tz)) = (
            TimeOfDay::parse(&self.at),
            jiff::tz::TimeZone::get(self.time_zone.trim()),
        ) else {
            return fallback;
        };
        let weekday = self.weekday.as_deref().and_then(|d| {
            WEEKDAYS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(d.trim()))
                .map(|(_, w)| *w)
        });
        let Ok(instant) = jiff::Timestamp::from_second(now.unix_seconds()) else {
            return fallback;
        };
        let mut date = instant.to_zoned_datetime(tz.clone()).date();
        // at most 8 days ahead holds the next weekday's time
        for _ in 0..9 {
            let day_ok = weekday.is_none_or(|w| date.weekday() == w);
            if day_ok
                && let Ok(z) = date
                    .at(
                        i8::try_from(at.minutes() / 60).unwrap_or(0),
                        i8::try_from(at.minutes() % 60).unwrap_or(0),
                        0,
                        0,
                    )
                    .to_zoned_datetime(tz.clone())
            {
                let secs = z.timestamp().as_second();
                if secs > now.unix_seconds() {
                    return Timestamp::from_unix(secs).unwrap_or(fallback);
                }
            }
            match date.tomorrow() {
                Ok(d) => date = d,
                Err(_) => return fallback,
            }
        }
        fallback
    }
}

/// A scheduled report (issue 21): the monthly executive report of the month
/// before, on each month's first working day, or the weekly status of the
/// week before, each Monday; at `at` local time in `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSchedule {
    /// `monthly` (the executive report) or `weekly` (the weekly status).
    pub every: crate::metrics::briefing::Cadence,
    /// `hh:mm`.
    pub at: String,
    /// An IANA time zone; `UTC` by default.
    #[serde(default = "utc")]
    pub time_zone: String,
}

impl ReportSchedule {
    /// Checks the time and the time zone.
    pub fn validate(&self) -> Result<(), String> {
        TimeOfDay::parse(&self.at)?;
        jiff::tz::TimeZone::get(self.time_zone.trim()).map_err(|_| {
            format!(
                "`{}` is not a time zone (an IANA name such as Europe/Paris or UTC)",
                crate::text::clip_chars(&self.time_zone, 60)
            )
        })?;
        Ok(())
    }

    /// `monthly executive report on the first working day at 08:00 UTC`,
    /// `weekly status on monday at 08:00 Europe/Paris`.
    pub fn describe(&self) -> String {
        match self.every {
            crate::metrics::briefing::Cadence::Monthly => format!(
                "monthly executive report on the first working day at {} {}",
                self.at, self.time_zone
            ),
            crate::metrics::briefing::Cadence::Weekly => {
                format!("weekly status on monday at {} {}", self.at, self.time_zone)
            }
        }
    }

    /// The latest scheduled time at or before `now` (this month's or last
    /// month's first working day of `calendar`, this week's or last week's
    /// Monday; local dates), with the period its report covers: the month
    /// or week before the one it is sent in. `None` for invalid settings.
    pub fn last_at_or_before(
        &self,
        now: Timestamp,
        calendar: &crate::metrics::WorkCalendar,
    ) -> Option<(Timestamp, crate::metrics::briefing::ReportPeriod)> {
        use crate::metrics::briefing::{Cadence, ReportPeriod};
        let at = TimeOfDay::parse(&self.at).ok()?;
        let tz = jiff::tz::TimeZone::get(self.time_zone.trim()).ok()?;
        let local = jiff::Timestamp::from_second(now.unix_seconds())
            .ok()?
            .to_zoned_datetime(tz.clone())
            .date();
        let today = time::Date::from_calendar_date(
            i32::from(local.year()),
            time::Month::try_from(u8::try_from(local.month()).ok()?).ok()?,
            u8::try_from(local.day()).ok()?,
        )
        .ok()?;
        let instant = |day: time::Date| -> Option<Timestamp> {
            let d = jiff::civil::date(
                i16::try_from(day.year()).ok()?,
                i8::try_from(day.month() as u8).ok()?,
                i8::try_from(day.day()).ok()?,
            );
            let z = d
                .at(
                    i8::try_from(at.minutes() / 60).ok()?,
                    i8::try_from(at.minutes() % 60).ok()?,
                    0,
                    0,
                )
                .to_zoned_datetime(tz.clone())
                .ok()?;
            Timestamp::from_unix(z.timestamp().as_second())
        };
        // the sending days, latest first: this period's and the one before
        let this = match self.every {
            Cadence::Monthly => ReportPeriod::month(today.year(), today.month()).ok()?,
            Cadence::Weekly => ReportPeriod::week_of(today),
        };
        for period in [this, this.previous()] {
            let day = match self.every {
                Cadence::Monthly => {
                    // the first working day, else the month's first day
                    let mut d = period.first_day;
                    let mut first = None;
                    while d < period.end_day {
                        if calendar.is_working_day(d) {
                            first = Some(d);
                            break;
                        }
                        d = d.next_day()?;
                    }
                    first.unwrap_or(period.first_day)
                }
                Cadence::Weekly => period.first_day,
            };
            let t = instant(day)?;
            if t <= now {
                return Some((t, period.previous()));
            }
        }
        None
    }
}

/// How a channel delivers, besides its filter and its sealed URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    /// E-mail addresses (e-mail channels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// The batching window in minutes (0: each event at once). Webhooks
    /// never batch.
    #[serde(default)]
    pub batch_minutes: u32,
    /// Quiet hours, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet: Option<QuietHours>,
    /// An owner's channel: it hears only of items this owner owns, and an
    /// e-mail channel without recipients writes to the owner's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A digest: events wait for the next digest time instead of the
    /// batching window (quiet hours do not apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// An owner's channel's review (their part of the agenda: awaiting
    /// triage, due soon, changed since triage, overdue, missed), sent on
    /// this schedule whatever happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Digest>,
    /// A scheduled report (e-mail channels): the monthly executive report
    /// or the weekly status, of the whole organisation or of the channel's
    /// tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportSchedule>,
    /// A person's own subscription (their user name): e-mail to their
    /// address, limited to the tenants they may see, as their scope is at
    /// each event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// A connector's system and how to reach it (its secret is sealed
    /// apart, like a channel's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<crate::change_control::TargetSettings>,
    /// What a connector's items do when their tickets move on the other
    /// side (`None`: [`crate::change_control::TicketMapping`]'s default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow: Option<crate::change_control::TicketMapping>,
    /// A connector that raises a change request by itself for every item
    /// the rules mark as requiring one (for every tenant, or for each of
    /// its tenants that sees the post).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raise_required: bool,
    /// A connector that opens an incident in its service desk for each
    /// Service Health incident or advisory of its tenants, adds Microsoft's
    /// updates to it and resolves it when Microsoft does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incidents: bool,
}

impl ChannelSettings {
    /// When an event `e` arriving at `now` may go out on a channel of
    /// `kind` with these settings: `now` plus the batching window, moved
    /// past quiet hours unless urgent.
    pub fn ready_at(&self, kind: ChannelKind, e: &Event, now: Timestamp) -> Timestamp {
        if !kind.batches() || e.kind == super::EventKind::Test {
            return now;
        }
        if let Some(d) = &self.digest {
            return d.next_after(now);
        }
        let window = time::Duration::minutes(i64::from(self.batch_minutes.min(MAX_BATCH_MINUTES)));
        let ready = now.saturating_add(window);
        match &self.quiet {
            Some(q) if !q.is_urgent(e) => q.release_at(ready),
            _ => ready,
        }
    }

    /// What the settings say, in words (`batched 5 min; quiet 22:00-07:00
    /// Europe/Paris; owner collab`), empty when there is nothing to say.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = &self.digest {
            parts.push(format!("digest {}", d.describe()));
        } else if self.batch_minutes > 0 {
            parts.push(format!("batched {} min", self.batch_minutes));
        }
        if let Some(q) = &self.quiet {
            parts.push(format!("quiet {}", q.describe()));
        }
        if let Some(o) = &self.owner {
            parts.push(format!("owner {o}"));
        }
        if let Some(r) = &self.review {
            parts.push(format!("review {}", r.describe()));
        }
        if let Some(r) = &self.report {
            parts.push(r.describe());
        }
        if let Some(p) = &self.person {
            parts.push(format!("{p}'s subscription"));
        }
        if self.incidents {
            parts.push("opens an incident for each Service Health incident".to_owned());
        }
        if self.raise_required {
            parts.push("raises a change for every item the rules require one of".to_owned());
        }
        if let Some(m) = &self.follow {
            parts.push(format!("follows tickets ({})", m.describe()));
        }
        parts.join("; ")
    }

    /// Whether a channel with these settings hears of `e` (an owner's
    /// channel: only of its owner's items).
    pub fn hears_of(&self, e: &Event) -> bool {
        match &self.owner {
            None => true,
            Some(o) => e
                .owner
                .as_deref()
                .is_some_and(|x| x.trim().eq_ignore_ascii_case(o.trim())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::EventKind;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn quiet(from: &str, to: &str, tz: &str) -> QuietHours {
        QuietHours {
            from: from.into(),
            to: to.into(),
            time_zone: tz.into(),
            urgent: None,
        }
    }

    fn event(severity: &str) -> Event {
        Event {
            kind: EventKind::PostRouted,
            at: at("2026-03-10T09:00:00Z"),
            post: Some(crate::notify::PostRef {
                id: "MC1".into(),
                title: "t".into(),
                services: vec![],
                category: "planForChange".into(),
                severity: severity.into(),
                major: false,
                act_by: None,
                start: None,
            }),
            incident: None,
            tenants: vec![],
            owner: Some("collab".into()),
            changes: vec![],
            reason: None,
            target: None,
            ticket_scope: None,
            moves: Vec::new(),
        }
    }

    #[test]
    fn kinds_parse_and_say_whether_they_batch() {
        for k in ChannelKind::ALL {
            assert_eq!(
                k.as_str().to_uppercase().parse::<ChannelKind>().unwrap(),
                *k
            );
        }
        assert!(!ChannelKind::Webhook.batches());
        assert!(ChannelKind::Email.batches() && !ChannelKind::Email.has_url());
        assert!("sms".parse::<ChannelKind>().unwrap_err().contains("teams"));
    }

    #[test]
    fn times_of_day_parse_strictly() {
        assert_eq!(TimeOfDay::parse("07:05").unwrap().minutes(), 425);
        assert_eq!(TimeOfDay::parse(" 7:05 ").unwrap().to_string(), "07:05");
        for bad in [
            "",
            "24:00",
            "12:60",
            "12",
            "12:5",
            "–1:00",
            "日本:00",
            "1:2:3",
        ] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quiet_hours_defer_to_their_end_in_the_time_zone() {
        // Paris is UTC+1 in March (before the clock change on the 29th)
        let q = quiet("22:00", "07:00", "Europe/Paris");
        q.validate().unwrap();
        // 21:30 UTC = 22:30 Paris: quiet until 07:00 Paris = 06:00 UTC
        assert_eq!(
            q.release_at(at("2026-03-10T21:30:00Z")),
            at("2026-03-11T06:00:00Z")
        );
        // 05:00 UTC = 06:00 Paris: quiet until 07:00 Paris the same day
        assert_eq!(
            q.release_at(at("2026-03-11T05:00:00Z")),
            at("2026-03-11T06:00:00Z")
        );
        // 12:00 UTC: not quiet
        assert_eq!(
            q.release_at(at("2026-03-11T12:00:00Z")),
            at("2026-03-11T12:00:00Z")
        );
        // a daytime quiet span
        let lunch = quiet("12:00", "13:00", "UTC");
        assert_eq!(
            lunch.release_at(at("2026-03-11T12:30:00Z")),
            at("2026-03-11T13:00:00Z")
        );
        // across the spring clock change (Paris 02:00 -> 03:00 on 29 March)
        let night = quiet("01:00", "02:30", "Europe/Paris");
        let released = night.release_at(at("2026-03-29T00:30:00Z"));
        assert!(released > at("2026-03-29T00:30:00Z"), "{released}");
    }

    #[test]
    fn bad_quiet_hours_are_refused_and_never_defer() {
        assert!(quiet("22:00", "22:00", "UTC").validate().is_err());
        let e = quiet("22:00", "07:00", "Mars/Olympus")
            .validate()
            .unwrap_err();
        assert!(e.contains("time zone"), "{e}");
        let bad = quiet("25:00", "07:00", "UTC");
        assert!(bad.validate().is_err());
        let t = at("2026-03-10T23:00:00Z");
        assert_eq!(bad.release_at(t), t);
    }

    #[test]
    fn a_report_goes_out_on_the_first_working_day_or_each_monday() {
        use crate::metrics::briefing::Cadence;
        let cal = crate::metrics::WorkCalendar::default();
        let monthly = ReportSchedule {
            every: Cadence::Monthly,
            at: "08:00".into(),
            time_zone: "Europe/Paris".into(),
        };
        monthly.validate().unwrap();
        // 1 March 2026 is a Sunday: Monday 2 March 08:00 Paris (07:00Z)
        // sends February's report
        let (t, p) = monthly
            .last_at_or_before(at("2026-03-02T07:00:00Z"), &cal)
            .unwrap();
        assert_eq!(t, at("2026-03-02T07:00:00Z"));
        assert_eq!(p.key(), "2026-02");
        // a minute before: still January's, sent on Monday 2 February
        let (t, p) = monthly
            .last_at_or_before(at("2026-03-02T06:59:00Z"), &cal)
            .unwrap();
        assert_eq!(t, at("2026-02-02T07:00:00Z"));
        assert_eq!(p.key(), "2026-01");
        // a holiday on the first working day moves it to the next
        let mut holidays = cal.clone();
        holidays
            .holidays
            .insert(time::macros::date!(2026 - 03 - 02));
        let (t, _) = monthly
            .last_at_or_before(at("2026-03-10T00:00:00Z"), &holidays)
            .unwrap();
        assert_eq!(t, at("2026-03-03T07:00:00Z"));
        let weekly = ReportSchedule {
            every: Cadence::Weekly,
            at: "08:30".into(),
            time_zone: "UTC".into(),
        };
        // Thursday 12 March: Monday 9 March 08:30, for the week of 2 March
        let (t, p) = weekly
            .last_at_or_before(at("2026-03-12T12:00:00Z"), &cal)
            .unwrap();
        assert_eq!(t, at("2026-03-09T08:30:00Z"));
        assert_eq!(p.key(), "2026-03-02");
        // Monday 9 March 08:00: the Monday before, for the week of 23 Feb
        let (t, p) = weekly
            .last_at_or_before(at("2026-03-09T08:00:00Z"), &cal)
            .unwrap();
        assert_eq!(t, at("2026-03-02T08:30:00Z"));
        assert_eq!(p.key(), "2026-02-23");
        assert_eq!(weekly.describe(), "weekly status on monday at 08:30 UTC");
        let bad = ReportSchedule {
            time_zone: "Mars/Olympus".into(),
            ..weekly.clone()
        };
        assert!(bad.validate().is_err());
        assert!(
            bad.last_at_or_before(at("2026-03-12T12:00:00Z"), &cal)
                .is_none()
        );
        // as the settings keep it
        let s: ChannelSettings =
            serde_json::from_str(r#"{"report": {"every": "monthly", "at": "08:00"}}"#).unwrap();
        assert_eq!(s.report.unwrap().time_zone, "UTC");
        assert!(
            serde_json::from_str::<ChannelSettings>(
                r#"{"report": {"every": "daily", "at": "08:00"}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn ready_at_batches_and_respects_quiet_hours_except_urgent() {
        let mut s = ChannelSettings {
            batch_minutes: 5,
            ..Default::default()
        };
        let now = at("2026-03-10T23:00:00Z");
        assert_eq!(
            s.ready_at(ChannelKind::Email, &event("normal"), now),
            at("2026-03-10T23:05:00Z")
        );
        assert_eq!(s.ready_at(ChannelKind::Webhook, &event("normal"), now), now);
        s.quiet = Some(QuietHours {
            urgent: Some(ChannelFilter {
                severities: vec!["critical".into()],
                ..Default::default()
            }),
            ..quiet("22:00", "07:00", "UTC")
        });
        assert_eq!(
            s.ready_at(ChannelKind::Email, &event("normal"), now),
            at("2026-03-11T07:00:00Z")
        );
        assert_eq!(
            s.ready_at(ChannelKind::Email, &event("critical"), now),
            at("2026-03-10T23:05:00Z")
        );
        assert_eq!(s.describe(), "batched 5 min; quiet 22:00-07:00 UTC");
    }

    #[test]
    fn digests_fall_on_their_next_day_and_time_in_the_time_zone() {
        let daily = Digest {
            weekday: None,
            at: "08:00".into(),
            time_zone: "Europe/Paris".into(),
        };
        daily.validate().unwrap();
        // 06:00 UTC is 07:00 in Paris (winter): today's 08:00 Paris
        assert_eq!(
            daily.next_after(at("2026-03-10T06:00:00Z")),
            at("2026-03-10T07:00:00Z")
        );
        // exactly at the time: the next day's
        assert_eq!(
            daily.next_after(at("2026-03-10T07:00:00Z")),
            at("2026-03-11T07:00:00Z")
        );
        let weekly = Digest {
            weekday: Some("Monday".into()),
            at: "09:30".into(),
            time_zone: "UTC".into(),
        };
        // 2026-03-10 is a Tuesday: next Monday the 16th
        assert_eq!(
            weekly.next_after(at("2026-03-10T12:00:00Z")),
            at("2026-03-16T09:30:00Z")
        );
        assert_eq!(weekly.describe(), "weekly on monday at 09:30 UTC");
        let bad = Digest {
            weekday: Some("someday".into()),
            ..weekly.clone()
        };
        assert!(bad.validate().unwrap_err().contains("day of the week"));
        let s = ChannelSettings {
            batch_minutes: 5,
            digest: Some(weekly),
            quiet: Some(quiet("00:00", "23:59", "UTC")),
            ..Default::default()
        };
        assert_eq!(
            s.ready_at(
                ChannelKind::Email,
                &event("normal"),
                at("2026-03-10T12:00:00Z")
            ),
            at("2026-03-16T09:30:00Z"),
            "a digest ignores the window and quiet hours"
        );
        assert!(
            s.describe().starts_with("digest weekly on monday"),
            "{}",
            s.describe()
        );
    }

    #[test]
    fn the_last_digest_time_is_found_within_a_week() {
        let weekly = Digest {
            weekday: Some("monday".into()),
            at: "08:00".into(),
            time_zone: "UTC".into(),
        };
        // Tuesday 2026-03-10: the last was Monday the 9th at 08:00
        assert_eq!(
            weekly.last_at_or_before(at("2026-03-10T12:00:00Z")),
            Some(at("2026-03-09T08:00:00Z"))
        );
        assert_eq!(
            weekly.last_at_or_before(at("2026-03-09T08:00:00Z")),
            Some(at("2026-03-09T08:00:00Z"))
        );
        assert_eq!(
            weekly.last_at_or_before(at("2026-03-09T07:59:59Z")),
            Some(at("2026-03-02T08:00:00Z"))
        );
    }

    #[test]
    fn an_owners_channel_hears_only_of_its_owner() {
        let s = ChannelSettings {
            owner: Some("Collab".into()),
            ..Default::default()
        };
        assert!(s.hears_of(&event("normal")));
        let mut other = event("normal");
        other.owner = Some("security".into());
        assert!(!s.hears_of(&other));
        other.owner = None;
        assert!(!s.hears_of(&other));
        assert!(ChannelSettings::default().hears_of(&other));
    }
}
