//! Onboarding tenants in bulk: a CSV list of customer tenants read into the
//! tenants to add (short name, directory, display name); and a tenant's
//! [`Health`], told from its last sync.
//!
//! The list may be written by hand (`name,tenant_id,display_name`) or be an
//! export of a partner portal: column names are matched ignoring case, spaces
//! and punctuation, and several spellings are known (`Microsoft ID`,
//! `Customer tenant ID`, `Company name`, `Primary domain name`, …). Where
//! there is no name column, a name is made from the display name or the
//! domain. Every problem is reported with its line; a list with a problem
//! adds nothing.

use std::fmt;

/// The most rows a list may have.
pub const MAX_ROWS: usize = 10_000;

/// The most problems reported (the count says how many more).
const MAX_PROBLEMS: usize = 50;

/// One tenant of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantLine {
    /// The line of the list it came from (1 is the header).
    pub line: u64,
    pub name: String,
    /// The directory GUID or domain, in lower case.
    pub directory_id: String,
    pub display_name: Option<String>,
}

/// A problem of the list, at a line (0: the list as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    pub line: u64,
    pub message: String,
}

/// Why a list was refused: every problem found, by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvErrors {
    pub problems: Vec<CsvProblem>,
    /// Problems beyond those listed.
    pub more: usize,
}

impl fmt::Display for CsvErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            if p.line == 0 {
                write!(f, "{}", p.message)?;
            } else {
                write!(f, "line {}: {}", p.line, p.message)?;
            }
        }
        if self.more > 0 {
            write!(f, "\n… and {} more problems", self.more)?;
        }
        Ok(())
    }
}

impl std::error::Error for CsvErrors {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Directory,
    Domain,
    Display,
}

/// Column names, normalised (lower case, letters and digits only), by what
/// they hold; earlier spellings win when a list has several.
const SPELLINGS: &[(Column, &[&str])] = &[
    (
        Column::Name,
        &[
            "name",
            "tenant",
            "tenantname",
            "shortname",
            "changedeskname",
        ],
    ),
    (
        Column::Directory,
        &[
            "tenantid",
            "directoryid",
            "directory",
            "microsoftid",
            "customertenantid",
            "customerid",
            "aadtenantid",
            "entratenantid",
        ],
    ),
    (
        Column::Domain,
        &[
            "domain",
            "primarydomain",
            "primarydomainname",
            "defaultdomain",
            "defaultdomainname",
            "domainname",
        ],
    ),
    (
        Column::Display,
        &[
            "displayname",
            "companyname",
            "customername",
            "customer",
            "organization",
            "organisation",
            "company",
        ],
    ),
];

fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Which column index holds what.
#[derive(Default)]
struct Layout {
    name: Option<usize>,
    directory: Option<usize>,
    domain: Option<usize>,
    display: Option<usize>,
}

fn layout(headers: &csv::StringRecord) -> Layout {
    let names: Vec<String> = headers.iter().map(normalise).collect();
    let find = |col: Column| {
        SPELLINGS
            .iter()
            .filter(|(c, _)| *c == col)
            .flat_map(|(_, spellings)| spellings.iter())
            .find_map(|s| names.iter().position(|n| n == s))
    };
    Layout {
        name: find(Column::Name),
        directory: find(Column::Directory),
        domain: find(Column::Domain),
        display: find(Column::Display),
    }
}

/// A short name made from a display name or a domain: lower-case letters
/// and digits, other runs as one `-`, at most 64 characters.
pub fn derive_name(from: &str) -> Option<String> {
    let mut out = String::new();
    let mut dash = false;
    for c in from.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
        if out.chars().count() >= 64 {
            break;
        }
    }
    let out: String = out.chars().take(64).collect();
    let out = out.trim_end_matches('-').to_owned();
    (!out.is_empty()).then_some(out)
}

