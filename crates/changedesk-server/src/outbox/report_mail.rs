//! Scheduled reports by e-mail (issue 21, item 8): an e-mail channel with a
//! `report` schedule (`ChannelSettings::report`) gets the monthly executive
//! report of the month before on each month's first working day
//! (`[analytics]`'s working days), or the weekly status of the week before
//! each Monday, at its time in its time zone. Each is made once per period
//! under `msg_x<channel>_<period>` (`2026-03`, or the week's Monday
//! `2026-03-09`) with its `report.sent` event, in one transaction
//! (`Store::record_scheduled`), then delivered by the outbox like any
//! e-mail; not for a time before the channel existed, nor one more than a
//! day past (as after a long stop). Its figures are the organisation's, or
//! only the channel's tenants' when it is limited to some. The deliveries
//! of `report.sent` are the reports sent that the maturity level counts.

use changedesk_core::Timestamp;
use changedesk_core::notify::{ChannelKind, Event, EventKind};
use changedesk_store::{ChannelRow, StoreError, TenantScope};
use serde::Serialize;

use super::{Outbox, unsubscribe};
use crate::briefing::{self, Briefing};
use crate::reports::Covered;

/// A report's component as a template shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MailComponent {
    pub label: &'static str,
    pub affected: usize,
    pub base: usize,
    /// One decimal.
    pub points: String,
}

/// A week of the trend.
#[derive(Debug, Clone, Serialize)]
pub struct MailWeek {
    pub week: String,
    pub score: String,
}

/// A criterion missing for the next level.
#[derive(Debug, Clone, Serialize)]
pub struct MailCriterion {
    pub label: &'static str,
    pub status: &'static str,
    pub evidence: String,
}

/// A risk.
#[derive(Debug, Clone, Serialize)]
pub struct MailRisk {
    pub post_id: String,
    pub title: String,
    pub label: &'static str,
    /// `YYYY-MM-DD`, or empty.
    pub date: String,
    pub owner: String,
    pub state: &'static str,
    /// The post in changedesk, or empty without a public URL.
    pub url: String,
}

/// What the report templates (`email/report_*.j2`) see: the report's
/// figures as text.
#[derive(Debug, Clone, Serialize)]
pub struct MailContext {
    /// `Executive report`, `Weekly status`.
    pub title: &'static str,
    /// `executive` or `weekly`.
    pub report: &'static str,
    /// `March 2026`, `week 11 of 2026 (…)`.
    pub label: String,
    /// `The whole organisation (12 tenants)`, `Tenants alpha, beta`.
    pub covers: String,
    /// When the figures are as of, for people.
    pub at: String,
    pub score: String,
    pub previous: String,
    /// `+2.5`, `-1.0`, `+0.0`.
    pub change: String,
    pub components: Vec<MailComponent>,
    pub trend: Vec<MailWeek>,
    pub level: u16,
    pub level_name: &'static str,
    /// The next level, 0 at 500.
    pub next: u16,
    pub missing: Vec<MailCriterion>,
    pub counts: changedesk_core::metrics::briefing::PeriodCounts,
    pub risks_total: usize,
    pub risks: Vec<MailRisk>,
    pub channel: String,
    pub public_url: String,
    /// The report's page in changedesk, or empty.
    pub report_url: String,
    pub unsubscribe_url: String,
}

