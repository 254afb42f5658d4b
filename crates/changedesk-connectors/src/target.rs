//! One interface over the systems: what the outbox's worker calls for a
//! connector, whatever it is. A connector is kept as [`TargetSettings`] (core's)
//! (which system, where, which project: no secret, stored as JSON) and
//! [`Credentials`] (sealed at rest by the server); [`Target::new`] makes
//! the client of its system from both.
//!
//! Every ticket is raised **once** per correlation id (each system's
//! client looks it up before every attempt), read back as a [`Ticket`]
//! (its id, number, link, state and [`TicketProgress`]), and given notes.

use std::fmt;
use std::time::Duration;

pub use changedesk_core::change_control::{
    GlpiApi, PlannerBuckets, SYSTEMS, ServiceNowModel, ServiceNowSignIn, TargetSettings,
};
use changedesk_core::change_control::{TicketProgress, TicketText};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::glpi::{Glpi, GlpiAuth, GlpiHl, GlpiHlSettings, GlpiSettings, NewGlpiChange};
use crate::jira::{Jira, JiraSettings, NewIssue};
use crate::planner::{NewTask, Planner, PlannerSettings};
use crate::servicenow::{ChangeModel, NewChange, ServiceNow, ServiceNowAuth, ServiceNowSettings};
use crate::{ConnectorError, RetryPolicy};

/// A connector's secrets: the password, API token, user token or client
/// secret, and GLPI's application token. Never shown by `Debug`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// The secret the sign-in uses.
    pub secret: String,
    /// GLPI's `App-Token`, when the server asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(…)")
    }
}

/// A ticket as read back from its system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The system's id for it (a sys_id, an issue key, a change id): what
    /// reads and notes name.
    pub id: String,
    /// Its number for people (`CHG0030022`, `CHG-12`, `42`).
    pub number: String,
    /// Its page.
    pub url: String,
    /// Its state as the system names it.
    pub state: String,
    /// Where it stands, whatever the system calls it.
    pub progress: TicketProgress,
}

/// A ticket to raise.
#[derive(Debug, Clone)]
pub struct TicketRequest<'a> {
    /// Whether an earlier attempt may have raised it unseen (a process
    /// that died mid-raise): a system whose search lags behind its writes
    /// (Jira, Planner) is asked until it settles before anything is made.
    pub maybe_made: bool,
    /// The post's id (`MC1234567`).
    pub post_id: &'a str,
    /// changedesk's id for it (`change_control::correlation_id`).
    pub correlation_id: &'a str,
    /// Its summary and paragraphs.
    pub text: &'a TicketText,
    /// The post's page (changedesk's, or Message Center's).
    pub link: &'a str,
    /// The date to act by or the rollout's start (`YYYY-MM-DD`), if known.
    pub due: Option<String>,
    /// The post's workloads (a Planner bucket per workload).
    pub services: &'a [String],
    /// Entra object ids of the people to assign (Planner).
    pub assignees: &'a [String],
    /// A checklist for the owner (Planner).
    pub checklist: &'a [String],
}

/// A connector's client.
#[derive(Debug)]
pub enum Target {
    /// ServiceNow.
    ServiceNow(ServiceNow),
    /// Jira Cloud, with the issue type incidents are opened as, if any.
    Jira(Jira, Option<String>),
    /// GLPI (`apirest.php`), with its web root for links.
    Glpi(Glpi, String),
    /// GLPI 11's high-level API, with its web root for links.
    GlpiHl(GlpiHl, String),
    /// A Planner plan, with the connector's bucket rule and its named
    /// bucket.
    Planner(Planner, PlannerBuckets, Option<String>),
}

/// How a connector's calls are timed: the same for every system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// The longest a request may take; after no answer to a create, the
    /// client also waits this long before looking for it (an answer may
    /// still be on its way).
    pub timeout: Duration,
    /// Retries within one call.
    pub retry: RetryPolicy,
    /// How long Jira's search (and Planner's task list) may lag behind
    /// their writes.
    pub search_settle: Duration,
}

impl Default for Tuning {
    /// 30 s, the default retries, 30 s.
    fn default() -> Tuning {
        Tuning {
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            search_settle: Duration::from_secs(30),
        }
    }
}

fn parse_url(url: &str) -> Result<Url, ConnectorError> {
    Url::parse(url.trim()).map_err(|e| ConnectorError::Config(format!("the URL {url:?}: {e}")))
}

