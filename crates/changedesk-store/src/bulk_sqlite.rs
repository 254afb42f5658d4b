// SQLite's bulk insert of new tenant links, `include!`d into `mod sqlite`
// next to ops.rs (which calls `insert_links`).

/// Rows per multi-row INSERT: far below SQLite's limit on bound parameters
/// (9 per row), and large enough that the per-statement overhead (a channel
/// round trip to sqlx's SQLite worker thread) stops mattering.
const LINK_BATCH: usize = 250;

async fn insert_links(tx: &mut Tx, l: &Links, load: &Load<'_>, links: &[NewLink]) -> Result<()> {
    let rollout_col = if l.has_rollout { ", rollout" } else { "" };
    for chunk in links.chunks(LINK_BATCH) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "INSERT INTO {table} ({key}, tenant_id, details, details_digest, seen_last_modified, first_seen, last_seen, visible{rollout_col}) ",
            table = l.table,
            key = l.key
        ));
        qb.push_values(chunk, |mut b, link| {
            b.push_bind(link.id.clone())
                .push_bind(load.tenant_id)
                .push_bind(link.details.clone())
                .push_bind(link.details_digest.clone())
                .push_bind(link.last_modified.clone())
                .push_bind(load.now.to_string())
                .push_bind(load.now.to_string())
                .push_bind(true);
            if l.has_rollout {
                b.push_bind(link.rollout.clone());
            }
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// `IN` a list of ids bound as one parameter (`$n`, from [`id_list`]): one
/// statement text whatever the number of ids, so it is prepared once.
fn any_of(n: usize) -> String {
    format!("IN (SELECT value FROM json_each(${n}))")
}

/// The ids for [`any_of`]: a JSON array.
fn id_list(ids: &[&str]) -> String {
    to_json(ids)
}
