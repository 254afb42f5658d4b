//! `/me/settings`: a person's own settings (any signed-in person): the time
//! zone the web UI shows them dates and times in. The same as
//! `PUT /api/v1/me/settings`; audited in their name.
//!
//! And the middleware that applies it: every request of the web UI reads
//! the session once ([`UiSession::resolve`], its user with their time zone,
//! left in the request's extensions for the extractors) and runs in the
//! viewer's time zone ([`view::in_zone`]), which [`view::when`] and
//! [`view::when_of`] show instants in. Calendar days (a due date, an act-by
//! day, a rollout day: [`view::date`]) are days, not instants, and stay as
//! they are; the API and the ICS and Atom feeds stay in UTC.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::view::{self, Layout, Notice};
use super::{SignedIn, UiForm, UiResult, html_status};
use crate::http::AppState;
use crate::http::auth::{ResolvedSession, UiSession};
use crate::http::routes::settings::{self as api, UserSettings};

/// Reads the request's session once and runs the request in its user's
/// time zone (UTC without a session or a zone). Assets need neither, and a
/// saved view's feeds are read as the feed's user, in UTC, whoever fetches
/// them.
pub(crate) async fn in_viewer_zone(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if path.starts_with("/static/") || path.starts_with("/feeds/") {
        return next.run(req).await;
    }
    let mut zone = None;
    match UiSession::resolve(req.headers(), &state).await {
        Ok(session) => {
            zone = session.time_zone.as_deref().and_then(time_zone);
            req.extensions_mut().insert(ResolvedSession(Ok(session)));
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            req.extensions_mut().insert(ResolvedSession(Err(e.detail)));
        }
        // the extractor reads it again and answers with the error
        Err(_) => {}
    }
    view::in_zone(zone, next.run(req)).await
}

/// The time zone of a stored name (checked when it was stored; one the
/// database no longer knows is UTC).
fn time_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    match jiff::tz::TimeZone::get(name) {
        Ok(tz) => Some(tz),
        Err(e) => {
            tracing::warn!(time_zone = name, error = %e, "a stored time zone is unknown; showing UTC");
            None
        }
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    notice: Option<Notice>,
    /// The zone in force (`""`: none, UTC).
    current: String,
    /// The time now as the person sees it.
    now: String,
    /// The form field: the zone in force, or what was sent and refused.
    value: String,
    /// Why the value sent was refused (`""`: it was not).
    error: String,
    /// Every zone the time zone database knows, by name.
    zones: &'static [String],
}

/// The names of the time zone database, sorted (read once).
fn zone_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    })
}

async fn render(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    notice: Option<Notice>,
    refused: Option<(String, String)>,
) -> UiResult<Response> {
    let current = api::settings_of(state, &user.caller).await?.time_zone;
    let zone = current.as_deref().and_then(time_zone);
    let now = state.now();
    let (value, error) =
        refused.unwrap_or_else(|| (current.clone().unwrap_or_default(), String::new()));
    let page = SettingsPage {
        layout: user.layout("Settings", "settings"),
        notice,
        current: current.unwrap_or_default(),
        now: match &zone {
            Some(tz) => view::when_in(&now, tz),
            None => now.human(),
        },
        value,
        error,
        zones: zone_names(),
    };
    // the page itself shows the zone as stored now (after a save, the new
    // one: the request began in the old)
    view::in_zone(zone, async { html_status(status, &page) }).await
}

/// `GET /me/settings`.
pub(crate) async fn page(State(state): State<AppState>, user: SignedIn) -> UiResult<Response> {
    render(&state, &user, StatusCode::OK, None, None).await
}

