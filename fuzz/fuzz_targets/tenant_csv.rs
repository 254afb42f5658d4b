//! The CSV lists of tenants to onboard (`changedesk tenants import`, `POST
//! /api/v1/tenants` as text/csv): any bytes, and every tenant read from them
//! has a valid name and directory.
#![no_main]
use changedesk_core::onboard::{derive_name, parse_tenant_csv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // the API and the command line refuse what is not UTF-8
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(lines) = parse_tenant_csv(text) {
        for l in &lines {
            assert!(changedesk_core::config::check_tenant_name(&l.name).is_ok(), "{:?}", l.name);
            assert!(changedesk_core::config::is_directory_id(&l.directory_id));
        }
    }
    if let Some(n) = derive_name(text) {
        assert!(changedesk_core::config::check_tenant_name(&n).is_ok(), "{n:?}");
    }
});
