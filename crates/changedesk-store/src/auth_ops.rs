// Users, sessions, API tokens and the audit of sign-ins: written once,
// `include!`d into `mod sqlite` and `mod postgres` after admin_ops.rs (whose
// `audit` helper it uses). Only hashes of passwords and tokens reach here.
// Every change to users and tokens is audited in its own transaction;
// sessions are not (the server audits sign-ins and sign-outs).

use changedesk_core::access::{Role, validate_user_name};

use super::{ApiTokenRow, AuditFilter, NewSession, NewToken, NewUser, SessionRow, User, UserUpdate, VISIT_GAP_SECS, VISIT_WRITE_GRANULARITY_SECS};

const USER_COLUMNS: &str = "u.id, u.name, u.role, u.disabled, u.display_name, u.email, u.oidc_subject, \
    u.created_at, u.updated_at, u.last_sign_in_at, u.scope, u.password_hash, u.failed_sign_ins, \
    u.last_failed_sign_in_at, u.time_zone";

const SESSION_COLUMNS: &str = "s.token_hash AS s_token_hash, s.user_id AS s_user_id, s.created_at AS s_created_at, \
    s.expires_at AS s_expires_at, s.last_seen_at AS s_last_seen_at, s.csrf_token AS s_csrf_token";

const TOKEN_COLUMNS: &str = "t.id AS t_id, t.user_id AS t_user_id, u.name AS t_user, t.name AS t_name, \
    t.prefix AS t_prefix, t.role AS t_role, t.created_at AS t_created_at, t.expires_at AS t_expires_at, \
    t.last_used_at AS t_last_used_at, t.revoked_at AS t_revoked_at, t.scope AS t_scope";

/// The longest display name, e-mail address, token name and token prefix.
const MAX_DISPLAY_NAME: usize = 128;
const MAX_EMAIL: usize = 254;
const MAX_TOKEN_NAME: usize = 100;
const MAX_TOKEN_PREFIX: usize = 32;

fn read_role(s: &str) -> Result<Role> {
    s.parse().map_err(|e| StoreError::Corrupt(format!("role: {e}")))
}

fn user_from(row: &DbRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        role: read_role(&row.try_get::<String, _>("role")?)?,
        scope: from_json(&row.try_get::<String, _>("scope")?, "user scope")?,
        password_hash: row.try_get("password_hash")?,
        oidc_subject: row.try_get("oidc_subject")?,
        disabled: row.try_get("disabled")?,
        created_at: read_ts(row.try_get("created_at")?)?,
        updated_at: read_ts(row.try_get("updated_at")?)?,
        last_sign_in_at: read_ts_opt(row.try_get("last_sign_in_at")?)?,
        failed_sign_ins: row.try_get("failed_sign_ins")?,
        last_failed_sign_in_at: read_ts_opt(row.try_get("last_failed_sign_in_at")?)?,
        time_zone: row.try_get("time_zone")?,
    })
}

fn session_from(row: &DbRow) -> Result<SessionRow> {
    Ok(SessionRow {
        token_hash: row.try_get("s_token_hash")?,
        user_id: row.try_get("s_user_id")?,
        csrf_token: row.try_get("s_csrf_token")?,
        created_at: read_ts(row.try_get("s_created_at")?)?,
        expires_at: read_ts(row.try_get("s_expires_at")?)?,
        last_seen_at: read_ts(row.try_get("s_last_seen_at")?)?,
    })
}

fn token_from(row: &DbRow) -> Result<ApiTokenRow> {
    Ok(ApiTokenRow {
        id: row.try_get("t_id")?,
        user_id: row.try_get("t_user_id")?,
        user: row.try_get("t_user")?,
        name: row.try_get("t_name")?,
        prefix: row.try_get("t_prefix")?,
        role: read_role(&row.try_get::<String, _>("t_role")?)?,
        scope: from_json(&row.try_get::<String, _>("t_scope")?, "token scope")?,
        created_at: read_ts(row.try_get("t_created_at")?)?,
        expires_at: read_ts_opt(row.try_get("t_expires_at")?)?,
        last_used_at: read_ts_opt(row.try_get("t_last_used_at")?)?,
        revoked_at: read_ts_opt(row.try_get("t_revoked_at")?)?,
    })
}

