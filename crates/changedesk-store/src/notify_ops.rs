// The outbox: events, channels and deliveries. Written once, `include!`d
// into `mod sqlite` and `mod postgres` after item_ops.rs.
//
// Delivery bookkeeping (fan-out, claims, outcomes) runs in `begin_outbox`:
// on PostgreSQL a plain transaction that takes neither the writer's turn
// nor the archive's advisory lock, with claims by `FOR UPDATE SKIP LOCKED`,
// so a sync never stalls deliveries and several workers (replicas) share
// them; on SQLite, whose file has one writer at a time, the writer's turn.

use changedesk_core::notify::{ChannelFilter, Event};

use super::{
    BatchedDelivery, ChannelRow, ClaimedDelivery, DeliveryFilter, DeliveryOutcome, DeliveryRow, NewChannel, NewDelivery, StoredEvent,
};

async fn begin_outbox<'w>(pool: &Pool<Db>, writer: &'w Writer, what: &'static str) -> Result<(Option<WriterGuard<'w>>, Tx)> {
    if OUTBOX_SHARES_THE_WRITER {
        let (guard, tx) = begin_bookkeeping(pool, writer, what).await?;
        Ok((Some(guard), tx))
    } else {
        Ok((None, pool.begin().await?))
    }
}

/// Records `events` (in the caller's transaction: the change and its events
/// commit together).
async fn insert_events(tx: &mut Tx, events: &[Event], now: &str) -> Result<()> {
    for e in events {
        sqlx::query("INSERT INTO events (kind, post_id, payload, created_at) VALUES ($1, $2, $3, $4)")
            .bind(e.kind.as_str())
            .bind(e.post.as_ref().map(|p| p.id.clone()))
            .bind(to_json(e))
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(crate) async fn record_events(pool: &Pool<Db>, writer: &Writer, events: &[Event], at: Timestamp) -> Result<()> {
    let (_w, mut tx) = begin_outbox(pool, writer, "events").await?;
    insert_events(&mut tx, events, &at.to_canonical()).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn pending_events(pool: &Pool<Db>, limit: i64) -> Result<Vec<StoredEvent>> {
    let rows = sqlx::query("SELECT id, payload, created_at FROM events WHERE dispatched_at IS NULL ORDER BY id LIMIT $1")
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let payload: String = r.try_get("payload")?;
            let event: Event = serde_json::from_str(&payload)
                .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", r.try_get::<i64, _>("id").unwrap_or(0))))?;
            Ok(StoredEvent { id: r.try_get("id")?, event, created_at: read_ts(r.try_get("created_at")?)? })
        })
        .collect()
}

/// Fans event `event_id` out: its deliveries (one per channel; an existing
/// one is kept as it is) and the event marked dispatched, together.
pub(crate) async fn dispatch_event(
    pool: &Pool<Db>,
    writer: &Writer,
    event_id: i64,
    deliveries: &[NewDelivery],
    now: Timestamp,
) -> Result<()> {
    dispatch_events(pool, writer, &[(event_id, deliveries)], now).await
}

/// Fans many events out in one transaction: each event's deliveries (an
/// existing one is kept as it is) and the events marked dispatched. The
/// rows go in multi-row `INSERT`s of 100, 10 or 1 rows (three statement
/// texts, each prepared once), instead of one statement per delivery.
pub(crate) async fn dispatch_events(
    pool: &Pool<Db>,
    writer: &Writer,
    events: &[(i64, &[NewDelivery])],
    now: Timestamp,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let now = now.to_canonical();
    let rows: Vec<(i64, &NewDelivery, &'static str, String)> = events
        .iter()
        .flat_map(|(event_id, deliveries)| {
            deliveries.iter().map(|d| match d.ready_at {
                Some(t) => (*event_id, d, "batched", t.to_canonical()),
                None => (*event_id, d, "pending", now.clone()),
            })
        })
        .collect();
    let (_w, mut tx) = begin_outbox(pool, writer, "dispatch").await?;
    let mut rest = rows.as_slice();
    while !rest.is_empty() {
        let n = [100, 10, 1].into_iter().find(|n| rest.len() >= *n).unwrap_or(1);
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO deliveries (event_id, channel_id, message_id, state, next_attempt_at, created_at, body) ",
        );
        qb.push_values(chunk, |mut b, (event_id, d, state, due)| {
            b.push_bind(*event_id)
                .push_bind(d.channel_id)
                .push_bind(&d.message_id)
                .push_bind(*state)
                .push_bind(due)
                .push_bind(&now)
                .push_bind(&d.body);
        });
        qb.push(" ON CONFLICT (event_id, channel_id) DO NOTHING");
        qb.build().execute(&mut *tx).await?;
    }
    let ids: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
    sqlx::query(sql(format!(
        "UPDATE events SET dispatched_at = $1 WHERE id {}$2{}",
        TENANT_IDS_IN[0], TENANT_IDS_IN[1]
    )))
    .bind(&now)
    .bind(tenant_id_param(&ids))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn channels_with_due_batches(pool: &Pool<Db>, now: Timestamp) -> Result<Vec<i64>> {
    let ids = sqlx::query_scalar(
        "SELECT DISTINCT b.channel_id FROM deliveries b WHERE b.state = 'batched' AND b.next_attempt_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM deliveries w WHERE w.channel_id = b.channel_id \
             AND w.state IN ('pending', 'sending')) ORDER BY b.channel_id",
    )
    .bind(now.to_canonical())
    .fetch_all(pool)
    .await?;
    Ok(ids)
}

pub(crate) async fn batched_deliveries(
    pool: &Pool<Db>,
    channel_id: i64,
    until: Timestamp,
    limit: i64,
) -> Result<Vec<BatchedDelivery>> {
    let rows = sqlx::query(
        "SELECT id, message_id, body, next_attempt_at FROM deliveries \
         WHERE channel_id = $1 AND state = 'batched' AND next_attempt_at <= $2 ORDER BY id LIMIT $3",
    )
    .bind(channel_id)
    .bind(until.to_canonical())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(BatchedDelivery {
                id: r.try_get("id")?,
                message_id: r.try_get("message_id")?,
                body: r.try_get("body")?,
                ready_at: read_ts(r.try_get("next_attempt_at")?)?,
            })
        })
        .collect()
}

