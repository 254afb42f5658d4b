//! End-to-end tests of the `changedesk` binary: each runs the real binary in
//! a temporary directory with a clean `CHANGEDESK_*` environment.

mod bench_seed;
mod config;
mod crash;
mod csv_export;
mod harness;
mod import;
mod notify;
mod roadmap;
mod sync;
mod triage;
