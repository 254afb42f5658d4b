// PostgreSQL's bulk inserts of new tenant links and tenant details,
// `include!`d into `mod postgres` next to ops.rs (which calls them).

/// One statement whatever the number of links: the columns go as arrays and
/// `UNNEST` turns them back into rows. Its text never changes, so it is
/// prepared once per connection; a multi-row `VALUES` list would be a new
/// statement of thousands of parameters for every batch size, to parse,
/// describe and plan again (it cost ten times the insert itself).
async fn insert_links(tx: &mut Tx, l: &Links, load: &Load<'_>, links: &[NewLink]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = links.iter().map(|k| k.id.as_str()).collect();
    let digests: Vec<&str> = links.iter().map(|k| k.details_digest.as_str()).collect();
    let seen: Vec<Option<&str>> = links.iter().map(|k| k.last_modified.as_deref()).collect();
    sqlx::query(sql(format!(
        "INSERT INTO {table} ({key}, tenant_id, details_digest, seen_last_modified, first_seen, last_seen, visible) \
         SELECT u.id, $1, u.digest, u.seen, $2, $2, TRUE \
         FROM UNNEST($3::text[], $4::text[], $5::text[]) AS u(id, digest, seen)",
        table = l.table,
        key = l.key
    )))
    .bind(load.tenant_id)
    .bind(load.now)
    .bind(ids)
    .bind(digests)
    .bind(seen)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores tenant details (digest, JSON) that may already be there.
async fn insert_details(tx: &mut Tx, rows: &[(String, String)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let digests: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let details: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    sqlx::query(
        "INSERT INTO tenant_details (digest, details) SELECT * FROM UNNEST($1::text[], $2::text[]) \
         ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digests)
    .bind(details)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `IN` a list of ids bound as one parameter (`$n`, from [`id_list`]): one
/// statement text whatever the number of ids, so it is prepared once.
fn any_of(n: usize) -> String {
    format!("= ANY(${n}::text[])")
}

/// The ids for [`any_of`]: a text array.
fn id_list<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    ids.to_vec()
}

/// A post's tenant links as one JSON array of `[tenant, details digest,
/// first seen, visible]` (aggregating `post_tenants pt JOIN tenants t`).
const LINK_LIST: &str = "json_agg(json_build_array(t.name, pt.details_digest, pt.first_seen, pt.visible))::text";

/// The tenant names of a group of `post_tenants pt JOIN tenants t` rows, as
/// a JSON array.
const NAME_LIST: &str = "json_agg(t.name)::text";