/// How a user is looked up.
enum UserKey<'a> {
    Id(i64),
    /// A sign-in name, in any case.
    Name(&'a str),
    OidcSubject(&'a str),
}

async fn find_user<'e, E>(e: E, key: UserKey<'_>) -> Result<Option<User>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let column = match key {
        UserKey::Id(_) => "id",
        UserKey::Name(_) => "name",
        UserKey::OidcSubject(_) => "oidc_subject",
    };
    let q = sqlx::query(sql(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.{column} = $1")));
    let q = match key {
        UserKey::Id(id) => q.bind(id),
        UserKey::Name(n) => q.bind(n.trim().to_ascii_lowercase()),
        UserKey::OidcSubject(s) => q.bind(s.to_string()),
    };
    let row = q.fetch_optional(e).await?;
    row.as_ref().map(user_from).transpose()
}

pub(crate) async fn user_by_name(pool: &Pool<Db>, name: &str) -> Result<Option<User>> {
    find_user(pool, UserKey::Name(name)).await
}

pub(crate) async fn user_by_id(pool: &Pool<Db>, id: i64) -> Result<Option<User>> {
    find_user(pool, UserKey::Id(id)).await
}

pub(crate) async fn user_by_oidc_subject(pool: &Pool<Db>, subject: &str) -> Result<Option<User>> {
    find_user(pool, UserKey::OidcSubject(subject)).await
}

pub(crate) async fn list_users(pool: &Pool<Db>) -> Result<Vec<User>> {
    let rows = sqlx::query(sql(format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name")))
        .fetch_all(pool)
        .await?;
    rows.iter().map(user_from).collect()
}

/// A free-text field trimmed, refused when longer than `max` characters or
/// holding control characters.
fn checked_text(kind: &str, s: &str, max: usize) -> Result<String> {
    let t = s.trim();
    if t.chars().count() > max {
        return Err(StoreError::Invalid(format!("{kind} is longer than {max} characters")));
    }
    if t.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!("{kind} may not hold control characters")));
    }
    Ok(t.to_string())
}

/// An OpenID Connect subject: trimmed; empty is none.
fn checked_subject(s: &Option<String>) -> Result<Option<String>> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.len() > 255 || t.chars().any(char::is_control) => Err(StoreError::Invalid(
            "OpenID Connect subject is longer than 255 bytes or holds control characters".to_string(),
        )),
        Some(t) => Ok(Some(t.to_string())),
    }
}

/// A hash the server made: never empty (an empty one would match an empty
/// input).
fn checked_hash(kind: &str, h: &str) -> Result<()> {
    if h.trim().is_empty() {
        return Err(StoreError::Invalid(format!("empty {kind}")));
    }
    Ok(())
}

/// Refuses a subject another user holds.
async fn subject_free(tx: &mut Tx, subject: &str, user_id: Option<i64>) -> Result<()> {
    if let Some(other) = find_user(&mut **tx, UserKey::OidcSubject(subject)).await?
        && Some(other.id) != user_id
    {
        return Err(StoreError::Conflict(format!(
            "this OpenID Connect subject is already linked to user `{}`",
            other.name
        )));
    }
    Ok(())
}

/// Refuses to leave no admin who can administer (enabled, with no tenant
/// limit: a tenant-limited admin cannot manage users or configuration):
/// `doing` (`demote`, `disable`, `delete`, `limit`) is done to `user`, such
/// an admin.
async fn keep_an_admin(tx: &mut Tx, user: &User, doing: &str) -> Result<()> {
    let rows = sqlx::query(sql(format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.role = $1 AND NOT u.disabled AND u.id <> $2"
    )))
    .bind(Role::Admin.as_str())
    .bind(user.id)
    .fetch_all(&mut **tx)
    .await?;
    let mut others = 0;
    for row in &rows {
        if user_from(row)?.administers() {
            others += 1;
        }
    }
    if others == 0 {
        return Err(StoreError::Invalid(format!(
            "cannot {doing} `{}`: they are the last enabled admin without a tenant limit (make another user such an admin first)",
            user.name
        )));
    }
    Ok(())
}

