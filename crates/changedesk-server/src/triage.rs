//! Applying the rules to the archive: one work item per post.
//!
//! For each post whose current revision the rules have not seen, the rules
//! run once per post and once per tenant that sees it (see
//! `changedesk_core::rules`), and the outcomes are combined into the post's
//! single work item:
//!
//! - **A new item** takes the combined outcome, with actor `rules`: the
//!   assignee is the owner most tenants got (a rule's `owner`, `workload`
//!   meaning the workload's owner; with no rule setting one, the workload's
//!   owner from the ownership map), and tenants that got another owner get an
//!   override; the highest priority; the earliest due date; every label;
//!   change request and communication if any tenant needs them. A post every
//!   tenant's outcome dismisses is dismissed; a post only some dismiss is not
//!   applicable to those (an override with the reason as note). Tenants whose
//!   rollout status is *not supported* on every platform are not applicable.
//! - **An existing item** (a new revision of its post) keeps what people
//!   decided: it is flagged *changed since triage*, reopened when a watched
//!   field moved (`ReopenPolicy`), and the owner gets a notify intent; the
//!   rules only add labels, requirements and notify intents.
//!
//! Each item is saved with the revision evaluated, so a post is evaluated
//! once per revision, and a concurrent human change makes the save fail
//! with a conflict (that post is left for the next run) instead of being
//! overwritten.

use std::collections::{BTreeMap, BTreeSet};

use changedesk_core::Timestamp;
use changedesk_core::access::TenantSet;
use changedesk_core::graph::{RolloutStatus, TenantView};
use changedesk_core::notify::{Event, Thresholds};
use changedesk_core::rules::{
    Explanation, Outcome, OwnerTarget, PostFacts, RuleSet, RuleSpec, TenantFacts, rollout_statuses,
};
use changedesk_core::triage::{
    Action, Actor, LogEntry, Owner, OwnershipMap, ReopenPolicy, TenantGroup, WorkItem, groups_of,
    on_revision,
};
use changedesk_store::{Candidate, ItemSave, NotifyRow, Store, StoreError, StoredItem};
use serde::Serialize;

/// Why the rules could not run.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored rule `{name}` cannot be read: {message}")]
    BadRule { name: String, message: String },
    #[error("the rules do not compile:\n{0}")]
    Compile(String),
}

/// Everything the rules need besides the posts.
#[derive(Debug, Clone, Default)]
pub struct Triage {
    pub rules: RuleSet,
    pub groups: Vec<TenantGroup>,
    pub ownership: OwnershipMap,
    pub owners: Vec<Owner>,
    pub reopen: ReopenPolicy,
    /// `[notify]`'s thresholds: which new posts are told late
    /// (`late_after_days`) and which ask for action soon
    /// (`act_by_soon_days`).
    pub thresholds: Thresholds,
    /// The templates of the communications' first drafts.
    pub comms_templates: std::sync::Arc<changedesk_notify::render::Templates>,
}

impl Triage {
    /// The rules, groups and ownership kept in the archive (with the
    /// default thresholds: [`Triage::with_thresholds`]).
    pub async fn load(store: &Store, reopen: ReopenPolicy) -> Result<Triage, TriageError> {
        let specs = stored_specs(store).await?;
        let rules = RuleSet::compile(&specs).map_err(|e| TriageError::Compile(e.to_string()))?;
        Ok(Triage {
            rules,
            groups: store.groups().await?,
            ownership: OwnershipMap {
                entries: store.ownership().await?,
            },
            owners: store.owners().await?,
            reopen,
            thresholds: Thresholds::default(),
            comms_templates: std::sync::Arc::new(changedesk_notify::render::Templates::builtin()),
        })
    }

    /// These rules with `[notify]`'s thresholds.
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Triage {
        self.thresholds = thresholds;
        self
    }

    /// These rules drafting the communications they require with
    /// `templates` (`[notify] templates_dir`'s overrides).
    pub fn with_comms_templates(
        mut self,
        templates: std::sync::Arc<changedesk_notify::render::Templates>,
    ) -> Triage {
        self.comms_templates = templates;
        self
    }
}

/// The archive's rules as specs, in order.
pub async fn stored_specs(store: &Store) -> Result<Vec<RuleSpec>, TriageError> {
    store
        .rules()
        .await?
        .into_iter()
        .map(|r| {
            let mut spec: RuleSpec =
                serde_json::from_value(r.spec).map_err(|e| TriageError::BadRule {
                    name: r.name.clone(),
                    message: e.to_string(),
                })?;
            spec.name = r.name;
            spec.enabled = r.enabled;
            Ok(spec)
        })
        .collect()
}

/// What a run of the rules did (or, simulated, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplySummary {
    /// Posts evaluated.
    pub evaluated: usize,
    /// Work items created.
    pub created: usize,
    /// Of those, assigned to an owner.
    pub assigned: usize,
    /// Of those, dismissed by a rule.
    pub dismissed: usize,
    /// Existing items flagged changed since triage.
    pub flagged: usize,
    /// Existing items reopened.
    pub reopened: usize,
    /// Notify intents recorded.
    pub notified: usize,
    /// Posts left for the next run because someone changed the item meanwhile.
    pub conflicts: usize,
    /// Posts the rules could not decide (a bug: it panicked), left pending for
    /// the next run; every other post was decided and saved.
    pub failed: Vec<changedesk_store::FailedItem>,
    /// Per post, what would change (simulations only).
    pub changes: Vec<PostChange>,
    /// Posts the rules now require a communication of (not for a post that
    /// tells nobody it is new): a draft is asked for each.
    pub comms_wanted: Vec<String>,
    /// Drafts of communications the rules asked for.
    pub comms_requested: usize,
    /// Pilot tasks opened (a post's preview or targeted release started).
    pub pilot_tasks_opened: usize,
}

