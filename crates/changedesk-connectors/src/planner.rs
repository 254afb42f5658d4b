//! Microsoft Planner tasks through Microsoft Graph v1.0
//! (`../shared/reference/integrations.md` §7, `graph-api.md` §4.2): an app
//! registration's client credentials (application permission
//! `Tasks.ReadWrite.All`), tasks in one plan, in buckets chosen by the
//! connector's rule, assigned to owners by their Entra object ids, with
//! details (description, the post's link as a reference, a checklist).
//!
//! - **Created once.** A task has no field for changedesk's id: it ends the
//!   task's title (`… [cd-MC1234567-all]`), and [`Planner::create_task`]
//!   lists the plan's tasks for it before every attempt. After a create
//!   that may have happened unseen (no answer, or a 5xx), the list is asked
//!   again until [`PlannerSettings::list_settle`] has passed before anything
//!   is created again.
//! - **Every write names the etag it read** (`If-Match`): a task and its
//!   details have etags of their own. A `412` (or `409`) means someone
//!   wrote meanwhile: the object is read again and the write made on what
//!   is there now, a few times at most ([`WRITE_TRIES`]), then
//!   [`ConnectorError::Conflict`].
//! - **Retried within reason** as every connector: 429 (with
//!   `Retry-After`), a 5xx and no answer per the [`RetryPolicy`]; refused
//!   credentials never. A next page's link is followed only under the
//!   configured Graph root (the token goes nowhere else).
//! - Planner has no comments through Graph and no canceled state: a note is
//!   written at the top of the task's description, and closing completes
//!   the task (`percentComplete` 100). A task deleted over there reads as
//!   canceled.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use changedesk_core::change_control::TicketProgress;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, IF_MATCH};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::{
    Answer, Api, ConnectorError, Failed, RetryPolicy, TokenCache, base_url,
    client_credentials_token, correlation_ok, create_once, error_for, http_client, read_answer,
    transport,
};

/// How often a settling list is asked again.
const SETTLE_STEP: Duration = Duration::from_millis(250);

/// How many times a write is tried on a fresh read after a `412`/`409`.
pub const WRITE_TRIES: u32 = 4;

/// The longest description written: Planner's limit is larger, but a task
/// noted for years stays readable (older notes are cut, by characters).
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;

/// The most tasks of the plan read when looking a task up (Planner holds
/// at most 9,000 per plan: more is a protocol error, not a loop).
const MAX_LISTED: usize = 10_000;

/// A Planner connector's settings.
#[derive(Debug, Clone)]
pub struct PlannerSettings {
    /// Graph's root, e.g. `https://graph.microsoft.com/` (requests go to
    /// `v1.0/…` below it; the token's scope is `{root}/.default`).
    pub graph: Url,
    /// The sign-in authority, e.g. `https://login.microsoftonline.com/`.
    pub login: Url,
    /// The directory (tenant) id or domain of the plan's tenant.
    pub tenant: String,
    /// The app registration's client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: SecretString,
    /// The plan's id.
    pub plan: String,
    /// The longest a request may take.
    pub timeout: Duration,
    /// Retries within one call.
    pub retry: RetryPolicy,
    /// After a create that may have happened unseen, the plan's tasks are
    /// listed until this has passed before creating again.
    pub list_settle: Duration,
}

impl PlannerSettings {
    /// Settings with a 30 s timeout, the default retries and a 30 s settle.
    pub fn new(
        graph: Url,
        login: Url,
        tenant: &str,
        client_id: &str,
        client_secret: SecretString,
        plan: &str,
    ) -> PlannerSettings {
        PlannerSettings {
            graph,
            login,
            tenant: tenant.trim().to_owned(),
            client_id: client_id.trim().to_owned(),
            client_secret,
            plan: plan.trim().to_owned(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            list_settle: Duration::from_secs(30),
        }
    }
}

/// A task to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// changedesk's id for it, kept at the end of its title.
    pub correlation_id: String,
    /// The title (cut by characters to leave room for the id).
    pub title: String,
    /// The bucket's name (made when the plan lacks it).
    pub bucket: String,
    /// Entra object ids of the people assigned.
    pub assignees: Vec<String>,
    /// The due date (`YYYY-MM-DD`), if any.
    pub due: Option<String>,
    /// The description's paragraphs.
    pub paragraphs: Vec<String>,
    /// Links as references: (URL, text).
    pub links: Vec<(String, String)>,
    /// The checklist's items, in order.
    pub checklist: Vec<String>,
}

