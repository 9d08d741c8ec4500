//! Which services a service reaches by name through its environment: `DB_HOST=db`,
//! `REDIS_URL=redis://cache:6379/0`, `BROKERS=kafka-1:9092,kafka-2:9092`.
//!
//! On a Compose network every service name and every `container_name` resolves. In a cluster
//! only Service names do, so a service that is reached by name needs a Service under that
//! name: the mapper warns when it gets none (K203), when the name is one its Service does
//! not have (K218), and adds a Service for a container name it can stand for.
//!
//! Only unambiguous forms count: a URL's host, `name:port`, and a bare value in a variable
//! whose name says it holds a host (`*HOST*`, `*SERVER*`, `*ADDR*`, `*ENDPOINT*`,
//! `*BROKER*`). A bare `POSTGRES_DB=postgres` beside a service called `postgres` is a
//! database name, not a reference.

use crate::compose::{Project, Service};
use crate::diag::Pos;
use std::borrow::Cow;

/// A name another service uses for `target`, and where.
#[derive(Debug, Clone)]
pub(crate) struct Reference<'a> {
    /// The service whose environment holds the name.
    pub from: &'a str,
    /// The name as written in the value.
    pub name: &'a str,
    /// The port written with it (`db:5432`, `http://api:8080/`), if any.
    pub port: Option<u16>,
    /// The variable that holds it.
    pub variable: &'a str,
    /// The env file the variable comes from, when not `environment`.
    pub file: Option<&'a str>,
    pub pos: Pos,
}

impl Reference<'_> {
    /// Where the name is written, for a message: "`DB_HOST`" or "`DB_HOST` in `.env`".
    pub fn place(&self) -> String {
        match self.file {
            Some(file) => format!("`{}` in `{file}`", self.variable),
            None => format!("`{}`", self.variable),
        }
    }
}

/// How a name is known on the Compose network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    ServiceName,
    ContainerName,
}

/// Every name that resolves on the Compose network, lowercased (DNS ignores case), with
/// the service it stands for.
pub(crate) struct Names<'a> {
    table: foldhash::HashMap<Cow<'a, str>, (&'a Service, Via)>,
}

impl<'a> Names<'a> {
    pub fn new(project: &'a Project) -> Names<'a> {
        let mut table: foldhash::HashMap<Cow<'a, str>, (&'a Service, Via)> = Default::default();
        table.reserve(project.services.len());
        for service in &project.services {
            table.insert(lower(&service.name), (service, Via::ServiceName));
        }
        // A service name wins over a container name that is spelt the same.
        for service in &project.services {
            if let Some(container) = &service.container_name {
                table.entry(lower(&container.value)).or_insert((service, Via::ContainerName));
            }
        }
        Names { table }
    }

    pub fn get(&self, host: &str) -> Option<(&'a Service, Via)> {
        self.table.get(&lower(host)).copied()
    }
}

fn lower(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// Whether `host` is one of the names Docker gives the machine it runs on (Docker Desktop,
/// and Docker Engine with `extra_hosts: host.docker.internal:host-gateway`).
pub(crate) fn docker_host(host: &str) -> bool {
    [
        "host.docker.internal",
        "gateway.docker.internal",
        "docker.for.mac.localhost",
        "docker.for.win.localhost",
        "docker.for.mac.host.internal",
    ]
    .iter()
    .any(|name| host.eq_ignore_ascii_case(name))
}

/// The names `service` reaches through its environment and command, in order: `environment`
/// first, then `command` and `entrypoint` (URLs and `host:port` only), then each env file's
/// variables that `environment` does not replace.
pub(crate) fn references<'a>(service: &'a Service, mut found: impl FnMut(Reference<'a>)) {
    for var in &service.environment {
        if let Some(value) = &var.value {
            hosts(&var.name, value, |name, port| {
                found(Reference { from: &service.name, name, port, variable: &var.name, file: None, pos: var.pos })
            });
        }
    }
    // A command names hosts too: `wait-for db:5432 -- ...`, `--broker=redis://queue:6379`.
    for (key, args) in [("command", &service.command), ("entrypoint", &service.entrypoint)] {
        for arg in args.iter().flatten() {
            hosts("", arg, |name, port| {
                found(Reference { from: &service.name, name, port, variable: key, file: None, pos: service.pos })
            });
        }
    }
    for file in &service.env_files {
        let Some(vars) = &file.vars else { continue };
        for (name, value) in vars {
            if service.environment.iter().any(|v| v.name == *name) {
                continue;
            }
            hosts(name, value, |host, port| {
                found(Reference {
                    from: &service.name,
                    name: host,
                    port,
                    variable: name,
                    file: Some(&file.path),
                    pos: file.pos,
                })
            });
        }
    }
}

/// The host names in one variable's value, each with the port written with it.
pub(crate) fn hosts<'v>(variable: &str, value: &'v str, mut found: impl FnMut(&'v str, Option<u16>)) {
    // Most values hold no host: skip them at a glance. Without a `:` only a whole word can
    // be a host, in a host variable or as Docker's name for its host.
    if value.is_empty() || value.len() > 4096 {
        return;
    }
    let bare = host_variable(variable);
    if !bare && !value.contains(':') && !value.as_bytes().windows(7).any(|w| w == b"docker.") {
        return;
    }
    if not_a_connection(variable) {
        return;
    }
    for part in value.split([',', ' ', ';', '\n', '\t']) {
        // Shell punctuation around a word: `nc -z db:5432;`, `"$(curl http://api/)"`.
        let part = part.trim().trim_matches(|c| matches!(c, '&' | '|' | '(' | ')' | '"' | '\'' | '`'));
        if part.is_empty() {
            continue;
        }
        let host = if let Some(at) = part.find("://") {
            let rest = &part[at + 3..];
            let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if host_port.starts_with('[') {
                continue;
            }
            let (host, port) = host_port.split_once(':').unwrap_or((host_port, ""));
            (host, port.parse::<u16>().ok())
        } else if let Some((host, port)) = host_and_port(part) {
            (host, Some(port))
        } else if bare || docker_host(part) {
            // Docker's name for its host is never a service's own name.
            (part.rsplit_once('=').map_or(part, |(_, value)| value), None)
        } else {
            continue;
        };
        let (host, port) = host;
        if !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            found(host, port);
        }
    }
}

