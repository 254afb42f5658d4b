//! changedesk-server: the services that tie Graph and the archive together.
//!
//! Today: [`sync`], which pulls each tenant's posts, issues and health from
//! Microsoft Graph (or the simulator) into the store. The HTTP API, web UI
//! and background jobs will live here too.
//!
//! Architecture invariant: this is the only crate that knows both the Graph
//! client and the store; `changedesk-graph` never touches the store.

// Outside text (posts, requests, files, command lines) is never sliced or
// indexed by byte position: a real title once crashed import at an en dash.
// A proven-safe index carries a local `allow` with its reason.
#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]
#![forbid(unsafe_code)]

pub mod briefing;
pub mod changes;
pub mod comms;
pub mod declared;
pub mod export;
pub mod http;
pub mod jobs;
pub mod onboard;
pub mod outbox;
pub mod pilots;
pub mod reports;
pub mod sync;
pub mod triage;
pub mod ui;
