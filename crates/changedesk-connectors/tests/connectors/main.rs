//! The connectors against the faithful mocks of `changedesk-sim` (one test
//! binary for the crate).

mod glpi;
mod jira;
mod planner;
mod servicenow;
mod target;
