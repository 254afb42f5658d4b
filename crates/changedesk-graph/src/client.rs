//! [`GraphClient`]: tokens, pages, retries and budgets for many tenants.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::Duration;

use changedesk_core::Timestamp;
use changedesk_core::config::{Credential, TenantConfig};
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::{Mutex as AsyncMutex, Semaphore};
use tokio::time::Instant;
use tracing::{debug, info, trace};
use url::Url;

use crate::auth::{
    CachedToken, CertificateKey, JWT_BEARER, TokenError, parse_token_response, unix_now,
};
use crate::budget::Budget;
use crate::error::{GraphError, Step, scrub};
use crate::retry::{RetryBudget, is_transient_status, parse_retry_after};
use crate::{ClientOptions, Fetched, Membership, Resource, SelectSupport, parse_members};

/// The largest response body read (a full page of 1000 posts is a few MB).
const MAX_BODY_BYTES: usize = 128 * 1024 * 1024;

/// Pages followed in one listing before the client assumes a `nextLink` loop.
const MAX_PAGES: u32 = 10_000;

/// A Microsoft Graph client for any number of tenants.
///
/// Cheap to clone (an `Arc` inside) and safe to share between tasks: clones
/// share the connection pool, the token cache and the per-tenant request
/// budgets.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    opts: ClientOptions,
    tokens: StdMutex<HashMap<TokenKey, Arc<AsyncMutex<Option<CachedToken>>>>>,
    budgets: StdMutex<HashMap<BudgetKey, Arc<Budget>>>,
    /// What each tenant's Graph made of `$select` on a listing, once seen.
    select: StdMutex<HashMap<BudgetKey, SelectSupport>>,
    /// Per app, tenant and sending mailbox: the requests it may have in
    /// flight (Outlook allows 4 per mailbox).
    mail_slots: StdMutex<HashMap<(BudgetKey, String), Arc<Semaphore>>>,
}

/// A cached token belongs to one tenant entry, endpoint, app and scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    tenant: String,
    endpoint: String,
    client_id: String,
    scope: String,
}

/// Graph's limits apply per app per tenant (per Graph host).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BudgetKey {
    graph: String,
    tenant_id: String,
    client_id: String,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

/// One operation's accounting.
struct Op<'a> {
    tenant: &'a TenantConfig,
    retry: RetryBudget,
    requests: u32,
    retries: u32,
    bytes: u64,
    budget_wait: Duration,
    /// `Prefer: odata.maxpagesize` for this operation, instead of the
    /// client's page size.
    page_size: Option<u32>,
}

impl<'a> Op<'a> {
    fn new(tenant: &'a TenantConfig, max_retry_time: Duration) -> Self {
        Op {
            tenant,
            retry: RetryBudget::new(&tenant.name, max_retry_time),
            requests: 0,
            retries: 0,
            bytes: 0,
            budget_wait: Duration::ZERO,
            page_size: None,
        }
    }

    fn protocol(&self, step: Step, message: impl Into<String>) -> GraphError {
        GraphError::Protocol {
            tenant: self.tenant.name.clone(),
            step,
            message: message.into(),
        }
    }
}

/// What one attempt of a request came to.
enum Attempt<T> {
    Done(T),
    /// Graph answered 401: the token may have been revoked or expired early.
    Unauthorized {
        code: String,
        message: String,
    },
    Transient {
        last: String,
        retry_after: Option<Duration>,
    },
}

/// One page of a listing.
#[derive(Debug, serde::Deserialize)]
struct Page {
    #[serde(rename = "value")]
    items: Vec<Box<serde_json::value::RawValue>>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

impl GraphClient {
    /// A client with `opts` (values out of range are brought into range:
    /// page size `1..=1000`, budgets at least 1).
    ///
    /// Installs ring as the process's rustls crypto provider if none is
    /// installed yet.
    pub fn new(opts: ClientOptions) -> Result<Self, GraphError> {
        // an already installed provider is fine
        let _ = rustls::crypto::ring::default_provider().install_default();
        let opts = opts.normalized();
        let http = reqwest::Client::builder()
            .user_agent(opts.user_agent.clone())
            .timeout(opts.request_timeout)
            .connect_timeout(opts.request_timeout.min(Duration::from_secs(30)))
            // a redirect could carry the token elsewhere; Graph does not redirect
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GraphError::Client {
                message: error_chain(&e),
            })?;
        Ok(GraphClient {
            inner: Arc::new(Inner {
                http,
                opts,
                tokens: StdMutex::new(HashMap::new()),
                budgets: StdMutex::new(HashMap::new()),
                select: StdMutex::new(HashMap::new()),
                mail_slots: StdMutex::new(HashMap::new()),
            }),
        })
    }

