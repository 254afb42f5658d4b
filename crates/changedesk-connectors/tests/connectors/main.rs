//! The connectors against the faithful mocks of `changedesk-sim` (one test
//! binary for the crate).

mod jira;
mod servicenow;
