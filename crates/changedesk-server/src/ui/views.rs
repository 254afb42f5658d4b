//! Saved views of the inbox: a person saves the inbox's current query string
//! under a name (`POST /views/save`, from the inbox) and finds it in the
//! menu; `/views` lists them to delete, with their calendars and the
//! feeds made of them (`ui::feeds`: a secret URL per feed, shown once).
//! Kept per user in the store, which audits every change (`view.save`,
//! `view.delete`, `feed.create`, `feed.revoke`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use changedesk_store::StoreError;

use super::inbox::normalize_query;
use super::view::{self, Layout, Notice};
use super::{SignedIn, UiError, UiForm, UiResult, html_status};
use crate::http::AppState;

pub(crate) struct ViewRow {
    id: i64,
    name: String,
    url: String,
    /// The view as a calendar.
    calendar: String,
    /// The query in words: `service: Microsoft Teams · major: true`.
    filters: String,
    updated: String,
}

/// A feed of a view, in the list (its secret is never shown again).
pub(crate) struct FeedRow {
    id: i64,
    view: String,
    hint: String,
    created: String,
    used: String,
}

/// A feed just made: its view and URLs, shown this once.
pub(crate) struct NewFeed {
    pub view: String,
    pub ics: String,
    pub atom: String,
}

#[derive(Template)]
#[template(path = "views.html")]
struct ViewsPage {
    layout: Layout,
    rows: Vec<ViewRow>,
    max: usize,
    notice: Option<Notice>,
    feeds: Vec<FeedRow>,
    max_feeds: usize,
    created: Option<NewFeed>,
}

/// The saved views page, with `notice` and a feed just `created`.
pub(crate) async fn render(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    notice: Option<Notice>,
    created: Option<NewFeed>,
) -> UiResult<Response> {
    let feeds = state
        .store
        .view_feeds(user.caller.user_id)
        .await?
        .into_iter()
        .map(|f| FeedRow {
            id: f.id,
            view: f.view_name,
            hint: f.hint,
            created: view::when(&f.created_at),
            used: f.last_used_at.as_ref().map(view::when).unwrap_or_default(),
        })
        .collect();
    let rows = user
        .views
        .iter()
        .map(|v| ViewRow {
            id: v.id,
            name: v.name.clone(),
            url: view::view_url(&v.query),
            calendar: if v.query.is_empty() {
                "/calendar".to_string()
            } else {
                format!("/calendar?{}", v.query)
            },
            filters: {
                let pairs: Vec<String> = url::form_urlencoded::parse(v.query.as_bytes())
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                if pairs.is_empty() {
                    "the whole inbox".to_string()
                } else {
                    pairs.join(" · ")
                }
            },
            updated: view::when(&v.updated_at),
        })
        .collect();
    html_status(
        status,
        &ViewsPage {
            layout: user.layout("Saved views", "views"),
            rows,
            max: changedesk_store::MAX_SAVED_VIEWS,
            notice,
            feeds,
            max_feeds: changedesk_store::MAX_FEEDS_PER_USER,
            created,
        },
    )
}

/// `GET /views`.
pub(crate) async fn page(State(state): State<AppState>, user: SignedIn) -> UiResult<Response> {
    render(&state, &user, StatusCode::OK, None, None).await
}

/// What the store refused, said on the views page; anything else is an
/// error page.
async fn refused(mut user: SignedIn, state: &AppState, e: StoreError) -> UiResult<Response> {
    match e {
        StoreError::Invalid(m) => {
            // the list as it is now
            user.views = state.store.saved_views(user.caller.user_id).await?;
            render(
                state,
                &user,
                StatusCode::BAD_REQUEST,
                Some(Notice::error(m)),
                None,
            )
            .await
        }
        e => Err(e.into()),
    }
}

/// `POST /views/save`: saves the form's `query` (the inbox's query string)
/// as the view `name` (replacing the query of a view of that name), then
/// shows the view.
pub(crate) async fn save(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let query =
        match normalize_query(&state, form.get("query"), state.now(), &form.user.caller).await {
            Ok(q) => q,
            Err(UiError::Page { message, .. }) => {
                return render(
                    &state,
                    &form.user,
                    StatusCode::BAD_REQUEST,
                    Some(Notice::error(format!(
                        "this view cannot be saved: {message}"
                    ))),
                    None,
                )
                .await;
            }
            Err(e) => return Err(e),
        };
    let caller = &form.user.caller;
    match state
        .store
        .save_view(
            caller.user_id,
            form.get("name"),
            &query,
            &caller.actor(),
            &state.now(),
        )
        .await
    {
        Ok(v) => Ok(Redirect::to(&view::view_url(&v.query)).into_response()),
        Err(e) => refused(form.user, &state, e).await,
    }
}

/// `POST /views/remove`: deletes one of the caller's views.
pub(crate) async fn remove(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let id: i64 = form
        .get("id")
        .parse()
        .map_err(|_| UiError::bad_request(format!("`{}` is not a view id", form.get("id"))))?;
    let caller = &form.user.caller;
    match state
        .store
        .delete_saved_view(caller.user_id, id, &caller.actor(), &state.now())
        .await
    {
        Ok(()) => Ok(Redirect::to("/views").into_response()),
        Err(e) => refused(form.user, &state, e).await,
    }
}
