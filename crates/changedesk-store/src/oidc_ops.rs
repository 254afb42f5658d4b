// OpenID Connect sign-in: sign-ins under way and the identities linked to
// users. Written once, `include!`d into `mod sqlite` and `mod postgres` after
// auth_ops.rs, whose user helpers (find_user, checked_text, keep_an_admin) it
// uses.

use super::{OidcIdentity, OidcProfile, OidcSignIn, PendingSignIn};

/// The longest state hash, nonce, masked verifier, return path, issuer and
/// subject the store accepts.
const MAX_OIDC_TEXT: usize = 2048;

fn checked_oidc_text(kind: &str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(StoreError::Invalid(format!("empty {kind}")));
    }
    if s.len() > MAX_OIDC_TEXT || s.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{kind} is longer than {MAX_OIDC_TEXT} bytes or holds control characters"
        )));
    }
    Ok(())
}

pub(crate) async fn create_pending_sign_in(pool: &Pool<Db>, writer: &Writer, p: &PendingSignIn, most: i64) -> Result<()> {
    for (kind, s) in [
        ("state hash", &p.state_hash),
        ("PKCE verifier", &p.verifier),
        ("nonce", &p.nonce),
        ("return path", &p.return_to),
    ] {
        checked_oidc_text(kind, s)?;
    }
    if p.expires_at <= p.created_at {
        return Err(StoreError::Invalid("a sign-in must expire after it starts".to_string()));
    }
    let created = p.created_at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "sign-in").await?;
    sqlx::query("DELETE FROM oidc_pending WHERE expires_at <= $1")
        .bind(&created)
        .execute(&mut *tx)
        .await?;
    // anyone may start a sign-in: at most so many wait at once
    let pending = sqlx::query("SELECT COUNT(*) AS n FROM oidc_pending").fetch_one(&mut *tx).await?;
    if pending.try_get::<i64, _>("n")? >= most {
        return Err(StoreError::Busy);
    }
    let taken = sqlx::query("SELECT COUNT(*) AS n FROM oidc_pending WHERE state_hash = $1")
        .bind(&p.state_hash)
        .fetch_one(&mut *tx)
        .await?;
    if taken.try_get::<i64, _>("n")? > 0 {
        return Err(StoreError::Conflict("a sign-in with this state is already under way".to_string()));
    }
    sqlx::query(
        "INSERT INTO oidc_pending (state_hash, created_at, expires_at, nonce, return_to, verifier) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&p.state_hash)
    .bind(&created)
    .bind(p.expires_at.to_canonical())
    .bind(&p.nonce)
    .bind(&p.return_to)
    .bind(&p.verifier)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn take_pending_sign_in(
    pool: &Pool<Db>,
    writer: &Writer,
    state_hash: &str,
) -> Result<Option<PendingSignIn>> {
    let (_w, mut tx) = begin_write(pool, writer, "sign-in").await?;
    // one statement reads and deletes: whoever deletes the row has it
    let row = sqlx::query(
        "DELETE FROM oidc_pending WHERE state_hash = $1 \
         RETURNING state_hash, created_at, expires_at, nonce, return_to, verifier",
    )
    .bind(state_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let pending = match row {
        Some(row) => Some(PendingSignIn {
            state_hash: row.try_get("state_hash")?,
            verifier: row.try_get("verifier")?,
            nonce: row.try_get("nonce")?,
            return_to: row.try_get("return_to")?,
            created_at: read_ts(row.try_get("created_at")?)?,
            expires_at: read_ts(row.try_get("expires_at")?)?,
        }),
        None => None,
    };
    tx.commit().await?;
    Ok(pending)
}

pub(crate) async fn oidc_identities(pool: &Pool<Db>, user_id: i64) -> Result<Vec<OidcIdentity>> {
    let rows = sqlx::query("SELECT issuer, subject FROM user_identities WHERE user_id = $1 ORDER BY issuer, subject")
        .bind(user_id)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(OidcIdentity {
                issuer: row.try_get("issuer")?,
                subject: row.try_get("subject")?,
            })
        })
        .collect()
}

