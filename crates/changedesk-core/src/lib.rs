//! changedesk-core: the domain of changedesk.
//!
//! Architecture invariant: this crate does no IO. It knows the shapes Microsoft
//! Graph sends (parsed tolerantly), the normalised content of a post or an
//! incident, how two versions of the same content differ, and the
//! configuration rules. Reading files, the environment, the network or a
//! database is the business of the other crates.

// Outside text (posts, requests, files, command lines) is never sliced or
// indexed by byte position: a real title once crashed import at an en dash.
// A proven-safe index carries a local `allow` with its reason.
#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

pub mod access;
pub mod change_control;
pub mod comms;
pub mod config;
pub mod diff;
pub mod duration;
pub mod graph;
pub mod maturity;
pub mod metrics;
pub mod notify;
pub mod onboard;
pub mod preview;
pub mod roadmap;
pub mod rules;
pub mod sanitize;
pub mod search;
pub mod text;
pub mod timeline;
pub mod timestamp;
pub mod triage;

pub use graph::{
    HealthOverview, Incident, IncidentContent, IncidentPost, Message, MessageContent, TenantView,
};
pub use timestamp::Timestamp;