/// What the rules did to one post's item.
#[derive(Debug, Clone, Serialize)]
pub struct PostChange {
    pub post_id: String,
    pub created: bool,
    pub entries: Vec<LogEntry>,
    pub notify: Vec<NotifyRow>,
}

/// One tenant's facts and outcome for a post.
struct TenantResult {
    tenant: String,
    outcome: Outcome,
    owner: Option<String>,
    not_supported: bool,
}

/// The tenant view the post-level facts are read from (roadmap ids and
/// platforms are the same for every tenant): the first visible tenant's.
fn shared_view(c: &Candidate) -> TenantView {
    let link = c.links.iter().find(|l| l.visible).or(c.links.first());
    TenantView {
        details: link.map(|l| l.details.to_vec()).unwrap_or_default(),
    }
}

impl Triage {
    /// What the rules read of a tenant besides the post: its groups, and its
    /// rollout statuses from its `details`.
    fn tenant_inputs(
        &self,
        tenant: &str,
        details: &[changedesk_core::graph::Detail],
    ) -> (Vec<String>, Vec<RolloutStatus>) {
        let groups = groups_of(tenant, &self.groups)
            .into_iter()
            .map(str::to_string)
            .collect();
        let view = TenantView {
            details: details.to_vec(),
        };
        (
            groups,
            rollout_statuses(&view.rollout().unwrap_or_default()),
        )
    }

    /// Evaluates the rules for each tenant that sees the post.
    fn evaluate(&self, c: &Candidate, now: Timestamp) -> Vec<TenantResult> {
        let view = shared_view(c);
        let post = PostFacts::new(&c.content, &view, &c.body_text);
        let partial = self.rules.for_post(&post, now);
        let is_updated = !c.changed_fields.is_empty();
        c.links
            .iter()
            .filter(|l| l.visible)
            .map(|l| {
                let (member_of, rollout) = self.tenant_inputs(&l.tenant, &l.details);
                let facts = TenantFacts {
                    tenant: &l.tenant,
                    groups: &member_of,
                    rollout: &rollout,
                    is_new: c.stored.is_none(),
                    is_updated,
                    changed_fields: &c.changed_fields,
                };
                let outcome = partial.for_tenant(&facts);
                let groups: Vec<&str> = member_of.iter().map(String::as_str).collect();
                let workload_owner = || {
                    self.ownership
                        .owner_for(&c.content.services, Some(&l.tenant), &groups)
                        .map(|r| r.owner)
                };
                let owner = match &outcome.owner {
                    Some(OwnerTarget::Named(n)) => Some(n.to_ascii_lowercase()),
                    Some(OwnerTarget::Workload) | None => workload_owner(),
                };
                TenantResult {
                    tenant: l.tenant.clone(),
                    not_supported: !rollout.is_empty()
                        && rollout.iter().all(|s| *s == RolloutStatus::NotSupported),
                    outcome,
                    owner,
                }
            })
            .collect()
    }

    /// The full trace of the rules for one post and tenant.
    pub fn explain(&self, c: &Candidate, tenant: &str, now: Timestamp) -> Explanation {
        let view = shared_view(c);
        let post = PostFacts::new(&c.content, &view, &c.body_text);
        let details = c
            .links
            .iter()
            .find(|l| l.tenant == tenant)
            .map(|l| l.details.as_slice())
            .unwrap_or_default();
        let (member_of, rollout) = self.tenant_inputs(tenant, details);
        let facts = TenantFacts {
            tenant,
            groups: &member_of,
            rollout: &rollout,
            is_new: c.stored.is_none(),
            is_updated: !c.changed_fields.is_empty(),
            changed_fields: &c.changed_fields,
        };
        self.rules.explain(&post, &facts, now)
    }

    /// What the rules make of one post: the item to save, its new log
    /// entries and notify intents. `None` when nothing changes.
    pub fn decide(
        &self,
        c: &Candidate,
        now: Timestamp,
    ) -> Option<(WorkItem, Vec<LogEntry>, Vec<NotifyRow>)> {
        self.decide_with(c, now, false)
    }

