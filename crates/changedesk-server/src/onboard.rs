//! Onboarding tenants: those added to the database (one by one, from a CSV
//! list or through the API) are reached through the configuration's one
//! multi-tenant app registration (`[app]`). This module joins the store's
//! list of them, the app and Graph: which tenants a sync takes (the
//! [`roster`]), admin-consent links, and access checks (a token, then each
//! listing, to name the application permissions a tenant lacks).

use changedesk_core::Timestamp;
use changedesk_core::config::{AppRegistration, TenantConfig};
use changedesk_graph::{GraphClient, GraphError, for_each_tenant_concurrently};
use changedesk_store::{AccessCheck, DirectoryTenant, Store, StoreError};
use sha2::{Digest, Sha256};
use url::Url;

/// How long a consent link stays good: long enough to send it to a
/// customer's administrator and wait for them.
pub const CONSENT_LINK_DAYS: i64 = 30;

/// The path of the consent callback under the server's public URL.
pub const CONSENT_CALLBACK_PATH: &str = "/consent/callback";

/// What the server needs to onboard tenants: `[app]`, a Graph client for
/// access checks, where consent answers come back, and the configured
/// tenants' names (a database tenant cannot take one).
pub struct Onboarding {
    pub app: AppRegistration,
    pub graph: GraphClient,
    /// `[server] public_url`.
    pub public_url: Option<String>,
    pub configured: Vec<String>,
    /// How many tenants are checked at once.
    pub concurrency: usize,
}

/// Why onboarding could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    #[error(
        "no [app] is configured: tenants added to the database are reached through one multi-tenant app registration (see `changedesk config example`)"
    )]
    NoApp,
    #[error(
        "[server] public_url is not set: the admin-consent answer comes back to PUBLIC_URL{CONSENT_CALLBACK_PATH}, which the app registration must list as a redirect URI"
    )]
    NoPublicUrl,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tenants a sync takes: those of the configuration, then those added to
/// the database that may be synced ([`DirectoryTenant::syncable`]), through
/// `app`. A database tenant with a configured tenant's name is left out
/// (the configuration wins); without `app`, database tenants are left out.
pub fn roster(
    configured: &[TenantConfig],
    app: Option<&AppRegistration>,
    directory: &[DirectoryTenant],
) -> Vec<TenantConfig> {
    reachable(configured, app, directory, DirectoryTenant::syncable)
}

/// The configured tenants and the database's tenants that `keep` takes,
/// through `app` (see [`roster`]).
pub fn reachable(
    configured: &[TenantConfig],
    app: Option<&AppRegistration>,
    directory: &[DirectoryTenant],
    keep: impl Fn(&DirectoryTenant) -> bool,
) -> Vec<TenantConfig> {
    let mut out = configured.to_vec();
    if let Some(app) = app {
        for t in directory.iter().filter(|t| keep(t)) {
            if configured.iter().any(|c| c.name == t.name) {
                tracing::warn!(tenant = %t.name, "a tenant added to the database has a configured tenant's name: the configured one is synced");
                continue;
            }
            out.push(app.tenant(&t.name, &t.directory_id));
        }
    }
    out
}

/// [`roster`], reading the database's tenants from `store`.
pub async fn load_roster(
    store: &Store,
    configured: &[TenantConfig],
    app: Option<&AppRegistration>,
) -> Result<Vec<TenantConfig>, StoreError> {
    if app.is_none() {
        return Ok(configured.to_vec());
    }
    let directory = store.directory_tenants().await?;
    Ok(roster(configured, app, &directory))
}

/// The consent callback's URL under `public_url`.
pub fn redirect_uri(public_url: Option<&str>) -> Result<String, OnboardError> {
    let base = public_url.ok_or(OnboardError::NoPublicUrl)?;
    Ok(format!(
        "{}{CONSENT_CALLBACK_PATH}",
        base.trim_end_matches('/')
    ))
}