pub(crate) async fn merge_batch(
    pool: &Pool<Db>,
    writer: &Writer,
    leader: i64,
    members: &[i64],
    body: &str,
    now: Timestamp,
) -> Result<bool> {
    let now = now.to_canonical();
    let (_w, mut tx) = begin_outbox(pool, writer, "batch").await?;
    let took = sqlx::query(
        "UPDATE deliveries SET state = 'pending', body = $1, next_attempt_at = $2 WHERE id = $3 AND state = 'batched'",
    )
    .bind(body)
    .bind(&now)
    .bind(leader)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if took == 0 {
        // another worker composed it
        return Ok(false);
    }
    for chunk in members.chunks(500) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("UPDATE deliveries SET state = 'merged', batch_of = ");
        qb.push_bind(leader);
        qb.push(" WHERE state = 'batched' AND id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        let n = qb.build().execute(&mut *tx).await?.rows_affected();
        if usize::try_from(n).unwrap_or(0) != chunk.len() {
            // the batch changed under us: compose it again
            tx.rollback().await?;
            return Ok(false);
        }
    }
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn delivered_since(pool: &Pool<Db>, channel_id: i64, since: Timestamp) -> Result<i64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE channel_id = $1 AND state = 'delivered' AND delivered_at >= $2",
    )
    .bind(channel_id)
    .bind(since.to_canonical())
    .fetch_one(pool)
    .await?;
    Ok(n)
}

/// A merged delivery shows its message's (the leader `l`'s) state.
const DELIVERY_COLUMNS: &str = "d.id, d.event_id, d.channel_id, d.message_id, COALESCE(l.state, d.state) AS state, \
     COALESCE(l.attempts, d.attempts) AS attempts, COALESCE(l.resends, d.resends) AS resends, \
     COALESCE(l.next_attempt_at, d.next_attempt_at) AS next_attempt_at, COALESCE(l.last_status, d.last_status) AS last_status, \
     COALESCE(l.last_error, d.last_error) AS last_error, d.created_at, COALESCE(l.delivered_at, d.delivered_at) AS delivered_at, \
     l.message_id AS carried_by";