/// A task as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its id (28 characters, case-sensitive).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its bucket's id.
    pub bucket_id: String,
    /// `0` not started, `100` complete, between: in progress.
    pub percent_complete: u8,
    /// Whether its details have a description.
    pub has_description: bool,
    /// Its etag (what the next write names).
    pub etag: String,
}

impl Task {
    /// Where the task stands for changedesk.
    pub fn progress(&self) -> TicketProgress {
        match self.percent_complete {
            0 => TicketProgress::Open,
            100.. => TicketProgress::Done,
            _ => TicketProgress::InProgress,
        }
    }

    /// Its state as Planner's UI names it.
    pub fn state(&self) -> &'static str {
        match self.percent_complete {
            0 => "not started",
            100.. => "completed",
            _ => "in progress",
        }
    }

    fn from_json(v: &Value) -> Result<Task, ConnectorError> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let id = text("id");
        if id.is_empty() {
            return Err(ConnectorError::Protocol("a task without id".into()));
        }
        let percent = v
            .get("percentComplete")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .min(100);
        Ok(Task {
            id,
            title: text("title"),
            bucket_id: text("bucketId"),
            percent_complete: u8::try_from(percent).unwrap_or(100),
            has_description: v
                .get("hasDescription")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            etag: text("@odata.etag"),
        })
    }
}

/// The tasks of an answer's body (`{"value":[…],"@odata.nextLink"}`, or a
/// task alone) and the next page's link: what the connector reads of any
/// answer, tasks or an error, never a panic (fuzzed:
/// `fuzz/fuzz_targets/planner.rs`).
pub fn parse_tasks(body: &[u8]) -> Result<(Vec<Task>, Option<String>), ConnectorError> {
    let value = crate::json_body(body)?;
    tasks_in(&value)
}

fn tasks_in(value: &Value) -> Result<(Vec<Task>, Option<String>), ConnectorError> {
    let next = value
        .get("@odata.nextLink")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match value.get("value") {
        Some(Value::Array(items)) => Ok((
            items
                .iter()
                .map(Task::from_json)
                .collect::<Result<_, _>>()?,
            next,
        )),
        Some(_) => Err(ConnectorError::Protocol("`value` is not a list".into())),
        None if value.is_object() => Ok((vec![Task::from_json(value)?], None)),
        None => Err(ConnectorError::Protocol("not an object".into())),
    }
}

/// A task's title carrying its correlation id: `title [id]`, at most 255
/// characters (the title is cut, by characters, never the id).
pub fn task_title(title: &str, correlation_id: &str) -> String {
    let tail = format!(" [{correlation_id}]");
    let room = 255usize.saturating_sub(tail.chars().count());
    let mut t: String = title.trim().chars().take(room).collect();
    t.push_str(&tail);
    t
}

/// A reference's key: the URL with `%`, `.`, `:`, `@` and `#` escaped, as
/// Planner wants (`https%3A//developer%2Emicrosoft%2Ecom`).
pub fn reference_key(url: &str) -> String {
    let mut key = String::with_capacity(url.len() + 16);
    for c in url.chars() {
        match c {
            '%' => key.push_str("%25"),
            '.' => key.push_str("%2E"),
            ':' => key.push_str("%3A"),
            '@' => key.push_str("%40"),
            '#' => key.push_str("%23"),
            c => key.push(c),
        }
    }
    key
}

