//! changedesk-server: the services that tie Graph and the archive together.
//!
//! Today: [`sync`], which pulls each tenant's posts, issues and health from
//! Microsoft Graph (or the simulator) into the store. The HTTP API, web UI
//! and background jobs will live here too.
//!
//! Architecture invariant: this is the only crate that knows both the Graph
//! client and the store; `changedesk-graph` never touches the store.

#![forbid(unsafe_code)]

pub mod http;
pub mod jobs;
pub mod sync;
pub mod triage;
pub mod ui;