/// Claims up to `limit` deliveries due at `now` (pending and due, or being
/// sent under a lease that ran out: a crash mid-send, counted in
/// `resends`) until `lease_until`; each claim is one more attempt.
pub(crate) async fn claim_deliveries(
    pool: &Pool<Db>,
    writer: &Writer,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>> {
    let now = now.to_canonical();
    let (_w, mut tx) = begin_outbox(pool, writer, "claim").await?;
    // Each kind of due delivery is read in the order of its own index
    // (`deliveries_due`: state, next_attempt_at, id), at most `limit` of
    // each, then the first `limit` of both: one `OR` instead made both
    // databases read and sort every due delivery (a backlog of 100,000
    // took PostgreSQL a sequential scan and an external sort per claim).
    let rows = sqlx::query(sql(format!(
        "UPDATE deliveries SET state = 'sending', claimed_until = $1, attempts = attempts + 1, \
         resends = resends + CASE WHEN state = 'sending' THEN 1 ELSE 0 END, \
         taken_over = (state = 'sending') \
         WHERE id IN (SELECT id FROM ( \
             SELECT * FROM (SELECT id, next_attempt_at FROM deliveries \
                 WHERE state = 'pending' AND next_attempt_at <= $2 \
                 ORDER BY next_attempt_at, id LIMIT $3{SKIP_LOCKED}) p \
             UNION ALL \
             SELECT * FROM (SELECT id, next_attempt_at FROM deliveries \
                 WHERE state = 'sending' AND claimed_until <= $2 \
                 ORDER BY next_attempt_at, id LIMIT $3{SKIP_LOCKED}) s \
         ) due ORDER BY next_attempt_at, id LIMIT $3) \
         RETURNING id, channel_id, message_id, body, attempts, resends, taken_over"
    )))
    .bind(lease_until.to_canonical())
    .bind(&now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut out: Vec<ClaimedDelivery> = rows
        .iter()
        .map(|r| {
            Ok(ClaimedDelivery {
                id: r.try_get("id")?,
                channel_id: r.try_get("channel_id")?,
                message_id: r.try_get("message_id")?,
                body: r.try_get("body")?,
                attempts: r.try_get("attempts")?,
                resends: r.try_get("resends")?,
                taken_over: r.try_get("taken_over")?,
            })
        })
        .collect::<Result<_>>()?;
    out.sort_by_key(|d| d.id);
    Ok(out)
}

/// Records what sending delivery `id` gave. Only a delivery still claimed
/// (`sending`) changes: after a lost lease, the later claim's outcome wins.
pub(crate) async fn finish_delivery(
    pool: &Pool<Db>,
    writer: &Writer,
    id: i64,
    outcome: &DeliveryOutcome,
    now: Timestamp,
) -> Result<()> {
    let now = now.to_canonical();
    let (state, next, status, error) = match outcome {
        DeliveryOutcome::Delivered { status } => ("delivered", None, Some(*status), None),
        DeliveryOutcome::Retry { next_attempt_at, status, error } => {
            ("pending", Some(next_attempt_at.to_canonical()), *status, Some(error.clone()))
        }
        DeliveryOutcome::Dead { status, error } => ("failed", None, *status, Some(error.clone())),
    };
    let (_w, mut tx) = begin_outbox(pool, writer, "delivery").await?;
    // PostgreSQL: the commit does not wait for the disk. An outcome lost in
    // a crash of the database leaves the delivery `sending`: its lease runs
    // out, it is taken over and counted in `resends`, as after a crash of
    // changedesk mid-send (at least once, same id). A claim still waits for
    // the disk: a send happens only after its claim is durable, and that
    // flush also makes every earlier outcome durable.
    if !ASYNC_COMMIT.is_empty() {
        sqlx::query(ASYNC_COMMIT).execute(&mut *tx).await?;
    }
    sqlx::query(
        "UPDATE deliveries SET state = $1, next_attempt_at = COALESCE($2, next_attempt_at), claimed_until = NULL, \
         last_status = $3, last_error = $4, delivered_at = CASE WHEN $1 = 'delivered' THEN $5 ELSE delivered_at END \
         WHERE id = $6 AND state = 'sending'",
    )
    .bind(state)
    .bind(next)
    .bind(status.map(i64::from))
    .bind(error.map(|e| changedesk_core::text::clip_chars(&e, 1000).to_string()))
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records the outcomes of many claimed deliveries in one transaction (all
/// or none), as [`finish_delivery`] records one: only deliveries still
/// claimed change. One `UPDATE` per distinct outcome (usually one: every
/// delivery answered the same status), its ids bound as one parameter.
pub(crate) async fn finish_deliveries(
    pool: &Pool<Db>,
    writer: &Writer,
    outcomes: &[(i64, DeliveryOutcome)],
    now: Timestamp,
) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let now = now.to_canonical();
    type Columns = (&'static str, Option<String>, Option<i64>, Option<String>);
    let mut groups: Vec<(Columns, Vec<i64>)> = Vec::new();
    for (id, outcome) in outcomes {
        let columns: Columns = match outcome {
            DeliveryOutcome::Delivered { status } => ("delivered", None, Some(i64::from(*status)), None),
            DeliveryOutcome::Retry { next_attempt_at, status, error } => (
                "pending",
                Some(next_attempt_at.to_canonical()),
                status.map(i64::from),
                Some(changedesk_core::text::clip_chars(error, 1000).to_string()),
            ),
            DeliveryOutcome::Dead { status, error } => (
                "failed",
                None,
                status.map(i64::from),
                Some(changedesk_core::text::clip_chars(error, 1000).to_string()),
            ),
        };
        match groups.iter_mut().find(|(c, _)| *c == columns) {
            Some((_, ids)) => ids.push(*id),
            None => groups.push((columns, vec![*id])),
        }
    }
    let (_w, mut tx) = begin_outbox(pool, writer, "delivery").await?;
    // as in finish_delivery: an outcome a database crash loses is taken over
    if !ASYNC_COMMIT.is_empty() {
        sqlx::query(ASYNC_COMMIT).execute(&mut *tx).await?;
    }
    for ((state, next, status, error), ids) in &groups {
        // the ids bound as one parameter: one statement text, prepared once
        sqlx::query(sql(format!(
            "UPDATE deliveries SET state = $1, next_attempt_at = COALESCE($2, next_attempt_at), claimed_until = NULL, \
             last_status = $3, last_error = $4, delivered_at = CASE WHEN $1 = 'delivered' THEN $5 ELSE delivered_at END \
             WHERE state = 'sending' AND id {}$6{}",
            TENANT_IDS_IN[0], TENANT_IDS_IN[1]
        )))
        .bind(*state)
        .bind(next.clone())
        .bind(*status)
        .bind(error.clone())
        .bind(&now)
        .bind(tenant_id_param(ids))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Puts failed (dead) deliveries back in the queue, due at `now`, with
/// their attempts reset: those of `ids`, or every failed one. How many.
pub(crate) async fn retry_deliveries(
    pool: &Pool<Db>,
    writer: &Writer,
    ids: Option<&[i64]>,
    now: Timestamp,
    actor: &str,
) -> Result<u64> {
    let (_w, mut tx) = begin_outbox(pool, writer, "retry").await?;
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        "UPDATE deliveries SET state = 'pending', attempts = 0, claimed_until = NULL, next_attempt_at = ",
    );
    qb.push_bind(now.to_canonical());
    qb.push(" WHERE state = 'failed'");
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(0);
        }
        qb.push(" AND id IN (");
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind(*id);
        }
        qb.push(")");
    }
    let n = qb.build().execute(&mut *tx).await?.rows_affected();
    if n > 0 {
        let detail = serde_json::json!({"deliveries": ids, "count": n});
        audit(&mut tx, &now.to_canonical(), actor, "delivery.retry", "outbox", &detail).await?;
    }
    tx.commit().await?;
    Ok(n)
}

pub(crate) async fn list_deliveries(pool: &Pool<Db>, f: &DeliveryFilter) -> Result<Vec<DeliveryRow>> {
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
        "SELECT {DELIVERY_COLUMNS}, e.kind, e.post_id, c.name AS channel FROM deliveries d \
         JOIN events e ON e.id = d.event_id JOIN channels c ON c.id = d.channel_id \
         LEFT JOIN deliveries l ON l.id = d.batch_of WHERE 1 = 1"
    ));
    if f.failed_only {
        qb.push(" AND COALESCE(l.state, d.state) = 'failed'");
    }
    if let Some(p) = &f.post_id {
        qb.push(" AND e.post_id = ").push_bind(p.clone());
    }
    if let Some(c) = &f.channel {
        qb.push(" AND c.name = ").push_bind(c.trim().to_ascii_lowercase());
    }
    qb.push(" ORDER BY d.id DESC LIMIT ").push_bind(f.limit.unwrap_or(500).clamp(1, 10_000));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(DeliveryRow {
                id: r.try_get("id")?,
                event_id: r.try_get("event_id")?,
                kind: r.try_get("kind")?,
                post_id: r.try_get("post_id")?,
                channel: r.try_get("channel")?,
                message_id: r.try_get("message_id")?,
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                resends: r.try_get("resends")?,
                next_attempt_at: read_ts(r.try_get("next_attempt_at")?)?,
                last_status: r.try_get("last_status")?,
                last_error: r.try_get("last_error")?,
                created_at: read_ts(r.try_get("created_at")?)?,
                delivered_at: read_ts_opt(r.try_get("delivered_at")?)?,
                carried_by: r.try_get("carried_by")?,
            })
        })
        .collect()
}

