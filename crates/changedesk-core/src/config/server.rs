//! The `[server]` section: how `changedesk serve` treats its clients, and
//! where the key of the secrets it keeps at rest is.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Deserialize;
use toml::Spanned;

use super::ValueError;
use super::merge::{Origin, Reporter, Val};

/// How the server treats its clients. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSettings {
    /// Reverse proxies whose `X-Forwarded-For` is believed: the client's
    /// address is the rightmost address in it that is not one of these
    /// (when the peer is one of these). Empty: the peer is the client.
    pub trusted_proxies: Vec<IpRange>,
    /// Password hashes (Argon2id, 19 MiB each) computed at once; `0`: twice
    /// the number of CPU cores.
    pub hash_concurrency: usize,
    /// The key file of secrets at rest (channel passwords, webhook URLs,
    /// signing keys): see `changedesk-secrets`. `CHANGEDESK_SECRET_KEY`, a
    /// key itself, takes precedence.
    pub secret_key_file: Option<std::path::PathBuf>,
    /// changedesk's address as people reach it (`https://changedesk.example`),
    /// for links in notifications.
    pub public_url: Option<String>,
}

/// An address or a CIDR range of addresses: `10.0.0.1`, `10.0.0.0/8`,
/// `fd00::/8`. An IPv4 range also matches the IPv4-mapped IPv6 form of its
/// addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpRange {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<IpRange, ValueError> {
        let t = s.trim();
        let shown = || t.chars().take(64).collect::<String>();
        let (addr, prefix) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (t, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| {
            ValueError(format!(
                "{:?} is not an IP address or a CIDR range (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)",
                shown()
            ))
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => {
                    return Err(ValueError(format!(
                        "{:?}: the prefix length must be a number from 0 to {max}",
                        shown()
                    )));
                }
            },
        };
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        let prefix = if addr.is_ipv4() && max == 128 {
            prefix.saturating_sub(96)
        } else {
            prefix
        };
        Ok(IpRange { addr, prefix })
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `[server]` as written in the file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub trusted_proxies: Option<Spanned<Vec<String>>>,
    pub hash_concurrency: Option<Spanned<i64>>,
    pub secret_key_file: Option<Spanned<String>>,
    pub public_url: Option<Spanned<String>>,
}

/// The keys of `[server]`, also accepted as `CHANGEDESK_SERVER__<KEY>`
/// (`trusted_proxies` comma-separated there).
pub(super) const KEYS: &[&str] = &[
    "trusted_proxies",
    "hash_concurrency",
    "secret_key_file",
    "public_url",
];

pub(super) const ENV_PREFIX: &str = "CHANGEDESK_SERVER__";

fn env_origin(key: &str) -> Origin {
    Origin::Env(format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()))
}

/// Merges `[server]` from the file and `CHANGEDESK_SERVER__*`.
pub(super) fn build(
    rep: &mut Reporter<'_>,
    file: Option<RawServer>,
    env: &BTreeMap<String, String>,
) -> ServerSettings {
    let f = file.unwrap_or_default();
    let proxies: Option<Val<Vec<String>>> = match env.get("trusted_proxies") {
        Some(v) => Some(Val {
            value: v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            origin: env_origin("trusted_proxies"),
        }),
        None => f.trusted_proxies.map(Val::file),
    };
    let mut trusted_proxies = Vec::new();
    if let Some(v) = proxies {
        if v.value.len() > 1000 {
            rep.error(
                &v.origin,
                "server.trusted_proxies",
                "at most 1000 addresses or ranges",
            );
        } else {
            for p in &v.value {
                match p.parse::<IpRange>() {
                    Ok(r) => trusted_proxies.push(r),
                    Err(e) => rep.error(&v.origin, "server.trusted_proxies", e.0),
                }
            }
        }
    }
    let concurrency: Option<Val<String>> = match env.get("hash_concurrency") {
        Some(v) => Some(Val {
            value: v.clone(),
            origin: env_origin("hash_concurrency"),
        }),
        None => f.hash_concurrency.map(|s| {
            let v = Val::file(s);
            Val {
                value: v.value.to_string(),
                origin: v.origin,
            }
        }),
    };
    let hash_concurrency = match concurrency {
        None => 0,
        Some(v) => match v.value.trim().parse::<usize>() {
            Ok(n) if n <= 1024 => n,
            _ => {
                rep.error(
                    &v.origin,
                    "server.hash_concurrency",
                    "must be a whole number from 0 (twice the CPU cores) to 1024",
                );
                0
            }
        },
    };
    let key_file: Option<Val<String>> = match env.get("secret_key_file") {
        Some(v) => Some(Val {
            value: v.clone(),
            origin: env_origin("secret_key_file"),
        }),
        None => f.secret_key_file.map(Val::file),
    };
    let secret_key_file = match key_file {
        None => None,
        Some(v) if v.value.trim().is_empty() => {
            rep.error(
                &v.origin,
                "server.secret_key_file",
                "is empty: give the path of a key file (`changedesk secrets generate-key --write PATH` makes one)",
            );
            None
        }
        Some(v) => Some(std::path::PathBuf::from(v.value.trim())),
    };
    let public: Option<Val<String>> = match env.get("public_url") {
        Some(v) => Some(Val {
            value: v.clone(),
            origin: env_origin("public_url"),
        }),
        None => f.public_url.map(Val::file),
    };
    let public_url = match public {
        None => None,
        Some(v) => match url::Url::parse(v.value.trim()) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => {
                Some(v.value.trim().trim_end_matches('/').to_string())
            }
            _ => {
                rep.error(
                    &v.origin,
                    "server.public_url",
                    "must be an http(s) URL such as https://changedesk.example",
                );
                None
            }
        },
    };
    ServerSettings {
        trusted_proxies,
        hash_concurrency,
        secret_key_file,
        public_url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> IpRange {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_hold_their_addresses_only() {
        assert!(r("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!r("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(r("192.168.1.7").contains(ip("192.168.1.7")));
        assert!(!r("192.168.1.7").contains(ip("192.168.1.8")));
        assert!(r("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!r("0.0.0.0/0").contains(ip("::1")));
        assert!(r("fd00::/8").contains(ip("fd12::1")));
        assert!(!r("fd00::/8").contains(ip("fe80::1")));
        assert!(r("::1").contains(ip("::1")));
        // IPv4-mapped IPv6 peers (a dual-stack listener) match IPv4 ranges
        assert!(r("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(r("::ffff:10.0.0.0/104").contains(ip("10.1.2.3")));
        assert_eq!(r(" 10.1.2.3/8 ").to_string(), "10.1.2.3/8");
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        for bad in [
            "",
            "proxy",
            "10.0.0.0/33",
            "10.0.0.0/x",
            "::/129",
            "1.2.3.4/-1",
        ] {
            let e = bad.parse::<IpRange>().unwrap_err().0;
            assert!(
                e.contains("IP address") || e.contains("prefix length"),
                "{bad}: {e}"
            );
        }
        let long = "x".repeat(10_000);
        assert!(long.parse::<IpRange>().unwrap_err().0.len() < 200);
    }
}
