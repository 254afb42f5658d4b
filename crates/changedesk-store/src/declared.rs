//! Notification channels declared in the configuration file
//! (`[[notify.channel]]`; migration 0017). The server works out what to
//! change (it can open sealed URLs and secrets to compare them; the store
//! never sees them in the clear) and the store applies it in one
//! transaction, each change audited. A declared channel names its file
//! (`declared_in`) and changes only through it: [`Store::remove_channel`]
//! and [`Store::create_channel`] refuse it with a `Conflict` that says so.
//! The operations are in `declared_ops.rs`, compiled for each backend.

use changedesk_core::Timestamp;
use serde::Serialize;

use super::{Backend, NewChannel, Result, Store, postgres, sqlite};

/// One change that makes the database's channels the file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredChange {
    /// A channel new to the database, declared.
    Add {
        channel: NewChannel,
        /// What the file says of it, secrets aside (kept to tell later
        /// whether the declaration changed).
        digest: String,
    },
    /// Channel `id` brought to its declaration: kind, URL, secret, filter,
    /// settings and `allow_private` replaced, enabled, marked declared (a
    /// channel added by hand under the name becomes the declared one; its
    /// delivery log stays).
    Update {
        id: i64,
        channel: NewChannel,
        digest: String,
    },
    /// Channel `id`, no longer declared: disabled (its delivery log kept)
    /// and no longer marked declared.
    Undeclare { id: i64 },
}

/// What applying the declarations changed, by channel name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeclaredSummary {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub disabled: Vec<String>,
}

impl DeclaredSummary {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.disabled.is_empty()
    }
}

/// Why a declared channel cannot be changed here.
pub fn declared_message(name: &str, file: &str) -> String {
    format!("channel `{name}` is declared in the config file {file}; change it there")
}

impl Store {
    /// Applies `changes` in one transaction, each audited as `actor`
    /// (`channel.add`, `channel.update` with what changed, `channel.disable`;
    /// never a URL or a secret); declared channels name `file`. `Conflict`
    /// when a channel to add exists or one to update is gone (someone
    /// changed the channels meanwhile: work the changes out again).
    pub async fn apply_declared_channels(
        &self,
        file: &str,
        changes: &[DeclaredChange],
        actor: &str,
        at: Timestamp,
    ) -> Result<DeclaredSummary> {
        let writer = &*self.writer;
        dispatch_write!(self.apply_declared_channels(writer, file, changes, actor, at))
    }
}
