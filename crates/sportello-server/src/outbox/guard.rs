//! The SSRF guard: a callback or webhook URL is called only if it is `https` (plain `http` only
//! when configured) and **every** address its host resolves to, at the moment of the call, is a
//! public unicast address. The connection is then pinned to the checked address, so a second DNS
//! answer cannot swap in another one; redirects are never followed.
//!
//! Hosts on the configured allow-list (off by default; tests allow their 127.0.0.1 receiver) skip
//! the address check, nothing else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What the guard allows beyond public `https` targets.
#[derive(Debug, Clone, Default)]
pub struct GuardPolicy {
    /// Permit plain `http://` targets.
    pub allow_http: bool,
    /// `host` or `host:port` entries whose addresses are not checked (e.g. `127.0.0.1:8025`).
    pub allow_hosts: Vec<String>,
}

/// A target that passed: connect to `addr`, presenting `host` (TLS name, Host header).
#[derive(Debug, Clone)]
pub struct Target {
    pub url: url::Url,
    pub host: String,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("the URL is not valid")]
    InvalidUrl,
    #[error("only https URLs are called (plain http is not allowed here)")]
    Scheme,
    #[error("URLs with a user name or password are not called")]
    Credentials,
    #[error("the host name does not resolve")]
    Unresolved,
    #[error("the host resolves to a {0} address, which is never called")]
    Forbidden(&'static str),
}

impl GuardError {
    /// Whether trying again later could succeed (a DNS failure may be temporary; a refused
    /// address or scheme is not).
    pub fn is_temporary(&self) -> bool {
        matches!(self, GuardError::Unresolved)
    }
}

/// Checks `raw` and resolves its host now; the answer is what the call must connect to.
pub async fn check(raw: &str, policy: &GuardPolicy) -> Result<Target, GuardError> {
    let url = url::Url::parse(raw).map_err(|_| GuardError::InvalidUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        _ => return Err(GuardError::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(GuardError::Credentials);
    }
    let port = url.port_or_known_default().ok_or(GuardError::InvalidUrl)?;
    let (host, literal) = match url.host() {
        Some(url::Host::Domain(d)) => (d.to_ascii_lowercase(), None),
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
        Some(url::Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
        None => return Err(GuardError::InvalidUrl),
    };
    let allowed = policy.allow_hosts.iter().any(|a| {
        a.eq_ignore_ascii_case(&host) || a.eq_ignore_ascii_case(&format!("{host}:{port}"))
    });
    let addrs: Vec<SocketAddr> = match literal {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| GuardError::Unresolved)?
            .collect(),
    };
    let first = *addrs.first().ok_or(GuardError::Unresolved)?;
    if !allowed {
        // All of them: a name answering one public and one private address is refused, since
        // which one a later resolution would pick is not ours to choose.
        for a in &addrs {
            if let Some(why) = forbidden(a.ip()) {
                return Err(GuardError::Forbidden(why));
            }
        }
    }
    Ok(Target {
        url,
        host,
        addr: first,
    })
}

/// Why `ip` must never be called, or None for a public unicast address.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    // RFC 6890 special-purpose registry, plus the cloud metadata address.
    const TABLE: [([u8; 4], u32, &str); 17] = [
        ([0, 0, 0, 0], 8, "unspecified"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "shared (CGNAT)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 169, 254], 32, "cloud metadata"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "IETF protocol"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "6to4 relay"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved"),
        ([255, 255, 255, 255], 32, "broadcast"),
    ];
    TABLE
        .iter()
        .find(|(net, bits, _)| in_v4(ip, *net, *bits))
        .map(|(_, _, why)| *why)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // Forms that carry an IPv4 address are judged by it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        // Refused even when the address inside is public: no legitimate receiver is reached
        // that way, and some stacks route it to the local host.
        return Some(forbidden_v4(v4).unwrap_or("IPv4-mapped"));
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if s[0..6] == [0, 0, 0, 0, 0, 0] {
        return Some("IPv4-compatible");
    }
    if s[0] == 0x64 && s[1] == 0xff9b {
        return Some("NAT64");
    }
    if s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
        return Some("discard-only");
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some("Teredo");
    }
    if s[0] == 0x2001 && s[1] == 0x0db8 {
        return Some("documentation");
    }
    if s[0] == 0x2002 {
        return Some("6to4");
    }
    if s[0] & 0xfe00 == 0xfc00 {
        return Some("unique local (private)");
    }
    if s[0] & 0xffc0 == 0xfe80 {
        return Some("link-local");
    }
    if s[0] & 0xffc0 == 0xfec0 {
        return Some("site-local");
    }
    if s[0] & 0xff00 == 0xff00 {
        return Some("multicast");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "2a00:1450:4002:402::200e",
            "1.1.1.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert_eq!(forbidden(ip), None, "{ip}");
        }
    }
}