/// Reads a list of tenants. The first line names the columns; a column of
/// directory ids (or of domains) is required; names are made where missing.
/// Commas or, when the header has none, semicolons separate fields; a UTF-8
/// byte-order mark is ignored; blank lines are skipped.
pub fn parse_tenant_csv(text: &str) -> Result<Vec<TenantLine>, CsvErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    let delimiter = if !first.contains(',') && first.contains(';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let whole = |message: String| CsvErrors {
        problems: vec![CsvProblem { line: 0, message }],
        more: 0,
    };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(whole(format!(
                "cannot read the header line: {}",
                csv_error(&e)
            )));
        }
    };
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(whole(
            "the list is empty: its first line names the columns, e.g. name,tenant_id,display_name"
                .to_owned(),
        ));
    }
    let cols = layout(&headers);
    if cols.directory.is_none() && cols.domain.is_none() {
        return Err(whole(format!(
            "no column of directory ids: name one tenant_id (a GUID or a domain) or domain (found: {})",
            headers
                .iter()
                .map(|h| format!("`{}`", crate::text::clip_chars(h.trim(), 40)))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }

    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut more = 0usize;
    let mut problem = |line: u64, message: String| {
        if problems.len() < MAX_PROBLEMS {
            problems.push(CsvProblem { line, message });
        } else {
            more += 1;
        }
    };
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_of(text, p));
                problem(line, csv_error(&e));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_of(text, p));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if lines.len() >= MAX_ROWS {
            problem(
                line,
                format!("more than {MAX_ROWS} tenants: split the list"),
            );
            break;
        }
        let field = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let guid = field(cols.directory);
        let domain = field(cols.domain);
        let directory = match (guid, domain) {
            (Some(g), _) => g,
            (None, Some(d)) => d,
            (None, None) => {
                problem(line, "no directory id (a GUID or a domain)".to_owned());
                continue;
            }
        };
        if !crate::config::is_directory_id(directory) {
            problem(
                line,
                format!(
                    "`{}` is not a directory GUID or a domain name",
                    crate::text::clip_chars(directory, 60)
                ),
            );
            continue;
        }
        let display = field(cols.display).map(str::to_owned);
        if let Some(d) = &display
            && d.chars().any(char::is_control)
        {
            problem(line, "the display name has control characters".to_owned());
            continue;
        }
        let name = match field(cols.name) {
            Some(n) => {
                let n = n.to_ascii_lowercase();
                if let Err(e) = crate::config::check_tenant_name(&n) {
                    problem(line, e.0);
                    continue;
                }
                n
            }
            None => {
                // the domain's first label (`contoso` of contoso.onmicrosoft.com),
                // else the display name
                let domain = domain.or((!crate::config::is_guid(directory)).then_some(directory));
                let made = domain
                    .and_then(|d| d.split('.').next())
                    .and_then(derive_name)
                    .or_else(|| display.as_deref().and_then(derive_name));
                match made {
                    Some(n) => n,
                    None => {
                        problem(
                            line,
                            "no name, and none can be made from a display name or a domain: add a name column".to_owned(),
                        );
                        continue;
                    }
                }
            }
        };
        lines.push(TenantLine {
            line,
            name,
            directory_id: directory.to_ascii_lowercase(),
            display_name: display,
        });
    }
    // the same name or directory twice
    let mut by_name = std::collections::HashMap::new();
    let mut by_directory = std::collections::HashMap::new();
    for l in &lines {
        if let Some(first) = by_name.insert(l.name.as_str(), l.line) {
            problem(
                l.line,
                format!("the name `{}` is on line {first} too", l.name),
            );
        }
        if let Some(first) = by_directory.insert(l.directory_id.as_str(), l.line) {
            problem(
                l.line,
                format!("the directory {} is on line {first} too", l.directory_id),
            );
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(CsvErrors { problems, more });
    }
    if lines.is_empty() {
        return Err(whole("the list has no tenants, only its header".to_owned()));
    }
    Ok(lines)
}

/// The line (from 1) a record starts on: the reader's own count skips
/// blank lines, and its position is where the blank lines before the record
/// begin.
fn line_of(text: &str, at: &csv::Position) -> u64 {
    let bytes = text.as_bytes();
    let at = usize::try_from(at.byte()).map_or(bytes.len(), |b| b.min(bytes.len()));
    let (before, after) = bytes.split_at(at);
    let newlines = |b: &[u8]| b.iter().filter(|c| **c == b'\n').count() as u64;
    let blank = after
        .iter()
        .take_while(|c| matches!(c, b'\n' | b'\r'))
        .filter(|c| **c == b'\n')
        .count() as u64;
    1 + newlines(before) + blank
}