    /// As [`Self::decide`]; with `retriage`, an existing item nobody has
    /// touched (see [`untouched`]) is routed again as if it were new.
    fn decide_with(
        &self,
        c: &Candidate,
        now: Timestamp,
        retriage: bool,
    ) -> Option<(WorkItem, Vec<LogEntry>, Vec<NotifyRow>)> {
        let results = self.evaluate(c, now);
        let rules = Actor::Rules;
        let mut entries = Vec::new();
        let mut notify = Vec::new();
        let id = &c.content.id;
        let apply = |item: &mut WorkItem, action: Action, entries: &mut Vec<LogEntry>| match item
            .apply(action, &rules, now)
        {
            Ok(e) => entries.extend(e),
            Err(e) => tracing::warn!(post = %id, error = %e, "a rule's action was refused"),
        };
        let created = c.stored.is_none();
        let mut item = match &c.stored {
            Some(StoredItem { item, .. }) => item.clone(),
            None => WorkItem::new(id, now),
        };
        if created || (retriage && untouched(&item)) {
            // the assignee most tenants got; the others get an override
            let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
            for r in &results {
                if let Some(o) = &r.owner {
                    *votes.entry(o.as_str()).or_default() += 1;
                }
            }
            let first_seen = |o: &str| results.iter().position(|r| r.owner.as_deref() == Some(o));
            let assignee = votes
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(first_seen(b.0).cmp(&first_seen(a.0))))
                .map(|(o, _)| o.to_string())
                .or_else(|| {
                    self.ownership
                        .owner_for(&c.content.services, None, &[])
                        .map(|r| r.owner)
                });
            if let Some(a) = &assignee {
                apply(
                    &mut item,
                    Action::Assign {
                        owner: Some(a.clone()),
                    },
                    &mut entries,
                );
            }
            if let Some(p) = results.iter().filter_map(|r| r.outcome.priority).max()
                && p != item.priority
            {
                apply(&mut item, Action::SetPriority { priority: p }, &mut entries);
            }
            if let Some(due) = results.iter().filter_map(|r| r.outcome.due).min() {
                apply(&mut item, Action::SetDue { due: Some(due) }, &mut entries);
            }
            let dismissed: Vec<&TenantResult> = results
                .iter()
                .filter(|r| r.outcome.dismiss.is_some())
                .collect();
            for r in &results {
                let differs = r.owner.is_some() && r.owner != assignee;
                let reason = r.outcome.dismiss.clone();
                let not_applicable =
                    (reason.is_some() && dismissed.len() < results.len()) || r.not_supported;
                if differs || not_applicable {
                    let note = reason
                        .filter(|_| dismissed.len() < results.len())
                        .or_else(|| {
                            r.not_supported
                                .then(|| "rollout: not supported for this tenant".to_string())
                        });
                    apply(
                        &mut item,
                        Action::SetOverride {
                            tenant: r.tenant.clone(),
                            applicable: not_applicable.then_some(false),
                            assignee: if differs { r.owner.clone() } else { None },
                            due: None,
                            note,
                        },
                        &mut entries,
                    );
                }
            }
            if !results.is_empty() && dismissed.len() == results.len() {
                let reason = dismissed
                    .first()
                    .and_then(|d| d.outcome.dismiss.clone())
                    .unwrap_or_default();
                apply(&mut item, Action::Dismiss { reason }, &mut entries);
            }
        } else if !retriage {
            let effect = on_revision(&mut item, &c.changed_fields, &self.reopen, now);
            entries.extend(effect.entries);
            if let Some(n) = effect.notify_owner {
                let target = n.assignee.clone().unwrap_or_else(|| "owner".to_string());
                notify.push(NotifyRow {
                    post_id: id.clone(),
                    tenant: None,
                    target,
                    reason: format!(
                        "{} changed{}: {}",
                        id,
                        if n.reopened { " and was reopened" } else { "" },
                        n.fields.join(", ")
                    ),
                    created_at: None,
                });
            }
        }
        // additive outcomes, for new and existing items alike
        let labels: BTreeSet<&String> = results.iter().flat_map(|r| &r.outcome.labels).collect();
        for label in labels {
            if !item.labels.contains(label.as_str()) {
                apply(
                    &mut item,
                    Action::AddLabel {
                        label: label.clone(),
                    },
                    &mut entries,
                );
            }
        }
        if results.iter().any(|r| r.outcome.change_request) && !item.requires_change_request {
            apply(
                &mut item,
                Action::RequireChangeRequest { required: true },
                &mut entries,
            );
        }
        if results.iter().any(|r| r.outcome.communication) && !item.requires_communication {
            apply(
                &mut item,
                Action::RequireCommunication { required: true },
                &mut entries,
            );
        }
        for r in &results {
            for target in &r.outcome.notify {
                let target = if target.eq_ignore_ascii_case("owner") {
                    item.assignee_for(&r.tenant).unwrap_or("owner").to_string()
                } else {
                    target.to_ascii_lowercase()
                };
                if !notify.iter().any(|n| n.target == target) {
                    notify.push(NotifyRow {
                        post_id: id.clone(),
                        tenant: Some(r.tenant.clone()),
                        target,
                        reason: format!(
                            "rule: {}",
                            r.outcome
                                .matched
                                .iter()
                                .filter_map(|i| self.rules.rule_name(*i))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        created_at: None,
                    });
                }
            }
        }
        if !created && entries.is_empty() && notify.is_empty() {
            return None;
        }
        Some((item, entries, notify))
    }
}

/// Runs the rules over the posts they have not seen in their current
/// revision and saves the items. With `simulate`, saves nothing and lists,
/// per post, what would change.
///
/// Reading the candidates is most of the time: pages are read two at a
/// time, on reading connections, while the page before them is decided and
/// saved on the writer (see `CandidateReads`).
pub async fn apply_rules(
    store: &Store,
    triage: &Triage,
    now: Timestamp,
    simulate: bool,
) -> Result<ApplySummary, TriageError> {
    let mut summary = ApplySummary::default();
    let raisers = crate::changes::auto_raisers(store).await?;
    let mut reads = CandidateReads::start(store, !simulate).await?;
    let mut waited = std::time::Instant::now();
    while let Some(page) = reads.next().await? {
        let at = std::time::Instant::now();
        apply_page(store, triage, &raisers, &page, now, simulate, &mut summary).await?;
        tracing::debug!(
            posts = page.len(),
            // how long this page's read held the rules up
            read_wait_us = (at - waited).as_micros() as u64,
            apply_us = at.elapsed().as_micros() as u64,
            "rules page"
        );
        waited = std::time::Instant::now();
    }
    if !simulate {
        summary.comms_requested = request_comms(store, triage, &summary.comms_wanted, now).await?;
        summary.pilot_tasks_opened = crate::pilots::open_due(store, now).await?;
    }
    Ok(summary)
}

