//! `changedesk baseline`: what the first syncs found in Message Center,
//! awaiting triage, and accepting it in one action (the server's
//! `GET /api/v1/baseline` and `POST /api/v1/baseline/accept`).

use std::process::ExitCode;

use anyhow::Result;
use changedesk_store::OpenMode;

use crate::app::{self, App};
use crate::cli::{BaselineCommand, Format};
use crate::commands::setup::person;
use crate::output;

pub async fn run(app: &App, cmd: BaselineCommand) -> Result<ExitCode> {
    match cmd {
        BaselineCommand::Show { format } => {
            output::not_csv(format)?;
            let store = app.store(OpenMode::ReadOnly).await?;
            let summary = changedesk_server::triage::baseline(&store).await;
            store.close().await;
            let summary = summary?;
            if format == Format::Table {
                println!(
                    "{} baseline item{} awaiting triage: {} history (accepting closes them), {} with a deadline after changedesk first saw the post (kept)",
                    summary.awaiting,
                    if summary.awaiting == 1 { "" } else { "s" },
                    summary.to_close,
                    summary.kept
                );
                if summary.to_close > 0 {
                    println!("accept with `changedesk baseline accept --as USER`");
                }
            } else {
                output::print_one(&summary)?;
            }
        }
        BaselineCommand::Accept { who, format } => {
            // refused before anything is accepted
            output::not_csv(format)?;
            let actor = person(&who)?;
            let now = app::now()?;
            let store = app.store_existing().await?;
            let done = changedesk_server::triage::accept_baseline(&store, &actor, now).await;
            store.close().await;
            let done = done?;
            if format == Format::Table {
                println!(
                    "closed {} baseline item{} as no_action_needed (label `baseline`); kept {} with a deadline for triage{}",
                    done.closed.len(),
                    if done.closed.len() == 1 { "" } else { "s" },
                    done.kept,
                    if done.skipped > 0 {
                        format!("; {} changed meanwhile, left alone", done.skipped)
                    } else {
                        String::new()
                    }
                );
            } else {
                output::print_one(&done)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