pub(crate) async fn create_user(pool: &Pool<Db>, writer: &Writer, u: &NewUser, actor: &str) -> Result<User> {
    let name = validate_user_name(&u.name).map_err(StoreError::Invalid)?;
    let scope = u.scope.normalized().map_err(StoreError::Invalid)?;
    let display_name = checked_text("display name", &u.display_name, MAX_DISPLAY_NAME)?;
    let email = checked_text("e-mail address", &u.email, MAX_EMAIL)?;
    let subject = checked_subject(&u.oidc_subject)?;
    if let Some(h) = &u.password_hash {
        checked_hash("password hash", h)?;
    }
    let now = u.at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "user").await?;
    if find_user(&mut *tx, UserKey::Name(&name)).await?.is_some() {
        return Err(StoreError::Conflict(format!("user `{name}` already exists")));
    }
    if let Some(s) = &subject {
        subject_free(&mut tx, s, None).await?;
    }
    let row = sqlx::query(
        "INSERT INTO users (name, role, disabled, display_name, email, oidc_subject, created_at, updated_at, scope, password_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) RETURNING id",
    )
    .bind(&name)
    .bind(u.role.as_str())
    .bind(u.disabled)
    .bind(&display_name)
    .bind(&email)
    .bind(&subject)
    .bind(&now)
    .bind(to_json(&scope))
    .bind(&u.password_hash)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    let detail = serde_json::json!({
        "role": u.role,
        "scope": scope,
        "display_name": display_name,
        "email": email,
        "disabled": u.disabled,
        "password": u.password_hash.is_some(),
        "oidc_subject": subject,
    });
    audit(&mut tx, &now, actor, "user.create", &name, &detail).await?;
    let user = find_user(&mut *tx, UserKey::Id(id))
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("user `{name}` vanished while being created")))?;
    tx.commit().await?;
    Ok(user)
}

