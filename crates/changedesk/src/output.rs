//! Printing: tables for people, JSON for programs.

use std::io::Write;

use anyhow::Result;
use changedesk_core::Timestamp;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

use crate::cli::Format;

/// Writes text to standard output (or error) with its control characters
/// escaped (newlines and tabs kept): what `println!` and friends do in this
/// crate (see main.rs). A closed pipe ends the process quietly (SIGPIPE).
pub fn emit(to_stderr: bool, args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let safe = changedesk_core::text::escape_controls(&text, true);
    let _ = if to_stderr {
        std::io::stderr().lock().write_all(safe.as_bytes())
    } else {
        std::io::stdout().lock().write_all(safe.as_bytes())
    };
}

pub fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.iter().copied());
    if let Some((w, _)) = terminal_width() {
        t.set_width(w);
    }
    t
}

fn terminal_width() -> Option<(u16, u16)> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .map(|w| (w, 0))
}

/// Prints rows as a JSON array (`json`) or one object per line (`jsonl`).
pub fn print_json<T: Serialize>(rows: &[T], format: Format) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Jsonl => {
            for r in rows {
                serde_json::to_writer(&mut out, r)?;
                out.write_all(b"\n")?;
            }
        }
        _ => {
            serde_json::to_writer_pretty(&mut out, rows)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// Prints one value as pretty JSON.
pub fn print_one<T: Serialize>(value: &T) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

pub fn date(t: &Option<Timestamp>) -> String {
    t.map(|t| t.date()).unwrap_or_else(|| "—".to_string())
}

pub fn when(t: &Option<Timestamp>) -> String {
    t.map(|t| t.human()).unwrap_or_else(|| "—".to_string())
}

pub fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Cuts a string to `max` characters, with an ellipsis.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
