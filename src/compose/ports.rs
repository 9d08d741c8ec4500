//! The `ports` short syntax (`[[IP:]HOST:]CONTAINER[/PROTO]`, ranges expanded) and the
//! `expose` syntax, parsed into one long form with compose-go's rules and error texts.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub target: u16,
    /// Published (host) port or range, as Compose keeps it: a string.
    pub published: Option<String>,
    pub host_ip: Option<String>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

fn parse_range(text: &str) -> Option<(u32, u32)> {
    let (a, b) = match text.split_once('-') {
        Some((a, b)) => (a, b),
        None => (text, text),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) {
        return None;
    }
    let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
    (a <= 65535 && b <= 65535 && a <= b).then_some((a, b))
}

/// A long-syntax `published` value: empty (none), a port, or a range `A-B`, each 0–65535,
/// the host part the short syntax accepts.
pub fn valid_published(text: &str) -> bool {
    text.is_empty() || parse_range(text).is_some()
}

pub fn valid_protocol(proto: &str) -> Option<String> {
    let lower = proto.to_ascii_lowercase();
    matches!(lower.as_str(), "tcp" | "udp" | "sctp").then_some(lower)
}

/// Parse one short-syntax entry into one or more long-form ports, in compose-go's order.
pub fn parse_short(raw: &str) -> Result<Vec<PortSpec>, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let container_raw = parts[n - 1];
    let (ip, host) = match n {
        1 => (String::new(), ""),
        2 => (String::new(), parts[0]),
        3 => (parts[0].to_string(), parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2]),
    };
    let host_ip = if ip.is_empty() {
        None
    } else {
        let bare = ip.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
        match bare {
            Some(inner) if inner.parse::<IpAddr>().is_ok() => Some(inner.to_string()),
            None if ip.contains(':') => {
                return Err(format!("Invalid ip address {ip}: address {ip}:: too many colons in address"))
            }
            _ if ip.parse::<std::net::Ipv4Addr>().is_ok() => Some(ip.clone()),
            _ => return Err(format!("Invalid ip address: {ip}")),
        }
    };
    let proto_parts: Vec<&str> = container_raw.split('/').collect();
    let (container, proto) = match proto_parts.as_slice() {
        [c] => (*c, "tcp"),
        [c, "", ..] => (*c, "tcp"),
        [c, p, ..] => (*c, *p),
        [] => ("", "tcp"),
    };
    if container.is_empty() {
        let shown = if raw.is_empty() { "<empty>".to_string() } else { format!("{raw}<empty>") };
        return Err(format!("No port specified: {shown}"));
    }
    let protocol = valid_protocol(proto).ok_or_else(|| format!("Invalid proto: {proto}"))?;
    let (start, end) = parse_range(container).ok_or_else(|| format!("Invalid containerPort: {container}"))?;
    let host_range = if host.is_empty() {
        None
    } else {
        Some(parse_range(host).ok_or_else(|| format!("Invalid hostPort: {host}"))?)
    };
    if let Some((hs, he)) = host_range {
        if end - start != he - hs && end != start {
            return Err(format!("Invalid ranges specified for container and host Ports: {container} and {host}"));
        }
    }
    let mut out = Vec::new();
    for offset in 0..=(end - start) {
        let published =
            host_range.map(
                |(hs, he)| {
                    if end == start && he != hs {
                        format!("{hs}-{he}")
                    } else {
                        (hs + offset).to_string()
                    }
                },
            );
        out.push(PortSpec {
            target: (start + offset) as u16,
            published,
            host_ip: host_ip.clone(),
            protocol: protocol.clone(),
        });
    }
    out.sort_by_key(|p| format!("{}/{}", p.target, p.protocol));
    Ok(out)
}

/// An `expose` entry (`"8080"`, `"8080/udp"`, `"8000-8005"`): container ports and protocol.
pub fn parse_expose(raw: &str) -> Result<Vec<(u16, String)>, String> {
    let (ports, proto) = raw.split_once('/').unwrap_or((raw, "tcp"));
    // Docker reads `7000/` as tcp (`SplitProtoPort`).
    let proto = if proto.is_empty() { "tcp" } else { proto };
    let protocol = valid_protocol(proto).ok_or_else(|| format!("invalid protocol `{proto}` in `{raw}`"))?;
    let (start, end) = parse_range(ports).ok_or_else(|| format!("invalid port `{raw}`"))?;
    Ok((start..=end).map(|p| (p as u16, protocol.clone())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short(raw: &str) -> Vec<(u16, Option<&str>, Option<&str>, &str)> {
        let parsed = parse_short(raw).unwrap();
        let leaked: &'static [PortSpec] = Box::leak(parsed.into_boxed_slice());
        leaked.iter().map(|p| (p.target, p.published.as_deref(), p.host_ip.as_deref(), p.protocol.as_str())).collect()
    }

    #[test]
    fn short_syntax() {
        assert_eq!(short("80"), [(80, None, None, "tcp")]);
        assert_eq!(short("8080:80/UDP"), [(80, Some("8080"), None, "udp")]);
        assert_eq!(short("80-90:8080"), [(8080, Some("80-90"), None, "tcp")]);
        assert_eq!(short("127.0.0.1::80"), [(80, None, Some("127.0.0.1"), "tcp")]);
        assert_eq!(short("[::1]:6001:6001"), [(6001, Some("6001"), Some("::1"), "tcp")]);
        assert_eq!(short("[2001:db8::1]:8080:80"), [(80, Some("8080"), Some("2001:db8::1"), "tcp")]);
        assert_eq!(short(":80"), [(80, None, None, "tcp")]);
        assert_eq!(short("8080:80/tcp/x"), [(80, Some("8080"), None, "tcp")]);
        let order: Vec<u16> = short("98-101").iter().map(|p| p.0).collect();
        assert_eq!(order, [100, 101, 98, 99]);
    }

    #[test]
    fn short_syntax_errors() {
        let cases = [
            ("9999999", "Invalid containerPort: 9999999"),
            ("80/xyz", "Invalid proto: xyz"),
            ("", "No port specified: <empty>"),
            ("80:", "No port specified: 80:<empty>"),
            ("127.0.1:8080:80", "Invalid ip address: 127.0.1"),
            ("::1:6000:6000", "Invalid ip address ::1: address ::1:: too many colons in address"),
            ("127.0.0.1:80", "Invalid hostPort: 127.0.0.1"),
            ("80-79", "Invalid containerPort: 80-79"),
            ("80:8080-8081", "Invalid ranges specified for container and host Ports: 8080-8081 and 80"),
            ("localhost:80:80", "Invalid ip address: localhost"),
            (" 80", "Invalid containerPort:  80"),
        ];
        for (raw, err) in cases {
            assert_eq!(parse_short(raw).unwrap_err(), err, "{raw}");
        }
    }

    #[test]
    fn published() {
        for ok in ["", "0", "80", "65535", "8000-9000"] {
            assert!(valid_published(ok), "{ok}");
        }
        for bad in ["99999", "65536", "-1", "90-80", "80-70000", "http", " 80"] {
            assert!(!valid_published(bad), "{bad}");
        }
    }

    #[test]
    fn expose() {
        assert_eq!(parse_expose("8080").unwrap(), [(8080, "tcp".to_string())]);
        assert_eq!(parse_expose("53/udp").unwrap(), [(53, "udp".to_string())]);
        assert_eq!(parse_expose("1-2").unwrap().len(), 2);
        assert!(parse_expose("x").is_err());
    }
}
