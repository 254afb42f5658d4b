//! SSRF guard: which addresses an outgoing notification may connect to,
//! and a DNS resolver that hands the HTTP client only checked addresses.
//!
//! An IP-literal host is checked directly with [`is_allowed`] (the HTTP
//! client does not resolve literals). A host name goes through
//! [`GuardedResolver`]: it resolves the name once, refuses the name when
//! ANY resolved address is not allowed, and gives the connector exactly the
//! addresses it checked, so a second, different answer (DNS rebinding)
//! cannot slip in between the check and the connection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is a public unicast address a notification may be sent to
/// when the endpoint does not allow private targets.
///
/// Refused IPv4: `0.0.0.0/8` (unspecified, "this network"), `10/8`,
/// `100.64/10` (CGNAT), `127/8`, `169.254/16` (link-local, cloud metadata),
/// `172.16/12`, `192.0.0/24`, the documentation and benchmarking ranges,
/// `192.88.99/24`, `192.168/16`, `224/4` (multicast), `240/4` (reserved and
/// broadcast).
///
/// IPv6 is allowed only inside global unicast `2000::/3`, minus
/// `2001::/23` (protocol assignments, Teredo), `2001:db8::/32` and
/// `3fff::/20` (documentation); this refuses `::`, `::1`, `fc00::/7`,
/// `fe80::/10`, `fec0::/10`, `ff00::/8` and the other reserved ranges.
/// Forms that embed an IPv4 address (IPv4-mapped `::ffff:0:0/96`, NAT64
/// `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that IPv4 address.
pub fn is_allowed(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_allowed(v4),
        IpAddr::V6(v6) => v6_allowed(v6),
    }
}

fn v4_allowed(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0
        || a == 10
        || (a == 100 && (64..128).contains(&b))
        || a == 127
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224;
    !refused
}

fn v6_allowed(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_allowed(v4);
    }
    let s = ip.segments();
    let [s0, s1, s2, s3, s4, s5, s6, s7] = s;
    // NAT64 well-known prefix 64:ff9b::/96
    if s0 == 0x64 && s1 == 0xff9b && s2 == 0 && s3 == 0 && s4 == 0 && s5 == 0 {
        return v4_allowed(embedded_v4(s6, s7));
    }
    // 6to4 2002::/16 carries the IPv4 address in bits 16..48
    if s0 == 0x2002 {
        return v4_allowed(embedded_v4(s1, s2));
    }
    let global_unicast = (s0 & 0xe000) == 0x2000;
    let refused = !global_unicast
        || (s0 == 0x2001 && s1 < 0x0200)
        || (s0 == 0x2001 && s1 == 0x0db8)
        || (s0 & 0xfff0) == 0x3ff0;
    !refused
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// A host name that resolved to an address the policy refuses. Returned
/// by [`GuardedResolver`] and found again in the HTTP client's error chain,
/// so the caller can tell a refusal (permanent) from a DNS failure
/// (transient).
#[derive(Debug, thiserror::Error)]
#[error("refused: {host} resolves to {addr}, a private or reserved address")]
pub struct Refused {
    /// The host name as resolved.
    pub host: String,
    /// The first refused address.
    pub addr: IpAddr,
}

/// A [`reqwest::dns::Resolve`] that resolves with the system resolver
/// (`tokio::net::lookup_host`) and, unless private targets are allowed,
/// fails with [`Refused`] when any address is not [`is_allowed`].
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    allow_private: bool,
}

impl GuardedResolver {
    /// A resolver that refuses private and reserved addresses unless
    /// `allow_private`.
    pub fn new(allow_private: bool) -> Self {
        GuardedResolver { allow_private }
    }

    /// Resolve `host` and apply the policy.
    pub async fn resolve_host(&self, host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| ResolveError::Lookup {
                host: host.to_owned(),
                source: e,
            })?
            .collect();
        check_addrs(host, addrs, self.allow_private)
    }
}

/// Why a host name gave no usable address.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The lookup itself failed (transient as far as a sender is concerned).
    #[error("could not resolve {host}: {source}")]
    Lookup {
        /// The host name.
        host: String,
        /// The system resolver's error.
        source: std::io::Error,
    },
    /// The name resolved to nothing.
    #[error("{host} resolves to no address")]
    Empty {
        /// The host name.
        host: String,
    },
    /// The policy refused an address.
    #[error(transparent)]
    Refused(#[from] Refused),
}

fn check_addrs(
    host: &str,
    addrs: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, ResolveError> {
    if addrs.is_empty() {
        return Err(ResolveError::Empty {
            host: host.to_owned(),
        });
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_allowed(a.ip())) {
        return Err(Refused {
            host: host.to_owned(),
            addr: bad.ip(),
        }
        .into());
    }
    Ok(addrs)
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = *self;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match resolver.resolve_host(&host).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                // hand the refusal itself to reqwest so it stays
                // downcastable in the error chain
                Err(ResolveError::Refused(r)) => Err(Box::new(r) as _),
                Err(e) => Err(Box::new(e) as _),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn address_policy_table() {
        let refused = [
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.255.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "fec0::1",
            "ff02::1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "2001:db8::1",
            "2001::1",
            "3fff::1",
        ];
        for s in refused {
            assert!(!is_allowed(ip(s)), "{s} must be refused");
        }
        let allowed = [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.0.1.1",
            "223.255.255.254",
            "2606:4700::1",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        for s in allowed {
            assert!(is_allowed(ip(s)), "{s} must be allowed");
        }
    }

    fn sa(s: &str) -> SocketAddr {
        SocketAddr::new(ip(s), 0)
    }

    #[test]
    fn one_bad_address_refuses_the_name() {
        let mixed = vec![sa("8.8.8.8"), sa("10.0.0.1")];
        match check_addrs("example.test", mixed.clone(), false) {
            Err(ResolveError::Refused(r)) => {
                assert_eq!(r.addr, ip("10.0.0.1"));
                assert_eq!(r.host, "example.test");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(
            check_addrs("example.test", mixed.clone(), true).unwrap(),
            mixed
        );
        let public = vec![sa("8.8.8.8"), sa("2606:4700::1")];
        assert_eq!(
            check_addrs("example.test", public.clone(), false).unwrap(),
            public
        );
        assert!(matches!(
            check_addrs("example.test", vec![], true),
            Err(ResolveError::Empty { .. })
        ));
    }

    #[tokio::test]
    async fn resolver_refuses_localhost_unless_allowed() {
        let strict = GuardedResolver::new(false);
        assert!(matches!(
            strict.resolve_host("localhost").await,
            Err(ResolveError::Refused(_))
        ));
        let open = GuardedResolver::new(true);
        let addrs = open.resolve_host("localhost").await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