/// `POST /me/settings`: saves the time zone (empty: UTC).
pub(crate) async fn save(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let sent = form.get("time_zone").to_string();
    let settings = UserSettings {
        time_zone: Some(sent.clone()).filter(|z| !z.is_empty()),
    };
    match api::save_settings(&state, &form.user.caller, &settings).await {
        Ok(saved) => {
            let text = match &saved.time_zone {
                Some(z) => format!("Saved: dates and times are shown in {z}."),
                None => "Saved: dates and times are shown in UTC.".to_string(),
            };
            render(
                &state,
                &form.user,
                StatusCode::OK,
                Some(Notice::ok(text)),
                None,
            )
            .await
        }
        // not a time zone: the page again, saying why
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            render(
                &state,
                &form.user,
                StatusCode::BAD_REQUEST,
                None,
                Some((sent, e.detail)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::Uri;
    use changedesk_core::Timestamp;
    use changedesk_core::access::{Role, Scope, TenantSet};

    use super::*;
    use crate::http::auth::{Caller, Via};
    use crate::http::cache::{self, CacheSettings, DependsOn};
    use crate::http::{ApiError, Settings};

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn paris() -> Option<jiff::tz::TimeZone> {
        Some(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
    }

    #[test]
    fn instants_show_in_the_zone_with_its_abbreviation_or_offset() {
        let tz = |n: &str| jiff::tz::TimeZone::get(n).unwrap();
        let winter = at("2026-03-10T09:00:00Z");
        let summer = at("2026-07-01T09:00:00Z");
        assert_eq!(
            view::when_in(&winter, &tz("Europe/Paris")),
            "2026-03-10 10:00 CET"
        );
        assert_eq!(
            view::when_in(&summer, &tz("Europe/Paris")),
            "2026-07-01 11:00 CEST"
        );
        assert_eq!(
            view::when_in(&winter, &tz("America/New_York")),
            "2026-03-10 05:00 EDT"
        );
        // the database has only numbers for these
        assert_eq!(
            view::when_in(&winter, &tz("Asia/Dubai")),
            "2026-03-10 13:00 UTC+04"
        );
        assert_eq!(
            view::when_in(&winter, &tz("Asia/Kathmandu")),
            "2026-03-10 14:45 UTC+05:45"
        );
        assert_eq!(
            view::when_in(&winter, &tz("America/St_Johns")),
            "2026-03-10 06:30 NDT"
        );
        assert_eq!(
            view::when_in(&winter, &jiff::tz::TimeZone::UTC),
            winter.human()
        );
    }

    #[tokio::test]
    async fn when_follows_the_viewer_zone_of_the_task() {
        let t = at("2026-03-10T09:00:00Z");
        assert_eq!(view::when(&t), "2026-03-10 09:00 UTC", "unset: UTC");
        let inside = view::in_zone(paris(), async {
            (
                view::when(&t),
                view::when_of(&Some("2026-03-10T09:00:00Z".to_string())),
                // a calendar day stays the day it is
                view::date(&Some(at("2026-03-10T23:30:00Z"))),
            )
        })
        .await;
        assert_eq!(
            inside,
            (
                "2026-03-10 10:00 CET".to_string(),
                "2026-03-10 10:00 CET".to_string(),
                "2026-03-10".to_string()
            )
        );
        assert_eq!(
            view::in_zone(None, async { view::when(&t) }).await,
            "2026-03-10 09:00 UTC"
        );
        assert_eq!(view::when_of(&None), "");
    }

    fn admin(id: i64) -> Caller {
        Caller {
            user_id: id,
            name: format!("admin{id}"),
            role: Role::Admin,
            scope: Scope::default(),
            tenants: TenantSet::All,
            via: Via::Session {
                token_hash: format!("h{id}"),
            },
        }
    }

    /// The answer cache keeps a value made with formatted instants per
    /// viewer's time zone: two people with the same rights in different
    /// zones never get each other's, and a value made again in the
    /// background (another task) is made in the zone it is kept for.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_answer_cache_keeps_values_per_viewer_zone() {
        let t = changedesk_store::testing::TestStore::sqlite().await;
        let state = AppState::new(
            t.store.clone(),
            Settings {
                cache: CacheSettings {
                    ttl: Duration::from_millis(1200),
                    ..CacheSettings::default()
                },
                ..Settings::default()
            },
        );
        let uri: Uri = "/?q=recap".parse().unwrap();
        let made = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let timed = DependsOn {
            time: true,
            caller: false,
        };
        let ask = |caller: Caller, zone: Option<jiff::tz::TimeZone>| {
            let (state, uri, made) = (state.clone(), uri.clone(), made.clone());
            // what a page's kept value holds: an instant as the viewer
            // sees it, and how many times it was made
            let make = move || async move {
                let n = made.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                Ok::<_, ApiError>((view::when(&at("2026-03-10T09:00:00Z")), n))
            };
            async move {
                view::in_zone(zone, async {
                    cache::value::<(String, usize), ApiError, _>(&state, &caller, &uri, timed, make)
                        .await
                        .unwrap()
                })
                .await
            }
        };
        let (a, hit) = ask(admin(1), None).await;
        assert_eq!((a.0.as_str(), hit), ("2026-03-10 09:00 UTC", Some(false)));
        let (a, hit) = ask(admin(2), None).await;
        assert_eq!(
            (a.0.as_str(), hit),
            ("2026-03-10 09:00 UTC", Some(true)),
            "the same rights, the same zone: shared"
        );
        let (p, hit) = ask(admin(3), paris()).await;
        assert_eq!(
            (p.0.as_str(), hit),
            ("2026-03-10 10:00 CET", Some(false)),
            "another zone: made for it"
        );
        let (p, hit) = ask(admin(1), paris()).await;
        assert_eq!((p.0.as_str(), hit), ("2026-03-10 10:00 CET", Some(true)));
        let (a, _) = ask(admin(2), None).await;
        assert_eq!(a.0, "2026-03-10 09:00 UTC");
        // past the renewal age (at most three quarters of the ttl): the
        // kept one is served and made again on another task, in Paris
        let before = made.load(std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(920)).await;
        let (p, _) = ask(admin(3), paris()).await;
        assert_eq!(p.0, "2026-03-10 10:00 CET");
        let mut renewed = None;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let (p, hit) = ask(admin(3), paris()).await;
            if hit == Some(true) && p.1 > before {
                renewed = Some(p);
                break;
            }
        }
        let renewed = renewed.expect("the value was made again in the background");
        assert_eq!(renewed.0, "2026-03-10 10:00 CET", "{renewed:?}");
        t.finish().await;
    }
}
