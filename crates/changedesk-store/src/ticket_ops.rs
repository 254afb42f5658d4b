// Tickets in change-control systems (see tickets.rs): written once,
// `include!`d into `mod sqlite` and `mod postgres` after ops.rs.

use changedesk_core::change_control::{TicketKind, TicketProgress};

use super::{FollowedTicket, NewTicket, TicketAsk, TicketBehind, TicketRow};

pub(crate) async fn record_ticket(pool: &Pool<Db>, writer: &Writer, t: &NewTicket) -> Result<bool> {
    let now = t.at.to_canonical();
    let scope = t.scope.as_text();
    let (_w, mut tx) = begin_write(pool, writer, "ticket").await?;
    let updated = sqlx::query(
        "UPDATE tickets SET channel_id = $1, external_id = $2, number = $3, url = $4, state = $5, progress = $6, \
         updated_at = $7 WHERE connector = $8 AND correlation_id = $9",
    )
    .bind(t.channel_id)
    .bind(&t.external_id)
    .bind(&t.number)
    .bind(&t.url)
    .bind(&t.state)
    .bind(t.progress.as_str())
    .bind(&now)
    .bind(&t.connector)
    .bind(&t.correlation_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated > 0 {
        tx.commit().await?;
        return Ok(false);
    }
    // the ticket is raised from the post as it is: later revisions are
    // told to it
    sqlx::query(
        "INSERT INTO tickets (channel_id, connector, post_id, scope, correlation_id, external_id, number, url, state, \
         progress, created_at, updated_at, noted_revision, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $11, COALESCE((SELECT revision FROM posts WHERE id = $3), 0), $12)",
    )
    .bind(t.channel_id)
    .bind(&t.connector)
    .bind(&t.post_id)
    .bind(&scope)
    .bind(&t.correlation_id)
    .bind(&t.external_id)
    .bind(&t.number)
    .bind(&t.url)
    .bind(&t.state)
    .bind(t.progress.as_str())
    .bind(&now)
    .bind(t.kind.as_str())
    .execute(&mut *tx)
    .await?;
    // the decision log of the post's work item, when it has one
    sqlx::query(
        "INSERT INTO decision_log (post_id, tenant, at, actor, action, field, old_value, new_value, reason) \
         SELECT post_id, NULL, $2, $3, 'change_raised', 'ticket', NULL, $4, $5 FROM work_items WHERE post_id = $1",
    )
    .bind(&t.post_id)
    .bind(&now)
    .bind(format!("connector:{}", t.connector))
    .bind(&t.number)
    .bind(format!("{} ({scope}): {}", t.number, t.url))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn tickets_of_post(pool: &Pool<Db>, post_id: &str) -> Result<Vec<TicketRow>> {
    let rows = sqlx::query(sql(format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE post_id = $1 ORDER BY id")))
        .bind(post_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(ticket_row).collect()
}

const TICKET_COLUMNS: &str = "tickets.connector, tickets.post_id, tickets.scope, tickets.correlation_id, \
     tickets.external_id, tickets.number, tickets.url, tickets.state, tickets.progress, tickets.created_at, \
     tickets.updated_at, tickets.checked_at, tickets.read_error, tickets.kind, tickets.close_asked";

pub(crate) async fn tickets_to_follow(pool: &Pool<Db>, limit: i64) -> Result<Vec<FollowedTicket>> {
    let rows = sqlx::query(sql(format!(
        "SELECT channels.id AS channel_id, {TICKET_COLUMNS} FROM tickets JOIN channels ON channels.name = tickets.connector \
         WHERE tickets.progress IN ('open', 'in_progress') AND tickets.kind = 'change' AND channels.enabled = TRUE \
         ORDER BY tickets.checked_at, tickets.id LIMIT $1"
    )))
    .bind(limit.max(0))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FollowedTicket {
                channel_id: r.try_get("channel_id")?,
                ticket: ticket_row(r)?,
            })
        })
        .collect()
}

pub(crate) async fn ticket_checked(
    pool: &Pool<Db>,
    writer: &Writer,
    connector: &str,
    correlation_id: &str,
    at: Timestamp,
    error: Option<&str>,
) -> Result<()> {
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "ticket read").await?;
    sqlx::query("UPDATE tickets SET checked_at = $1, read_error = $2 WHERE connector = $3 AND correlation_id = $4")
        .bind(at.to_canonical())
        .bind(error)
        .bind(connector)
        .bind(correlation_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn ticket_row(r: &DbRow) -> Result<TicketRow> {
            let checked: String = r.try_get("checked_at")?;
            Ok(TicketRow {
                connector: r.try_get("connector")?,
                post_id: r.try_get("post_id")?,
                scope: r.try_get("scope")?,
                correlation_id: r.try_get("correlation_id")?,
                external_id: r.try_get("external_id")?,
                number: r.try_get("number")?,
                url: r.try_get("url")?,
                state: r.try_get("state")?,
                progress: TicketProgress::parse(&r.try_get::<String, _>("progress")?)
                    .map_err(StoreError::Invalid)?,
                created_at: read_ts(r.try_get("created_at")?)?,
                updated_at: read_ts(r.try_get("updated_at")?)?,
                checked_at: if checked.is_empty() { None } else { Some(read_ts(checked)?) },
                read_error: r.try_get("read_error")?,
                kind: TicketKind::parse(&r.try_get::<String, _>("kind")?).map_err(StoreError::Invalid)?,
                close_asked: r.try_get("close_asked")?,
            })
}

pub(crate) async fn lock_ticket(
    pool: &Pool<Db>,
    writer: &Writer,
    connector: &str,
    correlation_id: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<crate::TicketLock> {
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "ticket lock").await?;
    // a lock past its time: its holder died before letting go (a raise cut
    // short, which may have made the ticket unseen)
    let expired = sqlx::query("DELETE FROM ticket_locks WHERE connector = $1 AND correlation_id = $2 AND until < $3")
        .bind(connector)
        .bind(correlation_id)
        .bind(now.to_canonical())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query(
        "INSERT INTO ticket_locks (connector, correlation_id, holder, until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (connector, correlation_id) DO NOTHING",
    )
    .bind(connector)
    .bind(correlation_id)
    .bind(holder)
    .bind(until.to_canonical())
    .execute(&mut *tx)
    .await?;
    let held: String = sqlx::query_scalar(
        "SELECT holder FROM ticket_locks WHERE connector = $1 AND correlation_id = $2",
    )
    .bind(connector)
    .bind(correlation_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(match (held == holder, expired > 0) {
        (false, _) => crate::TicketLock::Busy,
        (true, false) => crate::TicketLock::Held,
        (true, true) => crate::TicketLock::TakenOver,
    })
}

pub(crate) async fn unlock_ticket(
    pool: &Pool<Db>,
    writer: &Writer,
    connector: &str,
    correlation_id: &str,
    holder: &str,
) -> Result<()> {
    let (_w, mut tx) = begin_bookkeeping(pool, writer, "ticket lock").await?;
    sqlx::query("DELETE FROM ticket_locks WHERE connector = $1 AND correlation_id = $2 AND holder = $3")
        .bind(connector)
        .bind(correlation_id)
        .bind(holder)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn ticket(pool: &Pool<Db>, connector: &str, correlation_id: &str) -> Result<Option<TicketRow>> {
    let row = sqlx::query(sql(format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE connector = $1 AND correlation_id = $2"
    )))
    .bind(connector)
    .bind(correlation_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(ticket_row).transpose()
}

pub(crate) async fn tickets_behind(pool: &Pool<Db>, limit: i64) -> Result<Vec<TicketBehind>> {
    let rows = sqlx::query(sql(format!(
        "SELECT channels.id AS channel_id, tickets.noted_revision, posts.revision AS post_revision, {TICKET_COLUMNS} \
         FROM tickets JOIN channels ON channels.name = tickets.connector JOIN posts ON posts.id = tickets.post_id \
         WHERE tickets.progress IN ('open', 'in_progress') AND tickets.kind = 'change' AND channels.enabled = TRUE \
         AND posts.revision > tickets.noted_revision ORDER BY tickets.id LIMIT $1"
    )))
    .bind(limit.max(0))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TicketBehind {
                ticket: FollowedTicket {
                    channel_id: r.try_get("channel_id")?,
                    ticket: ticket_row(r)?,
                },
                noted_revision: r.try_get("noted_revision")?,
                revision: r.try_get("post_revision")?,
            })
        })
        .collect()
}

pub(crate) async fn record_ticket_asks(
    pool: &Pool<Db>,
    writer: &Writer,
    events: &[Event],
    marks: &[TicketAsk],
    at: Timestamp,
) -> Result<()> {
    let (_w, mut tx) = begin_outbox(pool, writer, "ticket asks").await?;
    insert_events(&mut tx, events, &at.to_canonical()).await?;
    for m in marks {
        sqlx::query(
            "UPDATE tickets SET noted_revision = CASE WHEN $1 > noted_revision THEN $1 ELSE noted_revision END, \
             close_asked = (close_asked OR $2) WHERE connector = $3 AND correlation_id = $4",
        )
        .bind(m.noted_revision.unwrap_or(0))
        .bind(m.close)
        .bind(&m.connector)
        .bind(&m.correlation_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