pub(crate) async fn update_user(
    pool: &Pool<Db>,
    writer: &Writer,
    name: &str,
    u: &UserUpdate,
    actor: &str,
    at: &Timestamp,
) -> Result<User> {
    let key = name.trim().to_ascii_lowercase();
    let scope = u.scope.as_ref().map(|s| s.normalized()).transpose().map_err(StoreError::Invalid)?;
    let display_name = u.display_name.as_deref().map(|d| checked_text("display name", d, MAX_DISPLAY_NAME)).transpose()?;
    let email = u.email.as_deref().map(|e| checked_text("e-mail address", e, MAX_EMAIL)).transpose()?;
    let subject = u.oidc_subject.as_ref().map(checked_subject).transpose()?;
    if let Some(Some(h)) = &u.password_hash {
        checked_hash("password hash", h)?;
    }
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "user").await?;
    let Some(old) = find_user(&mut *tx, UserKey::Name(&key)).await? else {
        return Err(StoreError::NotFound(format!("user `{key}`")));
    };
    let mut new = old.clone();
    let mut changed = serde_json::Map::new();
    if let Some(d) = display_name
        && d != new.display_name
    {
        changed.insert("display_name".into(), serde_json::json!(d));
        new.display_name = d;
    }
    if let Some(e) = email
        && e != new.email
    {
        changed.insert("email".into(), serde_json::json!(e));
        new.email = e;
    }
    if let Some(r) = u.role
        && r != new.role
    {
        changed.insert("role".into(), serde_json::json!(r));
        new.role = r;
    }
    if let Some(s) = scope
        && s != new.scope
    {
        changed.insert("scope".into(), serde_json::json!(s));
        new.scope = s;
    }
    if let Some(d) = u.disabled
        && d != new.disabled
    {
        changed.insert("disabled".into(), serde_json::json!(d));
        new.disabled = d;
    }
    if let Some(h) = &u.password_hash
        && *h != new.password_hash
    {
        // what happened to the password, never the hash
        let what = match (&new.password_hash, h) {
            (_, None) => "removed",
            (None, Some(_)) => "set",
            (Some(_), Some(_)) => "changed",
        };
        changed.insert("password".into(), serde_json::json!(what));
        new.password_hash = h.clone();
    }
    if let Some(s) = subject
        && s != new.oidc_subject
    {
        if let Some(s) = &s {
            subject_free(&mut tx, s, Some(old.id)).await?;
        }
        changed.insert("oidc_subject".into(), serde_json::json!(s));
        new.oidc_subject = s;
    }
    if changed.is_empty() {
        return Ok(old);
    }
    if old.administers() && !new.administers() {
        let doing = if new.disabled {
            "disable"
        } else if new.role != Role::Admin {
            "demote"
        } else {
            "limit the tenants of"
        };
        keep_an_admin(&mut tx, &old, doing).await?;
    }
    sqlx::query(
        "UPDATE users SET role = $1, disabled = $2, display_name = $3, email = $4, oidc_subject = $5, \
         updated_at = $6, scope = $7, password_hash = $8 WHERE id = $9",
    )
    .bind(new.role.as_str())
    .bind(new.disabled)
    .bind(&new.display_name)
    .bind(&new.email)
    .bind(&new.oidc_subject)
    .bind(&now)
    .bind(to_json(&new.scope))
    .bind(&new.password_hash)
    .bind(old.id)
    .execute(&mut *tx)
    .await?;
    audit(&mut tx, &now, actor, "user.update", &key, &serde_json::Value::Object(changed)).await?;
    new.updated_at = *at;
    tx.commit().await?;
    Ok(new)
}

pub(crate) async fn delete_user(pool: &Pool<Db>, writer: &Writer, name: &str, actor: &str, at: &Timestamp) -> Result<()> {
    let key = name.trim().to_ascii_lowercase();
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "user").await?;
    let Some(user) = find_user(&mut *tx, UserKey::Name(&key)).await? else {
        return Err(StoreError::NotFound(format!("user `{key}`")));
    };
    if user.administers() {
        keep_an_admin(&mut tx, &user, "delete").await?;
    }
    // sessions and tokens go with the user (ON DELETE CASCADE)
    sqlx::query("DELETE FROM users WHERE id = $1").bind(user.id).execute(&mut *tx).await?;
    audit(&mut tx, &now, actor, "user.delete", &key, &serde_json::json!({"role": user.role})).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn record_sign_in(pool: &Pool<Db>, writer: &Writer, user_id: i64, at: &Timestamp) -> Result<()> {
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "sign-in").await?;
    let done = sqlx::query(
        "UPDATE users SET last_sign_in_at = $1, failed_sign_ins = 0, last_failed_sign_in_at = NULL WHERE id = $2",
    )
        .bind(at.to_canonical())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    }
    tx.commit().await?;
    Ok(())
}

