//! `changedesk export messages|incidents`: the archive as JSON Lines (or one
//! JSON array), written atomically when --output names a file.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use changedesk_core::Timestamp;
use changedesk_store::{
    ExportedPost, IncidentDetail, IncidentFilter, OpenMode, RevisionInfo, Store, TenantLink,
};
use serde_json::{Value, json};

use crate::app::App;
use crate::cli::{ExportCommand, ExportFormat};

const PAGE: i64 = 500;

pub async fn run(app: &App, cmd: ExportCommand) -> Result<ExitCode> {
    let store = app.store(OpenMode::ReadOnly).await?;
    let (format, output) = match &cmd {
        ExportCommand::Messages { format, output }
        | ExportCommand::Incidents { format, output } => (*format, output.clone()),
    };
    let write = |out: &mut dyn Write| -> Result<usize> {
        // the async pages are fetched inside; see export_* below
        let _ = out;
        Ok(0)
    };
    let _ = write;
    let n = match output {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("cannot create a file in {}", dir.display()))?;
            let mut w = BufWriter::new(tmp);
            let n = export(&store, &cmd, format, &mut w).await?;
            let tmp = w.into_inner().map_err(|e| e.into_error())?;
            tmp.persist(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {n} records to {}", path.display());
            n
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            let n = export(&store, &cmd, format, &mut w).await?;
            w.flush()?;
            n
        }
    };
    let _ = n;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn export(
    store: &Store,
    cmd: &ExportCommand,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<usize> {
    let mut n = 0;
    if format == ExportFormat::Json {
        out.write_all(b"[")?;
    }
    let mut emit = |v: Value, out: &mut dyn Write| -> Result<()> {
        match format {
            ExportFormat::Jsonl => {
                serde_json::to_writer(&mut *out, &v)?;
                out.write_all(b"\n")?;
            }
            ExportFormat::Json => {
                if n > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(b"\n")?;
                serde_json::to_writer(&mut *out, &v)?;
            }
        }
        n += 1;
        Ok(())
    };
    match cmd {
        ExportCommand::Messages { .. } => {
            let mut after: Option<String> = None;
            loop {
                let page = store.export_messages_page(after.as_deref(), PAGE).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.summary.id.clone());
                for p in &page {
                    emit(post_record(p), out)?;
                }
            }
        }
        ExportCommand::Incidents { .. } => {
            let mut all = store.list_incidents(&IncidentFilter::default()).await?;
            all.sort_by(|a, b| a.id.cmp(&b.id));
            for i in &all {
                let d = store.get_incident(&i.id).await?;
                emit(incident_record(&d), out)?;
            }
        }
    }
    if format == ExportFormat::Json {
        out.write_all(b"\n]\n")?;
    }
    Ok(n)
}

fn t(v: &Option<Timestamp>) -> Value {
    v.map(|t| Value::String(t.to_canonical()))
        .unwrap_or(Value::Null)
}

fn tenants(links: &[TenantLink]) -> Vec<Value> {
    links
        .iter()
        .map(|l| {
            json!({
                "name": l.name,
                "visible": l.visible,
                "first_seen": l.first_seen,
                "last_seen": l.last_seen,
                "gone_at": t(&l.gone_at),
                "lastModifiedDateTime": t(&l.seen_last_modified),
                "details": l.details,
            })
        })
        .collect()
}

fn revisions(revs: &[RevisionInfo]) -> Vec<Value> {
    revs.iter()
        .map(|r| {
            json!({
                "revision": r.revision,
                "lastModifiedDateTime": t(&r.last_modified),
                "recorded_at": r.recorded_at,
                "tenant": r.tenant,
                "changes": r.changes,
            })
        })
        .collect()
}

/// One post: Graph's field names for Graph's fields, plus the archive's own.
fn post_record(p: &ExportedPost) -> Value {
    let c = &p.content;
    json!({
        "id": c.id,
        "title": c.title,
        "category": c.category.as_str(),
        "severity": c.severity.as_str(),
        "services": c.services,
        "tags": c.tags,
        "isMajorChange": c.is_major,
        "startDateTime": t(&c.start),
        "endDateTime": t(&c.end),
        "actionRequiredByDateTime": t(&c.act_by),
        "lastModifiedDateTime": t(&c.last_modified),
        "hasAttachments": c.has_attachments,
        "body": {"contentType": "html", "content": c.body_html},
        "state": p.summary.state.as_str(),
        "revision": p.summary.revision,
        "first_seen": p.summary.first_seen,
        "tenants": tenants(&p.tenants),
        "revisions": revisions(&p.revisions),
    })
}

fn incident_record(d: &IncidentDetail) -> Value {
    let c = &d.content;
    json!({
        "id": c.id,
        "title": c.title,
        "service": c.service,
        "feature": c.feature,
        "featureGroup": c.feature_group,
        "classification": c.classification.as_str(),
        "origin": c.origin.as_str(),
        "status": c.status.as_str(),
        "isResolved": c.is_resolved,
        "impactDescription": c.impact_description,
        "startDateTime": t(&c.start),
        "endDateTime": t(&c.end),
        "lastModifiedDateTime": t(&c.last_modified),
        "posts": d.posts.iter().map(|p| json!({
            "createdDateTime": t(&p.created),
            "postType": p.post_type,
            "description": {"contentType": "html", "content": p.description_html},
        })).collect::<Vec<_>>(),
        "state": d.summary.state.as_str(),
        "revision": d.summary.revision,
        "tenants": tenants(&d.tenants),
        "revisions": revisions(&d.revisions),
        "status_history": d.status_history,
    })
}
