//! The `[oidc]` section: OpenID Connect sign-in with Entra ID (or another
//! provider that speaks OpenID Connect with PKCE), and how the claims of a
//! signed-in person map to a changedesk role and tenant scope.
//!
//! The keys are `issuer`, `client_id`, `client_secret_file`, `public_url`,
//! `allow_create`, `graph_url`, and the tables `[oidc.app_roles]` (app role value →
//! role), `[oidc.groups]` (group object id → role) and
//! `[oidc.group_scopes]` (group object id → tenants and tenant groups).
//! `CHANGEDESK_OIDC__<KEY>` overrides the plain keys (not the tables). The
//! client secret is only ever read from a file, like a tenant's
//! `client_secret_file`.
//!
//! `graph_url` is the Microsoft Graph base (with its version) where the
//! groups of a person in too many groups for a token are read ("groups
//! overage"); by default it follows the issuer's cloud.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::merge::{Origin, Reporter, Val};
use super::tenant::{is_guid, parse_base_url, validate_client_id, validate_path};
use crate::access::{Role, Scope};

/// The app role values mapped when `[oidc.app_roles]` is not given.
pub const DEFAULT_APP_ROLES: [(&str, Role); 6] = [
    ("changedesk.admin", Role::Admin),
    ("changedesk.change_manager", Role::ChangeManager),
    ("changedesk.owner", Role::Owner),
    ("changedesk.comms", Role::Comms),
    ("changedesk.reader", Role::Reader),
    ("changedesk.analytics_reader", Role::AnalyticsReader),
];

/// OpenID Connect sign-in, as configured. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer (authority), e.g.
    /// `https://login.microsoftonline.com/{tenant id}/v2.0`, without a
    /// trailing slash; discovery is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: Url,
    /// The application (client) id of the app registration.
    pub client_id: String,
    /// Where the client secret is read from.
    pub client_secret_file: PathBuf,
    /// The secret, once read ([`super::load`]); `None` from
    /// [`super::check`], which reads no file.
    pub client_secret: Option<SecretString>,
    /// changedesk's public base URL (ends with `/`); the redirect URI is
    /// below it.
    pub public_url: Url,
    /// Create the user at their first sign-in (else only users who signed
    /// in before may).
    pub allow_create: bool,
    /// App role value (the `roles` claim) → role, in file order.
    pub app_roles: Vec<(String, Role)>,
    /// Group object id (the `groups` claim, lower-case) → role.
    pub groups: Vec<(String, Role)>,
    /// Group object id (lower-case) → the tenants its members may see.
    /// Empty: the scope is not managed from the claims. Otherwise a person
    /// sees the union of their groups' scopes (an entry with no tenants
    /// and no groups: every tenant), and someone in none of these groups
    /// may not sign in.
    pub group_scopes: Vec<(String, Scope)>,
    /// The Microsoft Graph base, with its version and a trailing `/` (e.g.
    /// `https://graph.microsoft.com/v1.0/`), where the groups of someone in
    /// too many groups for a token are read (`me/getMemberObjects`): the
    /// `graph_url` key, else the one of the issuer's cloud
    /// (`default_graph_url`). `None`: neither (an issuer that is not a
    /// Microsoft cloud's), so such a person cannot be given a role by
    /// their groups.
    pub graph_url: Option<Url>,
}

/// The Microsoft Graph base of the cloud whose login host the issuer is
/// on: `login.microsoftonline.com` → `https://graph.microsoft.com/v1.0/`,
/// `login.microsoftonline.us` → `https://graph.microsoft.us/v1.0/` (US
/// Government L5 (DoD) uses `dod-graph.microsoft.us`: set `graph_url`),
/// `login.partner.microsoftonline.cn` and `login.chinacloudapi.cn` →
/// `https://microsoftgraph.chinacloudapi.cn/v1.0/`; `None` for any other
/// host.
fn default_graph_url(issuer: &Url) -> Option<Url> {
    if issuer.scheme() != "https" {
        return None;
    }
    let host = issuer.host_str()?.to_ascii_lowercase();
    let graph = match host.as_str() {
        "login.microsoftonline.com" => "https://graph.microsoft.com/v1.0/",
        "login.microsoftonline.us" => "https://graph.microsoft.us/v1.0/",
        "login.partner.microsoftonline.cn" | "login.chinacloudapi.cn" => {
            "https://microsoftgraph.chinacloudapi.cn/v1.0/"
        }
        _ => return None,
    };
    Url::parse(graph).ok()
}