/// Records a view of the inbox by `user_id` at `now` and returns when their
/// previous visit was (`None` on their first): a view more than
/// `VISIT_GAP_SECS` after the last one starts a new visit, whose previous
/// visit is then the one that ended.
pub(crate) async fn inbox_visit(pool: &Pool<Db>, writer: &Writer, user_id: i64, now: &Timestamp) -> Result<Option<Timestamp>> {
    // read without the write lock: most views are a minute or less from
    // the last one recorded, and write nothing (the inbox is the busiest
    // page; a write per view would queue behind every sync)
    let row = sqlx::query("SELECT inbox_visit_at, inbox_previous_visit_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
    let last = read_ts_opt(row.try_get("inbox_visit_at")?)?;
    let mut previous = read_ts_opt(row.try_get("inbox_previous_visit_at")?)?;
    let since = last.map(|l| now.unix_seconds() - l.unix_seconds());
    if since.is_some_and(|s| (0..=VISIT_WRITE_GRANULARITY_SECS).contains(&s)) {
        return Ok(previous);
    }
    if let (Some(last), Some(s)) = (last, since)
        && s > VISIT_GAP_SECS
    {
        previous = Some(last);
    }
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "inbox visit").await?;
    sqlx::query("UPDATE users SET inbox_visit_at = $1, inbox_previous_visit_at = $2 WHERE id = $3")
        .bind(now.to_canonical())
        .bind(previous.map(|t| t.to_canonical()))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(previous)
}

pub(crate) async fn record_failed_sign_in(
    pool: &Pool<Db>,
    writer: &Writer,
    user_id: i64,
    at: &Timestamp,
) -> Result<i64> {
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "sign-in").await?;
    let row = sqlx::query(
        "UPDATE users SET failed_sign_ins = failed_sign_ins + 1, last_failed_sign_in_at = $1 \
         WHERE id = $2 RETURNING failed_sign_ins",
    )
    .bind(at.to_canonical())
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
    let n: i64 = row.try_get("failed_sign_ins")?;
    tx.commit().await?;
    Ok(n)
}

pub(crate) async fn unlock_user(pool: &Pool<Db>, writer: &Writer, name: &str, actor: &str, at: &Timestamp) -> Result<User> {
    let key = name.trim().to_ascii_lowercase();
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "user").await?;
    let Some(user) = find_user(&mut *tx, UserKey::Name(&key)).await? else {
        return Err(StoreError::NotFound(format!("user `{key}`")));
    };
    sqlx::query("UPDATE users SET failed_sign_ins = 0, last_failed_sign_in_at = NULL WHERE id = $1")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({ "failed_sign_ins": user.failed_sign_ins });
    audit(&mut tx, &now, actor, "user.unlock", &user.name, &detail).await?;
    let user = find_user(&mut *tx, UserKey::Id(user.id))
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("user `{key}` vanished while being unlocked")))?;
    tx.commit().await?;
    Ok(user)
}

pub(crate) async fn create_session(pool: &Pool<Db>, writer: &Writer, s: &NewSession) -> Result<()> {
    checked_hash("session token hash", &s.token_hash)?;
    checked_hash("CSRF token", &s.csrf_token)?;
    if s.expires_at <= s.created_at {
        return Err(StoreError::Invalid("a session must expire after it is created".to_string()));
    }
    let created = s.created_at.to_canonical();
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "session").await?;
    if find_user(&mut *tx, UserKey::Id(s.user_id)).await?.is_none() {
        return Err(StoreError::NotFound(format!("user {}", s.user_id)));
    }
    let taken = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE token_hash = $1")
        .bind(&s.token_hash)
        .fetch_one(&mut *tx)
        .await?;
    if taken.try_get::<i64, _>("n")? > 0 {
        return Err(StoreError::Conflict("a session with this token already exists".to_string()));
    }
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, csrf_token) \
         VALUES ($1, $2, $3, $4, $3, $5)",
    )
    .bind(&s.token_hash)
    .bind(s.user_id)
    .bind(&created)
    .bind(s.expires_at.to_canonical())
    .bind(&s.csrf_token)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A live session and its (enabled) user, in one query: the user's columns
/// include their time zone, which the web UI shows every instant in.
pub(crate) async fn session(pool: &Pool<Db>, token_hash: &str, now: &Timestamp) -> Result<Option<(SessionRow, User)>> {
    let row = sqlx::query(sql(format!(
        "SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled"
    )))
    .bind(token_hash)
    .bind(now.to_canonical())
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => Ok(Some((session_from(&row)?, user_from(&row)?))),
        None => Ok(None),
    }
}

