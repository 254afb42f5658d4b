//! Microsoft Planner through Graph: each tenant's Microsoft 365 group with
//! its plan and buckets, tasks and task details, their etags, and their
//! control endpoints (a person's edit in the Planner UI, scripted faults,
//! the page size, the Planner request log).
//!
//! What the simulator relies on, with its sources. The reference notes are
//! `integrations.md` §7 ("Microsoft Planner via Graph") and `graph-api.md`
//! §4.2, which cite the Graph docs repository
//! `microsoftgraph/microsoft-graph-docs-contrib` (GDC). Doc: documented;
//! Observed: seen in real traffic by others; Unconfirmed: a guess the
//! simulator makes and a client must not rely on.
//!
//! - Endpoints (Doc: GDC `resources/planner-overview.md`,
//!   `api/planner-post-tasks.md`, `api/plannertask-update.md`,
//!   `api/plannertaskdetails-update.md`): `GET /groups/{id}/planner/plans`,
//!   `GET /planner/plans/{id}`, `GET /planner/plans/{id}/buckets`,
//!   `GET /planner/buckets/{id}`, `POST /planner/buckets`,
//!   `GET /planner/plans/{id}/tasks` (with `@odata.nextLink` paging),
//!   `POST /planner/tasks` (201 with the task), `GET`, `PATCH`, `DELETE
//!   /planner/tasks/{id}`, `GET`, `PATCH /planner/tasks/{id}/details`.
//!   PATCH answers 204, or 200 with the object when `Prefer:
//!   return=representation`; DELETE answers 204.
//! - Permissions (Doc for reads and details updates, Unconfirmed for task
//!   create and update): application [`TASKS_READ_WRITE_ALL`]; reads also
//!   take [`TASKS_READ_ALL`]. Without them: 403
//!   `Authorization_RequestDenied` (the code is Unconfirmed; the listings'
//!   refusal is reused).
//! - Ids are 28 characters, case-sensitive (Doc, `resources/plannertask.md`).
//!   A task has `createdDateTime`, `createdBy` (an identitySet carrying an
//!   `application` when the app created it), `hasDescription`,
//!   `checklistItemCount`, `activeChecklistItemCount`, `referenceCount`,
//!   `completedDateTime`/`completedBy` once `percentComplete` is 100 (Doc).
//!   Creating a task creates its details object, with an etag of its own.
//! - Etags (Doc, planner overview): every write bumps the etag of the object
//!   written; `PATCH` and `DELETE` need `If-Match` with the current etag of
//!   **that** object (task and details etags differ and are not
//!   interchangeable). A stale one is 412 `PreconditionFailed` (the code is
//!   Unconfirmed; branch on the status). A missing header is 400 (Observed
//!   as a 4xx, 400 or 412 Unconfirmed). `If-Match: *` is refused as stale
//!   (Unconfirmed: the simulator will not let a client skip concurrency).
//!   Etags are opaque `W/"JzEt…"` strings (base64 of a counter here):
//!   compare them for equality only. Writing the details does **not** bump
//!   the task's etag, although the task's counters (`hasDescription`,
//!   `checklistItemCount`, …) follow the details at once (a simplification:
//!   whether the real service bumps it is Unconfirmed).
//! - Validation (Doc: 400 for wrong open-type typing, a bad orderHint, a
//!   start date after the due date): property names are case-sensitive, an
//!   unknown property or a read-only one (`id`, `createdDateTime`, …) is a
//!   400 (refusing read-only ones is Unconfirmed), and so is a value of the
//!   wrong JSON type or out of range (`percentComplete` 0–100, `priority`
//!   0–10, `appliedCategories` keys `category1`…`category25` with boolean
//!   values, `previewType` one of `automatic`, `noPreview`, `checklist`,
//!   `description`, `reference`, dates as RFC 3339 date-times, given back in
//!   UTC). `assignments` keys are user object ids (GUIDs, kept in lower
//!   case); a value is `{"@odata.type": "#microsoft.graph.plannerAssignment",
//!   "orderHint": …}` (both required) or, in a PATCH, `null` to unassign.
//!   Checklist keys are GUIDs (Doc; the Planner UI itself writes other keys,
//!   which a person's edit here may use too), values `{"@odata.type":
//!   "microsoft.graph.plannerChecklistItem", "title", "isChecked",
//!   "orderHint"}` (a new item needs a title) or `null` to delete.
//!   Reference keys are URLs with `%`, `.` and `:` percent-encoded (a raw
//!   `.` or `:`, or a `%` that starts no escape, is a 400), decoding to an
//!   absolute URL; values `{"@odata.type":
//!   "microsoft.graph.plannerExternalReference", "alias", "type",
//!   "previewPriority"}` or `null`. `@odata.type` may be written with or
//!   without the leading `#`. An order hint must be printable ASCII
//!   (Unconfirmed: the service's exact rule is not published); the service
//!   answers with hints of its own. The `planId` of a task cannot change
//!   here (the real service can move tasks; Unconfirmed).
//! - Limits (Doc: the 403 codes in the planner overview; the numbers are
//!   Planner's published limits, Unconfirmed for references): 9,000 tasks
//!   per plan (`MaximumTasksInProject`), 200 buckets per plan
//!   (`MaximumBucketsInProject`), 20 assignees (`MaximumAssigneesInTasks`),
//!   20 checklist items (`MaximumChecklistItemsOnTask`), 10 references
//!   (`MaximumReferencesOnTask`) per task. Request bodies are at most
//!   [`MAX_PLANNER_BODY_BYTES`] (413) with `Content-Type: application/json`
//!   (415). Query options other than `$skiptoken` on the task listing are a
//!   400 rather than silently ignored.
//! - Throttling: Graph publishes no Planner limits; 429 answers carry
//!   `Retry-After` and the Graph error body `TooManyRequests`.
//! - Tenants: a token reaches its own tenant's plans only; anything of
//!   another tenant is a 404, as if it did not exist.
//!
//! Seed: each tenant has one Microsoft 365 group, id
//! [`derived_oid`]`("changes@{domain}")`, with one plan titled
//! [`PLANNER_PLAN_TITLE`] and one bucket "To do"; plan and bucket ids are
//! derived from the tenant id ([`SimHandle::planner_plan`], `GET
//! /_sim/planner`, `GET /_sim/tenants`).
//!
//! Order of checks: token (401), tenant mode (503, 403), the role (403), a
//! scripted fault (the queue of any Planner request, then, for a task
//! create, the creates' queue; [`Fault::TooManyRequests`] and
//! [`Fault::Status`] answer without processing), the [`crate::Faults`]
//! dice (`fault_429`, `fault_503`), the latency of
//! [`crate::Faults::latency_ms`], query options (400), content type (415),
//! body size (413), then the request itself: the objects named in the path
//! (404), `If-Match` present (400), the body (400), the plan and bucket it
//! names (404, 400), `If-Match` current (412), limits (403), the write.
//! [`Fault::ProcessThenDrop`] and [`Fault::Delay`] process the request
//! first, then drop the connection unanswered or answer late.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::watch;

use super::auth::{authenticate_app, request_base};
use super::control::{error as control_error, tenant_index};
use super::graph::{Meta, graph_error, json_response, unauthorized};
use super::{
    SIM_CLIENT_ID, Shared, SimError, SimHandle, TenantInfo, TenantMode, TenantTag, derived_oid,
    lock,
};
use crate::itsm::Fault;

/// The application permission (app role) every Planner request takes.
pub const TASKS_READ_WRITE_ALL: &str = "Tasks.ReadWrite.All";

/// The application permission that is enough for Planner reads.
pub const TASKS_READ_ALL: &str = "Tasks.Read.All";

/// The title of each tenant's seeded plan.
pub const PLANNER_PLAN_TITLE: &str = "Microsoft 365 changes";

/// The local part of the seeded group's address: the group id is
/// [`derived_oid`]`("changes@{domain}")`.
pub const PLANNER_GROUP_LOCAL_PART: &str = "changes";

/// The default page size of `GET /planner/plans/{id}/tasks`
/// ([`SimHandle::planner_set_page_size`] changes it).
pub const PLANNER_PAGE_SIZE: usize = 100;

/// Tasks per plan (Planner's limit; beyond: 403 `MaximumTasksInProject`).
pub const MAX_TASKS_PER_PLAN: usize = 9_000;

/// Buckets per plan (beyond: 403 `MaximumBucketsInProject`).
pub const MAX_BUCKETS_PER_PLAN: usize = 200;

/// Assignees per task (beyond: 403 `MaximumAssigneesInTasks`).
pub const MAX_ASSIGNEES_PER_TASK: usize = 20;

/// Checklist items per task (beyond: 403 `MaximumChecklistItemsOnTask`).
pub const MAX_CHECKLIST_ITEMS_PER_TASK: usize = 20;

/// References per task (beyond: 403 `MaximumReferencesOnTask`).
pub const MAX_REFERENCES_PER_TASK: usize = 10;

/// Plans per group the simulator keeps ([`SimHandle::planner_add_plan`]);
/// its own bound, not Planner's.
pub const MAX_PLANS_PER_GROUP: usize = 50;

/// The largest Planner request body the simulator reads (413 beyond).
pub const MAX_PLANNER_BODY_BYTES: usize = 1024 * 1024;

/// The most Planner requests kept in [`SimHandle::planner_requests`].
pub const PLANNER_LOG_CAPACITY: usize = 10_000;

/// The largest page size [`SimHandle::planner_set_page_size`] takes.
const MAX_PAGE_SIZE: usize = 1000;

const TASK_TYPE: &str = "microsoft.graph.plannerTask";
const DETAILS_TYPE: &str = "microsoft.graph.plannerTaskDetails";
const BUCKET_TYPE: &str = "microsoft.graph.plannerBucket";
const ASSIGNMENT_TYPE: &str = "microsoft.graph.plannerAssignment";
const CHECKLIST_TYPE: &str = "microsoft.graph.plannerChecklistItem";
const REFERENCE_TYPE: &str = "microsoft.graph.plannerExternalReference";
const METADATA: &str = "https://graph.microsoft.com/v1.0/$metadata";
const PREVIEW_TYPES: [&str; 5] = [
    "automatic",
    "noPreview",
    "checklist",
    "description",
    "reference",
];

// ------------------------------------------------------------- public types

/// A tenant's seeded Planner objects ([`SimHandle::planner_plan`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimPlannerPlan {
    /// The tenant's name.
    pub tenant: String,
    /// The Microsoft 365 group that owns the plan:
    /// [`derived_oid`]`("changes@{domain}")`.
    pub group_id: String,
    /// The plan's id (28 characters).
    pub plan_id: String,
    /// [`PLANNER_PLAN_TITLE`].
    pub title: String,
    /// The id of its bucket "To do".
    pub bucket_id: String,
}

/// One Planner request as the simulator answered it
/// ([`SimHandle::planner_requests`], `GET /_sim/planner/requests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannerRequest {
    /// 1, 2, … in order of answer.
    pub seq: u64,
    /// The tenant of the token, when it was valid.
    pub tenant: Option<String>,
    /// `GET`, `POST`, `PATCH`, `DELETE`.
    pub method: String,
    /// The path, as sent.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The `If-Match` header, if one was sent.
    pub if_match: Option<String>,
    /// The `Prefer` header, if one was sent.
    pub prefer: Option<String>,
    /// The status answered; 0 when the connection was dropped
    /// ([`Fault::ProcessThenDrop`]).
    pub status: u16,
}

