//! Kubernetes names: turning Compose names into valid ones, consistently, and checking names
//! the way the API server does (DNS-1123 labels and subdomains, DNS-1035 labels, label keys
//! and values, IANA port names).

/// Lowercase, every character outside `[a-z0-9-]` becomes `-`, no leading/trailing `-`.
fn dashed(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped.trim_matches('-').to_string()
}

/// FNV-1a, for short stable suffixes when a name must be shortened.
fn fnv(text: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

fn shorten(name: String, max: usize, original: &str) -> String {
    if name.len() <= max {
        return name;
    }
    let suffix = format!("{:08x}", fnv(original));
    let head = name[..max - 9].trim_end_matches('-');
    format!("{head}-{suffix}")
}

/// A CronJob's name: at most 52 characters, since its Jobs add 11 (`-<minutes>`) and a Job's
/// name goes into a label value of at most 63.
pub fn cron_job_name(workload: &str) -> String {
    shorten(workload.to_string(), 52, workload)
}

/// A StatefulSet's name: at most 52 characters, since its pods carry the label
/// `controller-revision-hash: <name>-<10 characters>`, a label value of at most 63; with a
/// longer name the StatefulSet is accepted but never creates a pod.
pub fn stateful_set_name(workload: &str) -> String {
    shorten(workload.to_string(), 52, workload)
}

/// A name valid as a DNS-1035 label (what Services need, and so what every object of one
/// Compose service uses): `web_app` → `web-app`, `1st` → `svc-1st`, at most 63 characters.
pub fn dns_label(name: &str, fallback: &str) -> String {
    // Most names are valid already, and stay as they are.
    if is_dns1123_label(name) && !name.starts_with(|c: char| c.is_ascii_digit()) {
        return name.to_string();
    }
    let mut out = dashed(name);
    if out.is_empty() {
        out = fallback.to_string();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out = format!("svc-{out}");
    }
    shorten(out, 63, name)
}

/// A name valid as a DNS-1123 label (volume names, container names), at most 63 characters.
pub fn volume_label(name: &str, fallback: &str) -> String {
    // Most names are valid already, and stay as they are.
    if is_dns1123_label(name) {
        return name.to_string();
    }
    let mut out = dashed(name);
    if out.is_empty() {
        out = fallback.to_string();
    }
    shorten(out, 63, name)
}

/// An IP address as the API server's IP fields take it: parsed, and an IPv4-mapped IPv6
/// address (`::ffff:1.2.3.4`) written as the IPv4 address it is, since strict IP validation
/// (on by default from Kubernetes 1.36) refuses the mapped form.
pub fn api_ip(text: &str) -> Option<String> {
    match text.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or_else(|| v6.to_string(), |v4| v4.to_string())),
        std::net::IpAddr::V4(v4) => Some(v4.to_string()),
    }
}

pub fn is_dns1123_label(name: &str) -> bool {
    name.len() <= 63 && is_dns1123_part(name)
}

/// One dot-separated part of a DNS-1123 subdomain: a label without the 63-character limit
/// (the API server checks only the whole name's 253 characters).
fn is_dns1123_part(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

pub fn is_dns1035_label(name: &str) -> bool {
    is_dns1123_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase())
}

pub fn is_dns1123_subdomain(name: &str) -> bool {
    !name.is_empty() && name.len() <= 253 && name.split('.').all(is_dns1123_part)
}

/// A label value: at most 63 characters, alphanumerics with `-_.` inside.
pub fn is_label_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// A qualified name (`prefix/name` or `name`), as label and annotation keys must be.
pub fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if !is_dns1123_subdomain(prefix) {
            return false;
        }
    }
    !name.is_empty() && is_label_value(name)
}