impl Target {
    /// The client `settings` describe, signing in with `credentials`, with
    /// the default [`Tuning`].
    pub fn new(
        settings: &TargetSettings,
        credentials: &Credentials,
    ) -> Result<Target, ConnectorError> {
        Target::tuned(settings, credentials, Tuning::default())
    }

    /// [`Target::new`] with `tuning`.
    pub fn tuned(
        settings: &TargetSettings,
        credentials: &Credentials,
        tuning: Tuning,
    ) -> Result<Target, ConnectorError> {
        let secret = || SecretString::from(credentials.secret.clone());
        if credentials.secret.trim().is_empty() {
            return Err(ConnectorError::Config("the connector has no secret".into()));
        }
        Ok(match settings {
            TargetSettings::ServiceNow {
                url,
                user,
                auth,
                model,
                template,
            } => {
                let auth = match auth {
                    ServiceNowSignIn::Basic => ServiceNowAuth::Basic {
                        user: user.clone(),
                        password: secret(),
                    },
                    ServiceNowSignIn::Oauth => ServiceNowAuth::OAuthClient {
                        client_id: user.clone(),
                        client_secret: secret(),
                    },
                };
                let mut s = ServiceNowSettings::new(parse_url(url)?, auth);
                s.timeout = tuning.timeout;
                s.retry = tuning.retry;
                s.model = match (model, template) {
                    (ServiceNowModel::Table, _) => ChangeModel::Table,
                    (ServiceNowModel::Normal, _) => ChangeModel::Normal,
                    (ServiceNowModel::Standard, Some(t)) => ChangeModel::Standard {
                        template: t.trim().to_owned(),
                    },
                    (ServiceNowModel::Standard, None) => {
                        return Err(ConnectorError::Config(
                            "a standard change needs its template's sys_id (`template`)".into(),
                        ));
                    }
                };
                Target::ServiceNow(ServiceNow::new(s)?)
            }
            TargetSettings::Jira {
                url,
                user,
                project,
                issue_type,
                incident_issue_type,
            } => {
                let mut s = JiraSettings::new(parse_url(url)?, user, secret(), project, issue_type);
                s.timeout = tuning.timeout;
                s.retry = tuning.retry;
                s.search_settle = tuning.search_settle;
                let incidents = incident_issue_type
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned);
                Target::Jira(Jira::new(s)?, incidents)
            }
            TargetSettings::Glpi {
                url,
                user,
                api: GlpiApi::HighLevel,
                entities_id,
            } => {
                if *entities_id != 0 {
                    return Err(ConnectorError::Config(
                        "the high-level API creates changes in the OAuth client's entity: leave out entities_id".into(),
                    ));
                }
                if user.trim().is_empty() {
                    return Err(ConnectorError::Config(
                        "the high-level API signs in as an OAuth client: `user` is its client id"
                            .into(),
                    ));
                }
                let api = parse_url(url)?;
                let web = glpi_web_root(api.as_str());
                let mut s = GlpiHlSettings::new(api, user.trim(), secret());
                s.timeout = tuning.timeout;
                s.retry = tuning.retry;
                Target::GlpiHl(GlpiHl::new(s)?, web)
            }
            TargetSettings::Glpi {
                url,
                user,
                api: GlpiApi::Legacy,
                entities_id,
            } => {
                let auth = if user.trim().is_empty() {
                    GlpiAuth::UserToken(secret())
                } else {
                    GlpiAuth::Basic {
                        login: user.clone(),
                        password: secret(),
                    }
                };
                let api = parse_url(url)?;
                let web = glpi_web_root(api.as_str());
                let mut s = GlpiSettings::new(
                    api,
                    auth,
                    credentials.app_token.clone().map(SecretString::from),
                );
                s.entities_id = *entities_id;
                s.timeout = tuning.timeout;
                s.retry = tuning.retry;
                Target::Glpi(Glpi::new(s)?, web)
            }
            TargetSettings::Planner {
                url,
                login,
                tenant,
                user,
                plan,
                buckets,
                bucket,
            } => {
                let mut s = PlannerSettings::new(
                    parse_url(url)?,
                    parse_url(login)?,
                    tenant,
                    user,
                    secret(),
                    plan,
                );
                s.timeout = tuning.timeout;
                s.retry = tuning.retry;
                s.list_settle = tuning.search_settle;
                Target::Planner(Planner::new(s)?, *buckets, bucket.clone())
            }
        })
    }

    /// Checks that the system answers and takes the credentials.
    pub async fn test_connection(&self) -> Result<(), ConnectorError> {
        match self {
            Target::ServiceNow(c) => c.test_connection().await,
            Target::Jira(c, _) => c.test_connection().await,
            Target::Glpi(c, _) => c.test_connection().await,
            Target::GlpiHl(c, _) => c.test_connection().await,
            Target::Planner(c, ..) => c.test_connection().await,
        }
    }

    /// Raises the ticket once: the one already carrying its correlation id
    /// is returned instead. The `bool` says whether this call created it.
    pub async fn raise(&self, r: &TicketRequest<'_>) -> Result<(Ticket, bool), ConnectorError> {
        match self {
            Target::ServiceNow(c) => {
                let new = NewChange {
                    correlation_id: r.correlation_id.to_owned(),
                    correlation_display: "changedesk".to_owned(),
                    short_description: r.text.summary.clone(),
                    description: r.text.paragraphs.join("\n\n"),
                    start_date: None,
                };
                let (change, created) = c.create_change(&new).await?;
                Ok((servicenow_ticket(c, &change), created))
            }
            Target::Jira(c, _) => {
                let new = NewIssue {
                    correlation_id: r.correlation_id.to_owned(),
                    summary: r.text.summary.clone(),
                    paragraphs: r.text.paragraphs.clone(),
                    link: Some(("The post in changedesk".to_owned(), r.link.to_owned())),
                    due: r.due.clone(),
                };
                if r.maybe_made
                    && let Some(issue) = c.find_settled(r.correlation_id).await?
                {
                    return Ok((jira_ticket(c, &issue), false));
                }
                let (issue, created) = c.create_issue(&new).await?;
                Ok((jira_ticket(c, &issue), created))
            }
            Target::Glpi(c, web) => {
                let new = glpi_change(r);
                let (change, created) = c.create_change(&new).await?;
                Ok((glpi_ticket(web, &change), created))
            }
            Target::GlpiHl(c, web) => {
                let new = glpi_change(r);
                let (change, created) = c.create_change(&new).await?;
                Ok((glpi_ticket(web, &change), created))
            }
            Target::Planner(c, buckets, bucket) => {
                let mut links = vec![(r.link.to_owned(), "The post in changedesk".to_owned())];
                let admin = changedesk_core::notify::admin_center_url(r.post_id);
                if !r.post_id.is_empty() && admin != r.link {
                    links.push((admin, "The post in the Message center".to_owned()));
                }
                let new = NewTask {
                    correlation_id: r.correlation_id.to_owned(),
                    title: r.text.summary.clone(),
                    bucket: buckets.bucket_for(r.services, bucket.as_deref()),
                    assignees: r.assignees.to_vec(),
                    due: r.due.clone(),
                    paragraphs: r.text.paragraphs.clone(),
                    links,
                    checklist: r.checklist.to_vec(),
                };
                let (task, created) = c.create_task_after(&new, r.maybe_made).await?;
                Ok((planner_ticket(c, &task), created))
            }
        }
    }

    /// Reads the ticket `id` back.
    pub async fn read(&self, id: &str) -> Result<Ticket, ConnectorError> {
        match self {
            Target::ServiceNow(c) => Ok(servicenow_ticket(c, &c.get(id).await?)),
            Target::Jira(c, _) => Ok(jira_ticket(c, &c.get(id).await?)),
            Target::Glpi(c, web) => Ok(glpi_ticket(web, &c.get(glpi_id(id)?).await?)),
            Target::GlpiHl(c, web) => Ok(glpi_ticket(web, &c.get(glpi_id(id)?).await?.change)),
            Target::Planner(c, ..) => match c.get(id).await {
                Ok(task) => Ok(planner_ticket(c, &task)),
                // a task deleted over there: canceled, as far as it goes
                Err(ConnectorError::Status { status: 404, .. }) => Ok(Ticket {
                    id: id.to_owned(),
                    number: planner_number(id),
                    url: c.task_url(id),
                    state: "deleted".to_owned(),
                    progress: TicketProgress::Canceled,
                }),
                Err(e) => Err(e),
            },
        }
    }

    /// Adds a note to the ticket `id` (a work note, a comment, a
    /// follow-up). Not idempotent: the systems keep every note.
    pub async fn note(&self, id: &str, paragraphs: &[String]) -> Result<(), ConnectorError> {
        match self {
            Target::ServiceNow(c) => c
                .add_work_note(id, &paragraphs.join("\n\n"))
                .await
                .map(|_| ()),
            Target::Jira(c, _) => c.add_comment(id, paragraphs).await,
            Target::Glpi(c, _) => {
                c.add_followup(glpi_id(id)?, &paragraphs_html(paragraphs))
                    .await
            }
            Target::GlpiHl(c, _) => {
                c.add_followup(glpi_id(id)?, &paragraphs_html(paragraphs))
                    .await
            }
            Target::Planner(c, ..) => c.add_note(id, paragraphs, None).await,
        }
    }

    /// Tells the ticket `id` of a post's revision: [`Target::note`], and a
    /// Planner task's due date moved to `due` (`YYYY-MM-DD`) when given.
    pub async fn revise(
        &self,
        id: &str,
        paragraphs: &[String],
        due: Option<&str>,
    ) -> Result<(), ConnectorError> {
        match self {
            Target::Planner(c, ..) => c.add_note(id, paragraphs, due).await,
            _ => self.note(id, paragraphs).await,
        }
    }
}

