//! Microsoft Planner through Graph over HTTP: tokens and the
//! Tasks.ReadWrite.All role, the seeded group, plan and buckets, task
//! creation and its validation, etags on tasks and details, paging, tenant
//! isolation, scripted faults (a create processed then dropped, 429), a
//! person's edit through the control API, and deletion.

use std::time::{Duration, Instant};

use changedesk_sim::itsm::Fault;
use changedesk_sim::{
    CorpusSpec, DEFAULT_APP_ROLES, SIM_CLIENT_ID, SimConfig, SimHandle, SimPlannerPlan,
    TASKS_READ_ALL, TASKS_READ_WRITE_ALL, TenantMode, derived_oid,
};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::{assert_graph_error, client, secret_token, start};

const T1: &str = "tenant-001";
const T2: &str = "tenant-002";
const USER_A: &str = "fbab97d0-4932-4511-b675-204639209557";
const USER_B: &str = "2F1C8E6A-33D4-4E55-9A0B-7C1D2E3F4A5B";
const ITEM_A: &str = "95e27074-6c4a-447a-aa24-9d718a0b86fa";
const ITEM_B: &str = "d280ed1a-9f6b-4f9c-a962-fb4d00dc50ff";
const REFERENCE: &str = "https%3A//admin%2Emicrosoft%2Ecom/Adminportal/Home%23/MessageCenter";

fn small() -> SimConfig {
    SimConfig {
        tenants: 2,
        spec: CorpusSpec {
            posts: 10,
            issues: 2,
            ..CorpusSpec::default()
        },
        ..SimConfig::default()
    }
}

/// A simulator whose tenants grant Tasks.ReadWrite.All, and a token of
/// tenant-001 carrying it.
async fn planner_sim() -> (SimHandle, String) {
    let sim = start(small()).await;
    for t in [T1, T2] {
        sim.grant_app_role(t, TASKS_READ_WRITE_ALL).unwrap();
    }
    let token = secret_token(&sim, T1).await;
    (sim, token)
}

fn plan(sim: &SimHandle, tenant: &str) -> SimPlannerPlan {
    sim.planner_plan(tenant).expect("a seeded plan")
}

fn url(sim: &SimHandle, path: &str) -> String {
    format!("{}v1.0/{path}", sim.base_url())
}

fn sim_url(sim: &SimHandle, path: &str) -> String {
    format!("{}_sim/{path}", sim.base_url())
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    /// The body as JSON, `Null` when empty.
    body: Value,
}

impl Answer {
    fn etag(&self) -> String {
        self.body["@odata.etag"]
            .as_str()
            .unwrap_or_else(|| panic!("no etag in {}", self.body))
            .to_owned()
    }

    fn id(&self) -> String {
        self.body["id"].as_str().unwrap().to_owned()
    }
}