impl OidcConfig {
    /// Whether groups give roles or tenant scopes (`[oidc.groups]` or
    /// `[oidc.group_scopes]` is not empty): then the groups of someone in
    /// too many groups for a token are read from Microsoft Graph.
    pub fn maps_groups(&self) -> bool {
        !self.groups.is_empty() || !self.group_scopes.is_empty()
    }

    /// The delegated Graph permission to ask for at sign-in, so that the
    /// groups can be read when they do not fit in the token: `User.Read`
    /// for `graph.microsoft.com`, else `{Graph origin}/User.Read` (e.g.
    /// `https://graph.microsoft.us/User.Read`). `None` when no group is
    /// mapped or no Graph URL is known.
    pub fn graph_scope(&self) -> Option<String> {
        if !self.maps_groups() {
            return None;
        }
        let graph = self.graph_url.as_ref()?;
        if graph.scheme() == "https"
            && graph
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case("graph.microsoft.com"))
            && graph.port().is_none()
        {
            Some("User.Read".to_owned())
        } else {
            Some(format!(
                "{}/User.Read",
                graph.origin().ascii_serialization()
            ))
        }
    }

    /// The scope of the authorization request: `openid profile email`,
    /// and [`Self::graph_scope`] when there is one.
    pub fn sign_in_scope(&self) -> String {
        match self.graph_scope() {
            Some(graph) => format!("openid profile email {graph}"),
            None => "openid profile email".to_owned(),
        }
    }

    /// The role the claims give: the highest role any app role value or
    /// group maps to, or `None`.
    pub fn role_for(&self, roles: &[String], groups: &[String]) -> Option<Role> {
        let from_roles = self
            .app_roles
            .iter()
            .filter(|(value, _)| roles.iter().any(|r| r == value))
            .map(|(_, role)| *role);
        let from_groups = self
            .groups
            .iter()
            .filter(|(id, _)| groups.iter().any(|g| g.eq_ignore_ascii_case(id)))
            .map(|(_, role)| *role);
        from_roles.chain(from_groups).max_by_key(|r| r.rank())
    }

    /// The scope the claims give when `group_scopes` is configured: `None`
    /// when it is not (the scope is left as it is), `Some(None)` when the
    /// person is in none of the groups (they may not sign in), else the
    /// union of their groups' scopes.
    pub fn scope_for(&self, groups: &[String]) -> Option<Option<Scope>> {
        if self.group_scopes.is_empty() {
            return None;
        }
        let matched: Vec<&Scope> = self
            .group_scopes
            .iter()
            .filter(|(id, _)| groups.iter().any(|g| g.eq_ignore_ascii_case(id)))
            .map(|(_, s)| s)
            .collect();
        if matched.is_empty() {
            return Some(None);
        }
        if matched.iter().any(|s| s.is_unrestricted()) {
            return Some(Some(Scope::all()));
        }
        let mut union = Scope::default();
        for s in matched {
            union.tenants.extend(s.tenants.iter().cloned());
            union.groups.extend(s.groups.iter().cloned());
        }
        // names were checked when the file was read
        Some(Some(union.normalized().unwrap_or(union)))
    }
}

/// `[oidc]` as written in the file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOidc {
    pub issuer: Option<Spanned<String>>,
    pub client_id: Option<Spanned<String>>,
    pub client_secret_file: Option<Spanned<String>>,
    pub public_url: Option<Spanned<String>>,
    pub allow_create: Option<Spanned<bool>>,
    pub graph_url: Option<Spanned<String>>,
    pub app_roles: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub groups: Option<BTreeMap<String, Spanned<String>>>,
    pub group_scopes: Option<BTreeMap<String, Spanned<RawScope>>>,
}

/// One `[oidc.group_scopes]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScope {
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub tenant_groups: Vec<String>,
}

/// The plain keys of `[oidc]`, also accepted as `CHANGEDESK_OIDC__<KEY>`.
pub(super) const KEYS: &[&str] = &[
    "issuer",
    "client_id",
    "client_secret_file",
    "public_url",
    "allow_create",
    "graph_url",
];