/// Asks for a communication of each post of `posts` (the rules require
/// one), once per post: a draft made from the post by the templates
/// `comms/draft_*` for every tenant's people, assigned to the comms lead
/// (the one user with the `comms` role, if exactly one), by `rules`. How
/// many were asked for now.
async fn request_comms(
    store: &Store,
    triage: &Triage,
    posts: &[String],
    now: Timestamp,
) -> Result<usize, TriageError> {
    if posts.is_empty() {
        return Ok(0);
    }
    let lead = crate::comms::lead(&store.users().await?);
    let mut made = 0;
    for id in posts {
        let Some(post) =
            crate::http::routes::posts::hit(store, changedesk_store::TenantScope::All, id).await?
        else {
            continue;
        };
        let text = match crate::comms::draft(&triage.comms_templates, &post, "") {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(post = %id, error = %e, "the rules' communication draft could not be made");
                continue;
            }
        };
        let new = changedesk_store::NewComms {
            post_id: post.summary.id.clone(),
            tenants: Vec::new(),
            audience: Default::default(),
            channel: String::new(),
            assignee: lead.clone(),
            text,
        };
        made += usize::from(store.create_comms(&new, "rules", now).await?.is_some());
    }
    Ok(made)
}

/// Whether a new post tells nobody it is new: it came with a tenant's
/// first load (the baseline), or reached changedesk more than
/// `late_after_days` (`[notify]`; by default `notify::LATE_AFTER_DAYS`)
/// after its publication.
pub fn quiet(c: &changedesk_store::Candidate, thresholds: &Thresholds) -> bool {
    c.baseline
        || changedesk_core::notify::first_seen_late(
            c.content.start,
            c.first_seen,
            thresholds.late_after_days,
        )
}

/// The events of what the rules decided for `c` (recorded with the item):
/// a new post routed to its owner, a new major change, a new post asking
/// for action within `act_by_soon_days` (30 by default; none of them when
/// [`quiet`]); a post that changed after triage, or whose item reopened,
/// with what changed; each rule's `notify`.
pub fn events_of(
    c: &changedesk_store::Candidate,
    item: &WorkItem,
    entries: &[LogEntry],
    notify: &[NotifyRow],
    now: Timestamp,
    thresholds: &Thresholds,
) -> Vec<Event> {
    use changedesk_core::notify::{EventKind, PostRef};
    let created = c.stored.is_none();
    if created && quiet(c, thresholds) {
        return Vec::new();
    }
    let p = &c.content;
    let base = |kind: EventKind| Event {
        kind,
        at: now,
        post: Some(PostRef::of(p)),
        incident: None,
        tenants: c
            .links
            .iter()
            .filter(|l| l.visible)
            .map(|l| l.tenant.clone())
            .collect(),
        owner: item.assignee.clone(),
        changes: Vec::new(),
        reason: None,
        target: None,
        ticket_scope: None,
        moves: Vec::new(),
    };
    let mut out = Vec::new();
    if created {
        if item.state != changedesk_core::triage::State::Dismissed {
            // each owner in force is told of the tenants it is theirs for
            let all = base(EventKind::PostRouted);
            for (owner, tenants) in item.assignees_in_force(&all.tenants) {
                if owner.is_some() {
                    out.push(Event {
                        owner,
                        tenants,
                        ..all.clone()
                    });
                }
            }
        }
        // whoever owns it (or no one): a major change, or one that asks
        // for action soon, is news of its own
        if p.is_major {
            out.push(base(EventKind::PostMajor));
        }
        if changedesk_core::notify::act_by_soon(p.act_by, c.first_seen, thresholds.act_by_soon_days)
        {
            out.push(Event {
                reason: p.act_by.map(|a| {
                    format!(
                        "act by {} (within {} days)",
                        a.to_string().chars().take(10).collect::<String>(),
                        thresholds.act_by_soon_days
                    )
                }),
                ..base(EventKind::PostActBySoon)
            });
        }
    } else if entries
        .iter()
        .any(|e| e.action == changedesk_core::triage::LogAction::Reopen)
    {
        // reopened for some tenants only (their own closed decisions): told
        // for those tenants
        let mut reopened = base(EventKind::ItemReopened);
        let mut own: Vec<String> = Vec::new();
        let mut shared = false;
        for e in entries
            .iter()
            .filter(|e| e.action == changedesk_core::triage::LogAction::Reopen)
        {
            match &e.scope {
                changedesk_core::triage::LogScope::Post => shared = true,
                changedesk_core::triage::LogScope::Tenant(t) => own.push(t.clone()),
            }
        }
        if !shared {
            reopened.tenants.retain(|t| own.contains(t));
        }
        out.push(Event {
            changes: c.changed_fields.clone(),
            moves: c.date_moves.clone(),
            ..reopened
        });
    } else if notify.iter().any(|n| n.tenant.is_none()) {
        // the owner's notice of a change after triage (`on_revision`)
        out.push(Event {
            changes: c.changed_fields.clone(),
            moves: c.date_moves.clone(),
            ..base(EventKind::PostChanged)
        });
    }
    for n in notify.iter().filter(|n| n.tenant.is_some()) {
        out.push(Event {
            reason: Some(n.reason.clone()),
            target: Some(n.target.clone()),
            ..base(EventKind::RuleNotify)
        });
    }
    out
}