impl PlannerRequest {
    /// Whether the request carried `If-Match`.
    pub fn sent_if_match(&self) -> bool {
        self.if_match.is_some()
    }
}

// ------------------------------------------------------------ refusals

/// A refusal: status, Graph error code and message.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, "BadRequest", message)
}

fn not_found() -> Refusal {
    refuse(
        StatusCode::NOT_FOUND,
        "NotFound",
        "The requested item is not found.",
    )
}

fn limit(code: &'static str, message: impl Into<String>) -> Refusal {
    refuse(StatusCode::FORBIDDEN, code, message)
}

// ------------------------------------------------------ ids, etags, times

/// A 28-character Planner id: base64url of 21 bytes of SHA-256 of `seed`.
fn planner_id(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..21])
}

/// An opaque weak etag, `W/"JzEt…"` (base64 of `'1-{kind} {n}'`, like the
/// real ones). `n` is global, so no two objects ever share an etag.
fn etag(kind: &str, n: u64) -> String {
    format!(
        "W/\"{}\"",
        STANDARD.encode(format!("'1-{kind:<8}{n:016X}'"))
    )
}

/// A Graph date-time: UTC, `Z`, 7 fraction digits when there is a fraction.
fn graph_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.nanosecond() / 100 {
        0 => format!("{base}Z"),
        ticks => format!("{base}.{ticks:07}Z"),
    }
}

fn now_text() -> String {
    graph_time(OffsetDateTime::now_utc())
}

/// An order hint the service hands out: later ones sort first, as Planner
/// puts new items on top.
fn service_hint(n: u64) -> String {
    format!("8585{:015}", 999_999_999_999_999_u64.saturating_sub(n))
}

/// A lower-case hyphenated GUID.
fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

// --------------------------------------------------------------- state

/// Who writes: the app (through Graph) or a person in the Planner UI.
#[derive(Clone, Copy)]
enum Actor {
    App,
    Person(usize),
}

/// How a write is checked.
enum Writer<'a> {
    /// Through Graph, with the token's tenant and the `If-Match` sent.
    App {
        tenant: usize,
        if_match: Option<&'a str>,
    },
    /// A person in the Planner UI: no `If-Match`, any tenant.
    Person,
}

struct TenantPlanner {
    name: String,
    guid: String,
    group_id: String,
    /// The person who edits in the Planner UI ([`SimHandle::planner_edit_task`]).
    person_id: String,
    /// Plan ids, oldest first (the seeded one first).
    plans: Vec<String>,
}

struct Plan {
    id: String,
    tenant: usize,
    title: String,
    created: String,
    etag: String,
    /// Bucket ids, oldest first.
    buckets: Vec<String>,
    /// Task ids by creation sequence.
    tasks: BTreeMap<u64, String>,
}

struct Bucket {
    id: String,
    plan_id: String,
    name: String,
    order_hint: String,
    etag: String,
}

#[derive(Clone)]
struct Assignment {
    order_hint: String,
    assigned: String,
    assigned_by: Value,
}

#[derive(Clone)]
struct ChecklistItem {
    title: String,
    is_checked: bool,
    order_hint: String,
    modified: String,
    modified_by: Value,
}

#[derive(Clone)]
struct Reference {
    alias: Option<String>,
    kind: Option<String>,
    preview_priority: String,
    modified: String,
    modified_by: Value,
}

#[derive(Clone)]
struct Details {
    etag: String,
    description: String,
    preview_type: String,
    checklist: BTreeMap<String, ChecklistItem>,
    references: BTreeMap<String, Reference>,
}

#[derive(Clone)]
struct Task {
    id: String,
    seq: u64,
    tenant: usize,
    plan_id: String,
    bucket_id: Option<String>,
    title: String,
    order_hint: String,
    assignee_priority: String,
    percent_complete: i64,
    priority: i64,
    start: Option<OffsetDateTime>,
    due: Option<OffsetDateTime>,
    created: String,
    created_by: Value,
    completed: Option<String>,
    completed_by: Option<Value>,
    preview_type: String,
    conversation_thread_id: Option<String>,
    categories: BTreeSet<u8>,
    assignments: BTreeMap<String, Assignment>,
    etag: String,
    details: Details,
}

/// The Planner side of the simulator.
pub(crate) struct PlannerState {
    inner: Mutex<Inner>,
    /// Set when the simulator stops: ends [`Fault::Delay`] waits.
    stop: watch::Sender<bool>,
}

struct Inner {
    tenants: Vec<TenantPlanner>,
    plans: HashMap<String, Plan>,
    buckets: HashMap<String, Bucket>,
    tasks: HashMap<String, Task>,
    next_etag: u64,
    next_seq: u64,
    page_size: usize,
    max_tasks_per_plan: usize,
    faults: VecDeque<Fault>,
    create_faults: VecDeque<Fault>,
    log: VecDeque<PlannerRequest>,
    log_seq: u64,
}

impl PlannerState {
    /// Each tenant with its group, plan and bucket "To do".
    pub(crate) fn new(tenants: &[TenantInfo]) -> PlannerState {
        let mut inner = Inner {
            tenants: Vec::with_capacity(tenants.len()),
            plans: HashMap::new(),
            buckets: HashMap::new(),
            tasks: HashMap::new(),
            next_etag: 0,
            next_seq: 0,
            page_size: PLANNER_PAGE_SIZE,
            max_tasks_per_plan: MAX_TASKS_PER_PLAN,
            faults: VecDeque::new(),
            create_faults: VecDeque::new(),
            log: VecDeque::new(),
            log_seq: 0,
        };
        for (t, info) in tenants.iter().enumerate() {
            inner.tenants.push(TenantPlanner {
                name: info.name.clone(),
                guid: info.guid.clone(),
                group_id: derived_oid(&format!("{PLANNER_GROUP_LOCAL_PART}@{}", info.domain)),
                person_id: derived_oid(&format!("planner.user@{}", info.domain)),
                plans: Vec::new(),
            });
            // cannot fail: the tenant has no plan yet
            let _ = inner.add_plan(t, PLANNER_PLAN_TITLE);
        }
        PlannerState {
            inner: Mutex::new(inner),
            stop: watch::channel(false).0,
        }
    }

    /// Ends the waits of [`Fault::Delay`] (the simulator is stopping).
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Waits `delay`, or less if the simulator stops meanwhile.
    async fn sleep(&self, delay: Duration) {
        let mut stopped = self.stop.subscribe();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stopped.wait_for(|s| *s) => {}
        }
    }

    /// A tenant's seeded group, plan and bucket.
    pub(crate) fn seed(&self, t: usize) -> Option<SimPlannerPlan> {
        let inner = lock(&self.inner);
        let tenant = inner.tenants.get(t)?;
        let plan = inner.plans.get(tenant.plans.first()?)?;
        Some(SimPlannerPlan {
            tenant: tenant.name.clone(),
            group_id: tenant.group_id.clone(),
            plan_id: plan.id.clone(),
            title: plan.title.clone(),
            bucket_id: plan.buckets.first().cloned().unwrap_or_default(),
        })
    }

    fn take_fault(&self, create: bool) -> Option<Fault> {
        let mut inner = lock(&self.inner);
        match inner.faults.pop_front() {
            Some(f) => Some(f),
            None if create => inner.create_faults.pop_front(),
            None => None,
        }
    }

    fn record(&self, mut entry: PlannerRequest) {
        let mut inner = lock(&self.inner);
        inner.log_seq += 1;
        entry.seq = inner.log_seq;
        if inner.log.len() >= PLANNER_LOG_CAPACITY {
            inner.log.pop_front();
        }
        inner.log.push_back(entry);
    }
}

impl Inner {
    fn bump(&mut self, kind: &str) -> String {
        self.next_etag += 1;
        etag(kind, self.next_etag)
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn identity(&self, actor: Actor) -> Value {
        match actor {
            Actor::App => json!({"application": {"displayName": null, "id": SIM_CLIENT_ID}}),
            Actor::Person(t) => json!({"user": {
                "displayName": null,
                "id": self.tenants.get(t).map(|p| p.person_id.as_str()).unwrap_or_default(),
            }}),
        }
    }

    /// A new plan (with a bucket "To do") in tenant `t`'s group.
    fn add_plan(&mut self, t: usize, title: &str) -> Result<String, SimError> {
        let tenant = self
            .tenants
            .get(t)
            .ok_or_else(|| SimError::UnknownTenant(t.to_string()))?;
        if tenant.plans.len() >= MAX_PLANS_PER_GROUP {
            return Err(SimError::Planner(format!(
                "{} already has {MAX_PLANS_PER_GROUP} plans",
                tenant.name
            )));
        }
        let title = title.trim();
        if title.is_empty() {
            return Err(SimError::Planner("a plan needs a title".to_owned()));
        }
        let n = tenant.plans.len();
        let id = planner_id(&format!("planner-plan:{}:{n}", tenant.guid));
        let bucket_id = planner_id(&format!("planner-bucket:{id}:0"));
        let plan_etag = self.bump("Plan");
        let bucket_etag = self.bump("Bucket");
        let seq = self.seq();
        self.buckets.insert(
            bucket_id.clone(),
            Bucket {
                id: bucket_id.clone(),
                plan_id: id.clone(),
                name: "To do".to_owned(),
                order_hint: service_hint(seq),
                etag: bucket_etag,
            },
        );
        self.plans.insert(
            id.clone(),
            Plan {
                id: id.clone(),
                tenant: t,
                title: title.to_owned(),
                created: now_text(),
                etag: plan_etag,
                buckets: vec![bucket_id],
                tasks: BTreeMap::new(),
            },
        );
        self.tenants[t].plans.push(id.clone());
        Ok(id)
    }

    /// The plan `id` of tenant `t`, or 404.
    fn plan(&self, t: usize, id: &str) -> Result<&Plan, Refusal> {
        self.plans
            .get(id)
            .filter(|p| p.tenant == t)
            .ok_or_else(not_found)
    }

    /// The task `id` as the writer may see it, or 404.
    fn task(&self, writer: &Writer<'_>, id: &str) -> Result<&Task, Refusal> {
        self.tasks
            .get(id)
            .filter(|task| match writer {
                Writer::App { tenant, .. } => task.tenant == *tenant,
                Writer::Person => true,
            })
            .ok_or_else(not_found)
    }

    fn plan_json(&self, plan: &Plan) -> Value {
        let group = self
            .tenants
            .get(plan.tenant)
            .map(|t| t.group_id.as_str())
            .unwrap_or_default();
        json!({
            "@odata.etag": plan.etag,
            "id": plan.id,
            "title": plan.title,
            "owner": group,
            "createdDateTime": plan.created,
            "createdBy": self.identity(Actor::App),
            "container": {
                "@odata.type": "#microsoft.graph.plannerPlanContainer",
                "containerId": group,
                "type": "group",
                "url": format!("https://graph.microsoft.com/v1.0/groups/{group}"),
            },
        })
    }

    fn buckets_of(&self, plan: &Plan) -> Vec<Value> {
        plan.buckets
            .iter()
            .filter_map(|b| self.buckets.get(b))
            .map(bucket_json)
            .collect()
    }

    fn tasks_of(&self, plan: &Plan) -> impl Iterator<Item = &Task> {
        plan.tasks.values().filter_map(|id| self.tasks.get(id))
    }
}

fn bucket_json(b: &Bucket) -> Value {
    json!({
        "@odata.etag": b.etag,
        "id": b.id,
        "name": b.name,
        "planId": b.plan_id,
        "orderHint": b.order_hint,
    })
}

fn task_json(task: &Task) -> Value {
    let d = &task.details;
    let categories: Map<String, Value> = task
        .categories
        .iter()
        .map(|n| (format!("category{n}"), Value::Bool(true)))
        .collect();
    let assignments: Map<String, Value> = task
        .assignments
        .iter()
        .map(|(user, a)| {
            (
                user.clone(),
                json!({
                    "@odata.type": format!("#{ASSIGNMENT_TYPE}"),
                    "assignedDateTime": a.assigned,
                    "orderHint": a.order_hint,
                    "assignedBy": a.assigned_by,
                }),
            )
        })
        .collect();
    json!({
        "@odata.etag": task.etag,
        "planId": task.plan_id,
        "bucketId": task.bucket_id,
        "title": task.title,
        "orderHint": task.order_hint,
        "assigneePriority": task.assignee_priority,
        "percentComplete": task.percent_complete,
        "startDateTime": task.start.map(graph_time),
        "createdDateTime": task.created,
        "dueDateTime": task.due.map(graph_time),
        "hasDescription": !d.description.is_empty(),
        "previewType": task.preview_type,
        "completedDateTime": task.completed,
        "completedBy": task.completed_by,
        "referenceCount": d.references.len(),
        "checklistItemCount": d.checklist.len(),
        "activeChecklistItemCount": d.checklist.values().filter(|c| !c.is_checked).count(),
        "conversationThreadId": task.conversation_thread_id,
        "priority": task.priority,
        "id": task.id,
        "createdBy": task.created_by,
        "appliedCategories": categories,
        "assignments": assignments,
    })
}

fn details_json(task: &Task) -> Value {
    let d = &task.details;
    let checklist: Map<String, Value> = d
        .checklist
        .iter()
        .map(|(k, c)| {
            (
                k.clone(),
                json!({
                    "@odata.type": format!("#{CHECKLIST_TYPE}"),
                    "isChecked": c.is_checked,
                    "title": c.title,
                    "orderHint": c.order_hint,
                    "lastModifiedDateTime": c.modified,
                    "lastModifiedBy": c.modified_by,
                }),
            )
        })
        .collect();
    let references: Map<String, Value> = d
        .references
        .iter()
        .map(|(k, r)| {
            (
                k.clone(),
                json!({
                    "@odata.type": format!("#{REFERENCE_TYPE}"),
                    "alias": r.alias,
                    "type": r.kind,
                    "previewPriority": r.preview_priority,
                    "lastModifiedDateTime": r.modified,
                    "lastModifiedBy": r.modified_by,
                }),
            )
        })
        .collect();
    json!({
        "@odata.etag": d.etag,
        "id": task.id,
        "description": d.description,
        "previewType": d.preview_type,
        "checklist": checklist,
        "references": references,
    })
}

/// `value` with an `@odata.context` added.
fn with_context(mut value: Value, context: String) -> Value {
    if let Some(obj) = value.as_object_mut() {
        obj.insert("@odata.context".to_owned(), Value::String(context));
    }
    value
}

// ---------------------------------------------------------- body parsing

fn node_kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "StartArray",
        Value::Object(_) => "StartObject",
        _ => "PrimitiveValue",
    }
}