/// A CSV reader's error without the data it read.
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
        csv::ErrorKind::UnequalLengths { .. } => "a different number of fields".to_owned(),
        csv::ErrorKind::Io(_) => "cannot be read".to_owned(),
        _ => "not CSV".to_owned(),
    }
}

/// Where a tenant's syncs stand, told from its last outcome: what an MSP
/// looks for across hundreds of tenants (consent withdrawn, a secret
/// rotated, a customer gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not synced yet.
    NeverSynced,
    /// The last sync succeeded.
    Ok,
    /// The app is no longer in the tenant, or lacks a permission (Graph's
    /// 403, AADSTS700016, AADSTS65001): an administrator of the tenant must
    /// consent again.
    ConsentLost,
    /// The app's secret or certificate was refused (AADSTS7000215,
    /// AADSTS7000222, `invalid_client`).
    CredentialRejected,
    /// The tenant does not exist any more (AADSTS90002).
    TenantNotFound,
    /// Another failure (throttling, outages, …): the next syncs retry.
    Failing,
}

impl Health {
    /// The health of a tenant last synced (`synced`) with `error`.
    pub fn of(synced: bool, error: Option<&str>) -> Health {
        let Some(e) = error else {
            return if synced {
                Health::Ok
            } else {
                Health::NeverSynced
            };
        };
        let has = |codes: &[&str]| codes.iter().any(|c| e.contains(c));
        if has(&["AADSTS90002"]) {
            Health::TenantNotFound
        } else if has(&[
            "AADSTS7000215",
            "AADSTS7000222",
            "AADSTS700027",
            "invalid_client",
        ]) {
            Health::CredentialRejected
        } else if has(&[
            "AADSTS700016",
            "AADSTS65001",
            "Authorization_RequestDenied",
            "HTTP 403",
        ]) {
            Health::ConsentLost
        } else {
            Health::Failing
        }
    }

