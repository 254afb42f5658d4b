//! The configuration file (TOML) with its tenants, owners, groups,
//! ownership, rules and OpenID Connect sections, checked as `changedesk`
//! checks it at every start.
#![no_main]
use std::collections::BTreeMap;

use changedesk_core::config::{self, CliOverrides, ConfigFile, Sources};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut env = BTreeMap::new();
    env.insert(
        "CHANGEDESK_TENANT_FUZZ_ID".to_string(),
        "contoso.onmicrosoft.com".to_string(),
    );
    let sources = Sources {
        file: Some(ConfigFile {
            path: "changedesk.toml",
            text,
        }),
        env: &env,
        cli: CliOverrides::default(),
    };
    let _ = config::load(&sources, &|_| Ok("secret".to_string()));
});
