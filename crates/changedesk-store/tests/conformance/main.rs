//! The store's conformance suite: every scenario on SQLite and PostgreSQL.

mod analytics;
mod auth;
mod comms_pilots;
mod directory;
mod feeds;
mod fixtures;
mod harness;
mod inbox;
mod new_tenants;
mod oidc;
mod outbox;
mod query;
mod replay;
mod reports_sent;
mod roadmap;
mod scenarios;
mod storage;
mod text;
mod timeline;
mod triage;
mod user_settings;
mod views;
