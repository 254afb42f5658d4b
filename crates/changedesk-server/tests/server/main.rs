//! The server crate's integration tests: sync against the simulator, and
//! the rules and work items on a real archive. One test binary.

mod api;
mod oidc;
mod surfaces;
mod sync;
mod triage;
mod ui;
mod ui_admin;
