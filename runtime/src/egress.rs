//! What the host may call. One allowlist grammar for every outbound call (a plugin's
//! `outbound-http`, replies, CRM deliveries, notice webhooks) and one address rule applied after
//! DNS resolution, on the very addresses the connection is made to, so a name that resolves
//! to a private address — once, or only on the second lookup (rebinding) — is refused.
//!
//! An allowlist entry is `host`, `host:port`, `*.domain.tld` or `*.domain.tld:port`, HTTPS on
//! port 443 unless it names another port; `http://host[:port]` allows plain HTTP (port 80 by
//! default) for that named host only. Loopback, private, link-local, shared, multicast and
//! unspecified addresses are refused unless the host runs with `--allow-private-outbound`.

use hyper_util::client::legacy::connect::dns::Name;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The transport of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// TLS (the default).
    Https,
    /// Plain HTTP, only for hosts an admin named with `http://`.
    Http,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Https => 443,
            Scheme::Http => 80,
        }
    }
}

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// HTTPS or plain HTTP.
    pub scheme: Scheme,
    /// Host name or address, lower-cased, without brackets.
    pub host: String,
    /// The port, explicit or the scheme's default.
    pub port: u16,
}

impl Target {
    /// The target of an absolute `https://` or `http://` URL.
    ///
    /// # Errors
    /// When the URL is not absolute HTTP(S); the message never repeats the URL (it may hold
    /// a token).
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: hyper::Uri = url.parse().map_err(|_| "the URL is not valid".to_string())?;
        let scheme = match uri.scheme_str() {
            Some("https") => Scheme::Https,
            Some("http") => Scheme::Http,
            _ => return Err("the URL must be absolute https:// (or http:// where allowed)".into()),
        };
        let host = uri.host().ok_or("the URL has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        Ok(Self { scheme, port: uri.port_u16().unwrap_or(scheme.default_port()), host })
    }

    /// `host:port` (with `http://` in front for plain HTTP), for messages.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match self.scheme {
            Scheme::Https => format!("{host}:{}", self.port),
            Scheme::Http => format!("http://{host}:{}", self.port),
        }
    }
}

/// Which hosts an entry covers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hosts {
    /// Exactly this name or address.
    Exact(String),
    /// Every name under this domain (not the domain itself).
    Under(String),
}

/// One parsed allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    scheme: Scheme,
    hosts: Hosts,
    port: u16,
}

impl Entry {
    /// Parses an entry; `allow_private` admits loopback and private addresses and
    /// `localhost` (a host started with `--allow-private-outbound`).
    ///
    /// # Errors
    /// Why the entry is not one, in words an admin can act on.
    pub fn parse(text: &str, allow_private: bool) -> Result<Self, String> {
        let refuse = |why: &str| Err(format!("'{text}': {why}"));
        let lower = text.trim().to_ascii_lowercase();
        let (scheme, rest) = match lower.strip_prefix("http://") {
            Some(rest) => (Scheme::Http, rest),
            None => (Scheme::Https, lower.strip_prefix("https://").unwrap_or(&lower)),
        };
        let (host, port) = split_port(rest).ok_or(format!("'{text}': the port is not a number 1–65535"))?;
        let port = port.unwrap_or(scheme.default_port());
        if let Some(domain) = host.strip_prefix("*.") {
            if !is_domain(domain) || !domain.contains('.') {
                return refuse("a wildcard must be *.domain.tld");
            }
            return Ok(Self { scheme, hosts: Hosts::Under(domain.to_string()), port });
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            if !allow_private && !is_public(ip) {
                return refuse("a loopback, private, link-local or unspecified address is not allowed");
            }
        } else if !is_domain(host) {
            return refuse("not a host name, host:port, *.domain.tld or http://host");
        } else if !allow_private && (host == "localhost" || host.ends_with(".localhost")) {
            return refuse("localhost is not allowed");
        }
        Ok(Self { scheme, hosts: Hosts::Exact(host.to_string()), port })
    }

    /// Whether the entry lets the host call `target`.
    pub fn covers(&self, target: &Target) -> bool {
        let host = match &self.hosts {
            Hosts::Exact(host) => *host == target.host,
            Hosts::Under(domain) => target
                .host
                .strip_suffix(domain.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        };
        host && self.scheme == target.scheme && self.port == target.port
    }
}

/// `host` and the port of `host:port`, `[v6]:port`, `[v6]` or `host`; `None` for a bad port.
fn split_port(text: &str) -> Option<(&str, Option<u16>)> {
    let number = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0);
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(number(port)?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(number(port)?))),
        _ => Some((text, None)),
    }
}