/// Decides one page of candidates and saves what changed (see
/// [`apply_rules`]).
async fn apply_page(
    store: &Store,
    triage: &Triage,
    raisers: &[crate::changes::AutoRaise],
    page: &[changedesk_store::Candidate],
    now: Timestamp,
    simulate: bool,
    summary: &mut ApplySummary,
) -> Result<(), TriageError> {
    let decide_at = std::time::Instant::now();
    let mut decided = Vec::new();
    let mut unchanged: Vec<(&str, i64)> = Vec::new();
    for c in page {
        // a simulation looks at every post; only pending ones would change
        let pending = c
            .stored
            .as_ref()
            .is_none_or(|s| s.evaluated_revision < c.revision);
        if !pending {
            continue;
        }
        summary.evaluated += 1;
        let decision = changedesk_store::failpoint::guard(|| {
            changedesk_store::failpoint::poison("rules", &c.content.id);
            triage.decide(c, now)
        });
        match decision {
            Ok(None) => unchanged.push((&c.content.id, c.revision)),
            Ok(Some(d)) => decided.push((c, d)),
            Err(error) => {
                let tenants: Vec<&str> = c.links.iter().map(|l| l.tenant.as_str()).collect();
                tracing::error!(post = %c.content.id, tenants = ?tenants, %error,
                    "the rules could not decide this post; it stays pending and the others go on");
                summary.failed.push(changedesk_store::FailedItem {
                    id: c.content.id.clone(),
                    error,
                });
            }
        }
    }
    let saved: Vec<Result<i64, StoreError>> = if simulate {
        decided.iter().map(|_| Ok(0)).collect()
    } else {
        let events: Vec<Vec<Event>> = decided
            .iter_mut()
            .map(|(c, (item, entries, notify))| {
                let mut events = events_of(c, item, entries, notify, now, &triage.thresholds);
                // an item the rules now require a change request of: the
                // connectors that raise them by themselves are asked (not
                // for a post that tells nobody it is new: a tenant's first
                // load must not flood the change board with its backlog)
                let quiet_new = c.stored.is_none() && quiet(c, &triage.thresholds);
                if !raisers.is_empty() && !quiet_new {
                    let seeing: Vec<String> = c
                        .links
                        .iter()
                        .filter(|l| l.visible)
                        .map(|l| l.tenant.clone())
                        .collect();
                    let (asked, requests) = crate::changes::auto_requests(
                        &c.content,
                        item.assignee.as_deref(),
                        &seeing,
                        entries,
                        raisers,
                        now,
                    );
                    entries.extend(asked);
                    events.extend(requests);
                }
                events
            })
            .collect();
        let saves: Vec<ItemSave> = decided
            .iter()
            .zip(&events)
            .map(|((c, (item, entries, notify)), events)| ItemSave {
                item,
                expected_version: c.stored.as_ref().map(|s| s.version),
                evaluated_revision: Some(c.revision),
                entries,
                notify,
                events,
                at: now,
            })
            .collect();
        let save_at = std::time::Instant::now();
        let saved = store.save_work_items(&saves, &unchanged).await?;
        tracing::debug!(
            decide_us = (save_at - decide_at).as_micros() as u64,
            save_us = save_at.elapsed().as_micros() as u64,
            "rules page saved"
        );
        saved
    };
    for ((c, (item, entries, notify)), saved) in decided.into_iter().zip(saved) {
        match saved {
            Ok(_) => {}
            Err(StoreError::Conflict(m)) => {
                tracing::info!(post = %c.content.id, "{m}");
                summary.conflicts += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let created = c.stored.is_none();
        if created {
            summary.created += 1;
            summary.assigned += usize::from(item.assignee.is_some());
            summary.dismissed +=
                usize::from(item.state == changedesk_core::triage::State::Dismissed);
        } else {
            summary.flagged += usize::from(item.is_flagged());
            summary.reopened += usize::from(
                entries
                    .iter()
                    .any(|e| e.action == changedesk_core::triage::LogAction::Reopen),
            );
        }
        summary.notified += notify.len();
        if !simulate
            && entries
                .iter()
                .any(|e| e.action == changedesk_core::triage::LogAction::RequireCommunication)
            && !(created && quiet(c, &triage.thresholds))
        {
            summary.comms_wanted.push(c.content.id.clone());
        }
        if simulate {
            summary.changes.push(PostChange {
                post_id: c.content.id.clone(),
                created,
                entries,
                notify,
            });
        }
    }
    Ok(())
}

/// The rules' candidates (see [`Store::triage_candidates`]) page by page,
/// in post id order, read ahead: the ids come first (one short row each),
/// then each page is the range of ids between two of them, so pages can be
/// read at once, each on its own task and reading connection. Ranges do not
/// overlap. A post that becomes a candidate meanwhile is read with its
/// range, or, beyond the last id listed, by the next run.
struct CandidateReads {
    store: Store,
    pending_only: bool,
    /// The pages to read: the id before each (none for the first) and its
    /// last id.
    ranges: std::vec::IntoIter<(Option<String>, String)>,
    reading:
        std::collections::VecDeque<tokio::task::JoinHandle<Result<Vec<Candidate>, StoreError>>>,
}

impl CandidateReads {
    const PAGE: usize = 25;
    /// Pages read at once, besides the one being decided.
    const AHEAD: usize = 2;

    async fn start(store: &Store, pending_only: bool) -> Result<Self, TriageError> {
        let ids = store.triage_candidate_ids(pending_only).await?;
        let ranges: Vec<(Option<String>, String)> = ids
            .chunks(Self::PAGE)
            .scan(None::<String>, |after, chunk| {
                let last = chunk.last()?.clone();
                Some((after.replace(last.clone()), last))
            })
            .collect();
        let mut reads = CandidateReads {
            store: store.clone(),
            pending_only,
            ranges: ranges.into_iter(),
            reading: Default::default(),
        };
        reads.fill();
        Ok(reads)
    }

    /// Starts reading pages until `AHEAD` are under way.
    fn fill(&mut self) {
        while self.reading.len() < Self::AHEAD {
            let Some((after, until)) = self.ranges.next() else {
                break;
            };
            let (store, pending_only) = (self.store.clone(), self.pending_only);
            // a range holds its PAGE ids, and any post that became a
            // candidate within it since they were listed
            let limit = (Self::PAGE * 4) as i64;
            self.reading.push_back(tokio::spawn(async move {
                store
                    .triage_candidates_until(pending_only, after.as_deref(), &until, limit)
                    .await
            }));
        }
    }

    async fn next(&mut self) -> Result<Option<Vec<Candidate>>, TriageError> {
        let Some(read) = self.reading.pop_front() else {
            return Ok(None);
        };
        let page = read.await.map_err(|e| {
            StoreError::Invalid(format!("reading the rules' candidates stopped: {e}"))
        })??;
        self.fill();
        Ok(Some(page))
    }
}

/// The weekly review agenda at `now`, for the period from `since`: every
/// work item with its post, and the decisions logged since then.
pub async fn agenda(
    store: &Store,
    ownership: &OwnershipMap,
    now: Timestamp,
    since: Timestamp,
) -> Result<changedesk_core::triage::Agenda, TriageError> {
    agenda_for(store, ownership, now, since, &TenantSet::All).await
}

/// The weekly review agenda as someone limited to `tenants` sees it (the web
/// UI's agenda page): only the items whose post a tenant of theirs sees (as
/// the API's item list), those tenants only, and the decisions on those
/// items. With [`TenantSet::All`], the whole agenda.
pub async fn agenda_for(
    store: &Store,
    ownership: &OwnershipMap,
    now: Timestamp,
    since: Timestamp,
    tenants: &TenantSet,
) -> Result<changedesk_core::triage::Agenda, TriageError> {
    use changedesk_core::graph::{Category, Severity};
    use changedesk_core::triage::{Agenda, AgendaLogEntry, AgendaPost};
    // a tenant-limited caller's items are those a tenant of theirs sees,
    // with those tenants only; the agenda counts tenants, so none is named
    // and their exceptions are counted by what they override (an MSP's
    // hundreds per item are most of the items' data)
    let filter = changedesk_store::ItemFilter {
        visible_to: tenants.names().map(|n| n.iter().cloned().collect()),
        ..Default::default()
    };
    let items = store.work_items_counted(&filter).await?;
    let posts: Vec<AgendaPost> = items
        .into_iter()
        .map(|(r, counted)| AgendaPost {
            owner: ownership.owner_for(&r.services, None, &[]).map(|o| o.owner),
            id: r.stored.item.message_id.clone(),
            title: r.title,
            services: r.services,
            category: Category::parse(&r.category),
            severity: Severity::parse(&r.severity),
            major: r.is_major,
            act_by: r.act_by,
            start: r.start,
            first_seen: r.first_seen,
            item: r.stored.item,
            tenants: r.tenants,
            tenant_count: usize::try_from(r.tenant_count).unwrap_or(0),
            counted,
        })
        // what is in force for each tenant (the caller's tenants only)
        .flat_map(AgendaPost::per_tenant_views)
        .collect();
    let shown: std::collections::HashSet<&str> = posts.iter().map(|p| p.id.as_str()).collect();
    // a tenant-limited caller reads their own tenants' decisions only
    let visible: Vec<String> = tenants
        .names()
        .map(|n| n.iter().cloned().collect())
        .unwrap_or_default();
    let log: Vec<AgendaLogEntry> = store
        .decision_log_since(&since)
        .await?
        .into_iter()
        .filter(|e| {
            tenants.is_all() || (shown.contains(e.post_id.as_str()) && e.entry.visible_to(&visible))
        })
        .map(|e| AgendaLogEntry {
            message_id: e.post_id,
            entry: e.entry,
        })
        .collect();
    Ok(Agenda::build(&posts, &log, now, since))
}

/// What a deadline sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepSummary {
    /// Open items past their due date.
    pub overdue: usize,
    /// Open items past their act-by date (or scheduled rollout start).
    pub missed: usize,
    /// Missed items closed as `missed` (when the policy says so).
    pub closed: Vec<String>,
    /// Items whose deadline status crossed into due soon, overdue or
    /// missed: an event each, once per crossing.
    pub notified: usize,
}

/// Counts overdue and missed items and, when `policy.auto_close`, closes
/// missed ones past the grace period (decision `missed`, label `missed`,
/// actor `system`), so nothing silently rots. An item whose status crosses
/// into due soon, overdue or missed gets an event (`item.due_soon`,
/// `item.overdue`, `item.missed`), once: the item remembers what was told
/// (`deadline_notified`), and back on track it is forgotten.
pub async fn sweep_deadlines(
    store: &Store,
    policy: &changedesk_core::triage::MissedPolicy,
    now: Timestamp,
) -> Result<SweepSummary, TriageError> {
    use changedesk_core::triage::{
        DeadlineKind, DeadlineStatus, State, auto_close_missed, deadline_status_counted,
        deadline_status_for_tenants,
    };
    let mut out = SweepSummary::default();
    let states = vec![State::New, State::Triaged, State::InProgress];
    let told_of = |status: &DeadlineStatus| match status.kind() {
        DeadlineKind::OnTrack => None,
        k => Some(k),
    };
    // first every open item with its exceptions counted by what they
    // override, not read: at an MSP's shape they are most of the items'
    // data (hundreds of thousands), and read whole each minute they held
    // the store for a second; an item is read whole only when its status
    // is to be told or it closes
    let open = changedesk_store::ItemFilter {
        states: states.clone(),
        ..Default::default()
    };
    let mut to_act: Vec<String> = Vec::new();
    for (r, counted) in store.work_items_counted(&open).await? {
        let dates = r.dates();
        let unnamed = r
            .unnamed()
            .saturating_sub(counted.iter().map(|c| c.tenants).sum());
        let status = deadline_status_counted(&r.stored.item, &dates, &counted, unnamed, now);
        match status {
            DeadlineStatus::Overdue { .. } => out.overdue += 1,
            DeadlineStatus::Missed { .. } => out.missed += 1,
            _ => {}
        }
        // whether it would close as missed: asked of the item with one
        // stand-in exception per counted kind (an item closed itself may
        // be open for some tenants)
        let mut probe = r.stored.item.clone();
        probe.overrides = counted
            .iter()
            .enumerate()
            .map(|(i, c)| changedesk_core::triage::TenantOverride {
                tenant: format!("counted-{i}"),
                ..c.exception.clone()
            })
            .collect();
        let closes = auto_close_missed(&mut probe, &dates, policy, now).is_some();
        if closes || r.stored.item.deadline_notified != told_of(&status) {
            to_act.push(r.stored.item.message_id);
        }
    }
    if to_act.is_empty() {
        return Ok(out);
    }
    let whole = changedesk_store::ItemFilter {
        states,
        // an item without exceptions has one status for all its tenants:
        // they are named only when an event tells them (below)
        names_for_exceptions_only: true,
        post_ids: Some(to_act),
        ..Default::default()
    };
    for r in store.work_items(&whole).await? {
        let dates = r.dates();
        // each tenant's own state and due date where it has an exception:
        // the most urgent status, and the tenants it holds for
        let (status, tenants) =
            deadline_status_for_tenants(&r.stored.item, &dates, &r.tenants, r.unnamed(), now);
        let mut item = r.stored.item.clone();
        if let Some(entries) = auto_close_missed(&mut item, &dates, policy, now) {
            if save_if_unchanged(store, &r, &item, &entries, &[], now).await? {
                out.closed.push(item.message_id.clone());
            }
            continue;
        }
        let told = told_of(&status);
        if item.deadline_notified == told {
            continue;
        }
        item.deadline_notified = told;
        let tenants = if told.is_some() && !r.all_named() {
            // the event names the tenants its status holds for: those
            // without an exception too, named now
            let one = changedesk_store::ItemFilter {
                post_ids: Some(vec![item.message_id.clone()]),
                ..Default::default()
            };
            let every = store
                .work_items(&one)
                .await?
                .into_iter()
                .next()
                .map(|r| r.tenants)
                .unwrap_or_default();
            deadline_status_for_tenants(&r.stored.item, &dates, &every, 0, now).1
        } else {
            tenants
        };
        let events: Vec<Event> = told
            .map(|k| deadline_event(&r, k, &status, tenants, now))
            .into_iter()
            .collect();
        if save_if_unchanged(store, &r, &item, &[], &events, now).await? {
            out.notified += events.len();
        }
    }
    Ok(out)
}

/// The event of an item whose deadline status became `kind`.
fn deadline_event(
    r: &changedesk_store::ItemRow,
    kind: changedesk_core::triage::DeadlineKind,
    status: &changedesk_core::triage::DeadlineStatus,
    tenants: Vec<String>,
    now: Timestamp,
) -> Event {
    use changedesk_core::notify::{EventKind, PostRef};
    use changedesk_core::triage::DeadlineKind;
    let kind = match kind {
        DeadlineKind::DueSoon => EventKind::ItemDueSoon,
        DeadlineKind::Overdue => EventKind::ItemOverdue,
        DeadlineKind::Missed | DeadlineKind::OnTrack => EventKind::ItemMissed,
    };
    Event {
        kind,
        at: now,
        post: Some(PostRef {
            id: r.stored.item.message_id.clone(),
            title: r.title.clone(),
            services: r.services.clone(),
            category: r.category.clone(),
            severity: r.severity.clone(),
            major: r.is_major,
            act_by: r.act_by,
            start: r.start,
        }),
        incident: None,
        // the tenants the status holds for: a tenant's own overdue item
        // tells its subscribers, not every tenant's
        owner: one_assignee(&r.stored.item, &tenants),
        tenants,
        changes: Vec::new(),
        reason: Some(status.to_string()),
        target: None,
        ticket_scope: None,
        moves: Vec::new(),
    }
}

/// Who the item is assigned to for `tenants`: their one assignee in force
/// when they share it, else the item's own.
fn one_assignee(item: &changedesk_core::triage::WorkItem, tenants: &[String]) -> Option<String> {
    match item.assignees_in_force(tenants).as_slice() {
        [] => None,
        [(who, _)] => who.clone(),
        _ => item.assignee.clone(),
    }
}

/// The baseline's items awaiting triage (see `changedesk_core::triage`'s
/// `baseline` module): what accepting it would close and what it keeps.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct BaselineSummary {
    /// Items of the baseline still awaiting triage.
    pub awaiting: usize,
    /// Of those, history: what accepting closes.
    pub to_close: usize,
    /// Of those, upcoming work or a miss (a decision deadline after the
    /// post was first seen): kept for triage.
    pub kept: usize,
}

