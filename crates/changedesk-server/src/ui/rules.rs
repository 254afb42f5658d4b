//! The rules (`/rules`): the list in evaluation order, a test of the rules
//! against a post (every rule, its terms and the values they read, per
//! tenant in scope), and for callers who may configure, an editor
//! (`/rules/edit`) whose "test against this post" explains the rule being
//! written before it is saved, removal, and a simulation of what a run would
//! change now. Everything goes through `routes::rules` (the same checks,
//! compilation and audit as the API).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::view::{self, Layout, Notice};
use super::{SignedIn, UiForm, UiResult, html, html_status, refusal};
use crate::http::auth::Need;
use crate::http::routes::rules::{
    self as api, ExplanationDto, RuleActionsDto, RuleDto, RuleInput, RuleRequest, RuleTestRequest,
    SimulateParams, SimulationDto,
};
use crate::http::{ApiError, AppState};

/// Posts a simulation lists at most (the counts cover every post).
const SIMULATION_LIST: usize = 200;
/// The name a new rule is tested under before it has one.
const DRAFT: &str = "(this rule)";

/// A rule as the list shows it.
pub(crate) struct RuleRow {
    r: RuleDto,
    /// What it does, in short: `owner collab; priority high`.
    then: String,
    updated: String,
}

/// `owner collab; priority high; labels a, b`.
fn describe(t: &RuleActionsDto) -> String {
    let mut parts = Vec::new();
    if let Some(o) = &t.owner {
        parts.push(format!("owner {o}"));
    }
    if let Some(p) = &t.priority {
        parts.push(format!("priority {p}"));
    }
    if let Some(d) = &t.due {
        parts.push(format!("due {d}"));
    }
    if !t.labels.is_empty() {
        parts.push(format!("labels {}", t.labels.join(", ")));
    }
    if let Some(d) = &t.dismiss {
        parts.push(format!("dismiss: {d}"));
    }
    if t.change_request {
        parts.push("change request".to_string());
    }
    if t.communication {
        parts.push("communication".to_string());
    }
    if !t.notify.is_empty() {
        parts.push(format!("notify {}", t.notify.join(", ")));
    }
    if t.stop {
        parts.push("stop".to_string());
    }
    if parts.is_empty() {
        "nothing".to_string()
    } else {
        parts.join("; ")
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TestQuery {
    #[serde(default)]
    post: String,
    #[serde(default)]
    tenant: String,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    layout: Layout,
    rules: Vec<RuleRow>,
    can_configure: bool,
    post: String,
    tenant: String,
    explanations: Option<Vec<ExplanationDto>>,
    notice: Option<Notice>,
}

async fn render_list(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    test: &TestQuery,
    explanations: Option<Vec<ExplanationDto>>,
    notice: Option<Notice>,
) -> UiResult<Response> {
    let rules = api::rules(state, &user.caller)
        .await?
        .into_iter()
        .map(|r| RuleRow {
            then: describe(&r.then),
            updated: view::when_of(&Some(r.updated_at.clone())),
            r,
        })
        .collect();
    html_status(
        status,
        &RulesPage {
            layout: user.layout("Rules", "rules"),
            rules,
            can_configure: user.caller.require(Need::Configure).is_ok(),
            post: test.post.trim().to_string(),
            tenant: test.tenant.trim().to_string(),
            explanations,
            notice,
        },
    )
}

/// `GET /rules`.
pub(crate) async fn page(State(state): State<AppState>, user: SignedIn) -> UiResult<Response> {
    render_list(
        &state,
        &user,
        StatusCode::OK,
        &TestQuery::default(),
        None,
        None,
    )
    .await
}

/// The explanation of `rules` (the stored ones when `None`) for a post, or
/// what the page says instead: a post or tenant that is not in scope, or
/// rules that do not compile.
async fn explain(
    state: &AppState,
    user: &SignedIn,
    post: &str,
    tenant: &str,
    rules: Option<Vec<RuleInput>>,
) -> UiResult<Result<Vec<ExplanationDto>, (StatusCode, Notice)>> {
    if post.trim().is_empty() {
        return Ok(Err((
            StatusCode::BAD_REQUEST,
            Notice::error("give the id of a post to test against, e.g. MC1029154"),
        )));
    }
    let req = RuleTestRequest {
        post_id: post.trim().to_string(),
        tenant: Some(tenant.trim().to_string()).filter(|t| !t.is_empty()),
        rules,
    };
    match api::explain_rules(state, &user.caller, req).await {
        Ok(e) => Ok(Ok(e)),
        // a post or tenant outside the scope reads as one that does not exist
        Err(e) if e.status == StatusCode::NOT_FOUND => Ok(Err((e.status, Notice::error(e.detail)))),
        Err(e) => Ok(Err(refusal(e)?)),
    }
}

/// `GET /rules/test?post=MC…&tenant=…`: the stored rules explained for a
/// post.
pub(crate) async fn test(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<TestQuery>,
) -> UiResult<Response> {
    match explain(&state, &user, &q.post, &q.tenant, None).await? {
        Ok(e) => render_list(&state, &user, StatusCode::OK, &q, Some(e), None).await,
        Err((status, notice)) => render_list(&state, &user, status, &q, None, Some(notice)).await,
    }
}

/// The editor's values.
#[derive(Default)]
pub(crate) struct RuleDraft {
    name: String,
    when: String,
    owner: String,
    priority: String,
    due: String,
    labels: String,
    dismiss: String,
    change_request: bool,
    communication: bool,
    notify: String,
    stop: bool,
    enabled: bool,
    /// Changing a stored rule (its name is fixed).
    editing: bool,
    /// `config` for a rule from the configuration file.
    source: String,
}

impl RuleDraft {
    fn of(r: &RuleDto) -> RuleDraft {
        let t = &r.then;
        RuleDraft {
            name: r.name.clone(),
            when: r.when.clone(),
            owner: t.owner.clone().unwrap_or_default(),
            priority: t.priority.clone().unwrap_or_default(),
            due: t.due.clone().unwrap_or_default(),
            labels: t.labels.join(", "),
            dismiss: t.dismiss.clone().unwrap_or_default(),
            change_request: t.change_request,
            communication: t.communication,
            notify: t.notify.join(", "),
            stop: t.stop,
            enabled: r.enabled,
            editing: true,
            source: r.source.clone(),
        }
    }

    fn from_form(f: &UiForm) -> RuleDraft {
        let on = |k: &str| f.get(k) == "true";
        RuleDraft {
            name: f.get("name").to_string(),
            // the condition keeps its lines (trimmed only at the ends)
            when: f.get("when").to_string(),
            owner: f.get("owner").to_string(),
            priority: f.get("priority").to_string(),
            due: f.get("due").to_string(),
            labels: f.get("labels").to_string(),
            dismiss: f.get("dismiss").to_string(),
            change_request: on("change_request"),
            communication: on("communication"),
            notify: f.get("notify").to_string(),
            stop: on("stop"),
            enabled: on("enabled"),
            editing: on("editing"),
            source: String::new(),
        }
    }

    /// The API's actions for this draft.
    fn actions(&self) -> RuleActionsDto {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        RuleActionsDto {
            owner: opt(&self.owner),
            priority: opt(&self.priority),
            due: opt(&self.due),
            labels: view::list_field(&self.labels),
            dismiss: opt(&self.dismiss),
            change_request: self.change_request,
            communication: self.communication,
            notify: view::list_field(&self.notify),
            stop: self.stop,
        }
    }
}

#[derive(Template)]
#[template(path = "rule_edit.html")]
struct EditorPage {
    layout: Layout,
    d: RuleDraft,
    owners: Vec<(String, String)>,
    priorities: &'static [&'static str],
    post: String,
    tenant: String,
    explanations: Option<Vec<ExplanationDto>>,
    notice: Option<Notice>,
}

#[allow(clippy::too_many_arguments)]
async fn render_editor(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    d: RuleDraft,
    post: &str,
    tenant: &str,
    explanations: Option<Vec<ExplanationDto>>,
    notice: Option<Notice>,
) -> UiResult<Response> {
    let owners = crate::http::routes::owners::owners(state, &user.caller)
        .await?
        .into_iter()
        .map(|o| (o.name, o.display_name))
        .collect();
    let title = if d.editing {
        format!("Rule {}", d.name)
    } else {
        "New rule".to_string()
    };
    html_status(
        status,
        &EditorPage {
            layout: user.layout(title, "rules"),
            d,
            owners,
            priorities: changedesk_core::triage::Priority::NAMES,
            post: post.trim().to_string(),
            tenant: tenant.trim().to_string(),
            explanations,
            notice,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EditQuery {
    /// The rule to change; none: a new rule.
    #[serde(default)]
    name: String,
}

/// `GET /rules/edit?name=…`: the editor, for callers who may configure (as
/// the API's `PUT /api/v1/rules/{name}`).
pub(crate) async fn editor(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<EditQuery>,
) -> UiResult<Response> {
    user.caller.require(Need::Configure)?;
    let d = if q.name.trim().is_empty() {
        RuleDraft {
            enabled: true,
            ..Default::default()
        }
    } else {
        let rules = api::rules(&state, &user.caller).await?;
        let r = rules
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(q.name.trim()))
            .ok_or_else(|| ApiError::not_found(format!("rule `{}` not found", q.name.trim())))?;
        RuleDraft::of(r)
    };
    render_editor(&state, &user, StatusCode::OK, d, "", "", None, None).await
}

/// `POST /rules/save`: creates or replaces the rule (refused with the rules
/// engine's message when the rules would not compile with it).
pub(crate) async fn save(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let d = RuleDraft::from_form(&form);
    let body = RuleRequest {
        when: d.when.clone(),
        then: d.actions(),
        enabled: d.enabled,
    };
    match api::save_rule(&state, &form.user.caller, &d.name, body).await {
        Ok((_, rule)) => {
            Ok(Redirect::to(&format!("/rules#rule-{}", view::encode(&rule.name))).into_response())
        }
        Err(e) => {
            let (status, notice) = refusal(e)?;
            let (post, tenant) = (form.get("test_post"), form.get("test_tenant"));
            render_editor(
                &state,
                &form.user,
                status,
                d,
                post,
                tenant,
                None,
                Some(notice),
            )
            .await
        }
    }
}

/// `POST /rules/test`: the editor's "test against this post": the stored
/// rules with this draft in its place (or last, for a new rule), explained
/// for the post. Nothing is saved.
pub(crate) async fn test_draft(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let d = RuleDraft::from_form(&form);
    let (post, tenant) = (form.get("test_post"), form.get("test_tenant"));
    let mut rules: Vec<RuleInput> = api::rules(&state, &form.user.caller)
        .await?
        .into_iter()
        .map(|r| RuleInput {
            name: r.name,
            when: r.when,
            then: r.then,
            enabled: r.enabled,
        })
        .collect();
    let name = match d.name.trim() {
        "" => DRAFT.to_string(),
        n => n.to_string(),
    };
    let draft = RuleInput {
        name: name.clone(),
        when: d.when.clone(),
        then: d.actions(),
        enabled: d.enabled,
    };
    match rules
        .iter()
        .position(|r| r.name.eq_ignore_ascii_case(&name))
    {
        Some(i) => {
            if let Some(r) = rules.get_mut(i) {
                *r = draft;
            }
        }
        None => rules.push(draft),
    }
    let (status, explanations, notice) =
        match explain(&state, &form.user, post, tenant, Some(rules)).await? {
            Ok(e) => (StatusCode::OK, Some(e), None),
            Err((status, notice)) => (status, None, Some(notice)),
        };
    render_editor(
        &state,
        &form.user,
        status,
        d,
        post,
        tenant,
        explanations,
        notice,
    )
    .await
}

/// `POST /rules/remove`: removes a rule added by hand.
pub(crate) async fn remove(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    match api::remove_rule(&state, &form.user.caller, form.get("name")).await {
        Ok(()) => Ok(Redirect::to("/rules").into_response()),
        Err(e) => {
            let (status, notice) = refusal(e)?;
            render_list(
                &state,
                &form.user,
                status,
                &TestQuery::default(),
                None,
                Some(notice),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "simulation.html")]
struct SimulationPage {
    layout: Layout,
    s: SimulationDto,
}

/// `POST /rules/simulate`: what a run of the stored rules would change now
/// (changes nothing).
pub(crate) async fn simulate(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let s = api::simulate(
        &state,
        &form.user.caller,
        SimulateParams {
            limit: Some(SIMULATION_LIST),
        },
    )
    .await?;
    html(&SimulationPage {
        layout: form.user.layout("Rules: simulation", "rules"),
        s,
    })
}