/// The host of a `host:port` word. The last host of a URL's list keeps the URL's path
/// (`m2:27017/?replicaSet=rs0`); an option names its value (`--db=db:5432`).
fn host_and_port(word: &str) -> Option<(&str, u16)> {
    let word = &word[..word.find('/').unwrap_or(word.len())];
    let (host, port) = word.rsplit_once('=').map_or(word, |(_, value)| value).split_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((host, port.parse().ok()?))
}

/// Whether a variable's name says its value is another service's host (`DB_HOST`,
/// `REDIS_HOSTNAME`, `SMTP_SERVER`, `UPSTREAM_ADDR`, `S3_ENDPOINT`, `KAFKA_BROKERS`). `HOST`,
/// `HOSTNAME` and `SERVER_NAME` usually hold the service's own name.
fn host_variable(name: &str) -> bool {
    ["HOST", "SERVER", "ADDR", "ENDPOINT", "BROKER"].iter().any(|word| contains(name, word))
        && !["HOST", "HOSTNAME", "SERVER_NAME", "SERVERNAME"].iter().any(|own| name.eq_ignore_ascii_case(own))
}

/// Whether a variable's name says its value is an address for others than this service:
/// one it listens on (`BIND_ADDR`, `LISTEN_ADDRESS`), answers to (`ALLOWED_HOSTS`,
/// `TRUSTED_HOSTS`, `VIRTUAL_HOST`), bypasses (`NO_PROXY`) or shows to browsers
/// (`PUBLIC_URL`, `EXTERNAL_URL`).
fn not_a_connection(name: &str) -> bool {
    ["BIND", "LISTEN", "ALLOWED", "TRUSTED", "VIRTUAL", "PROXY", "PUBLIC", "EXTERNAL"]
        .iter()
        .any(|word| contains(name, word))
}

/// Whether `name` contains `word` (upper case) in any case, without copying it.
fn contains(name: &str, word: &str) -> bool {
    name.as_bytes().windows(word.len()).any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(variable: &str, value: &str) -> Vec<String> {
        let mut out = Vec::new();
        hosts(variable, value, |h, _| out.push(h.to_string()));
        out
    }

    #[test]
    fn urls_host_ports_and_host_variables_name_hosts() {
        assert_eq!(all("DATABASE_URL", "postgres://user:p@ss@db:5432/app"), ["db"]);
        assert_eq!(all("REDIS_URL", "redis://cache"), ["cache"]);
        assert_eq!(all("AMQP", "amqp://guest:guest@rabbitmq:5672//"), ["rabbitmq"]);
        assert_eq!(all("BROKERS", "kafka-1:9092,kafka-2:9092"), ["kafka-1", "kafka-2"]);
        assert_eq!(all("MONGO", "mongodb://m1:27017,m2:27017/?replicaSet=rs0"), ["m1", "m2"]);
        assert_eq!(all("DB_HOSTNAME", "immich_postgres"), ["immich_postgres"]);
        assert_eq!(all("smtp_server", "mail"), ["mail"]);
        assert_eq!(all("HOST", "http://api:80"), ["api"], "a URL counts whatever holds it");
        assert_eq!(all("HOST", "host.docker.internal"), ["host.docker.internal"]);
        assert_eq!(all("", "until nc -z queue:7000; do sleep 1; done"), ["queue"]);
        assert_eq!(all("", "--db=db:5432"), ["db"]);
        assert_eq!(all("", "--broker=redis://queue:6379/0"), ["queue"]);
        assert_eq!(all("", "curl -f \"http://api:8080/health\" || exit 1"), ["api"]);
    }

    #[test]
    fn other_values_name_no_host() {
        assert!(all("POSTGRES_DB", "postgres").is_empty());
        assert!(all("HOST", "api").is_empty());
        assert!(all("HOSTNAME", "api").is_empty());
        assert!(all("BIND_ADDRESS", "web").is_empty());
        assert!(all("ALLOWED_HOSTS", "web,localhost").is_empty());
        assert!(all("VIRTUAL_HOST", "web").is_empty());
        assert!(all("PUBLIC_URL", "http://web:8080/").is_empty());
        assert!(all("NO_PROXY", "web:80,localhost").is_empty());
        assert!(all("TZ", "Europe/Paris").is_empty());
        assert!(all("START", "12:30").len() == 1, "a number before a colon is looked up, and matches no service");
        assert!(all("IPV6", "http://[::1]:80/").is_empty());
        assert!(all("DB_HOST", "").is_empty());
        assert!(all("KEY", "a:b").is_empty());
        assert!(all("DB_HOST", "${HOST}").is_empty());
        assert!(all("", "nc -z $DB_HOST:5432").is_empty(), "a shell variable is not a host");
    }
}