/// A GUID derived from `seed` (a checklist item's client key): the same
/// item gets the same key however often its write is retried, so Planner
/// merges it instead of adding it twice.
pub fn derived_guid(seed: &str) -> String {
    let d = Sha256::digest(seed.as_bytes());
    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The client of one plan.
pub struct Planner {
    settings: PlannerSettings,
    http: reqwest::Client,
    token: TokenCache,
}

impl std::fmt::Debug for Planner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner")
            .field("graph", &self.settings.graph.as_str())
            .field("plan", &self.settings.plan)
            .finish_non_exhaustive()
    }
}

impl Planner {
    /// A client for `settings`.
    pub fn new(mut settings: PlannerSettings) -> Result<Planner, ConnectorError> {
        settings.graph = base_url(settings.graph, "Graph")?;
        settings.login = base_url(settings.login, "sign-in")?;
        for (what, v) in [
            ("tenant", &settings.tenant),
            ("client id", &settings.client_id),
            ("plan", &settings.plan),
        ] {
            if v.is_empty()
                || v.chars().count() > 256
                || v.chars()
                    .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#'))
            {
                return Err(ConnectorError::Config(format!(
                    "the {what} is empty or not an id: {v:?}"
                )));
            }
        }
        Ok(Planner {
            http: http_client(settings.timeout)?,
            token: TokenCache::default(),
            settings,
        })
    }

    /// The plan's id.
    pub fn plan(&self) -> &str {
        &self.settings.plan
    }

    /// Checks that Graph takes the credentials and the plan is there.
    pub async fn test_connection(&self) -> Result<(), ConnectorError> {
        let path = format!("v1.0/planner/plans/{}", segment(&self.settings.plan));
        self.call(Method::GET, &path, &[], None).await.map(|_| ())
    }

    /// A task's page: Planner's web app for Graph's own root, else the
    /// task in the API (a simulator's).
    pub fn task_url(&self, task_id: &str) -> String {
        if self.settings.graph.host_str() == Some("graph.microsoft.com") {
            format!(
                "https://tasks.office.com/{}/Home/Task/{}",
                self.settings.tenant,
                segment(task_id)
            )
        } else {
            format!(
                "{}v1.0/planner/tasks/{}",
                self.settings.graph,
                segment(task_id)
            )
        }
    }

    /// Every task of the plan, page by page.
    pub async fn list_tasks(&self) -> Result<Vec<Task>, ConnectorError> {
        let first = format!("v1.0/planner/plans/{}/tasks", segment(&self.settings.plan));
        let mut answer = self.call(Method::GET, &first, &[], None).await?;
        let mut tasks = Vec::new();
        loop {
            let (page, next) = tasks_in(&answer.body)?;
            tasks.extend(page);
            if tasks.len() > MAX_LISTED {
                return Err(ConnectorError::Protocol(format!(
                    "the plan lists over {MAX_LISTED} tasks"
                )));
            }
            let Some(next) = next else {
                return Ok(tasks);
            };
            let path = self.below_root(&next)?;
            answer = self.call(Method::GET, &path, &[], None).await?;
        }
    }

    /// A next page's link as a path below the Graph root (a link elsewhere
    /// is refused: the token would go with it).
    fn below_root(&self, link: &str) -> Result<String, ConnectorError> {
        let root = self.settings.graph.as_str();
        link.strip_prefix(root)
            .filter(|rest| !rest.starts_with('/'))
            .map(str::to_owned)
            .ok_or_else(|| {
                ConnectorError::Protocol(format!(
                    "a next page outside the Graph root: {}",
                    changedesk_core::text::clip_chars(link, 80)
                ))
            })
    }

    /// The task whose title ends with `[correlation_id]`, if any.
    pub async fn find(&self, correlation_id: &str) -> Result<Option<Task>, ConnectorError> {
        correlation_ok(correlation_id, 100)?;
        let tail = format!("[{correlation_id}]");
        Ok(self
            .list_tasks()
            .await?
            .into_iter()
            .filter(|t| t.title.trim_end().ends_with(&tail))
            .min_by(|a, b| a.id.cmp(&b.id)))
    }