/// Inserts channel `name` (enabled), declared in a configuration file
/// (`declared`: the file and the digest of its declaration) or not; its id.
async fn insert_channel(tx: &mut Tx, name: &str, c: &NewChannel, declared: Option<(&str, &str)>) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO channels (name, kind, url_sealed, secret_sealed, filter, settings, allow_private, enabled, \
         created_at, created_by, declared_in, declared_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $10, $11) RETURNING id",
    )
    .bind(name)
    .bind(&c.kind)
    .bind(&c.url_sealed)
    .bind(&c.secret_sealed)
    .bind(to_json(&c.filter))
    .bind(to_json(&c.settings))
    .bind(c.allow_private)
    .bind(c.at.to_canonical())
    .bind(&c.created_by)
    .bind(declared.map(|(file, _)| file))
    .bind(declared.map(|(_, digest)| digest))
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

pub(crate) async fn create_channel(pool: &Pool<Db>, writer: &Writer, c: &NewChannel) -> Result<i64> {
    let name = c.name.trim().to_ascii_lowercase();
    let (_w, mut tx) = begin_outbox(pool, writer, "channel").await?;
    let exists = sqlx::query("SELECT declared_in FROM channels WHERE name = $1")
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = exists {
        return Err(StoreError::Conflict(match row.try_get::<Option<String>, _>("declared_in")? {
            Some(file) => declared_message(&name, &file),
            None => format!("a channel named `{name}` exists"),
        }));
    }
    let id = insert_channel(&mut tx, &name, c, None).await?;
    // never the URL or the secret: they are secrets
    let detail = serde_json::json!({"kind": c.kind, "filter": c.filter, "settings": c.settings, "allow_private": c.allow_private});
    audit(&mut tx, &c.at.to_canonical(), &c.created_by, "channel.add", &name, &detail).await?;
    tx.commit().await?;
    Ok(id)
}

