//! The preview and pilot programme (migration 0035, issue 21 item 5): pilot
//! groups per workload, the pilot tasks opened when a post's preview or
//! targeted release starts, and their findings (entries of the items'
//! decision logs). The operations are in `pilot_ops.rs`, compiled for each
//! backend.

use changedesk_core::Timestamp;

use super::{Backend, Result, Store, StoreError, TenantScope, postgres, sqlite};

/// The most members a pilot group keeps.
pub const MAX_PILOT_MEMBERS: usize = 500;
/// The most workloads a pilot group names.
pub const MAX_PILOT_WORKLOADS: usize = 50;

/// A pilot group: who tries the changes of which workloads first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PilotGroup {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The services (workloads) whose changes it tries.
    pub workloads: Vec<String>,
    /// Its members' e-mail addresses.
    #[serde(default)]
    pub members: Vec<String>,
    /// The channel told when a pilot task opens for it (a `pilot.opened`
    /// event); empty: none.
    #[serde(default)]
    pub channel: String,
}

/// The most pilot tasks a page holds.
pub const MAX_PILOT_TASKS: i64 = 1000;

/// Which pilot tasks a list reads: all by default, newest first.
#[derive(Debug, Clone, Default)]
pub struct PilotTaskQuery {
    /// One post's.
    pub post_id: Option<String>,
    /// Done (the group recorded a finding) or open.
    pub done: Option<bool>,
    /// How many of those to pass over (the pages before).
    pub offset: i64,
}

/// A pilot task to open, with the event that tells its group (recorded
/// with it, only when the task is new).
#[derive(Debug, Clone)]
pub struct NewPilotTask {
    pub post_id: String,
    pub group: String,
    /// The first day of the post's preview or targeted release.
    pub pilot_start: time::Date,
    pub event: Option<changedesk_core::notify::Event>,
}

/// A pilot task: a group asked to try a post's change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PilotTask {
    pub post_id: String,
    pub group: String,
    /// The first day of the post's preview or targeted release.
    pub pilot_start: time::Date,
    pub opened_at: Timestamp,
    /// The group's latest finding, if it made one.
    pub finding: Option<PilotFinding>,
}

/// A pilot group's finding, as the decision log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PilotFinding {
    pub actor: String,
    pub at: Timestamp,
    /// core's `PilotRecommendation`, as text.
    pub recommendation: String,
    pub text: Option<String>,
}

/// A post that may open pilot tasks: its services and its timeline (JSON).
#[derive(Debug, Clone)]
pub struct PilotCandidate {
    pub post_id: String,
    pub services: Vec<String>,
    pub timeline: changedesk_core::timeline::Timeline,
}

impl PilotGroup {
    /// The group with its name, workloads and members trimmed, empty ones
    /// dropped and repeats removed; an error for people when the name is
    /// not a name, no workload is named, or the lists are too long.
    pub fn checked(mut self) -> std::result::Result<PilotGroup, String> {
        self.name = self.name.trim().to_string();
        if self.name.is_empty() || self.name.chars().count() > changedesk_core::triage::MAX_NAME_LEN
        {
            return Err(format!(
                "a pilot group's name is 1 to {} characters",
                changedesk_core::triage::MAX_NAME_LEN
            ));
        }
        self.description = changedesk_core::text::one_line(&self.description);
        if self.description.chars().count() > 500 {
            return Err("the description is over 500 characters".into());
        }
        let tidy = |list: Vec<String>, lower: bool| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for v in list {
                let v = v.trim();
                let v = if lower {
                    v.to_lowercase()
                } else {
                    v.to_string()
                };
                if !v.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&v)) {
                    out.push(v);
                }
            }
            out
        };
        self.channel = self.channel.trim().to_string();
        if self.channel.chars().count() > changedesk_core::triage::MAX_NAME_LEN {
            return Err("the channel's name is too long".into());
        }
        self.workloads = tidy(self.workloads, false);
        self.members = tidy(self.members, true);
        if self.workloads.is_empty() {
            return Err("name the workloads (services) whose changes the group tries".into());
        }
        if self.workloads.len() > MAX_PILOT_WORKLOADS || self.members.len() > MAX_PILOT_MEMBERS {
            return Err(format!(
                "a pilot group has at most {MAX_PILOT_WORKLOADS} workloads and {MAX_PILOT_MEMBERS} members"
            ));
        }
        if let Some(m) = self
            .members
            .iter()
            .find(|m| !changedesk_core::config::looks_like_mailbox(m))
        {
            return Err(format!(
                "`{}` is not an e-mail address",
                changedesk_core::text::clip_chars(m, 80)
            ));
        }
        if self.workloads.iter().any(|w| w.chars().count() > 200) {
            return Err("a workload's name is over 200 characters".into());
        }
        Ok(self)
    }

    /// Whether it tries changes of one of `services` (ignoring case).
    pub fn tries(&self, services: &[String]) -> bool {
        self.workloads
            .iter()
            .any(|w| services.iter().any(|s| s.eq_ignore_ascii_case(w)))
    }
}

