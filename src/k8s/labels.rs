//! Compose `labels`: the `kompose.*` ones steer the conversion (each is read where it
//! applies; unknown ones are reported), every other label becomes an annotation on the
//! workload, its pod template and its Service, as Kompose does.

use super::{names, Mapper, Object};
use crate::compose::Service;
use crate::diag::Code;
use crate::value::Value;
use std::collections::BTreeMap;

/// The `kompose.*` labels kompile implements.
pub const KOMPOSE_LABELS: &[&str] = &[
    "kompose.controller.port.expose",
    "kompose.controller.type",
    "kompose.cronjob.backoff_limit",
    "kompose.cronjob.concurrency_policy",
    "kompose.cronjob.schedule",
    "kompose.hpa.cpu",
    "kompose.hpa.memory",
    "kompose.hpa.replicas.max",
    "kompose.hpa.replicas.min",
    "kompose.image-pull-policy",
    "kompose.image-pull-secret",
    "kompose.init.containers.command",
    "kompose.init.containers.image",
    "kompose.init.containers.name",
    "kompose.security-context.fsgroup",
    "kompose.serviceaccount-name",
    "kompose.service.expose",
    "kompose.service.expose.ingress-class-name",
    "kompose.service.expose.tls-secret",
    "kompose.service.external-traffic-policy",
    "kompose.service.group",
    "kompose.service.healthcheck.liveness.http_get_path",
    "kompose.service.healthcheck.liveness.http_get_port",
    "kompose.service.healthcheck.liveness.tcp_port",
    "kompose.service.healthcheck.readiness.disable",
    "kompose.service.healthcheck.readiness.http_get_path",
    "kompose.service.healthcheck.readiness.http_get_port",
    "kompose.service.healthcheck.readiness.interval",
    "kompose.service.healthcheck.readiness.retries",
    "kompose.service.healthcheck.readiness.start_period",
    "kompose.service.healthcheck.readiness.tcp_port",
    "kompose.service.healthcheck.readiness.test",
    "kompose.service.healthcheck.readiness.timeout",
    "kompose.service.name_override",
    "kompose.service.nodeport.port",
    "kompose.service.type",
    "kompose.volume.size",
    "kompose.volume.storage-class-name",
    "kompose.volume.subpath",
    "kompose.volume.type",
];

/// Annotations for a service's objects; reports `kompose.*` labels kompile does not know.
pub(crate) fn annotations(mapper: &mut Mapper, service: &Service) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    proxy_routes(mapper, service);
    for (key, value) in &service.labels {
        if key.starts_with("kompose.") {
            if !KOMPOSE_LABELS.contains(&key.as_str()) {
                let help = if key == "kompose.controller.expose.port" {
                    "Kompose's documentation misspells `kompose.controller.port.expose`, the label Kompose and kompile read"
                        .to_string()
                } else if let Some(known) = crate::diag::closest(key, KOMPOSE_LABELS) {
                    format!("did you mean `{known}`?")
                } else {
                    "see docs/mapping.md for the `kompose.*` labels kompile reads".to_string()
                };
                mapper.warn(
                    Code::NotConverted,
                    value.pos,
                    format!("label `{key}` is not supported by this version of kompile"),
                    Some(help),
                );
            }
            continue;
        }
        if names::is_qualified_name(key) {
            out.insert(key.clone(), value.value.clone());
        } else {
            not_an_annotation_key(mapper, &format!("label `{}`", shorten(key)), value.pos);
        }
    }
    out
}