fn unknown_property(key: &str, type_name: &str) -> Refusal {
    bad(format!(
        "The property '{key}' does not exist on type '{type_name}'. Make sure to only use property names that are defined by the type or mark the type as open type."
    ))
}

fn read_only(key: &str, type_name: &str) -> Refusal {
    bad(format!(
        "The property '{key}' of type '{type_name}' is read-only and cannot be set."
    ))
}

fn null_refused(name: &str, edm: &str) -> Refusal {
    bad(format!(
        "A null value was found for the property named '{name}', which has the expected type '{edm}[Nullable=False]'. The expected type '{edm}[Nullable=False]' does not allow null values."
    ))
}

fn wrong_literal(value: &Value, edm: &str) -> Refusal {
    bad(format!(
        "Cannot convert the literal '{value}' to the expected type '{edm}'."
    ))
}

fn primitive_expected(name: &str, value: &Value) -> Refusal {
    bad(format!(
        "An unexpected '{}' node was found for property named '{name}' when reading from the JSON reader. A 'PrimitiveValue' node was expected.",
        node_kind(value)
    ))
}

/// A string (not null).
fn string(name: &str, value: &Value) -> Result<String, Refusal> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Err(null_refused(name, "Edm.String")),
        Value::Array(_) | Value::Object(_) => Err(primitive_expected(name, value)),
        other => Err(wrong_literal(other, "Edm.String")),
    }
}

/// A string or null.
fn nullable_string(name: &str, value: &Value) -> Result<Option<String>, Refusal> {
    match value {
        Value::Null => Ok(None),
        v => string(name, v).map(Some),
    }
}

fn boolean(name: &str, value: &Value) -> Result<bool, Refusal> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Null => Err(null_refused(name, "Edm.Boolean")),
        Value::Array(_) | Value::Object(_) => Err(primitive_expected(name, value)),
        other => Err(wrong_literal(other, "Edm.Boolean")),
    }
}

/// An Int32 in `range`.
fn int(name: &str, value: &Value, range: std::ops::RangeInclusive<i64>) -> Result<i64, Refusal> {
    let n = match value {
        Value::Number(n) => n
            .as_i64()
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| wrong_literal(value, "Edm.Int32"))?,
        Value::Null => return Err(null_refused(name, "Edm.Int32")),
        Value::Array(_) | Value::Object(_) => return Err(primitive_expected(name, value)),
        other => return Err(wrong_literal(other, "Edm.Int32")),
    };
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(bad(format!(
            "The value {n} of '{name}' is out of range: it must be between {} and {}.",
            range.start(),
            range.end()
        )))
    }
}

/// An RFC 3339 date-time, or null.
fn date_time(name: &str, value: &Value) -> Result<Option<OffsetDateTime>, Refusal> {
    let Some(text) = nullable_string(name, value)? else {
        return Ok(None);
    };
    OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
        .map(Some)
        .map_err(|_| wrong_literal(value, "Edm.DateTimeOffset"))
}

fn object<'a>(name: &str, value: &'a Value) -> Result<&'a Map<String, Value>, Refusal> {
    value.as_object().ok_or_else(|| {
        bad(format!(
            "An unexpected '{}' node was found for property named '{name}' when reading from the JSON reader. A 'StartObject' node was expected.",
            node_kind(value)
        ))
    })
}

/// An order hint: printable ASCII, at most 512 characters.
fn order_hint(name: &str, value: &Value) -> Result<String, Refusal> {
    let hint = string(name, value)?;
    if hint.is_empty()
        || hint.chars().count() > 512
        || !hint.chars().all(|c| (' '..='~').contains(&c))
    {
        return Err(bad(format!(
            "The value '{hint}' of '{name}' is not a valid order hint."
        )));
    }
    Ok(hint)
}

fn preview_type(name: &str, value: &Value) -> Result<String, Refusal> {
    let p = string(name, value)?;
    if PREVIEW_TYPES.contains(&p.as_str()) {
        Ok(p)
    } else {
        Err(bad(format!(
            "The value '{p}' is not valid for '{name}': it must be one of {}.",
            PREVIEW_TYPES.join(", ")
        )))
    }
}

/// Checks the `@odata.type` of an open-type value (with or without `#`).
/// `required`: the value must declare it.
fn check_type(
    obj: &Map<String, Value>,
    expected: &str,
    required: bool,
    where_: &str,
) -> Result<(), Refusal> {
    match obj.get("@odata.type") {
        None if !required => Ok(()),
        None => Err(bad(format!(
            "The value of '{where_}' must declare \"@odata.type\": \"#{expected}\"."
        ))),
        Some(Value::String(t)) if t.strip_prefix('#').unwrap_or(t) == expected => Ok(()),
        Some(other) => Err(bad(format!(
            "The \"@odata.type\" {other} of '{where_}' is not '#{expected}'."
        ))),
    }
}

/// Other annotations than `@odata.type`, which the caller checks.
fn is_annotation(key: &str) -> bool {
    key.starts_with('@')
}

fn json_body(bytes: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(bad(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )),
    }
}

/// The writable properties of a task, as one request sets them.
#[derive(Default)]
struct TaskPatch {
    plan_id: Option<String>,
    bucket_id: Option<Option<String>>,
    title: Option<String>,
    order_hint: Option<String>,
    assignee_priority: Option<String>,
    percent_complete: Option<i64>,
    priority: Option<i64>,
    start: Option<Option<OffsetDateTime>>,
    due: Option<Option<OffsetDateTime>>,
    preview_type: Option<String>,
    conversation_thread_id: Option<Option<String>>,
    /// `category{n}` → whether applied.
    categories: Vec<(u8, bool)>,
    /// User id → the assignment's order hint, or `None` to unassign.
    assignments: Vec<(String, Option<String>)>,
}

const TASK_READ_ONLY: [&str; 13] = [
    "id",
    "createdDateTime",
    "createdBy",
    "completedDateTime",
    "completedBy",
    "hasDescription",
    "checklistItemCount",
    "activeChecklistItemCount",
    "referenceCount",
    "details",
    "assignedToTaskBoardFormat",
    "bucketTaskBoardFormat",
    "progressTaskBoardFormat",
];

fn parse_task(obj: &Map<String, Value>, create: bool) -> Result<TaskPatch, Refusal> {
    let mut p = TaskPatch::default();
    for (key, value) in obj {
        match key.as_str() {
            "@odata.type" => check_type(obj, TASK_TYPE, false, "task")?,
            k if is_annotation(k) => {}
            "planId" => p.plan_id = Some(string(key, value)?),
            "bucketId" => p.bucket_id = Some(nullable_string(key, value)?),
            "title" => {
                let title = string(key, value)?;
                if title.trim().is_empty() {
                    return Err(bad("The title of a task must not be empty."));
                }
                p.title = Some(title);
            }
            "orderHint" => p.order_hint = Some(order_hint(key, value)?),
            "assigneePriority" => p.assignee_priority = Some(order_hint(key, value)?),
            "percentComplete" => p.percent_complete = Some(int(key, value, 0..=100)?),
            "priority" => p.priority = Some(int(key, value, 0..=10)?),
            "startDateTime" => p.start = Some(date_time(key, value)?),
            "dueDateTime" => p.due = Some(date_time(key, value)?),
            "previewType" => p.preview_type = Some(preview_type(key, value)?),
            "conversationThreadId" => {
                p.conversation_thread_id = Some(nullable_string(key, value)?);
            }
            "appliedCategories" => p.categories = parse_categories(object(key, value)?)?,
            "assignments" => p.assignments = parse_assignments(object(key, value)?, create)?,
            k if TASK_READ_ONLY.contains(&k) => {
                return Err(read_only(k, TASK_TYPE));
            }
            k => return Err(unknown_property(k, TASK_TYPE)),
        }
    }
    if create {
        if p.plan_id.is_none() {
            return Err(bad("The property 'planId' is required to create a task."));
        }
        if p.title.is_none() {
            return Err(bad("The property 'title' is required to create a task."));
        }
    }
    Ok(p)
}