    /// The options in effect (after normalization).
    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// Reads every page of `resource` for `tenant`.
    ///
    /// With `since`, only messages and issues modified at or after it (to the
    /// second, rounded down) are asked for, with
    /// `$filter=lastModifiedDateTime ge …`; such a listing is not complete
    /// ([`Fetched::filtered`]). `since` is ignored for health overviews,
    /// which are always listed whole.
    ///
    /// Transient failures of any request (token or page) are retried within
    /// [`ClientOptions::max_retry_time`] for the whole call.
    pub async fn fetch(
        &self,
        tenant: &TenantConfig,
        resource: Resource,
        since: Option<Timestamp>,
    ) -> Result<Fetched, GraphError> {
        let since = since.filter(|_| resource.supports_since());
        let url = first_url(&tenant.graph_base(), resource, since).map_err(|m| {
            Op::new(tenant, self.inner.opts.max_retry_time).protocol(Step::Read(resource), m)
        })?;
        self.list(tenant, resource, url, since.is_some()).await
    }

    /// Reads the membership of `resource` (messages or issues) for `tenant`:
    /// every item's id and `lastModifiedDateTime`, with
    /// `$select=id,lastModifiedDateTime`, a few bytes an item instead of
    /// kilobytes. Graph does not document `$select` on these collections,
    /// so what it made of it is told apart: honoured, ignored (whole items
    /// came back: a complete listing) or refused (400). The answer is
    /// remembered per tenant ([`GraphClient::select_support`]).
    pub async fn fetch_membership(
        &self,
        tenant: &TenantConfig,
        resource: Resource,
    ) -> Result<Membership, GraphError> {
        let step = Step::Read(resource);
        let op = Op::new(tenant, self.inner.opts.max_retry_time);
        if !resource.supports_since() {
            return Err(op.protocol(step, "only messages and issues have a membership listing"));
        }
        let mut url =
            first_url(&tenant.graph_base(), resource, None).map_err(|m| op.protocol(step, m))?;
        url.set_query(Some("$select=id,lastModifiedDateTime"));
        let (membership, support) = match self.list(tenant, resource, url, false).await {
            Ok(fetched) => {
                let parsed = parse_members(fetched.items.iter().map(|i| i.get()));
                if parsed.whole {
                    (Membership::Ignored(fetched), SelectSupport::Ignored)
                } else {
                    let stats = Fetched {
                        items: Vec::new(),
                        ..fetched
                    };
                    (
                        Membership::Honoured {
                            members: parsed.members,
                            unusable: parsed.unusable,
                            stats,
                        },
                        SelectSupport::Honoured,
                    )
                }
            }
            Err(GraphError::Permanent {
                status: 400,
                code,
                message,
                ..
            }) => {
                info!(tenant = %tenant.name, %resource, %code, %message, "Graph refused $select on the listing");
                (Membership::Refused, SelectSupport::Refused)
            }
            Err(e) => return Err(e),
        };
        self.inner
            .select
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.budget_key(tenant), support);
        Ok(membership)
    }

    /// What `tenant`'s Graph made of `$select` the last time this client
    /// asked ([`GraphClient::fetch_membership`]); `None` before.
    pub fn select_support(&self, tenant: &TenantConfig) -> Option<SelectSupport> {
        self.inner
            .select
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&self.budget_key(tenant))
            .copied()
    }

    /// Reads items of `resource` one by one (`GET …/{resource}/{id}`): the
    /// ones a membership listing names that an incremental listing does
    /// not bring. An id Graph no longer has (404) is left out.
    pub async fn fetch_items(
        &self,
        tenant: &TenantConfig,
        resource: Resource,
        ids: &[String],
    ) -> Result<Fetched, GraphError> {
        let step = Step::Read(resource);
        let mut op = Op::new(tenant, self.inner.opts.max_retry_time);
        let base =
            first_url(&tenant.graph_base(), resource, None).map_err(|m| op.protocol(step, m))?;
        let budget = self.budget(tenant);
        let mut fetched = Fetched {
            filtered: true,
            ..Fetched::default()
        };
        for id in ids {
            let mut url = base.clone();
            url.path_segments_mut()
                .map_err(|()| op.protocol(step, "the Graph URL cannot have a path"))?
                .push(id);
            match self.get(&mut op, &budget, step, &url, parse_item).await {
                Ok(item) => {
                    fetched.pages += 1;
                    fetched.items.push(item);
                }
                Err(GraphError::Permanent { status: 404, .. }) => {
                    debug!(tenant = %tenant.name, %resource, id = %id, "gone before it could be read");
                }
                Err(e) => return Err(e),
            }
        }
        fetched.requests = op.requests;
        fetched.retries = op.retries;
        fetched.bytes = op.bytes;
        fetched.budget_wait = op.budget_wait;
        Ok(fetched)
    }

    /// Reads every page of a listing from `first`.
    async fn list(
        &self,
        tenant: &TenantConfig,
        resource: Resource,
        first: Url,
        filtered: bool,
    ) -> Result<Fetched, GraphError> {
        let step = Step::Read(resource);
        let mut op = Op::new(tenant, self.inner.opts.max_retry_time);
        let base = tenant.graph_base();
        let mut url = first;
        let budget = self.budget(tenant);
        let mut fetched = Fetched {
            filtered,
            ..Fetched::default()
        };
        let mut seen = HashSet::new();
        loop {
            let page = self.get(&mut op, &budget, step, &url, parse_page).await?;
            fetched.pages += 1;
            fetched.items.extend(page.items);
            let Some(link) = page.next_link else {
                break;
            };
            let next = check_next_link(&base, &url, &link).map_err(|m| op.protocol(step, m))?;
            if !seen.insert(next.to_string()) || next == url {
                return Err(op.protocol(step, "@odata.nextLink points back to a page already read"));
            }
            if fetched.pages >= MAX_PAGES {
                return Err(op.protocol(
                    step,
                    format!("more than {MAX_PAGES} pages; giving up on a nextLink loop"),
                ));
            }
            url = next;
        }
        fetched.requests = op.requests;
        fetched.retries = op.retries;
        fetched.bytes = op.bytes;
        fetched.budget_wait = op.budget_wait;
        debug!(
            tenant = %tenant.name,
            %resource,
            items = fetched.items.len(),
            pages = fetched.pages,
            requests = fetched.requests,
            retries = fetched.retries,
            bytes = fetched.bytes,
            "listing read"
        );
        Ok(fetched)
    }

    /// Asks the token endpoint for a new token for `tenant` (replacing any
    /// cached one): checks the tenant, the app and its credential. It does not
    /// check Graph permissions.
    pub async fn check_auth(&self, tenant: &TenantConfig) -> Result<(), GraphError> {
        let mut op = Op::new(tenant, self.inner.opts.max_retry_time);
        self.token(&mut op, true).await.map(|_| ())
    }

    /// Checks what changedesk can read in `tenant`: a new token (the tenant,
    /// the app, its credential and consent), then the first item of each
    /// listing (`Prefer: odata.maxpagesize=1`), so a permission the tenant
    /// has not granted shows as that listing's `403`. `Err` when no token
    /// could be had or a listing failed otherwise; `Ok` names the
    /// application permissions found missing (none: all is well).
    pub async fn check_access(
        &self,
        tenant: &TenantConfig,
    ) -> Result<Vec<&'static str>, GraphError> {
        self.check_auth(tenant).await?;
        let budget = self.budget(tenant);
        let mut missing: Vec<&'static str> = Vec::new();
        for resource in Resource::ALL {
            let step = Step::Read(resource);
            let mut op = Op::new(tenant, self.inner.opts.max_retry_time);
            op.page_size = Some(1);
            let url = first_url(&tenant.graph_base(), resource, None)
                .map_err(|m| op.protocol(step, m))?;
            match self.get(&mut op, &budget, step, &url, parse_page).await {
                Ok(_) => {}
                Err(GraphError::Permanent { status: 403, .. }) => {
                    let permission = resource.permission();
                    if !missing.contains(&permission) {
                        missing.push(permission);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(missing)
    }

    fn budget_key(&self, tenant: &TenantConfig) -> BudgetKey {
        BudgetKey {
            graph: tenant.graph_base().to_string(),
            tenant_id: tenant.tenant_id.to_ascii_lowercase(),
            client_id: tenant.client_id.to_ascii_lowercase(),
        }
    }

    fn budget(&self, tenant: &TenantConfig) -> Arc<Budget> {
        let key = self.budget_key(tenant);
        let mut budgets = self
            .inner
            .budgets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        budgets
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Budget::new(
                    self.inner.opts.per_minute,
                    self.inner.opts.per_hour,
                ))
            })
            .clone()
    }

    fn token_slot(&self, tenant: &TenantConfig) -> Arc<AsyncMutex<Option<CachedToken>>> {
        let key = TokenKey {
            tenant: tenant.name.clone(),
            endpoint: tenant.token_endpoint(),
            client_id: tenant.client_id.clone(),
            scope: tenant.graph_scope(),
        };
        let mut tokens = self
            .inner
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        tokens.entry(key).or_default().clone()
    }

    /// The tenant's token: the cached one while fresh, else a new one. One
    /// request at a time per tenant; concurrent callers wait for it.
    async fn token(&self, op: &mut Op<'_>, force: bool) -> Result<SecretString, GraphError> {
        let slot = self.token_slot(op.tenant);
        let mut cached = slot.lock().await;
        if !force
            && let Some(t) = cached.as_ref()
            && t.is_fresh(Instant::now())
        {
            return Ok(t.access.clone());
        }
        let fresh = self.request_token(op).await?;
        let access = fresh.access.clone();
        *cached = Some(fresh);
        Ok(access)
    }

    /// Drops the cached token if it is still `rejected` (another task may
    /// have replaced it already).
    pub(crate) async fn forget_token(&self, tenant: &TenantConfig, rejected: &SecretString) {
        let slot = self.token_slot(tenant);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|t| t.same_as(rejected)) {
            *cached = None;
        }
    }

    /// The tenant's token for an operation that makes a single attempt
    /// ([`GraphClient::send_mail`]): the cached one while fresh, else one
    /// token request, whose transient failure is not retried but reported
    /// as [`GraphError::Transient`].
    pub(crate) async fn one_shot_token(
        &self,
        tenant: &TenantConfig,
    ) -> Result<SecretString, GraphError> {
        let mut op = Op::new(tenant, Duration::ZERO);
        match self.token(&mut op, false).await {
            Err(GraphError::GaveUp {
                tenant, step, last, ..
            }) => Err(GraphError::Transient {
                tenant,
                step,
                last,
                retry_after: None,
            }),
            other => other,
        }
    }

    /// The slots of a sending mailbox (4: Outlook's concurrency limit per
    /// app per mailbox), shared by every clone of this client.
    pub(crate) fn mailbox_slots(&self, tenant: &TenantConfig, sender: &str) -> Arc<Semaphore> {
        let key = (self.budget_key(tenant), sender.trim().to_lowercase());
        self.inner
            .mail_slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(crate::mail::MAILBOX_CONCURRENCY)))
            .clone()
    }

    /// One `POST` of a JSON body with the bearer token, without retries:
    /// Graph's answer, or why none came.
    pub(crate) async fn post_json(
        &self,
        tenant: &TenantConfig,
        url: &Url,
        token: &SecretString,
        body: Vec<u8>,
    ) -> Posted {
        let opts = &self.inner.opts;
        let request_id = uuid::Uuid::new_v4().to_string();
        trace!(tenant = %tenant.name, %url, %request_id, "POST");
        let sent = self
            .inner
            .http
            .post(url.clone())
            .bearer_auth(token.expose_secret())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .header("client-request-id", &request_id)
            .body(body)
            .send()
            .await;
        match sent {
            Err(e) => Posted::Failed(describe_send_error(&e, opts.request_timeout)),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = retry_after(&resp);
                let mut ignored = 0;
                // the status decides; an error body that breaks off is
                // described by the status alone
                let body = read_body(resp, &mut ignored).await.unwrap_or_default();
                Posted::Answer {
                    status,
                    retry_after,
                    body,
                    request_id,
                }
            }
        }
    }

    /// The client-credentials token request, with retries.
    async fn request_token(&self, op: &mut Op<'_>) -> Result<CachedToken, GraphError> {
        let tenant = op.tenant;
        let opts = &self.inner.opts;
        let endpoint = tenant.token_endpoint();
        let scope = tenant.graph_scope();
        let certificate = match &tenant.credential {
            Credential::Secret(_) => None,
            Credential::Certificate {
                certificate_file,
                private_key_file,
            } => {
                Some(CertificateKey::load(&tenant.name, certificate_file, private_key_file).await?)
            }
        };
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let assertion = match &certificate {
                Some(c) => Some(
                    c.assertion(&tenant.client_id, &endpoint, unix_now())
                        .map_err(|message| GraphError::Credential {
                            tenant: tenant.name.clone(),
                            message,
                        })?,
                ),
                None => None,
            };
            let mut form: Vec<(&str, &str)> = vec![
                ("client_id", &tenant.client_id),
                ("scope", &scope),
                ("grant_type", "client_credentials"),
            ];
            let mut secrets: Vec<&str> = Vec::new();
            match (&tenant.credential, &assertion) {
                (Credential::Secret(s), _) => {
                    form.push(("client_secret", s.expose_secret()));
                    secrets.push(s.expose_secret());
                }
                (_, Some(a)) => {
                    form.push(("client_assertion_type", JWT_BEARER));
                    form.push(("client_assertion", a.expose_secret()));
                    secrets.push(a.expose_secret());
                }
                (Credential::Certificate { .. }, None) => {}
            }
            debug!(
                tenant = %tenant.name,
                endpoint = %endpoint,
                credential = tenant.credential.kind(),
                attempt = attempts,
                "requesting an access token"
            );
            let started = Instant::now();
            let sent = self
                .inner
                .http
                .post(&endpoint)
                .header(ACCEPT, "application/json")
                .form(&form)
                .send()
                .await;
            let outcome = match sent {
                Err(e) => Attempt::Transient {
                    last: describe_send_error(&e, opts.request_timeout),
                    retry_after: None,
                },
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = retry_after(&resp);
                    let mut ignored = 0;
                    match read_body(resp, &mut ignored).await {
                        Err(BodyError::TooLarge) => {
                            return Err(op.protocol(Step::Token, "the token response is too large"));
                        }
                        Err(BodyError::Read(e)) => Attempt::Transient {
                            last: format!(
                                "HTTP {status}, then {}",
                                describe_send_error(&e, opts.request_timeout)
                            ),
                            retry_after,
                        },
                        Ok(body) => self.token_outcome(op, status, retry_after, &body, &secrets)?,
                    }
                }
            };
            match outcome {
                Attempt::Done(t) => {
                    info!(
                        tenant = %tenant.name,
                        credential = tenant.credential.kind(),
                        "access token obtained"
                    );
                    return Ok(t);
                }
                // not produced by token_outcome; a refusal all the same
                Attempt::Unauthorized { code, message } => {
                    return Err(GraphError::Permanent {
                        tenant: tenant.name.clone(),
                        step: Step::Token,
                        status: 401,
                        code,
                        message,
                    });
                }
                Attempt::Transient { last, retry_after } => {
                    let last = format!("{last} from the token endpoint");
                    let wait = op.retry.next_wait(
                        Step::Token,
                        started.elapsed(),
                        attempts,
                        retry_after,
                        opts.backoff_base,
                        opts.backoff_max,
                        &last,
                    )?;
                    info!(
                        tenant = %tenant.name,
                        attempt = attempts,
                        wait = ?wait,
                        "{last}; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Classifies a token endpoint response.
    fn token_outcome(
        &self,
        op: &Op<'_>,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
        secrets: &[&str],
    ) -> Result<Attempt<CachedToken>, GraphError> {
        if (200..300).contains(&status) {
            let t = parse_token_response(body).map_err(|m| op.protocol(Step::Token, m))?;
            return Ok(Attempt::Done(CachedToken::new(
                t.access,
                Instant::now(),
                t.lifetime,
            )));
        }
        let parsed = TokenError::parse(body);
        if is_transient_status(status) || parsed.as_ref().is_some_and(TokenError::is_transient) {
            let code = parsed.map(|p| format!(" {}", p.error)).unwrap_or_default();
            return Ok(Attempt::Transient {
                last: format!("HTTP {status}{code}"),
                retry_after,
            });
        }
        let (code, message) = match parsed {
            Some(p) => (p.error.clone(), p.message(secrets)),
            None => (String::new(), body_excerpt(status, body, secrets)),
        };
        Err(GraphError::Permanent {
            tenant: op.tenant.name.clone(),
            step: Step::Token,
            status,
            code,
            message,
        })
    }

    /// One page (or item: `parse` says which), with retries, and one new
    /// token if Graph rejects the token.
    async fn get<T>(
        &self,
        op: &mut Op<'_>,
        budget: &Budget,
        step: Step,
        url: &Url,
        parse: fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, GraphError> {
        let opts = &self.inner.opts;
        let mut attempts = 0u32;
        let mut reauthenticated = false;
        loop {
            // the budget first: a long wait must not age the token
            op.budget_wait += budget.acquire().await;
            let token = self.token(op, false).await?;
            attempts += 1;
            op.requests += 1;
            if attempts > 1 {
                op.retries += 1;
            }
            let request_id = uuid::Uuid::new_v4().to_string();
            trace!(tenant = %op.tenant.name, %url, %request_id, attempt = attempts, "GET");
            let started = Instant::now();
            let sent = self
                .inner
                .http
                .get(url.clone())
                .bearer_auth(token.expose_secret())
                .header(ACCEPT, "application/json")
                .header(
                    "Prefer",
                    format!(
                        "odata.maxpagesize={}",
                        op.page_size.unwrap_or(opts.page_size)
                    ),
                )
                .header("client-request-id", &request_id)
                .send()
                .await;
            let outcome = match sent {
                Err(e) => Attempt::Transient {
                    last: describe_send_error(&e, opts.request_timeout),
                    retry_after: None,
                },
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = retry_after(&resp);
                    match read_body(resp, &mut op.bytes).await {
                        Err(BodyError::TooLarge) => {
                            return Err(op.protocol(
                                step,
                                format!("a page is larger than {} MiB", MAX_BODY_BYTES >> 20),
                            ));
                        }
                        Err(BodyError::Read(e)) => Attempt::Transient {
                            last: format!(
                                "HTTP {status}, then {}",
                                describe_send_error(&e, opts.request_timeout)
                            ),
                            retry_after,
                        },
                        Ok(body) => {
                            page_outcome(op, step, status, retry_after, &body, &token, parse)?
                        }
                    }
                }
            };
            match outcome {
                Attempt::Done(page) => return Ok(page),
                Attempt::Unauthorized { code, message } => {
                    if reauthenticated {
                        return Err(GraphError::Permanent {
                            tenant: op.tenant.name.clone(),
                            step,
                            status: 401,
                            code,
                            message,
                        });
                    }
                    reauthenticated = true;
                    info!(
                        tenant = %op.tenant.name,
                        code = %code,
                        "Graph rejected the access token; requesting a new one"
                    );
                    self.forget_token(op.tenant, &token).await;
                }
                Attempt::Transient { last, retry_after } => {
                    let wait = op.retry.next_wait(
                        step,
                        started.elapsed(),
                        attempts,
                        retry_after,
                        opts.backoff_base,
                        opts.backoff_max,
                        &last,
                    )?;
                    info!(
                        tenant = %op.tenant.name,
                        %step,
                        attempt = attempts,
                        wait = ?wait,
                        %request_id,
                        "{last}; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// Classifies a Graph page (or item) response.
fn page_outcome<T>(
    op: &Op<'_>,
    step: Step,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    token: &SecretString,
    parse: fn(&[u8]) -> Result<T, String>,
) -> Result<Attempt<T>, GraphError> {
    if (200..300).contains(&status) {
        return Ok(match parse(body) {
            Ok(page) => Attempt::Done(page),
            Err(why) => Attempt::Transient {
                last: format!("HTTP {status} with an unusable page ({why})"),
                retry_after: None,
            },
        });
    }
    let secrets = [token.expose_secret()];
    let (code, message) = match GraphErrorBody::parse(body) {
        Some(e) => {
            let message = e.message(&secrets);
            (e.code, message)
        }
        None => (String::new(), body_excerpt(status, body, &secrets)),
    };
    if status == 401 {
        return Ok(Attempt::Unauthorized { code, message });
    }
    if is_transient_status(status) {
        let code = if code.is_empty() {
            String::new()
        } else {
            format!(" {code}")
        };
        return Ok(Attempt::Transient {
            last: format!("HTTP {status}{code}"),
            retry_after,
        });
    }
    Err(GraphError::Permanent {
        tenant: op.tenant.name.clone(),
        step,
        status,
        code,
        message,
    })
}

/// What one `POST` came to ([`GraphClient::post_json`]).
pub(crate) enum Posted {
    /// Graph answered.
    Answer {
        status: u16,
        retry_after: Option<Duration>,
        body: Vec<u8>,
        /// The `client-request-id` sent.
        request_id: String,
    },
    /// No answer: a timeout, a connection that failed or broke (described).
    Failed(String),
}

/// Microsoft's error code and a message (scrubbed of `secrets`) of an
/// error response.
pub(crate) fn error_parts(status: u16, body: &[u8], secrets: &[&str]) -> (String, String) {
    match GraphErrorBody::parse(body) {
        Some(e) => {
            let message = e.message(secrets);
            (e.code, message)
        }
        None => (String::new(), body_excerpt(status, body, secrets)),
    }
}

/// `{"error":{"code":"…","message":"…","innerError":{…}}}`.
struct GraphErrorBody {
    code: String,
    message: String,
    request_id: String,
}

impl GraphErrorBody {
    fn parse(body: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Outer {
            error: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            code: Option<String>,
            message: Option<String>,
            #[serde(alias = "innererror")]
            #[serde(rename = "innerError")]
            inner: Option<serde_json::Value>,
        }
        let outer: Outer = serde_json::from_slice(body).ok()?;
        let request_id = outer
            .error
            .inner
            .as_ref()
            .and_then(|i| i.get("request-id"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        Some(GraphErrorBody {
            code: outer.error.code.unwrap_or_default().trim().to_string(),
            message: outer.error.message.unwrap_or_default(),
            request_id,
        })
    }

    fn message(&self, secrets: &[&str]) -> String {
        let mut m = if self.message.trim().is_empty() {
            "(no message)".to_string()
        } else {
            self.message.clone()
        };
        if !self.request_id.is_empty() {
            m = format!("{m} (request-id {})", self.request_id);
        }
        scrub(&m, secrets)
    }
}

/// A response body that is not the expected error object, for a message.
fn body_excerpt(status: u16, body: &[u8], secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        format!(
            "{} (empty body)",
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("unexpected status")
        )
    } else {
        scrub(&text, secrets)
    }
}

/// Reads a page: a JSON object with a `value` array and perhaps a string
/// `@odata.nextLink`. Anything else is a broken (often truncated) page.
/// The items are kept as their JSON text (see [`Fetched::items`]).
fn parse_page(body: &[u8]) -> Result<Page, String> {
    serde_json::from_slice(body).map_err(|e| format!("not a page of items: {e}"))
}

/// One item (`GET …/{id}`): a JSON object, kept as text.
fn parse_item(body: &[u8]) -> Result<Box<serde_json::value::RawValue>, String> {
    let item: Box<serde_json::value::RawValue> =
        serde_json::from_slice(body).map_err(|e| format!("not an item: {e}"))?;
    if !item.get().trim_start().starts_with('{') {
        return Err("not an item: not a JSON object".to_string());
    }
    Ok(item)
}

/// `{graph}v1.0/admin/serviceAnnouncement/{resource}`, with the
/// `lastModifiedDateTime` filter when `since` is given.
fn first_url(base: &Url, resource: Resource, since: Option<Timestamp>) -> Result<Url, String> {
    let mut url = base
        .join(&format!(
            "v1.0/admin/serviceAnnouncement/{}",
            resource.path()
        ))
        .map_err(|e| format!("the Graph URL {base} cannot be extended: {e}"))?;
    if let Some(since) = since {
        url.set_query(Some(&format!(
            "$filter=lastModifiedDateTime ge {}",
            odata_datetime(since)
        )));
    }
    Ok(url)
}

/// An OData `DateTimeOffset` literal to the second, in UTC:
/// `2025-01-25T00:00:00Z`.
fn odata_datetime(t: Timestamp) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.as_datetime()
        .format(&f)
        .unwrap_or_else(|_| t.to_canonical())
}

/// The next page's URL: `link` resolved against the current page, accepted
/// only on the tenant's Graph scheme, host and port.
fn check_next_link(base: &Url, current: &Url, link: &str) -> Result<Url, String> {
    let next = current
        .join(link.trim())
        .map_err(|_| "@odata.nextLink is not a URL".to_string())?;
    let same_origin = next.scheme() == base.scheme()
        && next.host_str() == base.host_str()
        && next.port_or_known_default() == base.port_or_known_default();
    if !same_origin {
        return Err(format!(
            "refusing @odata.nextLink to {}://{}{}: not the tenant's Graph host {}://{}{} (the access token is only sent there)",
            next.scheme(),
            next.host_str().unwrap_or(""),
            next.port().map(|p| format!(":{p}")).unwrap_or_default(),
            base.scheme(),
            base.host_str().unwrap_or(""),
            base.port().map(|p| format!(":{p}")).unwrap_or_default(),
        ));
    }
    if !next.username().is_empty() || next.password().is_some() {
        return Err("refusing @odata.nextLink with a user name or password".into());
    }
    Ok(next)
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// The whole body, up to [`MAX_BODY_BYTES`], adding what was read to `bytes`.
async fn read_body(mut resp: reqwest::Response, bytes: &mut u64) -> Result<Vec<u8>, BodyError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(BodyError::TooLarge);
    }
    // the announced length up front: growing the buffer chunk by chunk
    // copies a page of megabytes several times
    // (at most 16 MiB of it: the length is the server's word)
    let announced = resp.content_length().unwrap_or(0).min(16 << 20);
    let mut body = Vec::with_capacity(announced as usize);
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Read)? {
        *bytes += chunk.len() as u64;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A failed send or body read, for `GaveUp::last` and logs (no URL, no
/// headers).
fn describe_send_error(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("no complete response within {timeout:.1?}")
    } else if e.is_connect() {
        format!("cannot connect ({})", error_chain(e))
    } else if e.is_body() || e.is_decode() {
        format!("the response broke off ({})", error_chain(e))
    } else {
        format!("the request failed ({})", error_chain(e))
    }
}

/// The causes of an error, joined; reqwest's own message (which repeats the
/// URL) only when it has no cause.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://graph.microsoft.com/").expect("url")
    }

    #[test]
    fn first_urls_and_filters() {
        let u = first_url(&base(), Resource::Messages, None).expect("url");
        assert_eq!(
            u.as_str(),
            "https://graph.microsoft.com/v1.0/admin/serviceAnnouncement/messages"
        );
        let since = Timestamp::parse("2025-01-25T00:00:00.987654Z").expect("ts");
        let u = first_url(&base(), Resource::Issues, Some(since)).expect("url");
        assert_eq!(
            u.as_str(),
            "https://graph.microsoft.com/v1.0/admin/serviceAnnouncement/issues?$filter=lastModifiedDateTime%20ge%202025-01-25T00:00:00Z"
        );
        let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![(
                "$filter".to_string(),
                "lastModifiedDateTime ge 2025-01-25T00:00:00Z".to_string()
            )]
        );
        let b = Url::parse("http://127.0.0.1:9/graph/").expect("url");
        let u = first_url(&b, Resource::HealthOverviews, None).expect("url");
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/graph/v1.0/admin/serviceAnnouncement/healthOverviews"
        );
    }

    #[test]
    fn next_links_stay_on_the_graph_host() {
        let cur = first_url(&base(), Resource::Messages, None).expect("url");
        let ok = check_next_link(
            &base(),
            &cur,
            "https://GRAPH.microsoft.com:443/v1.0/admin/serviceAnnouncement/messages?$skiptoken=abc%3D",
        )
        .expect("same host");
        assert_eq!(ok.query(), Some("$skiptoken=abc%3D"));
        assert!(check_next_link(&base(), &cur, "?$skip=100").is_ok());
        for bad in [
            "http://graph.microsoft.com/v1.0/x",
            "https://graph.microsoft.com:8443/v1.0/x",
            "https://evil.example/v1.0/x",
            "https://graph.microsoft.com.evil.example/v1.0/x",
            "https://user:pw@graph.microsoft.com/v1.0/x",
            "//evil.example/x",
        ] {
            assert!(check_next_link(&base(), &cur, bad).is_err(), "{bad}");
        }
        let e =
            check_next_link(&base(), &cur, "https://evil.example:444/a?b").expect_err("foreign");
        assert!(
            e.starts_with("refusing @odata.nextLink to https://evil.example:444:"),
            "{e}"
        );
    }

    #[test]
    fn pages() {
        let p = parse_page(
            br#"{"@odata.context":"x","value":[{"id":"MC1"}],"@odata.nextLink":"https://g/next"}"#,
        )
        .expect("page");
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.next_link.as_deref(), Some("https://g/next"));
        let p = parse_page(br#"{"value":[]}"#).expect("page");
        assert!(p.items.is_empty() && p.next_link.is_none());
        assert!(parse_page(br#"{"value":[{"id":"MC1"},{"id":"#).is_err());
        assert!(parse_page(br#"{"values":[]}"#).is_err());
        assert!(parse_page(br#"[]"#).is_err());
        assert!(parse_page(br#"{"value":{}}"#).is_err());
        assert!(parse_page(br#"{"value":[],"@odata.nextLink":5}"#).is_err());
    }

    #[test]
    fn graph_error_bodies() {
        let e = GraphErrorBody::parse(
            br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2025-01-01T00:00:00","request-id":"abc-1","client-request-id":"abc-1"}}}"#,
        )
        .expect("parses");
        assert_eq!(e.code, "Authorization_RequestDenied");
        assert_eq!(
            e.message(&[]),
            "Insufficient privileges to complete the operation. (request-id abc-1)"
        );
        let e = GraphErrorBody::parse(br#"{"error":{"code":"x","message":"tok eyJabcdef1"}}"#)
            .expect("parses");
        assert_eq!(e.message(&["eyJabcdef1"]), "tok [redacted]");
        assert!(GraphErrorBody::parse(b"<html/>").is_none());
        assert_eq!(body_excerpt(502, b"", &[]), "Bad Gateway (empty body)");
    }
}