pub(crate) async fn list_channels(pool: &Pool<Db>) -> Result<Vec<ChannelRow>> {
    let rows = sqlx::query(
        "SELECT id, name, kind, url_sealed, secret_sealed, filter, settings, allow_private, enabled, disabled_reason, created_at, created_by, \
         declared_in, declared_digest FROM channels ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let filter: String = r.try_get("filter")?;
            let settings: String = r.try_get("settings")?;
            let name: String = r.try_get("name")?;
            Ok(ChannelRow {
                id: r.try_get("id")?,
                filter: serde_json::from_str::<ChannelFilter>(&filter)
                    .map_err(|e| StoreError::Corrupt(format!("channel {name}'s filter: {e}")))?,
                settings: serde_json::from_str::<changedesk_core::notify::ChannelSettings>(&settings)
                    .map_err(|e| StoreError::Corrupt(format!("channel {name}'s settings: {e}")))?,
                name,
                kind: r.try_get("kind")?,
                url_sealed: r.try_get("url_sealed")?,
                secret_sealed: r.try_get("secret_sealed")?,
                allow_private: r.try_get("allow_private")?,
                enabled: r.try_get("enabled")?,
                disabled_reason: r.try_get("disabled_reason")?,
                created_at: read_ts(r.try_get("created_at")?)?,
                created_by: r.try_get("created_by")?,
                declared_in: r.try_get("declared_in")?,
                declared_digest: r.try_get("declared_digest")?,
            })
        })
        .collect()
}

