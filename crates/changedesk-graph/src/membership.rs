//! Membership listings: which items a tenant sees, and since when, read with
//! `$select=id,lastModifiedDateTime` ([`crate::GraphClient::fetch_membership`]).

pub use changedesk_core::graph::{Member, ParsedMembers, parse_members};

use crate::Fetched;

/// What a tenant's Graph made of `$select` on a listing. Graph documents
/// no `$select` on the service-communications collections, so each reading
/// is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectSupport {
    /// Only the selected properties came back.
    Honoured,
    /// Whole items came back.
    Ignored,
    /// The request was refused (HTTP 400).
    Refused,
}

/// A membership listing.
#[derive(Debug)]
pub enum Membership {
    /// `$select` honoured: each item's id and `lastModifiedDateTime`.
    Honoured {
        members: Vec<Member>,
        /// Items without a usable id (left out of `members`).
        unusable: usize,
        /// What reading it took (without items).
        stats: Fetched,
    },
    /// `$select` ignored: whole items came back, which make a complete
    /// listing.
    Ignored(Fetched),
    /// `$select` refused (400).
    Refused,
}
