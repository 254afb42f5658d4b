//! `changedesk timeline extract FILE`: each post's rollout timeline, read
//! from its body by `changedesk_core::timeline`, as JSON lines.

use std::process::ExitCode;

use anyhow::Result;
use changedesk_core::Timestamp;
use changedesk_core::graph::{Message, listing_document, listing_items};
use changedesk_core::timeline::{self, Timeline};
use serde::Serialize;

use crate::cli::TimelineCommand;

/// One line of output.
#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    #[serde(flatten)]
    timeline: Timeline,
}

pub fn run(cmd: &TimelineCommand) -> Result<ExitCode> {
    let TimelineCommand::Extract { file } = cmd;
    let (source, bytes) = super::import::read_input(file)?;
    let doc = listing_document(&bytes).map_err(|e| anyhow::anyhow!("{source} {e}"))?;
    let items = listing_items(&doc).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    let today = Timestamp::now_utc().as_datetime().date();
    let mut rejected = 0usize;
    for (index, item) in items.iter().enumerate() {
        let message = match Message::from_graph(item, index) {
            Ok(m) => m,
            Err(e) => {
                rejected += 1;
                eprintln!("error: {source}: {e}");
                continue;
            }
        };
        let c = &message.content;
        let line = Line {
            id: &c.id,
            timeline: timeline::for_post(c, today),
        };
        println!("{}", serde_json::to_string(&line)?);
    }
    if rejected > 0 {
        eprintln!(
            "error: {rejected} of {} items could not be read",
            items.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
