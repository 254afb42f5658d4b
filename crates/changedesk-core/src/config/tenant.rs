//! One Microsoft 365 tenant changedesk reads from: its app registration,
//! its credential and its cloud.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use secrecy::SecretString;
use url::Url;

use super::error::ValueError;
use crate::timestamp::Timestamp;

/// A tenant as configured. `C` is the credential: [`Credential`] once loaded
/// (secret files read), [`CredentialSpec`] from [`super::check`], which reads
/// no files.
///
/// `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct TenantConfig<C = Credential> {
    /// Short unique name used by the CLI and the API.
    pub name: String,
    /// The directory GUID or a verified domain (`contoso.onmicrosoft.com`).
    pub tenant_id: String,
    /// The application (client) GUID of the app registration.
    pub client_id: String,
    pub credential: C,
    pub cloud: Cloud,
    /// Overrides the cloud's login host (simulator, proxy, tests).
    /// Always ends with `/`.
    pub login_url: Option<Url>,
    /// Overrides the cloud's Graph host. Always ends with `/`.
    pub graph_url: Option<Url>,
    /// When the client secret (or certificate) expires (`secret_expires`).
    pub secret_expires: Option<Timestamp>,
}

impl<C> TenantConfig<C> {
    /// The login (token) host in effect: `login_url` or the cloud's. Ends with
    /// `/`, so `Url::join` with a relative path keeps any base path.
    pub fn login_base(&self) -> Url {
        login_base(self.cloud, self.login_url.as_ref())
    }

    /// The Graph root in effect: `graph_url` or the cloud's. Ends with `/`.
    pub fn graph_base(&self) -> Url {
        graph_base(self.cloud, self.graph_url.as_ref())
    }

    /// The client-credentials scope: the Graph root followed by `/.default`,
    /// e.g. `https://graph.microsoft.com/.default`.
    pub fn graph_scope(&self) -> String {
        graph_scope(&self.graph_base())
    }

    /// The OAuth 2.0 token endpoint:
    /// `{login base}/{tenant_id}/oauth2/v2.0/token`.
    pub fn token_endpoint(&self) -> String {
        let base = self.login_base();
        format!(
            "{}/{}/oauth2/v2.0/token",
            base.as_str().trim_end_matches('/'),
            self.tenant_id
        )
    }

    /// The tenant name as it appears in environment variable names
    /// (`CHANGEDESK_TENANTS__<NAME>__<FIELD>`): upper case, `-` as `_`.
    pub fn env_name(&self) -> String {
        env_name(&self.name)
    }

    /// Whole days until `secret_expires` (negative once it has passed) when
    /// it is at most `days` days after `now`; `None` otherwise, or without
    /// an expiry.
    pub fn expires_within(&self, now: Timestamp, days: i64) -> Option<i64> {
        days_left(self.secret_expires, now, days)
    }

    /// The same tenant with its credential converted.
    pub fn map_credential<D>(self, f: impl FnOnce(C) -> D) -> TenantConfig<D> {
        TenantConfig {
            name: self.name,
            tenant_id: self.tenant_id,
            client_id: self.client_id,
            credential: f(self.credential),
            cloud: self.cloud,
            login_url: self.login_url,
            graph_url: self.graph_url,
            secret_expires: self.secret_expires,
        }
    }
}

/// `login_url` or the cloud's login host (shared by tenants and `[app]`).
pub(super) fn login_base(cloud: Cloud, login_url: Option<&Url>) -> Url {
    login_url
        .cloned()
        .unwrap_or_else(|| builtin_url(cloud.login_host()))
}

/// `graph_url` or the cloud's Graph root.
pub(super) fn graph_base(cloud: Cloud, graph_url: Option<&Url>) -> Url {
    graph_url
        .cloned()
        .unwrap_or_else(|| builtin_url(cloud.graph_host()))
}

/// The Graph root followed by `/.default`.
pub(super) fn graph_scope(graph_base: &Url) -> String {
    format!("{}/.default", graph_base.as_str().trim_end_matches('/'))
}

