//! Tenants kept in the database (migration 0019): added one by one, from a
//! CSV list or through the API, and reached through the configuration's one
//! multi-tenant app registration (`[app]`), whose secret never comes here.
//! The operations are in `directory_ops.rs`, compiled for each backend like
//! `auth_ops.rs`.
//!
//! A tenant added here has a directory (a GUID, or a verified domain until an
//! admin consent names the GUID) and a display name; its admin consent (the
//! newest consent link's state, kept as a SHA-256 and taken once, and the
//! answer) and its last access check (which application permissions it
//! lacks). Every change a person makes is audited with the `actor` given.

use changedesk_core::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Backend, Result, Store, postgres, sqlite};

/// The most tenants one call of [`Store::add_tenants`] takes.
pub const MAX_TENANTS_PER_ADD: usize = 10_000;

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 200;

/// A tenant to add (or to update, when one of that name was added before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTenant {
    /// The short name used everywhere in changedesk (`contoso`).
    pub name: String,
    /// The directory (tenant) GUID or a verified domain; kept in lower case.
    pub directory_id: String,
    pub display_name: Option<String>,
}

/// What [`Store::add_tenants`] did, by tenant name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AddedTenants {
    /// New to changedesk, or known only from a listing or the configuration
    /// until now.
    pub added: Vec<String>,
    /// Added before, with another directory or display name.
    pub updated: Vec<String>,
    /// Added before, exactly so.
    pub unchanged: Vec<String>,
}

/// Where a tenant's admin consent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// No consent link was made yet.
    NotAsked,
    /// A consent link was made; no answer came back yet.
    Asked,
    /// An administrator of the tenant consented.
    Granted,
    /// The answer was a refusal or an error (see `consent_error`).
    Declined,
}

impl Consent {
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::NotAsked => "not_asked",
            Consent::Asked => "asked",
            Consent::Granted => "granted",
            Consent::Declined => "declined",
        }
    }

    fn parse(s: &str) -> Consent {
        match s {
            "asked" => Consent::Asked,
            "granted" => Consent::Granted,
            "declined" => Consent::Declined,
            _ => Consent::NotAsked,
        }
    }
}

/// A tenant added to the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryTenant {
    pub name: String,
    pub directory_id: String,
    pub display_name: Option<String>,
    pub added_at: Timestamp,
    pub consent: Consent,
    /// When the answer came back.
    pub consent_at: Option<Timestamp>,
    /// Why consent was refused (the identity platform's error).
    pub consent_error: Option<String>,
    /// When the newest consent link was made.
    pub consent_asked_at: Option<Timestamp>,
    /// When access was last checked.
    pub checked_at: Option<Timestamp>,
    /// The application permissions the last check found missing.
    pub missing_permissions: Vec<String>,
    /// Why the last check could not get a token or an answer.
    pub check_error: Option<String>,
    pub last_sync_at: Option<Timestamp>,
    pub last_sync_error: Option<String>,
}

impl DirectoryTenant {
    /// Whether a sync may try the tenant: consent was given, or was never
    /// asked here (the app may have been consented to some other way).
    pub fn syncable(&self) -> bool {
        matches!(self.consent, Consent::Granted | Consent::NotAsked)
    }
}

/// What an access check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccessCheck {
    /// Application permissions the tenant has not granted.
    pub missing: Vec<String>,
    /// Why no token or no answer could be had (then `missing` is unknown).
    pub error: Option<String>,
}

/// The answer of an admin consent, as the identity platform sent it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentAnswer {
    /// Consent given in the directory `directory_id` (a GUID).
    Granted { directory_id: String },
    /// Refused, or failed: the platform's error and description.
    Declined { error: String },
}

/// What [`Store::answer_consent`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentTaken {
    /// No tenant waits for this state (never made, replaced, or used).
    Unknown,
    /// The link was older than the age allowed; nothing recorded.
    Expired { tenant: String },
    /// Recorded for `tenant`, with the consent now in force.
    Recorded { tenant: String, consent: Consent },
}

/// Which tenants a page of [`Store::tenant_page`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantQuery {
    /// Only these tenants (a caller's scope); `None`: every tenant.
    pub only: Option<Vec<String>>,
    /// Part of the name, display name or directory, ignoring case.
    pub search: String,
    /// Only tenants whose last sync failed.
    pub failing: bool,
    pub offset: i64,
    /// At most 1000.
    pub limit: i64,
}

