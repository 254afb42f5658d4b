//! A person's own settings: the time zone the web UI shows them dates and
//! times in (migration 0032, the `time_zone` column of `users`; also read
//! with every session, see [`User::time_zone`](crate::User::time_zone)).
//! The operations are in `user_settings_ops.rs`, compiled for each backend
//! like `auth_ops.rs`. Every change is in the audit log (`user.update`, the
//! user's name as target, the old and new zone as detail) in the same
//! transaction, with the `actor` given.

use changedesk_core::Timestamp;

use super::{Backend, Result, Store, StoreError, postgres, sqlite};

/// The longest time zone name accepted, in characters (the IANA database's
/// longest is 32).
const MAX_TIME_ZONE: usize = 64;

/// `name` as a time zone of the IANA database (`Europe/Paris`, `UTC`, in
/// any case), spelled as the database spells it; anything else is
/// [`StoreError::Invalid`] with a message for people.
pub fn checked_time_zone(name: &str) -> Result<String> {
    let name = name.trim();
    let refused = || {
        let shown: String = name.chars().take(MAX_TIME_ZONE).collect();
        let more = if name.chars().count() > MAX_TIME_ZONE {
            "…"
        } else {
            ""
        };
        StoreError::Invalid(format!(
            "`{shown}{more}` is not a time zone; use a name like Europe/Paris"
        ))
    };
    if name.is_empty() || name.chars().count() > MAX_TIME_ZONE || name.chars().any(char::is_control)
    {
        return Err(refused());
    }
    let tz = jiff::tz::TimeZone::get(name).map_err(|_| refused())?;
    if tz.is_unknown() {
        return Err(refused());
    }
    Ok(tz.iana_name().unwrap_or(name).to_string())
}

impl Store {
    /// The time zone user `user_id` chose for the web UI (`None`: UTC).
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn user_time_zone(&self, user_id: i64) -> Result<Option<String>> {
        dispatch!(self.user_time_zone(user_id))
    }

    /// Sets user `user_id`'s time zone (`None` or blank: back to UTC) and
    /// returns it as stored (the database's spelling: `europe/paris` is
    /// stored as `Europe/Paris`). Audited as `actor` (`user.update`, target
    /// the user's name) in the same transaction; a zone already set writes
    /// nothing. [`StoreError::Invalid`] for a name that is not a time zone
    /// (nothing is stored), [`StoreError::NotFound`] for an unknown user.
    pub async fn set_user_time_zone(
        &self,
        user_id: i64,
        time_zone: Option<&str>,
        actor: &str,
        at: &Timestamp,
    ) -> Result<Option<String>> {
        let writer = &*self.writer;
        dispatch_write!(self.set_user_time_zone(writer, user_id, time_zone, actor, at))
    }
}