fn parse_categories(obj: &Map<String, Value>) -> Result<Vec<(u8, bool)>, Refusal> {
    let mut out = Vec::with_capacity(obj.len());
    for (key, value) in obj {
        if is_annotation(key) {
            continue;
        }
        let n = key
            .strip_prefix("category")
            .and_then(|n| n.parse::<u8>().ok().filter(|v| v.to_string() == n))
            .filter(|n| (1..=25).contains(n))
            .ok_or_else(|| {
                bad(format!(
                    "The property '{key}' does not exist on type 'microsoft.graph.plannerAppliedCategories': the categories are category1 to category25."
                ))
            })?;
        out.push((n, boolean(key, value)?));
    }
    Ok(out)
}

fn parse_assignments(
    obj: &Map<String, Value>,
    create: bool,
) -> Result<Vec<(String, Option<String>)>, Refusal> {
    let mut out = Vec::with_capacity(obj.len());
    for (key, value) in obj {
        if is_annotation(key) {
            continue;
        }
        if !is_guid(key) {
            return Err(bad(format!(
                "The assignment key '{key}' is not a user object id (a GUID)."
            )));
        }
        let user = key.to_ascii_lowercase();
        if value.is_null() {
            if create {
                return Err(bad(format!(
                    "The assignment of '{key}' is null: a new task has no assignment to remove."
                )));
            }
            out.push((user, None));
            continue;
        }
        let a = object(key, value)?;
        check_type(a, ASSIGNMENT_TYPE, true, &format!("assignments/{key}"))?;
        let mut hint = None;
        for (k, v) in a {
            match k.as_str() {
                k if is_annotation(k) => {}
                "orderHint" => hint = Some(order_hint(k, v)?),
                "assignedBy" | "assignedDateTime" => {
                    return Err(read_only(k, ASSIGNMENT_TYPE));
                }
                other => return Err(unknown_property(other, ASSIGNMENT_TYPE)),
            }
        }
        let hint = hint.ok_or_else(|| {
            bad(format!(
                "The assignment of '{key}' needs an 'orderHint' (\" !\" puts it first)."
            ))
        })?;
        out.push((user, Some(hint)));
    }
    Ok(out)
}

#[derive(Default)]
struct DetailsPatch {
    description: Option<String>,
    preview_type: Option<String>,
    checklist: Vec<(String, Option<ChecklistPatch>)>,
    references: Vec<(String, Option<ReferencePatch>)>,
}

#[derive(Default)]
struct ChecklistPatch {
    title: Option<String>,
    is_checked: Option<bool>,
    order_hint: Option<String>,
}

#[derive(Default)]
struct ReferencePatch {
    alias: Option<Option<String>>,
    kind: Option<Option<String>>,
    preview_priority: Option<String>,
}

/// `guid_keys`: checklist keys must be GUIDs (the API's rule; the Planner
/// UI writes other keys).
fn parse_details(obj: &Map<String, Value>, guid_keys: bool) -> Result<DetailsPatch, Refusal> {
    let mut p = DetailsPatch::default();
    for (key, value) in obj {
        match key.as_str() {
            "@odata.type" => check_type(obj, DETAILS_TYPE, false, "details")?,
            k if is_annotation(k) => {}
            "description" => p.description = Some(nullable_string(key, value)?.unwrap_or_default()),
            "previewType" => p.preview_type = Some(preview_type(key, value)?),
            "checklist" => p.checklist = parse_checklist(object(key, value)?, guid_keys)?,
            "references" => p.references = parse_references(object(key, value)?)?,
            "id" => return Err(read_only(key, DETAILS_TYPE)),
            k => return Err(unknown_property(k, DETAILS_TYPE)),
        }
    }
    Ok(p)
}

fn parse_checklist(
    obj: &Map<String, Value>,
    guid_keys: bool,
) -> Result<Vec<(String, Option<ChecklistPatch>)>, Refusal> {
    let mut out = Vec::with_capacity(obj.len());
    for (key, value) in obj {
        if is_annotation(key) {
            continue;
        }
        let valid = if guid_keys {
            is_guid(key)
        } else {
            !key.trim().is_empty() && key.chars().count() <= 64
        };
        if !valid {
            return Err(bad(format!(
                "The checklist key '{key}' is not valid: use a client-generated GUID."
            )));
        }
        if value.is_null() {
            out.push((key.clone(), None));
            continue;
        }
        let item = object(key, value)?;
        check_type(item, CHECKLIST_TYPE, true, &format!("checklist/{key}"))?;
        let mut c = ChecklistPatch::default();
        for (k, v) in item {
            match k.as_str() {
                k if is_annotation(k) => {}
                "title" => c.title = Some(string(k, v)?),
                "isChecked" => c.is_checked = Some(boolean(k, v)?),
                "orderHint" => c.order_hint = Some(order_hint(k, v)?),
                "lastModifiedBy" | "lastModifiedDateTime" => {
                    return Err(read_only(k, CHECKLIST_TYPE));
                }
                other => return Err(unknown_property(other, CHECKLIST_TYPE)),
            }
        }
        out.push((key.clone(), Some(c)));
    }
    Ok(out)
}

/// Checks a reference key: a URL with `%`, `.` and `:` percent-encoded,
/// decoding to an absolute URL.
fn check_reference_key(key: &str) -> Result<(), Refusal> {
    let refused = |why: &str| {
        bad(format!(
            "The reference key '{key}' is not valid: {why}. Reference keys are URLs in which '%', '.' and ':' are percent-encoded (for example https%3A//contoso%2Ecom/a)."
        ))
    };
    if key.contains('.') || key.contains(':') {
        return Err(refused("it holds a raw '.' or ':'"));
    }
    let mut bytes = Vec::with_capacity(key.len());
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex: String = chars.by_ref().take(2).collect();
            let escape = (hex.chars().count() == 2 && hex.chars().all(|h| h.is_ascii_hexdigit()))
                .then(|| u8::from_str_radix(&hex, 16).ok())
                .flatten();
            match escape {
                Some(b) => bytes.push(b),
                None => return Err(refused("a '%' does not start an escape")),
            }
        } else {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    let decoded = String::from_utf8(bytes).map_err(|_| refused("it does not decode to UTF-8"))?;
    match url::Url::parse(&decoded) {
        Ok(u) if u.has_host() || u.scheme() == "mailto" => Ok(()),
        _ => Err(refused("it does not decode to an absolute URL")),
    }
}

fn parse_references(
    obj: &Map<String, Value>,
) -> Result<Vec<(String, Option<ReferencePatch>)>, Refusal> {
    let mut out = Vec::with_capacity(obj.len());
    for (key, value) in obj {
        if is_annotation(key) {
            continue;
        }
        check_reference_key(key)?;
        if value.is_null() {
            out.push((key.clone(), None));
            continue;
        }
        let item = object(key, value)?;
        check_type(item, REFERENCE_TYPE, true, &format!("references/{key}"))?;
        let mut r = ReferencePatch::default();
        for (k, v) in item {
            match k.as_str() {
                k if is_annotation(k) => {}
                "alias" => r.alias = Some(nullable_string(k, v)?),
                "type" => r.kind = Some(nullable_string(k, v)?),
                "previewPriority" => r.preview_priority = Some(order_hint(k, v)?),
                "lastModifiedBy" | "lastModifiedDateTime" => {
                    return Err(read_only(k, REFERENCE_TYPE));
                }
                other => return Err(unknown_property(other, REFERENCE_TYPE)),
            }
        }
        out.push((key.clone(), Some(r)));
    }
    Ok(out)
}

// --------------------------------------------------------------- writes

impl Inner {
    /// Checks `bucket` for a task of `plan` in tenant `tenant`: another
    /// tenant's bucket does not exist (404), another plan's is a 400.
    fn check_bucket(&self, tenant: usize, plan: &str, bucket: &str) -> Result<(), Refusal> {
        let b = self
            .buckets
            .get(bucket)
            .filter(|b| {
                self.plans
                    .get(&b.plan_id)
                    .is_some_and(|p| p.tenant == tenant)
            })
            .ok_or_else(not_found)?;
        if b.plan_id != plan {
            return Err(bad(format!(
                "The bucket '{bucket}' is not in the plan '{plan}' of the task."
            )));
        }
        Ok(())
    }

    /// Applies `p` to `task` (a copy: the caller commits it).
    fn apply_task(&mut self, task: &mut Task, p: TaskPatch, actor: Actor) -> Result<(), Refusal> {
        if let Some(plan) = &p.plan_id
            && *plan != task.plan_id
        {
            return Err(bad(
                "The simulator does not move tasks between plans: 'planId' must stay the same.",
            ));
        }
        if let Some(Some(bucket)) = &p.bucket_id {
            self.check_bucket(task.tenant, &task.plan_id, bucket)?;
        }
        let now = now_text();
        if let Some(b) = p.bucket_id {
            task.bucket_id = b;
        }
        if let Some(t) = p.title {
            task.title = t;
        }
        if p.order_hint.is_some() {
            let seq = self.seq();
            task.order_hint = service_hint(seq);
        }
        if let Some(a) = p.assignee_priority {
            task.assignee_priority = a;
        }
        if let Some(pc) = p.percent_complete {
            if pc == 100 && task.percent_complete != 100 {
                task.completed = Some(now.clone());
                task.completed_by = Some(self.identity(actor));
            } else if pc < 100 {
                task.completed = None;
                task.completed_by = None;
            }
            task.percent_complete = pc;
        }
        if let Some(pr) = p.priority {
            task.priority = pr;
        }
        if let Some(s) = p.start {
            task.start = s;
        }
        if let Some(d) = p.due {
            task.due = d;
        }
        if let (Some(s), Some(d)) = (task.start, task.due)
            && s > d
        {
            return Err(bad(
                "The start date of the task is after its due date: startDateTime must not be later than dueDateTime.",
            ));
        }
        if let Some(pt) = p.preview_type {
            task.preview_type = pt;
        }
        if let Some(c) = p.conversation_thread_id {
            task.conversation_thread_id = c;
        }
        for (n, on) in p.categories {
            if on {
                task.categories.insert(n);
            } else {
                task.categories.remove(&n);
            }
        }
        for (user, hint) in p.assignments {
            match hint {
                None => {
                    task.assignments.remove(&user);
                }
                Some(_) => {
                    let seq = self.seq();
                    let identity = self.identity(actor);
                    let a = task.assignments.entry(user).or_insert_with(|| Assignment {
                        order_hint: String::new(),
                        assigned: now.clone(),
                        assigned_by: identity,
                    });
                    a.order_hint = service_hint(seq);
                }
            }
        }
        if task.assignments.len() > MAX_ASSIGNEES_PER_TASK {
            return Err(limit(
                "MaximumAssigneesInTasks",
                format!("A task can have at most {MAX_ASSIGNEES_PER_TASK} assignees."),
            ));
        }
        Ok(())
    }