pub(crate) async fn touch_session(
    pool: &Pool<Db>,
    writer: &Writer,
    token_hash: &str,
    now: &Timestamp,
    new_expiry: &Timestamp,
) -> Result<bool> {
    let now = now.to_canonical();
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "session").await?;
    let done = sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3 AND expires_at > $1")
        .bind(&now)
        .bind(new_expiry.to_canonical())
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes the sessions `condition` (with `$1` bound to `value`) selects.
async fn delete_sessions_where<T>(pool: &Pool<Db>, writer: &Writer, condition: &str, value: T) -> Result<u64>
where
    T: for<'q> sqlx::Encode<'q, Db> + sqlx::Type<Db> + Send + 'static,
{
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "session").await?;
    let done = sqlx::query(sql(format!("DELETE FROM sessions WHERE {condition}")))
        .bind(value)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

pub(crate) async fn delete_session(pool: &Pool<Db>, writer: &Writer, token_hash: &str) -> Result<bool> {
    Ok(delete_sessions_where(pool, writer, "token_hash = $1", token_hash.to_string()).await? > 0)
}

pub(crate) async fn delete_sessions_of(pool: &Pool<Db>, writer: &Writer, user_id: i64) -> Result<u64> {
    delete_sessions_where(pool, writer, "user_id = $1", user_id).await
}

pub(crate) async fn delete_expired_sessions(pool: &Pool<Db>, writer: &Writer, now: &Timestamp) -> Result<u64> {
    delete_sessions_where(pool, writer, "expires_at <= $1", now.to_canonical()).await
}

async fn find_token<'e, E>(e: E, id: i64) -> Result<Option<ApiTokenRow>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let row = sqlx::query(sql(format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
    )))
    .bind(id)
    .fetch_optional(e)
    .await?;
    row.as_ref().map(token_from).transpose()
}

pub(crate) async fn create_token(pool: &Pool<Db>, writer: &Writer, t: &NewToken, actor: &str) -> Result<ApiTokenRow> {
    let name = checked_text("token name", &t.name, MAX_TOKEN_NAME)?;
    if name.is_empty() {
        return Err(StoreError::Invalid("token name is empty (say what the token is for)".to_string()));
    }
    let prefix = checked_text("token prefix", &t.prefix, MAX_TOKEN_PREFIX)?;
    checked_hash("token prefix", &prefix)?;
    checked_hash("token hash", &t.token_hash)?;
    let scope = t.scope.normalized().map_err(StoreError::Invalid)?;
    if t.expires_at.is_some_and(|e| e <= t.created_at) {
        return Err(StoreError::Invalid("a token must expire after it is created".to_string()));
    }
    let now = t.created_at.to_canonical();
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "token").await?;
    let Some(user) = find_user(&mut *tx, UserKey::Name(&t.user)).await? else {
        return Err(StoreError::NotFound(format!("user `{}`", t.user.trim().to_ascii_lowercase())));
    };
    if user.disabled {
        return Err(StoreError::Invalid(format!(
            "user `{}` is disabled; enable them before creating a token",
            user.name
        )));
    }
    if !user.role.is_at_least(t.role) {
        return Err(StoreError::Invalid(format!(
            "a token cannot have more than its user's role: `{}` is {}, the token asks for {}",
            user.name, user.role, t.role
        )));
    }
    let taken = sqlx::query("SELECT COUNT(*) AS n FROM api_tokens WHERE token_hash = $1")
        .bind(&t.token_hash)
        .fetch_one(&mut *tx)
        .await?;
    if taken.try_get::<i64, _>("n")? > 0 {
        return Err(StoreError::Conflict("an API token with this hash already exists".to_string()));
    }
    let row = sqlx::query(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, role, created_at, expires_at, scope) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(user.id)
    .bind(&name)
    .bind(&t.token_hash)
    .bind(&prefix)
    .bind(t.role.as_str())
    .bind(&now)
    .bind(ts_opt(&t.expires_at))
    .bind(to_json(&scope))
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    let detail = serde_json::json!({
        "id": id,
        "name": name,
        "prefix": prefix,
        "role": t.role,
        "scope": scope,
        "expires_at": t.expires_at,
    });
    audit(&mut tx, &now, actor, "token.create", &user.name, &detail).await?;
    let token = find_token(&mut *tx, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("API token {id} vanished while being created")))?;
    tx.commit().await?;
    Ok(token)
}

