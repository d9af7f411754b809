//! Where webhooks may be sent: https in production, and never to loopback, private, link-local or
//! metadata addresses (checked at creation and again at delivery time, against DNS rebinding),
//! unless `WEBHOOK_ALLOW_PRIVATE_TARGETS=true`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
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
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| "host does not resolve".to_string())?
            .map(|a| a.ip())
            .collect(),
    };
    if addrs.is_empty() {
        return Err("host does not resolve".into());
    }
    if addrs.iter().any(|ip| !is_public(*ip)) {
        return Err("resolves to a loopback, private, link-local or metadata address".into());
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
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
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
    async fn literal_private_targets_are_refused() {
        let url = parse("http://127.0.0.1:9/x", false).unwrap();
        assert!(check_resolves_public(&url).await.is_err());
        let url = parse("http://169.254.169.254/latest/meta-data", false).unwrap();
        assert!(check_resolves_public(&url).await.is_err());
    }
}
