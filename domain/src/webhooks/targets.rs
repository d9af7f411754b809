//! Where webhooks may be sent: https in production, and never to loopback, private, link-local or
//! metadata addresses (checked at creation and again at delivery time, against DNS rebinding),
//! unless `WEBHOOK_ALLOW_PRIVATE_TARGETS=true`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

/// The one answer for a target that does not resolve and for one that resolves to a private address,
/// so that the answer does not tell which names exist inside the network.
pub const NOT_PUBLIC: &str = "does not resolve to a public address (loopback, private, link-local and metadata addresses are refused)";

/// Whether an address is on the public internet. IPv6 addresses that carry an IPv4 address (mapped
/// `::ffff:0:0/96`, IPv4-compatible `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo
/// `2001::/32`) are judged by the IPv4 address they carry.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let last32 = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    // IPv4-compatible ::a.b.c.d (but not :: and ::1, which are judged as IPv6)
    if s[..6] == [0; 6] && u32::from(last32) > 1 {
        return Some(last32);
    }
    // NAT64 well-known prefix 64:ff9b::/96
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(last32);
    }
    // 6to4 2002:AABB:CCDD::/48 carries AA.BB.CC.DD
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    // Teredo 2001:0000::/32: the client's address is the last 32 bits, inverted
    if s[0] == 0x2001 && s[1] == 0 {
        return Some(Ipv4Addr::from(!u32::from(last32)));
    }
    None
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        // carrier-grade NAT, and the benchmarking range
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // unique local fc00::/7 and link-local fe80::/10
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80)
}

/// Checks an endpoint URL's form: absolute http(s) with a host, https when `https_only`.
pub fn parse(raw: &str, https_only: bool) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|_| "must be an absolute URL".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if !https_only => {}
        "http" => return Err("must use https".into()),
        _ => return Err("must be an http or https URL".into()),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must have a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(url)
}

/// Resolves the URL's host and refuses it when any address is not public.
pub async fn check_resolves_public(url: &Url) -> Result<(), String> {
    let host = url
        .host_str()
        .ok_or("must have a host")?
        .trim_matches(|c| c == '[' || c == ']');
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::net::lookup_host((host, port)).await {
            Ok(found) => found.map(|a| a.ip()).collect(),
            Err(_) => Vec::new(),
        },
    };
    if addrs.is_empty() || addrs.iter().any(|ip| !is_public(*ip)) {
        return Err(NOT_PUBLIC.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            // IPv6 forms that carry a private IPv4 address
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "2002:c0a8:101::",
            "2001:0:4136:e378:8000:63bf:f5ff:fffe",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_must_be_https_in_production() {
        assert!(parse("https://hooks.example.com/in", true).is_ok());
        assert!(parse("http://hooks.example.com/in", true).is_err());
        assert!(parse("http://hooks.example.com/in", false).is_ok());
        assert!(parse("ftp://hooks.example.com", false).is_err());
        assert!(parse("hooks.example.com", false).is_err());
        assert!(parse("https://user:pw@hooks.example.com", false).is_err());
    }

    #[tokio::test]
    async fn unresolvable_and_private_targets_get_the_same_answer() {
        let private = parse("http://127.0.0.1:9/x", false).unwrap();
        let nowhere = parse("http://does-not-exist.invalid/x", false).unwrap();
        assert_eq!(
            check_resolves_public(&private).await,
            check_resolves_public(&nowhere).await
        );
    }

    #[tokio::test]
    async fn literal_private_targets_are_refused() {
        let url = parse("http://127.0.0.1:9/x", false).unwrap();
        assert!(check_resolves_public(&url).await.is_err());
        let url = parse("http://169.254.169.254/latest/meta-data", false).unwrap();
        assert!(check_resolves_public(&url).await.is_err());
    }
}