    /// Lists the plan until the task shows or
    /// [`PlannerSettings::list_settle`] has passed: the look-up after a
    /// create that may have happened unseen (by this call, or by a process
    /// that died mid-create).
    pub async fn find_settled(&self, correlation_id: &str) -> Result<Option<Task>, ConnectorError> {
        let until = Instant::now() + self.settings.list_settle;
        loop {
            if let Some(found) = self.find(correlation_id).await? {
                return Ok(Some(found));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            tokio::time::sleep(SETTLE_STEP).await;
        }
    }

    /// The plan's buckets: name → id (the first by id when two share a
    /// name).
    pub async fn buckets(&self) -> Result<BTreeMap<String, String>, ConnectorError> {
        let path = format!(
            "v1.0/planner/plans/{}/buckets",
            segment(&self.settings.plan)
        );
        let answer = self.call(Method::GET, &path, &[], None).await?;
        let Some(items) = answer.body.get("value").and_then(Value::as_array) else {
            return Err(ConnectorError::Protocol(
                "a bucket list without `value`".into(),
            ));
        };
        let mut by_name = BTreeMap::new();
        let mut listed: Vec<(String, String)> = items
            .iter()
            .filter_map(|b| {
                Some((
                    b.get("id")?.as_str()?.to_owned(),
                    b.get("name")?.as_str()?.trim().to_lowercase(),
                ))
            })
            .collect();
        listed.sort();
        for (id, name) in listed {
            by_name.entry(name).or_insert(id);
        }
        Ok(by_name)
    }

    /// The id of the bucket called `name` (case-insensitively), made when
    /// the plan lacks it.
    pub async fn bucket_id(&self, name: &str) -> Result<String, ConnectorError> {
        let name = name.trim();
        if let Some(id) = self.buckets().await?.get(&name.to_lowercase()) {
            return Ok(id.clone());
        }
        let body = json!({"name": name, "planId": self.settings.plan, "orderHint": " !"});
        // a bucket made twice by two workers is harmless: the first by id
        // is used by both from then on
        let answer = self
            .call_once(Method::POST, "v1.0/planner/buckets", &body)
            .await?;
        answer
            .body
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ConnectorError::Protocol("a bucket answer without id".into()))
    }

    /// Creates the task, once: the one already carrying its correlation id
    /// is returned instead (looked up before each attempt, and after an
    /// attempt that may have created it unseen, until the list settles).
    /// Its details (description, references, checklist) are written when
    /// it has none yet, so a raise cut short between the two completes on
    /// the next try. The `bool` says whether this call's create was
    /// answered.
    pub async fn create_task(&self, new: &NewTask) -> Result<(Task, bool), ConnectorError> {
        self.create_task_after(new, false).await
    }

    /// [`Planner::create_task`], told whether an earlier attempt may have
    /// created the task unseen (`maybe_made`: a process that died
    /// mid-create): the plan is then listed until it settles before
    /// anything is created.
    pub async fn create_task_after(
        &self,
        new: &NewTask,
        maybe_made: bool,
    ) -> Result<(Task, bool), ConnectorError> {
        correlation_ok(&new.correlation_id, 100)?;
        for a in &new.assignees {
            if !changedesk_core::triage::is_guid(a) {
                return Err(ConnectorError::Config(format!(
                    "an assignee must be an Entra object id (a GUID): {a:?}"
                )));
            }
        }
        let bucket = self.bucket_id(&new.bucket).await?;
        let mut body = json!({
            "planId": self.settings.plan,
            "bucketId": bucket,
            "title": task_title(&new.title, &new.correlation_id),
        });
        if let Some(o) = body.as_object_mut() {
            if !new.assignees.is_empty() {
                let assignments: Map<String, Value> = new
                    .assignees
                    .iter()
                    .map(|a| {
                        (
                            a.to_lowercase(),
                            json!({"@odata.type": "#microsoft.graph.plannerAssignment", "orderHint": " !"}),
                        )
                    })
                    .collect();
                o.insert("assignments".into(), Value::Object(assignments));
            }
            if let Some(due) = &new.due {
                o.insert("dueDateTime".into(), due_date_time(due)?.into());
            }
        }
        let (task, created) = create_once(
            &self.settings.retry,
            Duration::ZERO,
            |unseen| async move {
                if unseen || maybe_made {
                    self.find_settled(&new.correlation_id).await
                } else {
                    self.find(&new.correlation_id).await
                }
            },
            || async {
                let answer = self.attempt("v1.0/planner/tasks", &body).await?;
                Task::from_json(&answer.body).map_err(Failed::unanswered)
            },
        )
        .await?;
        if !task.has_description {
            self.write_details(&task.id, new).await?;
        }
        Ok((task, created))
    }