    /// `POST /planner/tasks`.
    fn create_task(&mut self, t: usize, body: &[u8]) -> Result<Value, Refusal> {
        let obj = json_body(body)?;
        let p = parse_task(&obj, true)?;
        let plan_id = p.plan_id.clone().unwrap_or_default();
        let count = self.plan(t, &plan_id)?.tasks.len();
        if let Some(Some(bucket)) = &p.bucket_id {
            self.check_bucket(t, &plan_id, bucket)?;
        }
        if count >= self.max_tasks_per_plan {
            return Err(limit(
                "MaximumTasksInProject",
                format!(
                    "The plan has reached its limit of {} tasks.",
                    self.max_tasks_per_plan
                ),
            ));
        }
        let seq = self.seq();
        let mut id = planner_id(&format!("planner-task:{plan_id}:{seq}"));
        let mut salt = 0u32;
        while self.tasks.contains_key(&id) {
            salt += 1;
            id = planner_id(&format!("planner-task:{plan_id}:{seq}:{salt}"));
        }
        let task_etag = self.bump("Task");
        let details_etag = self.bump("Details");
        let mut task = Task {
            id: id.clone(),
            seq,
            tenant: t,
            plan_id: plan_id.clone(),
            bucket_id: None,
            title: String::new(),
            order_hint: service_hint(seq),
            assignee_priority: String::new(),
            percent_complete: 0,
            priority: 5,
            start: None,
            due: None,
            created: now_text(),
            created_by: self.identity(Actor::App),
            completed: None,
            completed_by: None,
            preview_type: "automatic".to_owned(),
            conversation_thread_id: None,
            categories: BTreeSet::new(),
            assignments: BTreeMap::new(),
            etag: task_etag,
            details: Details {
                etag: details_etag,
                description: String::new(),
                preview_type: "automatic".to_owned(),
                checklist: BTreeMap::new(),
                references: BTreeMap::new(),
            },
        };
        self.apply_task(&mut task, p, Actor::App)?;
        let rendered = task_json(&task);
        if let Some(plan) = self.plans.get_mut(&plan_id) {
            plan.tasks.insert(seq, id.clone());
        }
        self.tasks.insert(id, task);
        Ok(rendered)
    }

    /// Checks `If-Match` for an app's write: present, then current.
    fn precondition(writer: &Writer<'_>, current: &str) -> Result<(), Refusal> {
        let Writer::App { if_match, .. } = writer else {
            return Ok(());
        };
        match if_match {
            None => Err(missing_if_match()),
            Some(sent) if sent.trim() == current => Ok(()),
            Some(_) => Err(refuse(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                "The etag in the If-Match header does not match the current etag of the resource: read it again and retry.",
            )),
        }
    }

    /// `PATCH /planner/tasks/{id}`, or a person's edit.
    fn update_task(
        &mut self,
        writer: &Writer<'_>,
        id: &str,
        body: Result<Map<String, Value>, Refusal>,
    ) -> Result<Value, Refusal> {
        let mut task = self.task(writer, id)?.clone();
        if let Writer::App { if_match: None, .. } = writer {
            return Err(missing_if_match());
        }
        let p = parse_task(&body?, false)?;
        if let Some(Some(bucket)) = &p.bucket_id {
            self.check_bucket(task.tenant, &task.plan_id, bucket)?;
        }
        Self::precondition(writer, &task.etag)?;
        let actor = match writer {
            Writer::App { .. } => Actor::App,
            Writer::Person => Actor::Person(task.tenant),
        };
        self.apply_task(&mut task, p, actor)?;
        task.etag = self.bump("Task");
        let rendered = task_json(&task);
        self.tasks.insert(id.to_owned(), task);
        Ok(rendered)
    }

    /// `PATCH /planner/tasks/{id}/details`, or a person's edit.
    fn update_details(
        &mut self,
        writer: &Writer<'_>,
        id: &str,
        body: Result<Map<String, Value>, Refusal>,
    ) -> Result<Value, Refusal> {
        let mut task = self.task(writer, id)?.clone();
        if let Writer::App { if_match: None, .. } = writer {
            return Err(missing_if_match());
        }
        let is_app = matches!(writer, Writer::App { .. });
        let p = parse_details(&body?, is_app)?;
        Self::precondition(writer, &task.details.etag)?;
        let actor = if is_app {
            Actor::App
        } else {
            Actor::Person(task.tenant)
        };
        let identity = self.identity(actor);
        let now = now_text();
        let d = &mut task.details;
        if let Some(desc) = p.description {
            d.description = desc;
        }
        if let Some(pt) = p.preview_type {
            d.preview_type = pt;
        }
        for (key, item) in p.checklist {
            let Some(c) = item else {
                d.checklist.remove(&key);
                continue;
            };
            if let Some(existing) = d.checklist.get_mut(&key) {
                if let Some(title) = c.title {
                    existing.title = title;
                }
                if let Some(checked) = c.is_checked {
                    existing.is_checked = checked;
                }
                if c.order_hint.is_some() {
                    self.next_seq += 1;
                    existing.order_hint = service_hint(self.next_seq);
                }
                existing.modified = now.clone();
                existing.modified_by = identity.clone();
            } else {
                let title = c.title.ok_or_else(|| {
                    bad(format!("The new checklist item '{key}' needs a 'title'."))
                })?;
                self.next_seq += 1;
                d.checklist.insert(
                    key,
                    ChecklistItem {
                        title,
                        is_checked: c.is_checked.unwrap_or(false),
                        order_hint: service_hint(self.next_seq),
                        modified: now.clone(),
                        modified_by: identity.clone(),
                    },
                );
            }
        }
        if d.checklist.len() > MAX_CHECKLIST_ITEMS_PER_TASK {
            return Err(limit(
                "MaximumChecklistItemsOnTask",
                format!("A task can have at most {MAX_CHECKLIST_ITEMS_PER_TASK} checklist items."),
            ));
        }
        for (key, reference) in p.references {
            let Some(r) = reference else {
                d.references.remove(&key);
                continue;
            };
            let existing = d.references.entry(key).or_insert_with(|| Reference {
                alias: None,
                kind: None,
                preview_priority: " !".to_owned(),
                modified: now.clone(),
                modified_by: identity.clone(),
            });
            if let Some(alias) = r.alias {
                existing.alias = alias;
            }
            if let Some(kind) = r.kind {
                existing.kind = kind;
            }
            if let Some(pp) = r.preview_priority {
                existing.preview_priority = pp;
            }
            existing.modified = now.clone();
            existing.modified_by = identity.clone();
        }
        if d.references.len() > MAX_REFERENCES_PER_TASK {
            return Err(limit(
                "MaximumReferencesOnTask",
                format!("A task can have at most {MAX_REFERENCES_PER_TASK} references."),
            ));
        }
        task.details.etag = self.bump("Details");
        let rendered = details_json(&task);
        self.tasks.insert(id.to_owned(), task);
        Ok(rendered)
    }

    /// `DELETE /planner/tasks/{id}`, or a person's deletion.
    fn delete_task(&mut self, writer: &Writer<'_>, id: &str) -> Result<(), Refusal> {
        let task = self.task(writer, id)?;
        Self::precondition(writer, &task.etag)?;
        let (plan, seq) = (task.plan_id.clone(), task.seq);
        self.tasks.remove(id);
        if let Some(plan) = self.plans.get_mut(&plan) {
            plan.tasks.remove(&seq);
        }
        Ok(())
    }

    /// `POST /planner/buckets`.
    fn create_bucket(&mut self, t: usize, body: &[u8]) -> Result<Value, Refusal> {
        let obj = json_body(body)?;
        let (mut name, mut plan_id) = (None, None);
        for (key, value) in &obj {
            match key.as_str() {
                "@odata.type" => check_type(&obj, BUCKET_TYPE, false, "bucket")?,
                k if is_annotation(k) => {}
                "name" => {
                    let n = string(key, value)?;
                    if n.trim().is_empty() {
                        return Err(bad("The name of a bucket must not be empty."));
                    }
                    name = Some(n);
                }
                "planId" => plan_id = Some(string(key, value)?),
                "orderHint" => {
                    order_hint(key, value)?;
                }
                "id" => return Err(read_only(key, BUCKET_TYPE)),
                k => return Err(unknown_property(k, BUCKET_TYPE)),
            }
        }
        let name =
            name.ok_or_else(|| bad("The property 'name' is required to create a bucket."))?;
        let plan_id =
            plan_id.ok_or_else(|| bad("The property 'planId' is required to create a bucket."))?;
        let count = self.plan(t, &plan_id)?.buckets.len();
        if count >= MAX_BUCKETS_PER_PLAN {
            return Err(limit(
                "MaximumBucketsInProject",
                format!("The plan has reached its limit of {MAX_BUCKETS_PER_PLAN} buckets."),
            ));
        }
        let seq = self.seq();
        let id = planner_id(&format!("planner-bucket:{plan_id}:{seq}"));
        let bucket = Bucket {
            id: id.clone(),
            plan_id: plan_id.clone(),
            name,
            order_hint: service_hint(seq),
            etag: self.bump("Bucket"),
        };
        let rendered = bucket_json(&bucket);
        self.buckets.insert(id.clone(), bucket);
        if let Some(plan) = self.plans.get_mut(&plan_id) {
            plan.buckets.push(id);
        }
        Ok(rendered)
    }

    /// `GET /planner/plans/{id}/tasks`: one page after the skip token.
    fn list_tasks(
        &self,
        t: usize,
        plan_id: &str,
        skiptoken: Option<&str>,
        base: &str,
    ) -> Result<Value, Refusal> {
        let plan = self.plan(t, plan_id)?;
        let after = match skiptoken {
            None => 0,
            Some(token) => decode_skiptoken(token, plan_id)
                .ok_or_else(|| bad(format!("The skip token '{token}' is not valid.")))?,
        };
        let size = self.page_size.max(1);
        let mut page: Vec<(u64, &Task)> = plan
            .tasks
            .range((Bound::Excluded(after), Bound::Unbounded))
            .filter_map(|(seq, id)| self.tasks.get(id).map(|task| (*seq, task)))
            .take(size + 1)
            .collect();
        let more = page.len() > size;
        page.truncate(size);
        let mut body = json!({
            "@odata.context": format!("{METADATA}#planner/plans('{plan_id}')/tasks"),
            "value": page.iter().map(|(_, task)| task_json(task)).collect::<Vec<_>>(),
        });
        if more && let Some((last, _)) = page.last() {
            body["@odata.nextLink"] = json!(format!(
                "{base}v1.0/planner/plans/{plan_id}/tasks?$skiptoken={}",
                URL_SAFE_NO_PAD.encode(format!("{plan_id}:{last}"))
            ));
        }
        Ok(body)
    }
}

fn decode_skiptoken(token: &str, plan_id: &str) -> Option<u64> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (plan, seq) = text.rsplit_once(':')?;
    (plan == plan_id).then_some(())?;
    seq.parse().ok()
}

fn missing_if_match() -> Refusal {
    bad("The If-Match header must be specified for this kind of request.")
}

// ------------------------------------------------------------- requests

/// What a Planner request asks for.
enum Op {
    GroupPlans(String),
    Plan(String),
    Buckets(String),
    Bucket(String),
    CreateBucket,
    Tasks(String),
    CreateTask,
    Task(String),
    UpdateTask(String),
    DeleteTask(String),
    Details(String),
    UpdateDetails(String),
}

impl Op {
    fn writes(&self) -> bool {
        matches!(
            self,
            Op::CreateBucket
                | Op::CreateTask
                | Op::UpdateTask(_)
                | Op::DeleteTask(_)
                | Op::UpdateDetails(_)
        )
    }

    fn has_body(&self) -> bool {
        matches!(
            self,
            Op::CreateBucket | Op::CreateTask | Op::UpdateTask(_) | Op::UpdateDetails(_)
        )
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether `Prefer` asks for `return=representation`.
fn wants_representation(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("return=representation"))
}

fn denied(meta: &Meta) -> Response {
    graph_error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
        meta,
    )
}

fn too_many(retry_after: &str, meta: &Meta) -> Response {
    let mut r = graph_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "Please retry again later.",
        meta,
    );
    if let Ok(v) = HeaderValue::from_str(retry_after) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// A [`Fault::Status`] answer: the status with a Graph error body (an
