//! Rules: list, read, create or replace (checked by compiling the whole
//! rule list with the change), remove; explain the rules against one post
//! (`test`), and what a run of the rules would change now (`simulate`).
//! Reading and testing need a signed-in user (a post outside the caller's
//! scope is not found); changes and simulations, which read every tenant,
//! need `Configure`. The store audits every change with the caller as actor.

use axum::extract::State;
use axum::http::StatusCode;
use changedesk_core::Timestamp;
use changedesk_core::rules::{
    ActionSpec, ActionTrace, Connective, Explanation, FieldTrace, OwnerTarget, Priority, RuleSet,
    RuleSpec, RuleStatus,
};
use changedesk_core::triage::OwnershipMap;
use changedesk_store::{Candidate, RuleRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::items::LogEntryDto;
use super::posts::scope_of;
use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::dto::{ts, ts_opt};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Json, Path, Query};
use crate::triage::{Triage, TriageError, apply_rules};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules))
        .routes(routes!(get_rule, put_rule, delete_rule))
        .routes(routes!(test_rules))
        .routes(routes!(simulate_rules))
}

/// What a rule does when its condition holds. Every key is optional.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RuleActionsDto {
    /// An owner's name, or `workload`: the owner of the post's workload.
    pub owner: Option<String>,
    /// `low`, `normal`, `high` or `critical`.
    pub priority: Option<String>,
    /// A date expression, e.g. `act_by - 7d`.
    pub due: Option<String>,
    /// Labels to add.
    pub labels: Vec<String>,
    /// Dismiss the post with this reason.
    pub dismiss: Option<String>,
    /// Require a change request.
    pub change_request: bool,
    /// Require user communication.
    pub communication: bool,
    /// Who to notify: `owner` or owner names.
    pub notify: Vec<String>,
    /// Evaluate no further rules for this post and tenant.
    pub stop: bool,
}

impl From<&ActionSpec> for RuleActionsDto {
    fn from(a: &ActionSpec) -> RuleActionsDto {
        RuleActionsDto {
            owner: a.owner.clone(),
            priority: a.priority.map(|p| p.as_str().to_string()),
            due: a.due.clone(),
            labels: a.labels.clone(),
            dismiss: a.dismiss.clone(),
            change_request: a.change_request,
            communication: a.communication,
            notify: a.notify.clone(),
            stop: a.stop,
        }
    }
}

impl RuleActionsDto {
    fn to_spec(&self) -> ApiResult<ActionSpec> {
        let text = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        Ok(ActionSpec {
            owner: text(&self.owner),
            priority: self
                .priority
                .as_deref()
                .map(|p| p.parse::<Priority>())
                .transpose()
                .map_err(|e| ApiError::bad_request(format!("then.priority: {e}")))?,
            due: text(&self.due),
            labels: self.labels.iter().map(|l| l.trim().to_string()).collect(),
            dismiss: text(&self.dismiss),
            change_request: self.change_request,
            communication: self.communication,
            notify: self.notify.iter().map(|n| n.trim().to_string()).collect(),
            stop: self.stop,
        })
    }
}

/// A rule, in evaluation order.
#[derive(Serialize, ToSchema)]
pub struct RuleDto {
    /// 1-based place in the evaluation order.
    pub position: usize,
    pub name: String,
    /// A disabled rule is checked but never applied.
    pub enabled: bool,
    /// `config` (the configuration file) or `manual`.
    pub source: String,
    /// The condition, in the rules language (docs/RULES.md).
    pub when: String,
    pub then: RuleActionsDto,
    pub updated_at: String,
}

/// A stored rule as a spec (its name and switch come from the row).
fn spec_of(r: &RuleRow) -> ApiResult<RuleSpec> {
    let mut spec: RuleSpec = serde_json::from_value(r.spec.clone())
        .map_err(|e| ApiError::conflict(format!("stored rule `{}` cannot be read: {e}", r.name)))?;
    spec.name = r.name.clone();
    spec.enabled = r.enabled;
    Ok(spec)
}

