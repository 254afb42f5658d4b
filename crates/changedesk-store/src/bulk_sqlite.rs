// SQLite's bulk inserts of new tenant links and tenant details,
// `include!`d into `mod sqlite` next to ops.rs (which calls them).
//
// The rows go as one JSON array bound to one parameter and `json_each`
// turns them back into rows: one statement text whatever the number of
// rows, so it is prepared once (a multi-row `VALUES` list is a new statement
// for every row count, and the statement cache kept each one, large, in
// memory).

async fn insert_links(tx: &mut Tx, l: &Links, load: &Load<'_>, links: &[NewLink]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let rows: Vec<(&str, &str, Option<&str>)> = links
        .iter()
        .map(|k| (k.id.as_str(), k.details_digest.as_str(), k.last_modified.as_deref()))
        .collect();
    sqlx::query(sql(format!(
        "INSERT INTO {table} ({key}, tenant_id, details_digest, seen_last_modified, first_seen, last_seen, visible) \
         SELECT j.value ->> 0, $1, j.value ->> 1, j.value ->> 2, $2, $2, TRUE FROM json_each($3) AS j",
        table = l.table,
        key = l.key
    )))
    .bind(load.tenant_id)
    .bind(load.now)
    .bind(to_json(&rows))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores tenant details (digest, JSON) that may already be there.
async fn insert_details(tx: &mut Tx, rows: &[(String, String)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO tenant_details (digest, details) \
         SELECT j.value ->> 0, j.value ->> 1 FROM json_each($1) AS j WHERE TRUE \
         ON CONFLICT (digest) DO NOTHING",
    )
    .bind(to_json(rows))
    .execute(&mut **tx)
    .await?;
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

/// A post's tenant links as one JSON array of `[tenant, details digest,
/// first seen, visible]` (aggregating `post_tenants pt JOIN tenants t`).
const LINK_LIST: &str = "json_group_array(json_array(t.name, pt.details_digest, pt.first_seen, \
     CASE WHEN pt.visible THEN json('true') ELSE json('false') END))";

/// The tenant names of a group of `post_tenants pt JOIN tenants t` rows, as
/// a JSON array.
const NAME_LIST: &str = "json_group_array(t.name)";
