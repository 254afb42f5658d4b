//! Feeds of saved views: a calendar (ICS, RFC 5545) and an Atom feed (RFC
//! 4287) of one of a person's saved views, at a secret URL that calendar
//! clients and feed readers fetch without signing in
//! (`/feeds/{secret}.ics`, `/feeds/{secret}.atom`).
//!
//! The secret is the credential: 32 random bytes, shown once when the feed
//! is made on the saved views page (`POST /views/feeds`), kept by the store
//! only as its SHA-256 (as API tokens are), revoked by deleting it
//! (`POST /views/feeds/revoke`); both are audited (`feed.create`,
//! `feed.revoke`). At most `MAX_FEEDS_PER_USER` per person.
//!
//! Each fetch looks the feed up by the hash of its secret, then acts as its
//! user with their role and tenant scope **as they are now** (a disabled or
//! deleted user's feed, like an unknown or revoked one, answers 404 without
//! saying which; a scope narrowed since the feed was made narrows it), and
//! reads the view's query as it is now, with the inbox's own code. What it
//! lists comes from `calendar::gather`, as the calendar page's does:
//! - ICS: one all-day VEVENT per dated phase, act-by date and due date of
//!   the view's newest posts, whose UID is the post's id and what the event
//!   is (`MC123-general_availability-worldwide-1@changedesk`), so a moved
//!   date updates the event; its SEQUENCE is the post's revision (the work
//!   item's version for a due date), which rises when Microsoft edits it.
//! - Atom: one entry per post, newest first, whose id is the post's URL and
//!   `updated` its last change: an edited post is an update of its entry,
//!   not a new one.
//!
//! The answer carries an ETag (a fetch with `If-None-Match` that matches is
//! 304) and `Cache-Control: private, no-cache`, so each fetch is checked
//! again. The request's path, which holds the secret, is kept out of the
//! request log (`http::loggable_path`).

use atom_syndication::{Category, Feed, FixedDateTime, Generator, Link, Person, Text};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use changedesk_core::Timestamp;
use changedesk_store::{FEED_USE_GRANULARITY_SECS, StoreError, ViewFeed};
use icalendar::{Calendar, Component, Event, EventLike, Property};

use super::calendar::{self, Dated, Gathered, Kind};
use super::inbox::InboxParams;
use super::view::{self, Notice};
use super::views::{self, NewFeed};
use super::{UiError, UiForm, UiResult};
use crate::http::AppState;
use crate::http::auth::{Caller, Need, Via, hash_secret, new_secret};

/// The most posts an ICS feed holds (the newest of its view).
pub(crate) const ICS_POSTS: usize = 500;
/// The most entries an Atom feed holds (the newest posts of its view).
pub(crate) const ATOM_POSTS: usize = 200;
/// Characters of the secret shown to tell feeds apart.
const HINT_CHARS: usize = 6;
/// How long a calendar client may wait before fetching again.
const REFRESH: &str = "PT1H";

/// The formats a feed is fetched in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Ics,
    Atom,
}

/// `SECRET.ics` or `SECRET.atom` with a secret as [`new_secret`] makes
/// them (43 URL-safe base64 characters); anything else is no feed.
fn parse_file(file: &str) -> Option<(&str, Format)> {
    let (secret, format) = match file.strip_suffix(".ics") {
        Some(s) => (s, Format::Ics),
        None => (file.strip_suffix(".atom")?, Format::Atom),
    };
    let ok = secret.chars().count() == 43
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then_some((secret, format))
}

/// The answer for an unknown, revoked or disabled user's feed, alike.
fn no_feed() -> UiError {
    UiError::Page {
        status: StatusCode::NOT_FOUND,
        message: "There is no page at this address.".to_string(),
    }
}

