//! What the GLPI connector reads from a server, through either API: any
//! answer body (a search, a change, a list, an error, anything) gives
//! changes or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for parsed in [
        changedesk_connectors::glpi::parse_changes(data),
        changedesk_connectors::glpi::parse_hl_changes(data),
    ] {
        for c in parsed.into_iter().flatten() {
            let _ = c.status.is_final();
        }
    }
});