/// Removes a channel and its deliveries. Whether it existed. A channel
/// the configuration file declares is not removed: `Conflict`.
pub(crate) async fn remove_channel(pool: &Pool<Db>, writer: &Writer, name: &str, actor: &str, at: Timestamp) -> Result<bool> {
    let name = name.trim().to_ascii_lowercase();
    let (_w, mut tx) = begin_outbox(pool, writer, "channel").await?;
    let declared: Option<Option<String>> = sqlx::query_scalar("SELECT declared_in FROM channels WHERE name = $1")
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(Some(file)) = declared {
        return Err(StoreError::Conflict(declared_message(&name, &file)));
    }
    let n = sqlx::query("DELETE FROM channels WHERE name = $1")
        .bind(&name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n > 0 {
        audit(&mut tx, &at.to_canonical(), actor, "channel.remove", &name, &serde_json::json!({})).await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}

/// Enables a channel again, or disables it with a reason (a 410 from the
/// endpoint, a person). Whether it exists.
pub(crate) async fn set_channel_enabled(
    pool: &Pool<Db>,
    writer: &Writer,
    id: i64,
    enabled: bool,
    reason: Option<&str>,
    actor: &str,
    at: Timestamp,
) -> Result<bool> {
    let (_w, mut tx) = begin_outbox(pool, writer, "channel").await?;
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE channels SET enabled = $1, disabled_reason = $2 WHERE id = $3 RETURNING name",
    )
    .bind(enabled)
    .bind(reason)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(name) = &name {
        let action = if enabled { "channel.enable" } else { "channel.disable" };
        audit(&mut tx, &at.to_canonical(), actor, action, name, &serde_json::json!({"reason": reason})).await?;
    }
    tx.commit().await?;
    Ok(name.is_some())
}

/// Takes `address` off e-mail channel `channel_id` (a signed unsubscribe
/// link): removed from its recipients, or, for an owner's channel or a
/// person's subscription (which write to the owner's or person's address),
/// the channel disabled. Audited in the
/// address's name. `None`: no such e-mail channel.
pub(crate) async fn unsubscribe(
    pool: &Pool<Db>,
    writer: &Writer,
    channel_id: i64,
    address: &str,
    at: Timestamp,
) -> Result<Option<super::Unsubscribed>> {
    let (_w, mut tx) = begin_outbox(pool, writer, "channel").await?;
    let row = sqlx::query("SELECT name, kind, settings, enabled FROM channels WHERE id = $1")
        .bind(channel_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let name: String = row.try_get("name")?;
    let kind: String = row.try_get("kind")?;
    if kind != "email" {
        return Ok(None);
    }
    let settings: String = row.try_get("settings")?;
    let mut settings: changedesk_core::notify::ChannelSettings = serde_json::from_str(&settings)
        .map_err(|e| StoreError::Corrupt(format!("channel {name}'s settings: {e}")))?;
    let enabled: bool = row.try_get("enabled")?;
    let before = settings.recipients.len();
    settings.recipients.retain(|r| !r.trim().eq_ignore_ascii_case(address.trim()));
    let changed = if settings.recipients.len() < before {
        sqlx::query("UPDATE channels SET settings = $1 WHERE id = $2")
            .bind(to_json(&settings))
            .bind(channel_id)
            .execute(&mut *tx)
            .await?;
        true
    } else if before == 0 && (settings.owner.is_some() || settings.person.is_some()) && enabled {
        let reason = format!("unsubscribed by {address}");
        sqlx::query("UPDATE channels SET enabled = FALSE, disabled_reason = $1 WHERE id = $2")
            .bind(changedesk_core::text::clip_chars(&reason, 300).to_string())
            .bind(channel_id)
            .execute(&mut *tx)
            .await?;
        true
    } else {
        false
    };
    if changed {
        let actor = format!("unsubscribe link ({})", changedesk_core::text::clip_chars(address, 200));
        audit(&mut tx, &at.to_canonical(), &actor, "channel.unsubscribe", &name, &serde_json::json!({"address": address})).await?;
    }
    tx.commit().await?;
    Ok(Some(super::Unsubscribed { channel: name, changed }))
}

/// Incidents whose revision or resolution changed since the outbox last
/// told of them (up to `limit`), with their visible tenants and whether a
/// tenant saw them after its first load of incidents (`fresh`; an incident
/// only ever seen in first loads is the baseline).
pub(crate) async fn pending_incident_changes(pool: &Pool<Db>, limit: i64) -> Result<Vec<super::IncidentChange>> {
    let rows = sqlx::query(
        "SELECT id, title, service, feature, classification, status, is_resolved, impact_description, start_at, end_at, \
         revision, notified_revision, notified_resolved FROM incidents \
         WHERE notified_revision IS NULL OR notified_revision < revision \
            OR notified_resolved IS NULL OR notified_resolved <> is_resolved \
         ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id")?;
        let tenants: Vec<String> = sqlx::query_scalar(
            "SELECT t.name FROM incident_tenants l JOIN tenants t ON t.id = l.tenant_id \
             WHERE l.incident_id = $1 AND l.visible ORDER BY t.name",
        )
        .bind(&id)
        .fetch_all(pool)
        .await?;
        let fresh: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM incident_tenants l JOIN runs r ON r.tenant_id = l.tenant_id \
             AND r.kind = 'issues' WHERE l.incident_id = $1 AND l.visible AND r.finished_at < l.first_seen)",
        )
        .bind(&id)
        .fetch_one(pool)
        .await?;
        out.push(super::IncidentChange {
            incident: changedesk_core::notify::IncidentRef {
                title: r.try_get("title")?,
                service: r.try_get("service")?,
                feature: r.try_get("feature")?,
                classification: r.try_get("classification")?,
                status: r.try_get("status")?,
                resolved: r.try_get("is_resolved")?,
                impact: r.try_get("impact_description")?,
                start: read_ts_opt(r.try_get("start_at")?)?,
                end: read_ts_opt(r.try_get("end_at")?)?,
                id,
            },
            revision: r.try_get("revision")?,
            notified_revision: r.try_get("notified_revision")?,
            notified_resolved: r.try_get("notified_resolved")?,
            tenants,
            fresh,
        });
    }
    Ok(out)
}

