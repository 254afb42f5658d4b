//! Jira Cloud issues through REST v3 (`../shared/reference/integrations.md`
//! §2): API-token Basic auth, descriptions and comments in Atlassian
//! Document Format, status read back by its category, workflow
//! transitions.
//!
//! - **Created once.** Jira has no correlation field: the issue carries
//!   changedesk's id as a label, and [`Jira::create_issue`] looks it up
//!   through JQL search before every attempt. Search is **eventually
//!   consistent** (an issue shows seconds after it was written), so after a
//!   create that may have happened unseen (no answer, or a 5xx) the search
//!   is asked again until [`JiraSettings::search_settle`] has passed before
//!   anything is created again.
//! - **Retried within reason** as every connector: 429 (with
//!   `Retry-After`), a 5xx and no answer per the [`RetryPolicy`]; refused
//!   credentials never.
//! - A transition refused as a conflicting update (409) is
//!   [`ConnectorError::Conflict`].

use std::time::{Duration, Instant};

use base64::Engine as _;
use changedesk_core::change_control::TicketProgress;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use crate::{
    Answer, Api, ConnectorError, Failed, RetryPolicy, base_url, correlation_ok, create_once,
    error_for, http_client, read_answer, transport,
};

/// The fields read back.
const FIELDS: [&str; 4] = ["summary", "status", "updated", "labels"];

/// How often a settling search is asked again.
const SETTLE_STEP: Duration = Duration::from_millis(250);

/// A Jira connector's settings.
#[derive(Debug, Clone)]
pub struct JiraSettings {
    /// The site, e.g. `https://contoso.atlassian.net`.
    pub site: Url,
    /// The account's e-mail.
    pub email: String,
    /// Its API token.
    pub api_token: SecretString,
    /// The project's key, e.g. `CHG`.
    pub project: String,
    /// The issue type's name, e.g. `Change` or `Task`.
    pub issue_type: String,
    /// The longest a request may take.
    pub timeout: Duration,
    /// Retries within one call.
    pub retry: RetryPolicy,
    /// How long search may lag behind a write: after a create that may
    /// have happened unseen, the search is asked until this has passed
    /// before creating again.
    pub search_settle: Duration,
}

impl JiraSettings {
    /// Settings with a 30 s timeout, the default retries and a 30 s
    /// settle.
    pub fn new(
        site: Url,
        email: &str,
        api_token: SecretString,
        project: &str,
        issue_type: &str,
    ) -> JiraSettings {
        JiraSettings {
            site,
            email: email.to_owned(),
            api_token,
            project: project.to_owned(),
            issue_type: issue_type.to_owned(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            search_settle: Duration::from_secs(30),
        }
    }
}

/// An issue to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssue {
    /// changedesk's id for it (one per post and tenant or tenant group),
    /// kept as a label: letters, digits, `-`, `_` and `.` only.
    pub correlation_id: String,
    /// The summary (at most 255 characters; longer is cut, by characters).
    pub summary: String,
    /// The description's paragraphs.
    pub paragraphs: Vec<String>,
    /// A link at the end of the description: (text, URL).
    pub link: Option<(String, String)>,
    /// The due date (`YYYY-MM-DD`), if any.
    pub due: Option<String>,
}

/// A status category (`statusCategory.key`): what changedesk follows, as
/// status names are each workflow's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusCategory {
    /// `new` (To Do).
    New,
    /// `indeterminate` (In Progress).
    InProgress,
    /// `done`.
    Done,
    /// Any other key (`undefined`…), as given.
    Other(String),
}

impl StatusCategory {
    /// The category of a `statusCategory.key`.
    pub fn parse(key: &str) -> StatusCategory {
        match key {
            "new" => StatusCategory::New,
            "indeterminate" => StatusCategory::InProgress,
            "done" => StatusCategory::Done,
            other => StatusCategory::Other(other.to_owned()),
        }
    }

