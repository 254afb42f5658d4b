// Reads for the CSV exports of lists (issue 20): written once,
// `include!`d into `mod sqlite` and `mod postgres` after item_ops.rs,
// whose log columns and reader it shares.

/// The decision log's entries that record a decision of these posts' work
/// items — a close's `decision` entry (its reason is the close's) and a
/// dismissal's `state` entry (its reason is the dismissal's) —, for the post
/// and for single tenants, oldest first per post: one statement for a whole
/// list (the `(post_id, id)` index), the ids bound as one parameter.
pub(crate) async fn decision_entries(pool: &Pool<Db>, post_ids: &[&str]) -> Result<Vec<LoggedEntry>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(sql(format!(
        "SELECT {LOG_COLUMNS} FROM decision_log WHERE post_id {}$1{} \
         AND ((action = 'close' AND field = 'decision') OR (action = 'dismiss' AND field = 'state')) \
         ORDER BY post_id, id",
        TEXT_IDS_IN[0], TEXT_IDS_IN[1]
    )))
    .bind(id_list(post_ids))
    .fetch_all(pool)
    .await?;
    rows.iter().map(entry_from).collect()
}