/// invalid status answers 500).
fn status_fault(code: u16, meta: &Meta) -> Response {
    let status = StatusCode::from_u16(code)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (code, message) = match status.as_u16() {
        400 => ("BadRequest", "The request is not valid."),
        401 => (
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
        403 => ("Forbidden", "Access is denied."),
        404 => ("NotFound", "The requested item is not found."),
        409 => ("Conflict", "The resource was changed by another request."),
        412 => ("PreconditionFailed", "The precondition failed."),
        429 => ("TooManyRequests", "Please retry again later."),
        502 => (
            "BadGateway",
            "The server received an invalid response from an upstream server.",
        ),
        503 => (
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        ),
        504 => ("GatewayTimeout", "The request timed out."),
        _ => ("UnknownError", "An internal server error occurred."),
    };
    graph_error(status, code, message, meta)
}

fn refusal_response(r: &Refusal, meta: &Meta) -> Response {
    graph_error(r.status, r.code, &r.message, meta)
}

fn json_ok(status: StatusCode, value: &Value, meta: &Meta) -> Response {
    json_response(status, serde_json::to_vec(value).unwrap_or_default(), meta)
}

fn no_content(meta: &Meta) -> Response {
    let mut r = json_response(StatusCode::NO_CONTENT, Vec::new(), meta);
    r.headers_mut().remove(header::CONTENT_TYPE);
    r
}

/// Answers a Planner request (see the module's order of checks) and logs
/// it in the Planner request log.
async fn serve(
    shared: &Shared,
    op: Op,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let meta = Meta::new(headers);
    let entry = |tenant: Option<String>, status: u16| PlannerRequest {
        seq: 0,
        tenant,
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        if_match: header_text(headers, "if-match").map(str::to_owned),
        prefer: header_text(headers, "prefer").map(str::to_owned),
        status,
    };
    let (t, roles) = match authenticate_app(shared, headers) {
        Ok(ok) => ok,
        Err(e) => {
            let r = unauthorized(shared, &e, &meta);
            shared.planner.record(entry(None, r.status().as_u16()));
            return r;
        }
    };
    let name = shared.tenants[t].name.clone();
    let finish = |mut r: Response| {
        shared
            .planner
            .record(entry(Some(name.clone()), r.status().as_u16()));
        r.extensions_mut().insert(TenantTag(name.clone()));
        r
    };

    let (mode, dice_429, dice_503, retry_after, latency) = {
        let mut control = lock(&shared.control);
        let faults = control.faults.clone();
        let (u429, u503): (f64, f64) = (control.rng.random(), control.rng.random());
        (
            control.modes[t],
            u429 < faults.fault_429,
            u503 < faults.fault_503,
            format!("{}", faults.retry_after_secs),
            faults.latency_ms,
        )
    };
    match mode {
        TenantMode::Endless503 => return finish(status_fault(503, &meta)),
        TenantMode::ConsentRevoked => return finish(denied(&meta)),
        _ => {}
    }
    let allowed =
        roles.contains(TASKS_READ_WRITE_ALL) || (!op.writes() && roles.contains(TASKS_READ_ALL));
    if !allowed {
        return finish(denied(&meta));
    }
    let fault = shared.planner.take_fault(matches!(op, Op::CreateTask));
    match &fault {
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            return finish(too_many(&retry_after_secs.to_string(), &meta));
        }
        Some(Fault::Status(code)) => return finish(status_fault(*code, &meta)),
        _ => {}
    }
    if dice_429 {
        return finish(too_many(&retry_after, &meta));
    }
    if dice_503 {
        return finish(status_fault(503, &meta));
    }
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }

    let response = match prepare(&op, uri, headers, body).await {
        Err(r) => refusal_response(&r, &meta),
        Ok((skiptoken, bytes)) => {
            let base = request_base(shared, headers);
            process(
                shared,
                t,
                &op,
                headers,
                skiptoken.as_deref(),
                &bytes,
                &base,
                &meta,
            )
        }
    };
    match fault {
        Some(Fault::ProcessThenDrop) => {
            shared.planner.record(entry(Some(name.clone()), 0));
            tracing::debug!(tenant = %name, path = %uri.path(), "planner: processed, dropping the connection");
            // unwinds (without the panic hook) out of the connection's
            // task, which closes the socket unanswered
            std::panic::resume_unwind(Box::new("simulator: connection dropped"));
        }
        Some(Fault::Delay(d)) => {
            let r = finish(response);
            shared.planner.sleep(d).await;
            r
        }
        _ => finish(response),
    }
}

/// The checks before the request is processed: query options, content
/// type, body size. Returns the skip token and the body.
async fn prepare(
    op: &Op,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Option<String>, Bytes), Refusal> {
    let mut skiptoken = None;
    if let Some(query) = uri.query() {
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if key == "$skiptoken" && matches!(op, Op::Tasks(_)) {
                skiptoken = Some(value.into_owned());
            } else {
                return Err(bad(format!(
                    "The query specified in the URI is not valid: the simulator's Planner does not support the query option '{key}' here."
                )));
            }
        }
    }
    if !op.has_body() {
        return Ok((skiptoken, Bytes::new()));
    }
    let media = header_text(headers, "content-type")
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media != "application/json" {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "A supported MIME type could not be found that matches the content type of the request: send application/json.",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_PLANNER_BODY_BYTES)
        .await
        .map_err(|_| {
            refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!(
                    "The request body is larger than the {MAX_PLANNER_BODY_BYTES} bytes the simulator's Planner reads."
                ),
            )
        })?;
    Ok((skiptoken, bytes))
}

#[allow(clippy::too_many_arguments)]
fn process(
    shared: &Shared,
    t: usize,
    op: &Op,
    headers: &HeaderMap,
    skiptoken: Option<&str>,
    body: &[u8],
    base: &str,
    meta: &Meta,
) -> Response {
    let writer = Writer::App {
        tenant: t,
        if_match: header_text(headers, "if-match"),
    };
    let representation = wants_representation(headers);
    let mut inner = lock(&shared.planner.inner);
    let answer: Result<Response, Refusal> = match op {
        Op::GroupPlans(group) => {
            let tenant = &inner.tenants[t];
            if tenant.group_id.eq_ignore_ascii_case(group) {
                let plans: Vec<Value> = tenant
                    .plans
                    .iter()
                    .filter_map(|p| inner.plans.get(p))
                    .map(|p| inner.plan_json(p))
                    .collect();
                Ok(json_ok(
                    StatusCode::OK,
                    &json!({
                        "@odata.context": format!("{METADATA}#groups('{group}')/planner/plans"),
                        "value": plans,
                    }),
                    meta,
                ))
            } else {
                Err(refuse(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    format!(
                        "Resource '{group}' does not exist or one of its queried reference-property objects are not present."
                    ),
                ))
            }
        }
        Op::Plan(id) => inner.plan(t, id).map(|p| {
            json_ok(
                StatusCode::OK,
                &with_context(
                    inner.plan_json(p),
                    format!("{METADATA}#planner/plans/$entity"),
                ),
                meta,
            )
        }),
        Op::Buckets(id) => inner.plan(t, id).map(|p| {
            json_ok(
                StatusCode::OK,
                &json!({
                    "@odata.context": format!("{METADATA}#planner/plans('{id}')/buckets"),
                    "value": inner.buckets_of(p),
                }),
                meta,
            )
        }),
        Op::Bucket(id) => inner
            .buckets
            .get(id)
            .filter(|b| inner.plans.get(&b.plan_id).is_some_and(|p| p.tenant == t))
            .ok_or_else(not_found)
            .map(|b| {
                json_ok(
                    StatusCode::OK,
                    &with_context(
                        bucket_json(b),
                        format!("{METADATA}#planner/buckets/$entity"),
                    ),
                    meta,
                )
            }),
        Op::CreateBucket => inner.create_bucket(t, body).map(|b| {
            json_ok(
                StatusCode::CREATED,
                &with_context(b, format!("{METADATA}#planner/buckets/$entity")),
                meta,
            )
        }),
        Op::Tasks(plan) => inner
            .list_tasks(t, plan, skiptoken, base)
            .map(|page| json_ok(StatusCode::OK, &page, meta)),
        Op::CreateTask => inner.create_task(t, body).map(|task| {
            json_ok(
                StatusCode::CREATED,
                &with_context(task, format!("{METADATA}#planner/tasks/$entity")),
                meta,
            )
        }),
        Op::Task(id) => inner.task(&writer, id).map(|task| {
            json_ok(
                StatusCode::OK,
                &with_context(task_json(task), format!("{METADATA}#planner/tasks/$entity")),
                meta,
            )
        }),
        Op::Details(id) => inner.task(&writer, id).map(|task| {
            json_ok(
                StatusCode::OK,
                &with_context(
                    details_json(task),
                    format!("{METADATA}#planner/tasks('{id}')/details/$entity"),
                ),
                meta,
            )
        }),
        Op::UpdateTask(id) => inner.update_task(&writer, id, json_body(body)).map(|task| {
            if representation {
                json_ok(
                    StatusCode::OK,
                    &with_context(task, format!("{METADATA}#planner/tasks/$entity")),
                    meta,
                )
            } else {
                no_content(meta)
            }
        }),
        Op::UpdateDetails(id) => {
            inner
                .update_details(&writer, id, json_body(body))
                .map(|details| {
                    if representation {
                        json_ok(
                            StatusCode::OK,
                            &with_context(
                                details,
                                format!("{METADATA}#planner/tasks('{id}')/details/$entity"),
                            ),
                            meta,
                        )
                    } else {
                        no_content(meta)
                    }
                })
        }
        Op::DeleteTask(id) => inner.delete_task(&writer, id).map(|()| no_content(meta)),
    };
    answer.unwrap_or_else(|r| refusal_response(&r, meta))
}

// ------------------------------------------------------------ handlers

/// `GET /v1.0/groups/{group}/planner/plans`.
pub(crate) async fn group_plans(
    State(shared): State<Arc<Shared>>,
    Path(group): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(
        &shared,
        Op::GroupPlans(group),
        &method,
        &uri,
        &headers,
        Body::empty(),
    )
    .await
}

/// `GET /v1.0/planner/plans/{plan}`.
pub(crate) async fn get_plan(
    State(shared): State<Arc<Shared>>,
    Path(plan): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(
        &shared,
        Op::Plan(plan),
        &method,
        &uri,
        &headers,
        Body::empty(),
    )
    .await
}

/// `GET /v1.0/planner/plans/{plan}/buckets`.
pub(crate) async fn list_buckets(
    State(shared): State<Arc<Shared>>,
    Path(plan): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(
        &shared,
        Op::Buckets(plan),
        &method,
        &uri,
        &headers,
        Body::empty(),
    )
    .await
}

/// `GET /v1.0/planner/buckets/{bucket}`.
pub(crate) async fn get_bucket(
    State(shared): State<Arc<Shared>>,
    Path(bucket): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(
        &shared,
        Op::Bucket(bucket),
        &method,
        &uri,
        &headers,
        Body::empty(),
    )
    .await
}

/// `POST /v1.0/planner/buckets`.
pub(crate) async fn create_bucket(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve(&shared, Op::CreateBucket, &method, &uri, &headers, body).await
}

/// `GET /v1.0/planner/plans/{plan}/tasks`.
pub(crate) async fn list_tasks(
    State(shared): State<Arc<Shared>>,
    Path(plan): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(
        &shared,
        Op::Tasks(plan),
        &method,
        &uri,
        &headers,
        Body::empty(),
    )
    .await
}

