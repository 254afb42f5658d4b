//! The store's conformance suite: every scenario on SQLite and PostgreSQL.

mod auth;
mod fixtures;
mod harness;
mod oidc;
mod query;
mod replay;
mod scenarios;
mod triage;
mod views;
