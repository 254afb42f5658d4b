//! `changedesk tasks …`: work items, one per post. `list` and `show` read;
//! every other subcommand is a change by a person (`--as USER`), applied
//! through the core's transition table and saved with the version it was
//! read at, so a concurrent change is refused rather than overwritten.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use changedesk_core::Timestamp;
use changedesk_core::triage::{
    Action, Actor, DeadlineKind, DeadlineStatus, Decision, PostDates, Priority, State,
    TenantOverride, WorkItem, deadline_status, find_group, transition, transition_for_tenants,
};
use changedesk_store::{
    ItemFilter, ItemSave, LoggedEntry, OpenMode, Store, StoreError, StoredItem,
};
use serde::Serialize;

use crate::app::{self, App};
use crate::cli::{
    AsUser, ForTenants, Format, LabelCommand, OverrideArgs, TaskIds, TasksCommand, TasksListArgs,
};
use crate::commands::setup::{self, Setup, person, post_id};
use crate::output::{self, clip, date};
use changedesk_server::export;

pub async fn run(app: &App, cmd: TasksCommand) -> Result<ExitCode> {
    use TasksCommand as T;
    match cmd {
        T::List(args) => list(app, &args).await,
        T::Show { ids, format } => show(app, &ids, format).await,
        T::Assign {
            args,
            none,
            who,
            for_tenants,
        } => {
            let (ids, owner) = if none {
                (args, None)
            } else {
                let (ids, owner) = split_last(args, "owner", "assign MC… OWNER (or --none)")?;
                (ids, Some(owner.trim().to_ascii_lowercase()))
            };
            act(app, &ids, &who, Change::Assign(owner), &for_tenants).await
        }
        T::Triage(TaskIds {
            ids,
            who,
            for_tenants,
        }) => act(app, &ids, &who, Change::Triage, &for_tenants).await,
        T::Dismiss { items, reason } => {
            act(
                app,
                &items.ids,
                &items.who,
                Change::Dismiss(reason),
                &items.for_tenants,
            )
            .await
        }
        T::Start(TaskIds {
            ids,
            who,
            for_tenants,
        }) => act(app, &ids, &who, Change::Start, &for_tenants).await,
        T::Close {
            items,
            decision,
            reason,
        } => {
            let decision: Decision = decision.parse().map_err(|e| anyhow!("--decision: {e}"))?;
            act(
                app,
                &items.ids,
                &items.who,
                Change::Close(decision, reason),
                &items.for_tenants,
            )
            .await
        }
        T::RaiseChange {
            id,
            connector,
            tenant,
            group,
            who,
        } => raise_change(app, &id, &connector, tenant, group, &who).await,
        T::Tickets { id, format } => tickets(app, &id, format).await,
        T::FollowTickets { limit, format } => follow_tickets(app, limit, format).await,
        T::Comment {
            items,
            text,
            tenant,
        } => {
            let tenant = tenant
                .map(|t| {
                    let t = t.trim().to_ascii_lowercase();
                    changedesk_store::validate_tenant_name(&t).map(|()| t)
                })
                .transpose()?;
            act(
                app,
                &items.ids,
                &items.who,
                Change::Comment { text, tenant },
                &items.for_tenants,
            )
            .await
        }
        T::Reopen { items, reason } => {
            act(
                app,
                &items.ids,
                &items.who,
                Change::Reopen(reason),
                &items.for_tenants,
            )
            .await
        }
        T::Ack(TaskIds {
            ids,
            who,
            for_tenants,
        }) => act(app, &ids, &who, Change::Ack, &for_tenants).await,
        T::Feedback {
            items,
            kind,
            reference,
        } => {
            let kind: changedesk_core::triage::FeedbackKind = kind
                .trim()
                .replace('-', "_")
                .parse()
                .map_err(|e| anyhow!("--kind: {e}"))?;
            act(
                app,
                &items.ids,
                &items.who,
                Change::Feedback(kind, reference),
                &items.for_tenants,
            )
            .await
        }
        T::Priority { args, who } => {
            let (ids, p) = split_last(args, "priority", "priority MC… low|normal|high|critical")?;
            let p: Priority = p.parse().map_err(|e| anyhow!("{e}"))?;
            act(app, &ids, &who, Change::Priority(p), &ForTenants::default()).await
        }
        T::Due {
            args,
            none,
            who,
            for_tenants,
        } => {
            let (ids, due) = if none {
                (args, None)
            } else {
                let (ids, d) = split_last(args, "date", "due MC… DATE (or --none)")?;
                (ids, Some(parse_date("the due date", &d)?))
            };
            act(app, &ids, &who, Change::Due(due), &for_tenants).await
        }
        T::Label(LabelCommand::Add { args, who }) => {
            let (ids, label) = split_last(args, "label", "label add MC… LABEL")?;
            act(
                app,
                &ids,
                &who,
                Change::Label { add: true, label },
                &ForTenants::default(),
            )
            .await
        }
        T::Label(LabelCommand::Remove { args, who }) => {
            let (ids, label) = split_last(args, "label", "label remove MC… LABEL")?;
            act(
                app,
                &ids,
                &who,
                Change::Label { add: false, label },
                &ForTenants::default(),
            )
            .await
        }
        T::Override(args) => {
            let change = override_change(&args)?;
            act(app, &args.ids, &args.who, change, &ForTenants::default()).await
        }
    }
}