/// What accepting the baseline did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct BaselineAccepted {
    /// The posts whose items were closed.
    pub closed: Vec<String>,
    /// Items kept for triage.
    pub kept: usize,
    /// Items someone changed meanwhile, left to them.
    pub skipped: usize,
}

async fn baseline_items(store: &Store) -> Result<Vec<changedesk_store::ItemRow>, TriageError> {
    let f = changedesk_store::ItemFilter {
        states: vec![changedesk_core::triage::State::New],
        baseline: Some(true),
        ..Default::default()
    };
    Ok(store.work_items(&f).await?)
}

/// The baseline's items awaiting triage, and their fates.
pub async fn baseline(store: &Store) -> Result<BaselineSummary, TriageError> {
    use changedesk_core::triage::{BaselineFate, baseline_fate};
    let mut out = BaselineSummary::default();
    for r in baseline_items(store).await? {
        match baseline_fate(&r.stored.item, &r.dates()) {
            BaselineFate::Close => out.to_close += 1,
            BaselineFate::Keep => out.kept += 1,
            BaselineFate::Untouched => continue,
        }
        out.awaiting += 1;
    }
    Ok(out)
}

/// Accepts the baseline as `actor`: closes each of its items that is
/// history (`changedesk_core::triage::accept_baseline`), each saved as its
/// own change in the decision log; an item changed meanwhile is skipped.
pub async fn accept_baseline(
    store: &Store,
    actor: &changedesk_core::triage::Actor,
    now: Timestamp,
) -> Result<BaselineAccepted, TriageError> {
    use changedesk_core::triage::{BaselineFate, accept_baseline, baseline_fate};
    let mut out = BaselineAccepted::default();
    for r in baseline_items(store).await? {
        let dates = r.dates();
        if baseline_fate(&r.stored.item, &dates) == BaselineFate::Keep {
            out.kept += 1;
            continue;
        }
        let mut item = r.stored.item.clone();
        let Some(entries) = accept_baseline(&mut item, &dates, actor, now) else {
            continue;
        };
        if save_if_unchanged(store, &r, &item, &entries, &[], now).await? {
            out.closed.push(item.message_id.clone());
        } else {
            out.skipped += 1;
        }
    }
    Ok(out)
}