/// A request with optional token, headers and JSON body.
async fn call(
    method: Method,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Answer {
    let mut req = client().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(sim: &SimHandle, token: &str, path: &str) -> Answer {
    call(Method::GET, &url(sim, path), Some(token), &[], None).await
}

async fn create(sim: &SimHandle, token: &str, body: &Value) -> Answer {
    call(
        Method::POST,
        &url(sim, "planner/tasks"),
        Some(token),
        &[],
        Some(body),
    )
    .await
}

/// Creates a task in tenant-001's plan; returns the answer (201 checked).
async fn new_task(sim: &SimHandle, token: &str, title: &str) -> Answer {
    let a = create(
        sim,
        token,
        &json!({"planId": plan(sim, T1).plan_id, "title": title}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a
}

async fn patch(
    sim: &SimHandle,
    token: &str,
    path: &str,
    if_match: Option<&str>,
    extra: &[(&str, &str)],
    body: &Value,
) -> Answer {
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if let Some(e) = if_match {
        headers.push(("If-Match", e));
    }
    call(
        Method::PATCH,
        &url(sim, path),
        Some(token),
        &headers,
        Some(body),
    )
    .await
}

fn assignment() -> Value {
    json!({"@odata.type": "#microsoft.graph.plannerAssignment", "orderHint": " !"})
}

fn checklist_item(title: &str, checked: bool) -> Value {
    json!({"@odata.type": "microsoft.graph.plannerChecklistItem", "title": title, "isChecked": checked})
}

#[tokio::test]
async fn planner_needs_a_token_and_the_tasks_role() {
    let sim = start(small()).await;
    assert!(
        !DEFAULT_APP_ROLES.contains(&TASKS_READ_WRITE_ALL),
        "granted by hand in these tests"
    );
    let p = plan(&sim, T1);
    let plans = format!("groups/{}/planner/plans", p.group_id);

    let a = call(Method::GET, &url(&sim, &plans), None, &[], None).await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    assert!(a.headers.contains_key("www-authenticate"));
    let a = call(
        Method::GET,
        &url(&sim, &plans),
        Some("not-a-token"),
        &[],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    // the default roles do not reach Planner
    let token = secret_token(&sim, T1).await;
    let a = get(&sim, &token, &plans).await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
    );
    let body = json!({"planId": p.plan_id, "title": "x"});
    let a = create(&sim, &token, &body).await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
    );

    // Tasks.Read.All (granted through the control API) reads, does not write
    let r = client()
        .put(sim_url(
            &sim,
            &format!("tenants/{T1}/roles/{TASKS_READ_ALL}"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let reader = secret_token(&sim, T1).await;
    assert_eq!(get(&sim, &reader, &plans).await.status, StatusCode::OK);
    let a = create(&sim, &reader, &body).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);

    // Tasks.ReadWrite.All writes
    sim.grant_app_role(T1, TASKS_READ_WRITE_ALL).unwrap();
    let writer = secret_token(&sim, T1).await;
    assert_eq!(
        create(&sim, &writer, &body).await.status,
        StatusCode::CREATED
    );
    assert_eq!(sim.planner_tasks(T1).len(), 1);

    // tenant modes apply
    sim.set_tenant_mode(T1, TenantMode::Endless503).unwrap();
    let a = get(&sim, &writer, &plans).await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
    );
    sim.set_tenant_mode(T1, TenantMode::ConsentRevoked).unwrap();
    assert_eq!(
        get(&sim, &writer, &plans).await.status,
        StatusCode::FORBIDDEN
    );

    // every Planner request is in its log, the refused ones too
    let log = sim.planner_requests();
    assert_eq!(log[0].status, 401);
    assert_eq!(log[0].tenant, None);
    assert_eq!(log[2].status, 403);
    assert_eq!(log[2].tenant.as_deref(), Some(T1));
    assert!(log.iter().any(|r| r.method == "POST" && r.status == 201));
}

#[tokio::test]
async fn each_tenant_has_a_group_with_a_plan_and_buckets() {
    let (sim, token) = planner_sim().await;
    let p = plan(&sim, T1);
    assert_eq!(
        p.group_id,
        derived_oid("changes@tenant-001.onmicrosoft.com")
    );
    assert_eq!(p.title, "Microsoft 365 changes");
    assert_eq!(p.plan_id.chars().count(), 28);
    assert_ne!(p.plan_id, plan(&sim, T2).plan_id);

    let a = get(
        &sim,
        &token,
        &format!("groups/{}/planner/plans", p.group_id),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let plans = a.body["value"].as_array().unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0]["id"], json!(p.plan_id));
    assert_eq!(plans[0]["title"], "Microsoft 365 changes");
    assert_eq!(plans[0]["container"]["containerId"], json!(p.group_id));
    assert_eq!(plans[0]["container"]["type"], "group");
    assert!(
        plans[0]["@odata.etag"]
            .as_str()
            .unwrap()
            .starts_with("W/\"")
    );

    let a = get(&sim, &token, &format!("planner/plans/{}", p.plan_id)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.id(), p.plan_id);

    let a = get(
        &sim,
        &token,
        &format!("planner/plans/{}/buckets", p.plan_id),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let buckets = a.body["value"].as_array().unwrap();
    assert_eq!(buckets.len(), 1);
    let b = &buckets[0];
    assert_eq!(b["name"], "To do");
    assert_eq!(b["id"], json!(p.bucket_id));
    assert_eq!(b["planId"], json!(p.plan_id));
    assert!(b["orderHint"].is_string());
    assert!(b["@odata.etag"].as_str().unwrap().starts_with("W/\"JzEt"));
    let a = get(&sim, &token, &format!("planner/buckets/{}", p.bucket_id)).await;
    assert_eq!(a.status, StatusCode::OK);

    // a bucket is created: 201 with its etag
    let new_bucket = json!({"name": "Exchange", "planId": p.plan_id, "orderHint": " !"});
    let a = call(
        Method::POST,
        &url(&sim, "planner/buckets"),
        Some(&token),
        &[],
        Some(&new_bucket),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["name"], "Exchange");
    assert_eq!(a.id().chars().count(), 28);
    assert!(a.etag().starts_with("W/\""));
    let a = get(
        &sim,
        &token,
        &format!("planner/plans/{}/buckets", p.plan_id),
    )
    .await;
    assert_eq!(a.body["value"].as_array().unwrap().len(), 2);
    for bad in [
        json!({"name": "x", "planId": p.plan_id, "colour": "red"}),
        json!({"planId": p.plan_id}),
        json!({"name": 3, "planId": p.plan_id}),
    ] {
        let a = call(
            Method::POST,
            &url(&sim, "planner/buckets"),
            Some(&token),
            &[],
            Some(&bad),
        )
        .await;
        assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    }

    // unknown group, plan, bucket: 404; a query option the simulator does
    // not implement: 400
    let a = get(
        &sim,
        &token,
        &format!("groups/{}/planner/plans", derived_oid("nobody@example.com")),
    )
    .await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
    );
    let a = get(&sim, &token, "planner/plans/xqQg5FS2LkCp935s-FIFm2QAFkHM").await;
    assert_graph_error(a.status, &a.body, StatusCode::NOT_FOUND, "NotFound");
    let a = get(&sim, &token, "planner/buckets/hsOf2dhOJkqyYYZEtdzDe2QAIUCR").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get(
        &sim,
        &token,
        &format!("planner/plans/{}/tasks?$top=5", p.plan_id),
    )
    .await;
    assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");

    // the control API names them too
    let tenants: Value = client()
        .get(sim_url(&sim, "tenants"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tenants["tenants"][0]["planner"]["plan_id"],
        json!(p.plan_id)
    );
    assert_eq!(
        tenants["tenants"][0]["planner"]["group_id"],
        json!(p.group_id)
    );
}

#[tokio::test]
async fn a_task_is_created_with_its_details() {
    let (sim, token) = planner_sim().await;
    let p = plan(&sim, T1);
    let a = create(
        &sim,
        &token,
        &json!({
            "planId": p.plan_id,
            "bucketId": p.bucket_id,
            "title": "[Exchange Online] MC1234567: retirement of basic auth",
            "assignments": {USER_A: assignment(), USER_B: assignment()},
            "dueDateTime": "2026-03-31T02:00:00+02:00",
            "startDateTime": "2026-03-01T00:00:00Z",
            "priority": 3,
            "percentComplete": 0,
            "appliedCategories": {"category1": true, "category2": false},
            "orderHint": " !",
            "previewType": "checklist",
        }),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let task = &a.body;
    let id = a.id();
    let etag = a.etag();
    assert!(
        etag.starts_with("W/\"JzEt") && etag.ends_with('"'),
        "{etag}"
    );
    assert_eq!(id.chars().count(), 28);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert_eq!(task["planId"], json!(p.plan_id));
    assert_eq!(task["bucketId"], json!(p.bucket_id));
    assert_eq!(
        task["title"],
        "[Exchange Online] MC1234567: retirement of basic auth"
    );
    assert!(task["createdDateTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(task["createdBy"]["application"]["id"], json!(SIM_CLIENT_ID));
    assert_eq!(task["dueDateTime"], "2026-03-31T00:00:00Z", "in UTC");
    assert_eq!(task["startDateTime"], "2026-03-01T00:00:00Z");
    assert_eq!(task["priority"], 3);
    assert_eq!(task["percentComplete"], 0);
    assert_eq!(task["previewType"], "checklist");
    assert_eq!(task["appliedCategories"], json!({"category1": true}));
    assert_eq!(task["hasDescription"], false);
    assert_eq!(task["checklistItemCount"], 0);
    assert_eq!(task["activeChecklistItemCount"], 0);
    assert_eq!(task["referenceCount"], 0);
    assert_eq!(task["completedDateTime"], Value::Null);
    assert_ne!(task["orderHint"], " !", "the service computes the hint");
    let assignments = task["assignments"].as_object().unwrap();
    assert_eq!(assignments.len(), 2);
    let b = &assignments[&USER_B.to_ascii_lowercase()];
    assert_eq!(b["@odata.type"], "#microsoft.graph.plannerAssignment");
    assert!(b["orderHint"].is_string());
    assert!(b["assignedDateTime"].is_string());
    assert_eq!(b["assignedBy"]["application"]["id"], json!(SIM_CLIENT_ID));

    let got = get(&sim, &token, &format!("planner/tasks/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    let mut without_context = got.body.clone();
    without_context
        .as_object_mut()
        .unwrap()
        .remove("@odata.context");
    let mut created = a.body.clone();
    created.as_object_mut().unwrap().remove("@odata.context");
    assert_eq!(without_context, created);
    assert_eq!(sim.planner_task(&id), Some(created));

    // its details exist, with an etag of their own
    let d = get(&sim, &token, &format!("planner/tasks/{id}/details")).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(d.id(), id);
    assert_ne!(d.etag(), etag);
    assert_eq!(d.body["description"], "");
    assert_eq!(d.body["checklist"], json!({}));
    assert_eq!(d.body["references"], json!({}));
    assert_eq!(
        sim.planner_task_details(&id).unwrap()["@odata.etag"],
        json!(d.etag())
    );

    // created complete: completedDateTime and completedBy are set
    let done = create(
        &sim,
        &token,
        &json!({"planId": p.plan_id, "title": "done", "percentComplete": 100}),
    )
    .await;
    assert_eq!(done.status, StatusCode::CREATED);
    assert!(done.body["completedDateTime"].is_string());
    assert_eq!(
        done.body["completedBy"]["application"]["id"],
        json!(SIM_CLIENT_ID)
    );
    assert_eq!(done.body["bucketId"], Value::Null);
    assert_eq!(done.body["priority"], 5, "Planner's default");
    let ids: Vec<Value> = sim
        .planner_tasks(T1)
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, [json!(id), json!(done.id())]);
    assert!(sim.planner_tasks(T2).is_empty());
}

#[tokio::test]
async fn bad_creates_are_refused() {
    let (sim, token) = planner_sim().await;
    let p = plan(&sim, T1);
    let with = |extra: Value| {
        let mut body = json!({"planId": p.plan_id, "title": "x"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    let a = create(&sim, &token, &with(json!({"colour": "red"}))).await;
    assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("'colour' does not exist on type 'microsoft.graph.plannerTask'"),
        "{message}"
    );
    for bad in [
        with(json!({"Title": "case matters"})),
        with(json!({"title": 42})),
        json!({"planId": p.plan_id}),
        json!({"title": "no plan"}),
        with(json!({"id": "mine"})),
        with(json!({"percentComplete": 101})),
        with(json!({"percentComplete": "50"})),
        with(json!({"priority": 11})),
        with(json!({"appliedCategories": {"category26": true}})),
        with(json!({"appliedCategories": {"category1": "yes"}})),
        with(json!({"dueDateTime": "31/03/2026"})),
        with(json!({"previewType": "big"})),
        // start after due
        with(
            json!({"startDateTime": "2026-04-02T00:00:00Z", "dueDateTime": "2026-04-01T00:00:00Z"}),
        ),
        // assignments: no @odata.type, no orderHint, a wrong type, not a
        // GUID, not an object
        with(json!({"assignments": {USER_A: {"orderHint": " !"}}})),
        with(
            json!({"assignments": {USER_A: {"@odata.type": "#microsoft.graph.plannerAssignment"}}}),
        ),
        with(
            json!({"assignments": {USER_A: {"@odata.type": "#microsoft.graph.plannerTask", "orderHint": " !"}}}),
        ),
        with(json!({"assignments": {"ada@contoso.example": assignment()}})),
        with(json!({"assignments": [USER_A]})),
        with(json!({"assignments": {USER_A: true}})),
    ] {
        let a = create(&sim, &token, &bad).await;
        assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    }

    // a bucket of another plan of the tenant: 400; another tenant's: 404
    let other_plan = sim.planner_add_plan(T1, "Other").unwrap();
    let a = get(&sim, &token, &format!("planner/plans/{other_plan}/buckets")).await;
    let other_bucket = a.body["value"][0]["id"].as_str().unwrap().to_owned();
    let a = create(&sim, &token, &with(json!({"bucketId": other_bucket}))).await;
    assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    let a = create(
        &sim,
        &token,
        &with(json!({"bucketId": plan(&sim, T2).bucket_id})),
    )
    .await;
    assert_graph_error(a.status, &a.body, StatusCode::NOT_FOUND, "NotFound");
    let a = create(
        &sim,
        &token,
        &json!({"planId": "xqQg5FS2LkCp935s-FIFm2QAFkHM", "title": "x"}),
    )
    .await;
    assert_graph_error(a.status, &a.body, StatusCode::NOT_FOUND, "NotFound");

    // too many assignees: 403
    let many: Map<String, Value> = (0..21)
        .map(|i| (format!("00000000-0000-4000-8000-{i:012}"), assignment()))
        .collect();
    let a = create(&sim, &token, &with(json!({"assignments": many}))).await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::FORBIDDEN,
        "MaximumAssigneesInTasks",
    );

    // not JSON, not application/json, too large
    let raw = |content_type: &'static str, body: Vec<u8>| {
        let sim_url = url(&sim, "planner/tasks");
        let token = token.clone();
        async move {
            client()
                .post(sim_url)
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        raw("application/json", b"{\"planId\":".to_vec()).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        raw("text/plain", with(json!({})).to_string().into_bytes()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let huge = with(json!({"conversationThreadId": "x".repeat(2 * 1024 * 1024)}));
    assert_eq!(
        raw("application/json", huge.to_string().into_bytes()).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    assert!(sim.planner_tasks(T1).is_empty(), "nothing was created");
}

#[tokio::test]
async fn writes_need_the_current_etag_of_that_object() {
    let (sim, token) = planner_sim().await;
    let created = create(
        &sim,
        &token,
        &json!({"planId": plan(&sim, T1).plan_id, "title": "t",
            "assignments": {USER_A: assignment()},
            "appliedCategories": {"category1": true},
            "dueDateTime": "2026-05-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.id();
    let task_path = format!("planner/tasks/{id}");
    let details_path = format!("planner/tasks/{id}/details");
    let first = created.etag();
    sim.planner_clear_requests();

    // no If-Match: 400, nothing changes
    let a = patch(&sim, &token, &task_path, None, &[], &json!({"title": "x"})).await;
    assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    assert_eq!(sim.planner_task(&id).unwrap()["title"], "t");

    // a person edits the task meanwhile: the etag the client holds is stale
    sim.planner_edit_task(&id, json!({"percentComplete": 50}))
        .unwrap();
    let a = patch(
        &sim,
        &token,
        &task_path,
        Some(&first),
        &[],
        &json!({"title": "renamed"}),
    )
    .await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::PRECONDITION_FAILED,
        "PreconditionFailed",
    );
    // read it again, retry with the fresh etag: 204, empty
    let fresh = get(&sim, &token, &task_path).await.etag();
    assert_ne!(fresh, first);
    let a = patch(
        &sim,
        &token,
        &task_path,
        Some(&fresh),
        &[],
        &json!({"title": "renamed",
            "assignments": {USER_A: null, USER_B: assignment()},
            "appliedCategories": {"category1": false, "category3": true}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(a.body, Value::Null);
    let now = get(&sim, &token, &task_path).await;
    assert_eq!(now.body["title"], "renamed");
    assert_eq!(now.body["percentComplete"], 50, "the person's edit stays");
    assert_eq!(now.body["appliedCategories"], json!({"category3": true}));
    let assigned: Vec<&String> = now.body["assignments"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(assigned, [&USER_B.to_ascii_lowercase()]);
    assert_ne!(now.etag(), fresh, "every write bumps the etag");

    // the request log shows the stale etag, the re-read and the retry
    let log = sim.planner_requests();
    let shape: Vec<(&str, u16, bool)> = log
        .iter()
        .map(|r| (r.method.as_str(), r.status, r.sent_if_match()))
        .collect();
    assert_eq!(
        shape,
        [
            ("PATCH", 400, false),
            ("PATCH", 412, true),
            ("GET", 200, false),
            ("PATCH", 204, true),
            ("GET", 200, false),
        ]
    );
    assert_eq!(log[1].if_match.as_deref(), Some(first.as_str()));

    // Prefer: return=representation: 200 with the task and its new etag
    let a = patch(
        &sim,
        &token,
        &task_path,
        Some(&now.etag()),
        &[("Prefer", "return=representation")],
        &json!({"percentComplete": 100}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["percentComplete"], 100);
    assert!(a.body["completedDateTime"].is_string());
    assert_eq!(
        a.body["completedBy"]["application"]["id"],
        json!(SIM_CLIENT_ID)
    );
    let latest = a.etag();
    assert_eq!(get(&sim, &token, &task_path).await.etag(), latest);
    // back to not started: no longer completed
    let a = patch(
        &sim,
        &token,
        &task_path,
        Some(&latest),
        &[("Prefer", "return=representation")],
        &json!({"percentComplete": 0}),
    )
    .await;
    assert_eq!(a.body["completedDateTime"], Value::Null);
    let latest = a.etag();

    // task and details etags are not interchangeable
    let details = get(&sim, &token, &details_path).await.etag();
    assert_ne!(details, latest);
    let a = patch(
        &sim,
        &token,
        &details_path,
        Some(&latest),
        &[],
        &json!({"description": "x"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED, "{}", a.body);
    let a = patch(
        &sim,
        &token,
        &task_path,
        Some(&details),
        &[],
        &json!({"title": "x"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED, "{}", a.body);
    // nor does `*` skip the check
    let a = patch(
        &sim,
        &token,
        &task_path,
        Some("*"),
        &[],
        &json!({"title": "x"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);

    // a bad patch is refused with the right etag too
    for bad in [
        json!({"colour": "red"}),
        json!({"planId": sim.planner_add_plan(T1, "Other").unwrap()}),
        json!({"startDateTime": "2026-06-01T00:00:00Z"}),
        json!({"percentComplete": -1}),
        json!({"title": null}),
    ] {
        let a = patch(&sim, &token, &task_path, Some(&latest), &[], &bad).await;
        assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    }
    assert_eq!(get(&sim, &token, &task_path).await.etag(), latest);
}

#[tokio::test]
async fn details_hold_the_description_checklist_and_references() {
    let (sim, token) = planner_sim().await;
    let id = new_task(&sim, &token, "details").await.id();
    let task_path = format!("planner/tasks/{id}");
    let details_path = format!("planner/tasks/{id}/details");
    let task_etag = get(&sim, &token, &task_path).await.etag();
    let first = get(&sim, &token, &details_path).await.etag();

    let a = patch(
        &sim,
        &token,
        &details_path,
        Some(&first),
        &[],
        &json!({
            "description": "MC1234567: basic authentication retires.",
            "previewType": "description",
            "checklist": {ITEM_A: checklist_item("Read the post", false),
                          ITEM_B: checklist_item("Tell the service desk", true)},
            "references": {REFERENCE: {
                "@odata.type": "microsoft.graph.plannerExternalReference",
                "alias": "MC1234567", "type": "Other"}},
        }),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);

    let d = get(&sim, &token, &details_path).await;
    let second = d.etag();
    assert_ne!(second, first);
    assert_eq!(
        d.body["description"],
        "MC1234567: basic authentication retires."
    );
    assert_eq!(d.body["previewType"], "description");
    let item = &d.body["checklist"][ITEM_A];
    assert_eq!(item["@odata.type"], "#microsoft.graph.plannerChecklistItem");
    assert_eq!(item["title"], "Read the post");
    assert_eq!(item["isChecked"], false);
    assert_eq!(d.body["checklist"][ITEM_B]["isChecked"], true);
    let reference = &d.body["references"][REFERENCE];
    assert_eq!(reference["alias"], "MC1234567");
    assert_eq!(reference["type"], "Other");

    // the task's counters follow; its etag does not change
    let t = get(&sim, &token, &task_path).await;
    assert_eq!(t.body["hasDescription"], true);
    assert_eq!(t.body["checklistItemCount"], 2);
    assert_eq!(t.body["activeChecklistItemCount"], 1);
    assert_eq!(t.body["referenceCount"], 1);
    assert_eq!(t.etag(), task_etag);

    // null deletes; Prefer: return=representation answers the details
    let a = patch(
        &sim,
        &token,
        &details_path,
        Some(&second),
        &[("Prefer", "return=representation")],
        &json!({"checklist": {ITEM_B: null}, "references": {REFERENCE: null}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["checklist"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        [ITEM_A]
    );
    assert_eq!(a.body["references"], json!({}));
    let third = a.etag();

    // reference keys need '.', ':' and '%' escaped
    for key in [
        "https://admin.microsoft.com",
        "https%3A//admin.microsoft%2Ecom",
        "https%3A//admin%2Emicrosoft%2Ecom/100%",
    ] {
        let body = json!({"references": {key: {
            "@odata.type": "microsoft.graph.plannerExternalReference", "alias": "x"}}});
        let a = patch(&sim, &token, &details_path, Some(&third), &[], &body).await;
        assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    }
    // a new checklist item needs a title, a GUID key and its @odata.type
    for body in [
        json!({"checklist": {"95e27074-0000-447a-aa24-9d718a0b86fa": {
            "@odata.type": "microsoft.graph.plannerChecklistItem", "isChecked": true}}}),
        json!({"checklist": {"item-1": checklist_item("x", false)}}),
        json!({"checklist": {ITEM_B: {"title": "untyped"}}}),
        json!({"checklist": {ITEM_B: {"@odata.type": "microsoft.graph.plannerChecklistItem",
            "title": "x", "done": true}}}),
        json!({"notes": "x"}),
    ] {
        let a = patch(&sim, &token, &details_path, Some(&third), &[], &body).await;
        assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    }
    // at most 20 checklist items
    let twenty: Map<String, Value> = (0..20)
        .map(|i| {
            (
                format!("00000000-0000-4000-8000-{i:012}"),
                checklist_item(&format!("step {i}"), false),
            )
        })
        .collect();
    let a = patch(
        &sim,
        &token,
        &details_path,
        Some(&third),
        &[],
        &json!({"checklist": twenty}),
    )
    .await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::FORBIDDEN,
        "MaximumChecklistItemsOnTask",
    );
    let d = get(&sim, &token, &details_path).await;
    assert_eq!(d.etag(), third, "a refused write changes nothing");
    assert_eq!(d.body["checklist"].as_object().unwrap().len(), 1);
    // no If-Match: 400
    let a = patch(&sim, &token, &details_path, None, &[], &json!({})).await;
    assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
}

#[tokio::test]
async fn tasks_are_listed_in_pages() {
    let (sim, token) = planner_sim().await;
    let p = plan(&sim, T1);
    sim.planner_set_page_size(2);
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(new_task(&sim, &token, &format!("task {i}")).await.id());
    }
    let list = url(&sim, &format!("planner/plans/{}/tasks", p.plan_id));

    async fn pages(first: &str, token: &str) -> (Vec<String>, Vec<usize>) {
        let (mut ids, mut sizes) = (Vec::new(), Vec::new());
        let mut next = Some(first.to_owned());
        while let Some(url) = next {
            let a = call(Method::GET, &url, Some(token), &[], None).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            let items = a.body["value"].as_array().unwrap();
            sizes.push(items.len());
            ids.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
            next = a.body["@odata.nextLink"].as_str().map(str::to_owned);
        }
        (ids, sizes)
    }

    let (ids, sizes) = pages(&list, &token).await;
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(ids, made);

    // the control API sets the page size too
    let r = client()
        .put(sim_url(&sim, "planner/page-size"))
        .json(&json!({"page_size": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (ids, sizes) = pages(&list, &token).await;
    assert_eq!(sizes, [3, 2]);
    assert_eq!(ids, made);
    let r = client()
        .put(sim_url(&sim, "planner/page-size"))
        .json(&json!({"page_size": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // a task deleted between pages does not shift the next one
    let a = call(Method::GET, &list, Some(&token), &[], None).await;
    let next = a.body["@odata.nextLink"].as_str().unwrap().to_owned();
    assert!(sim.planner_delete_task(&made[3]));
    let (rest, _) = pages(&next, &token).await;
    assert_eq!(rest, [made[4].clone()]);

    // a skip token that is not one, or is another plan's: 400
    let a = call(
        Method::GET,
        &format!("{list}?$skiptoken=bogus"),
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    let other = sim.planner_add_plan(T1, "Other").unwrap();
    let token_part = next.split("$skiptoken=").nth(1).unwrap();
    let a = get(
        &sim,
        &token,
        &format!("planner/plans/{other}/tasks?$skiptoken={token_part}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
}

#[tokio::test]
async fn a_token_reaches_its_own_tenant_only() {
    let (sim, token) = planner_sim().await;
    let p1 = plan(&sim, T1);
    let task = new_task(&sim, &token, "tenant-001's").await;
    let (id, etag) = (task.id(), task.etag());
    let details = get(&sim, &token, &format!("planner/tasks/{id}/details"))
        .await
        .etag();
    let other = secret_token(&sim, T2).await;

    for path in [
        format!("groups/{}/planner/plans", p1.group_id),
        format!("planner/plans/{}", p1.plan_id),
        format!("planner/plans/{}/buckets", p1.plan_id),
        format!("planner/plans/{}/tasks", p1.plan_id),
        format!("planner/buckets/{}", p1.bucket_id),
        format!("planner/tasks/{id}"),
        format!("planner/tasks/{id}/details"),
    ] {
        let a = get(&sim, &other, &path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {}", a.body);
    }
    let a = patch(
        &sim,
        &other,
        &format!("planner/tasks/{id}"),
        Some(&etag),
        &[],
        &json!({"title": "mine now"}),
    )
    .await;
    assert_graph_error(a.status, &a.body, StatusCode::NOT_FOUND, "NotFound");
    let a = patch(
        &sim,
        &other,
        &format!("planner/tasks/{id}/details"),
        Some(&details),
        &[],
        &json!({"description": "mine now"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = call(
        Method::DELETE,
        &url(&sim, &format!("planner/tasks/{id}")),
        Some(&other),
        &[("If-Match", &etag)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = create(
        &sim,
        &other,
        &json!({"planId": p1.plan_id, "title": "into another tenant's plan"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    assert_eq!(sim.planner_task(&id).unwrap()["title"], "tenant-001's");
    assert!(sim.planner_tasks(T2).is_empty());
    // its own plan works
    let p2 = plan(&sim, T2);
    let a = create(&sim, &other, &json!({"planId": p2.plan_id, "title": "own"})).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(sim.planner_tasks(T2).len(), 1);
}

#[tokio::test]
async fn a_create_processed_then_dropped_is_committed() {
    let (sim, token) = planner_sim().await;
    let p = plan(&sim, T1);
    sim.planner_fail_next_create(vec![Fault::ProcessThenDrop]);
    // other requests do not take a create's fault
    let a = get(&sim, &token, &format!("planner/plans/{}/tasks", p.plan_id)).await;
    assert_eq!(a.status, StatusCode::OK);

    let sent = client()
        .post(url(&sim, "planner/tasks"))
        .bearer_auth(&token)
        .json(&json!({"planId": p.plan_id, "title": "committed, never answered"}))
        .send()
        .await;
    assert!(sent.is_err(), "the connection was dropped: {sent:?}");
    let tasks = sim.planner_tasks(T1);
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["title"], "committed, never answered");
    let last = sim.planner_requests().pop().unwrap();
    assert_eq!((last.method.as_str(), last.status), ("POST", 0));

    // the same through the control API
    let r = client()
        .post(sim_url(&sim, "planner/faults"))
        .json(&json!({"create": [{"process_then_drop": true}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let queued: Value = r.json().await.unwrap();
    assert_eq!(
        queued,
        json!({"next": [], "create": [{"process_then_drop": true}]})
    );
    let sent = client()
        .post(url(&sim, "planner/tasks"))
        .bearer_auth(&token)
        .json(&json!({"planId": p.plan_id, "title": "again"}))
        .send()
        .await;
    assert!(sent.is_err());
    assert_eq!(sim.planner_tasks(T1).len(), 2);
    // the simulator still serves
    assert_eq!(
        new_task(&sim, &token, "after").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn scripted_faults_throttle_and_fail() {
    let (sim, token) = planner_sim().await;
    let path = format!("planner/plans/{}", plan(&sim, T1).plan_id);
    sim.planner_fail_next(vec![
        Fault::TooManyRequests {
            retry_after_secs: 3,
        },
        Fault::Status(503),
    ]);
    let a = get(&sim, &token, &path).await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
    );
    assert_eq!(a.headers["retry-after"], "3");
    let a = get(&sim, &token, &path).await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
    );
    assert_eq!(get(&sim, &token, &path).await.status, StatusCode::OK);

    // through the control API; refusals of bad faults
    let faults = sim_url(&sim, "planner/faults");
    let r = client()
        .post(&faults)
        .json(&json!({"next": [{"status": 429, "retry_after_secs": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let a = get(&sim, &token, &path).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.headers["retry-after"], "1");
    for bad in [
        json!({"next": [{"status": 200}]}),
        json!({"next": [{"status": 503, "retry_after_secs": 1}]}),
        json!({"next": [{}]}),
        json!({"later": []}),
    ] {
        let r = client().post(&faults).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    // a delay: processed, answered late
    client()
        .post(&faults)
        .json(&json!({"next": [{"delay_ms": 300}]}))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(get(&sim, &token, &path).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // queued faults can be read and dropped
    client()
        .post(&faults)
        .json(&json!({"next": [{"status": 500}]}))
        .send()
        .await
        .unwrap();
    let pending: Value = client()
        .get(&faults)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending["next"], json!([{"status": 500}]));
    let r = client().delete(&faults).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(&sim, &token, &path).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_persons_edit_bumps_the_etag() {
    let (sim, token) = planner_sim().await;
    let created = new_task(&sim, &token, "to be completed by hand").await;
    let (id, first) = (created.id(), created.etag());

    let r = client()
        .patch(sim_url(&sim, &format!("planner/tasks/{id}")))
        .json(&json!({"percentComplete": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let edited: Value = r.json().await.unwrap();
    assert_eq!(edited["percentComplete"], 100);
    assert!(edited["completedDateTime"].is_string());
    assert_eq!(
        edited["completedBy"]["user"]["id"],
        json!(derived_oid("planner.user@tenant-001.onmicrosoft.com"))
    );
    let second = edited["@odata.etag"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(
        get(&sim, &token, &format!("planner/tasks/{id}"))
            .await
            .etag(),
        second
    );

    // the client's etag is stale now
    let a = patch(
        &sim,
        &token,
        &format!("planner/tasks/{id}"),
        Some(&first),
        &[],
        &json!({"title": "x"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);

    // the whole state, as a separate process sees it
    let state: Value = client()
        .get(sim_url(&sim, "planner"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t1 = &state["tenants"][0];
    assert_eq!(t1["tenant"], T1);
    assert_eq!(t1["plan_id"], json!(plan(&sim, T1).plan_id));
    assert_eq!(t1["plans"][0]["tasks"][0]["@odata.etag"], json!(second));
    assert!(t1["plans"][0]["details"][&id]["@odata.etag"].is_string());
    assert_eq!(state["page_size"], 100);

    // the handle edits too; a person's edit of the details
    let back = sim
        .planner_edit_task(&id, json!({"percentComplete": 50}))
        .unwrap();
    assert_eq!(back["completedDateTime"], Value::Null);
    assert_ne!(back["@odata.etag"], json!(second));
    assert!(sim.planner_edit_task(&id, json!({"percent": 50})).is_err());
    assert!(sim.planner_edit_task("nope", json!({})).is_err());
    let r = client()
        .patch(sim_url(&sim, &format!("planner/tasks/{id}/details")))
        .json(&json!({"description": "noted by hand"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(sim.planner_task(&id).unwrap()["hasDescription"], true);

    // unknown task, bad patch
    let r = client()
        .patch(sim_url(&sim, "planner/tasks/xqQg5FS2LkCp935s-FIFm2QAFkHM"))
        .json(&json!({"percentComplete": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = client()
        .patch(sim_url(&sim, &format!("planner/tasks/{id}")))
        .json(&json!({"percentComplete": 150}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // a person deletes it
    let r = client()
        .delete(sim_url(&sim, &format!("planner/tasks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get(&sim, &token, &format!("planner/tasks/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn delete_needs_the_current_etag() {
    let (sim, token) = planner_sim().await;
    let created = new_task(&sim, &token, "to delete").await;
    let (id, etag) = (created.id(), created.etag());
    let task_url = url(&sim, &format!("planner/tasks/{id}"));

    let a = call(Method::DELETE, &task_url, Some(&token), &[], None).await;
    assert_graph_error(a.status, &a.body, StatusCode::BAD_REQUEST, "BadRequest");
    let stale = "W/\"JzEtVGFzayAgQEBAQEBAQEBAQEBAQEBAWCc=\"";
    let a = call(
        Method::DELETE,
        &task_url,
        Some(&token),
        &[("If-Match", stale)],
        None,
    )
    .await;
    assert_graph_error(
        a.status,
        &a.body,
        StatusCode::PRECONDITION_FAILED,
        "PreconditionFailed",
    );
    let a = call(
        Method::DELETE,
        &task_url,
        Some(&token),
        &[("If-Match", &etag)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(a.body, Value::Null);

    for path in [
        format!("planner/tasks/{id}"),
        format!("planner/tasks/{id}/details"),
    ] {
        let a = get(&sim, &token, &path).await;
        assert_graph_error(a.status, &a.body, StatusCode::NOT_FOUND, "NotFound");
    }
    let a = call(
        Method::DELETE,
        &task_url,
        Some(&token),
        &[("If-Match", &etag)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(sim.planner_tasks(T1).is_empty());
}