/// An IANA service name (container port names): 1-15 characters, lowercase alphanumerics and
/// `-`, at least one letter, no `--`, no leading or trailing `-`.
pub fn is_iana_svc_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.bytes().any(|b| b.is_ascii_lowercase())
        && !name.contains("--")
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// An environment variable name the API server accepts (from 1.32 on, the default): not
/// empty, printable ASCII, no `=`.
pub fn is_env_var_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('=') && name.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// A ConfigMap or Secret data key: `[-._a-zA-Z0-9]+`, at most 253 bytes, not `.`, and not
/// starting with `..` (the kubelet keeps its own `..data` entries in the volume).
pub fn is_config_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key != "."
        && !key.starts_with("..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A ConfigMap name from an env file path, the way Kompose names it (`foo.env` → `foo-env`,
/// `.env` → `env`, `src/app/.env` → `src-app--env`, cut after 63 characters), but always
/// lowercase and valid.
pub fn env_file_configmap(path: &str, service: &str) -> String {
    let trimmed = path.trim_start_matches("./");
    let mapped: String =
        trimmed.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let name = mapped.trim_matches('-');
    if name.is_empty() {
        return format!("{service}-env");
    }
    // Kompose keeps the first 63 characters (the name is ASCII by now); the cut must not leave
    // a trailing `-`, which no name may end with.
    name[..name.len().min(63)].trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_ips() {
        assert_eq!(api_ip("10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(api_ip("::ffff:1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(api_ip("2001:DB8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(api_ip("010.0.0.1"), None);
        assert_eq!(api_ip("host"), None);
    }

    #[test]
    fn a_valid_name_is_what_dashing_it_would_give() {
        // The shortcut for names that are valid already agrees with the long way round.
        let long_way = |name: &str| shorten(dashed(name), 63, name);
        for name in ["web", "a-b-c", "x1", "9lives", &"a".repeat(63), "db-0003"] {
            assert!(is_dns1123_label(name));
            assert_eq!(volume_label(name, "x"), long_way(name));
            if !name.starts_with(|c: char| c.is_ascii_digit()) {
                assert_eq!(dns_label(name, "x"), long_way(name));
            }
        }
        assert_eq!(dns_label("9lives", "x"), "svc-9lives");
    }

    #[test]
    fn service_names() {
        assert_eq!(dns_label("web", "x"), "web");
        assert_eq!(dns_label("Web_App.v2", "x"), "web-app-v2");
        assert_eq!(dns_label("1st", "x"), "svc-1st");
        assert_eq!(dns_label("___", "x"), "x");
        let long = "a".repeat(80);
        let short = dns_label(&long, "x");
        assert_eq!(short.len(), 63);
        assert!(is_dns1035_label(&short));
        assert_eq!(short, dns_label(&long, "x"));
        assert_eq!(cron_job_name("nightly"), "nightly");
        let cron = cron_job_name(&short);
        assert_eq!(cron.len(), 52);
        assert!(is_dns1123_label(&cron) && cron.starts_with("aaaa"));
    }

    #[test]
    fn env_file_names_follow_kompose() {
        assert_eq!(env_file_configmap("foo.env", "web"), "foo-env");
        assert_eq!(env_file_configmap(".env", "web"), "env");
        assert_eq!(env_file_configmap("./src/app/.env", "web"), "src-app--env");
        assert_eq!(env_file_configmap("Hadoop.ENV", "web"), "hadoop-env");
        let long = format!("{}.env", "a".repeat(70));
        assert_eq!(env_file_configmap(&long, "web"), "a".repeat(63));
        assert_eq!(env_file_configmap(&format!("{}-b.env", "a".repeat(62)), "web"), "a".repeat(62));
    }

    #[test]
    fn checks() {
        assert!(is_dns1123_subdomain("a.b-c"));
        assert!(!is_dns1123_subdomain("a_b"));
        // Only the whole name is limited (253), not each part, as the API server checks it.
        assert!(is_dns1123_subdomain(&format!("{}.b", "a".repeat(80))));
        assert!(!is_dns1123_subdomain(&"a".repeat(254)));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_qualified_name("com.example/desc"));
        assert!(is_qualified_name("traefik.enable"));
        assert!(!is_qualified_name("bad key"));
        assert!(is_iana_svc_name("http"));
        assert!(!is_iana_svc_name("80"));
        assert!(is_label_value(""));
        assert!(!is_label_value("-x"));
        assert!(is_config_key(".env") && is_config_key("a..b") && is_config_key("nginx.conf"));
        assert!(!is_config_key("..data") && !is_config_key("..") && !is_config_key(".") && !is_config_key("a b"));
    }
}
