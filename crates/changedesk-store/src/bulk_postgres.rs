// PostgreSQL's bulk insert of new tenant links, `include!`d into
// `mod postgres` next to ops.rs (which calls `insert_links`).

/// One statement whatever the number of links: the columns go as arrays and
/// `UNNEST` turns them back into rows. Its text never changes, so it is
/// prepared once per connection; a multi-row `VALUES` list would be a new
/// statement of thousands of parameters for every batch size, to parse,
/// describe and plan again (it cost ten times the insert itself).
async fn insert_links(tx: &mut Tx, l: &Links, load: &Load<'_>, links: &[NewLink]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let (rollout_col, rollout_val, rollout_arg, rollout_name) = if l.has_rollout {
        (", rollout", ", u.rollout", ", $7::text[]", ", rollout")
    } else {
        ("", "", "", "")
    };
    let ids: Vec<&str> = links.iter().map(|k| k.id.as_str()).collect();
    let details: Vec<&str> = links.iter().map(|k| k.details.as_str()).collect();
    let digests: Vec<&str> = links.iter().map(|k| k.details_digest.as_str()).collect();
    let seen: Vec<Option<&str>> = links.iter().map(|k| k.last_modified.as_deref()).collect();
    let mut q = sqlx::query(sql(format!(
        "INSERT INTO {table} ({key}, tenant_id, details, details_digest, seen_last_modified, first_seen, last_seen, visible{rollout_col}) \
         SELECT u.id, $1, u.details, u.digest, u.seen, $2, $2, TRUE{rollout_val} \
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[]{rollout_arg}) AS u(id, details, digest, seen{rollout_name})",
        table = l.table,
        key = l.key
    )))
    .bind(load.tenant_id)
    .bind(load.now)
    .bind(ids)
    .bind(details)
    .bind(digests)
    .bind(seen);
    if l.has_rollout {
        let rollout: Vec<&str> = links.iter().map(|k| k.rollout.as_str()).collect();
        q = q.bind(rollout);
    }
    q.execute(&mut **tx).await?;
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
