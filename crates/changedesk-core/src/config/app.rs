//! `[app]`: the MSP's one multi-tenant app registration, consented in each
//! customer tenant, through which the tenants kept in the database (added
//! with `changedesk tenants add` / `tenants import`) are reached. Its keys and
//! credential rules are a tenant's (merged and validated by the same code in
//! `merge`), without `name` and `tenant_id`.

use time::{Date, Month, OffsetDateTime, Time, UtcOffset};
use url::Url;

use super::error::ValueError;
use super::tenant::{self, Cloud, Credential, TenantConfig};
use crate::timestamp::Timestamp;

/// The multi-tenant app registration of `[app]`. `C` is the credential, as
/// for [`TenantConfig`]. `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct AppRegistration<C = Credential> {
    /// The application (client) GUID.
    pub client_id: String,
    pub credential: C,
    pub cloud: Cloud,
    /// Overrides the cloud's login host (simulator, proxy, tests).
    pub login_url: Option<Url>,
    /// Overrides the cloud's Graph host.
    pub graph_url: Option<Url>,
    /// When the client secret (or certificate) expires.
    pub secret_expires: Option<Timestamp>,
}

impl<C: Clone> AppRegistration<C> {
    /// The tenant `name` (directory id or verified domain `tenant_id`)
    /// reached through this app: its client id, credential, cloud, URL
    /// overrides and expiry, so [`TenantConfig::token_endpoint`] and
    /// [`TenantConfig::graph_scope`] work as for a configured tenant.
    /// Neither argument is validated here.
    pub fn tenant(&self, name: &str, tenant_id: &str) -> TenantConfig<C> {
        TenantConfig {
            name: name.to_owned(),
            tenant_id: tenant_id.to_owned(),
            client_id: self.client_id.clone(),
            credential: self.credential.clone(),
            cloud: self.cloud,
            login_url: self.login_url.clone(),
            graph_url: self.graph_url.clone(),
            secret_expires: self.secret_expires,
        }
    }
}

impl<C> AppRegistration<C> {
    /// The login host in effect: `login_url` or the cloud's (as
    /// [`TenantConfig::login_base`]).
    pub fn login_base(&self) -> Url {
        tenant::login_base(self.cloud, self.login_url.as_ref())
    }

    /// The Graph root in effect: `graph_url` or the cloud's.
    pub fn graph_base(&self) -> Url {
        tenant::graph_base(self.cloud, self.graph_url.as_ref())
    }

    /// The Graph root followed by `/.default` (as
    /// [`TenantConfig::graph_scope`]).
    pub fn graph_scope(&self) -> String {
        tenant::graph_scope(&self.graph_base())
    }

    /// The v2 admin consent link for `tenant_id`:
    /// `{login base}{tenant_id}/v2.0/adminconsent?client_id=…&scope={graph root}/.default&redirect_uri=…&state=…`.
    /// The login base keeps any base path (as [`TenantConfig::token_endpoint`]);
    /// `tenant_id` is one path segment (percent-encoded) and the query values
    /// are form-encoded.
    pub fn admin_consent_url(&self, tenant_id: &str, redirect_uri: &str, state: &str) -> Url {
        let mut url = self.login_base();
        url.set_query(None);
        url.set_fragment(None);
        // a login base that cannot be a base (only if set by hand: the
        // configuration accepts http(s) URLs with a host) keeps its path
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .push(tenant_id)
                .push("v2.0")
                .push("adminconsent");
        }
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("scope", &self.graph_scope())
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        url
    }

    /// Whole days until `secret_expires` (negative once it has passed) when
    /// it is at most `days` days after `now`; `None` otherwise, or without
    /// an expiry.
    pub fn expires_within(&self, now: Timestamp, days: i64) -> Option<i64> {
        tenant::days_left(self.secret_expires, now, days)
    }

    /// The same registration with its credential converted.
    pub fn map_credential<D>(self, f: impl FnOnce(C) -> D) -> AppRegistration<D> {
        AppRegistration {
            client_id: self.client_id,
            credential: f(self.credential),
            cloud: self.cloud,
            login_url: self.login_url,
            graph_url: self.graph_url,
            secret_expires: self.secret_expires,
        }
    }
}

