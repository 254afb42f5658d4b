//! Printing: tables for people, JSON and CSV for programs.

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

/// Prints records as CSV (RFC 4180, through the server's export writer:
/// cells a spreadsheet would run as formulas are quoted as text): the
/// header, then a row each. Control characters of the cells are shown as
/// `\u{…}` (newlines and tabs kept, quoted), as everything this command
/// prints.
pub fn print_csv<R>(headers: &[&str], rows: R) -> Result<()>
where
    R: IntoIterator<Item = Vec<String>>,
{
    let safe = rows.into_iter().map(|row| {
        row.into_iter()
            .map(|c| changedesk_core::text::escape_controls(&c, true).into_owned())
            .collect::<Vec<_>>()
    });
    let bytes = changedesk_server::export::write(headers, safe)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(())
}

/// Prints a list of records as a JSON array, JSON lines or CSV: as CSV the
/// `columns` of each record's JSON object, in that order (a value absent
/// or null is an empty cell, an instant is written to the second, a list of
/// plain values joined with `; `, anything nested as compact JSON).
pub fn print_list<T: Serialize>(rows: &[T], format: Format, columns: &[&str]) -> Result<()> {
    if format != Format::Csv {
        return print_json(rows, format);
    }
    let mut records = Vec::with_capacity(rows.len());
    for r in rows {
        let v = serde_json::to_value(r)?;
        records.push(
            columns
                .iter()
                .map(|c| value_cell(v.get(*c)))
                .collect::<Vec<_>>(),
        );
    }
    print_csv(columns, records)
}

/// A JSON value as one CSV cell (see [`print_list`]).
fn value_cell(v: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => instant(s).unwrap_or_else(|| s.clone()),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(a)) if a.iter().all(|x| !x.is_array() && !x.is_object()) => a
            .iter()
            .map(|x| value_cell(Some(x)))
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
    }
}

/// An instant in the archive's canonical form (`2026-05-14T09:30:00.000000Z`,
/// as records serialise them) to the second; any other text is not one.
fn instant(s: &str) -> Option<String> {
    if s.len() != 27 || !s.ends_with('Z') {
        return None;
    }
    Timestamp::parse(s)
        .ok()
        .filter(|t| t.to_canonical() == s)
        .map(|t| changedesk_server::export::time(Some(t)))
}

/// Refuses CSV for a command that prints one document, not a list.
pub fn not_csv(format: Format) -> Result<()> {
    if format == Format::Csv {
        anyhow::bail!("{}", changedesk_server::export::NOT_A_LIST);
    }
    Ok(())
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
        // a list's CSV has its columns named: `print_list`
        Format::Csv => anyhow::bail!("{}", changedesk_server::export::NOT_A_LIST),
        Format::Table | Format::Json => {
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
