//! The caller's own settings (`/api/v1/me/settings`): the time zone the web
//! UI shows them dates and times in. The API itself answers in UTC
//! (RFC 3339) whatever it is. The web UI's `/me/settings` page calls the
//! same functions.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::Json;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, put_settings))
}

/// A person's own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSettings {
    /// The IANA time zone the web UI shows dates and times in
    /// (`Europe/Paris`), saved as the time zone database spells it; `null`,
    /// absent or blank: UTC.
    #[schema(example = "Europe/Paris")]
    pub time_zone: Option<String>,
}

/// The caller's settings.
pub(crate) async fn settings_of(state: &AppState, caller: &Caller) -> ApiResult<UserSettings> {
    caller.require(Need::Reports)?;
    Ok(UserSettings {
        time_zone: state.store.user_time_zone(caller.user_id).await?,
    })
}

/// Saves the caller's settings (audited in their name, `user.update`); a
/// name that is not a time zone is a 400 and nothing is saved.
pub(crate) async fn save_settings(
    state: &AppState,
    caller: &Caller,
    settings: &UserSettings,
) -> ApiResult<UserSettings> {
    caller.require(Need::Reports)?;
    let time_zone = state
        .store
        .set_user_time_zone(
            caller.user_id,
            settings.time_zone.as_deref(),
            &caller.actor(),
            &state.now(),
        )
        .await?;
    Ok(UserSettings { time_zone })
}

/// The caller's own settings: the time zone of the web UI.
#[utoipa::path(get, path = "/api/v1/me/settings", tag = "session",
    responses((status = 200, body = UserSettings), (status = 401, body = Problem)))]
async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<UserSettings>> {
    Ok(axum::Json(settings_of(&state, &caller).await?))
}

/// Replaces the caller's own settings: the time zone the web UI shows dates
/// and times in (an IANA name such as `Europe/Paris`; `null`: UTC).
#[utoipa::path(put, path = "/api/v1/me/settings", tag = "session", request_body = UserSettings,
    responses((status = 200, body = UserSettings),
        (status = 400, description = "Not a time zone", body = Problem),
        (status = 401, body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<UserSettings>,
) -> ApiResult<axum::Json<UserSettings>> {
    Ok(axum::Json(save_settings(&state, &caller, &body).await?))
}
