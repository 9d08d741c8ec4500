//! Image references, checked as Docker parses them (the `distribution/reference` grammar):
//! `[registry[:port]/]path[:tag][@algorithm:hex]`. A reference Docker cannot parse cannot be
//! pulled by a kubelet either (`InvalidImageName`), and one with surrounding spaces is
//! refused by the API server.

/// Why `image` is not a reference Docker can pull, or `None` when it is.
pub fn problem(image: &str) -> Option<&'static str> {
    if image.trim() != image {
        return Some("it has spaces around it");
    }
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest {
        if !valid_digest(digest) {
            return Some("the digest after `@` is not `algorithm:hex`");
        }
    }
    // A tag follows the last `:` that comes after the last `/` (a registry port comes before).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        if !valid_tag(tag) {
            return Some(
                "the tag after `:` must be 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`",
            );
        }
    }
    if name.is_empty() {
        return Some("it has no repository name");
    }
    if name.len() > 255 {
        return Some("the repository name is longer than 255 characters");
    }
    let mut components: Vec<&str> = name.split('/').collect();
    // The first component is a registry when it looks like a host: it has a `.` or a `:`, or
    // is `localhost`, or has an upper-case letter (which a path never has).
    if components.len() > 1 {
        let first = components[0];
        if first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase()) {
            if !valid_domain(first) {
                return Some("the registry before the first `/` is not a host name with an optional port");
            }
            components.remove(0);
        }
    }
    if components.iter().any(|c| c.chars().any(|ch| ch.is_ascii_uppercase())) {
        return Some("the repository name must be lower case");
    }
    if !components.iter().all(|c| valid_path_component(c)) {
        return Some(
            "the repository name must be lower-case letters and digits, separated by `/`, `.`, `_`, `__` or `-`",
        );
    }
    None
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or any number of `-`.
fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A host name (labels of letters, digits and inner `-`, joined by `.`) or a bracketed IPv6
/// address, with an optional `:port`.
fn valid_domain(domain: &str) -> bool {
    let (host, port) = match domain.strip_prefix('[') {
        Some(rest) => {
            let Some((ip, after)) = rest.split_once(']') else { return false };
            if ip.parse::<std::net::Ipv6Addr>().is_err() {
                return false;
            }
            match after {
                "" => return true,
                _ => match after.strip_prefix(':') {
                    Some(port) => ("ipv6", Some(port)),
                    None => return false,
                },
            }
        }
        None => match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        },
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// `[\w][\w.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `algorithm:hex`, the algorithm `[a-z0-9]+` runs joined by `+`, `.`, `_` or `-`, and at
/// least 32 hex digits.
fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else { return false };
    let alg_ok = !algorithm.is_empty()
        && algorithm
            .split(['+', '.', '_', '-'])
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    alg_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn references_docker_can_pull() {
        for ok in [
            "nginx",
            "nginx:1.27-alpine",
            "library/nginx:latest",
            "docker.io/library/nginx",
            "registry.example.com:5000/team/app:v1.2.3",
            "localhost:5000/app",
            "localhost/app",
            "MyRegistry.example.com/app",
            "[::1]:5000/app:tag",
            "ghcr.io/org/my_app__x--y.z:1.0",
            "postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "postgres:16@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "a",
        ] {
            assert_eq!(problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn references_docker_refuses() {
        for bad in [
            " nginx",
            "nginx ",
            "",
            "postgres:",
            ":latest",
            "MyRepo/App:Latest",
            "Nginx",
            "app:.tag",
            "app:-tag",
            "team//app",
            "app/",
            "-app",
            "app_",
            "app___x",
            "app@sha256:short",
            "app@sha256",
            "registry.example.com:/app",
            "registry.example.com:port/app",
            "reg_istry.example.com/app",
            "app:tag:tag2",
            "nginx:é",
            "ñ/app",
            "app/é-x",
            "[::1/app",
            "[zz]:5000/app",
            "@",
            "/",
            ":",
        ] {
            assert!(problem(bad).is_some(), "{bad:?}");
        }
        assert!(problem(&format!("app:{}", "t".repeat(129))).is_some());
        assert_eq!(problem(&format!("app:{}", "t".repeat(128))), None);
    }
}
