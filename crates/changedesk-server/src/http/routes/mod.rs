//! The `/api/v1` endpoints, one module per resource. Each handler carries its
//! OpenAPI description (`#[utoipa::path]`), so routes and the document are
//! declared once.

pub(crate) mod audit;
pub(crate) mod briefing;
pub(crate) mod changes;
pub(crate) mod comms;
pub(crate) mod incidents;
pub(crate) mod items;
pub(crate) mod notify;
mod oidc;
pub(crate) mod owners;
pub(crate) mod pilots;
pub(crate) mod posts;
pub(crate) mod reports;
pub(crate) mod reviews;
pub(crate) mod rules;
pub(crate) mod session;
pub(crate) mod settings;
pub(crate) mod tenants;
pub(crate) mod users;

use utoipa_axum::router::OpenApiRouter;

use super::AppState;

/// Every API route.
pub fn all(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .merge(session::routes())
        .merge(settings::routes())
        .merge(reports::routes())
        .merge(briefing::routes())
        .merge(reviews::routes())
        .merge(comms::routes())
        .merge(pilots::routes())
        .merge(posts::routes())
        .merge(items::routes())
        .merge(changes::routes())
        .merge(tenants::routes())
        .merge(incidents::routes())
        .merge(owners::routes())
        .merge(rules::routes())
        .merge(users::routes())
        .merge(audit::routes())
        .merge(notify::routes())
        .merge(oidc::routes())
}