    /// `never_synced`, `ok`, `consent_lost`, `credential_rejected`,
    /// `tenant_not_found` or `failing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::NeverSynced => "never_synced",
            Health::Ok => "ok",
            Health::ConsentLost => "consent_lost",
            Health::CredentialRejected => "credential_rejected",
            Health::TenantNotFound => "tenant_not_found",
            Health::Failing => "failing",
        }
    }

    /// What to do about it, for people.
    pub fn advice(self) -> Option<&'static str> {
        match self {
            Health::NeverSynced | Health::Ok | Health::Failing => None,
            Health::ConsentLost => Some(
                "no consent (never given, or withdrawn) or a permission missing: an administrator of the tenant must consent (make a consent link)",
            ),
            Health::CredentialRejected => Some(
                "the app's secret or certificate was refused: set the current one in the configuration",
            ),
            Health::TenantNotFound => Some(
                "the tenant no longer exists: remove it (`changedesk tenants remove`) if the customer left",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G1: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    const G2: &str = "7C9E6679-7425-40DE-944B-E07FC1F90AE7";

    #[test]
    fn a_hand_written_list() {
        let text = format!(
            "name,tenant_id,display_name\ncontoso,{G1},Contoso Ltd\n\nfabrikam,fabrikam.onmicrosoft.com,\n"
        );
        let lines = parse_tenant_csv(&text).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].name, "contoso");
        assert_eq!(lines[0].directory_id, G1);
        assert_eq!(lines[0].display_name.as_deref(), Some("Contoso Ltd"));
        assert_eq!(lines[0].line, 2);
        assert_eq!(lines[1].directory_id, "fabrikam.onmicrosoft.com");
        assert_eq!(lines[1].display_name, None);
        assert_eq!(lines[1].line, 4);
    }

    #[test]
    fn a_partner_export_gets_names_made() {
        let text = format!(
            "\u{feff}Company name;Microsoft ID;Primary domain name\n\"Tailspin Toys, Inc.\";{G2};tailspin.onmicrosoft.com\nÉcole Privée;;ecole.onmicrosoft.com\n"
        );
        // semicolons: the header has no comma; names from the domains
        let lines = parse_tenant_csv(&text).unwrap();
        assert_eq!(lines[0].name, "tailspin");
        assert_eq!(lines[0].directory_id, G2.to_ascii_lowercase());
        assert_eq!(
            lines[0].display_name.as_deref(),
            Some("Tailspin Toys, Inc.")
        );
        // no GUID: the domain is the directory
        assert_eq!(lines[1].name, "ecole");
        assert_eq!(lines[1].directory_id, "ecole.onmicrosoft.com");
        // no domain: the name from the display name
        let lines =
            parse_tenant_csv(&format!("Customer name,Tenant ID\nFourth Coffee,{G1}\n")).unwrap();
        assert_eq!(lines[0].name, "fourth-coffee");
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = format!(
            "name,tenant_id\nContoso!,{G1}\nfab,not a domain\nok,{G1}\nok,contoso.com\n,\n\u{1}x,y.com\n"
        );
        let e = parse_tenant_csv(&text).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("line 2: invalid tenant name"), "{shown}");
        assert!(
            shown.contains("line 3: `not a domain` is not a directory"),
            "{shown}"
        );
        assert!(
            shown.contains("line 5: the name `ok` is on line 4 too"),
            "{shown}"
        );
        assert!(shown.contains("line 7: invalid tenant name"), "{shown}");
        // blank fields are a blank line, skipped
        assert!(!shown.contains("line 6"), "{shown}");
    }

    #[test]
    fn a_directory_twice_and_lists_without_tenants() {
        let e = parse_tenant_csv(&format!(
            "name,tenant_id\na,{G1}\nb,{}\n",
            G1.to_uppercase()
        ))
        .unwrap_err();
        assert!(e.to_string().contains("line 3: the directory"), "{e}");
        let e = parse_tenant_csv("name,display_name\na,b\n").unwrap_err();
        assert!(
            e.to_string().starts_with("no column of directory ids"),
            "{e}"
        );
        assert!(parse_tenant_csv("").is_err());
        assert!(parse_tenant_csv("name,tenant_id\n").is_err());
        assert!(parse_tenant_csv("name,tenant_id\n\"unterminated,x\n").is_err());
    }

    #[test]
    fn names_are_made_within_the_rules() {
        assert_eq!(derive_name("  Contoso  Ltd. "), Some("contoso-ltd".into()));
        assert_eq!(derive_name("---"), None);
        assert_eq!(derive_name("日本"), None);
        let long = "a".repeat(100);
        assert_eq!(derive_name(&long).map(|n| n.len()), Some(64));
        let made = derive_name(&"ab ".repeat(40)).unwrap();
        assert!(crate::config::check_tenant_name(&made).is_ok(), "{made}");
    }

    #[test]
    fn health_is_told_from_microsoft_s_codes() {
        assert_eq!(Health::of(false, None), Health::NeverSynced);
        assert_eq!(Health::of(true, None), Health::Ok);
        let e = |s: &str| Health::of(true, Some(s));
        assert_eq!(
            e(
                "tenant a: token request refused: HTTP 400 unauthorized_client: AADSTS700016: Application with identifier"
            ),
            Health::ConsentLost
        );
        assert_eq!(
            e(
                "tenant a: read issues refused: HTTP 403 Authorization_RequestDenied: Insufficient privileges"
            ),
            Health::ConsentLost
        );
        assert_eq!(
            e(
                "tenant a: token request refused: HTTP 401 invalid_client: AADSTS7000215: Invalid client secret"
            ),
            Health::CredentialRejected
        );
        assert_eq!(
            e("HTTP 400 invalid_request: AADSTS90002: Tenant 'x' not found"),
            Health::TenantNotFound
        );
        assert_eq!(
            e("gave up after 5 attempts; last: HTTP 503"),
            Health::Failing
        );
        assert!(
            Health::ConsentLost
                .advice()
                .unwrap()
                .contains("must consent")
        );
        assert_eq!(Health::Failing.advice(), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,400}") {
            let _ = parse_tenant_csv(&text);
        }

        #[test]
        fn made_names_are_valid(s in "\\PC{0,100}") {
            if let Some(n) = derive_name(&s) {
                proptest::prop_assert!(crate::config::check_tenant_name(&n).is_ok(), "{}", n);
            }
        }
    }
}