impl Target {
    /// Closes the ticket `id` because its item closed in changedesk, with
    /// `note` saying so: a ServiceNow change is closed (state `3`, close
    /// code `successful`) or, `cancel`, canceled (`4`), over the update
    /// count read just before (a change updated meanwhile is a conflict,
    /// tried again later); a Jira issue is commented and moved to a done
    /// status (Jira has no canceled category); a GLPI change is given a
    /// follow-up and closed (status 6: GLPI has no canceled status). What is
    /// over there already is left as it is. The ticket as it is then.
    pub async fn close(
        &self,
        id: &str,
        cancel: bool,
        note: &[String],
    ) -> Result<Ticket, ConnectorError> {
        let text = note.join("\n\n");
        match self {
            Target::ServiceNow(c) => {
                let now = c.get(id).await?;
                if !now.state.is_final() {
                    let mut fields = serde_json::Map::new();
                    let (state, code) = if cancel {
                        ("4", "unsuccessful")
                    } else {
                        ("3", "successful")
                    };
                    fields.insert("state".into(), state.into());
                    fields.insert("close_code".into(), code.into());
                    fields.insert("close_notes".into(), text.clone().into());
                    let closed = c
                        .update_if_unchanged(id, now.sys_mod_count, &fields)
                        .await?;
                    return Ok(servicenow_ticket(c, &closed));
                }
                Ok(servicenow_ticket(c, &now))
            }
            Target::Jira(c, _) => {
                let now = c.get(id).await?;
                if now.category.progress() != TicketProgress::Done {
                    use crate::jira::StatusCategory;
                    // a workflow may go to done only through in progress
                    let moved = c.transition_to(id, &StatusCategory::Done).await?
                        || (c.transition_to(id, &StatusCategory::InProgress).await?
                            && c.transition_to(id, &StatusCategory::Done).await?);
                    if !moved {
                        return Err(ConnectorError::Protocol(format!(
                            "{id}'s workflow offers no transition to a done status from `{}`",
                            now.status_name
                        )));
                    }
                    c.add_comment(id, note).await?;
                }
                self.read(id).await
            }
            Target::Glpi(c, web) => {
                let gid = glpi_id(id)?;
                let now = c.get(gid).await?;
                if now.status.progress() == TicketProgress::Done {
                    return Ok(glpi_ticket(web, &now));
                }
                let mut input = serde_json::Map::new();
                input.insert("status".into(), 6.into());
                let closed = c.update_if_unchanged(gid, &now.date_mod, &input).await?;
                // the follow-up moves the change's date_mod, not its status
                c.add_followup(gid, &paragraphs_html(note)).await?;
                Ok(glpi_ticket(web, &closed))
            }
            Target::GlpiHl(c, web) => {
                let gid = glpi_id(id)?;
                let now = c.get(gid).await?;
                if now.change.status.progress() == TicketProgress::Done {
                    return Ok(glpi_ticket(web, &now.change));
                }
                let mut input = serde_json::Map::new();
                input.insert("status".into(), 6.into());
                // over the Last-Modified read: 412 if someone wrote since
                let closed = c.update_if_unmodified(&now, &input).await?;
                c.add_followup(gid, &paragraphs_html(note)).await?;
                Ok(glpi_ticket(web, &closed.change))
            }
            Target::Planner(c, buckets, _) => {
                // Planner has no canceled state: the task is completed
                let task = c.complete(id, buckets.done_bucket(), note).await?;
                Ok(planner_ticket(c, &task))
            }
        }
    }
}