/// Records `events` and marks each incident of `marks` (id, revision,
/// resolved) as told, in one transaction.
pub(crate) async fn record_incident_events(
    pool: &Pool<Db>,
    writer: &Writer,
    events: &[Event],
    marks: &[(String, i64, bool)],
    at: Timestamp,
) -> Result<()> {
    let (_w, mut tx) = begin_outbox(pool, writer, "incident events").await?;
    insert_events(&mut tx, events, &at.to_canonical()).await?;
    for (id, revision, resolved) in marks {
        sqlx::query("UPDATE incidents SET notified_revision = $1, notified_resolved = $2 WHERE id = $3")
            .bind(revision)
            .bind(resolved)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records a scheduled message of channel `channel_id` (an owner's review):
/// its event (already dispatched) and its delivery, due at `now`, under
/// `message_id`, in one transaction; nothing when a delivery of that id
/// exists (each period's review is made once). Whether it was recorded.
pub(crate) async fn record_scheduled(
    pool: &Pool<Db>,
    writer: &Writer,
    channel_id: i64,
    message_id: &str,
    event: &Event,
    body: &str,
    now: Timestamp,
) -> Result<bool> {
    let now = now.to_canonical();
    let (_w, mut tx) = begin_outbox(pool, writer, "scheduled").await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM deliveries WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    insert_addressed(&mut tx, channel_id, message_id, event, body, &now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Records `event` (already dispatched) and its one delivery to
/// `channel_id` under `message_id`, due at `now`, in the caller's
/// transaction: a message made for one channel (an owner's review, a
/// communication).
async fn insert_addressed(
    tx: &mut Tx,
    channel_id: i64,
    message_id: &str,
    event: &Event,
    body: &str,
    now: &str,
) -> Result<()> {
    let event_id: i64 = sqlx::query_scalar(
        "INSERT INTO events (kind, post_id, payload, created_at, dispatched_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(event.kind.as_str())
    .bind(event.post.as_ref().map(|p| p.id.clone()))
    .bind(to_json(event))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO deliveries (event_id, channel_id, message_id, state, next_attempt_at, created_at, body) \
         VALUES ($1, $2, $3, 'pending', $4, $4, $5)",
    )
    .bind(event_id)
    .bind(channel_id)
    .bind(message_id)
    .bind(now)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
