// ---------------------------------------------------------------- comms
// `include!`d into `mod sqlite` and `mod postgres` (see comms.rs), after
// admin_ops.rs (whose `audit` it uses) and notify_ops.rs.

const COMMS_COLUMNS: &str = "c.id, c.post_id, c.state, c.version, c.tenants, c.audience_label, c.audience_size, \
     c.channel, c.assignee, c.requested_by, c.requested_at, c.updated_by, c.updated_at, c.approved_by, \
     c.approved_at, c.sent_by, c.sent_at, c.audience, c.message_id, \
     d.state AS delivery_state, d.delivered_at, d.last_error AS delivery_error, \
     (SELECT COUNT(*) FROM comms_acks a WHERE a.comms_id = c.id) AS acks, \
     COALESCE(p.rollout_start, p.start_at) AS rollout_start, c.subject, c.body \
     FROM comms c LEFT JOIN deliveries d ON d.message_id = c.message_id LEFT JOIN posts p ON p.id = c.post_id";

fn comms_row(row: &<Db as sqlx::Database>::Row) -> Result<crate::CommsRow> {
    let state: String = row.try_get("state")?;
    let tenants: String = row.try_get("tenants")?;
    let size: Option<i64> = row.try_get("audience_size")?;
    let sent_to: Option<i64> = row.try_get("audience")?;
    let acks: i64 = row.try_get("acks")?;
    Ok(crate::CommsRow {
        id: row.try_get("id")?,
        post_id: row.try_get("post_id")?,
        state: state
            .parse()
            .map_err(|e: String| StoreError::Corrupt(format!("a communication's state: {e}")))?,
        version: row.try_get("version")?,
        tenants: serde_json::from_str(&tenants)
            .map_err(|e| StoreError::Corrupt(format!("a communication's tenants: {e}")))?,
        audience: changedesk_core::comms::Audience {
            label: row.try_get("audience_label")?,
            size: size.and_then(|n| u64::try_from(n).ok()),
        },
        channel: row.try_get("channel")?,
        assignee: row.try_get("assignee")?,
        requested_by: row.try_get("requested_by")?,
        requested_at: read_ts(row.try_get("requested_at")?)?,
        updated_by: row.try_get("updated_by")?,
        updated_at: read_ts(row.try_get("updated_at")?)?,
        approved_by: row.try_get("approved_by")?,
        approved_at: read_ts_opt(row.try_get("approved_at")?)?,
        sent_by: row.try_get("sent_by")?,
        sent_at: read_ts_opt(row.try_get("sent_at")?)?,
        sent_to: sent_to.and_then(|n| u64::try_from(n).ok()),
        message_id: row.try_get("message_id")?,
        text: changedesk_core::comms::CommsText {
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
        },
        delivery_state: row.try_get("delivery_state")?,
        delivered_at: read_ts_opt(row.try_get("delivered_at")?)?,
        delivery_error: row.try_get("delivery_error")?,
        acks: u64::try_from(acks).unwrap_or(0),
        rollout_start: read_ts_opt(row.try_get("rollout_start")?)?,
    })
}

fn comms_audience_size(a: &changedesk_core::comms::Audience) -> Option<i64> {
    a.size.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

pub(crate) async fn create_comms(
    pool: &Pool<Db>,
    writer: &Writer,
    new: &crate::NewComms,
    actor: &str,
    at: Timestamp,
) -> Result<Option<i64>> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "communication asked").await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO comms (post_id, state, tenants, audience_label, audience_size, channel, assignee, \
         requested_by, requested_at, updated_by, updated_at, subject, body) \
         VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7, $8, $7, $8, $9, $10) \
         ON CONFLICT (post_id) WHERE requested_by = 'rules' DO NOTHING RETURNING id",
    )
    .bind(&new.post_id)
    .bind(to_json(&new.tenants))
    .bind(&new.audience.label)
    .bind(comms_audience_size(&new.audience))
    .bind(&new.channel)
    .bind(&new.assignee)
    .bind(actor)
    .bind(&now)
    .bind(&new.text.subject)
    .bind(&new.text.body)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let detail = serde_json::json!({
        "post": new.post_id, "subject": new.text.subject, "tenants": new.tenants,
        "channel": new.channel, "assignee": new.assignee,
    });
    audit(&mut tx, &now, actor, "comms.request", &format!("communication {id}"), &detail).await?;
    tx.commit().await?;
    Ok(Some(id))
}

