//! What every page shares: the frame (`Layout`), and small helpers to show
//! dates, labels and links.

use changedesk_core::Timestamp;

use super::assets;
use crate::http::auth::{Caller, Need};

/// The page frame: title, menu, who is signed in, the sign-out form.
pub(crate) struct Layout {
    pub title: String,
    /// The current menu entry: `inbox`, `board`, `mine`, `deadlines`,
    /// `agenda`, `calendar`, `health`, `tenants`, `owners`, `rules`, `tokens`, `users`,
    /// `audit`, `views`, or ``.
    pub nav: &'static str,
    pub user: Option<UserView>,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
    pub css: String,
    pub js: String,
    pub icon: String,
}

pub(crate) struct UserView {
    pub name: String,
    pub role: &'static str,
    /// `every tenant`, or the tenants and groups the user is limited to.
    pub scope: String,
    /// The menu shows Users and Audit log (an admin without a tenant limit,
    /// as the API's `Need::Admin`).
    pub admin: bool,
    /// The menu shows Notifications (a change manager or admin without a
    /// tenant limit, as the API's `Need::Configure`).
    pub configure: bool,
    /// The user's saved views of the inbox: (name, URL).
    pub views: Vec<(String, String)>,
    /// The menu shows the archive's pages (every role but
    /// `analytics_reader`, who sees the reports only).
    pub reads: bool,
}

/// What a form did, or why it did nothing, at the top of the page.
pub(crate) struct Notice {
    pub ok: bool,
    pub text: String,
}

impl Notice {
    pub(crate) fn ok(text: impl Into<String>) -> Notice {
        Notice {
            ok: true,
            text: text.into(),
        }
    }

    pub(crate) fn error(text: impl Into<String>) -> Notice {
        Notice {
            ok: false,
            text: text.into(),
        }
    }
}

impl Layout {
    fn new(title: String, nav: &'static str, user: Option<UserView>, csrf: String) -> Layout {
        Layout {
            title,
            nav,
            user,
            csrf,
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            icon: assets::url("icon.svg"),
        }
    }

    pub(crate) fn anonymous(title: &str) -> Layout {
        Layout::new(title.to_string(), "", None, String::new())
    }

    pub(crate) fn signed_in(
        title: String,
        nav: &'static str,
        c: &Caller,
        csrf: &str,
        views: &[changedesk_store::SavedView],
    ) -> Layout {
        let scope = if c.scope.is_unrestricted() {
            "every tenant".to_string()
        } else {
            let mut parts: Vec<String> = c.scope.tenants.clone();
            parts.extend(c.scope.groups.iter().map(|g| format!("group {g}")));
            parts.join(", ")
        };
        Layout::new(
            title,
            nav,
            Some(UserView {
                name: c.name.clone(),
                role: role_label(c.role.as_str()),
                scope,
                admin: c.require(Need::Admin).is_ok(),
                configure: c.require(Need::Configure).is_ok(),
                reads: c.role.reads_archive(),
                views: views
                    .iter()
                    .map(|v| (v.name.clone(), view_url(&v.query)))
                    .collect(),
            }),
            csrf.to_string(),
        )
    }
}

pub(crate) fn role_label(role: &str) -> &'static str {
    match role {
        "admin" => "admin",
        "change_manager" => "change manager",
        "owner" => "owner",
        "comms" => "communications",
        "analytics_reader" => "analytics reader",
        _ => "reader",
    }
}

/// The inbox's URL for a saved view's query string.
pub(crate) fn view_url(query: &str) -> String {
    if query.is_empty() {
        "/".to_string()
    } else {
        format!("/?{query}")
    }
}

/// Percent-encodes a query string component.
pub(crate) fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `?a=b&c=d` from pairs whose value is not empty (`""` without any).
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("?{}", s.finish())
    } else {
        String::new()
    }
}

/// A date for people: `2026-03-10`.
pub(crate) fn date(t: &Option<Timestamp>) -> String {
    t.as_ref().map(Timestamp::date).unwrap_or_default()
}

tokio::task_local! {
    /// The signed-in viewer's time zone, in which [`when`] and [`when_of`]
    /// show instants: set for a whole request of the web UI by
    /// `settings::in_viewer_zone` (the UI router's middleware), from the
    /// user read with their session; unset (the API, the feeds, anyone
    /// signed out) is UTC. A task-local does not cross `tokio::spawn`: work
    /// moved to another task runs in [`in_zone`] (the answer cache does).
    static VIEWER_ZONE: jiff::tz::TimeZone;
}

/// The viewer's time zone for this task (`None`: UTC, or none set).
pub(crate) fn viewer_zone() -> Option<jiff::tz::TimeZone> {
    VIEWER_ZONE
        .try_with(|z| z.clone())
        .ok()
        .filter(|z| *z != jiff::tz::TimeZone::UTC)
}

/// Runs `f` with `zone` as the viewer's time zone (`None`: UTC).
pub(crate) async fn in_zone<F: Future>(zone: Option<jiff::tz::TimeZone>, f: F) -> F::Output {
    VIEWER_ZONE
        .scope(zone.unwrap_or(jiff::tz::TimeZone::UTC), f)
        .await
}

/// A date and time for people, in the viewer's time zone: `2026-03-10
/// 09:00 UTC` (no zone chosen), `2026-03-10 10:00 CET` (Europe/Paris).
pub(crate) fn when(t: &Timestamp) -> String {
    match viewer_zone() {
        Some(tz) => when_in(t, &tz),
        None => t.human(),
    }
}