    /// Writes a new task's description, references and checklist (keys
    /// derived from the correlation id: a retry merges, never doubles).
    async fn write_details(&self, task_id: &str, new: &NewTask) -> Result<(), ConnectorError> {
        let mut references = Map::new();
        for (url, text) in &new.links {
            references.insert(
                reference_key(url),
                json!({"@odata.type": "microsoft.graph.plannerExternalReference", "alias": text, "type": "Other"}),
            );
        }
        let mut checklist = Map::new();
        for (i, item) in new.checklist.iter().enumerate() {
            let title: String = item.chars().take(100).collect();
            checklist.insert(
                derived_guid(&format!("{}#{i}", new.correlation_id)),
                json!({"@odata.type": "microsoft.graph.plannerChecklistItem", "title": title, "isChecked": false}),
            );
        }
        let description = clip_description(&new.paragraphs.join("\n\n"));
        let patch = json!({
            "description": description,
            "previewType": "checklist",
            "references": references,
            "checklist": checklist,
        });
        self.update_details(task_id, |_| Some(patch.clone()))
            .await
            .map(|_| ())
    }

    /// Reads the task `id`.
    pub async fn get(&self, id: &str) -> Result<Task, ConnectorError> {
        let answer = self.call(Method::GET, &task_path(id), &[], None).await?;
        Task::from_json(&answer.body)
    }

    /// Sets what `patch` gives (from the task as read) on the task `id`,
    /// naming the etag read; on a `412`/`409` reads it again and asks
    /// `patch` again, [`WRITE_TRIES`] times at most. `patch` returning
    /// `None`: nothing to write (the task as read is returned).
    pub async fn update_task(
        &self,
        id: &str,
        mut patch: impl FnMut(&Task) -> Option<Value>,
    ) -> Result<Task, ConnectorError> {
        let path = task_path(id);
        for _ in 0..WRITE_TRIES {
            let now = self.get(id).await?;
            let Some(body) = patch(&now) else {
                return Ok(now);
            };
            match self.write(&path, &now.etag, &body).await? {
                Some(answer) => return Task::from_json(&answer.body),
                None => continue,
            }
        }
        Err(ConnectorError::Conflict(format!(
            "task {id} kept changing meanwhile ({WRITE_TRIES} tries)"
        )))
    }

    /// [`Planner::update_task`] for the task's details (their own etag):
    /// `patch` is given the details as read.
    pub async fn update_details(
        &self,
        id: &str,
        mut patch: impl FnMut(&Value) -> Option<Value>,
    ) -> Result<Value, ConnectorError> {
        let path = format!("{}/details", task_path(id));
        for _ in 0..WRITE_TRIES {
            let now = self.call(Method::GET, &path, &[], None).await?.body;
            let etag = now
                .get("@odata.etag")
                .and_then(Value::as_str)
                .ok_or_else(|| ConnectorError::Protocol("task details without an etag".into()))?
                .to_owned();
            let Some(body) = patch(&now) else {
                return Ok(now);
            };
            match self.write(&path, &etag, &body).await? {
                Some(answer) => return Ok(answer.body),
                None => continue,
            }
        }
        Err(ConnectorError::Conflict(format!(
            "task {id}'s details kept changing meanwhile ({WRITE_TRIES} tries)"
        )))
    }

