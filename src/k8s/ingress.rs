//! `kompose.service.expose`: an Ingress for the service's Service. `true` gives a rule for any
//! host; otherwise a comma-separated list of `host[/path]`. TLS from
//! `kompose.service.expose.tls-secret`, class from `kompose.service.expose.ingress-class-name`.

use super::{labels, names, Mapper, Object, ServiceNames};
use crate::compose::Service;
use crate::diag::{Code, Diagnostic};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

pub(crate) fn ingress(
    mapper: &mut Mapper,
    service: &Service,
    names: &ServiceNames,
    port: Option<i32>,
    annotations: &BTreeMap<String, String>,
    load_balancer: bool,
) {
    let expose = labels::get(service, "kompose.service.expose");
    let Some(expose) = expose else {
        for key in ["kompose.service.expose.tls-secret", "kompose.service.expose.ingress-class-name"] {
            if let Some(label) = labels::get(service, key) {
                mapper.diags.push(Diagnostic::at(
                    Code::KomposeLabel,
                    label.pos,
                    format!("`{key}` needs `kompose.service.expose`"),
                ));
            }
        }
        return;
    };
    if expose.value.eq_ignore_ascii_case("false") {
        return;
    }
    if load_balancer {
        mapper.warn(
            Code::NotConverted,
            expose.pos,
            "`kompose.service.expose` is not converted for a LoadBalancer Service, which is already reachable".into(),
            None,
        );
        return;
    }
    let Some(port) = port else {
        mapper.diags.push(Diagnostic::at(
            Code::KomposeLabel,
            expose.pos,
            format!("`kompose.service.expose` needs a port: `{}` publishes none", service.name),
        ));
        return;
    };
    let backend = IngressBackend {
        service: Some(IngressServiceBackend {
            name: names.object.clone(),
            port: Some(ServiceBackendPort { number: Some(port), name: None }),
        }),
        ..IngressBackend::default()
    };
    let path =
        |p: &str| HTTPIngressPath { path: Some(p.to_string()), path_type: "Prefix".into(), backend: backend.clone() };
    let mut rules = Vec::new();
    let mut hosts = Vec::new();
    // A value that names no host (`""`, `,`) exposes the Service on every host, as `true` does
    // and as Kompose reads it; an Ingress without rules is refused by the API server.
    let no_host = expose.value.split(',').all(|e| e.trim().is_empty());
    if expose.value.eq_ignore_ascii_case("true") || no_host {
        rules.push(IngressRule { host: None, http: Some(HTTPIngressRuleValue { paths: vec![path("/")] }) });
    } else {
        for entry in expose.value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (host, p) = match entry.split_once('/') {
                Some((h, rest)) => (h.to_string(), format!("/{rest}")),
                None => (entry.to_string(), "/".to_string()),
            };
            let host_ok =
                names::is_dns1123_subdomain(&host) || host.strip_prefix("*.").is_some_and(names::is_dns1123_subdomain);
            if !host_ok || is_ip_address(&host) {
                let why =
                    if host_ok { "an IP address: an Ingress host must be a DNS name" } else { "not a valid host name" };
                mapper.diags.push(Diagnostic::at(
                    Code::KomposeLabel,
                    expose.pos,
                    format!("`kompose.service.expose`: `{host}` is {why}"),
                ));
                continue;
            }
            if let Some(why) = prefix_path_error(&p) {
                mapper.diags.push(Diagnostic::at(
                    Code::KomposeLabel,
                    expose.pos,
                    format!("`kompose.service.expose`: the path of `{entry}` must not {why}"),
                ));
                continue;
            }
            match rules.iter_mut().find(|r: &&mut IngressRule| r.host.as_deref() == Some(host.as_str())) {
                Some(rule) => rule.http.get_or_insert_with(Default::default).paths.push(path(&p)),
                None => rules.push(IngressRule {
                    host: Some(host.clone()),
                    http: Some(HTTPIngressRuleValue { paths: vec![path(&p)] }),
                }),
            }
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    for key in ["kompose.service.expose.tls-secret", "kompose.service.expose.ingress-class-name"] {
        if let Some(label) = labels::get(service, key) {
            if !label.value.eq_ignore_ascii_case("true") && !mapper.valid_object_name(label, key) {
                return;
            }
        }
    }
    let tls = labels::get(service, "kompose.service.expose.tls-secret").map(|secret| {
        vec![IngressTLS {
            hosts: (!hosts.is_empty()).then(|| hosts.clone()),
            secret_name: (!secret.value.eq_ignore_ascii_case("true")).then(|| secret.value.clone()),
        }]
    });
    let spec = IngressSpec {
        ingress_class_name: labels::get(service, "kompose.service.expose.ingress-class-name").map(|l| l.value.clone()),
        rules: Some(rules),
        tls,
        ..IngressSpec::default()
    };
    let object = Ingress {
        metadata: ObjectMeta {
            name: Some(names.object.clone()),
            labels: Some(super::service_labels(names)),
            annotations: (!annotations.is_empty()).then(|| annotations.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        ..Ingress::default()
    };
    mapper.add(Object::new("Ingress", &names.object, &object, Some(service.pos)));
}

/// Whether an Ingress host is an IP address, which the API server refuses (it wants a DNS
/// name). Go reads `1.2.3.04` as an address too, so zeros before a number are ignored.
pub(crate) fn is_ip_address(host: &str) -> bool {
    let unpadded: Vec<&str> =
        host.split('.').map(|part| if part.len() > 1 { part.trim_start_matches('0') } else { part }).collect();
    let unpadded: Vec<&str> = unpadded.iter().map(|part| if part.is_empty() { "0" } else { part }).collect();
    host.parse::<std::net::IpAddr>().is_ok() || unpadded.join(".").parse::<std::net::Ipv4Addr>().is_ok()
}

/// Why the API server refuses `path` as a `Prefix` Ingress path, if it does.
pub(crate) fn prefix_path_error(path: &str) -> Option<String> {
    if let Some(seq) = ["//", "/./", "/../", "%2f", "%2F"].into_iter().find(|seq| path.contains(seq)) {
        return Some(format!("contain `{seq}`"));
    }
    ["/..", "/."].into_iter().find(|end| path.ends_with(end)).map(|end| format!("end with `{end}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_paths_the_api_server_refuses() {
        for ip in ["1.2.3.4", "::1", "1.2.3.04", "0.0.0.0"] {
            assert!(is_ip_address(ip), "{ip}");
        }
        for name in ["example.com", "300.1.1.1", "1.2.3", "a.1.2.3"] {
            assert!(!is_ip_address(name), "{name}");
        }
        for ok in ["/", "/api", "/a.b/c", "/..x", "/.well-known"] {
            assert_eq!(prefix_path_error(ok), None, "{ok}");
        }
        for bad in ["//", "/a//b", "/a/./b", "/../x", "/a%2Fb", "/a/..", "/a/."] {
            assert!(prefix_path_error(bad).is_some(), "{bad}");
        }
    }
}