/// Reverse proxies that find their routes through the Docker API, which a cluster does not
/// have: Traefik's Docker provider reads a service's router labels, nginx-proxy its
/// `VIRTUAL_HOST` variable. Nothing reads them in a cluster (the labels become annotations,
/// the variable stays in the container's environment): one K201 per service, naming the
/// Ingress that would stand for the route.
fn proxy_routes(mapper: &mut Mapper, service: &Service) {
    let traefik = service.labels.iter().find(|(k, _)| k.starts_with("traefik.http.routers.") && k.ends_with(".rule"));
    if let Some((key, rule)) = traefik {
        let hosts = rule_hosts(&rule.value);
        let port = traefik_port(service);
        let message = format!(
            "`{}` of `{}` is not converted: Traefik reads routes from container labels through the Docker API, which a cluster does not have",
            shorten(key),
            service.name
        );
        let help = ingress_help(
            service,
            &hosts,
            rule_path(&rule.value),
            port,
            "write the route for Traefik's Kubernetes provider",
        );
        mapper.warn(Code::NotConverted, rule.pos, message, Some(help));
        return;
    }
    // caddy-docker-proxy: `caddy: example.com`, `caddy.reverse_proxy: "{{upstreams 8080}}"`.
    if let Some((key, site)) =
        service.labels.iter().find(|(k, _)| *k == "caddy" || (k.starts_with("caddy_") && !k.contains('.')))
    {
        let hosts: Vec<&str> =
            site.value.split([',', ' ']).map(str::trim).filter(|h| names::is_dns1123_subdomain(h)).collect();
        let port = service
            .labels
            .iter()
            .filter(|(k, _)| k.starts_with(key.as_str()) && k.ends_with(".reverse_proxy"))
            .find_map(|(_, v)| v.value.split_once("{{upstreams")?.1.split_once("}}")?.0.trim().parse::<u16>().ok())
            .filter(|p| *p > 0);
        let message = format!(
            "label `{}` of `{}` makes no route: caddy-docker-proxy reads site labels through the Docker API, which a cluster does not have",
            shorten(key),
            service.name
        );
        let help =
            ingress_help(service, &hosts, None, port, "route to the Service with the cluster's ingress controller");
        mapper.warn(Code::NotConverted, site.pos, message, Some(help));
        return;
    }
    let virtual_host = service
        .environment
        .iter()
        .find(|v| v.name == "VIRTUAL_HOST" && v.value.as_deref().is_some_and(|h| !h.trim().is_empty()));
    if let Some(var) = virtual_host {
        let hosts: Vec<&str> = var
            .value
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|h| names::is_dns1123_subdomain(h))
            .collect();
        let port = service
            .environment
            .iter()
            .find(|v| v.name == "VIRTUAL_PORT")
            .and_then(|v| v.value.as_deref()?.trim().parse::<u16>().ok())
            .filter(|p| *p > 0);
        let message = format!(
            "`VIRTUAL_HOST` of `{}` makes no route: nginx-proxy finds containers and their `VIRTUAL_HOST` through the Docker API, which a cluster does not have",
            service.name
        );
        let help =
            ingress_help(service, &hosts, None, port, "route to the Service with the cluster's ingress controller");
        mapper.warn(Code::NotConverted, var.pos, message, Some(help));
    }
}

/// "For an Ingress, give the service `expose: [...]` and the label `kompose.service.expose:
/// ...`": the `host[/path]` list for the hosts and path prefix a proxy's route names.
fn ingress_help(service: &Service, hosts: &[&str], path: Option<&str>, port: Option<u16>, otherwise: &str) -> String {
    let expose = match (hosts, path) {
        ([], _) => "true".to_string(),
        ([host], Some(path)) => format!("{host}{path}"),
        (hosts, _) => hosts.join(","),
    };
    let publish = match port {
        _ if !service.ports.is_empty() || !service.expose.is_empty() => String::new(),
        Some(port) => format!("`expose: [\"{port}\"]` and "),
        None => "the port it listens on and ".to_string(),
    };
    format!(
        "for an Ingress, give the service {publish}the label `kompose.service.expose: \"{expose}\"`; or {otherwise}"
    )
}

/// The hosts of a Traefik rule: ``Host(`a.example.com`)``, ``Host(`a`, `b`)``.
fn rule_hosts(rule: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = rule;
    while let Some(at) = rest.find("Host(") {
        // `HostRegexp(` and `HostSNI(` are other matchers.
        let before_ok = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        rest = &rest[at + 5..];
        let Some(end) = rest.find(')') else { break };
        if before_ok {
            for host in rest[..end].split(',') {
                let host = host.trim().trim_matches(|c| c == '`' || c == '"' || c == '\'');
                if names::is_dns1123_subdomain(host) {
                    out.push(host);
                }
            }
        }
        rest = &rest[end..];
    }
    out
}

/// The path of a Traefik rule's one ``PathPrefix(`/api`)``, if it has one.
fn rule_path(rule: &str) -> Option<&str> {
    let (_, rest) = rule.split_once("PathPrefix(")?;
    let path = rest[..rest.find(')')?].trim().trim_matches(|c| c == '`' || c == '"' || c == '\'');
    (path.starts_with('/')
        && path.len() > 1
        && !path.contains([',', ' ', '`'])
        && rule.matches("PathPrefix(").count() == 1)
        .then_some(path)
}

/// The node port a published port takes with `kompose.controller.port.expose: "true"` (a
/// container `hostPort`): its single published number, when the label is set.
pub(crate) fn host_port(service: &Service, p: &crate::compose::Port) -> Option<i32> {
    get(service, "kompose.controller.port.expose").filter(|l| l.value.eq_ignore_ascii_case("true"))?;
    p.published.as_deref().and_then(|h| h.parse::<i32>().ok()).filter(|h| *h > 0)
}

/// The port a `traefik.http.services.<name>.loadbalancer.server.port` label names.
pub(crate) fn traefik_port(service: &Service) -> Option<u16> {
    service
        .labels
        .iter()
        .find(|(k, _)| k.starts_with("traefik.http.services.") && k.ends_with(".loadbalancer.server.port"))
        .and_then(|(_, v)| v.value.trim().parse::<u16>().ok())
        .filter(|p| *p > 0)
}