/// The templates' view of `b` for `channel`; `tenants` the channel's, if
/// limited.
pub fn mail_context(
    b: &Briefing,
    channel: &str,
    tenants: Option<&[String]>,
    public_url: Option<&str>,
    unsubscribe_url: &str,
) -> MailContext {
    let base = public_url.map(|u| u.trim_end_matches('/').to_string());
    let covers = match tenants {
        Some(t) => format!("Tenants {}", t.join(", ")),
        None => format!(
            "The whole organisation ({} tenant{})",
            b.tenants,
            if b.tenants == 1 { "" } else { "s" }
        ),
    };
    let param = match b.period.cadence {
        changedesk_core::metrics::briefing::Cadence::Monthly => "month",
        changedesk_core::metrics::briefing::Cadence::Weekly => "week",
    };
    MailContext {
        title: b.title,
        report: b.report,
        label: b.label.clone(),
        covers,
        at: b.at.human(),
        score: format!("{:.1}", b.health.score),
        previous: format!("{:.1}", b.health.previous),
        change: briefing::signed(b.health.change),
        components: b
            .health
            .components
            .iter()
            .filter(|c| c.measured)
            .map(|c| MailComponent {
                label: c.label,
                affected: c.affected,
                base: c.base,
                points: format!("{:.1}", c.points),
            })
            .collect(),
        trend: b
            .health
            .trend
            .iter()
            .map(|t| MailWeek {
                week: t.week.to_string(),
                score: format!("{:.1}", t.score),
            })
            .collect(),
        level: b.maturity.level,
        level_name: b.maturity.name,
        next: b.maturity.next.unwrap_or(0),
        missing: b
            .maturity
            .missing_for_next
            .iter()
            .map(|c| MailCriterion {
                label: c.label,
                status: c.status.label(),
                evidence: c.evidence.clone(),
            })
            .collect(),
        counts: b.counts.clone(),
        risks_total: b.risks.total,
        risks: b
            .risks
            .top
            .iter()
            .map(|r| MailRisk {
                post_id: r.post_id.clone(),
                title: r.title.clone(),
                label: r.label,
                date: r.date.map(|d| d.date()).unwrap_or_default(),
                owner: r.owner.clone().unwrap_or_else(|| "unassigned".into()),
                state: r.state.as_str(),
                url: base
                    .as_deref()
                    .map(|u| format!("{u}/posts/{}", r.post_id))
                    .unwrap_or_default(),
            })
            .collect(),
        channel: channel.to_string(),
        public_url: base.clone().unwrap_or_default(),
        report_url: base
            .as_deref()
            .map(|u| format!("{u}/reports/{}?{param}={}", b.report, b.period.key()))
            .unwrap_or_default(),
        unsubscribe_url: unsubscribe_url.to_string(),
    }
}