    /// One conditional write (`PATCH` with `If-Match: etag`, asking for
    /// the object back): its answer, or `None` when the etag was stale
    /// (`412`, or `409`: read again). Throttling and 5xx are retried per
    /// the policy: a PATCH naming an etag is idempotent (a repeat after it
    /// applied meets a new etag and is refused as stale).
    async fn write(
        &self,
        path: &str,
        etag: &str,
        body: &Value,
    ) -> Result<Option<Answer>, ConnectorError> {
        let mut attempt = 1;
        loop {
            let (e, retry_after) = match self
                .send_with(Method::PATCH, path, Some(body), Some(etag))
                .await
            {
                Ok(a) if a.status.is_success() => return Ok(Some(a)),
                Ok(a)
                    if matches!(
                        a.status,
                        StatusCode::PRECONDITION_FAILED | StatusCode::CONFLICT
                    ) =>
                {
                    return Ok(None);
                }
                Ok(a) => (self.error_of(&a), a.retry_after),
                Err(e) => (e, None),
            };
            attempt += 1;
            match self.settings.retry.retry_wait(&e, attempt, retry_after) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(e),
            }
        }
    }

    /// Adds `paragraphs` at the top of the task's description (Planner has
    /// no comments through Graph), and sets its due date when given.
    pub async fn add_note(
        &self,
        id: &str,
        paragraphs: &[String],
        due: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let note = paragraphs.join("\n");
        self.update_details(id, |now| {
            let old = now.get("description").and_then(Value::as_str).unwrap_or("");
            let text = if old.trim().is_empty() {
                note.clone()
            } else {
                format!("{note}\n\n{old}")
            };
            Some(json!({ "description": clip_description(&text) }))
        })
        .await?;
        if let Some(due) = due {
            let at = due_date_time(due)?;
            self.update_task(id, |_| Some(json!({ "dueDateTime": at })))
                .await?;
        }
        Ok(())
    }

    /// Completes the task (`percentComplete` 100), moved to the bucket
    /// `to_bucket` when given, with `note` at the top of its description;
    /// a task complete already is left as it is.
    pub async fn complete(
        &self,
        id: &str,
        to_bucket: Option<&str>,
        note: &[String],
    ) -> Result<Task, ConnectorError> {
        let now = self.get(id).await?;
        if now.progress() == TicketProgress::Done {
            return Ok(now);
        }
        if !note.is_empty() {
            self.add_note(id, note, None).await?;
        }
        let bucket = match to_bucket {
            Some(name) => Some(self.bucket_id(name).await?),
            None => None,
        };
        self.update_task(id, |t| {
            if t.progress() == TicketProgress::Done {
                return None;
            }
            let mut patch = json!({ "percentComplete": 100 });
            if let (Some(b), Some(o)) = (&bucket, patch.as_object_mut()) {
                o.insert("bucketId".into(), b.clone().into());
            }
            Some(patch)
        })
        .await
    }

    /// One request, signed in, with `If-Match` when given.
    async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Answer, ConnectorError> {
        let answer = self.send_once(method.clone(), path, body, if_match).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            // an expired token: fetched again, once
            self.token.forget().await;
            return self.send_once(method, path, body, if_match).await;
        }
        Ok(answer)
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Answer, ConnectorError> {
        let url = self
            .settings
            .graph
            .join(path)
            .map_err(|e| ConnectorError::Config(format!("Graph URL: {e}")))?;
        let token = self.token.get(self.fetch_token()).await?;
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, format!("Bearer {}", token.expose_secret()));
        if let Some(etag) = if_match {
            request = request
                .header(IF_MATCH, etag)
                .header("Prefer", "return=representation");
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(transport)?;
        read_answer(response).await
    }

    /// A token by client credentials from the tenant's token endpoint, for
    /// the Graph root's `.default` scope.
    async fn fetch_token(&self) -> Result<(SecretString, Duration), ConnectorError> {
        let url = self
            .settings
            .login
            .join(&format!(
                "{}/oauth2/v2.0/token",
                segment(&self.settings.tenant)
            ))
            .map_err(|e| ConnectorError::Config(format!("sign-in URL: {e}")))?;
        let scope = format!(
            "{}/.default",
            self.settings.graph.as_str().trim_end_matches('/')
        );
        client_credentials_token(
            &self.http,
            url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &self.settings.client_id),
                ("client_secret", self.settings.client_secret.expose_secret()),
                ("scope", &scope),
            ],
            Duration::from_secs(3600),
        )
        .await
    }
}