/// A DNS name: labels of letters, digits and hyphens, the last not all digits (so `0.0.1`
/// is not a domain).
fn is_domain(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    name.len() <= 253
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

/// Checks `url` against `allowlist` (entries as [`Entry::parse`] reads them; unreadable ones
/// cover nothing) and, for an address in the URL, the address rule.
///
/// # Errors
/// The refusal, worded for a history or a plugin: it names the host and port and the
/// allowlist, never the URL.
pub fn check(url: &str, label: &str, allowlist: &[String], allow_private: bool) -> Result<Target, String> {
    let target = Target::parse(url)?;
    if let Ok(ip) = target.host.parse::<IpAddr>()
        && !allow_private
        && !is_public(ip)
    {
        return Err(format!("refused: {} is a loopback, private or link-local address", target.authority()));
    }
    if allowlist.iter().filter_map(|e| Entry::parse(e, true).ok()).any(|entry| entry.covers(&target)) {
        return Ok(target);
    }
    Err(format!(
        "refused: {} is not among the outbound hosts of {label} [{}]; an admin can allow it \
         (https unless written http://host, port 443 unless named)",
        target.authority(),
        allowlist.join(", ")
    ))
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918, unique
/// local, site-local), link-local (cloud metadata lives there), shared (CGNAT), multicast,
/// broadcast, documentation or unspecified; IPv4 inside IPv6 (mapped, compatible, translated,
/// 6to4, NAT64) is judged as that IPv4 address, and Teredo and local-use NAT64, whose IPv4 the
/// host cannot see, are refused.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 address carries: IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, 6to4 `2002:AABB:CCDD::/48` and the NAT64
/// well-known prefix `64:ff9b::/96`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let last = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0 | 0xffff, hi, lo] | [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(last(hi, lo)),
        [0x2002, hi, lo, ..] => Some(last(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(last(hi, lo)),
        _ => None,
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let [first, second, ..] = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || first == 0x2001 && (second == 0x0db8 || second == 0)
        || first == 0x64 && second == 0xff9b)
}

/// The DNS resolver of the outbound client: the system's, with every address the rule refuses
/// dropped, so the connection can only go to the addresses that passed.
#[derive(Clone)]
pub struct Resolver {
    /// Admit private addresses (`--allow-private-outbound`).
    pub allow_private: bool,
}

type Resolving = Pin<Box<dyn Future<Output = std::io::Result<std::vec::IntoIter<SocketAddr>>> + Send>>;

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> =
                found.iter().copied().filter(|a| allow_private || is_public(a.ip())).collect();
            if kept.is_empty() && !found.is_empty() {
                return Err(std::io::Error::other(format!(
                    "refused: {} resolves to a loopback, private or link-local address",
                    name.as_str()
                )));
            }
            Ok(kept.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    #[test]
    fn entries_cover_scheme_host_and_port_exactly() {
        let entry = Entry::parse("api.telegram.org", false).unwrap();
        assert!(entry.covers(&target("https://api.telegram.org/bot1/sendMessage")));
        assert!(entry.covers(&target("https://API.telegram.org:443/x")));
        assert!(!entry.covers(&target("https://api.telegram.org:8443/x")));
        assert!(!entry.covers(&target("http://api.telegram.org/x")));
        assert!(!entry.covers(&target("https://api.telegram.org.evil.example/x")));
        let plain = Entry::parse("http://crm.shop.example:8080", false).unwrap();
        assert!(plain.covers(&target("http://crm.shop.example:8080/rest")));
        assert!(!plain.covers(&target("https://crm.shop.example:8080/rest")));
        let wildcard = Entry::parse("*.bitrix24.ru", false).unwrap();
        assert!(wildcard.covers(&target("https://shop.bitrix24.ru/rest/")));
        assert!(!wildcard.covers(&target("https://bitrix24.ru/rest/")));
        assert!(!wildcard.covers(&target("https://evilbitrix24.ru/rest/")));
    }

    #[test]
    fn dangerous_entries_are_refused() {
        for bad in
            ["169.254.169.254", "0.0.0.0", "localhost", "127.0.0.1:8080", "*.0.0.1", "10.1.2.3", "[::1]:80"]
        {
            assert!(Entry::parse(bad, false).is_err(), "{bad} accepted");
        }
        for bad in ["*.ru", "*", "a b", "host:0", "host:99999", "http://"] {
            assert!(Entry::parse(bad, true).is_err(), "{bad} accepted");
        }
        assert!(Entry::parse("127.0.0.1:8080", true).is_ok());
        assert!(Entry::parse("[2a00:1450::1]:443", false).is_ok());
    }

    #[test]
    fn addresses_are_judged_after_mapping() {
        for private in
            ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0"]
        {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for private in ["::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254"] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        // IPv4 in other IPv6 forms, site-local, Teredo and local-use NAT64 (issue 37).
        for private in [
            "::127.0.0.1",
            "::ffff:0:7f00:1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "fec0::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "87.250.250.242",
            "149.154.167.220",
            "2a00:1450:4010::64",
            "64:ff9b::57fa:faf2",
            "2002:57fa:faf2::1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn names_resolving_to_loopback_are_refused_by_the_resolver() {
        use std::str::FromStr;
        use tower_service::Service;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let name = || Name::from_str("localhost").unwrap();
        let refused = runtime.block_on(Resolver { allow_private: false }.call(name())).unwrap_err();
        assert!(refused.to_string().contains("resolves to a loopback"), "{refused}");
        let admitted: Vec<_> =
            runtime.block_on(Resolver { allow_private: true }.call(name())).unwrap().collect();
        assert!(admitted.iter().all(|a| a.ip().is_loopback()) && !admitted.is_empty());
    }

    #[test]
    fn checks_refuse_private_literals_even_when_listed() {
        let list = vec!["127.0.0.1:9000".to_string()];
        assert!(check("https://127.0.0.1:9000/x", "p@1", &list, false).is_err());
        assert!(check("https://127.0.0.1:9000/x", "p@1", &list, true).is_ok());
        let refusal = check("https://other.example/secret-token", "p@1", &list, false).unwrap_err();
        assert!(!refusal.contains("secret-token"), "{refusal}");
    }
}