    /// Where the issue stands for changedesk (another category counts as
    /// open).
    pub fn progress(&self) -> TicketProgress {
        match self {
            StatusCategory::InProgress => TicketProgress::InProgress,
            StatusCategory::Done => TicketProgress::Done,
            StatusCategory::New | StatusCategory::Other(_) => TicketProgress::Open,
        }
    }

    fn key(&self) -> &str {
        match self {
            StatusCategory::New => "new",
            StatusCategory::InProgress => "indeterminate",
            StatusCategory::Done => "done",
            StatusCategory::Other(k) => k,
        }
    }
}

/// An issue as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Its id.
    pub id: String,
    /// Its key, e.g. `CHG-17`.
    pub key: String,
    /// Its status's id.
    pub status_id: String,
    /// Its status's name.
    pub status_name: String,
    /// Its status's category.
    pub category: StatusCategory,
    /// When it was last updated (`2026-02-18T10:15:03.123+0000`).
    pub updated: String,
}

impl Issue {
    fn from_json(v: &Value) -> Result<Issue, ConnectorError> {
        let text = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let id = text("/id");
        let key = text("/key");
        if id.is_empty() || key.is_empty() {
            return Err(ConnectorError::Protocol(
                "an issue without id or key".into(),
            ));
        }
        Ok(Issue {
            id,
            key,
            status_id: text("/fields/status/id"),
            status_name: text("/fields/status/name"),
            category: StatusCategory::parse(&text("/fields/status/statusCategory/key")),
            updated: text("/fields/updated"),
        })
    }
}

/// The issues of a search answer's body (`{"issues":[…],"isLast"}`) and
/// whether it was the last page, or an issue's (`{"id","key","fields"}`)
/// alone: what the connector reads of any answer, changes or an error,
/// never a panic (fuzzed: `fuzz/fuzz_targets/jira.rs`).
pub fn parse_issues(body: &[u8]) -> Result<(Vec<Issue>, bool), ConnectorError> {
    let value = crate::json_body(body)?;
    issues_in(&value)
}

fn issues_in(value: &Value) -> Result<(Vec<Issue>, bool), ConnectorError> {
    match value.get("issues") {
        Some(Value::Array(list)) => Ok((
            list.iter()
                .map(Issue::from_json)
                .collect::<Result<_, _>>()?,
            value.get("isLast").and_then(Value::as_bool).unwrap_or(true),
        )),
        Some(_) => Err(ConnectorError::Protocol("`issues` is not a list".into())),
        None => Ok((vec![Issue::from_json(value)?], true)),
    }
}

/// An Atlassian Document: each paragraph a paragraph, then the link.
pub fn adf(paragraphs: &[String], link: Option<&(String, String)>) -> Value {
    let mut content: Vec<Value> = paragraphs
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| json!({"type": "paragraph", "content": [{"type": "text", "text": p}]}))
        .collect();
    if let Some((text, href)) = link {
        content.push(
            json!({"type": "paragraph", "content": [{"type": "text", "text": text,
            "marks": [{"type": "link", "attrs": {"href": href}}]}]}),
        );
    }
    json!({"type": "doc", "version": 1, "content": content})
}

/// A Jira Cloud site.
pub struct Jira {
    settings: JiraSettings,
    http: reqwest::Client,
}

impl std::fmt::Debug for Jira {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jira")
            .field("site", &self.settings.site.as_str())
            .field("project", &self.settings.project)
            .finish_non_exhaustive()
    }
}

impl Jira {
    /// A connector to the site of `settings`.
    pub fn new(mut settings: JiraSettings) -> Result<Jira, ConnectorError> {
        settings.site = base_url(settings.site, "site")?;
        correlation_ok(&settings.project, 255).map_err(|_| {
            ConnectorError::Config(format!("a bad project key: {:?}", settings.project))
        })?;
        Ok(Jira {
            http: http_client(settings.timeout)?,
            settings,
        })
    }

    /// The issue's page on the site.
    pub fn issue_url(&self, issue: &Issue) -> String {
        format!(
            "{}/browse/{}",
            self.settings.site.as_str().trim_end_matches('/'),
            issue.key
        )
    }

