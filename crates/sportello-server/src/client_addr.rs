//! The client's address: the TCP peer, or — when the peer is a reverse proxy we were told to
//! trust — the address that proxy says the request came from. Resolved once per request by
//! [`resolve`] and kept in the request's extensions as [`ClientAddr`]; the rate limiter, the
//! audit trail and the access log all read it from there.
//!
//! Invariant: a forwarding header is read only when the TCP peer is a trusted proxy, and only
//! the hops appended by trusted proxies are believed: whatever a client writes into
//! `X-Forwarded-For` itself sits to the left of the first untrusted hop and is never used.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HeaderMap, FORWARDED};
use axum::http::Extensions;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Most hops read from the forwarding headers: a real chain has a handful, and a longer one
/// cannot make the server walk without bound.
const MAX_HOPS: usize = 32;

/// The address a request is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The resolved address, when the server runs with connection info (always, through
    /// [`crate::serve`]; a router served bare has none).
    pub fn of(extensions: &Extensions) -> Option<IpAddr> {
        extensions.get::<ClientAddr>().map(|c| c.0)
    }
}

/// The proxies whose forwarding headers are believed: addresses and networks (`10.0.0.7`,
/// `10.0.0.0/8`, `::1`, `fd00::/8`). Empty by default: then no header is ever read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses each entry as an address (a network of one) or a CIDR network.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.as_ref().trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "trusted_proxies: {e:?} is neither an IP address nor a CIDR network"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of them; an IPv4-mapped IPv6 address is its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries: Vec<String> = self.0.iter().map(IpNet::to_string).collect();
        write!(f, "[{}]", entries.join(", "))
    }
}

// As a list of strings, so the configuration reads `trusted_proxies = ["10.0.0.0/8"]` and a
// bad entry is an error when the configuration is read, naming the entry.
impl Serialize for TrustedProxies {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(IpNet::to_string))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TrustedProxies, D::Error> {
        let entries = Vec::<String>::deserialize(d)?;
        TrustedProxies::parse(&entries).map_err(serde::de::Error::custom)
    }
}

/// The middleware: `middleware::from_fn_with_state(Arc<TrustedProxies>, resolve)`. Placed
/// outside everything that needs the address.
pub async fn resolve(
    State(trusted): State<Arc<TrustedProxies>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let client = client_address(peer, req.headers(), &trusted);
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

/// The one rule: the peer, unless it is a trusted proxy; then, walking the forwarded hops from
/// the nearest (rightmost) back, the first one that is not itself a trusted proxy. A hop that
/// cannot be read (`unknown`, an obfuscated `_name`, garbage) stops the walk at the last
/// address known: nothing to its left can be vouched for.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_hops(headers).into_iter().rev() {
        match hop {
            Some(ip) if trusted.contains(ip) => client = ip,
            Some(ip) => return ip,
            None => return client,
        }
    }
    client
}