impl Outbox {
    /// Makes each scheduled report that is due (the module's notes): for
    /// every enabled e-mail channel with a report schedule, at its latest
    /// time, once per period. How many were made.
    pub async fn reports_due(&self, now: Timestamp) -> Result<usize, StoreError> {
        let channels: Vec<ChannelRow> = self
            .store
            .channels()
            .await?
            .into_iter()
            .filter(|c| c.enabled && c.settings.report.is_some())
            .collect();
        let mut made = 0;
        for c in channels {
            let Some(schedule) = &c.settings.report else {
                continue;
            };
            if c.kind.parse::<ChannelKind>() != Ok(ChannelKind::Email) {
                continue;
            }
            let Some((due, period)) = schedule.last_at_or_before(now, &self.analytics.calendar)
            else {
                continue;
            };
            if due < c.created_at || now.as_datetime() - due.as_datetime() > time::Duration::DAY {
                continue;
            }
            let message_id = format!("msg_x{}_{}", c.id, period.key());
            // made already: nothing to gather
            if self.store.message_recorded(&message_id).await? {
                continue;
            }
            let tenants = c.filter.tenants.clone();
            let scope = match &tenants {
                Some(t) => TenantScope::Only(t.clone()),
                None => TenantScope::All,
            };
            let sees = |t: &str| {
                tenants
                    .as_ref()
                    .is_none_or(|only| only.iter().any(|x| x.eq_ignore_ascii_case(t)))
            };
            let Some(covered) = Covered::of(&self.store, scope, sees, None).await? else {
                continue;
            };
            let b = briefing::gather(&self.store, &covered, &self.analytics, period, now).await?;
            let links = self.public_url.is_some() && self.keyring.is_some();
            let ctx = mail_context(
                &b,
                &c.name,
                tenants.as_deref(),
                self.public_url.as_deref(),
                if links { unsubscribe::PLACEHOLDER } else { "" },
            );
            let mail = match self.templates.report_email(&ctx) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(channel = %c.name, error = %e, "a scheduled report could not be rendered");
                    continue;
                }
            };
            let recipients = match (&c.settings.owner, c.settings.recipients.is_empty()) {
                (Some(owner), true) => self
                    .store
                    .owners()
                    .await?
                    .into_iter()
                    .find(|o| o.name.eq_ignore_ascii_case(owner))
                    .map(|o| vec![o.email])
                    .unwrap_or_default(),
                _ => c.settings.recipients.clone(),
            };
            let body = serde_json::json!({
                "to": recipients,
                "subject": mail.subject,
                "text": mail.text,
                "html": mail.html,
            })
            .to_string();
            let event = Event {
                kind: EventKind::ReportSent,
                at: now,
                post: None,
                incident: None,
                tenants: tenants.clone().unwrap_or_default(),
                owner: None,
                changes: Vec::new(),
                reason: Some(format!("{}: {}", b.title, b.label)),
                target: Some(c.name.clone()),
                ticket_scope: None,
                moves: Vec::new(),
            };
            if self
                .store
                .record_scheduled(c.id, &message_id, &event, &body, now)
                .await?
            {
                made += 1;
            }
        }
        Ok(made)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use changedesk_core::metrics::briefing::{PeriodCounts, ReportPeriod, Risk, RiskKind, Risks};
    use changedesk_notify::render::Templates;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn briefing() -> Briefing {
        let period = ReportPeriod::parse_month("2026-02").unwrap();
        Briefing {
            report: "executive",
            title: "Executive report",
            label: period.label(),
            period,
            at: period.end(),
            complete: true,
            tenants: 2,
            health: crate::briefing::HealthPart {
                score: 61.25,
                previous: 70.0,
                change: -8.8,
                components: Vec::new(),
                trend: Vec::new(),
            },
            maturity: crate::briefing::MaturityPart {
                level: 100,
                name: "Initial",
                next: Some(200),
                missing_for_next: Vec::new(),
            },
            counts: PeriodCounts {
                new: 3,
                missed: 1,
                ..Default::default()
            },
            risks: Risks {
                total: 1,
                top: vec![Risk {
                    kind: RiskKind::DeadlineMissed,
                    label: RiskKind::DeadlineMissed.label(),
                    post_id: "MC1".into(),
                    title: "<script>alert(1)</script> & more".into(),
                    owner: None,
                    major: false,
                    state: changedesk_core::triage::State::New,
                    date: Some(at("2026-02-20T00:00:00Z")),
                }],
            },
        }
    }

    #[test]
    fn the_mail_quotes_the_figures_and_escapes_the_titles() {
        let ctx = mail_context(&briefing(), "board", None, Some("https://cd.example/"), "");
        assert_eq!(ctx.score, "61.2");
        assert_eq!(ctx.change, "-8.8");
        assert_eq!(
            ctx.report_url,
            "https://cd.example/reports/executive?month=2026-02"
        );
        assert_eq!(ctx.risks[0].url, "https://cd.example/posts/MC1");
        assert_eq!(ctx.risks[0].owner, "unassigned");
        let mail = Templates::builtin().report_email(&ctx).unwrap();
        assert_eq!(
            mail.subject,
            "[changedesk] Executive report: February 2026 | health 61.2 (-8.8) | maturity level 100"
        );
        assert!(
            mail.text.contains("The whole organisation (2 tenants)"),
            "{}",
            mail.text
        );
        assert!(mail.text.contains("New: 3"), "{}", mail.text);
        assert!(
            mail.text
                .contains("Decision deadline passed (2026-02-20) | owner unassigned"),
            "{}",
            mail.text
        );
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(
            mail.html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; more"),
            "{}",
            mail.html
        );
        // limited to tenants: says which
        let ctx = mail_context(&briefing(), "b", Some(&["alpha".into()]), None, "");
        assert_eq!(ctx.covers, "Tenants alpha");
        assert!(ctx.report_url.is_empty() && ctx.risks[0].url.is_empty());
    }

    #[test]
    fn the_report_templates_are_overridable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("email")).unwrap();
        std::fs::write(
            dir.path().join("email/report_subject.txt.j2"),
            "Board pack {{ label }}: {{ counts.new }} new",
        )
        .unwrap();
        let t = Templates::with_overrides(dir.path()).unwrap();
        assert_eq!(t.overridden(), ["email/report_subject.txt.j2"]);
        let ctx = mail_context(&briefing(), "board", None, None, "");
        assert_eq!(
            t.report_email(&ctx).unwrap().subject,
            "Board pack February 2026: 3 new"
        );
    }
}