/// What a tenant-limited caller sees of a condition that names tenants or
/// tenant groups (it could name ones outside the caller's limit).
pub(crate) const RESTRICTED_WHEN: &str =
    "(restricted: this condition names tenants; a user without a tenant limit sees it)";

/// `dto` as `caller` may see it: a tenant-limited caller never reads a
/// condition on `tenant` or `tenant_group`.
fn redacted(caller: &Caller, mut dto: RuleDto) -> RuleDto {
    if !caller.unrestricted() && dto.when.to_ascii_lowercase().contains("tenant") {
        dto.when = RESTRICTED_WHEN.to_string();
    }
    dto
}

fn rule_dto(index: usize, r: &RuleRow) -> ApiResult<RuleDto> {
    let spec = spec_of(r)?;
    Ok(RuleDto {
        position: index + 1,
        name: r.name.clone(),
        enabled: r.enabled,
        source: r.source.clone(),
        when: spec.when,
        then: RuleActionsDto::from(&spec.then),
        updated_at: ts(&r.updated_at),
    })
}

/// The index of the rule called `name`: exactly, else ignoring case.
fn find(rows: &[RuleRow], name: &str) -> Option<usize> {
    let name = name.trim();
    rows.iter()
        .position(|r| r.name == name)
        .or_else(|| rows.iter().position(|r| r.name.eq_ignore_ascii_case(name)))
}

/// Rule `name` and its position, or 404.
fn find_row<'a>(rows: &'a [RuleRow], name: &str) -> ApiResult<(usize, &'a RuleRow)> {
    find(rows, name)
        .and_then(|i| Some((i, rows.get(i)?)))
        .ok_or_else(|| unknown_rule(name))
}

fn unknown_rule(name: &str) -> ApiError {
    ApiError::not_found(format!("rule `{}` not found", name.trim()))
}

/// Every rule, in evaluation order.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules",
    responses((status = 200, body = Vec<RuleDto>), (status = 401, body = Problem)))]
async fn list_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<RuleDto>>> {
    Ok(axum::Json(rules(&state, &caller).await?))
}

/// Every rule, in evaluation order (the API's list and the web UI's rules
/// page).
pub(crate) async fn rules(state: &AppState, caller: &Caller) -> ApiResult<Vec<RuleDto>> {
    caller.require(Need::Read)?;
    let rows = state.store.rules().await?;
    rows.iter()
        .enumerate()
        .map(|(i, r)| rule_dto(i, r).map(|d| redacted(caller, d)))
        .collect()
}