impl Default for TenantQuery {
    fn default() -> Self {
        TenantQuery {
            only: None,
            search: String::new(),
            failing: false,
            offset: 0,
            limit: 50,
        }
    }
}

/// A page of tenants, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantPage {
    pub rows: Vec<crate::TenantRow>,
    /// How many tenants the query takes in all.
    pub total: i64,
    /// Of those, how many failed their last sync.
    pub failing: i64,
}

impl Store {
    /// A page of tenants (by name), with how many the query takes in all:
    /// the tenants page of an MSP with thousands of tenants counts the
    /// posts of the page's tenants only.
    pub async fn tenant_page(&self, query: &TenantQuery) -> Result<TenantPage> {
        dispatch!(self.tenant_page(query))
    }

    /// Adds tenants (or updates those added before), all in one transaction:
    /// every one or none. Each added or updated tenant is audited
    /// (`tenant.add`, `tenant.update`). A directory already used by another
    /// tenant is a [`StoreError::Conflict`](crate::StoreError::Conflict)
    /// naming both; a name, directory or display name that is not valid is
    /// [`StoreError::Invalid`](crate::StoreError::Invalid). A tenant whose
    /// directory changes is asked for consent again.
    pub async fn add_tenants(
        &self,
        tenants: &[NewTenant],
        actor: &str,
        at: &Timestamp,
    ) -> Result<AddedTenants> {
        let clean = tenants
            .iter()
            .map(NewTenant::cleaned)
            .collect::<Result<Vec<_>>>()?;
        if clean.len() > MAX_TENANTS_PER_ADD {
            return Err(crate::StoreError::Invalid(format!(
                "{} tenants at once is more than the {MAX_TENANTS_PER_ADD} allowed: add them in parts",
                clean.len()
            )));
        }
        let writer = &*self.writer;
        dispatch_write!(self.add_tenants(writer, &clean, actor, at))
    }

    /// The tenants added to the database, by name.
    pub async fn directory_tenants(&self) -> Result<Vec<DirectoryTenant>> {
        dispatch!(self.directory_tenants())
    }

    /// Notes a new consent link for tenant `name`, whose state has the
    /// SHA-256 `state_hash` (hex): the only one that counts from now on.
    /// Audited (`tenant.consent_link`). [`StoreError::NotFound`](crate::StoreError::NotFound)
    /// when no tenant of that name was added to the database.
    pub async fn ask_consent(
        &self,
        name: &str,
        state_hash: &str,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.ask_consent(writer, name, state_hash, actor, at))
    }

    /// Records the answer to the consent link whose state has `state_hash`,
    /// taking the state (each link answers once). A link made more than
    /// `max_age_secs` before `at` is refused. Consent given in another
    /// directory than the tenant's is recorded as declined, saying so; a
    /// tenant added by domain gets its directory GUID. Audited
    /// (`tenant.consent`, actor `admin consent`).
    pub async fn answer_consent(
        &self,
        state_hash: &str,
        answer: &ConsentAnswer,
        max_age_secs: i64,
        at: &Timestamp,
    ) -> Result<ConsentTaken> {
        let writer = &*self.writer;
        dispatch_write!(self.answer_consent(writer, state_hash, answer, max_age_secs, at))
    }

    /// Records an access check of tenant `name` (not audited: nobody changed
    /// anything).
    pub async fn record_access_check(
        &self,
        name: &str,
        check: &AccessCheck,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.record_access_check(writer, name, check, at))
    }

    /// Stops keeping tenant `name` in the database: it is no longer synced
    /// (its archive, links and work stay). Audited (`tenant.remove`).
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) when it was not
    /// added to the database.
    pub async fn remove_directory_tenant(
        &self,
        name: &str,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.remove_directory_tenant(writer, name, actor, at))
    }
}

