//! The store's conformance suite: every scenario on SQLite and PostgreSQL.

mod fixtures;
mod harness;
mod replay;
mod scenarios;
mod triage;