pub(crate) async fn comms_by_id(pool: &Pool<Db>, id: i64) -> Result<Option<crate::CommsRow>> {
    let row = sqlx::query(sql(format!("SELECT {COMMS_COLUMNS} WHERE c.id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(comms_row).transpose()
}

pub(crate) async fn comms_page(
    pool: &Pool<Db>,
    query: &crate::CommsQuery,
    limit: i64,
) -> Result<Vec<crate::CommsRow>> {
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!("SELECT {COMMS_COLUMNS} WHERE 1 = 1"));
    if let Some(p) = &query.post_id {
        qb.push(" AND c.post_id = ").push_bind(p.clone());
    }
    if let Some(s) = query.sent_since {
        qb.push(" AND c.sent_at >= ").push_bind(s.to_canonical());
    }
    if let Some(state) = query.state {
        qb.push(" AND c.state = ").push_bind(state.as_str().to_string());
    }
    if let Some(before) = query.before {
        qb.push(" AND c.id < ").push_bind(before);
    }
    qb.push(" ORDER BY c.id DESC LIMIT ").push_bind(limit);
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(comms_row).collect()
}

/// The communication's state and version, under the write lock; `NotFound`
/// or `Conflict` (another version) as errors for people.
async fn comms_at(tx: &mut Tx, id: i64, version: i64) -> Result<changedesk_core::comms::CommsState> {
    let row = sqlx::query("SELECT state, version FROM comms WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("communication {id}")))?;
    let held: i64 = row.try_get("version")?;
    if held != version {
        return Err(StoreError::Conflict(format!(
            "communication {id} changed since it was read (version {held}, not {version}): read it again"
        )));
    }
    let state: String = row.try_get("state")?;
    state
        .parse()
        .map_err(|e: String| StoreError::Corrupt(format!("communication {id}: {e}")))
}

pub(crate) async fn change_comms(
    pool: &Pool<Db>,
    writer: &Writer,
    id: i64,
    version: i64,
    change: &crate::CommsChange,
    actor: &str,
    at: Timestamp,
) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "communication changed").await?;
    let state = comms_at(&mut tx, id, version).await?;
    let next = changedesk_core::comms::next_state(state, change.action()).map_err(StoreError::Invalid)?;
    let (action, detail) = match change {
        crate::CommsChange::Edit {
            text,
            audience,
            channel,
            assignee,
        } => {
            sqlx::query(
                "UPDATE comms SET state = $1, version = version + 1, subject = $2, body = $3, audience_label = $4, \
                 audience_size = $5, channel = $6, assignee = $7, approved_by = NULL, approved_at = NULL, \
                 updated_by = $8, updated_at = $9 WHERE id = $10",
            )
            .bind(next.as_str())
            .bind(&text.subject)
            .bind(&text.body)
            .bind(&audience.label)
            .bind(comms_audience_size(audience))
            .bind(channel)
            .bind(assignee)
            .bind(actor)
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            (
                "comms.edit",
                serde_json::json!({"subject": text.subject, "audience": audience.label,
                    "audience_size": audience.size, "channel": channel, "assignee": assignee,
                    "state": next.as_str()}),
            )
        }
        crate::CommsChange::Approve => {
            sqlx::query(
                "UPDATE comms SET state = $1, version = version + 1, approved_by = $2, approved_at = $3, \
                 updated_by = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(next.as_str())
            .bind(actor)
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            ("comms.approve", serde_json::json!({}))
        }
        crate::CommsChange::Cancel => {
            sqlx::query("UPDATE comms SET state = $1, version = version + 1, updated_by = $2, updated_at = $3 WHERE id = $4")
                .bind(next.as_str())
                .bind(actor)
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            ("comms.cancel", serde_json::json!({}))
        }
    };
    audit(&mut tx, &now, actor, action, &format!("communication {id}"), &detail).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn send_comms(
    pool: &Pool<Db>,
    writer: &Writer,
    id: i64,
    version: i64,
    send: &crate::CommsSend,
    actor: &str,
    at: Timestamp,
) -> Result<()> {
    let now = at.to_canonical();
    let (_w, mut tx) = begin_write(pool, writer, "communication sent").await?;
    let state = comms_at(&mut tx, id, version).await?;
    let next = changedesk_core::comms::next_state(state, changedesk_core::comms::CommsAction::Send)
        .map_err(StoreError::Invalid)?;
    insert_addressed(&mut tx, send.channel_id, &send.message_id, &send.event, &send.body, &now).await?;
    sqlx::query(
        "UPDATE comms SET state = $1, version = version + 1, sent_by = $2, sent_at = $3, audience = $4, \
         message_id = $5, updated_by = $2, updated_at = $3 WHERE id = $6",
    )
    .bind(next.as_str())
    .bind(actor)
    .bind(&now)
    .bind(i64::try_from(send.audience).unwrap_or(i64::MAX))
    .bind(&send.message_id)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({"message_id": send.message_id, "audience": send.audience,
        "channel_id": send.channel_id});
    audit(&mut tx, &now, actor, "comms.send", &format!("communication {id}"), &detail).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn acknowledge_comms(
    pool: &Pool<Db>,
    writer: &Writer,
    id: i64,
    who: &str,
    at: Timestamp,
) -> Result<crate::AckOutcome> {
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "communication acknowledged").await?;
    let row = sqlx::query(
        "SELECT c.state, c.audience, (SELECT COUNT(*) FROM comms_acks a WHERE a.comms_id = c.id) AS acks \
         FROM comms c WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(crate::AckOutcome::NotSent);
    };
    let state: String = row.try_get("state")?;
    let audience: Option<i64> = row.try_get("audience")?;
    let acks: i64 = row.try_get("acks")?;
    if state != "sent" {
        return Ok(crate::AckOutcome::NotSent);
    }
    let already: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM comms_acks WHERE comms_id = $1 AND who = $2")
        .bind(id)
        .bind(who)
        .fetch_one(&mut *tx)
        .await?;
    if already > 0 {
        return Ok(crate::AckOutcome::Already);
    }
    if acks >= audience.unwrap_or(0) {
        return Ok(crate::AckOutcome::Full);
    }
    sqlx::query("INSERT INTO comms_acks (comms_id, who, at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(who)
        .bind(at.to_canonical())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(crate::AckOutcome::Recorded)
}

pub(crate) async fn acknowledged_comms(pool: &Pool<Db>, id: i64, who: &str) -> Result<bool> {
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM comms_acks WHERE comms_id = $1 AND who = $2")
        .bind(id)
        .bind(who)
        .fetch_one(pool)
        .await?;
    Ok(found > 0)
}