impl Store {
    /// Removes tenant `name` and what is its own: its links to posts and
    /// incidents (the link counts follow), its exceptions in work items (a
    /// new version of each), its service health, sync runs, ownership
    /// entries for it alone and notifications about it alone not yet
    /// delivered, then its row, in one transaction; audited
    /// (`tenant.purge`, with the counts). Shared content stays: posts and
    /// incidents (those no other tenant saw are then seen by none), their
    /// revisions (unattributed where it brought them), work items, the
    /// decision log, the audit log. A tenant of the configuration (in
    /// `configured`) is refused: it would come back at the next sync.
    pub async fn purge_tenant(
        &self,
        name: &str,
        configured: &[String],
        actor: &str,
        at: &Timestamp,
    ) -> Result<PurgedTenant> {
        let writer = &*self.writer;
        dispatch_write!(self.purge_tenant(writer, name, configured, actor, at))
    }
}

impl NewTenant {
    /// Trimmed, the directory in lower case; checked.
    fn cleaned(&self) -> Result<NewTenant> {
        let name = self.name.trim().to_owned();
        crate::validate_tenant_name(&name)?;
        let directory_id = self.directory_id.trim().to_ascii_lowercase();
        if !changedesk_core::config::is_directory_id(&directory_id) {
            return Err(crate::StoreError::Invalid(format!(
                "tenant `{name}`: the directory is not a GUID or a domain name (expected e.g. contoso.onmicrosoft.com or 00000000-0000-0000-0000-000000000000)"
            )));
        }
        let display_name = self
            .display_name
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        if let Some(d) = &display_name {
            if d.chars().count() > MAX_DISPLAY_NAME {
                return Err(crate::StoreError::Invalid(format!(
                    "tenant `{name}`: the display name is longer than {MAX_DISPLAY_NAME} characters"
                )));
            }
            if d.chars().any(char::is_control) {
                return Err(crate::StoreError::Invalid(format!(
                    "tenant `{name}`: the display name has control characters"
                )));
            }
        }
        Ok(NewTenant {
            name,
            directory_id,
            display_name,
        })
    }
}

pub(crate) fn consent_of(s: Option<String>) -> Consent {
    s.as_deref().map_or(Consent::NotAsked, Consent::parse)
}

/// What [`Store::rename_tenant`] rewrote: where the old name was, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RenamedTenant {
    pub from: String,
    pub to: String,
    /// Work items with an exception for the tenant.
    pub work_items: i64,
    /// Decision log entries about the tenant alone.
    pub log_entries: i64,
    /// Ownership entries for the tenant.
    pub ownership: i64,
    /// Users and API tokens limited to the tenant (among others).
    pub scopes: i64,
    /// Channels whose filter names the tenant.
    pub channels: i64,
    /// Tenant groups with the tenant's name among their patterns.
    pub groups: Vec<String>,
    /// Saved views of the inbox limited to the tenant.
    pub views: i64,
}

/// What purging a tenant removed ([`Store::purge_tenant`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgedTenant {
    pub name: String,
    /// Its links to posts, and to incidents.
    pub post_links: i64,
    pub incident_links: i64,
    /// Posts and incidents no other tenant saw: they stay in the archive
    /// (with their revisions and work), seen by no tenant.
    pub posts_seen_by_none: i64,
    pub incidents_seen_by_none: i64,
    /// Work items that had an exception for it.
    pub work_items: i64,
    /// Ownership entries for it alone.
    pub ownership: i64,
    /// Its service health rows (current and history) and sync runs.
    pub health: i64,
    pub runs: i64,
    /// Notifications about it alone not yet delivered.
    pub notifications: i64,
}

impl Store {
    /// Renames the tenant `from` to `to` (a valid tenant name no tenant has)
    /// everywhere the name is kept, in one transaction: the tenant's row
    /// (its posts, incidents and sync state follow by id), its work item
    /// exceptions, the decision log's entries about it alone, ownership,
    /// the scopes of users and API tokens, channel filters, tenant group
    /// patterns that name it exactly (a wildcard pattern is left as it is)
    /// and saved views. The audit log keeps `tenant.rename` with the counts.
    /// A tenant of the configuration is refused: its name is its key there
    /// (rename it in the file first, then rename the archive's tenant).
    pub async fn rename_tenant(
        &self,
        from: &str,
        to: &str,
        configured: &[String],
        actor: &str,
        at: &Timestamp,
    ) -> Result<RenamedTenant> {
        let writer = &*self.writer;
        dispatch_write!(self.rename_tenant(writer, from, to, configured, actor, at))
    }
}