/// A Service Health incident to open in the service desk.
#[derive(Debug, Clone)]
pub struct IncidentRequest<'a> {
    /// As [`TicketRequest::maybe_made`].
    pub maybe_made: bool,
    /// changedesk's id for it (one per Microsoft incident).
    pub correlation_id: &'a str,
    /// Its summary and paragraphs.
    pub text: &'a TicketText,
    /// `1` high, `2` medium, `3` low.
    pub impact: u8,
}

impl Target {
    /// Whether this system takes Service Health incidents (ServiceNow's
    /// `incident` table, GLPI's tickets of type incident, Jira issues of
    /// the connector's incident issue type).
    pub fn takes_incidents(&self) -> bool {
        matches!(
            self,
            Target::ServiceNow(_) | Target::Glpi(..) | Target::Jira(_, Some(_))
        )
    }

    fn no_incidents(&self) -> ConnectorError {
        ConnectorError::Config(
            "this connector takes no Service Health incidents (a Jira one needs `incident_issue_type`; GLPI's \
             high-level API and Planner take none)"
                .into(),
        )
    }

    /// Opens the incident once: the one already carrying its correlation
    /// id is returned instead. The `bool` says whether this call opened it.
    pub async fn raise_incident(
        &self,
        r: &IncidentRequest<'_>,
    ) -> Result<(Ticket, bool), ConnectorError> {
        if let Target::Jira(c, Some(kind)) = self {
            let new = NewIssue {
                correlation_id: r.correlation_id.to_owned(),
                summary: r.text.summary.clone(),
                paragraphs: r.text.paragraphs.clone(),
                link: None,
                due: None,
            };
            if r.maybe_made
                && let Some(issue) = c.find_settled(r.correlation_id).await?
            {
                return Ok((jira_ticket(c, &issue), false));
            }
            let (issue, created) = c.create_issue_as(&new, kind).await?;
            return Ok((jira_ticket(c, &issue), created));
        }
        if let Target::Glpi(c, web) = self {
            let new = NewGlpiChange {
                correlation_id: r.correlation_id.to_owned(),
                name: r.text.summary.clone(),
                content_html: paragraphs_html(&r.text.paragraphs),
                urgency: r.impact + 1,
                impact: r.impact + 1,
            };
            let (ticket, created) = c.create_incident(&new).await?;
            return Ok((glpi_ticket_of(web, "ticket", &ticket), created));
        }
        let Target::ServiceNow(c) = self else {
            return Err(self.no_incidents());
        };
        let new = crate::servicenow::NewIncident {
            correlation_id: r.correlation_id.to_owned(),
            short_description: r.text.summary.clone(),
            description: r.text.paragraphs.join("\n\n"),
            impact: r.impact,
        };
        let (incident, created) = c.create_incident(&new).await?;
        Ok((incident_ticket(c, &incident), created))
    }