/// `2026-12-01` or an RFC 3339 instant.
pub fn parse_date(what: &str, s: &str) -> Result<Timestamp> {
    Timestamp::parse(s).map_err(|_| {
        anyhow!(
            "{what} `{}` is not a date (expected 2026-12-01 or 2026-12-01T09:00:00Z)",
            clip(s.trim(), 40)
        )
    })
}

fn looks_like_post_id(s: &str) -> bool {
    let t = s.trim();
    match (t.get(..2), t.get(2..)) {
        (Some(head), Some(digits)) => {
            head.eq_ignore_ascii_case("mc")
                && !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// `MC1 MC2 VALUE` → (`[MC1, MC2]`, `VALUE`).
fn split_last(mut args: Vec<String>, what: &str, usage: &str) -> Result<(Vec<String>, String)> {
    if args.len() < 2 {
        bail!("give the post ids, then the {what}: `changedesk tasks {usage}`");
    }
    let last = args.pop().unwrap_or_default();
    if looks_like_post_id(&last) {
        bail!(
            "`{last}` looks like a post id: give the {what} after the ids (`changedesk tasks {usage}`)"
        );
    }
    Ok((args, last))
}

/// What a person asked for, checked before anything is loaded.
#[derive(Debug, Clone)]
enum Change {
    Assign(Option<String>),
    Triage,
    Dismiss(String),
    Start,
    Close(Decision, Option<String>),
    Comment {
        text: String,
        tenant: Option<String>,
    },
    Reopen(String),
    Ack,
    Feedback(changedesk_core::triage::FeedbackKind, Option<String>),
    Priority(Priority),
    Due(Option<Timestamp>),
    Label {
        add: bool,
        label: String,
    },
    /// `None`: keep the override's value; `Some(v)`: set it to `v`.
    Override {
        tenant: String,
        applicable: Option<Option<bool>>,
        assignee: Option<Option<String>>,
        due: Option<Option<Timestamp>>,
        note: Option<Option<String>>,
    },
}

fn override_change(args: &OverrideArgs) -> Result<Change> {
    let tenant = args.tenant.trim().to_ascii_lowercase();
    changedesk_store::validate_tenant_name(&tenant)?;
    let none = |s: &str| s.trim().eq_ignore_ascii_case("none");
    if args.clear {
        return Ok(Change::Override {
            tenant,
            applicable: Some(None),
            assignee: Some(None),
            due: Some(None),
            note: Some(None),
        });
    }
    let change = Change::Override {
        tenant,
        applicable: if args.not_applicable {
            Some(Some(false))
        } else if args.applicable {
            Some(None)
        } else {
            None
        },
        assignee: args.assignee.as_deref().map(|a| {
            if none(a) {
                None
            } else {
                Some(a.trim().to_ascii_lowercase())
            }
        }),
        due: args
            .due
            .as_deref()
            .map(|d| {
                if none(d) {
                    Ok(None)
                } else {
                    parse_date("--due", d).map(Some)
                }
            })
            .transpose()?,
        note: args
            .note
            .as_deref()
            .map(|n| Some(n.trim().to_string()).filter(|n| !n.is_empty())),
    };
    if let Change::Override {
        applicable: None,
        assignee: None,
        due: None,
        note: None,
        ..
    } = &change
    {
        bail!(
            "nothing to override: give --not-applicable, --applicable, --assignee, --due, --note or --clear"
        );
    }
    Ok(change)
}

impl Change {
    /// Checks what needs the archive: assignees are known owners.
    fn check(&self, s: &Setup) -> Result<()> {
        let owner = match self {
            Change::Assign(Some(o)) => Some(o),
            Change::Override {
                assignee: Some(Some(o)),
                ..
            } => Some(o),
            _ => None,
        };
        if let Some(o) = owner {
            s.owner(o)?;
        }
        Ok(())
    }

    /// The core action for `item` (an override is merged with the tenant's
    /// current one).
    fn action(&self, item: &WorkItem) -> Action {
        match self.clone() {
            Change::Assign(owner) => Action::Assign { owner },
            Change::Triage => Action::Triage,
            Change::Dismiss(reason) => Action::Dismiss { reason },
            Change::Start => Action::Start,
            Change::Close(decision, reason) => Action::Close { decision, reason },
            Change::Comment { text, .. } => Action::Comment { text },
            Change::Reopen(reason) => Action::Reopen { reason },
            Change::Ack => Action::Acknowledge,
            Change::Feedback(kind, reference) => Action::RecordFeedback { kind, reference },
            Change::Priority(priority) => Action::SetPriority { priority },
            Change::Due(due) => Action::SetDue { due },
            Change::Label { add: true, label } => Action::AddLabel { label },
            Change::Label { add: false, label } => Action::RemoveLabel { label },
            Change::Override {
                tenant,
                applicable,
                assignee,
                due,
                note,
            } => {
                let current = item
                    .override_for(&tenant)
                    .cloned()
                    .unwrap_or_else(|| TenantOverride::empty(&tenant));
                Action::SetOverride {
                    tenant,
                    applicable: applicable.unwrap_or(current.applicable),
                    assignee: assignee.unwrap_or(current.assignee),
                    due: due.unwrap_or(current.due),
                    note: note.unwrap_or(current.note),
                }
            }
        }
    }
}

/// `in progress — assignee collab, priority high, due 2026-10-01`.
fn item_summary(item: &WorkItem) -> String {
    let mut parts = vec![
        format!(
            "assignee {}",
            item.assignee.as_deref().unwrap_or("(nobody)")
        ),
        format!("priority {}", item.priority),
    ];
    if let Some(d) = item.due {
        parts.push(format!("due {}", d.date()));
    }
    if let Some(d) = item.decision {
        parts.push(format!("decision {d}"));
    }
    if !item.labels.is_empty() {
        parts.push(format!(
            "labels {}",
            item.labels.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    format!("{} — {}", item.state.label(), parts.join(", "))
}

/// Loads a post's work item, or says why there is none.
async fn load_item(store: &Store, id: &str) -> Result<StoredItem> {
    if let Some(stored) = store.work_item(id).await? {
        return Ok(stored);
    }
    match store.get_message(id).await {
        Ok(_) => bail!("{id} has no work item yet; run `changedesk rules apply`"),
        Err(StoreError::NotFound(_)) => bail!("post {id} not found in the archive"),
        Err(e) => Err(e.into()),
    }
}

async fn act(
    app: &App,
    ids: &[String],
    who: &AsUser,
    change: Change,
    for_tenants: &ForTenants,
) -> Result<ExitCode> {
    let actor = person(who)?;
    let now = app::now()?;
    let store = app.store_existing().await?;
    let r = async {
        let s = setup::setup(app, &store).await?;
        change.check(&s)?;
        if let Change::Override { tenant, .. }
        | Change::Comment {
            tenant: Some(tenant),
            ..
        } = &change
        {
            app.check_tenant(&store, Some(tenant)).await?;
        }
        let mut failed = 0usize;
        for id in ids {
            let id = post_id(id);
            match act_one(&store, &id, &change, &actor, now, for_tenants).await {
                Ok(lines) => {
                    for l in lines {
                        println!("{l}");
                    }
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {e}");
                    for cause in e.chain().skip(1) {
                        eprintln!("  caused by: {cause}");
                    }
                }
            }
        }
        Ok(if failed > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }
    .await;
    store.close().await;
    r
}

/// The tenants `for_tenants` names for post `id`: each must see it now; a
/// group's are those of its tenants that do.
async fn tenants_for(store: &Store, id: &str, for_tenants: &ForTenants) -> Result<Vec<String>> {
    let seeing = store.post_tenant_names(id).await?;
    if let Some(g) = &for_tenants.for_group {
        let groups = store.groups().await?;
        let group = find_group(&groups, g).ok_or_else(|| {
            anyhow!(
                "no tenant group is named `{}` (groups: {})",
                clip(g.trim(), 40),
                groups
                    .iter()
                    .map(|g| g.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let members: Vec<String> = seeing.into_iter().filter(|t| group.contains(t)).collect();
        if members.is_empty() {
            bail!("no tenant of group `{}` sees {id}", group.name);
        }
        return Ok(members);
    }
    let mut out = Vec::new();
    for t in &for_tenants.tenants {
        let t = t.trim().to_ascii_lowercase();
        if !seeing.contains(&t) {
            bail!("tenant `{}` does not see {id}", clip(&t, 40));
        }
        out.push(t);
    }
    Ok(out)
}

async fn act_one(
    store: &Store,
    id: &str,
    change: &Change,
    actor: &Actor,
    now: Timestamp,
    for_tenants: &ForTenants,
) -> Result<Vec<String>> {
    let stored = load_item(store, id).await?;
    let action = change.action(&stored.item);
    let mut notes = Vec::new();
    let t = if for_tenants.is_all() {
        transition(&stored.item, action, actor, now).map_err(|e| anyhow!("{e}"))?
    } else {
        let tenants = tenants_for(store, id, for_tenants).await?;
        let t = transition_for_tenants(&stored.item, action, &tenants, actor, now)
            .map_err(|e| anyhow!("{e}"))?;
        for (tenant, why) in &t.skipped {
            notes.push(format!("  {tenant}: left as it was ({why})"));
        }
        t.transition
    };
    let entries: Vec<_> = match change {
        Change::Comment {
            tenant: Some(tenant),
            ..
        } => t
            .entries
            .into_iter()
            .map(|e| e.for_tenant(tenant))
            .collect(),
        _ => t.entries,
    };
    if entries.is_empty() {
        return Ok(vec![format!(
            "{id}: nothing to change ({})",
            item_summary(&stored.item)
        )]);
    }
    let save = ItemSave {
        item: &t.item,
        expected_version: Some(stored.version),
        evaluated_revision: None,
        entries: &entries,
        notify: &[],
        events: &[],
        at: now,
    };
    match store.save_work_item(&save).await {
        Ok(_) => {}
        Err(StoreError::Conflict(m)) => bail!("{m}"),
        Err(e) => return Err(e).with_context(|| format!("cannot save {id}")),
    }
    let mut lines = vec![format!("{id}: {}", item_summary(&t.item))];
    lines.extend(entries.iter().map(|e| format!("  {}", e.describe())));
    lines.extend(notes);
    Ok(lines)
}

/// The states `--state` names: a state, `open` or `closed`.
fn parse_states(given: &[String]) -> Result<Vec<State>> {
    let mut out: Vec<State> = Vec::new();
    for s in given.iter().flat_map(|s| s.split(',')) {
        let add: Vec<State> = match s.trim().to_ascii_lowercase().as_str() {
            "open" => vec![State::New, State::Triaged, State::InProgress],
            "closed" => vec![State::Done, State::Dismissed],
            other => vec![
                other
                    .parse()
                    .map_err(|e| anyhow!("--state: {e}, or open / closed"))?,
            ],
        };
        for st in add {
            if !out.contains(&st) {
                out.push(st);
            }
        }
    }
    Ok(out)
}

/// One line of `tasks list`.
#[derive(Serialize)]
struct TaskLine {
    id: String,
    title: String,
    services: Vec<String>,
    state: State,
    priority: Priority,
    assignee: Option<String>,
    due: Option<Timestamp>,
    act_by: Option<Timestamp>,
    deadline: DeadlineStatus,
    deadline_text: String,
    changed_since_triage: Vec<String>,
    labels: Vec<String>,
    /// With --tenant: whether the post applies to that tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    applicable: Option<bool>,
    version: i64,
}

async fn list(app: &App, args: &TasksListArgs) -> Result<ExitCode> {
    let states = parse_states(&args.states)?;
    let tenant = args
        .tenant
        .as_deref()
        .map(|t| t.trim().to_ascii_lowercase());
    if let Some(t) = &tenant {
        changedesk_store::validate_tenant_name(t)?;
    }
    let post_filter = args.overdue || args.missed;
    let filter = ItemFilter {
        states,
        assignee: args
            .assignee
            .as_deref()
            .map(|a| a.trim().to_ascii_lowercase()),
        tenant: tenant.clone(),
        changed: args.changed.then_some(true),
        due_before: None,
        baseline: None,
        limit: if post_filter {
            None
        } else {
            args.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX))
        },
        ..Default::default()
    };
    let now = app::now()?;
    let store = app.store(OpenMode::ReadOnly).await?;
    if let Err(e) = app.check_tenant(&store, tenant.as_deref()).await {
        store.close().await;
        return Err(e);
    }
    let rows = match store.work_items(&filter).await {
        Ok(rows) if args.format == Format::Csv => {
            let r = tasks_csv(&store, rows, args, tenant.as_deref(), now).await;
            store.close().await;
            return r;
        }
        r => r,
    };
    store.close().await;
    let mut lines: Vec<TaskLine> = Vec::new();
    for r in rows? {
        let (item, applicable) = in_force(&r, tenant.as_deref());
        if !late(args, &item, &r, now) {
            continue;
        }
        let deadline = deadline_status(&item, &r.dates(), now);
        lines.push(TaskLine {
            id: item.message_id.clone(),
            title: r.title,
            services: r.services,
            state: item.state,
            priority: item.priority,
            assignee: item.assignee.clone(),
            due: item.due,
            act_by: r.act_by,
            deadline_text: deadline.to_string(),
            deadline,
            changed_since_triage: item.changed_since_triage.clone(),
            labels: item.labels.iter().cloned().collect(),
            applicable,
            version: r.stored.version,
        });
        if let Some(l) = args.limit
            && lines.len() >= l
        {
            break;
        }
    }
    if args.format != Format::Table {
        output::print_json(&lines, args.format)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = output::table(&[
        "ID", "State", "Priority", "Assignee", "Due", "Act by", "Deadline", "Changed", "Title",
    ]);
    for l in &lines {
        let mut title = clip(&l.title, 60);
        if l.applicable == Some(false) {
            title.push_str(" (not applicable)");
        }
        t.add_row(vec![
            l.id.clone(),
            l.state.label().to_string(),
            l.priority.to_string(),
            l.assignee.clone().unwrap_or_else(|| "—".to_string()),
            date(&l.due),
            date(&l.act_by),
            l.deadline_text.clone(),
            if l.changed_since_triage.is_empty() {
                "—".to_string()
            } else {
                format!("yes: {}", l.changed_since_triage.join(", "))
            },
            title,
        ]);
    }
    if !lines.is_empty() {
        println!("{t}");
    }
    println!(
        "{} item{}",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// `tasks list --format csv`: the items `list` would show, a row each, with
/// their decisions and the reasons given (from the decision log), every
/// tenant that sees the post named.
async fn tasks_csv(
    store: &Store,
    rows: Vec<changedesk_store::ItemRow>,
    args: &TasksListArgs,
    tenant: Option<&str>,
    now: Timestamp,
) -> Result<ExitCode> {
    let mut kept = Vec::new();
    for r in rows {
        let (item, applicable) = in_force(&r, tenant);
        if late(args, &item, &r, now) {
            kept.push((r, item, applicable));
            if args.limit.is_some_and(|l| kept.len() >= l) {
                break;
            }
        }
    }
    let reasons =
        export::decision_reasons(store, kept.iter().map(|(r, _, _)| &r.stored.item), tenant)
            .await?;
    let records = kept.iter().map(|(r, item, applicable)| {
        export::item_record(
            r,
            item,
            &export::ItemContext {
                tenant,
                applicable: *applicable,
                tenants: export::list(&r.tenants),
                reason: reasons.get(&item.message_id).map(String::as_str),
                now,
            },
        )
    });
    output::print_csv(export::ITEM_HEADERS, records)?;
    Ok(ExitCode::SUCCESS)
}

/// What is in force of `r`'s item for `tenant` (the item's own without),
/// and with a tenant whether the post applies to it: not applicable there,
/// it stands as dismissed (as the filter on states reads it).
fn in_force(r: &changedesk_store::ItemRow, tenant: Option<&str>) -> (WorkItem, Option<bool>) {
    match tenant {
        None => (r.stored.item.clone(), None),
        Some(t) => {
            let mut item = r.stored.item.for_tenant(t);
            let applicable = r.stored.item.applies_to(t);
            if !applicable {
                item.state = State::Dismissed;
            }
            (item, Some(applicable))
        }
    }
}

/// Whether `list` keeps `item` (as in force): any item without
/// `--overdue` or `--missed`, else one late in a way asked.
fn late(
    args: &TasksListArgs,
    item: &WorkItem,
    r: &changedesk_store::ItemRow,
    now: Timestamp,
) -> bool {
    if !args.overdue && !args.missed {
        return true;
    }
    let kind = deadline_status(item, &r.dates(), now).kind();
    (args.overdue && kind == DeadlineKind::Overdue) || (args.missed && kind == DeadlineKind::Missed)
}

/// One work item with its post and log, as `tasks show --format json` writes it.
#[derive(Serialize)]
struct Shown {
    id: String,
    title: String,
    services: Vec<String>,
    category: String,
    severity: String,
    act_by: Option<Timestamp>,
    tenants: Vec<String>,
    deadline: DeadlineStatus,
    #[serde(flatten)]
    stored: StoredItem,
    log: Vec<LoggedEntry>,
}

async fn show(app: &App, ids: &[String], format: Format) -> Result<ExitCode> {
    output::not_csv(format)?;
    let now = app::now()?;
    let store = app.store(OpenMode::ReadOnly).await?;
    let r = async {
        let mut out = Vec::new();
        for id in ids {
            let id = post_id(id);
            let stored = load_item(&store, &id).await?;
            let post = store.get_message(&id).await?;
            let log = store.work_item_log(&id).await?;
            let dates = PostDates {
                act_by: post.content.act_by,
                start: post.summary.rollout_start.or(post.content.start),
                first_seen: post.summary.first_seen,
            };
            out.push(Shown {
                deadline: deadline_status(&stored.item, &dates, now),
                id,
                title: post.content.title.clone(),
                services: post.content.services.clone(),
                category: post.content.category.as_str().to_string(),
                severity: post.content.severity.as_str().to_string(),
                act_by: post.content.act_by,
                tenants: post
                    .tenants
                    .iter()
                    .filter(|t| t.visible)
                    .map(|t| t.name.clone())
                    .collect(),
                stored,
                log,
            });
        }
        Ok::<_, anyhow::Error>(out)
    }
    .await;
    store.close().await;
    let shown = r?;
    if format != Format::Table {
        if let [one] = shown.as_slice() {
            output::print_one(one)?;
        } else {
            output::print_json(&shown, format)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    for (i, s) in shown.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print_shown(s);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_shown(s: &Shown) {
    let item = &s.stored.item;
    let when = |t: Option<Timestamp>| t.map(|t| t.human());
    println!("{}  {}", s.id, s.title);
    println!(
        "State: {}{}   Priority: {}   Assignee: {}   Due: {}",
        item.state.label(),
        item.decision.map(|d| format!(" ({d})")).unwrap_or_default(),
        item.priority,
        item.assignee.as_deref().unwrap_or("(nobody)"),
        date(&item.due)
    );
    println!(
        "Act by: {}   Deadline: {}   Services: {}   Category: {}   Severity: {}",
        date(&s.act_by),
        s.deadline,
        s.services.join(", "),
        s.category,
        s.severity
    );
    println!(
        "Labels: {}   Change request: {}   Communication: {}",
        if item.labels.is_empty() {
            "—".to_string()
        } else {
            item.labels.iter().cloned().collect::<Vec<_>>().join(", ")
        },
        output::yes_no(item.requires_change_request),
        output::yes_no(item.requires_communication)
    );
    if let Some(r) = &item.dismiss_reason {
        println!("Dismissed because: {r}");
    }
    if item.is_flagged() {
        println!(
            "Changed since triage: {}   (acknowledge with `changedesk tasks ack {} --as USER`)",
            item.changed_since_triage.join(", "),
            s.id
        );
    }
    let mut times = vec![format!("Created {}", item.created_at.human())];
    for (label, t) in [
        ("triaged", when(item.first_triaged_at)),
        ("started", when(item.started_at)),
        ("closed", when(item.closed_at)),
    ] {
        if let Some(t) = t {
            times.push(format!("{label} {t}"));
        }
    }
    if item.reopened_count > 0 {
        times.push(format!(
            "reopened {} time{}",
            item.reopened_count,
            if item.reopened_count == 1 { "" } else { "s" }
        ));
    }
    println!("{}", times.join("   "));
    println!(
        "Tenants that see it: {}",
        if s.tenants.is_empty() {
            "(none)".to_string()
        } else {
            s.tenants.join(", ")
        }
    );
    if !item.overrides.is_empty() {
        println!("\nExceptions (every other tenant follows the shared state):");
        let mut t = output::table(&["Tenant", "Applies", "Own state", "Assignee", "Due", "Note"]);
        for o in &item.overrides {
            t.add_row(vec![
                o.tenant.clone(),
                match o.applicable {
                    Some(false) => "no".to_string(),
                    _ => "yes".to_string(),
                },
                match (o.state, o.decision) {
                    (Some(s), Some(d)) => format!("{} ({d})", s.label()),
                    (Some(s), None) => s.label().to_string(),
                    (None, _) => "—".to_string(),
                },
                o.assignee.clone().unwrap_or_else(|| "—".to_string()),
                date(&o.due),
                o.note.clone().unwrap_or_else(|| "—".to_string()),
            ]);
        }
        println!("{t}");
    }
    println!("\nLog:");
    if s.log.is_empty() {
        println!("  (empty)");
    }
    for e in &s.log {
        println!("  {}", e.entry.describe());
    }
}

/// `tasks raise-change`: the request recorded as a person's (the CLI has
/// every tenant: its user is the archive's administrator).
async fn raise_change(
    app: &App,
    id: &str,
    connector: &str,
    tenant: Option<String>,
    group: Option<String>,
    who: &AsUser,
) -> Result<ExitCode> {
    use changedesk_core::change_control::TicketScope;
    let actor = person(who)?;
    let id = post_id(id);
    let store = app.store_existing().await?;
    let r = async {
        let seeing = store.post_tenant_names(&id).await?;
        let (scope, tenants) = match (tenant, group) {
            (Some(t), _) => {
                let t = t.trim().to_ascii_lowercase();
                if !seeing.contains(&t) {
                    bail!("tenant `{t}` does not see {id}");
                }
                (TicketScope::Tenant(t.clone()), vec![t])
            }
            (None, Some(g)) => {
                let groups = store.groups().await?;
                let group = changedesk_core::triage::find_group(&groups, &g)
                    .ok_or_else(|| anyhow!("there is no tenant group `{}`", clip(&g, 60)))?;
                let members: Vec<String> = seeing
                    .iter()
                    .filter(|t| group.contains(t))
                    .cloned()
                    .collect();
                if members.is_empty() {
                    bail!("no tenant of group `{}` sees {id}", group.name);
                }
                (TicketScope::Group(group.name.clone()), members)
            }
            (None, None) => (TicketScope::All, seeing),
        };
        changedesk_server::changes::request_change(
            &store,
            &id,
            connector,
            scope,
            tenants,
            &actor,
            None,
            app::now()?,
        )
        .await
        .map_err(|e| anyhow!("{}", e.detail))
    }
    .await;
    store.close().await;
    let requested = r?;
    println!(
        "asked {} to raise a ticket for {id} ({}; its id there: {}); the outbox delivers it \
         (`changedesk serve`, or `changedesk notify deliver` now); `changedesk tasks tickets {id}` lists it",
        requested.connector,
        requested.scope.as_text(),
        requested.correlation_id
    );
    Ok(ExitCode::SUCCESS)
}

/// `tasks tickets`.
async fn tickets(app: &App, id: &str, format: Format) -> Result<ExitCode> {
    let id = post_id(id);
    let store = app.store_existing().await?;
    let r = store.tickets_of_post(&id).await;
    store.close().await;
    let tickets = r?;
    match format {
        Format::Table => {
            if tickets.is_empty() {
                println!("no ticket has been raised for {id}");
            }
            for t in &tickets {
                println!(
                    "{}  {}  {} ({})  for {}  {}{}",
                    t.connector,
                    t.number,
                    t.state,
                    t.progress.as_str(),
                    t.scope,
                    t.url,
                    t.read_error
                        .as_deref()
                        .map(|e| format!("  (last read failed: {e})"))
                        .unwrap_or_default()
                );
            }
        }
        other => output::print_list(
            &tickets,
            other,
            &[
                "post_id",
                "connector",
                "kind",
                "scope",
                "number",
                "state",
                "progress",
                "url",
                "correlation_id",
                "external_id",
                "created_at",
                "updated_at",
                "checked_at",
                "read_error",
                "close_asked",
            ],
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `tasks follow-tickets`.
async fn follow_tickets(app: &App, limit: i64, format: Format) -> Result<ExitCode> {
    output::not_csv(format)?;
    let store = app.store_existing().await?;
    let r = async {
        let outbox = crate::commands::notify::outbox(app, &store)?;
        Ok::<_, anyhow::Error>(outbox.follow_tickets(app::now()?, limit).await?)
    }
    .await;
    store.close().await;
    let s = r?;
    match format {
        Format::Table => println!(
            "{} note{} of revised posts and {} close{} of tickets whose items closed here asked of connectors (the \
             outbox delivers them: `notify deliver` or `serve`); read {} ticket{} back: {} moved, {} item{} changed, {} \
             read{} failed, {} changed here meanwhile (read again next time)",
            s.noted,
            if s.noted == 1 { "" } else { "s" },
            s.closes,
            if s.closes == 1 { "" } else { "s" },
            s.read,
            if s.read == 1 { "" } else { "s" },
            s.moved,
            s.items_changed,
            if s.items_changed == 1 { "" } else { "s" },
            s.failed,
            if s.failed == 1 { "" } else { "s" },
            s.conflicts
        ),
        _ => output::print_one(&s)?,
    }
    Ok(ExitCode::SUCCESS)
}