    /// Checks that the site answers, takes the credentials and shows the
    /// project (a search of one issue).
    pub async fn test_connection(&self) -> Result<(), ConnectorError> {
        let jql = format!("project = {}", self.settings.project);
        self.search(&jql, 1).await.map(|_| ())
    }

    /// The issue labelled `correlation_id`, if search shows it yet.
    pub async fn find(&self, correlation_id: &str) -> Result<Option<Issue>, ConnectorError> {
        correlation_ok(correlation_id, 255)?;
        let jql = format!(
            "project = {} AND labels = \"{correlation_id}\"",
            self.settings.project
        );
        Ok(self.search(&jql, 1).await?.into_iter().next())
    }

    async fn search(&self, jql: &str, max: u32) -> Result<Vec<Issue>, ConnectorError> {
        let body = json!({"jql": jql, "fields": FIELDS, "maxResults": max});
        let answer = self
            .call(Method::POST, "/rest/api/3/search/jql", &[], Some(&body))
            .await?;
        Ok(issues_in(&answer.body)?.0)
    }

    /// Reads the issue `key`.
    pub async fn get(&self, key: &str) -> Result<Issue, ConnectorError> {
        let fields = FIELDS.join(",");
        let answer = self
            .call(
                Method::GET,
                &format!("/rest/api/3/issue/{}", segment(key)),
                &[("fields", fields.as_str())],
                None,
            )
            .await?;
        Issue::from_json(&answer.body)
    }

    /// Creates the issue, once: the issue already labelled with its
    /// correlation id is returned instead (looked up before each attempt,
    /// and after an attempt that may have created it unseen, until search
    /// settles). The `bool` says whether this call's create was answered.
    pub async fn create_issue(&self, new: &NewIssue) -> Result<(Issue, bool), ConnectorError> {
        self.create_issue_as(new, &self.settings.issue_type).await
    }

    /// [`Jira::create_issue`] with another issue type (an incident's).
    pub async fn create_issue_as(
        &self,
        new: &NewIssue,
        issue_type: &str,
    ) -> Result<(Issue, bool), ConnectorError> {
        correlation_ok(&new.correlation_id, 255)?;
        let summary: String = new.summary.trim().chars().take(255).collect();
        let mut fields = json!({
            "project": {"key": self.settings.project},
            "issuetype": {"name": issue_type},
            "summary": summary,
            "labels": ["changedesk", new.correlation_id],
            "description": adf(&new.paragraphs, new.link.as_ref()),
        });
        if let (Some(due), Some(o)) = (&new.due, fields.as_object_mut()) {
            o.insert("duedate".into(), Value::String(due.clone()));
        }
        let body = json!({ "fields": fields });
        // after a create that may have happened unseen, search is asked
        // until it settles
        create_once(
            &self.settings.retry,
            Duration::ZERO,
            |unseen| async move {
                if unseen {
                    self.find_settled(&new.correlation_id).await
                } else {
                    self.find(&new.correlation_id).await
                }
            },
            || async {
                let answer = self.attempt("/rest/api/3/issue", &body).await?;
                let key = answer
                    .body
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Failed::unanswered(ConnectorError::Protocol(
                            "a create answer without key".into(),
                        ))
                    })?
                    .to_owned();
                // reading an issue by key is consistent (search is not)
                self.get(&key).await.map_err(Failed::unanswered)
            },
        )
        .await
    }

    /// Asks the search for `correlation_id` until it shows or
    /// [`JiraSettings::search_settle`] has passed: the look-up after a
    /// create that may have happened unseen (by this call, or by a process
    /// that died mid-create).
    pub async fn find_settled(
        &self,
        correlation_id: &str,
    ) -> Result<Option<Issue>, ConnectorError> {
        let until = Instant::now() + self.settings.search_settle;
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

    /// Adds a comment (ADF paragraphs) to the issue `key`. Not idempotent:
    /// retried only when the site refused it unprocessed (429).
    pub async fn add_comment(
        &self,
        key: &str,
        paragraphs: &[String],
    ) -> Result<(), ConnectorError> {
        let body = json!({"update": {"comment": [{"add": {"body": adf(paragraphs, None)}}]}});
        let path = format!("/rest/api/3/issue/{}", segment(key));
        self.call_once(Method::PUT, &path, &body).await.map(|_| ())
    }

    /// Moves the issue `key` by the first transition available now that
    /// leads to a status of `category`; `false` when there is none (the
    /// workflow does not go there from here, or it is there already).
    pub async fn transition_to(
        &self,
        key: &str,
        category: &StatusCategory,
    ) -> Result<bool, ConnectorError> {
        let path = format!("/rest/api/3/issue/{}/transitions", segment(key));
        let answer = self.call(Method::GET, &path, &[], None).await?;
        let id = answer
            .body
            .get("transitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|t| {
                t.pointer("/to/statusCategory/key").and_then(Value::as_str) == Some(category.key())
            })
            .and_then(|t| t.get("id").and_then(Value::as_str))
            .map(str::to_owned);
        let Some(id) = id else {
            return Ok(false);
        };
        let body = json!({"transition": {"id": id}});
        self.call(Method::POST, &path, &[], Some(&body)).await?;
        Ok(true)
    }
}