/// Links `identity` to the user `user_id`.
async fn insert_identity(tx: &mut Tx, identity: &OidcIdentity, user_id: i64, now: &str) -> Result<()> {
    sqlx::query("INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The user named `name`, in a write transaction: `NotFound` otherwise.
async fn user_to_link(tx: &mut Tx, name: &str) -> Result<User> {
    find_user(&mut **tx, UserKey::Name(name))
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user `{}`", name.trim())))
}

pub(crate) async fn link_oidc_identity(
    pool: &Pool<Db>,
    writer: &Writer,
    user: &str,
    identity: &OidcIdentity,
    actor: &str,
    at: &Timestamp,
) -> Result<bool> {
    checked_oidc_text("issuer", &identity.issuer)?;
    checked_oidc_text("subject", &identity.subject)?;
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "user").await?;
    let user = user_to_link(&mut tx, user).await?;
    let linked = sqlx::query("SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2")
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = linked {
        let id: i64 = row.try_get("user_id")?;
        if id == user.id {
            return Ok(false);
        }
        let other = find_user(&mut *tx, UserKey::Id(id)).await?.map(|u| u.name).unwrap_or_else(|| id.to_string());
        return Err(StoreError::Conflict(format!(
            "this account ({} at {}) is linked to user `{other}`; unlink it there first",
            identity.subject, identity.issuer
        )));
    }
    insert_identity(&mut tx, identity, user.id, &now).await?;
    let detail = serde_json::json!({"issuer": identity.issuer, "subject": identity.subject});
    audit(&mut tx, &now, actor, "user.link", &user.name, &detail).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn unlink_oidc_identity(
    pool: &Pool<Db>,
    writer: &Writer,
    user: &str,
    identity: &OidcIdentity,
    actor: &str,
    at: &Timestamp,
) -> Result<bool> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "user").await?;
    let user = user_to_link(&mut tx, user).await?;
    let done = sqlx::query("DELETE FROM user_identities WHERE issuer = $1 AND subject = $2 AND user_id = $3")
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let detail = serde_json::json!({"issuer": identity.issuer, "subject": identity.subject});
    audit(&mut tx, &now, actor, "user.unlink", &user.name, &detail).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn oidc_sign_in(
    pool: &Pool<Db>,
    writer: &Writer,
    identity: &OidcIdentity,
    profile: &OidcProfile,
    allow_create: bool,
    actor: &str,
    at: &Timestamp,
) -> Result<OidcSignIn> {
    checked_oidc_text("issuer", &identity.issuer)?;
    checked_oidc_text("subject", &identity.subject)?;
    let display_name = checked_text("display name", &profile.display_name, MAX_DISPLAY_NAME)?;
    let email = checked_text("e-mail address", &profile.email, MAX_EMAIL)?;
    let scope = profile
        .scope
        .as_ref()
        .map(|s| s.normalized())
        .transpose()
        .map_err(StoreError::Invalid)?;
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "user").await?;
    let linked = sqlx::query("SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2")
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .fetch_optional(&mut *tx)
        .await?;
    let linked_user = match linked {
        Some(row) => {
            let id: i64 = row.try_get("user_id")?;
            Some(find_user(&mut *tx, UserKey::Id(id)).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("an identity is linked to user {id}, who does not exist"))
            })?)
        }
        None => None,
    };
    let identity_detail = serde_json::json!({"issuer": identity.issuer, "subject": identity.subject});

    let Some(old) = linked_user else {
        if !allow_create {
            return Ok(OidcSignIn::Unknown);
        }
        let name = validate_user_name(&profile.name).map_err(StoreError::Invalid)?;
        if let Some(other) = find_user(&mut *tx, UserKey::Name(&name)).await? {
            return Err(StoreError::Conflict(format!(
                "user `{}` already exists and is not linked to this account at the identity provider",
                other.name
            )));
        }
        let scope = scope.unwrap_or_default();
        let row = sqlx::query(
            "INSERT INTO users (name, role, disabled, display_name, email, oidc_subject, created_at, updated_at, scope, password_hash) \
             VALUES ($1, $2, FALSE, $3, $4, NULL, $5, $5, $6, NULL) RETURNING id",
        )
        .bind(&name)
        .bind(profile.role.as_str())
        .bind(&display_name)
        .bind(&email)
        .bind(&now)
        .bind(to_json(&scope))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        insert_identity(&mut tx, identity, id, &now).await?;
        let detail = serde_json::json!({
            "role": profile.role,
            "scope": scope,
            "display_name": display_name,
            "email": email,
            "disabled": false,
            "password": false,
            "identity": identity_detail,
            "via": "oidc",
        });
        audit(&mut tx, &now, actor, "user.create", &name, &detail).await?;
        let user = find_user(&mut *tx, UserKey::Id(id))
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("user `{name}` vanished while being created")))?;
        tx.commit().await?;
        return Ok(OidcSignIn::Created(user));
    };

    if old.disabled {
        return Ok(OidcSignIn::Disabled(old));
    }
    let mut new = old.clone();
    let mut changed = serde_json::Map::new();
    if profile.role != new.role {
        changed.insert("role".into(), serde_json::json!(profile.role));
        new.role = profile.role;
    }
    if let Some(s) = scope
        && s != new.scope
    {
        changed.insert("scope".into(), serde_json::json!(s));
        new.scope = s;
    }
    if !display_name.is_empty() && display_name != new.display_name {
        changed.insert("display_name".into(), serde_json::json!(display_name));
        new.display_name = display_name;
    }
    if !email.is_empty() && email != new.email {
        changed.insert("email".into(), serde_json::json!(email));
        new.email = email;
    }
    if changed.is_empty() {
        return Ok(OidcSignIn::Existing { user: old, changed: Vec::new() });
    }
    if old.role == Role::Admin && new.role != Role::Admin {
        keep_an_admin(&mut tx, &old, "demote").await?;
    }
    sqlx::query("UPDATE users SET role = $1, display_name = $2, email = $3, updated_at = $4, scope = $5 WHERE id = $6")
        .bind(new.role.as_str())
        .bind(&new.display_name)
        .bind(&new.email)
        .bind(&now)
        .bind(to_json(&new.scope))
        .bind(old.id)
        .execute(&mut *tx)
        .await?;
    let fields: Vec<String> = changed.keys().cloned().collect();
    changed.insert("via".into(), serde_json::json!("oidc"));
    changed.insert("identity".into(), identity_detail);
    audit(&mut tx, &now, actor, "user.update", &new.name, &serde_json::Value::Object(changed)).await?;
    tx.commit().await?;
    new.updated_at = *at;
    Ok(OidcSignIn::Existing { user: new, changed: fields })
}
