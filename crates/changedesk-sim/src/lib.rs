//! A deterministic, realistic corpus of Microsoft 365 Message Center posts
//! and service health issues, in the exact Microsoft Graph wire format, and
//! a simulator that serves it over HTTP as Microsoft Graph and the Entra ID
//! token endpoint do (see [Simulator](#simulator)).
//!
//! [`generate`] turns a [`CorpusSpec`] into a [`Corpus`]: `messages` are
//! `serviceUpdateMessage` objects as returned by
//! `GET /admin/serviceAnnouncement/messages`, `issues` are
//! `serviceHealthIssue` objects as returned by `.../issues`, both as
//! [`serde_json::Value`] with camelCase keys and camelCase enum values
//! (`stayInformed`, `normal`, `html`, `serviceDegradation`, ...), as the
//! real service sends them.
//!
//! # Realism
//!
//! Distributions follow a real tenant's live feed: category (stayInformed
//! about 65 %, planForChange 31 %, preventOrFixIssue 4 %), `isMajorChange`
//! (about 23 %), `actionRequiredByDateTime` (about 5 %), mostly `normal`
//! severity, the real tag names, the 32 real service names with their
//! frequencies (including the quirk `"Microsoft Clipchamp "` with a trailing
//! space), one service per post with a second one about 17 % of the time,
//! `details` (`Summary`, `RoadmapIds` as `"557253,557254"`, `Platforms` as
//! `"Android, Desktop, iOS, Mac, Web"`, `FeatureStatusJson` as a JSON
//! *string*, occasional `ExternalLink`/`BlogLink`/`HelpLink`), timestamps
//! with fractional seconds of varying length (`.963Z`, `.53Z`, none), MC ids
//! that grow with publication time (about 800 a day, MC1459000 in late
//! August 2026), posts published weeks to years before "now" and expiring
//! days to months after it. Bodies are 1 to 6 KB of HTML with the bracketed
//! section headings (`<p>[When this will happen:]</p>`, `[How this will
//! affect your organization:]`, `[What you need to do to prepare:]`, some
//! real variants), rollout dates written as "mid-March 2026", roadmap links,
//! lists, bold text, images and compliance tables, composed from templates
//! so posts differ. Posts edited in the past carry the `(Updated) ` title
//! prefix, the "Updated message" tag, an "Updated August 14, 2026:" first
//! paragraph and "(previously mid-March)" notes.
//!
//! Issues carry an id prefix per workload (`EX`, `MO`, `CR` and `FM` as
//! seen in real data; `TM`, `SP`, `OD`, `IT`, `PB`, `PL`, `MF`, `PA`, `DZ`
//! by the same convention, unverified), use the real `healthOverviews`
//! workload ids and names (`Exchange`/"Exchange Online", ...), move through a
//! status state machine, and have one post per step whose text follows the
//! real semi-structured layout ("Title: ...User Impact: ...Current status:
//! ...Next update by: ..."); resolved issues switch to past-tense titles,
//! get an `endDateTime`, and incidents may later get a post-incident
//! review.
//!
//! # Tenants
//!
//! [`tenant_messages`], [`tenant_issues`] and [`tenant_health_overviews`]
//! give one tenant's view: each tenant sees an independent, stable,
//! roughly `coverage`-sized subset, and its own per-platform rollout states
//! inside `FeatureStatusJson` (which, as in the real feed, change with time
//! without `lastModifiedDateTime` changing).
//!
//! # Time
//!
//! [`advance`] lets days pass: posts are edited, published and expired,
//! issues progress. [`publish`] is the exact control benchmarks need: a
//! given number of new posts and of edited posts, nothing else. Nothing
//! reads the wall clock or the environment; the corpus "now" is
//! [`CorpusSpec::base_time`].
//!
//! # Determinism
//!
//! Every item draws from its own ChaCha8 RNG seeded from a hash of the
//! seed, a purpose and the item's id, so an item does not depend on how
//! many others were generated, and tenant views stay stable as the corpus
//! grows. Posts are built on a few threads; the output does not depend on
//! the thread count. Generating 100,000 posts takes one to three seconds in
//! release mode on a two-core machine (most of it allocating the JSON).
//!
//! ```
//! let spec = changedesk_sim::CorpusSpec { posts: 50, issues: 5, ..Default::default() };
//! let corpus = changedesk_sim::generate(&spec);
//! assert_eq!(corpus.messages.len(), 50);
//! let later = changedesk_sim::advance(&corpus, 7, 42);
//! assert!(later.spec.base_time > corpus.spec.base_time);
//! ```
//!
//! # Simulator
//!
//! [`start`] serves K tenants ([`SimConfig::tenants`]) of a generated
//! corpus over HTTP on [`SimConfig::listen`] (default `127.0.0.1:0`) in a
//! tokio task, and returns a [`SimHandle`]. One base URL
//! ([`SimHandle::base_url`], `http://127.0.0.1:PORT/`) serves both the
//! token endpoint and Graph, so a tenant is configured with
//! `login_url = graph_url = base_url`, its `tenant_id` from
//! [`SimHandle::tenants`], [`SIM_CLIENT_ID`], and [`SIM_CLIENT_SECRET`] or
//! the certificate [`TEST_APP_CERTIFICATE_PEM`] with its key
//! [`TEST_APP_PRIVATE_KEY_PEM`]. It is a test double: it behaves like Graph
//! wherever a client could otherwise get away with a mistake.
//!
//! ```
//! # async fn demo() -> Result<(), changedesk_sim::SimError> {
//! let sim = changedesk_sim::start(changedesk_sim::SimConfig::default()).await?;
//! let tenant = &sim.tenants()[0];
//! let token_url = format!("{}{}/oauth2/v2.0/token", sim.base_url(), tenant.tenant_id);
//! let messages = format!("{}v1.0/admin/serviceAnnouncement/messages", sim.base_url());
//! # let _ = (token_url, messages);
//! sim.shutdown().await;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! ## Token endpoint: `POST /{tenant}/oauth2/v2.0/token`
//!
//! `{tenant}` is a directory id ([`tenant_guid`]), a name ([`tenant_name`])
//! or `tenant-001.onmicrosoft.com`, case-insensitively. The form is the
//! client-credentials grant: `grant_type=client_credentials`, `client_id`,
//! `scope`, and either `client_secret` (or HTTP Basic authentication) or
//! `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
//! with `client_assertion`.
//!
//! - **Scope rule:** `scope` must be `{base_url without its trailing
//!   slash}/.default`: the simulator is the Graph root, and a Graph root's
//!   domain is the scope's, as in a national cloud.
//!   `https://graph.microsoft.com/.default` is refused (`invalid_scope`).
//! - **Assertions** are verified for real: header `alg` `PS256` (`RS256` is
//!   accepted too, as Entra does for older MSAL versions), header
//!   `x5t#S256` equal to base64url(SHA-256(DER)) of the registered
//!   certificate ([`SimConfig::certificate_pem`]; the SHA-1 `x5t` alone is
//!   not accepted), the signature checked with the certificate's RSA key,
//!   `aud` equal to the token URL as requested
//!   (`{base_url}{tenant}/oauth2/v2.0/token` with the same `{tenant}`
//!   text), `iss` = `sub` = client id, `exp` in the future and `nbf` (if
//!   present) not in the future, each with 60 s of tolerated skew.
//! - **Errors** are Entra's: `{"error", "error_description": "AADSTS…",
//!   "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}`.
//!   Unknown tenant: 400 `invalid_request` AADSTS90002. Wrong client id, or
//!   a tenant that has not consented to the app (see
//!   [Admin consent](#admin-consent-get-tenantv20adminconsent)): 400
//!   `unauthorized_client` AADSTS700016. Bad scope: 400 `invalid_scope`
//!   AADSTS70011. Missing parameter: 400 `invalid_request` AADSTS900144.
//!   Other grant: 400 `unsupported_grant_type` AADSTS70003. No credential:
//!   401 `invalid_client` AADSTS7000218. Wrong secret: 401 `invalid_client`
//!   AADSTS7000215. Assertion: 401 `invalid_client` with AADSTS50027
//!   (malformed), AADSTS5002738 (algorithm), AADSTS700027 (unregistered
//!   thumbprint or bad signature), AADSTS700023 (audience), AADSTS700021
//!   (issuer/subject), AADSTS700024 (expired or not yet valid).
//! - **Success:** `{"token_type": "Bearer", "expires_in":
//!   token_lifetime_secs, "ext_expires_in": …, "access_token": "sim.…"}`.
//!   The token is opaque (not a JWT); the simulator remembers its tenant
//!   and expiry.
//!
//! ## Graph: `GET /v1.0/admin/serviceAnnouncement/{messages,issues,healthOverviews}`
//!
//! Each tenant sees its own view ([`tenant_messages`], [`tenant_issues`],
//! [`tenant_health_overviews`] of the current corpus), or, when a corpus
//! file is served ([`SimConfig::corpus_file_items`],
//! [`SimHandle::set_corpus_file_items`], `PUT /_sim/corpus`), those posts
//! for every tenant (issues and health still come from the generated
//! corpus). `GET …/{collection}/{id}` returns one item.
//!
//! - **Authentication:** `Authorization: Bearer <token>`; missing, unknown
//!   or expired → 401 `InvalidAuthenticationToken` (expired: "Lifetime
//!   validation failed, the token is expired."). Errors are Graph's
//!   `{"error": {"code", "message", "innerError": {"date", "request-id",
//!   "client-request-id"}}}`.
//! - **Permissions:** the token's app roles (those of the moment it was
//!   issued) must hold [`SERVICE_MESSAGE_READ_ALL`] for `messages` (and a
//!   message by id), [`SERVICE_HEALTH_READ_ALL`] for `issues` and
//!   `healthOverviews`; else 403 `Authorization_RequestDenied`
//!   "Insufficient privileges to complete the operation." Both are in
//!   [`DEFAULT_APP_ROLES`].
//! - **Paging:** 100 items a page; `Prefer: odata.maxpagesize=N` is
//!   honoured up to 1000 and acknowledged with `Preference-Applied`, and
//!   must be sent again with each page. Bodies carry `@odata.context` and,
//!   while more remain, `@odata.nextLink` with an opaque `$skiptoken` (the
//!   corpus version, position, last id returned and the query), bound to
//!   the tenant and collection (400 otherwise). A nextLink issued before
//!   the corpus changed continues after the last item it returned if that
//!   item is still served, else at the same position: a listing that spans
//!   a change may miss items edited into an earlier position, as with any
//!   live service.
//! - **Query options:** `$filter` on `lastModifiedDateTime` with `eq`,
//!   `ne`, `gt`, `ge`, `lt`, `le` and an unquoted DateTimeOffset literal
//!   (`lastModifiedDateTime ge 2025-01-25T00:00:00Z`), clauses joined by
//!   `and`; anything else is a 400 `BadRequest` "Invalid filter clause: …"
//!   (a quoted date, an unknown property, other properties, `or`), and
//!   `details` gives "Filter on details is not supported".
//!   `$orderby=lastModifiedDateTime [asc|desc]`; `$top` caps the total
//!   across pages (OData's meaning); `$skip`. Other `$` options are a 400.
//! - **Throttling** per app per tenant over sliding windows:
//!   [`Limits::per_minute`] (240) and [`Limits::per_hour`] (800). Beyond
//!   either → 429 `TooManyRequests` with `Retry-After` the exact seconds
//!   (fractional) until a request would be admitted. Only admitted
//!   requests count, so waiting the `Retry-After` always works.
//! - **Order of checks:** latency, token, throttling, tenant mode, app
//!   role, injected 429, injected 503, then the query and the page (maybe
//!   truncated).
//!
//! ## Admin consent: `GET /{tenant}/v2.0/adminconsent`
//!
//! Every tenant has consented to the app ([`SIM_CLIENT_ID`]) at start,
//! unless [`SimConfig::unconsented`]. A tenant without consent has no
//! service principal of the app: its token endpoint answers 400
//! `unauthorized_client` AADSTS700016, as for an unknown app. Entra's v2
//! admin consent endpoint, with `client_id`, `scope`, `redirect_uri` and
//! `state`, grants it; there is no UI: the tenant's administrator approves
//! at once. `{tenant}` must be one tenant (as for the token endpoint;
//! `common`, `organizations` or unknown → 400 `text/html` page with
//! AADSTS90002). A missing parameter (AADSTS900144), another client id
//! (AADSTS700016) or a redirect URI that is not the app's (AADSTS50011; the
//! authorization endpoint's rule) → 400 `text/html` page, no redirect. A
//! scope other than `{base_url without its trailing slash}/.default` → 302
//! to the redirect URI with `error=invalid_scope`. Else 302 to
//! `{redirect_uri}?admin_consent=True&tenant={tenant id}&scope={scope}&state={state}`
//! (form-encoded, after any query the redirect URI has; `state` only when
//! sent), and the tenant grants [`SimConfig::app_roles`] (unless its roles
//! were set by hand since consent was last withdrawn: those are kept).
//! [`SimHandle::decline_next_consent`] declines the next request that gets
//! that far, once: 302 with `error=access_denied`, `error_description=AADSTS65004: User
//! declined to consent to access the app.`, `admin_consent=False`, `tenant`
//! and `state`. [`SimHandle::set_consented`] grants or withdraws consent
//! directly; withdrawing empties the tenant's roles and forgets its app
//! tokens (Graph: 401 `InvalidAuthenticationToken`, as for unknown tokens).
//! Sign-ins ([OpenID Connect](#openid-connect-a-mock-entra-id)) do not
//! depend on consent.
//!
//! ## OpenID Connect: a mock Entra ID
//!
//! Per tenant (named as for the token endpoint), with issuer
//! `{base_url}{tenant id}/v2.0` ([`SimHandle::oidc_issuer`]):
//!
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration`: Entra's
//!   discovery document (endpoints under the tenant id, `RS256`,
//!   `code_challenge_methods_supported: ["S256"]`).
//! - `GET /{tenant}/oauth2/v2.0/authorize`: checks `client_id`
//!   ([`SIM_CLIENT_ID`]; AADSTS700016), `redirect_uri` (registered with
//!   [`SimHandle::oidc_set_redirect_uris`], or any loopback `http` URI while
//!   none is; AADSTS50011) — those two are answered, never redirected —
//!   then `response_type=code`, `response_mode` `query`, `scope` with
//!   `openid`, and PKCE (`code_challenge` with method `S256`; missing or
//!   `plain` is refused), each refusal sent to the redirect URI as
//!   `error`/`error_description` with the `state`. No UI: the
//!   [`SimUser`] that `login_hint` names (username, e-mail or oid), else the
//!   first one ([`SimHandle::oidc_set_users`]; by default one admin), signs
//!   in at once, and the answer is a 302 to the redirect URI with a
//!   single-use `code` (10 minutes) and the `state` unchanged.
//! - `POST /{tenant}/oauth2/v2.0/token` with
//!   `grant_type=authorization_code`: the client secret (AADSTS7000215),
//!   the code (unknown AADSTS9002313, reused AADSTS54005, expired
//!   AADSTS70008, another tenant's AADSTS70000), the same `redirect_uri`
//!   (AADSTS500112) and the PKCE `code_verifier` (base64url(SHA-256) must be
//!   the challenge; AADSTS501481), all `invalid_grant` or `invalid_client`
//!   in Entra's error shape. A code is spent by any redemption attempt. The
//!   answer holds an `id_token` (RS256, `kid` header; `iss`, `aud`, `sub`
//!   (pairwise), `oid`, `tid`, `iat`, `nbf`, `exp`, `nonce`, `name`,
//!   `preferred_username`, `email`, `roles`, `groups`, `ver`), the `scope`
//!   asked for at the authorization endpoint, and an opaque delegated
//!   access token for the user (1 hour; remembered with its tenant, user
//!   and scopes). A user in more than [`GROUPS_OVERAGE_LIMIT`] (200)
//!   groups gets Entra's overage claims instead of `groups`:
//!   `"_claim_names": {"groups": "src1"}, "_claim_sources": {"src1":
//!   {"endpoint": "https://graph.windows.net/{tid}/users/{oid}/getMemberObjects"}}`.
//! - `POST /v1.0/me/getMemberObjects {"securityEnabledOnly": false}` with
//!   that access token as `Authorization: Bearer`: `{"@odata.context":
//!   "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
//!   "value": [group ids]}`, all of the user's groups in one answer (the
//!   simulator does not tell security groups from Microsoft 365 groups, so
//!   `securityEnabledOnly` changes nothing). Missing, unknown or expired
//!   token → 401 `InvalidAuthenticationToken`; a token whose sign-in did
//!   not ask for `User.Read` (bare or with a resource prefix, such as
//!   `https://graph.microsoft.com/User.Read`) → 403
//!   `Authorization_RequestDenied`; a body that is not JSON or lacks a
//!   boolean `securityEnabledOnly` → 400 `Request_BadRequest`; all in
//!   Graph's error shape, and in the request log.
//! - `GET /{tenant}/discovery/v2.0/keys`: the JWKS with the public half of
//!   [`OIDC_SIGNING_KEY_PEM`] (a published test key).
//! - [`IdTokenFault`] spoils the next ID token only
//!   ([`SimHandle::oidc_set_fault`]): wrong audience, expired, not yet
//!   valid, wrong nonce, bad signature (another key, the published `kid`),
//!   unknown key, wrong issuer.
//! - [`MemberObjectsFault`] spoils the next `getMemberObjects` answer
//!   ([`SimHandle::oidc_set_member_objects_fault`]): `denied` (403
//!   `Authorization_RequestDenied`, as without consent to `User.Read`),
//!   `unavailable` (503), `malformed` (200 with a `value` that is not a
//!   list of ids).
//!
//! ## Graph: `POST /v1.0/users/{id | userPrincipalName}/sendMail`
//!
//! The JSON form of Graph's `sendMail`, as an app sends it with the
//! `Mail.Send` application permission: `{"message": {…},
//! "saveToSentItems": …}` → `202 Accepted`, empty body, and the message is
//! recorded ([`SentMail`]: tenant, sender, recipients, subject, body type
//! and content, `x-` headers, `internetMessageId`, time):
//! [`SimHandle::sent_mail`], `GET /_sim/mail`.
//!
//! - **Permission:** the token must carry the app role [`MAIL_SEND`].
//!   Each tenant grants the app [`SimConfig::app_roles`] at start
//!   ([`DEFAULT_APP_ROLES`], Mail.Send included, so `changedesk demo` can
//!   send); a token carries the roles of the moment it was issued, as
//!   Entra's `roles` claim does ([`SimHandle::revoke_app_role`] then
//!   [`SimHandle::expire_tokens`] for an immediate effect). Without it: 403
//!   `ErrorAccessDenied` (also in the `consent_revoked` mode). Token
//!   refusals are the listings' 401 `InvalidAuthenticationToken`.
//! - **Users:** each tenant has a mailbox user per
//!   [`SimConfig::mailboxes`] local part (`changedesk@tenant-001.onmicrosoft.com`
//!   by default), named in the path by address (case-insensitively) or
//!   object id ([`derived_oid`] of the address); more with
//!   [`SimHandle::set_mail_user`], with or without a mailbox. Unknown user:
//!   404 `ErrorInvalidUser`; no mailbox: 404 `MailboxNotEnabledForRESTAPI`;
//!   `/v1.0/me/sendMail` with an app token: 400.
//! - **Validation** as Graph's: `Content-Type: application/json` (else
//!   415; the base64 MIME form is not implemented), at most
//!   [`MAX_SEND_MAIL_BYTES`] (413), JSON (400 `BadRequest`), `message`
//!   required, unknown parameters and `message` properties refused (400
//!   `RequestBodyRead`, names case-insensitive), `contentType` `text` or
//!   `html` in any case, at least one recipient in To, Cc or Bcc and every
//!   address resolvable (400 `ErrorInvalidRecipients`), at most
//!   [`MAX_MAIL_RECIPIENTS`], header names starting with `x-` (400
//!   `InvalidInternetMessageHeader`), `internetMessageId` as `<left@right>`,
//!   a `from` other than the mailbox refused (403 `ErrorSendAsDenied`).
//! - **Throttling** per app per mailbox ([`MailLimits`]): 4 requests in
//!   flight (a fifth → 429 `ApplicationThrottled` "Application is over its
//!   MailboxConcurrency limit.", `Retry-After: 1`) and 10,000 in 10
//!   minutes (429 with the exact `Retry-After`). The listings' per-tenant
//!   [`Limits`] do not apply.
//! - **Faults:** scripted ([`MailFault`]: 429 with a `Retry-After`, 500,
//!   502, 503, 504; [`SimHandle::set_mail_faults`], `PUT
//!   /_sim/mail/faults`), each failing one request after the role check;
//!   then the [`Faults`] dice (`fault_429`, `fault_503`: two draws per
//!   request); `latency_ms` is spent holding a mailbox slot, so it makes
//!   concurrency observable; `endless_503` fails every request.
//!
//! ## Graph: Microsoft Planner
//!
//! Each tenant has one Microsoft 365 group, id
//! [`derived_oid`]`("changes@{domain}")`, owning one plan titled
//! [`PLANNER_PLAN_TITLE`] with one bucket "To do"; plan and bucket ids (28
//! characters) derive from the tenant id. [`SimHandle::planner_plan`],
//! `GET /_sim/planner` and `GET /_sim/tenants` (`planner.group_id`,
//! `planner.plan_id`, `planner.bucket_id`) name them;
//! [`SimHandle::planner_add_plan`] adds plans. Served under `/v1.0`:
//! `GET /groups/{id}/planner/plans`, `GET /planner/plans/{id}`,
//! `GET /planner/plans/{id}/buckets`, `GET /planner/buckets/{id}`,
//! `POST /planner/buckets`, `GET /planner/plans/{id}/tasks` (paged with
//! `@odata.nextLink`, [`PLANNER_PAGE_SIZE`] a page,
//! [`SimHandle::planner_set_page_size`]), `POST /planner/tasks` (201),
//! `GET`, `PATCH`, `DELETE /planner/tasks/{id}`, `GET`, `PATCH
//! /planner/tasks/{id}/details`.
//!
//! - **Permission:** the token's roles must hold [`TASKS_READ_WRITE_ALL`]
//!   ([`TASKS_READ_ALL`] is enough to read); it is not in
//!   [`DEFAULT_APP_ROLES`], so grant it ([`SimConfig::app_roles`],
//!   [`SimHandle::grant_app_role`], `PUT
//!   /_sim/tenants/{name}/roles/Tasks.ReadWrite.All`). Else 403
//!   `Authorization_RequestDenied`; token refusals are 401 as elsewhere.
//! - **Etags:** every write bumps the written object's etag; `PATCH` and
//!   `DELETE` need `If-Match` with the current etag of that object (task
//!   and details etags differ): missing → 400, stale → 412
//!   `PreconditionFailed`. 204 on success, 200 with the object when
//!   `Prefer: return=representation`. Writing details leaves the task's
//!   etag alone (its counters follow).
//! - **Validation** as the Graph docs describe it: unknown or read-only
//!   properties, wrong JSON types, out-of-range values, assignments not
//!   keyed by GUIDs or lacking `@odata.type`/`orderHint`, a bucket of
//!   another plan, a start after the due date, reference keys with a raw
//!   `.` or `:` → 400; the Planner limits ([`MAX_TASKS_PER_PLAN`],
//!   [`MAX_BUCKETS_PER_PLAN`], [`MAX_ASSIGNEES_PER_TASK`],
//!   [`MAX_CHECKLIST_ITEMS_PER_TASK`], [`MAX_REFERENCES_PER_TASK`]) → 403
//!   with Planner's codes; another tenant's objects → 404.
//! - **Faults:** [`SimHandle::planner_fail_next`] (any Planner request
//!   past the token and role checks) and
//!   [`SimHandle::planner_fail_next_create`] (task creates only) queue
//!   [`itsm::Fault`]s: 429 with `Retry-After`, a status, a create
//!   processed then dropped unanswered, a late answer. The [`Faults`] dice
//!   and tenant modes apply too.
//! - **A person in the Planner UI:** [`SimHandle::planner_edit_task`],
//!   [`SimHandle::planner_edit_task_details`],
//!   [`SimHandle::planner_delete_task`] (or `PATCH`, `DELETE
//!   /_sim/planner/tasks/{id}`) write without `If-Match`, bumping etags;
//!   `percentComplete` 100 sets `completedDateTime` and `completedBy`.
//! - **Inspection:** [`SimHandle::planner_tasks`],
//!   [`SimHandle::planner_task`], [`SimHandle::planner_task_details`] (as
//!   Graph gives them), and the Planner request log
//!   ([`SimHandle::planner_requests`]: method, path, status, `If-Match`,
//!   `Prefer`; status 0 for a dropped connection).
//!
//! ## Faults and tenant modes
//!
//! [`Faults`] (set at start, [`SimHandle::set_faults`], or `PUT
//! /_sim/faults`): `fault_429` probability (with `Retry-After:
//! retry_after_secs`, default `0.05`), `fault_503` probability (503
//! `serviceNotAvailable`, no `Retry-After`, so clients back off on their
//! own), `latency_ms` before every Graph response, `truncate` probability
//! that a page is cut short mid-JSON (its `Content-Length` matches the cut
//! body), `token_lifetime_secs` (3599), and `select`: what a listing does
//! with `$select`, which Graph does not document on these collections
//! (`honour`: only the named properties, an unknown one is a 400 as in
//! Graph; `ignore`: whole items; `refuse`: 400). The dice come from one ChaCha8 RNG
//! seeded with [`SimConfig::seed`], four draws per authenticated Graph
//! request, so a client that sends its requests one at a time sees the
//! same faults on every run; concurrent requests take the draws in arrival
//! order.
//!
//! [`TenantMode`] per tenant ([`SimHandle::set_tenant_mode`], `PUT
//! /_sim/tenants/{name}/mode`): `normal`; `endless_503` (every Graph
//! request → 503); `consent_revoked` (tokens are issued, Graph → 403
//! `Authorization_RequestDenied`); `bad_secret` (secret → AADSTS7000215,
//! certificates still work); `not_found` (token endpoint → AADSTS90002).
//!
//! ## Time and corpus
//!
//! [`SimHandle::advance`] lets days pass ([`advance`]),
//! [`SimHandle::replace_corpus`] serves another generated corpus (and drops
//! a corpus file), [`SimHandle::set_corpus_file_items`] serves a listing.
//! Each change makes a new corpus version; tenant views are computed on
//! first use per version and shared.
//!
//! ## Request log
//!
//! Every request except those under `/_sim/` is recorded as a
//! [`LoggedRequest`] (`seq`, tenant name when known, method, path,
//! percent-decoded query, `Prefer`, status, response body bytes):
//! [`SimHandle::requests`], [`SimHandle::clear_requests`]. The log keeps the
//! last [`REQUEST_LOG_CAPACITY`] entries.
//!
//! ## Control API (test-only, no authentication)
//!
//! | Request | Effect |
//! |---|---|
//! | `GET /_sim/tenants` | base URL, scope, client id and secret, certificate thumbprint, and per tenant `name`, `tenant_id`, `domain`, `client_id`, `client_secret`, `login_url`, `graph_url`, `mode`, `roles`, `consented`, `planner` (`group_id`, `plan_id`, `bucket_id`) |
//! | `POST /_sim/advance {"days": N, "seed": S}` | lets days pass; returns `version`, `base_time`, `posts`, `issues` |
//! | `GET`, `PUT /_sim/faults {…}` | reads, or changes any subset of the [`Faults`] fields |
//! | `GET`, `PUT /_sim/limits {"per_minute", "per_hour"}` | reads or replaces the throttling [`Limits`] |
//! | `PUT /_sim/tenants/{name}/mode {"mode": "endless_503"}` | sets a [`TenantMode`] (tenant by name, domain or id) |
//! | `GET /_sim/corpus` | version, base time and counts |
//! | `PUT /_sim/corpus` | body: a Graph messages listing (array or `{"value": […]}`), served to every tenant |
//! | `GET`, `DELETE /_sim/requests` | the request log, or empties it |
//! | `POST /_sim/expire-tokens` | every access token issued so far expires (the users' delegated ones too) |
//! | `POST /_sim/reset-throttling` | forgets every tenant's request history |
//! | `GET /_sim/oidc` | the mock Entra ID: client id and secret, `kid`, users, pending faults, redirect URIs, per tenant its issuer |
//! | `PUT /_sim/oidc/users [{"name", "username", "oid"?, "email"?, "roles"?, "groups"?}, …]` | replaces the simulated users ([`SimUser`]) |
//! | `PUT /_sim/oidc/fault {"fault": "expired"}` | the [`IdTokenFault`] of the next ID token (`null`: none) |
//! | `PUT /_sim/oidc/member-objects-fault {"fault": "denied"}` | the [`MemberObjectsFault`] of the next `getMemberObjects` answer (`null`: none) |
//! | `PUT /_sim/oidc/redirect-uris ["https://…", …]` | the registered redirect URIs (`[]`: any loopback `http` URI) |
//! | `GET`, `PUT /_sim/tenants/{name}/roles ["Mail.Send", …]` | the app roles the tenant grants (`{"tenant", "roles"}`), or replaces them |
//! | `PUT`, `DELETE /_sim/tenants/{name}/roles/{role}` | grants or revokes one app role (tokens issued from then on) |
//! | `GET`, `PUT /_sim/tenants/{name}/consent {"consented": bool}` | whether the tenant has consented to the app (`{"tenant", "consented"}`), or grants or withdraws consent |
//! | `POST /_sim/consent/decline-next` | the next admin consent request is declined (once) |
//! | `GET /_sim/tenants/{name}/users` | the tenant's users for `sendMail` ([`SimMailUser`]: `address`, `id`, `mailbox`) |
//! | `PUT /_sim/tenants/{name}/users/{address} {"mailbox": false}` | adds or changes a user (empty body: with a mailbox) |
//! | `DELETE /_sim/tenants/{name}/users/{address}` | removes a user |
//! | `GET /_sim/mail[?tenant=name]`, `DELETE /_sim/mail` | the accepted messages ([`SentMail`]), or forgets them |
//! | `GET`, `PUT /_sim/mail/limits {"concurrent_per_mailbox", "per_ten_minutes"}` | reads or replaces the [`MailLimits`] |
//! | `GET`, `PUT /_sim/mail/faults [{"status": 429, "retry_after_secs": 2}, …]` | the scripted `sendMail` [`MailFault`]s to come, or replaces them |
//! | `GET /_sim/planner` | every tenant's `group_id`, `plan_id`, `bucket_id`, `person_id` and `plans` (`plan`, `buckets`, `tasks`, `details` by task id), the `page_size` and the `faults` to come |
//! | `PATCH /_sim/planner/tasks/{id}`, `…/{id}/details` (task or details properties) | a person's edit in the Planner UI (no `If-Match`); 200 with the object |
//! | `DELETE /_sim/planner/tasks/{id}` | a person deletes the task |
//! | `GET`, `POST`, `DELETE /_sim/planner/faults {"next": [f, …], "create": [f, …]}` | the queued Planner faults, appends to them, or drops them; `f` is `{"status": 429, "retry_after_secs": 1}`, `{"status": 503}`, `{"process_then_drop": true}` or `{"delay_ms": 2000}` |
//! | `PUT /_sim/planner/page-size {"page_size": N}` | the task listing's page size (1 to 1000) |
//! | `POST /_sim/planner/plans {"tenant", "title"}` | another plan in the tenant's group (201 with it) |
//! | `GET`, `DELETE /_sim/planner/requests` | the Planner request log ([`PlannerRequest`]), or empties it |
//!
//! ## Performance
//!
//! Items are serialized once per corpus version and shared by all tenants;
//! a generated post's bytes have a hole where each tenant's own
//! `FeatureStatusJson` goes, so a tenant view costs its feature-status
//! strings, not a copy of the posts. Pages are written by joining bytes. In
//! release mode 400 tenants of about 850 posts (1.15 GB of pages) are
//! served in about a second on two cores, in about 100 MB.

mod clock;
mod generate;
pub mod glpi;
mod issue;
pub mod itsm;
pub mod jira;
mod message;
mod mock;
mod rng;
pub mod roadmap;
mod server;
pub mod servicenow;
pub mod slack;
pub mod teams;
mod vocab;
pub mod webhooks;

#[cfg(test)]
mod tests;

pub use generate::{
    Corpus, CorpusSpec, advance, generate, publish, tenant_guid, tenant_health_overviews,
    tenant_issues, tenant_messages, tenant_name,
};
pub use server::{
    DEFAULT_APP_ROLES, MAIL_SEND, MAX_MAIL_RECIPIENTS, MAX_SEND_MAIL_BYTES, MailAddress, MailFault,
    MailHeader, MailLimits, SENT_MAIL_CAPACITY, SentMail, SimMailUser,
};
pub use server::{
    Faults, Limits, LoggedRequest, REQUEST_LOG_CAPACITY, SIM_CLIENT_ID, SIM_CLIENT_SECRET,
    SelectMode, SimConfig, SimError, SimHandle, SimTenant, TEST_APP_CERTIFICATE_PEM,
    TEST_APP_PRIVATE_KEY_PEM, TenantMode, listing_items, start,
};
pub use server::{
    GROUPS_OVERAGE_LIMIT, IdTokenFault, MemberObjectsFault, OIDC_SIGNING_KEY_PEM, OTHER_CLIENT_ID,
    SimUser, derived_oid,
};
pub use server::{
    MAX_ASSIGNEES_PER_TASK, MAX_BUCKETS_PER_PLAN, MAX_CHECKLIST_ITEMS_PER_TASK,
    MAX_PLANNER_BODY_BYTES, MAX_PLANS_PER_GROUP, MAX_REFERENCES_PER_TASK, MAX_TASKS_PER_PLAN,
    PLANNER_GROUP_LOCAL_PART, PLANNER_LOG_CAPACITY, PLANNER_PAGE_SIZE, PLANNER_PLAN_TITLE,
    PlannerRequest, SimPlannerPlan, TASKS_READ_ALL, TASKS_READ_WRITE_ALL,
};
pub use server::{ROADMAP_LOG_CAPACITY, ROADMAP_PATH, RoadmapRequest};
pub use server::{SERVICE_HEALTH_READ_ALL, SERVICE_MESSAGE_READ_ALL};
