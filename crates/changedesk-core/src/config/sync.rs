//! The `[sync]` section: how changedesk talks to Microsoft Graph.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::merge::{Origin, Reporter, Val};
use crate::duration::parse_duration;

/// How syncing from Graph behaves. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// A full listing (which finds what disappeared) at least this often;
    /// incremental syncs in between.
    pub full_sync_interval: Duration,
    /// Incremental syncs ask for posts modified since the newest one seen,
    /// minus this much.
    pub overlap: Duration,
    /// Tenants synced at the same time.
    pub concurrency: usize,
    /// Items per Graph page (`Prefer: odata.maxpagesize`), at most 1000.
    pub page_size: u32,
    /// Give up on a tenant after retrying this long.
    pub max_retry_time: Duration,
    /// Requests per tenant per minute (Graph allows 240).
    pub requests_per_minute: u32,
    /// Requests per tenant per hour (Graph allows 800).
    pub requests_per_hour: u32,
    /// Before each incremental listing, a membership listing (every item's
    /// id and `lastModifiedDateTime`, with `$select`) finds the items Graph
    /// listed late, dated before the watermark, and reads them one by one.
    pub membership_check: bool,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            full_sync_interval: Duration::from_secs(24 * 3600),
            overlap: Duration::from_secs(3600),
            concurrency: 8,
            page_size: 1000,
            max_retry_time: Duration::from_secs(120),
            requests_per_minute: 200,
            requests_per_hour: 750,
            membership_check: true,
        }
    }
}

/// `[sync]` as written in the file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSync {
    pub full_sync_interval: Option<Spanned<String>>,
    pub overlap: Option<Spanned<String>>,
    pub concurrency: Option<Spanned<i64>>,
    pub page_size: Option<Spanned<i64>>,
    pub max_retry_time: Option<Spanned<String>>,
    pub requests_per_minute: Option<Spanned<i64>>,
    pub requests_per_hour: Option<Spanned<i64>>,
    pub membership_check: Option<Spanned<bool>>,
}

/// The keys of `[sync]`, also accepted as `CHANGEDESK_SYNC__<KEY>`.
pub(super) const KEYS: &[&str] = &[
    "full_sync_interval",
    "overlap",
    "concurrency",
    "page_size",
    "max_retry_time",
    "requests_per_minute",
    "requests_per_hour",
    "membership_check",
];

pub(super) const ENV_PREFIX: &str = "CHANGEDESK_SYNC__";

/// The value for `key`: `CHANGEDESK_SYNC__<KEY>` if set, else the file's, as
/// text with its origin (numbers are parsed by the caller, like env values).
fn pick<T: ToString>(
    file: Option<Spanned<T>>,
    env: &BTreeMap<String, String>,
    key: &str,
) -> Option<Val<String>> {
    match env.get(key) {
        Some(v) => Some(Val {
            value: v.clone(),
            origin: Origin::Env(format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())),
        }),
        None => file.map(|s| {
            let v = Val::file(s);
            Val {
                value: v.value.to_string(),
                origin: v.origin,
            }
        }),
    }
}

fn duration(
    rep: &mut Reporter<'_>,
    v: Option<Val<String>>,
    key: &str,
    default: Duration,
) -> Duration {
    let Some(v) = v else { return default };
    match parse_duration(&v.value) {
        Ok(d) if d.is_positive() => Duration::from_secs(d.whole_seconds().unsigned_abs()),
        Ok(_) => {
            rep.error(
                &v.origin,
                &format!("sync.{key}"),
                "must be longer than zero",
            );
            default
        }
        Err(e) => {
            rep.error(&v.origin, &format!("sync.{key}"), e.to_string());
            default
        }
    }
}

fn boolean(rep: &mut Reporter<'_>, v: Option<Val<String>>, key: &str, default: bool) -> bool {
    let Some(v) = v else { return default };
    match v.value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => true,
        "false" | "0" | "no" | "off" => false,
        _ => {
            rep.error(&v.origin, &format!("sync.{key}"), "must be true or false");
            default
        }
    }
}

fn number(
    rep: &mut Reporter<'_>,
    v: Option<Val<String>>,
    key: &str,
    range: (u64, u64),
    why: &str,
    default: u64,
) -> u64 {
    let Some(v) = v else { return default };
    match v.value.trim().parse::<u64>() {
        Ok(n) if n >= range.0 && n <= range.1 => n,
        _ => {
            rep.error(
                &v.origin,
                &format!("sync.{key}"),
                format!(
                    "must be a whole number from {} to {}{why}",
                    range.0, range.1
                ),
            );
            default
        }
    }
}

/// Merges `[sync]` from the file and `CHANGEDESK_SYNC__*` (keys lower-cased).
pub(super) fn build(
    rep: &mut Reporter<'_>,
    file: Option<RawSync>,
    env: &BTreeMap<String, String>,
) -> SyncSettings {
    let f = file.unwrap_or_default();
    let d = SyncSettings::default();
    SyncSettings {
        full_sync_interval: duration(
            rep,
            pick(f.full_sync_interval, env, "full_sync_interval"),
            "full_sync_interval",
            d.full_sync_interval,
        ),
        overlap: duration(rep, pick(f.overlap, env, "overlap"), "overlap", d.overlap),
        max_retry_time: duration(
            rep,
            pick(f.max_retry_time, env, "max_retry_time"),
            "max_retry_time",
            d.max_retry_time,
        ),
        concurrency: number(
            rep,
            pick(f.concurrency, env, "concurrency"),
            "concurrency",
            (1, 1024),
            "",
            d.concurrency as u64,
        ) as usize,
        page_size: number(
            rep,
            pick(f.page_size, env, "page_size"),
            "page_size",
            (1, 1000),
            " (Graph's maximum page is 1000)",
            u64::from(d.page_size),
        ) as u32,
        requests_per_minute: number(
            rep,
            pick(f.requests_per_minute, env, "requests_per_minute"),
            "requests_per_minute",
            (1, 240),
            " (Graph throttles above 240 per minute per tenant)",
            u64::from(d.requests_per_minute),
        ) as u32,
        requests_per_hour: number(
            rep,
            pick(f.requests_per_hour, env, "requests_per_hour"),
            "requests_per_hour",
            (1, 800),
            " (Graph throttles above 800 per hour per tenant)",
            u64::from(d.requests_per_hour),
        ) as u32,
        membership_check: boolean(
            rep,
            pick(f.membership_check, env, "membership_check"),
            "membership_check",
            d.membership_check,
        ),
    }
}