impl Store {
    /// The pilot groups, by name.
    pub async fn pilot_groups(&self) -> Result<Vec<PilotGroup>> {
        dispatch!(self.pilot_groups())
    }

    /// Adds or replaces a pilot group (checked: [`PilotGroup::checked`]),
    /// audited `pilot_group.save`.
    pub async fn save_pilot_group(
        &self,
        group: &PilotGroup,
        actor: &str,
        at: Timestamp,
    ) -> Result<()> {
        let group = group.clone().checked().map_err(StoreError::Invalid)?;
        let writer = &*self.writer;
        dispatch_write!(self.save_pilot_group(writer, &group, actor, at))
    }

    /// Removes a pilot group (its tasks and findings stay), audited
    /// `pilot_group.remove`; false when there is none of that name.
    pub async fn remove_pilot_group(&self, name: &str, actor: &str, at: Timestamp) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.remove_pilot_group(writer, name, actor, at))
    }

    /// The posts whose timeline has a public preview or targeted release
    /// phase.
    pub async fn pilot_candidates(&self) -> Result<Vec<PilotCandidate>> {
        dispatch!(self.pilot_candidates())
    }

    /// Those of `tasks` (post, group) not opened yet.
    pub async fn unopened_pilot_tasks(
        &self,
        tasks: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self.unopened_pilot_tasks(tasks))
    }

    /// Opens the pilot tasks of `tasks` not opened yet, each with its
    /// event (in one transaction: a task is told once); how many were new.
    pub async fn open_pilot_tasks(&self, tasks: &[NewPilotTask], at: Timestamp) -> Result<usize> {
        let (posts, groups): (Vec<String>, Vec<String>) = tasks
            .iter()
            .map(|t| (t.post_id.clone(), t.group.clone()))
            .unzip();
        let pairs: Vec<(String, String)> = posts.into_iter().zip(groups).collect();
        // the tasks opened already (each rules run asks again) are read
        // without the write lock, which is taken only for new ones
        let new = self.unopened_pilot_tasks(&pairs).await?;
        let new: Vec<&NewPilotTask> = tasks
            .iter()
            .filter(|t| new.iter().any(|(p, g)| *p == t.post_id && *g == t.group))
            .collect();
        if new.is_empty() {
            return Ok(0);
        }
        let writer = &*self.writer;
        dispatch_write!(self.open_pilot_tasks(writer, &new, at))
    }

    /// One page of the pilot tasks `query` names, newest first (at most
    /// `limit`, 1 to [`MAX_PILOT_TASKS`], from `query.offset`), each with
    /// its group's latest finding.
    pub async fn pilot_tasks(&self, query: &PilotTaskQuery, limit: i64) -> Result<Vec<PilotTask>> {
        let limit = limit.clamp(1, MAX_PILOT_TASKS);
        dispatch!(self.pilot_tasks(query, limit))
    }

    /// The pilot findings recorded about the posts `scope` sees since
    /// `since`.
    pub async fn pilot_findings(&self, scope: &TenantScope, since: Timestamp) -> Result<usize> {
        dispatch!(self.logged_since(scope, "pilot_finding", since))
    }
}
