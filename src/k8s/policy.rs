//! Compose networks as NetworkPolicies (`--generate-network-policies`): every pod is labelled
//! `io.kompose.network/<network>: "true"` for each network its service joins (services
//! without `networks` are on `default`), and each network gets a NetworkPolicy that lets
//! pods in only from pods on the same network. Egress is not restricted.

use super::{names, Mapper, Object};
use crate::compose::Service;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

pub const NETWORK_LABEL_PREFIX: &str = "io.kompose.network/";

/// The Kubernetes name of a Compose network: its `name:`, or `<project>_<key>`, made a
/// valid label.
fn network_name(mapper: &Mapper, key: &str) -> String {
    let full = match mapper.project.networks.get(key) {
        Some(Some(explicit)) => explicit.clone(),
        _ => {
            mapper.uses_project_name.set(true);
            format!("{}_{key}", mapper.project.name)
        }
    };
    names::volume_label(&full, "network")
}

/// The networks a service joins (none with `network_mode`).
fn joined(service: &Service) -> Vec<String> {
    if service.network_mode.is_some() {
        return Vec::new();
    }
    if service.networks.is_empty() {
        return vec!["default".into()];
    }
    service.networks.clone()
}

/// Pod labels for the service's networks (empty unless policies are generated).
pub(crate) fn pod_labels(mapper: &Mapper, service: &Service) -> BTreeMap<String, String> {
    if !mapper.options.network_policies {
        return BTreeMap::new();
    }
    joined(service)
        .iter()
        .map(|key| (format!("{NETWORK_LABEL_PREFIX}{}", network_name(mapper, key)), "true".to_string()))
        .collect()
}

/// One NetworkPolicy per network some service joins.
pub(crate) fn policies(mapper: &mut Mapper) {
    if !mapper.options.network_policies {
        return;
    }
    let mut keys: Vec<String> = mapper.project.services.iter().flat_map(|s| joined(s)).collect();
    keys.sort();
    keys.dedup();
    // Two networks Compose keeps apart must not become one policy.
    let mut by_name: BTreeMap<String, &str> = BTreeMap::new();
    for key in &keys {
        let name = network_name(mapper, key);
        if let Some(other) = by_name.insert(name.clone(), key) {
            let pos = mapper.project.network_pos.get(key.as_str()).copied();
            mapper.diags.push(
                crate::diag::Diagnostic::new(
                    crate::diag::Code::DuplicateName,
                    pos,
                    format!("networks `{other}` and `{key}` both become `{name}` in Kubernetes"),
                )
                .with_help("rename one of them, or give one a `name:`"),
            );
        }
    }
    let networks: Vec<String> = by_name.into_keys().collect();
    for name in networks {
        let selector = LabelSelector {
            match_labels: Some(BTreeMap::from([(format!("{NETWORK_LABEL_PREFIX}{name}"), "true".to_string())])),
            ..LabelSelector::default()
        };
        let object = NetworkPolicy {
            metadata: ObjectMeta { name: Some(name.clone()), ..ObjectMeta::default() },
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(selector.clone()),
                // No `policyTypes`: with ingress rules only, the API server sets `[Ingress]` itself
                // (and Kompose writes none either).
                ingress: Some(vec![NetworkPolicyIngressRule {
                    from: Some(vec![NetworkPolicyPeer {
                        pod_selector: Some(selector),
                        ..NetworkPolicyPeer::default()
                    }]),
                    ..NetworkPolicyIngressRule::default()
                }]),
                ..NetworkPolicySpec::default()
            }),
        };
        mapper.add(Object::new("NetworkPolicy", &name, &object, None));
    }
}