pub(super) const ENV_PREFIX: &str = "CHANGEDESK_OIDC__";

fn env_origin(key: &str) -> Origin {
    Origin::Env(format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()))
}

/// `CHANGEDESK_OIDC__<KEY>` if set, else the file's value.
fn pick(
    file: Option<Spanned<String>>,
    env: &BTreeMap<String, String>,
    key: &str,
) -> Option<Val<String>> {
    match env.get(key) {
        Some(v) => Some(Val {
            value: v.clone(),
            origin: env_origin(key),
        }),
        None => file.map(Val::file),
    }
}

/// The issuer: an `https://` URL (`http://` only on a loopback host, for
/// the simulator) naming one directory, without a trailing slash.
fn parse_issuer(s: &str) -> Result<Url, String> {
    let url = parse_base_url(s).map_err(|e| e.0)?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() != "https" && !loopback {
        return Err("the issuer must be an https:// URL (http:// only on a loopback host)".into());
    }
    if url.path_segments().is_some_and(|mut segs| {
        segs.any(|s| {
            ["common", "organizations", "consumers"].contains(&s.to_ascii_lowercase().as_str())
        })
    }) {
        return Err(
            "use your tenant's own issuer, https://login.microsoftonline.com/<tenant id>/v2.0: \
             multi-tenant authorities (common, organizations, consumers) are not supported"
                .into(),
        );
    }
    let trimmed = url.as_str().trim_end_matches('/').to_owned();
    Url::parse(&trimmed).map_err(|e| format!("not a valid URL ({e})"))
}