impl Api for Planner {
    fn retry(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// Graph's error body: `{"error":{"code","message"}}`.
    fn error_of(&self, answer: &Answer) -> ConnectorError {
        let code = answer
            .body
            .pointer("/error/code")
            .and_then(Value::as_str)
            .unwrap_or("");
        let message = answer
            .body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("");
        let text = match (code.is_empty(), message.is_empty()) {
            (true, _) => message.to_owned(),
            (false, true) => code.to_owned(),
            (false, false) => format!("{code}: {message}"),
        };
        error_for(
            answer,
            changedesk_core::text::clip_chars(&text, 300).into_owned(),
        )
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, ConnectorError> {
        if !query.is_empty() {
            return Err(ConnectorError::Config(
                "Planner requests carry no query".into(),
            ));
        }
        self.send_with(method, path, body, None).await
    }
}

/// `v1.0/planner/tasks/{id}`.
fn task_path(id: &str) -> String {
    format!("v1.0/planner/tasks/{}", segment(id))
}

/// A path segment with anything but letters, digits, `-`, `_`, `.` and `~`
/// escaped (Planner ids are base64url-like; this keeps anything else from
/// reaching another path).
fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `YYYY-MM-DD` as Planner's `dueDateTime` (`2026-03-31T00:00:00Z`).
fn due_date_time(date: &str) -> Result<String, ConnectorError> {
    let d = date.trim();
    let ok = d.chars().count() == 10
        && d.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if ok {
        Ok(format!("{d}T00:00:00Z"))
    } else {
        Err(ConnectorError::Config(format!(
            "a due date is YYYY-MM-DD: {date:?}"
        )))
    }
}

/// A description at most [`MAX_DESCRIPTION_CHARS`] characters (the end
/// cut, by characters).
fn clip_description(text: &str) -> String {
    text.chars().take(MAX_DESCRIPTION_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_keeps_its_id_whatever_its_length() {
        let t = task_title(&"é".repeat(400), "cd-MC1-all");
        assert_eq!(t.chars().count(), 255);
        assert!(t.ends_with(" [cd-MC1-all]"));
        assert_eq!(task_title(" Short ", "x"), "Short [x]");
    }

    #[test]
    fn reference_keys_escape_what_planner_wants() {
        assert_eq!(
            reference_key("https://developer.microsoft.com"),
            "https%3A//developer%2Emicrosoft%2Ecom"
        );
        assert_eq!(reference_key("a%b@c#d"), "a%25b%40c%23d");
    }

    #[test]
    fn derived_guids_are_stable_guids() {
        let g = derived_guid("cd-MC1-all#0");
        assert!(changedesk_core::triage::is_guid(&g), "{g}");
        assert_eq!(g, derived_guid("cd-MC1-all#0"));
        assert_ne!(g, derived_guid("cd-MC1-all#1"));
    }

    #[test]
    fn progress_follows_percent_complete() {
        let v = |p: u64| json!({"id": "t", "percentComplete": p});
        let (t, _) = tasks_in(&v(0)).unwrap();
        assert_eq!(t[0].progress(), TicketProgress::Open);
        let (t, _) = tasks_in(&v(50)).unwrap();
        assert_eq!(t[0].progress(), TicketProgress::InProgress);
        let (t, _) = tasks_in(&v(100)).unwrap();
        assert_eq!(t[0].progress(), TicketProgress::Done);
        assert!(parse_tasks(b"[1]").is_err());
        assert!(parse_tasks(br#"{"value": 3}"#).is_err());
        assert!(parse_tasks(br#"{"value": [{"title": "no id"}]}"#).is_err());
    }

    #[test]
    fn due_dates_are_checked() {
        assert_eq!(due_date_time("2026-03-31").unwrap(), "2026-03-31T00:00:00Z");
        assert!(due_date_time("2026-3-31").is_err());
        assert!(due_date_time("2026-03-3é").is_err());
    }
}