/// K210 for a key (`subject`: what it is, already quoted) that cannot be an annotation's.
pub(crate) fn not_an_annotation_key(mapper: &mut Mapper, subject: &str, pos: crate::diag::Pos) {
    mapper.warn(
        Code::InvalidLabel,
        pos,
        format!("{subject} is not a valid Kubernetes annotation key and is left out"),
        Some("annotation keys are `[prefix/]name` with a name of at most 63 letters, digits, `-`, `_` and `.`".into()),
    );
}

/// A key for a message: long keys are cut, so one diagnostic stays one readable line.
pub(crate) fn shorten(key: &str) -> String {
    if key.chars().count() <= 80 {
        key.to_string()
    } else {
        format!("{}...", key.chars().take(77).collect::<String>())
    }
}

/// The value of a `kompose.*` label, if set.
pub(crate) fn get<'s>(service: &'s Service, key: &str) -> Option<&'s crate::compose::Spanned<String>> {
    // Read for every `kompose.*` label of every service: a few labels are compared by length
    // first, cheaper than hashing the key.
    if service.labels.len() <= 8 {
        return service.labels.iter().find(|(k, _)| k.len() == key.len() && k.as_str() == key).map(|(_, v)| v);
    }
    service.labels.get(key)
}

/// Kubernetes' recommended labels, for `--recommended-labels`: every object gets
/// `app.kubernetes.io/part-of: <project>` and `app.kubernetes.io/managed-by: kompile`, so that
/// `kubectl apply --prune -l app.kubernetes.io/part-of=<project>` finds all of them; a
/// service's objects (those labelled `io.kompose.service`) and pod templates also get
/// `app.kubernetes.io/name`. Selectors are left alone: a workload's selector cannot change
/// after it is created.
pub(crate) fn recommended(objects: &mut [Object], project: &str) {
    let part_of = project_label(project);
    for object in objects.iter_mut().filter(|o| !o.kind.is_empty()) {
        let service = add(object.value_mut().get_mut("metadata"), part_of.as_deref(), None, true);
        let templates: &[&str] = match object.kind.as_str() {
            "CronJob" => &["/spec/jobTemplate/spec/template/metadata"],
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => &["/spec/template/metadata"],
            _ => &[],
        };
        for pointer in templates {
            add(object.value_mut().pointer_mut(pointer), part_of.as_deref(), service.as_deref(), false);
        }
    }
}

/// The project name as a label value (at most 63 characters, starting and ending with a
/// letter or digit), or none when nothing of it is left.
fn project_label(project: &str) -> Option<String> {
    let cut: String = project.chars().take(63).collect();
    let trimmed = cut.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    names::is_label_value(trimmed).then(|| trimmed.to_string()).filter(|t| !t.is_empty())
}

/// Add the labels to one `metadata`; returns the `io.kompose.service` it names, if any.
fn add(metadata: Option<&mut Value>, part_of: Option<&str>, service: Option<&str>, managed: bool) -> Option<String> {
    let metadata = metadata.and_then(Value::as_object_mut)?;
    if metadata.get("labels").is_none() {
        metadata.insert("labels", Value::Object(crate::value::Map::default()));
    }
    let labels = metadata.get_mut("labels").and_then(Value::as_object_mut)?;
    let service = service
        .map(str::to_string)
        .or_else(|| labels.get("io.kompose.service").and_then(Value::as_str).map(str::to_string));
    if let Some(name) = &service {
        labels.insert("app.kubernetes.io/name", Value::from(name.as_str()));
    }
    if let Some(part_of) = part_of {
        labels.insert("app.kubernetes.io/part-of", Value::from(part_of));
    }
    if managed {
        labels.insert("app.kubernetes.io/managed-by", Value::from("kompile"));
    }
    service
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traefik_rules_name_their_hosts_and_one_path_prefix() {
        assert_eq!(rule_hosts("Host(`a.example.com`) && PathPrefix(`/api`)"), ["a.example.com"]);
        assert_eq!(rule_hosts("Host(`a.example.com`) || Host(`b.example.com`)"), ["a.example.com", "b.example.com"]);
        assert_eq!(rule_hosts("Host(`a.example.com`, `b.example.com`)"), ["a.example.com", "b.example.com"]);
        assert!(rule_hosts("HostRegexp(`{sub:[a-z]+}.example.com`)").is_empty());
        assert!(rule_hosts("HostSNI(`*`)").is_empty());
        assert!(rule_hosts("Host(`${DOMAIN}`)").is_empty(), "an unresolved variable is no host");
        assert_eq!(rule_path("Host(`a`) && PathPrefix(`/api`)"), Some("/api"));
        assert_eq!(rule_path("PathPrefix(`/a`) || PathPrefix(`/b`)"), None, "two prefixes are not one Ingress path");
        assert_eq!(rule_path("PathPrefix(`/`)"), None);
    }

    #[test]
    fn project_names_become_label_values() {
        assert_eq!(project_label("shop").as_deref(), Some("shop"));
        assert_eq!(project_label("shop_").as_deref(), Some("shop"));
        assert_eq!(project_label(&"a".repeat(70)).map(|l| l.len()), Some(63));
        assert_eq!(project_label("__"), None);
    }
}