/// `graph_url`: an `https://` base URL (`http://` only on a loopback
/// host, for the simulator: the signed-in person's access token is sent
/// there) with the API version in its path, ending with `/`.
fn parse_graph_url(s: &str) -> Result<Url, String> {
    let url = parse_base_url(s).map_err(|e| e.0)?;
    if url.scheme() != "https" && !is_loopback(&url) {
        return Err(
            "must be an https:// URL (http:// only on a loopback host): the signed-in person's access token is sent there"
                .into(),
        );
    }
    if url.path() == "/" {
        return Err(
            "name the Graph API version too, e.g. https://graph.microsoft.com/v1.0/ (groups are read from {graph_url}me/getMemberObjects)"
                .into(),
        );
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Merges `[oidc]` from the file and `CHANGEDESK_OIDC__*` (keys
/// lower-cased). `None` when neither configures it, or on an error (which
/// is reported).
pub(super) fn build(
    rep: &mut Reporter<'_>,
    file: Option<Spanned<RawOidc>>,
    env: &BTreeMap<String, String>,
) -> Option<(OidcConfig, Origin)> {
    if file.is_none() && env.is_empty() {
        return None;
    }
    let header = match &file {
        Some(f) => Origin::File(f.span().start),
        None => Origin::Env(format!("{ENV_PREFIX}*")),
    };
    let f = file.map(Spanned::into_inner).unwrap_or_default();
    let errors_before = rep.errors.len();
    let missing = |rep: &mut Reporter<'_>, key: &str| {
        let message = match &header {
            Origin::File(_) => format!("missing `{key}`"),
            _ => format!(
                "OpenID Connect is configured by environment variables but has no {key} (set {ENV_PREFIX}{})",
                key.to_ascii_uppercase()
            ),
        };
        rep.error(&header, "oidc", message);
    };

    let issuer = match pick(f.issuer, env, "issuer") {
        None => {
            missing(rep, "issuer");
            None
        }
        Some(v) => parse_issuer(&v.value)
            .map_err(|e| rep.error(&v.origin, "oidc.issuer", e))
            .ok(),
    };
    let client_id = match pick(f.client_id, env, "client_id") {
        None => {
            missing(rep, "client_id");
            None
        }
        Some(v) => match validate_client_id(v.value.trim()) {
            Ok(()) => Some(v.value.trim().to_ascii_lowercase()),
            Err(e) => {
                rep.error(&v.origin, "oidc.client_id", e.0);
                None
            }
        },
    };
    let client_secret_file = match pick(f.client_secret_file, env, "client_secret_file") {
        None => {
            missing(rep, "client_secret_file");
            None
        }
        Some(v) => validate_path(&v.value)
            .map_err(|e| rep.error(&v.origin, "oidc.client_secret_file", e.0))
            .ok()
            .map(|p| (p, v.origin)),
    };
    let public_url = match pick(f.public_url, env, "public_url") {
        None => {
            missing(rep, "public_url");
            None
        }
        Some(v) => parse_base_url(&v.value)
            .map_err(|e| rep.error(&v.origin, "oidc.public_url", e.0))
            .ok(),
    };
    let allow_create = match env.get("allow_create") {
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                rep.error(
                    &env_origin("allow_create"),
                    "oidc.allow_create",
                    "must be true or false",
                );
                true
            }
        },
        None => f.allow_create.is_none_or(Spanned::into_inner),
    };

    let graph_url = match pick(f.graph_url, env, "graph_url") {
        None => None,
        Some(v) => parse_graph_url(&v.value)
            .map_err(|e| rep.error(&v.origin, "oidc.graph_url", e))
            .ok(),
    };

    let role = |rep: &mut Reporter<'_>, key: String, v: Spanned<String>| {
        let v = Val::file(v);
        match v.value.parse::<Role>() {
            Ok(r) => Some(r),
            Err(e) => {
                rep.error(&v.origin, &key, e.to_string());
                None
            }
        }
    };
    let app_roles: Vec<(String, Role)> = match f.app_roles {
        None => DEFAULT_APP_ROLES
            .iter()
            .map(|(v, r)| ((*v).to_owned(), *r))
            .collect(),
        Some(table) => {
            let span = table.span();
            let table = table.into_inner();
            if table.is_empty() {
                rep.error(
                    &Origin::File(span.start),
                    "oidc.app_roles",
                    "is empty: map app role values to roles, e.g. \"changedesk.admin\" = \"admin\" (leave the table out for the defaults)",
                );
            }
            table
                .into_iter()
                .filter_map(|(value, r)| {
                    let key = format!("oidc.app_roles.{value:?}");
                    if value.trim().is_empty() {
                        rep.error(
                            &Origin::File(r.span().start),
                            &key,
                            "an app role value is empty",
                        );
                        return None;
                    }
                    role(rep, key, r).map(|r| (value.trim().to_owned(), r))
                })
                .collect()
        }
    };
    let group_key = |rep: &mut Reporter<'_>, table: &str, id: &str, at: usize| {
        if is_guid(id.trim()) {
            Some(id.trim().to_ascii_lowercase())
        } else {
            rep.error(
                &Origin::File(at),
                &format!("oidc.{table}.{id:?}"),
                "a group is named by its object id, a GUID (the groups claim carries ids, not names)",
            );
            None
        }
    };
    let groups: Vec<(String, Role)> = f
        .groups
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(id, r)| {
            let gid = group_key(rep, "groups", &id, r.span().start)?;
            role(rep, format!("oidc.groups.{id:?}"), r).map(|r| (gid, r))
        })
        .collect();
    let group_scopes: Vec<(String, Scope)> = f
        .group_scopes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(id, s)| {
            let at = s.span().start;
            let gid = group_key(rep, "group_scopes", &id, at)?;
            let raw = s.into_inner();
            match (Scope {
                tenants: raw.tenants,
                groups: raw.tenant_groups,
            })
            .normalized()
            {
                Ok(scope) => Some((gid, scope)),
                Err(e) => {
                    rep.error(&Origin::File(at), &format!("oidc.group_scopes.{id:?}"), e);
                    None
                }
            }
        })
        .collect();

    if rep.errors.len() > errors_before {
        return None;
    }
    let (client_secret_file, secret_origin) = client_secret_file?;
    let issuer = issuer?;
    let graph_url = graph_url.or_else(|| default_graph_url(&issuer));
    Some((
        OidcConfig {
            issuer,
            client_id: client_id?,
            client_secret_file,
            client_secret: None,
            public_url: public_url?,
            allow_create,
            app_roles,
            groups,
            group_scopes,
            graph_url,
        },
        secret_origin,
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use secrecy::ExposeSecret;

    use super::super::{CliOverrides, ConfigFile, EXAMPLE, Sources, check, load};
    use super::*;

    const ISSUER: &str =
        "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0";
    const CLIENT: &str = "66666666-7777-8888-9999-AAAAAAAAAAAA";
    const GROUP: &str = "bbbbbbbb-cccc-dddd-eeee-ffffffffffff";

    fn minimal(extra: &str) -> String {
        format!(
            "[oidc]\nissuer = \"{ISSUER}/\"\nclient_id = \"{CLIENT}\"\nclient_secret_file = \"/run/secrets/oidc\"\npublic_url = \"https://cd.example.com\"\n{extra}"
        )
    }

    fn read(p: &Path) -> Result<String, String> {
        match p.to_str() {
            Some("/run/secrets/oidc") => Ok("s3cret-value\n".into()),
            Some("/run/secrets/empty") => Ok("\n".into()),
            _ => Err("No such file or directory (os error 2)".into()),
        }
    }

    fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Option<OidcConfig>, Vec<String>> {
        let env: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sources = Sources {
            file: Some(ConfigFile {
                path: "changedesk.toml",
                text,
            }),
            env: &env,
            cli: CliOverrides::default(),
        };
        load(&sources, &read)
            .map(|l| {
                assert!(l.warnings.is_empty(), "{:?}", l.warnings);
                l.config.oidc
            })
            .map_err(|e| e.iter().map(|e| e.to_string()).collect())
    }

    fn errors(text: &str, vars: &[(&str, &str)]) -> Vec<String> {
        match load_text(text, vars) {
            Ok(c) => panic!("expected errors, got {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn absent_is_none_and_minimal_gets_the_defaults() {
        assert!(load_text("", &[]).unwrap().is_none());
        let o = load_text(&minimal(""), &[]).unwrap().unwrap();
        assert_eq!(o.issuer.as_str(), ISSUER, "no trailing slash");
        assert_eq!(o.client_id, CLIENT.to_ascii_lowercase());
        assert_eq!(
            o.client_secret
                .as_ref()
                .map(|s| s.expose_secret().to_owned()),
            Some("s3cret-value".to_owned()),
            "one trailing newline is removed"
        );
        assert_eq!(o.public_url.as_str(), "https://cd.example.com/");
        assert!(o.allow_create);
        assert_eq!(o.app_roles.len(), 6);
        assert_eq!(
            o.role_for(&["changedesk.owner".into(), "other".into()], &[]),
            Some(Role::Owner)
        );
        assert_eq!(o.role_for(&["other".into()], &[]), None);
        assert_eq!(o.scope_for(&[GROUP.into()]), None, "scope not managed");
        assert!(
            !format!("{o:?}").contains("s3cret"),
            "Debug hides the secret"
        );
    }

    #[test]
    fn roles_and_scopes_from_tables() {
        let text = minimal(&format!(
            "allow_create = false\n[oidc.app_roles]\n\"cd.read\" = \"reader\"\n\"cd.boss\" = \"admin\"\n\
             [oidc.groups]\n\"{}\" = \"change_manager\"\n\
             [oidc.group_scopes]\n\"{GROUP}\" = {{ tenants = [\"Contoso\"], tenant_groups = [\"eu\"] }}\n\
             \"11111111-0000-0000-0000-000000000000\" = {{ tenants = [\"fabrikam\"] }}\n\
             \"22222222-0000-0000-0000-000000000000\" = {{}}\n",
            GROUP.to_ascii_uppercase()
        ));
        let o = load_text(&text, &[]).unwrap().unwrap();
        assert!(!o.allow_create);
        assert_eq!(
            o.role_for(&["changedesk.admin".into()], &[]),
            None,
            "defaults replaced"
        );
        assert_eq!(o.role_for(&["cd.read".into()], &[]), Some(Role::Reader));
        // the highest role wins, groups compare in any case
        assert_eq!(
            o.role_for(&["cd.read".into()], &[GROUP.to_ascii_uppercase()]),
            Some(Role::ChangeManager)
        );
        assert_eq!(
            o.role_for(&["cd.boss".into()], &[GROUP.into()]),
            Some(Role::Admin)
        );
        assert_eq!(
            o.scope_for(&["99999999-0000-0000-0000-000000000000".into()]),
            Some(None)
        );
        assert_eq!(
            o.scope_for(&[GROUP.into(), "11111111-0000-0000-0000-000000000000".into()]),
            Some(Some(Scope {
                tenants: vec!["contoso".into(), "fabrikam".into()],
                groups: vec!["eu".into()],
            }))
        );
        assert_eq!(
            o.scope_for(&[GROUP.into(), "22222222-0000-0000-0000-000000000000".into()]),
            Some(Some(Scope::all())),
            "an empty entry is every tenant"
        );
    }

    #[test]
    fn environment_overrides_the_plain_keys() {
        let o = load_text(
            &minimal(""),
            &[
                (
                    "CHANGEDESK_OIDC__PUBLIC_URL",
                    "https://other.example.com/cd",
                ),
                ("CHANGEDESK_OIDC__ALLOW_CREATE", "false"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.public_url.as_str(), "https://other.example.com/cd/");
        assert!(!o.allow_create);
        // environment alone configures it
        let o = load_text(
            "",
            &[
                (
                    "CHANGEDESK_OIDC__ISSUER",
                    "http://127.0.0.1:8080/tenant-001/v2.0",
                ),
                ("CHANGEDESK_OIDC__CLIENT_ID", CLIENT),
                ("CHANGEDESK_OIDC__CLIENT_SECRET_FILE", "/run/secrets/oidc"),
                ("CHANGEDESK_OIDC__PUBLIC_URL", "http://127.0.0.1:3000/"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.issuer.as_str(), "http://127.0.0.1:8080/tenant-001/v2.0");
        assert_eq!(
            errors("", &[("CHANGEDESK_OIDC__CLIENT_ID", CLIENT)]),
            [
                "CHANGEDESK_OIDC__*: OpenID Connect is configured by environment variables but has no issuer (set CHANGEDESK_OIDC__ISSUER)",
                "CHANGEDESK_OIDC__*: OpenID Connect is configured by environment variables but has no client_secret_file (set CHANGEDESK_OIDC__CLIENT_SECRET_FILE)",
                "CHANGEDESK_OIDC__*: OpenID Connect is configured by environment variables but has no public_url (set CHANGEDESK_OIDC__PUBLIC_URL)",
            ]
        );
        assert_eq!(
            errors(&minimal(""), &[("CHANGEDESK_OIDC__ALLOW_CREATE", "maybe")]),
            ["CHANGEDESK_OIDC__ALLOW_CREATE: must be true or false"]
        );
    }

    #[test]
    fn unknown_oidc_variables_are_warned_about() {
        let env: BTreeMap<String, String> = [(
            "CHANGEDESK_OIDC__CLIENT_SECRET".to_string(),
            "hunter2".to_string(),
        )]
        .into_iter()
        .collect();
        let sources = Sources {
            file: None,
            env: &env,
            cli: CliOverrides::default(),
        };
        let loaded = load(&sources, &read).unwrap();
        assert!(loaded.config.oidc.is_none());
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0]
                .starts_with("CHANGEDESK_OIDC__CLIENT_SECRET is not a changedesk setting")
                && !loaded.warnings[0].contains("hunter2"),
            "{:?}",
            loaded.warnings
        );
    }

    #[test]
    fn graph_url_defaults_from_the_issuer_cloud() {
        let with_issuer = |issuer: &str, extra: &str| {
            load_text(
                &minimal(extra).replace(&format!("\"{ISSUER}/\""), &format!("\"{issuer}\"")),
                &[],
            )
            .unwrap()
            .unwrap()
        };
        let groups = format!("[oidc.groups]\n\"{GROUP}\" = \"reader\"\n");
        // the worldwide cloud: User.Read is asked for only when groups are mapped
        let o = load_text(&minimal(""), &[]).unwrap().unwrap();
        assert_eq!(
            o.graph_url.as_ref().map(Url::as_str),
            Some("https://graph.microsoft.com/v1.0/")
        );
        assert!(!o.maps_groups());
        assert_eq!(o.graph_scope(), None);
        assert_eq!(o.sign_in_scope(), "openid profile email");
        let o = load_text(&minimal(&groups), &[]).unwrap().unwrap();
        assert!(o.maps_groups());
        assert_eq!(o.graph_scope().as_deref(), Some("User.Read"));
        assert_eq!(o.sign_in_scope(), "openid profile email User.Read");
        let scopes_only = format!("[oidc.group_scopes]\n\"{GROUP}\" = {{}}\n");
        let o = load_text(&minimal(&scopes_only), &[]).unwrap().unwrap();
        assert!(o.maps_groups(), "a scope map needs the groups too");
        assert_eq!(o.graph_scope().as_deref(), Some("User.Read"));
        // national clouds: their Graph, and a scope naming it
        for (issuer, graph, scope) in [
            (
                "https://login.microsoftonline.us/t/v2.0",
                "https://graph.microsoft.us/v1.0/",
                "https://graph.microsoft.us/User.Read",
            ),
            (
                "https://LOGIN.partner.microsoftonline.cn/t/v2.0",
                "https://microsoftgraph.chinacloudapi.cn/v1.0/",
                "https://microsoftgraph.chinacloudapi.cn/User.Read",
            ),
            (
                "https://login.chinacloudapi.cn/t/v2.0",
                "https://microsoftgraph.chinacloudapi.cn/v1.0/",
                "https://microsoftgraph.chinacloudapi.cn/User.Read",
            ),
        ] {
            let o = with_issuer(issuer, &groups);
            assert_eq!(
                o.graph_url.as_ref().map(Url::as_str),
                Some(graph),
                "{issuer}"
            );
            assert_eq!(o.graph_scope().as_deref(), Some(scope), "{issuer}");
        }
        // another provider: no Graph, so no Graph permission is asked for
        let o = with_issuer("https://login.example.com/t/v2.0", &groups);
        assert_eq!(o.graph_url, None);
        assert_eq!(o.graph_scope(), None);
        assert_eq!(o.sign_in_scope(), "openid profile email");
        let o = with_issuer("http://127.0.0.1:8080/tenant-001/v2.0", &groups);
        assert_eq!(o.graph_url, None, "the simulator names its Graph itself");
    }

    #[test]
    fn graph_url_is_checked_and_overridable() {
        let groups = format!("[oidc.groups]\n\"{GROUP}\" = \"reader\"\n");
        // given: it wins over the default, and gets its trailing slash
        let o = load_text(
            &minimal(&format!(
                "graph_url = \"https://dod-graph.microsoft.us/v1.0\"\n{groups}"
            )),
            &[],
        )
        .unwrap()
        .unwrap();
        let graph = o.graph_url.clone().unwrap();
        assert_eq!(graph.as_str(), "https://dod-graph.microsoft.us/v1.0/");
        assert_eq!(
            graph.join("me/getMemberObjects").unwrap().as_str(),
            "https://dod-graph.microsoft.us/v1.0/me/getMemberObjects"
        );
        assert_eq!(
            o.graph_scope().as_deref(),
            Some("https://dod-graph.microsoft.us/User.Read")
        );
        let o = load_text(
            &minimal(&format!(
                "graph_url = \"https://graph.microsoft.com/beta/\"\n{groups}"
            )),
            &[],
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.graph_scope().as_deref(), Some("User.Read"));
        // the environment overrides the file; plain http on loopback only
        let o = load_text(
            &minimal("graph_url = \"https://graph.microsoft.us/v1.0/\"\n"),
            &[("CHANGEDESK_OIDC__GRAPH_URL", "http://127.0.0.1:8080/v1.0")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            o.graph_url.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:8080/v1.0/")
        );
        for (value, words) in [
            (
                "ftp://graph.example.com/v1.0/",
                "unsupported URL scheme `ftp`",
            ),
            ("graph.microsoft.com/v1.0", "not a valid URL"),
            ("http://graph.example.com/v1.0/", "must be an https:// URL"),
            (
                "https://graph.microsoft.com",
                "name the Graph API version too",
            ),
            (
                "https://graph.microsoft.com/v1.0/?x=1",
                "must not have a query",
            ),
        ] {
            let e = errors(&minimal(&format!("graph_url = \"{value}\"\n")), &[]);
            assert_eq!(e.len(), 1, "{value}: {e:?}");
            assert!(
                e[0].starts_with("changedesk.toml:6:13: oidc.graph_url: ") && e[0].contains(words),
                "{value}: {e:?}"
            );
        }
        assert_eq!(
            errors(
                &minimal(""),
                &[("CHANGEDESK_OIDC__GRAPH_URL", "https://graph.microsoft.com/")]
            ),
            [
                "CHANGEDESK_OIDC__GRAPH_URL: name the Graph API version too, e.g. https://graph.microsoft.com/v1.0/ (groups are read from {graph_url}me/getMemberObjects)"
            ]
        );
    }

    #[test]
    fn errors_point_at_the_line() {
        assert_eq!(
            errors("[oidc]\nclient_id = \"nope\"\n", &[]),
            [
                "changedesk.toml:1:1: oidc: missing `issuer`",
                "changedesk.toml:2:13: oidc.client_id: not a GUID: expected the application (client) ID, like 00000000-0000-0000-0000-000000000000",
                "changedesk.toml:1:1: oidc: missing `client_secret_file`",
                "changedesk.toml:1:1: oidc: missing `public_url`",
            ]
        );
        let bad_issuer = |issuer: &str| {
            errors(
                &minimal("").replace(&format!("\"{ISSUER}/\""), &format!("\"{issuer}\"")),
                &[],
            )
        };
        let e = bad_issuer("https://login.microsoftonline.com/common/v2.0");
        assert!(
            e[0].starts_with("changedesk.toml:2:10: oidc.issuer: use your tenant's own issuer"),
            "{e:?}"
        );
        let e = bad_issuer("http://login.example.com/t/v2.0");
        assert!(e[0].contains("must be an https:// URL"), "{e:?}");
        let e = bad_issuer("https://login.example.com/t/v2.0?x=1");
        assert!(e[0].contains("must not have a query"), "{e:?}");
        let e = errors(
            &minimal(
                "[oidc.app_roles]\n\"cd.read\" = \"boss\"\n[oidc.groups]\n\"finance\" = \"reader\"\n[oidc.group_scopes]\n\"bbbbbbbb-cccc-dddd-eeee-ffffffffffff\" = { tenants = [\"no way\"] }\n",
            ),
            &[],
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with("changedesk.toml:7:13: oidc.app_roles.\"cd.read\": "),
            "{e:?}"
        );
        assert!(
            e[1].starts_with(
                "changedesk.toml:9:13: oidc.groups.\"finance\": a group is named by its object id"
            ),
            "{e:?}"
        );
        assert!(e[2].starts_with("changedesk.toml:11:42: oidc.group_scopes.\"bbbbbbbb-cccc-dddd-eeee-ffffffffffff\": tenant name `no way`"), "{e:?}");
        let e = errors(&minimal("[oidc.app_roles]\n"), &[]);
        assert!(
            e[0].starts_with("changedesk.toml:6:1: oidc.app_roles: is empty"),
            "{e:?}"
        );
        let e = errors(&minimal("issuer2 = 1\n"), &[]);
        assert!(e[0].contains("unknown key `issuer2`"), "{e:?}");
        // secret files: missing or empty, named by path, never by content
        let e = errors(
            &minimal("").replace("/run/secrets/oidc", "/run/secrets/none"),
            &[],
        );
        assert_eq!(
            e,
            [
                "changedesk.toml:4:22: oidc.client_secret_file: cannot read secret file /run/secrets/none: No such file or directory (os error 2)"
            ]
        );
        let e = errors(
            &minimal("").replace("/run/secrets/oidc", "/run/secrets/empty"),
            &[],
        );
        assert_eq!(
            e,
            [
                "changedesk.toml:4:22: oidc.client_secret_file: secret file /run/secrets/empty is empty"
            ]
        );
    }

    #[test]
    fn check_reads_no_secret_and_the_example_block_is_valid() {
        let c = check("x.toml", &minimal("")).unwrap();
        assert!(c.oidc.as_ref().is_some_and(|o| o.client_secret.is_none()));
        // uncomment the example's [oidc] block (everything after `# [oidc]`)
        let start = EXAMPLE
            .find("# [oidc]\n")
            .expect("the example has an [oidc] block");
        let block: String = EXAMPLE[start..]
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
            .collect();
        let text = format!("{}{block}", &EXAMPLE[..start]);
        let c = match check("x.toml", &text) {
            Ok(c) => c,
            Err(e) => panic!("{e}\n---\n{block}"),
        };
        let o = c.oidc.expect("configured");
        assert_eq!(o.app_roles.len(), 4);
        assert_eq!(o.groups.len(), 1);
        assert_eq!(o.group_scopes.len(), 2);
        assert_eq!(
            o.scope_for(&["bbbbbbbb-cccc-dddd-eeee-ffffffffffff".into()]),
            Some(Some(Scope::all()))
        );
    }
}