/// `t` as a clock in `tz` shows it, to the minute, with the zone's
/// abbreviation as the time zone database gives it (`CET`, `CEST`, `EDT`),
/// or the offset from UTC where the database has only numbers for it
/// (`UTC+04`, `UTC-03:30`).
pub(crate) fn when_in(t: &Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(t.unix_seconds()) else {
        return t.human();
    };
    let info = tz.to_offset_info(ts);
    let clock = info.offset().to_datetime(ts).strftime("%Y-%m-%d %H:%M");
    let abbreviation = info.abbreviation();
    if !abbreviation.is_empty() && abbreviation.chars().all(|c| c.is_ascii_alphabetic()) {
        return format!("{clock} {abbreviation}");
    }
    let secs = info.offset().seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let (h, m) = (secs.unsigned_abs() / 3600, secs.unsigned_abs() % 3600 / 60);
    if m == 0 {
        format!("{clock} UTC{sign}{h:02}")
    } else {
        format!("{clock} UTC{sign}{h:02}:{m:02}")
    }
}

/// An RFC 3339 text the API's DTOs carry as a date and time for people, in
/// the viewer's time zone as [`when`] (`""` for none or an unreadable one).
pub(crate) fn when_of(s: &Option<String>) -> String {
    s.as_deref()
        .and_then(|s| Timestamp::parse(s).ok())
        .map(|t| when(&t))
        .unwrap_or_default()
}

/// A comma- or newline-separated list from a form field, trimmed, without
/// empty entries.
pub(crate) fn list_field(s: &str) -> Vec<String> {
    s.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Reads an RFC 3339 text the API's DTOs carry back into a date.
pub(crate) fn date_of(s: &Option<String>) -> String {
    date(&s.as_deref().and_then(|s| Timestamp::parse(s).ok()))
}

/// `in 5 days`, `today`, `3 days ago`.
pub(crate) fn relative(t: &Timestamp, now: &Timestamp) -> String {
    let days = (t.as_datetime() - now.as_datetime()).whole_days();
    match days {
        0 => "today".to_string(),
        1 => "tomorrow".to_string(),
        -1 => "yesterday".to_string(),
        d if d > 0 => format!("in {d} days"),
        d => format!("{} days ago", -d),
    }
}

/// Graph's category for people.
pub(crate) fn category_label(c: &str) -> String {
    match c {
        "planForChange" => "Plan for change".to_string(),
        "preventOrFixIssue" => "Prevent or fix issue".to_string(),
        "stayInformed" => "Stay informed".to_string(),
        other => other.to_string(),
    }
}

/// A work item state for people (`in progress`).
pub(crate) fn state_label(s: &str) -> &'static str {
    match s {
        "new" => "new",
        "triaged" => "triaged",
        "in_progress" => "in progress",
        "done" => "done",
        "dismissed" => "dismissed",
        _ => "unknown",
    }
}

/// A link a post's details name, if it is one a browser may follow safely
/// (`http`/`https` only).
pub(crate) fn safe_link(s: &str) -> Option<String> {
    let u = url::Url::parse(s.trim()).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.to_string())
}

/// A relative `next` address to return to after signing in; anything else
/// (another site, `//host`, a backslash trick) is the inbox.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.starts_with("/sign-")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Rewrites the text runs of sanitised HTML: `text` gets each run (what
/// lies outside `<…>`, quotes honoured inside a tag) and appends what stands
/// for it to `out`; tags are copied as they are. Only for the sanitiser's
/// output, where tags are well formed, attribute values are double-quoted
/// with `"` escaped, and text has `<` and `&` escaped.
pub(crate) fn map_text_runs(clean: &str, mut text: impl FnMut(&str, &mut String)) -> String {
    let mut out = String::with_capacity(clean.len() + 256);
    let mut run = String::new();
    let mut in_tag = false;
    let mut in_quote = false;
    for ch in clean.chars() {
        if in_tag {
            out.push(ch);
            match ch {
                '"' => in_quote = !in_quote,
                '>' if !in_quote => in_tag = false,
                _ => {}
            }
        } else if ch == '<' {
            text(&run, &mut out);
            run.clear();
            in_tag = true;
            in_quote = false;
            out.push(ch);
        } else {
            run.push(ch);
        }
    }
    text(&run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/posts/MC1?x=1")), "/posts/MC1?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\nb",
            "",
            "/sign-in",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn only_web_links_are_links() {
        assert_eq!(
            safe_link("https://learn.microsoft.com/x").as_deref(),
            Some("https://learn.microsoft.com/x")
        );
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link("data:text/html,x"), None);
        assert_eq!(safe_link("not a url"), None);
    }

    #[test]
    fn list_fields_split_on_commas_and_lines() {
        assert_eq!(
            list_field(" eu-*, contoso\r\nfabrikam,, \n"),
            vec!["eu-*", "contoso", "fabrikam"]
        );
        assert!(list_field("  ").is_empty());
    }

    #[test]
    fn query_strings_skip_empty_values_and_encode() {
        assert_eq!(query_string([("q", ""), ("tag", "")]), "");
        assert_eq!(
            query_string([("q", "a b&c"), ("sort", "act_by"), ("x", "")]),
            "?q=a+b%26c&sort=act_by"
        );
    }
}