/// Whole days from `now` to `expires` (rounded down) when `expires` is at
/// most `days` days away (or past).
/// Whole days from `now` until `expires` (negative once past) when it is at
/// most `days` days away; `None` otherwise, or without an expiry.
pub fn days_left(expires: Option<Timestamp>, now: Timestamp, days: i64) -> Option<i64> {
    const DAY: i64 = 86_400;
    let left = expires?.unix_seconds().saturating_sub(now.unix_seconds());
    (left <= days.saturating_mul(DAY)).then(|| left.div_euclid(DAY))
}

/// How the app registration proves who it is, after loading.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A client secret (from `client_secret`, or read from
    /// `client_secret_file` at load time).
    Secret(SecretString),
    /// A certificate and its private key, both PEM files. The files are read
    /// by whoever builds the client assertion, not by the configuration.
    Certificate {
        certificate_file: PathBuf,
        private_key_file: PathBuf,
    },
}

impl Credential {
    /// `"client secret"` or `"certificate"`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Secret(_) => "client secret",
            Credential::Certificate { .. } => "certificate",
        }
    }
}

/// A credential as written, before secret files are read (the result of
/// [`super::check`]).
#[derive(Debug, Clone)]
pub enum CredentialSpec {
    Secret(SecretString),
    /// `client_secret_file`: the secret is the file's content.
    SecretFile(PathBuf),
    Certificate {
        certificate_file: PathBuf,
        private_key_file: PathBuf,
    },
}

impl CredentialSpec {
    /// `"client secret"`, `"client secret file"` or `"certificate"`.
    pub fn kind(&self) -> &'static str {
        match self {
            CredentialSpec::Secret(_) => "client secret",
            CredentialSpec::SecretFile(_) => "client secret file",
            CredentialSpec::Certificate { .. } => "certificate",
        }
    }
}

/// The Microsoft cloud a tenant lives in; it picks the login and Graph
/// hosts. Parsed case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    /// The worldwide cloud.
    #[default]
    Global,
    /// US Government Community Cloud (moderate): worldwide endpoints.
    Gcc,
    /// US Government L4.
    GccHigh,
    /// US Government L5 (DoD).
    Dod,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 5] = [
        Cloud::Global,
        Cloud::Gcc,
        Cloud::GccHigh,
        Cloud::Dod,
        Cloud::China,
    ];

    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Gcc => "gcc",
            Cloud::GccHigh => "gcchigh",
            Cloud::Dod => "dod",
            Cloud::China => "china",
        }
    }

    /// The Entra ID login host (token endpoint host).
    pub fn login_host(self) -> &'static str {
        match self {
            Cloud::Global | Cloud::Gcc => "https://login.microsoftonline.com",
            Cloud::GccHigh | Cloud::Dod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The Microsoft Graph root.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Global | Cloud::Gcc => "https://graph.microsoft.com",
            Cloud::GccHigh => "https://graph.microsoft.us",
            Cloud::Dod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

impl FromStr for Cloud {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                ValueError(format!(
                    "unknown cloud {:?} (expected global, gcc, gcchigh, dod or china)",
                    s.chars().take(64).collect::<String>()
                ))
            })
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn builtin_url(s: &str) -> Url {
    // the built-in hosts are constant, valid URLs
    Url::parse(s).expect("built-in cloud URL is valid")
}

pub(super) fn env_name(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// A tenant name: 1-64 characters, lowercase ASCII letters, digits, `-` and
/// `_`, starting with a letter or digit.
pub(super) fn validate_name(name: &str) -> Result<(), ValueError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ValueError(format!(
            "invalid tenant name {:?}: use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
            name.chars().take(80).collect::<String>()
        )))
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hexadecimal, either case.
pub(super) fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A DNS name of at least two labels: letters, digits and `-` (not at either
/// end of a label), labels of 1-63 characters, 253 characters at most.
pub(super) fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()))
}