/// Where this server is reached, for the absolute links of feeds: `[server]
/// public_url` when set, else the request's `Host` (HTTPS unless cookies
/// are allowed over plain HTTP, which only a development server does).
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state.comms.public_url.as_deref().or(state
        .onboarding
        .as_ref()
        .and_then(|o| o.public_url.as_deref()))
    {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::trim)
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let scheme = if state.settings.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// The two URLs of a feed whose secret is `secret`.
fn urls(base: &str, secret: &str) -> (String, String) {
    (
        format!("{base}/feeds/{secret}.ics"),
        format!("{base}/feeds/{secret}.atom"),
    )
}

/// `POST /views/feeds`: a new feed of one of the caller's views; the saved
/// views page shows its URLs this once.
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: UiForm,
) -> UiResult<Response> {
    let view_id: i64 = form
        .get("id")
        .parse()
        .map_err(|_| UiError::bad_request(format!("`{}` is not a view id", form.get("id"))))?;
    let caller = &form.user.caller;
    let secret = new_secret();
    let hint: String = secret.chars().take(HINT_CHARS).collect();
    match state
        .store
        .create_view_feed(
            caller.user_id,
            view_id,
            &hash_secret(&secret),
            &hint,
            &caller.actor(),
            &state.now(),
        )
        .await
    {
        Ok(feed) => {
            let (ics, atom) = urls(&base_url(&state, &headers), &secret);
            let created = NewFeed {
                view: feed.view_name,
                ics,
                atom,
            };
            views::render(&state, &form.user, StatusCode::CREATED, None, Some(created)).await
        }
        Err(StoreError::Invalid(m)) => {
            views::render(
                &state,
                &form.user,
                StatusCode::BAD_REQUEST,
                Some(Notice::error(m)),
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /views/feeds/revoke`: deletes one of the caller's feeds; its URLs
/// answer 404 from now on.
pub(crate) async fn revoke(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let id: i64 = form
        .get("id")
        .parse()
        .map_err(|_| UiError::bad_request(format!("`{}` is not a feed id", form.get("id"))))?;
    let caller = &form.user.caller;
    state
        .store
        .revoke_view_feed(caller.user_id, id, &caller.actor(), &state.now())
        .await?;
    views::render(
        &state,
        &form.user,
        StatusCode::OK,
        Some(Notice::ok(
            "The feed is revoked: its addresses no longer answer.",
        )),
        None,
    )
    .await
}

/// `GET /feeds/{secret}.ics` and `GET /feeds/{secret}.atom`.
pub(crate) async fn serve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> UiResult<Response> {
    let Some((secret, format)) = parse_file(&file) else {
        return Err(no_feed());
    };
    let Some((feed, user)) = state
        .store
        .view_feed_by_secret(&hash_secret(secret))
        .await?
    else {
        return Err(no_feed());
    };
    if user.disabled {
        return Err(no_feed());
    }
    let now = state.now();
    // the user's role and scope as they are now
    let tenants = crate::http::cache::resolve_scope(&state, &user.scope).await?;
    let caller = Caller {
        user_id: user.id,
        name: user.name.clone(),
        role: user.role,
        scope: user.scope.clone(),
        tenants,
        via: Via::Feed { id: feed.id },
    };
    caller.require(Need::Read)?;
    let uri: axum::http::Uri = format!("/?{}", feed.view_query)
        .parse()
        .map_err(|_| UiError::bad_request("this feed's saved view no longer reads"))?;
    let axum::extract::Query(filter) = axum::extract::Query::<InboxParams>::try_from_uri(&uri)
        .map_err(|e| UiError::bad_request(e.body_text()))?;
    let max = match format {
        Format::Ics => ICS_POSTS,
        Format::Atom => ATOM_POSTS,
    };
    let gathered = calendar::gather(&state, &caller, &filter, max, now).await?;
    let base = base_url(&state, &headers);
    let (body, content_type) = match format {
        Format::Ics => (ics(&feed, &gathered, &base), "text/calendar; charset=utf-8"),
        Format::Atom => (
            atom(&feed, &gathered, &base)?,
            "application/atom+xml; charset=utf-8",
        ),
    };
    let stale = now.saturating_add(-time::Duration::seconds(FEED_USE_GRANULARITY_SECS));
    if feed.last_used_at.is_none_or(|t| t <= stale)
        && let Err(e) = state.store.view_feed_used(feed.id, &now, &stale).await
    {
        tracing::warn!(feed = feed.id, error = %e, "cannot record a feed's use");
    }
    let etag = format!(
        "\"{}\"",
        &hash_secret(&body).chars().take(32).collect::<String>()
    );
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    Ok(response)
}

/// Text for a feed: without the control characters neither format may
/// carry (tabs and line ends kept), nor U+FFFE / U+FFFF.
fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter(|c| {
            (!c.is_control() || matches!(c, '\n' | '\t')) && !matches!(c, '\u{fffe}' | '\u{ffff}')
        })
        .collect()
}

fn post_url(base: &str, id: &str) -> String {
    format!("{base}/posts/{}", view::encode(id))
}

/// `20260210T000000Z`.
fn ics_utc(t: Timestamp) -> String {
    let d = t.as_datetime();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// What an event says beyond its summary.
fn description(d: &Dated, url: &str) -> String {
    let what = match &d.kind {
        Kind::Phase { .. } => {
            let mut s = format!("When: {}", d.when);
            if !d.text.is_empty() {
                s = format!("{}\n\n{s}", d.text);
            }
            s
        }
        Kind::ActBy => "Microsoft asks for action by this date.".to_string(),
        Kind::Due { tenant: None } => "The work item is due.".to_string(),
        Kind::Due { tenant: Some(t) } => format!("The work item is due for {t}."),
    };
    format!("{what}\n\n{url}")
}

/// The view's calendar.
fn ics(feed: &ViewFeed, g: &Gathered, base: &str) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new(
        "PRODID",
        "-//changedesk//calendar of a saved view//EN",
    ));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    cal.name(&clean(&format!("changedesk: {}", feed.view_name)));
    cal.description(&clean(&format!(
        "Rollout phases, act-by and due dates of the saved view {}",
        feed.view_name
    )));
    cal.append_property(
        Property::new("REFRESH-INTERVAL", REFRESH)
            .add_parameter("VALUE", "DURATION")
            .done(),
    );
    cal.append_property(Property::new("X-PUBLISHED-TTL", REFRESH));
    for d in &g.dated {
        let url = post_url(base, &d.post_id);
        let end = d.last.next_day().unwrap_or(d.last);
        let event = Event::new()
            .uid(&format!(
                "{}-{}@changedesk",
                calendar::uid_safe(&d.post_id),
                d.kind.key()
            ))
            .sequence(u32::try_from(d.sequence).unwrap_or(0))
            .add_property("DTSTAMP", ics_utc(d.modified))
            .add_property("LAST-MODIFIED", ics_utc(d.modified))
            .starts(d.first)
            .ends(end)
            .summary(&clean(&format!(
                "{}: {} {}",
                d.kind.label(),
                d.post_id,
                d.title
            )))
            .description(&clean(&description(d, &url)))
            .url(&url)
            .add_property("TRANSP", "TRANSPARENT")
            .done();
        cal.push(event);
    }
    cal.done().to_string()
}

fn atom_time(t: Timestamp) -> FixedDateTime {
    FixedDateTime::parse_from_rfc3339(&t.to_canonical()).unwrap_or_default()
}

/// The view's Atom feed: one entry per post, newest first.
fn atom(feed: &ViewFeed, g: &Gathered, base: &str) -> UiResult<String> {
    let mut entries = Vec::with_capacity(g.posts.len());
    let mut newest: Option<Timestamp> = None;
    for post in &g.posts {
        let url = post_url(base, &post.id);
        let modified = post.modified();
        newest = newest.max(Some(modified));
        let mut lines = vec![format!(
            "Revision {}, last changed {}.",
            post.revision,
            modified.date()
        )];
        lines.extend(
            g.dated
                .iter()
                .filter(|d| d.post_id == post.id)
                .map(|d| format!("{}: {}", d.kind.label(), d.when)),
        );
        if !post.content.services.is_empty() {
            lines.push(format!("Services: {}", post.content.services.join(", ")));
        }
        let mut entry = atom_syndication::Entry::default();
        entry.set_title(Text::plain(clean(&format!(
            "{}: {}",
            post.id, post.content.title
        ))));
        entry.set_id(url.clone());
        entry.set_updated(atom_time(modified));
        entry.set_published(post.content.start.map(atom_time));
        entry.set_links(vec![Link {
            href: url,
            rel: "alternate".to_string(),
            mime_type: Some("text/html".to_string()),
            ..Link::default()
        }]);
        entry.set_summary(Some(Text::plain(clean(&lines.join("\n")))));
        entry.set_categories(
            post.content
                .services
                .iter()
                .map(|s| {
                    let mut c = Category::default();
                    c.set_term(clean(s));
                    c
                })
                .collect::<Vec<_>>(),
        );
        entries.push(entry);
    }
    let mut author = Person::default();
    author.set_name("changedesk");
    let mut generator = Generator::default();
    generator.set_value("changedesk");
    let mut out = Feed::default();
    out.set_title(Text::plain(clean(&format!(
        "changedesk: {}",
        feed.view_name
    ))));
    out.set_subtitle(Some(Text::plain(clean(&format!(
        "The newest posts of the saved view {}",
        feed.view_name
    )))));
    out.set_id(format!("{base}/views#view-{}", feed.view_id));
    out.set_updated(atom_time(newest.unwrap_or(feed.created_at)));
    out.set_authors(vec![author]);
    out.set_generator(Some(generator));
    out.set_links(vec![Link {
        href: format!("{base}{}", view::view_url(&feed.view_query)),
        rel: "alternate".to_string(),
        mime_type: Some("text/html".to_string()),
        ..Link::default()
    }]);
    out.set_entries(entries);
    let bytes = out
        .write_to(Vec::new())
        .map_err(|e| UiError::from(crate::http::ApiError::internal(&e)))?;
    String::from_utf8(bytes).map_err(|e| UiError::from(crate::http::ApiError::internal(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_secrets_are_feeds() {
        let secret = new_secret();
        assert_eq!(
            parse_file(&format!("{secret}.ics")),
            Some((secret.as_str(), Format::Ics))
        );
        assert_eq!(
            parse_file(&format!("{secret}.atom")),
            Some((secret.as_str(), Format::Atom))
        );
        for bad in [
            String::new(),
            ".ics".to_string(),
            secret.clone(),
            format!("{secret}.rss"),
            format!("{secret}x.ics"),
            format!("{}é.ics", secret.chars().take(42).collect::<String>()),
            format!("{}/.ics", secret.chars().take(42).collect::<String>()),
        ] {
            assert_eq!(parse_file(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_request_log_never_shows_a_secret() {
        let secret = new_secret();
        for (path, logged) in [
            (format!("/feeds/{secret}.ics"), "/feeds/….ics"),
            (format!("/feeds/{secret}.atom"), "/feeds/….atom"),
            (format!("/feeds/{secret}"), "/feeds/…."),
        ] {
            assert_eq!(crate::http::loggable_path(&path), logged);
        }
        assert_eq!(crate::http::loggable_path("/views/feeds"), "/views/feeds");
    }

    #[test]
    fn feed_text_drops_what_the_formats_cannot_carry() {
        assert_eq!(clean("a\r\nb\u{1}c\u{7f}\td\u{ffff}"), "a\nbc\td");
        assert_eq!(clean("TPM 2.0 – a necessity"), "TPM 2.0 – a necessity");
    }

    #[test]
    fn utc_times_are_basic_format() {
        let t = Timestamp::parse("2026-02-05T07:08:09.123456Z").unwrap();
        assert_eq!(ics_utc(t), "20260205T070809Z");
        assert_eq!(
            atom_time(t).to_rfc3339(),
            "2026-02-05T07:08:09.123456+00:00"
        );
    }
}