/// One rule.
#[utoipa::path(get, path = "/api/v1/rules/{name}", tag = "rules",
    params(("name" = String, Path)),
    responses((status = 200, body = RuleDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<RuleDto>> {
    caller.require(Need::Read)?;
    let rows = state.store.rules().await?;
    let (i, row) = find_row(&rows, &name)?;
    Ok(axum::Json(redacted(&caller, rule_dto(i, row)?)))
}

/// A rule to create or replace (the name is in the path).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// The condition, in the rules language (docs/RULES.md).
    pub when: String,
    #[serde(default)]
    pub then: RuleActionsDto,
    /// Default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// The owners a rule names must exist.
fn check_owners(spec: &RuleSpec, owners: &[changedesk_core::triage::Owner]) -> ApiResult<()> {
    let known = |n: &str| owners.iter().any(|o| o.is_named(n));
    if let Some(o) = &spec.then.owner
        && !o.eq_ignore_ascii_case("workload")
        && !known(o)
    {
        return Err(ApiError::bad_request(format!(
            "then.owner: unknown owner `{o}` (or `workload`: the owner of the post's workload)"
        )));
    }
    for n in &spec.then.notify {
        if !n.eq_ignore_ascii_case("owner") && !known(n) {
            return Err(ApiError::bad_request(format!(
                "then.notify: unknown owner `{n}` (or `owner`: the item's owner)"
            )));
        }
    }
    Ok(())
}

/// Creates or replaces a rule. A new rule goes last; a replaced one keeps
/// its place. Refused (400, with the rules engine's message) when the rules
/// would not compile with it.
#[utoipa::path(put, path = "/api/v1/rules/{name}", tag = "rules",
    params(("name" = String, Path)),
    request_body = RuleRequest,
    responses((status = 200, description = "Replaced", body = RuleDto), (status = 201, description = "Created", body = RuleDto),
        (status = 400, description = "The rule does not compile, or names an unknown owner", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn put_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<RuleRequest>,
) -> ApiResult<(StatusCode, axum::Json<RuleDto>)> {
    let (status, rule) = save_rule(&state, &caller, &name, body).await?;
    Ok((status, axum::Json(rule)))
}

/// Creates or replaces rule `name` for `caller` (audited), when the rules
/// compile with it.
pub(crate) async fn save_rule(
    state: &AppState,
    caller: &Caller,
    name: &str,
    body: RuleRequest,
) -> ApiResult<(StatusCode, RuleDto)> {
    caller.require(Need::Configure)?;
    let rows = state.store.rules().await?;
    let existing = find(&rows, name);
    let name = match existing {
        Some(i) => rows
            .get(i)
            .map_or_else(|| name.trim().to_string(), |r| r.name.clone()),
        None => name.trim().to_string(),
    };
    let spec = RuleSpec {
        name: name.clone(),
        when: body.when,
        then: body.then.to_spec()?,
        enabled: body.enabled,
    };
    check_owners(&spec, &state.store.owners().await?)?;
    let mut specs = rows.iter().map(spec_of).collect::<ApiResult<Vec<_>>>()?;
    match existing.and_then(|i| specs.get_mut(i)) {
        Some(s) => *s = spec.clone(),
        None => specs.push(spec.clone()),
    }
    if let Err(errors) = RuleSet::compile(&specs) {
        return Err(ApiError::bad_request(format!(
            "the rules would not compile with this one, so nothing was saved:\n{errors}"
        )));
    }
    let json = serde_json::to_value(&spec).map_err(|e| ApiError::internal(&e))?;
    state
        .store
        .put_rule(
            &name,
            spec.enabled,
            &json,
            None,
            &caller.actor(),
            &state.now(),
        )
        .await?;
    let rows = state.store.rules().await?;
    let (i, row) = find_row(&rows, &name)?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, rule_dto(i, row)?))
}

/// Removes a rule added by hand (one from the configuration file would come
/// back at the next start: change the file instead).
#[utoipa::path(delete, path = "/api/v1/rules/{name}", tag = "rules",
    params(("name" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The rule comes from the configuration file", body = Problem)))]
async fn delete_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    remove_rule(&state, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes rule `name` for `caller` (audited), unless it comes from the
/// configuration file.
pub(crate) async fn remove_rule(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    caller.require(Need::Configure)?;
    let rows = state.store.rules().await?;
    let (_, row) = find_row(&rows, name)?;
    if row.source == "config" {
        return Err(ApiError::conflict(format!(
            "rule `{}` is defined in the configuration file's [[rules]]; remove it there (it would come back), or switch it off there with `enabled = false`",
            row.name
        )));
    }
    state
        .store
        .remove_rule(&row.name, &caller.actor(), &state.now())
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- test

/// A rule to test without storing it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub name: String,
    pub when: String,
    #[serde(default)]
    pub then: RuleActionsDto,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTestRequest {
    /// The post to explain the rules for, e.g. `MC1029154`.
    pub post_id: String,
    /// Explain for this tenant only (default: each tenant in scope that
    /// sees the post).
    pub tenant: Option<String>,
    /// These rules, in order, instead of the stored ones.
    pub rules: Option<Vec<RuleInput>>,
}

/// A field a condition read, and its value.
#[derive(Serialize, ToSchema)]
pub struct FieldTraceDto {
    pub field: String,
    pub value: String,
}

impl From<&FieldTrace> for FieldTraceDto {
    fn from(f: &FieldTrace) -> FieldTraceDto {
        FieldTraceDto {
            field: f.field.clone(),
            value: f.value.clone(),
        }
    }
}

/// One top-level term of a condition.
#[derive(Serialize, ToSchema)]
pub struct TermTraceDto {
    pub text: String,
    /// Whether it held.
    pub value: bool,
    pub fields: Vec<FieldTraceDto>,
}

/// A rule's `due` expression and the date it gave.
#[derive(Serialize, ToSchema)]
pub struct DueTraceDto {
    pub expr: String,
    /// Absent when the expression gave no date.
    pub value: Option<String>,
    pub fields: Vec<FieldTraceDto>,
}

/// One action of a rule.
#[derive(Serialize, ToSchema)]
pub struct ActionTraceDto {
    /// `owner`, `priority`, `due`, `labels`, `dismiss`, `change_request`,
    /// `communication`, `notify` or `stop`.
    pub action: String,
    pub value: String,
    /// For an overridden action: the earlier rule whose value stands.
    pub kept_from: Option<String>,
}

impl From<&ActionTrace> for ActionTraceDto {
    fn from(a: &ActionTrace) -> ActionTraceDto {
        ActionTraceDto {
            action: a.action.clone(),
            value: a.value.clone(),
            kept_from: a.kept_from.clone(),
        }
    }
}

/// What happened to one rule.
#[derive(Serialize, ToSchema)]
pub struct RuleTraceDto {
    /// 1-based place in the evaluation order.
    pub position: usize,
    pub name: String,
    /// `matched`, `not_matched`, `disabled` or `not_reached`.
    pub status: String,
    pub when: String,
    /// `and` or `or`: how the terms combine (absent for a single term).
    pub connective: Option<String>,
    pub terms: Vec<TermTraceDto>,
    pub due: Option<DueTraceDto>,
    /// Actions that took effect.
    pub applied: Vec<ActionTraceDto>,
    /// Actions an earlier rule had already decided.
    pub overridden: Vec<ActionTraceDto>,
}

/// The combined result of the rules for one post and tenant.
#[derive(Serialize, ToSchema)]
pub struct OutcomeDto {
    /// An owner's name, or `workload`.
    pub owner: Option<String>,
    pub priority: Option<String>,
    pub due: Option<String>,
    pub labels: Vec<String>,
    pub dismiss: Option<String>,
    pub change_request: bool,
    pub communication: bool,
    pub notify: Vec<String>,
    /// 1-based positions of the rules that matched.
    pub matched: Vec<usize>,
}

/// The full trace of the rules for one post and tenant.
#[derive(Serialize, ToSchema)]
pub struct ExplanationDto {
    pub post_id: String,
    pub tenant: String,
    /// The evaluation time.
    pub now: String,
    pub rules: Vec<RuleTraceDto>,
    pub outcome: OutcomeDto,
    /// Who the item would be assigned to for this tenant (a rule's owner,
    /// else the workload's owner); absent when nobody owns it.
    pub assignee: Option<String>,
}

fn explanation_dto(e: &Explanation, assignee: Option<String>) -> ExplanationDto {
    let fields = |f: &[FieldTrace]| f.iter().map(FieldTraceDto::from).collect();
    let o = &e.outcome;
    ExplanationDto {
        post_id: e.post.clone(),
        tenant: e.tenant.clone(),
        now: ts(&e.now),
        rules: e
            .rules
            .iter()
            .map(|r| RuleTraceDto {
                position: r.index + 1,
                name: r.name.clone(),
                status: match r.status {
                    RuleStatus::Matched => "matched",
                    RuleStatus::NotMatched => "not_matched",
                    RuleStatus::Disabled => "disabled",
                    RuleStatus::NotReached => "not_reached",
                }
                .to_string(),
                when: r.when.clone(),
                connective: r.connective.map(|c| {
                    match c {
                        Connective::And => "and",
                        Connective::Or => "or",
                    }
                    .to_string()
                }),
                terms: r
                    .terms
                    .iter()
                    .map(|t| TermTraceDto {
                        text: t.text.clone(),
                        value: t.value,
                        fields: fields(&t.fields),
                    })
                    .collect(),
                due: r.due.as_ref().map(|d| DueTraceDto {
                    expr: d.expr.clone(),
                    value: ts_opt(&d.value),
                    fields: fields(&d.fields),
                }),
                applied: r.applied.iter().map(ActionTraceDto::from).collect(),
                overridden: r.overridden.iter().map(ActionTraceDto::from).collect(),
            })
            .collect(),
        outcome: OutcomeDto {
            owner: o.owner.as_ref().map(|t| t.to_string()),
            priority: o.priority.map(|p| p.as_str().to_string()),
            due: ts_opt(&o.due),
            labels: o.labels.iter().cloned().collect(),
            dismiss: o.dismiss.clone(),
            change_request: o.change_request,
            communication: o.communication,
            notify: o.notify.clone(),
            matched: o.matched.iter().map(|i| i + 1).collect(),
        },
        assignee,
    }
}

/// A post as the rules see it, with the tenants in the caller's scope
/// only (a post outside the scope is not found).
async fn candidate(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Candidate> {
    let d = state
        .store
        .get_message_scoped(id, &scope_of(caller))
        .await?;
    let stored = state.store.work_item(id).await?;
    Ok(crate::triage::candidate_of(d, stored))
}

/// The rules could not be loaded: stored rules that no longer compile are
/// a conflict with the archive's state, not the caller's mistake.
pub(crate) fn triage_error(e: TriageError) -> ApiError {
    match e {
        TriageError::Store(e) => e.into(),
        e @ (TriageError::BadRule { .. } | TriageError::Compile(_)) => {
            ApiError::conflict(e.to_string())
        }
    }
}

/// The rules, owners, groups and ownership: the stored ones, or the given
/// rules with the stored rest.
async fn load_triage(state: &AppState, given: Option<Vec<RuleInput>>) -> ApiResult<Triage> {
    let Some(given) = given else {
        return Triage::load(&state.store, state.settings.reopen.clone())
            .await
            .map(|t| t.with_thresholds(state.settings.thresholds))
            .map_err(triage_error);
    };
    let specs = given
        .into_iter()
        .map(|r| {
            Ok(RuleSpec {
                name: r.name.trim().to_string(),
                when: r.when,
                then: r.then.to_spec()?,
                enabled: r.enabled,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let rules = RuleSet::compile(&specs)
        .map_err(|e| ApiError::bad_request(format!("the rules do not compile:\n{e}")))?;
    Ok(Triage {
        rules,
        groups: state.store.groups().await?,
        ownership: OwnershipMap {
            entries: state.store.ownership().await?,
        },
        owners: state.store.owners().await?,
        reopen: state.settings.reopen.clone(),
        thresholds: state.settings.thresholds,
        comms_templates: state.comms.templates.clone(),
    })
}

/// Who an outcome assigns the post to for a tenant.
fn assignee(triage: &Triage, c: &Candidate, tenant: &str, e: &Explanation) -> Option<String> {
    match &e.outcome.owner {
        Some(OwnerTarget::Named(n)) => Some(n.to_ascii_lowercase()),
        Some(OwnerTarget::Workload) | None => triage
            .ownership
            .owner_for_tenant(&c.content.services, tenant, &triage.groups)
            .map(|r| r.owner),
    }
}

/// Explains the stored rules (or the given ones) for one post: every rule,
/// its terms and the values they read, and the outcome, per tenant.
#[utoipa::path(post, path = "/api/v1/rules/test", tag = "rules",
    request_body = RuleTestRequest,
    responses((status = 200, body = Vec<ExplanationDto>),
        (status = 400, description = "The given rules do not compile", body = Problem),
        (status = 401, body = Problem), (status = 404, description = "No such post or tenant in the caller's scope", body = Problem),
        (status = 409, description = "The stored rules do not compile", body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn test_rules(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RuleTestRequest>,
) -> ApiResult<axum::Json<Vec<ExplanationDto>>> {
    Ok(axum::Json(explain_rules(&state, &caller, body).await?))
}

/// The rules' explanation for one post, per tenant in `caller`'s scope (the
/// API's `test` and the web UI's "test against this post").
pub(crate) async fn explain_rules(
    state: &AppState,
    caller: &Caller,
    body: RuleTestRequest,
) -> ApiResult<Vec<ExplanationDto>> {
    caller.require(Need::Read)?;
    let id = body.post_id.trim().to_ascii_uppercase();
    let c = candidate(state, caller, &id).await?;
    let tenants: Vec<String> = match &body.tenant {
        Some(t) => {
            let t = t.trim().to_ascii_lowercase();
            if !caller.sees(&t) {
                return Err(ApiError::not_found(format!("tenant `{t}` not found")));
            }
            vec![t]
        }
        None => {
            let visible: Vec<String> = c
                .links
                .iter()
                .filter(|l| l.visible)
                .map(|l| l.tenant.clone())
                .collect();
            if visible.is_empty() {
                // gone everywhere in scope: explain for those that saw it
                c.links.iter().map(|l| l.tenant.clone()).collect()
            } else {
                visible
            }
        }
    };
    let triage = load_triage(state, body.rules).await?;
    let now: Timestamp = state.now();
    Ok(tenants
        .iter()
        .map(|t| {
            let e = triage.explain(&c, t, now);
            let who = assignee(&triage, &c, t, &e);
            explanation_dto(&e, who)
        })
        .collect())
}

// ---------------------------------------------------------------- simulate

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimulateParams {
    /// List at most this many posts' changes (default 100, at most 1000);
    /// the counts cover every post.
    pub limit: Option<usize>,
}

/// Someone the rules would notify about a post.
#[derive(Serialize, ToSchema)]
pub struct NotifyDto {
    /// An owner's name.
    pub target: String,
    pub reason: String,
    pub tenant: Option<String>,
}

/// What the rules would do to one post's work item.
#[derive(Serialize, ToSchema)]
pub struct PostChangeDto {
    pub post_id: String,
    /// The post has no work item yet: the rules would create it.
    pub created: bool,
    /// The decision log entries the rules would write.
    pub entries: Vec<LogEntryDto>,
    pub notify: Vec<NotifyDto>,
}

/// What a run of the rules would do now; nothing was changed.
#[derive(Serialize, ToSchema)]
pub struct SimulationDto {
    /// Posts the rules have not seen in their current revision.
    pub evaluated: usize,
    /// Work items that would be created.
    pub created: usize,
    /// Of those, assigned to an owner.
    pub assigned: usize,
    /// Of those, dismissed by a rule.
    pub dismissed: usize,
    /// Existing items that would be flagged changed since triage.
    pub flagged: usize,
    /// Existing items that would be reopened.
    pub reopened: usize,
    /// Notifications that would be recorded.
    pub notified: usize,
    /// How many posts would change (`changes` lists the first `limit`).
    pub changes_total: usize,
    pub changes: Vec<PostChangeDto>,
}

/// What the stored rules would change if they ran now (on the posts they
/// have not seen in their current revision). Changes nothing.
#[utoipa::path(post, path = "/api/v1/rules/simulate", tag = "rules",
    params(SimulateParams),
    responses((status = 200, body = SimulationDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, description = "The stored rules do not compile", body = Problem)))]
async fn simulate_rules(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<SimulateParams>,
) -> ApiResult<axum::Json<SimulationDto>> {
    Ok(axum::Json(simulate(&state, &caller, p).await?))
}

/// What the stored rules would change if they ran now, for `caller` (the
/// API's and the web UI's simulation). Changes nothing.
pub(crate) async fn simulate(
    state: &AppState,
    caller: &Caller,
    p: SimulateParams,
) -> ApiResult<SimulationDto> {
    caller.require(Need::Configure)?;
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let triage = load_triage(state, None).await?;
    let s = apply_rules(&state.store, &triage, state.now(), true)
        .await
        .map_err(triage_error)?;
    Ok(SimulationDto {
        evaluated: s.evaluated,
        created: s.created,
        assigned: s.assigned,
        dismissed: s.dismissed,
        flagged: s.flagged,
        reopened: s.reopened,
        notified: s.notified,
        changes_total: s.changes.len(),
        changes: s
            .changes
            .iter()
            .take(limit)
            .map(|c| PostChangeDto {
                post_id: c.post_id.clone(),
                created: c.created,
                entries: c.entries.iter().map(LogEntryDto::from).collect(),
                notify: c
                    .notify
                    .iter()
                    .map(|n| NotifyDto {
                        target: n.target.clone(),
                        reason: n.reason.clone(),
                        tenant: n.tenant.clone(),
                    })
                    .collect(),
            })
            .collect(),
    })
}
