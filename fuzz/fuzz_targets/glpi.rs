//! What the GLPI connector reads from a server: any answer body (a search,
//! a change, an error array, anything) gives changes or an error, never a
//! panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(changes) = changedesk_connectors::glpi::parse_changes(data) {
        for c in changes {
            let _ = c.status.is_final();
        }
    }
});