/// `POST /v1.0/planner/tasks`.
pub(crate) async fn create_task(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve(&shared, Op::CreateTask, &method, &uri, &headers, body).await
}

/// `GET /v1.0/planner/tasks/{id}`.
pub(crate) async fn get_task(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(
        &shared,
        Op::Task(id),
        &method,
        &uri,
        &headers,
        Body::empty(),
    )
    .await
}

/// `PATCH /v1.0/planner/tasks/{id}`.
pub(crate) async fn update_task(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve(&shared, Op::UpdateTask(id), &method, &uri, &headers, body).await
}

/// `DELETE /v1.0/planner/tasks/{id}`.
pub(crate) async fn delete_task(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(
        &shared,
        Op::DeleteTask(id),
        &method,
        &uri,
        &headers,
        Body::empty(),
    )
    .await
}

/// `GET /v1.0/planner/tasks/{id}/details`.
pub(crate) async fn get_details(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(
        &shared,
        Op::Details(id),
        &method,
        &uri,
        &headers,
        Body::empty(),
    )
    .await
}

/// `PATCH /v1.0/planner/tasks/{id}/details`.
pub(crate) async fn update_details(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    serve(
        &shared,
        Op::UpdateDetails(id),
        &method,
        &uri,
        &headers,
        body,
    )
    .await
}

// --------------------------------------------------------------- faults

/// A fault as the control API writes it: exactly one of `status` (with
/// `retry_after_secs` for 429), `process_then_drop: true` or `delay_ms`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    process_then_drop: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
}

impl FaultSpec {
    fn to_fault(&self) -> Result<Fault, String> {
        match (
            self.status,
            self.retry_after_secs,
            self.process_then_drop,
            self.delay_ms,
        ) {
            (Some(429), Some(secs), None, None) => Ok(Fault::TooManyRequests {
                retry_after_secs: secs,
            }),
            (Some(_), Some(_), None, None) => {
                Err("retry_after_secs goes with status 429 only".to_owned())
            }
            (Some(status), None, None, None) if (400..=599).contains(&status) => {
                Ok(Fault::Status(status))
            }
            (Some(status), None, None, None) => Err(format!(
                "a fault's status is an error status (400 to 599), not {status}"
            )),
            (None, None, Some(true), None) => Ok(Fault::ProcessThenDrop),
            (None, None, None, Some(ms)) => Ok(Fault::Delay(Duration::from_millis(ms))),
            _ => Err(
                "a fault is one of {\"status\": N[, \"retry_after_secs\": S]}, {\"process_then_drop\": true} or {\"delay_ms\": N}"
                    .to_owned(),
            ),
        }
    }

    fn of(fault: &Fault) -> FaultSpec {
        match fault {
            Fault::TooManyRequests { retry_after_secs } => FaultSpec {
                status: Some(429),
                retry_after_secs: Some(*retry_after_secs),
                ..FaultSpec::default()
            },
            Fault::Status(s) => FaultSpec {
                status: Some(*s),
                ..FaultSpec::default()
            },
            Fault::ProcessThenDrop => FaultSpec {
                process_then_drop: Some(true),
                ..FaultSpec::default()
            },
            Fault::Delay(d) => FaultSpec {
                delay_ms: Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                ..FaultSpec::default()
            },
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsBody {
    #[serde(default)]
    next: Vec<FaultSpec>,
    #[serde(default)]
    create: Vec<FaultSpec>,
}

fn faults_json(inner: &Inner) -> Value {
    let specs = |q: &VecDeque<Fault>| q.iter().map(FaultSpec::of).collect::<Vec<_>>();
    json!({"next": specs(&inner.faults), "create": specs(&inner.create_faults)})
}

// -------------------------------------------------------------- control

/// Everything the simulator's Planner holds, as `GET /_sim/planner` shows
/// it.
fn dump(inner: &Inner) -> Value {
    let tenants: Vec<Value> = inner
        .tenants
        .iter()
        .map(|tenant| {
            let plans: Vec<Value> = tenant
                .plans
                .iter()
                .filter_map(|p| inner.plans.get(p))
                .map(|plan| {
                    let details: Map<String, Value> = inner
                        .tasks_of(plan)
                        .map(|task| (task.id.clone(), details_json(task)))
                        .collect();
                    json!({
                        "plan": inner.plan_json(plan),
                        "buckets": inner.buckets_of(plan),
                        "tasks": inner.tasks_of(plan).map(task_json).collect::<Vec<_>>(),
                        "details": details,
                    })
                })
                .collect();
            let seed = tenant.plans.first().and_then(|p| inner.plans.get(p));
            json!({
                "tenant": tenant.name,
                "tenant_id": tenant.guid,
                "group_id": tenant.group_id,
                "plan_id": seed.map(|p| p.id.as_str()),
                "bucket_id": seed.and_then(|p| p.buckets.first()),
                "person_id": tenant.person_id,
                "plans": plans,
            })
        })
        .collect();
    json!({
        "page_size": inner.page_size,
        "faults": faults_json(inner),
        "tenants": tenants,
    })
}

/// `GET /_sim/planner`: every tenant's group, plans, buckets, tasks and
/// task details, the page size and the faults to come.
pub(crate) async fn get_state(State(shared): State<Arc<Shared>>) -> Response {
    Json(dump(&lock(&shared.planner.inner))).into_response()
}

fn control_refusal(r: &Refusal) -> Response {
    control_error(r.status, format!("{}: {}", r.code, r.message))
}

fn parse_control<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(control_error(
            StatusCode::BAD_REQUEST,
            format!("bad request body: {e}"),
        ))
    })
}

/// `PATCH /_sim/planner/tasks/{id}` with task properties: a person's edit
/// in the Planner UI (no `If-Match`; bumps the etag). 200 with the task.
pub(crate) async fn person_edit_task(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result = lock(&shared.planner.inner).update_task(&Writer::Person, &id, json_body(&body));
    match result {
        Ok(task) => Json(task).into_response(),
        Err(r) => control_refusal(&r),
    }
}

/// `PATCH /_sim/planner/tasks/{id}/details`: a person's edit of the task
/// details. 200 with the details.
pub(crate) async fn person_edit_details(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result = lock(&shared.planner.inner).update_details(&Writer::Person, &id, json_body(&body));
    match result {
        Ok(details) => Json(details).into_response(),
        Err(r) => control_refusal(&r),
    }
}

/// `DELETE /_sim/planner/tasks/{id}`: a person deletes the task. 204.
pub(crate) async fn person_delete_task(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    match lock(&shared.planner.inner).delete_task(&Writer::Person, &id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => control_refusal(&r),
    }
}

/// `GET /_sim/planner/faults`: `{"next": [...], "create": [...]}`.
pub(crate) async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(faults_json(&lock(&shared.planner.inner))).into_response()
}

/// `POST /_sim/planner/faults {"next": [fault…], "create": [fault…]}`:
/// appends to the queues (a fault: `{"status": 429, "retry_after_secs":
/// 1}`, `{"status": 503}`, `{"process_then_drop": true}`, `{"delay_ms":
/// 2000}`); answers the queues.
pub(crate) async fn post_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: FaultsBody = match parse_control(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let convert = |specs: &[FaultSpec]| specs.iter().map(FaultSpec::to_fault).collect();
    let (next, create): (Vec<Fault>, Vec<Fault>) =
        match (convert(&body.next), convert(&body.create)) {
            (Ok(n), Ok(c)) => (n, c),
            (Err(e), _) | (_, Err(e)) => return control_error(StatusCode::BAD_REQUEST, e),
        };
    let mut inner = lock(&shared.planner.inner);
    inner.faults.extend(next);
    inner.create_faults.extend(create);
    Json(faults_json(&inner)).into_response()
}

