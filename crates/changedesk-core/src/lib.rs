//! changedesk-core: the domain of changedesk.
//!
//! Architecture invariant: this crate does no IO. It knows the shapes Microsoft
//! Graph sends (parsed tolerantly), the normalised content of a post or an
//! incident, how two versions of the same content differ, and the
//! configuration rules. Reading files, the environment, the network or a
//! database is the business of the other crates.

pub mod access;
pub mod config;
pub mod diff;
pub mod duration;
pub mod graph;
pub mod rules;
pub mod search;
pub mod timestamp;
pub mod triage;

pub use graph::{
    HealthOverview, Incident, IncidentContent, IncidentPost, Message, MessageContent, TenantView,
};
pub use timestamp::Timestamp;