    /// Adds a work note to the incident `id`.
    pub async fn note_incident(
        &self,
        id: &str,
        paragraphs: &[String],
    ) -> Result<(), ConnectorError> {
        if let Target::Glpi(c, _) = self {
            return c
                .add_ticket_followup(glpi_id(id)?, &paragraphs_html(paragraphs))
                .await;
        }
        if let Target::Jira(c, Some(_)) = self {
            return c.add_comment(id, paragraphs).await;
        }
        let Target::ServiceNow(c) = self else {
            return Err(self.no_incidents());
        };
        c.add_incident_note(id, &paragraphs.join("\n\n"))
            .await
            .map(|_| ())
    }

    /// Resolves the incident `id` with `notes` (nothing when it is over
    /// already: a person may have closed it).
    pub async fn resolve_incident(&self, id: &str, notes: &str) -> Result<Ticket, ConnectorError> {
        if let Target::Jira(_, Some(_)) = self {
            // the resolution as a comment, the issue taken to done
            return self.close(id, false, &[notes.to_owned()]).await;
        }
        if let Target::Glpi(c, web) = self {
            // the resolution as a follow-up, then the ticket solved
            let gid = glpi_id(id)?;
            if !c.get_ticket(gid).await?.status.is_final() {
                c.add_ticket_followup(gid, &paragraphs_html(&[notes.to_owned()]))
                    .await?;
            }
            return Ok(glpi_ticket_of(web, "ticket", &c.solve_ticket(gid).await?));
        }
        let Target::ServiceNow(c) = self else {
            return Err(self.no_incidents());
        };
        let now = c.get_incident(id).await?;
        let done = if now.is_over() {
            now
        } else {
            c.resolve_incident(id, INCIDENT_CLOSE_CODE, notes).await?
        };
        Ok(incident_ticket(c, &done))
    }
}

