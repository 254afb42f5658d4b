//! What the ServiceNow connector reads from an instance: any answer body
//! gives changes (or incidents) or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(changes) = changedesk_connectors::servicenow::parse_changes(data) {
        for c in changes {
            let _ = c.state.is_final();
        }
    }
    if let Ok(incidents) = changedesk_connectors::servicenow::parse_incidents(data) {
        for i in incidents {
            let _ = (i.is_over(), i.state_label());
        }
    }
});