/// The hops a proxy chain recorded, farthest first (as the headers list them): from
/// `X-Forwarded-For` (every field line, comma-separated), or, when there is none, from the
/// `for=` parameters of `Forwarded` (RFC 7239). `None` stands for a hop that names no address.
/// At most the nearest [`MAX_HOPS`] are kept.
///
/// `X-Forwarded-For` wins when both are present because it is what nginx, HAProxy and the cloud
/// load balancers write; a proxy that writes only `Forwarded` must drop a client's
/// `X-Forwarded-For` (README, *Behind a reverse proxy*).
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .map(|v| v.to_str().unwrap_or("garbage"))
        .collect();
    let hops: Vec<Option<IpAddr>> = if !xff.is_empty() {
        xff.iter()
            .flat_map(|line| line.split(','))
            .map(|hop| parse_node(hop.trim()))
            .collect()
    } else {
        headers
            .get_all(FORWARDED)
            .iter()
            .flat_map(|v| {
                // An unreadable field line is one unreadable hop.
                let line = v.to_str().unwrap_or("for=garbage");
                line.split(',').map(forwarded_for).collect::<Vec<_>>()
            })
            .collect()
    };
    let skip = hops.len().saturating_sub(MAX_HOPS);
    hops.into_iter().skip(skip).collect()
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=http;by=203.0.113.43`);
/// an element without one names no address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim().trim_matches('"')))?
    })
}

/// A node as proxies write it: `192.0.2.60`, `192.0.2.60:47011`, `2001:db8::17`,
/// `[2001:db8::17]`, `[2001:db8::17]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = node.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    node.strip_prefix('[')?
        .strip_suffix(']')?
        .parse::<IpAddr>()
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries).expect("valid")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=1.2.3.4"),
        ]);
        assert_eq!(
            client_address(ip("198.51.100.1"), &h, &trusted(&[])),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_address(ip("198.51.100.1"), &h, &trusted(&["10.0.0.0/8"])),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let t = trusted(&["10.0.0.0/8", "192.0.2.1"]);
        // The client wrote a made-up first hop; the proxies appended the real ones.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.1.1")]);
        assert_eq!(client_address(ip("192.0.2.1"), &h, &t), ip("203.0.113.9"));
        // Several field lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(client_address(ip("10.0.0.2"), &h, &t), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let t = trusted(&["127.0.0.1"]);
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https",
        )]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &h, &t),
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("forwarded", "For=198.51.100.7:8080;by=127.0.0.1")]);
        assert_eq!(client_address(ip("127.0.0.1"), &h, &t), ip("198.51.100.7"));
        // X-Forwarded-For wins when both are there.
        let h = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(client_address(ip("127.0.0.1"), &h, &t), ip("203.0.113.9"));
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk_at_the_last_known_address() {
        let t = trusted(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.9, unknown, 10.0.0.3")]);
        assert_eq!(client_address(ip("10.0.0.2"), &h, &t), ip("10.0.0.3"));
        let h = headers(&[("forwarded", "for=203.0.113.9, for=_hidden")]);
        assert_eq!(client_address(ip("10.0.0.2"), &h, &t), ip("10.0.0.2"));
        let h = headers(&[("x-forwarded-for", "")]);
        assert_eq!(client_address(ip("10.0.0.2"), &h, &t), ip("10.0.0.2"));
    }

    #[test]
    fn only_trusted_hops_all_the_way_leaves_the_farthest() {
        let t = trusted(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.3")]);
        assert_eq!(client_address(ip("10.0.0.2"), &h, &t), ip("10.9.9.9"));
        assert_eq!(
            client_address(ip("10.0.0.2"), &HeaderMap::new(), &t),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn mapped_and_ported_addresses_are_plain_addresses() {
        let t = trusted(&["127.0.0.1", "::1"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.9:5555")]);
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), &h, &t),
            ip("203.0.113.9")
        );
        let h = headers(&[("x-forwarded-for", "[2001:db8::1]:80, ::ffff:198.51.100.2")]);
        assert_eq!(client_address(ip("::1"), &h, &t), ip("198.51.100.2"));
    }

    #[test]
    fn a_long_chain_is_read_only_as_far_as_the_cap() {
        let t = trusted(&["10.0.0.0/8"]);
        let mut chain = vec!["203.0.113.9".to_string()];
        chain.extend((0..MAX_HOPS).map(|i| format!("10.0.{}.1", i % 250)));
        let h = headers(&[("x-forwarded-for", chain.join(",").as_str())]);
        // Past the cap only trusted hops were read: the farthest of them is all there is.
        assert_eq!(client_address(ip("10.0.0.2"), &h, &t), ip("10.0.0.1"));
    }

    #[test]
    fn entries_are_addresses_or_networks() {
        let t = trusted(&["10.0.0.7", " 192.168.0.0/16 ", "fd00::/8"]);
        assert!(t.contains(ip("10.0.0.7")));
        assert!(!t.contains(ip("10.0.0.8")));
        assert!(t.contains(ip("192.168.44.1")));
        assert!(t.contains(ip("fd12::1")));
        assert!(t.contains(ip("::ffff:10.0.0.7")));
        let err =
            TrustedProxies::parse(&["10.0.0.0/8", "proxy.internal"]).expect_err("a host name");
        assert!(err.contains("proxy.internal"), "{err}");
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
    }

    #[test]
    fn the_setting_reads_and_writes_a_list_of_strings() {
        let t: TrustedProxies =
            serde_json::from_str(r#"["127.0.0.1","10.0.0.0/8"]"#).expect("valid");
        assert_eq!(
            serde_json::to_string(&t).expect("serializes"),
            r#"["127.0.0.1/32","10.0.0.0/8"]"#
        );
        assert!(serde_json::from_str::<TrustedProxies>(r#"["nope"]"#).is_err());
    }
}