/// The resolution code an incident Microsoft resolved is given (an
/// instance's list of codes varies by release; this one is in the base
/// system's list: Unconfirmed for every instance).
pub const INCIDENT_CLOSE_CODE: &str = "Solved (Permanently)";

fn incident_ticket(c: &ServiceNow, i: &crate::servicenow::Incident) -> Ticket {
    Ticket {
        id: i.sys_id.clone(),
        number: i.number.clone(),
        url: c.incident_url(i),
        state: i.state_label(),
        progress: match i.state.as_str() {
            "6" | "7" => TicketProgress::Done,
            "8" => TicketProgress::Canceled,
            "2" | "3" => TicketProgress::InProgress,
            _ => TicketProgress::Open,
        },
    }
}

fn servicenow_ticket(c: &ServiceNow, change: &crate::servicenow::Change) -> Ticket {
    Ticket {
        id: change.sys_id.clone(),
        number: change.number.clone(),
        url: c.change_url(change),
        state: change.state.label(),
        progress: change.state.progress(),
    }
}

fn jira_ticket(c: &Jira, issue: &crate::jira::Issue) -> Ticket {
    Ticket {
        id: issue.key.clone(),
        number: issue.key.clone(),
        url: c.issue_url(issue),
        state: issue.status_name.clone(),
        progress: issue.category.progress(),
    }
}

fn planner_ticket(c: &Planner, task: &crate::planner::Task) -> Ticket {
    Ticket {
        id: task.id.clone(),
        number: planner_number(&task.id),
        url: c.task_url(&task.id),
        state: task.state().to_owned(),
        progress: task.progress(),
    }
}

/// A task's number for people: Planner has none, so its id's first eight
/// characters (`task AbCdEfGh`).
fn planner_number(id: &str) -> String {
    format!("task {}", id.chars().take(8).collect::<String>())
}

fn glpi_ticket(web: &str, change: &crate::glpi::GlpiChangeRef) -> Ticket {
    glpi_ticket_of(web, "change", change)
}

/// A GLPI change or ticket (`form`: `change`, `ticket`) as a [`Ticket`]
/// (a ticket's status 5 is "solved": done).
fn glpi_ticket_of(web: &str, form: &str, item: &crate::glpi::GlpiChangeRef) -> Ticket {
    let state = match (form, item.status) {
        ("ticket", crate::glpi::GlpiStatus::Applied) => "solved".to_owned(),
        _ => item.status.label(),
    };
    Ticket {
        id: item.id.to_string(),
        number: item.id.to_string(),
        url: format!("{web}/front/{form}.form.php?id={}", item.id),
        state,
        progress: item.status.progress(),
    }
}

/// The GLPI change of a ticket request.
fn glpi_change(r: &TicketRequest<'_>) -> NewGlpiChange {
    NewGlpiChange {
        correlation_id: r.correlation_id.to_owned(),
        name: r.text.summary.clone(),
        content_html: paragraphs_html(&r.text.paragraphs),
        urgency: 3,
        impact: 3,
    }
}

/// GLPI's web root from an API URL (`…/apirest.php`, `…/api.php/v2.0`).
fn glpi_web_root(api: &str) -> String {
    let t = api.trim_end_matches('/');
    let root = match t.rsplit_once("/api.php") {
        Some((root, _)) if !root.is_empty() => root,
        _ => t.trim_end_matches("apirest.php"),
    };
    root.trim_end_matches('/').to_owned()
}

fn glpi_id(id: &str) -> Result<i64, ConnectorError> {
    id.trim()
        .parse()
        .map_err(|_| ConnectorError::Config(format!("a GLPI change id is a number: {id:?}")))
}

/// Paragraphs as HTML, escaped.
fn paragraphs_html(paragraphs: &[String]) -> String {
    paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", changedesk_core::text::escape_html(p)))
        .collect()
}