/// The SHA-256 (hex) of a consent link's state, as the store keeps it.
pub fn state_hash(state: &str) -> String {
    Sha256::digest(state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Makes a new admin-consent link for the database tenant `name` (the only
/// one that counts from now on; audited as `actor`).
pub async fn consent_link(
    store: &Store,
    app: Option<&AppRegistration>,
    public_url: Option<&str>,
    name: &str,
    actor: &str,
    now: &Timestamp,
) -> Result<Url, OnboardError> {
    let tenant = store
        .directory_tenants()
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| StoreError::NotFound(format!("tenant `{name}` (added to the database)")))?;
    consent_link_for(store, app, public_url, &tenant, actor, now).await
}

/// The same for a tenant already read (a link for each of many tenants).
pub async fn consent_link_for(
    store: &Store,
    app: Option<&AppRegistration>,
    public_url: Option<&str>,
    tenant: &DirectoryTenant,
    actor: &str,
    now: &Timestamp,
) -> Result<Url, OnboardError> {
    let app = app.ok_or(OnboardError::NoApp)?;
    let redirect = redirect_uri(public_url)?;
    let mut raw = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut raw);
    let state: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    store
        .ask_consent(&tenant.name, &state_hash(&state), actor, now)
        .await?;
    Ok(app.admin_consent_url(&tenant.directory_id, &redirect, &state))
}

/// How many days before `secret_expires` changedesk starts warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// When a credential expires: its declared `secret_expires`, or for a
/// certificate the certificate's own expiry (`notAfter`), the earlier. A
/// certificate file that cannot be read says nothing here (the sync says
/// why it cannot use it).
pub async fn credential_expiry(
    declared: Option<Timestamp>,
    credential: &changedesk_core::config::Credential,
) -> Option<Timestamp> {
    let certificate = match credential {
        changedesk_core::config::Credential::Certificate {
            certificate_file, ..
        } => tokio::fs::read(certificate_file)
            .await
            .ok()
            .and_then(|pem| changedesk_graph::certificate_not_after(&pem).ok()),
        changedesk_core::config::Credential::Secret(_) => None,
    };
    [declared, certificate].into_iter().flatten().min()
}

/// A warning when `what` (`The [app] credential`, `Tenant contoso's
/// credential`) expires within [`EXPIRY_WARNING_DAYS`] of `now`, or has
/// expired; `None` otherwise.
pub fn expiry_warning(what: &str, expires: Option<Timestamp>, now: &Timestamp) -> Option<String> {
    let days = changedesk_core::config::days_left(expires, *now, EXPIRY_WARNING_DAYS)?;
    Some(expiry_text(what, expires?, days))
}

/// The `[app]` credential's warning (see [`expiry_warning`]).
pub async fn app_expiry_warning(app: &AppRegistration, now: &Timestamp) -> Option<String> {
    let expires = credential_expiry(app.secret_expires, &app.credential).await;
    expiry_warning("The [app] credential", expires, now)
}

/// A configured tenant's own credential's warning.
pub async fn tenant_expiry_warning(tenant: &TenantConfig, now: &Timestamp) -> Option<String> {
    let expires = credential_expiry(tenant.secret_expires, &tenant.credential).await;
    expiry_warning(
        &format!("Tenant {}'s credential", tenant.name),
        expires,
        now,
    )
}

/// "`what` expires on DAY (in N days): …", or "expired on DAY: …".
fn expiry_text(what: &str, at: Timestamp, days: i64) -> String {
    let day = at.date();
    let fix = "add a new secret or certificate to the app registration in Entra ID, and set it and its secret_expires in the configuration";
    match days {
        d if d < 0 => format!("{what} expired on {day}: syncs through it fail until you {fix}."),
        0 => format!("{what} expires within a day ({day}): {fix}."),
        d => format!(
            "{what} expires on {day} (in {d} day{}): {fix}.",
            if d == 1 { "" } else { "s" }
        ),
    }
}

/// What an access check of one tenant found.
pub fn access_check(result: Result<Vec<&'static str>, GraphError>) -> AccessCheck {
    match result {
        Ok(missing) => AccessCheck {
            missing: missing.into_iter().map(str::to_owned).collect(),
            error: None,
        },
        Err(e) => {
            let text = e.to_string();
            // the identity platform's words for "this app is not in that
            // directory": no admin has consented there (yet)
            let hint = if text.contains("AADSTS700016") {
                "not consented: the app is not in this tenant (an administrator of the tenant must follow a consent link); "
            } else {
                ""
            };
            AccessCheck {
                missing: Vec::new(),
                error: Some(format!("{hint}{text}")),
            }
        }
    }
}

/// Checks access to each of `tenants` (at most `concurrency` at once) and
/// records what each check found, for those added to the database. Returns
/// each tenant's result, in the order given.
pub async fn check_tenants(
    store: &Store,
    graph: &GraphClient,
    tenants: &[TenantConfig],
    directory: &[DirectoryTenant],
    concurrency: usize,
    now: &Timestamp,
) -> Result<Vec<(String, AccessCheck)>, StoreError> {
    let results = for_each_tenant_concurrently(tenants, concurrency, |t| {
        let graph = graph.clone();
        async move { access_check(graph.check_access(&t).await) }
    })
    .await;
    for (name, check) in &results {
        if directory.iter().any(|d| &d.name == name) {
            store.record_access_check(name, check, now).await?;
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_kept_as_its_digest() {
        assert_eq!(
            state_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn an_expiring_credential_is_warned_of_30_days_ahead() {
        use changedesk_core::config::{Cloud, Credential};
        let ts = |s: &str| Timestamp::parse(s).unwrap();
        let app = AppRegistration {
            client_id: "5c1d3a4e-7b2f-4e8a-9c61-0d2f8b7a4e13".into(),
            credential: Credential::Secret(secrecy::SecretString::from("s")),
            cloud: Cloud::Global,
            login_url: None,
            graph_url: None,
            secret_expires: Some(ts("2027-01-10T00:00:00Z")),
        };
        assert_eq!(
            app_expiry_warning(&app, &ts("2026-12-01T00:00:00Z")).await,
            None
        );
        let soon = app_expiry_warning(&app, &ts("2026-12-31T00:00:00Z"))
            .await
            .unwrap();
        assert!(
            soon.contains("expires on 2027-01-10 (in 10 days)"),
            "{soon}"
        );
        let today = app_expiry_warning(&app, &ts("2027-01-09T12:00:00Z"))
            .await
            .unwrap();
        assert!(today.contains("expires within a day"), "{today}");
        let past = app_expiry_warning(&app, &ts("2027-02-01T00:00:00Z"))
            .await
            .unwrap();
        assert!(past.contains("expired on 2027-01-10"), "{past}");
        let tenant = app.tenant("contoso", "contoso.onmicrosoft.com");
        let t = tenant_expiry_warning(&tenant, &ts("2026-12-31T00:00:00Z"))
            .await
            .unwrap();
        assert!(t.starts_with("Tenant contoso's credential expires"), "{t}");
        let none = AppRegistration {
            secret_expires: None,
            ..app
        };
        assert_eq!(
            app_expiry_warning(&none, &ts("2027-02-01T00:00:00Z")).await,
            None
        );
    }

    #[tokio::test]
    async fn a_certificate_s_own_expiry_is_read() {
        use changedesk_core::config::{Cloud, Credential};
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("app.crt.pem");
        std::fs::write(&cert, changedesk_sim::TEST_APP_CERTIFICATE_PEM).unwrap();
        let app = AppRegistration {
            client_id: "5c1d3a4e-7b2f-4e8a-9c61-0d2f8b7a4e13".into(),
            credential: Credential::Certificate {
                certificate_file: cert,
                private_key_file: dir.path().join("unused.pem"),
            },
            cloud: Cloud::Global,
            login_url: None,
            graph_url: None,
            secret_expires: None,
        };
        let expires = credential_expiry(None, &app.credential).await.unwrap();
        // the test certificate is valid until 2126
        assert!(expires.to_string().starts_with("21"), "{expires}");
        let near = Timestamp::from_unix(expires.unix_seconds() - 5 * 86_400).unwrap();
        let w = app_expiry_warning(&app, &near).await.unwrap();
        assert!(w.contains("(in 5 days)"), "{w}");
        // a declared date earlier than the certificate's wins
        let declared = Timestamp::parse("2027-01-10T00:00:00Z").unwrap();
        assert_eq!(
            credential_expiry(Some(declared), &app.credential).await,
            Some(declared)
        );
    }

    #[test]
    fn the_callback_is_under_the_public_url() {
        assert_eq!(
            redirect_uri(Some("https://cd.example.com/")).unwrap(),
            "https://cd.example.com/consent/callback"
        );
        assert!(matches!(redirect_uri(None), Err(OnboardError::NoPublicUrl)));
    }
}