/// `DELETE /_sim/planner/faults`: forgets the faults to come.
pub(crate) async fn delete_faults(State(shared): State<Arc<Shared>>) -> Response {
    let mut inner = lock(&shared.planner.inner);
    inner.faults.clear();
    inner.create_faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageSizeBody {
    page_size: usize,
}

/// `PUT /_sim/planner/page-size {"page_size": N}` (1 to 1000).
pub(crate) async fn put_page_size(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: PageSizeBody = match parse_control(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if !(1..=MAX_PAGE_SIZE).contains(&body.page_size) {
        return control_error(
            StatusCode::BAD_REQUEST,
            format!("page_size must be 1 to {MAX_PAGE_SIZE}"),
        );
    }
    lock(&shared.planner.inner).page_size = body.page_size;
    Json(json!({"page_size": body.page_size})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    tenant: String,
    title: String,
}

/// `POST /_sim/planner/plans {"tenant": "tenant-001", "title": "…"}`: another
/// plan (with a bucket "To do") in the tenant's group. 201 with the plan.
pub(crate) async fn post_plan(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: PlanBody = match parse_control(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let t = match tenant_index(&shared, &body.tenant) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mut inner = lock(&shared.planner.inner);
    match inner.add_plan(t, &body.title) {
        Ok(id) => {
            let plan = inner.plans.get(&id).map(|p| inner.plan_json(p));
            (StatusCode::CREATED, Json(plan)).into_response()
        }
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `GET /_sim/planner/requests`: the Planner request log.
pub(crate) async fn get_requests(State(shared): State<Arc<Shared>>) -> Response {
    let log: Vec<PlannerRequest> = lock(&shared.planner.inner).log.iter().cloned().collect();
    Json(log).into_response()
}

/// `DELETE /_sim/planner/requests`: empties it.
pub(crate) async fn delete_requests(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.planner.inner).log.clear();
    StatusCode::NO_CONTENT.into_response()
}

// --------------------------------------------------------------- handle

fn person_error(r: Refusal) -> SimError {
    SimError::Planner(format!("{} {}: {}", r.status.as_u16(), r.code, r.message))
}

impl SimHandle {
    /// Queues answers for the next Planner requests that get past the
    /// token and role checks, whatever they are, in order (appended to
    /// what is queued).
    pub fn planner_fail_next(&self, faults: Vec<Fault>) {
        lock(&self.shared.planner.inner).faults.extend(faults);
    }

    /// Queues answers for the next task creates (`POST /planner/tasks`)
    /// only; the queue of [`SimHandle::planner_fail_next`] is asked first.
    pub fn planner_fail_next_create(&self, faults: Vec<Fault>) {
        lock(&self.shared.planner.inner)
            .create_faults
            .extend(faults);
    }

    /// A tenant's (by name, domain or id) seeded group, plan and bucket.
    pub fn planner_plan(&self, tenant: &str) -> Option<SimPlannerPlan> {
        self.shared
            .resolve(tenant)
            .and_then(|t| self.shared.planner.seed(t))
    }

    /// Adds a plan (with a bucket "To do") to a tenant's group; its id.
    pub fn planner_add_plan(&self, tenant: &str, title: &str) -> Result<String, SimError> {
        let t = self
            .shared
            .resolve(tenant)
            .ok_or_else(|| SimError::UnknownTenant(tenant.to_owned()))?;
        lock(&self.shared.planner.inner).add_plan(t, title)
    }

    /// Every task of a tenant's plans, oldest first, as Graph gives them
    /// (empty for an unknown tenant).
    pub fn planner_tasks(&self, tenant: &str) -> Vec<Value> {
        let Some(t) = self.shared.resolve(tenant) else {
            return Vec::new();
        };
        let inner = lock(&self.shared.planner.inner);
        let mut tasks: Vec<&Task> = inner.tasks.values().filter(|x| x.tenant == t).collect();
        tasks.sort_by_key(|x| x.seq);
        tasks.into_iter().map(task_json).collect()
    }

    /// A task as Graph gives it, whatever its tenant.
    pub fn planner_task(&self, task_id: &str) -> Option<Value> {
        lock(&self.shared.planner.inner)
            .tasks
            .get(task_id)
            .map(task_json)
    }

    /// A task's details as Graph gives them, whatever its tenant.
    pub fn planner_task_details(&self, task_id: &str) -> Option<Value> {
        lock(&self.shared.planner.inner)
            .tasks
            .get(task_id)
            .map(details_json)
    }

    /// A person's edit of a task in the Planner UI: task properties as a
    /// PATCH would send them (`{"percentComplete": 100}`), applied without
    /// `If-Match`; the etag changes, and `percentComplete` 100 sets
    /// `completedDateTime` and `completedBy` (the tenant's Planner user,
    /// [`derived_oid`]`("planner.user@{domain}")`). The task after.
    pub fn planner_edit_task(&self, task_id: &str, patch: Value) -> Result<Value, SimError> {
        let body = match patch {
            Value::Object(map) => Ok(map),
            _ => Err(bad("a task patch is a JSON object")),
        };
        lock(&self.shared.planner.inner)
            .update_task(&Writer::Person, task_id, body)
            .map_err(person_error)
    }

    /// A person's edit of a task's details (description, checklist,
    /// references); the details etag changes. The details after.
    pub fn planner_edit_task_details(
        &self,
        task_id: &str,
        patch: Value,
    ) -> Result<Value, SimError> {
        let body = match patch {
            Value::Object(map) => Ok(map),
            _ => Err(bad("a details patch is a JSON object")),
        };
        lock(&self.shared.planner.inner)
            .update_details(&Writer::Person, task_id, body)
            .map_err(person_error)
    }

    /// A person deletes a task in the Planner UI; whether there was one.
    pub fn planner_delete_task(&self, task_id: &str) -> bool {
        lock(&self.shared.planner.inner)
            .delete_task(&Writer::Person, task_id)
            .is_ok()
    }

    /// The page size of the task listing (1 to 1000; 0 counts as 1).
    pub fn planner_set_page_size(&self, page_size: usize) {
        lock(&self.shared.planner.inner).page_size = page_size.clamp(1, MAX_PAGE_SIZE);
    }

    /// The Planner requests answered, oldest first (at most
    /// [`PLANNER_LOG_CAPACITY`]).
    pub fn planner_requests(&self) -> Vec<PlannerRequest> {
        lock(&self.shared.planner.inner)
            .log
            .iter()
            .cloned()
            .collect()
    }

    /// Empties the Planner request log (sequence numbers go on).
    pub fn planner_clear_requests(&self) {
        lock(&self.shared.planner.inner).log.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants(n: usize) -> Vec<TenantInfo> {
        (0..n)
            .map(|t| TenantInfo {
                name: format!("tenant-{t:03}"),
                guid: format!("00000000-0000-4000-8000-{t:012}"),
                domain: format!("tenant-{t:03}.onmicrosoft.com"),
            })
            .collect()
    }

    fn body(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    fn seed(state: &PlannerState, t: usize) -> SimPlannerPlan {
        state.seed(t).expect("seeded")
    }

    #[test]
    fn seeds_are_deterministic_and_per_tenant() {
        let a = PlannerState::new(&tenants(2));
        let b = PlannerState::new(&tenants(2));
        assert_eq!(seed(&a, 0), seed(&b, 0));
        assert_ne!(seed(&a, 0).plan_id, seed(&a, 1).plan_id);
        let s = seed(&a, 0);
        assert_eq!(s.plan_id.chars().count(), 28);
        assert_eq!(s.bucket_id.chars().count(), 28);
        assert_eq!(
            s.group_id,
            derived_oid("changes@tenant-000.onmicrosoft.com")
        );
        assert_eq!(s.title, PLANNER_PLAN_TITLE);
    }

    #[test]
    fn etags_look_like_planners_and_differ() {
        let e = etag("Task", 1);
        assert!(e.starts_with("W/\"JzEt"), "{e}");
        assert_ne!(etag("Task", 1), etag("Task", 2));
        assert_ne!(etag("Task", 1), etag("Details", 1));
    }

    #[test]
    fn create_refusals() {
        let state = PlannerState::new(&tenants(1));
        let plan = seed(&state, 0).plan_id;
        let mut inner = lock(&state.inner);
        let code = |r: Result<Value, Refusal>| match r {
            Ok(v) => panic!("accepted: {v}"),
            Err(r) => (r.status.as_u16(), r.code),
        };
        let user = "fbab97d0-4932-4511-b675-204639209557";
        let cases = [
            json!({"title": "x"}),
            json!({"planId": plan}),
            json!({"planId": plan, "title": 5}),
            json!({"planId": plan, "title": "x", "Title": "y"}),
            json!({"planId": plan, "title": "x", "id": "y"}),
            json!({"planId": plan, "title": "x", "percentComplete": 101}),
            json!({"planId": plan, "title": "x", "percentComplete": 50.5}),
            json!({"planId": plan, "title": "x", "priority": "5"}),
            json!({"planId": plan, "title": "x", "appliedCategories": {"category26": true}}),
            json!({"planId": plan, "title": "x", "appliedCategories": {"category01": true}}),
            json!({"planId": plan, "title": "x", "dueDateTime": "2026-03-31"}),
            json!({"planId": plan, "title": "x", "previewType": "fancy"}),
            json!({"planId": plan, "title": "x", "orderHint": "\u{e9}"}),
            json!({"planId": plan, "title": "x",
                "startDateTime": "2026-04-01T00:00:00Z", "dueDateTime": "2026-03-31T00:00:00Z"}),
            json!({"planId": plan, "title": "x", "assignments": {user: {"orderHint": " !"}}}),
            json!({"planId": plan, "title": "x", "assignments": {user: {"@odata.type": "#microsoft.graph.plannerAssignment"}}}),
            json!({"planId": plan, "title": "x", "assignments": {"ada": {"@odata.type": "#microsoft.graph.plannerAssignment", "orderHint": " !"}}}),
            json!({"planId": plan, "title": "x", "assignments": {user: null}}),
            json!({"planId": plan, "title": "x", "assignments": [user]}),
        ];
        for case in cases {
            let (status, _) = code(inner.create_task(0, &body(case.clone())));
            assert_eq!(status, 400, "{case}");
        }
        assert_eq!(code(inner.create_task(0, b"{\"planId\":")).0, 400);
        let unknown = planner_id("nowhere");
        assert_eq!(
            code(inner.create_task(0, &body(json!({"planId": unknown, "title": "x"})))),
            (404, "NotFound")
        );
        let many: Map<String, Value> = (0..21)
            .map(|i| {
                (
                    format!("00000000-0000-4000-8000-{i:012}"),
                    json!({"@odata.type": "microsoft.graph.plannerAssignment", "orderHint": " !"}),
                )
            })
            .collect();
        assert_eq!(
            code(inner.create_task(
                0,
                &body(json!({"planId": plan, "title": "x", "assignments": many}))
            )),
            (403, "MaximumAssigneesInTasks")
        );
        assert!(inner.tasks.is_empty(), "nothing was created");
    }

    #[test]
    fn the_task_cap_is_enforced() {
        let state = PlannerState::new(&tenants(1));
        let plan = seed(&state, 0).plan_id;
        let mut inner = lock(&state.inner);
        inner.max_tasks_per_plan = 3;
        for i in 0..3 {
            inner
                .create_task(0, &body(json!({"planId": plan, "title": format!("t{i}")})))
                .expect("created");
        }
        let r = inner
            .create_task(0, &body(json!({"planId": plan, "title": "one too many"})))
            .expect_err("refused");
        assert_eq!((r.status.as_u16(), r.code), (403, "MaximumTasksInProject"));
    }

    #[test]
    fn reference_keys() {
        for good in [
            "https%3A//developer%2Emicrosoft%2Ecom",
            "https%3A//contoso%2Ecom/a%20b?q=1",
            "https%3A//contoso%2Ecom/100%25",
        ] {
            assert!(check_reference_key(good).is_ok(), "{good}");
        }
        for bad_key in [
            "https://contoso.com",
            "https%3A//contoso.com",
            "https%3A//contoso%2Ecom/100%",
            "https%3A//contoso%2Ecom/%zz",
            "https%3A//contoso%2Ecom/%e",
            "not a url",
            "",
            "%C3%28",
        ] {
            assert!(check_reference_key(bad_key).is_err(), "{bad_key}");
        }
    }

    #[test]
    fn skiptokens_are_bound_to_their_plan() {
        let token = URL_SAFE_NO_PAD.encode("planA:7");
        assert_eq!(decode_skiptoken(&token, "planA"), Some(7));
        assert_eq!(decode_skiptoken(&token, "planB"), None);
        assert_eq!(decode_skiptoken("!!", "planA"), None);
        assert_eq!(
            decode_skiptoken(&URL_SAFE_NO_PAD.encode("planA:x"), "planA"),
            None
        );
    }

    #[test]
    fn times_are_graphs() {
        let t = time::macros::datetime!(2026-03-31 02:00:00 +02:00);
        assert_eq!(graph_time(t), "2026-03-31T00:00:00Z");
        let t = time::macros::datetime!(2026-03-31 00:00:00.123456789 UTC);
        assert_eq!(graph_time(t), "2026-03-31T00:00:00.1234567Z");
    }

    #[test]
    fn faults_round_trip_through_the_control_shape() {
        for f in [
            Fault::TooManyRequests {
                retry_after_secs: 2,
            },
            Fault::Status(503),
            Fault::ProcessThenDrop,
            Fault::Delay(Duration::from_millis(1500)),
        ] {
            assert_eq!(FaultSpec::of(&f).to_fault(), Ok(f));
        }
        let spec = |v: Value| serde_json::from_value::<FaultSpec>(v).unwrap().to_fault();
        assert!(spec(json!({"status": 200})).is_err());
        assert!(spec(json!({"status": 503, "retry_after_secs": 1})).is_err());
        assert!(spec(json!({"status": 429, "process_then_drop": true})).is_err());
        assert!(spec(json!({})).is_err());
        assert_eq!(spec(json!({"status": 429})), Ok(Fault::Status(429)));
    }

    #[test]
    fn a_persons_checklist_keys_need_not_be_guids() {
        let state = PlannerState::new(&tenants(1));
        let plan = seed(&state, 0).plan_id;
        let mut inner = lock(&state.inner);
        let task = inner
            .create_task(0, &body(json!({"planId": plan, "title": "x"})))
            .expect("created");
        let id = task["id"].as_str().unwrap().to_owned();
        let patch = json!({"checklist": {"43283": {
            "@odata.type": "microsoft.graph.plannerChecklistItem", "title": "by hand"}}});
        let Value::Object(map) = patch else {
            unreachable!()
        };
        let details = inner
            .update_details(&Writer::Person, &id, Ok(map.clone()))
            .expect("a person may");
        assert_eq!(details["checklist"]["43283"]["title"], "by hand");
        let app = Writer::App {
            tenant: 0,
            if_match: Some(details["@odata.etag"].as_str().unwrap()),
        };
        let r = inner
            .update_details(&app, &id, Ok(map))
            .expect_err("refused");
        assert_eq!(r.status.as_u16(), 400);
    }
}