const EXPIRY_FORMS: &str = "expected a date YYYY-MM-DD (e.g. 2027-06-30) or an RFC 3339 instant (e.g. 2027-06-30T12:00:00Z)";

/// `secret_expires`: a date `YYYY-MM-DD` (00:00 UTC that day) or an RFC 3339
/// instant, as a string or a TOML date / offset date-time. The value is not
/// echoed in the message.
pub(super) fn parse_secret_expires(value: &toml::Value) -> Result<Timestamp, ValueError> {
    match value {
        toml::Value::String(s) => parse_expiry_text(s),
        toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => date(d.year.into(), d.month, d.day)
                .map(|d| Timestamp::from_datetime(d.midnight().assume_utc()))
                .ok_or_else(|| ValueError(format!("not a valid date: {EXPIRY_FORMS}"))),
            (Some(d), Some(t), Some(offset)) => {
                let date = date(d.year.into(), d.month, d.day);
                let time = Time::from_hms_nano(
                    t.hour,
                    t.minute,
                    t.second.unwrap_or(0),
                    t.nanosecond.unwrap_or(0),
                )
                .ok();
                let offset = match offset {
                    toml::value::Offset::Z => Some(UtcOffset::UTC),
                    toml::value::Offset::Custom { minutes } => {
                        UtcOffset::from_whole_seconds(i32::from(minutes) * 60).ok()
                    }
                };
                match (date, time, offset) {
                    (Some(d), Some(t), Some(o)) => Ok(Timestamp::from_datetime(
                        OffsetDateTime::new_in_offset(d, t, o),
                    )),
                    _ => Err(ValueError(format!(
                        "not a valid date and time: {EXPIRY_FORMS}"
                    ))),
                }
            }
            _ => Err(ValueError(format!(
                "a local date-time or time has no time zone: {EXPIRY_FORMS}"
            ))),
        },
        other => Err(ValueError(format!(
            "{EXPIRY_FORMS}, found {}",
            super::file::article(other.type_str())
        ))),
    }
}

fn parse_expiry_text(s: &str) -> Result<Timestamp, ValueError> {
    let t = s.trim();
    let bad = || ValueError(format!("not a date or instant: {EXPIRY_FORMS}"));
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    if t.len() == 10
        && let Ok(d) = Date::parse(t, &date_only)
    {
        return Ok(Timestamp::from_datetime(d.midnight().assume_utc()));
    }
    OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map(Timestamp::from_datetime)
        .map_err(|_| bad())
}

fn date(year: i32, month: u8, day: u8) -> Option<Date> {
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).expect("valid")
    }

    #[test]
    fn expiry_forms() {
        let text = |s: &str| parse_secret_expires(&toml::Value::String(s.into()));
        assert_eq!(text("2027-06-30"), Ok(ts("2027-06-30T00:00:00Z")));
        assert_eq!(
            text("2027-06-30T12:30:00+02:00"),
            Ok(ts("2027-06-30T10:30:00Z"))
        );
        for bad in [
            "",
            "2027-6-30",
            "2027-02-30",
            "30/06/2027",
            "2027-06-30T12:00:00",
            "soon",
        ] {
            let e = text(bad).expect_err(bad);
            assert!(e.0.starts_with("not a date or instant"), "{bad}: {e:?}");
        }
        let toml_value = |s: &str| {
            let table: toml::Table = format!("v = {s}").parse().expect("toml");
            parse_secret_expires(&table["v"])
        };
        assert_eq!(toml_value("2027-06-30"), Ok(ts("2027-06-30T00:00:00Z")));
        assert_eq!(
            toml_value("2027-06-30T23:00:00-01:30"),
            Ok(ts("2027-07-01T00:30:00Z"))
        );
        assert!(toml_value("2027-06-30T12:00:00").is_err());
        assert!(toml_value("12:00:00").is_err());
        assert_eq!(
            toml_value("20270630").map_err(|e| e.0),
            Err(format!("{EXPIRY_FORMS}, found an integer"))
        );
    }
}
