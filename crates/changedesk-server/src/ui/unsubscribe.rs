//! `/unsubscribe/{token}`: the link in every e-mail, followed without
//! signing in. `GET` shows what the link does and a button; `POST` does it
//! (also RFC 8058 one-click, `List-Unsubscribe=One-Click`, which mail
//! clients send on their own). The token is sealed with the secret key
//! (`outbox::unsubscribe`): one that does not open is refused before the
//! store is touched, so nothing unauthenticated can write but the one
//! change the link names.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::UiResult;
use super::view::Layout;
use crate::http::AppState;
use crate::outbox::unsubscribe;

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    layout: Layout,
    token: String,
    address: String,
    channel: String,
    done: bool,
    changed: bool,
}

fn invalid() -> UiResult<Response> {
    Err(super::UiError::Page {
        status: StatusCode::NOT_FOUND,
        message: "This unsubscribe link is not valid (it may be from another changedesk, or cut short by your mail program)."
            .to_string(),
    })
}

async fn page(state: &AppState, token: String, post: bool) -> UiResult<Response> {
    let Some(ring) = state.keyring.as_deref() else {
        return invalid();
    };
    let Some((channel_id, address)) = unsubscribe::open(ring, &token) else {
        return invalid();
    };
    let (channel, changed) = if post {
        match state
            .store
            .unsubscribe(channel_id, &address, state.now())
            .await?
        {
            Some(u) => (u.channel, u.changed),
            None => return invalid(),
        }
    } else {
        match state
            .store
            .channels()
            .await?
            .into_iter()
            .find(|c| c.id == channel_id && c.kind == "email")
        {
            Some(c) => (c.name, false),
            None => return invalid(),
        }
    };
    let page = UnsubscribePage {
        layout: Layout::anonymous("Unsubscribe"),
        token,
        address,
        channel,
        done: post,
        changed,
    };
    Ok((StatusCode::OK, Html(page.render()?)).into_response())
}

/// `GET /unsubscribe/{token}`: what the link does, and a button.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> UiResult<Response> {
    page(&state, token, false).await
}

/// `POST /unsubscribe/{token}`: takes the address off the channel.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> UiResult<Response> {
    page(&state, token, true).await
}