/// Saves `item` (changed from `r`'s by `entries`), with `events`, unless
/// someone saved the item since `r` was read: then it is theirs, and this
/// says `false`.
async fn save_if_unchanged(
    store: &Store,
    r: &changedesk_store::ItemRow,
    item: &WorkItem,
    entries: &[LogEntry],
    events: &[Event],
    now: Timestamp,
) -> Result<bool, TriageError> {
    let save = ItemSave {
        item,
        expected_version: Some(r.stored.version),
        evaluated_revision: None,
        entries,
        notify: &[],
        events,
        at: now,
    };
    match store.save_work_item(&save).await {
        Ok(_) => Ok(true),
        // someone is working on it right now: leave it to them
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Whether no person has worked on an item yet: still `new`, with no
/// assignee and no due date. Re-routing such an item overwrites nobody.
pub fn untouched(item: &WorkItem) -> bool {
    item.state == changedesk_core::triage::State::New
        && item.assignee.is_none()
        && item.due.is_none()
}

/// Routes again every item nobody has touched (see [`untouched`]): after
/// owners, ownership or rules were added, items the rules could not assign
/// before get their owner, priority and due date. Returns how many items
/// changed.
pub async fn retriage_untouched(
    store: &Store,
    triage: &Triage,
    now: Timestamp,
) -> Result<usize, TriageError> {
    let mut changed = 0;
    let mut pages = CandidateReads::start(store, false).await?;
    while let Some(page) = pages.next().await? {
        let mut decided = Vec::new();
        for c in &page {
            let Some(stored) = &c.stored else { continue };
            if !untouched(&stored.item) {
                continue;
            }
            match triage.decide_with(c, now, true) {
                Some(d) if !d.1.is_empty() => decided.push((stored.version, d)),
                _ => {}
            }
        }
        let saves: Vec<ItemSave> = decided
            .iter()
            .map(|(version, (item, entries, notify))| ItemSave {
                item,
                expected_version: Some(*version),
                evaluated_revision: None,
                entries,
                notify,
                events: &[],
                at: now,
            })
            .collect();
        for saved in store.save_work_items(&saves, &[]).await? {
            match saved {
                Ok(_) => changed += 1,
                // someone is working on it right now: leave it to them
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(changed)
}

/// A post as the rules see it, from its detail (with whichever tenants the
/// detail holds) and its work item: the fields changed in the revisions the
/// rules have not seen yet come from the revisions' change summaries.
pub fn candidate_of(
    d: changedesk_store::PostDetail,
    stored: Option<changedesk_store::StoredItem>,
) -> changedesk_store::Candidate {
    let seen = stored.as_ref().map_or(0, |s| s.evaluated_revision);
    let mut changed = changedesk_core::diff::ChangedSince::default();
    for r in d.revisions.iter().filter(|r| seen > 0 && r.revision > seen) {
        for c in &r.changes {
            changed.add(c);
        }
    }
    changedesk_store::Candidate {
        content: d.content,
        revision: d.summary.revision,
        first_seen: d.summary.first_seen,
        // an explanation (`rules test`): no events come of it
        baseline: false,
        body_text: d.body_text,
        links: d
            .tenants
            .into_iter()
            .map(|t| changedesk_store::CandidateLink {
                tenant: t.name,
                details: std::sync::Arc::new(t.details),
                first_seen: t.first_seen,
                visible: t.visible,
            })
            .collect(),
        stored,
        changed_fields: changed.fields,
        date_moves: changed.date_moves,
    }
}
