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
    if expose.value.eq_ignore_ascii_case("true") {
        rules.push(IngressRule { host: None, http: Some(HTTPIngressRuleValue { paths: vec![path("/")] }) });
    } else {
        for entry in expose.value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (host, p) = match entry.split_once('/') {
                Some((h, rest)) => (h.to_string(), format!("/{rest}")),
                None => (entry.to_string(), "/".to_string()),
            };
            let host_ok =
                names::is_dns1123_subdomain(&host) || host.strip_prefix("*.").is_some_and(names::is_dns1123_subdomain);
            if !host_ok {
                mapper.diags.push(Diagnostic::at(
                    Code::KomposeLabel,
                    expose.pos,
                    format!("`kompose.service.expose`: `{host}` is not a valid host name"),
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