pub(crate) async fn token_lookup(pool: &Pool<Db>, token_hash: &str, now: &Timestamp) -> Result<Option<(ApiTokenRow, User)>> {
    let row = sqlx::query(sql(format!(
        "SELECT {TOKEN_COLUMNS}, {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) \
         AND NOT u.disabled"
    )))
    .bind(token_hash)
    .bind(now.to_canonical())
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => Ok(Some((token_from(&row)?, user_from(&row)?))),
        None => Ok(None),
    }
}

/// Records a token's use at `now` unless it was recorded after `stale_before`.
pub(crate) async fn token_used(pool: &Pool<Db>, writer: &Writer, id: i64, now: &Timestamp, stale_before: &Timestamp) -> Result<()> {
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "token").await?;
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)")
        .bind(now.to_canonical())
        .bind(id)
        .bind(stale_before.to_canonical())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn list_tokens(pool: &Pool<Db>, user: Option<&str>) -> Result<Vec<ApiTokenRow>> {
    let mut qb: QueryBuilder<Db> =
        QueryBuilder::new(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id"));
    if let Some(name) = user {
        let Some(user) = find_user(pool, UserKey::Name(name)).await? else {
            return Err(StoreError::NotFound(format!("user `{}`", name.trim().to_ascii_lowercase())));
        };
        qb.push(" WHERE t.user_id = ");
        qb.push_bind(user.id);
    }
    qb.push(" ORDER BY t.id");
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(token_from).collect()
}

pub(crate) async fn revoke_token(pool: &Pool<Db>, writer: &Writer, id: i64, actor: &str, at: &Timestamp) -> Result<bool> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "token").await?;
    let Some(token) = find_token(&mut *tx, id).await? else {
        return Err(StoreError::NotFound(format!("API token {id}")));
    };
    if token.revoked_at.is_some() {
        return Ok(false);
    }
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({"id": id, "name": token.name, "prefix": token.prefix});
    audit(&mut tx, &now, actor, "token.revoke", &token.user, &detail).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn record_audit(
    pool: &Pool<Db>,
    writer: &Writer,
    actor: &str,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
    at: &Timestamp,
) -> Result<()> {
    if action.trim().is_empty() {
        return Err(StoreError::Invalid("an audit entry needs an action".to_string()));
    }
    let now = at.to_canonical();
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "audit").await?;
    audit(&mut tx, &now, actor, action, target, detail).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn audit_log_filtered(pool: &Pool<Db>, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let mut qb: QueryBuilder<Db> = QueryBuilder::new("SELECT id, at, actor, action, target, detail FROM audit_log WHERE 1 = 1");
    if let Some(actor) = &f.actor {
        qb.push(" AND actor = ");
        qb.push_bind(actor.clone());
    }
    if let Some(prefix) = f.action_prefix.as_deref().filter(|p| !p.is_empty()) {
        // substr counts characters on both databases; LIKE would differ in case
        qb.push(" AND substr(action, 1, ");
        qb.push_bind(i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX));
        qb.push(") = ");
        qb.push_bind(prefix.to_string());
    }
    if let Some(before) = f.before_id {
        qb.push(" AND id < ");
        qb.push_bind(before);
    }
    qb.push(" ORDER BY id DESC LIMIT ");
    qb.push_bind(f.limit.unwrap_or(100).max(0));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                id: row.try_get("id")?,
                at: read_ts(row.try_get("at")?)?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                target: row.try_get("target")?,
                detail: from_json(&row.try_get::<String, _>("detail")?, "audit detail")?,
            })
        })
        .collect()
}