impl Api for Jira {
    fn retry(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// The error an unsuccessful answer stands for.
    fn error_of(&self, answer: &Answer) -> ConnectorError {
        let messages: Vec<String> = answer
            .body
            .get("errorMessages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .chain(
                answer
                    .body
                    .get("errors")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or(""))),
            )
            .collect();
        let message = messages.join("; ");
        error_for(answer, message)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, ConnectorError> {
        let url = self
            .settings
            .site
            .join(path)
            .map_err(|e| ConnectorError::Config(format!("site URL: {e}")))?;
        let pair = format!(
            "{}:{}",
            self.settings.email,
            self.settings.api_token.expose_secret()
        );
        let auth = SecretString::from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ));
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, auth.expose_secret());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(transport)?;
        read_answer(response).await
    }
}

/// A path segment, escaped.
fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_in_each_documented_shape() {
        let search = br#"{"issues":[{"id":"10042","key":"CHG-17","self":"x","fields":{"summary":"s","status":{"id":"3","name":"In Progress","statusCategory":{"key":"indeterminate"}},"updated":"2026-02-18T10:15:03.123+0000"}}],"isLast":false,"nextPageToken":"t"}"#;
        let (issues, last) = parse_issues(search).unwrap();
        assert!(!last);
        assert_eq!(issues[0].key, "CHG-17");
        assert_eq!(issues[0].category, StatusCategory::InProgress);
        let one = br#"{"id":"10042","key":"CHG-17","fields":{"status":{"id":"10001","name":"Done","statusCategory":{"key":"done"}}}}"#;
        assert_eq!(
            parse_issues(one).unwrap().0[0].category,
            StatusCategory::Done
        );
        for bad in [
            &b"<html>"[..],
            br#"{"issues":{}}"#,
            br#"{"issues":[{"key":"A-1"}]}"#,
            br#"{}"#,
        ] {
            assert!(
                parse_issues(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_description_is_an_atlassian_document() {
        let doc = adf(
            &["Act by 2026-03-31.".to_owned(), " ".to_owned()],
            Some(&(
                "MC123456".to_owned(),
                "https://admin.microsoft.com/".to_owned(),
            )),
        );
        assert_eq!(doc["type"], "doc");
        assert_eq!(doc["version"], 1);
        assert_eq!(
            doc["content"].as_array().unwrap().len(),
            2,
            "a blank paragraph left out"
        );
        assert_eq!(
            doc["content"][1]["content"][0]["marks"][0]["attrs"]["href"],
            "https://admin.microsoft.com/"
        );
    }

    #[test]
    fn a_correlation_id_must_be_a_label() {
        assert!(crate::correlation_ok("cd-MC123456-contoso_eu.1", 255).is_ok());
        for bad in ["", "cd MC1", "cd\"x", "cd-é"] {
            assert!(crate::correlation_ok(bad, 255).is_err(), "{bad}");
        }
    }
}