pub(super) fn validate_tenant_id(s: &str) -> Result<(), ValueError> {
    if is_guid(s) || is_domain(s) {
        Ok(())
    } else {
        // the value is not echoed: a misplaced secret must not reach a log
        Err(ValueError(
            "not a directory GUID or domain name: expected e.g. contoso.onmicrosoft.com or 00000000-0000-0000-0000-000000000000".into(),
        ))
    }
}

pub(super) fn validate_client_id(s: &str) -> Result<(), ValueError> {
    if is_guid(s) {
        Ok(())
    } else {
        // the value is not echoed: a client secret pasted here must not reach a log
        Err(ValueError(
            "not a GUID: expected the application (client) ID, like 00000000-0000-0000-0000-000000000000".into(),
        ))
    }
}

/// An `http://` or `https://` base URL with a host and no credentials,
/// query or fragment. The result's path ends with `/`. The message does not
/// echo the URL (it could hold credentials).
pub(super) fn parse_base_url(s: &str) -> Result<Url, ValueError> {
    let mut url = Url::parse(s.trim()).map_err(|e| {
        ValueError(format!(
            "not a valid URL ({e}): expected http(s)://HOST[:PORT][/PATH]"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ValueError(format!(
            "unsupported URL scheme `{}`: expected http:// or https://",
            url.scheme()
        )));
    }
    if !url.has_host() {
        return Err(ValueError("the URL has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValueError(
            "the URL must not contain a user name or password".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ValueError(
            "the URL must not have a query (`?…`) or fragment (`#…`)".into(),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A path given for a credential file: checked for form only (nothing is
/// read).
pub(super) fn validate_path(s: &str) -> Result<PathBuf, ValueError> {
    if s.is_empty() {
        Err(ValueError("the path is empty".into()))
    } else if s.trim() != s {
        Err(ValueError("the path starts or ends with whitespace".into()))
    } else if s.contains('\0') {
        Err(ValueError("the path contains a NUL character".into()))
    } else {
        Ok(PathBuf::from(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(cloud: Cloud) -> TenantConfig<()> {
        TenantConfig {
            name: "contoso".into(),
            tenant_id: "contoso.onmicrosoft.com".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            credential: (),
            cloud,
            login_url: None,
            graph_url: None,
            secret_expires: None,
        }
    }

    #[test]
    fn expiry_window() {
        let at = |s: &str| Timestamp::parse(s).expect("valid");
        let mut t = tenant(Cloud::Global);
        let now = at("2027-06-01T12:00:00Z");
        assert_eq!(t.expires_within(now, 30), None);
        t.secret_expires = Some(at("2027-06-30"));
        assert_eq!(t.expires_within(now, 30), Some(28));
        assert_eq!(t.expires_within(now, 28), None);
        assert_eq!(t.expires_within(at("2027-06-29T23:00:00Z"), 0), None);
        assert_eq!(t.expires_within(at("2027-06-29T23:00:00Z"), 1), Some(0));
        assert_eq!(t.expires_within(at("2027-06-30T01:00:00Z"), 0), Some(-1));
        assert_eq!(t.expires_within(at("2027-07-10T00:00:00Z"), i64::MIN), None);
        assert_eq!(t.expires_within(now, i64::MAX), Some(28));
    }

    #[test]
    fn cloud_hosts_and_scopes() {
        let cases = [
            (
                Cloud::Global,
                "https://login.microsoftonline.com/",
                "https://graph.microsoft.com/.default",
            ),
            (
                Cloud::Gcc,
                "https://login.microsoftonline.com/",
                "https://graph.microsoft.com/.default",
            ),
            (
                Cloud::GccHigh,
                "https://login.microsoftonline.us/",
                "https://graph.microsoft.us/.default",
            ),
            (
                Cloud::Dod,
                "https://login.microsoftonline.us/",
                "https://dod-graph.microsoft.us/.default",
            ),
            (
                Cloud::China,
                "https://login.chinacloudapi.cn/",
                "https://microsoftgraph.chinacloudapi.cn/.default",
            ),
        ];
        for (cloud, login, scope) in cases {
            let t = tenant(cloud);
            assert_eq!(t.login_base().as_str(), login, "{cloud}");
            assert_eq!(t.graph_scope(), scope, "{cloud}");
            assert_eq!(
                t.graph_base().as_str().trim_end_matches('/'),
                cloud.graph_host()
            );
        }
        assert_eq!(
            tenant(Cloud::Global).token_endpoint(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
    }

    #[test]
    fn overrides_replace_cloud_hosts() {
        let mut t = tenant(Cloud::China);
        t.login_url = Some(parse_base_url("http://127.0.0.1:8080/login").expect("valid"));
        t.graph_url = Some(parse_base_url("http://127.0.0.1:8080/graph/").expect("valid"));
        assert_eq!(t.login_base().as_str(), "http://127.0.0.1:8080/login/");
        assert_eq!(t.graph_base().as_str(), "http://127.0.0.1:8080/graph/");
        assert_eq!(t.graph_scope(), "http://127.0.0.1:8080/graph/.default");
        assert_eq!(
            t.token_endpoint(),
            "http://127.0.0.1:8080/login/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        // a URL set directly, without the trailing slash parsing adds
        t.login_url = Some(Url::parse("http://127.0.0.1:8080/login").expect("valid"));
        assert_eq!(
            t.token_endpoint(),
            "http://127.0.0.1:8080/login/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            t.graph_base()
                .join("v1.0/admin/serviceAnnouncement/messages")
                .expect("joins")
                .as_str(),
            "http://127.0.0.1:8080/graph/v1.0/admin/serviceAnnouncement/messages"
        );
    }

    #[test]
    fn cloud_parses_case_insensitively() {
        assert_eq!("GCCHigh".parse::<Cloud>(), Ok(Cloud::GccHigh));
        assert_eq!("china".parse::<Cloud>(), Ok(Cloud::China));
        for c in Cloud::ALL {
            assert_eq!(c.as_str().parse::<Cloud>(), Ok(c));
        }
        assert_eq!(
            "azure".parse::<Cloud>().map_err(|e| e.0),
            Err(r#"unknown cloud "azure" (expected global, gcc, gcchigh, dod or china)"#.into())
        );
    }

    #[test]
    fn names() {
        for ok in ["contoso", "a", "0day", "fab-rikam_2", &"a".repeat(64)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Contoso",
            "-x",
            "_x",
            "con toso",
            "contoso.com",
            "é",
            &"a".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert_eq!(env_name("fab-rikam_2"), "FAB_RIKAM_2");
    }

    #[test]
    fn guids_and_domains() {
        assert!(is_guid("11111111-2222-3333-4444-555555555555"));
        assert!(is_guid("ABCDEF01-abcd-ef01-2345-6789abcdef01"));
        assert!(!is_guid("11111111-2222-3333-4444-55555555555"));
        assert!(!is_guid("11111111222233334444555555555555"));
        assert!(!is_guid("g1111111-2222-3333-4444-555555555555"));
        assert!(validate_tenant_id("contoso.onmicrosoft.com").is_ok());
        assert!(validate_tenant_id("contoso.partner.onmschina.cn").is_ok());
        assert!(validate_tenant_id("11111111-2222-3333-4444-555555555555").is_ok());
        for bad in [
            "contoso",
            "common",
            "-a.com",
            "a..com",
            "a.com.",
            "https://a.com",
            "1.2.3.4",
        ] {
            assert!(validate_tenant_id(bad).is_err(), "{bad}");
        }
        assert!(validate_client_id("contoso.onmicrosoft.com").is_err());
    }

    #[test]
    fn base_urls() {
        assert!(parse_base_url("https://graph.example").is_ok());
        for bad in [
            "ftp://graph.example",
            "graph.example",
            "https://u:p@graph.example",
            "https://graph.example/?a=b",
            "https://graph.example/#x",
            "",
        ] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
        let e = parse_base_url("https://user:hunter2@graph.example").expect_err("rejected");
        assert!(!e.0.contains("hunter2"));
    }
}
