//! Pod-level settings of a service: pod security context (`group_add`, `sysctls`,
//! `kompose.security-context.fsgroup`), DNS (`dns`, `dns_search`, `dns_opt`), host
//! namespaces (`pid`, `ipc`, `network_mode: host`), `/dev/shm` size (`shm_size`), scheduling
//! (`deploy.placement`), and the `kompose.*` labels for image pulling, service accounts,
//! init containers, host ports and ephemeral storage.

use super::{labels, names, Mapper, ServiceNames};
use crate::compose::{Service, Spanned};
use crate::diag::{Code, Diagnostic};
use k8s_openapi::api::core::v1::{
    Affinity, Container, EmptyDirVolumeSource, LocalObjectReference, NodeAffinity, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, PodDNSConfig, PodDNSConfigOption, PodSecurityContext, PodSpec, Sysctl,
    TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

impl Mapper<'_> {
    fn label_error(&mut self, label: &Spanned<String>, message: String) {
        self.diags.push(Diagnostic::at(Code::KomposeLabel, label.pos, message));
    }

    /// A label naming a Kubernetes object must hold a valid name (a DNS-1123 subdomain).
    pub(crate) fn valid_object_name(&mut self, label: &Spanned<String>, key: &str) -> bool {
        let ok = super::names::is_dns1123_subdomain(&label.value);
        if !ok {
            self.label_error(label, format!("`{key}: {}` is not a valid Kubernetes object name", label.value));
        }
        ok
    }

    pub(crate) fn pod_options(
        &mut self,
        service: &Service,
        names: &ServiceNames,
        pod: &mut PodSpec,
        container: &mut Container,
    ) {
        self.pod_security(service, pod);
        if let Some(label) = labels::get(service, "kompose.image-pull-policy") {
            match label.value.as_str() {
                "Always" | "IfNotPresent" | "Never" => container.image_pull_policy = Some(label.value.clone()),
                other => self.label_error(
                    label,
                    format!("`kompose.image-pull-policy: {other}` must be Always, IfNotPresent or Never"),
                ),
            }
        }
        if let Some(label) = labels::get(service, "kompose.image-pull-secret") {
            if self.valid_object_name(label, "kompose.image-pull-secret") {
                pod.image_pull_secrets = Some(vec![LocalObjectReference { name: label.value.clone() }]);
            }
        }
        if let Some(label) = labels::get(service, "kompose.serviceaccount-name") {
            if self.valid_object_name(label, "kompose.serviceaccount-name") {
                pod.service_account_name = Some(label.value.clone());
            }
        }
        self.init_container(service, pod);
        self.dns(service, pod);
        self.host_namespaces(service, pod);
        if let Some(size) = &service.shm_size {
            let name = super::storage::derived(&names.object, "shm");
            pod.volumes.get_or_insert_with(Vec::new).push(Volume {
                name: name.clone(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: Some("Memory".into()),
                    size_limit: (size.value > 0).then(|| super::workload::memory_quantity(size.value)),
                }),
                ..Volume::default()
            });
            container.volume_mounts.get_or_insert_with(Vec::new).push(VolumeMount {
                name,
                mount_path: "/dev/shm".into(),
                ..VolumeMount::default()
            });
        }
        self.placement(service, names, pod);
        self.ephemeral_storage(service, container);
        self.host_namespace_conflicts(service, pod, container);
    }

    /// Settings the API server refuses together with host namespaces: a host port other than
    /// the container port on the host network, and namespaced sysctls of a shared namespace.
    pub(crate) fn host_namespace_conflicts(&mut self, service: &Service, pod: &mut PodSpec, container: &mut Container) {
        let pos = service.network_mode.as_ref().or(service.ipc.as_ref()).map_or(service.pos, |m| m.pos);
        if pod.host_network == Some(true) {
            for port in container.ports.iter_mut().flatten() {
                if port.host_port.is_some_and(|h| h != port.container_port) {
                    port.host_port = None;
                    port.host_ip = None;
                    self.warn(
                        Code::NotConverted,
                        pos,
                        format!("with `network_mode: host` the container listens on the host directly; host port mapping to {} is not converted", port.container_port),
                        None,
                    );
                }
            }
        }
        let Some(sc) = pod.security_context.as_mut() else { return };
        let Some(sysctls) = sc.sysctls.as_mut() else { return };
        let host_network = pod.host_network == Some(true);
        let host_ipc = pod.host_ipc == Some(true);
        let mut dropped = Vec::new();
        sysctls.retain(|s| {
            let keep = match sysctl_namespace(&s.name) {
                Some(SysctlNamespace::Net) => !host_network,
                Some(SysctlNamespace::Ipc) => !host_ipc,
                None => true,
            };
            if !keep {
                dropped.push(s.name.clone());
            }
            keep
        });
        if sysctls.is_empty() {
            sc.sysctls = None;
        }
        for name in dropped {
            self.warn(
                Code::NotConverted,
                pos,
                format!(
                    "sysctl `{name}` is not converted: it would change the host's namespace, which this pod shares"
                ),
                None,
            );
        }
        if pod.security_context.as_ref().is_some_and(|sc| *sc == PodSecurityContext::default()) {
            pod.security_context = None;
        }
    }

    fn pod_security(&mut self, service: &Service, pod: &mut PodSpec) {
        let mut sc = PodSecurityContext::default();
        if let Some(label) = labels::get(service, "kompose.security-context.fsgroup") {
            match label.value.parse::<i64>() {
                Ok(g) if g >= 0 => sc.fs_group = Some(g),
                _ => self.label_error(
                    label,
                    format!("`kompose.security-context.fsgroup: {}` must be a group ID", label.value),
                ),
            }
        }
        let mut groups = Vec::new();
        for g in &service.group_add {
            match g.value.parse::<i64>() {
                Ok(id) if id >= 0 => groups.push(id),
                _ => self.warn(
                    Code::UserNotNumeric,
                    g.pos,
                    format!("`group_add: {}` is not converted: Kubernetes needs numeric group IDs", g.value),
                    Some("write the group's numeric ID".into()),
                ),
            }
        }
        if !groups.is_empty() {
            sc.supplemental_groups = Some(groups);
        }
        let mut sysctls = Vec::new();
        for (name, value, pos) in &service.sysctls {
            // `[a-z0-9]([-_a-z0-9]*[a-z0-9])?` parts, at most 253 characters in all.
            let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.split(['.', '/']).all(|part| {
                    let b = part.as_bytes();
                    !b.is_empty()
                        && alnum(b[0])
                        && alnum(b[b.len() - 1])
                        && b.iter().all(|&c| alnum(c) || matches!(c, b'_' | b'-'))
                });
            if !valid {
                self.warn(Code::NotConverted, *pos, format!("sysctl `{name}` is not a valid sysctl name"), None);
                continue;
            }
            let host = |mode: &Option<Spanned<String>>| mode.as_ref().is_some_and(|m| m.value == "host");
            let dropped = match sysctl_namespace(name) {
                Some(SysctlNamespace::Net) => host(&service.network_mode),
                Some(SysctlNamespace::Ipc) => host(&service.ipc),
                None => {
                    self.warn(
                        Code::NotConverted,
                        *pos,
                        format!("sysctl `{name}` is not converted: it is not namespaced, so it would change the whole node, and the kubelet refuses every pod that sets it"),
                        Some("set it on the nodes (node configuration, or a privileged DaemonSet the cluster administrator runs)".into()),
                    );
                    continue;
                }
            };
            // A sysctl dropped for a shared host namespace gets its own warning later.
            if !dropped && !is_safe_sysctl(name) {
                self.warn(
                    Code::UnsafeSysctl,
                    *pos,
                    format!("sysctl `{name}` is not in Kubernetes' safe set: the kubelet refuses to start the pod unless the node allows it"),
                    Some("ask the cluster administrator to allow it (kubelet `--allowed-unsafe-sysctls`), or remove it if the application does not need it".into()),
                );
            }
            sysctls.push(Sysctl { name: name.clone(), value: value.clone() });
        }
        if !sysctls.is_empty() {
            sc.sysctls = Some(sysctls);
        }
        if sc != PodSecurityContext::default() {
            pod.security_context = Some(sc);
        }
    }

    fn init_container(&mut self, service: &Service, pod: &mut PodSpec) {
        let Some(image) = labels::get(service, "kompose.init.containers.image") else {
            for key in ["kompose.init.containers.name", "kompose.init.containers.command"] {
                if let Some(label) = labels::get(service, key) {
                    self.label_error(label, format!("`{key}` needs `kompose.init.containers.image`"));
                }
            }
            return;
        };
        let name = labels::get(service, "kompose.init.containers.name")
            .map_or("init-service".to_string(), |n| n.value.clone());
        let name = if super::names::is_dns1123_label(&name) {
            name
        } else {
            super::names::volume_label(&name, "init-service")
        };
        let command = labels::get(service, "kompose.init.containers.command").map(|c| parse_command_label(&c.value));
        pod.init_containers.get_or_insert_with(Vec::new).push(Container {
            name,
            image: Some(image.value.clone()),
            command,
            ..Container::default()
        });
    }

    fn dns(&mut self, service: &Service, pod: &mut PodSpec) {
        if service.dns.is_empty() && service.dns_search.is_empty() && service.dns_opt.is_empty() {
            return;
        }
        let mut nameservers = Vec::new();
        for written in &service.dns {
            let Some(server) = super::names::api_ip(&written.value) else {
                self.warn(
                    Code::NotConverted,
                    written.pos,
                    format!("DNS server `{}` is not an IP address and is left out", written.value),
                    None,
                );
                continue;
            };
            if nameservers.len() == 3 {
                self.warn(
                    Code::NotConverted,
                    written.pos,
                    format!("DNS server `{server}` is left out: a pod has at most 3"),
                    None,
                );
            } else {
                nameservers.push(server);
            }
        }
        let mut searches: Vec<String> = Vec::new();
        // The API server's limits: 32 domains, 2048 characters joined by spaces.
        let mut joined = 0usize;
        for Spanned { value: domain, pos } in &service.dns_search {
            let d = domain.trim_end_matches('.');
            let length = joined + usize::from(!searches.is_empty()) + d.len();
            if super::names::is_dns1123_subdomain(d) && (searches.len() == 32 || length > 2048) {
                self.warn(
                    Code::NotConverted,
                    *pos,
                    format!(
                        "DNS search domain `{domain}` is left out: a pod has at most 32, of 2048 characters in all"
                    ),
                    None,
                );
            } else if super::names::is_dns1123_subdomain(d) {
                joined = length;
                searches.push(d.to_string());
            } else {
                self.warn(
                    Code::NotConverted,
                    *pos,
                    format!("DNS search domain `{domain}` is not a valid domain and is left out"),
                    None,
                );
            }
        }
        let options: Vec<PodDNSConfigOption> = service
            .dns_opt
            .iter()
            .map(|o| match o.value.split_once(':') {
                Some((n, v)) => PodDNSConfigOption { name: Some(n.to_string()), value: Some(v.to_string()) },
                None => PodDNSConfigOption { name: Some(o.value.clone()), value: None },
            })
            .collect();
        // The cluster's DNS stays first (dnsPolicy ClusterFirst), so Services still resolve;
        // Compose's servers are added after it.
        if nameservers.is_empty() && searches.is_empty() && options.is_empty() {
            return;
        }
        pod.dns_config = Some(PodDNSConfig {
            nameservers: (!nameservers.is_empty()).then_some(nameservers),
            searches: (!searches.is_empty()).then_some(searches),
            options: (!options.is_empty()).then_some(options),
        });
    }

    fn host_namespaces(&mut self, service: &Service, pod: &mut PodSpec) {
        for (key, value) in [("pid", &service.pid), ("ipc", &service.ipc), ("network_mode", &service.network_mode)] {
            let Some(v) = value else { continue };
            match (key, v.value.as_str()) {
                ("pid", "host") => pod.host_pid = Some(true),
                ("ipc", "host") => pod.host_ipc = Some(true),
                ("network_mode", "host") => pod.host_network = Some(true),
                ("network_mode", "bridge" | "default") | ("ipc", "private" | "shareable" | "") => {}
                // Handled by grouping: the service runs in the other service's pod.
                ("network_mode", m) if m.starts_with("service:") => {}
                (_, other) => self.warn(
                    Code::NotConverted,
                    v.pos,
                    format!("`{key}: {other}` is not converted: a pod shares only its own namespaces, or the host's"),
                    None,
                ),
            }
        }
    }

    fn placement(&mut self, service: &Service, names: &ServiceNames, pod: &mut PodSpec) {
        let mut expressions = Vec::new();
        for c in &service.placement.constraints {
            match constraint(&c.value) {
                Ok(req) => expressions.push(req),
                Err(why) => self.warn(
                    Code::NotConverted,
                    c.pos,
                    format!("placement constraint `{}` is not converted: {why}", c.value),
                    Some("kompile converts `node.hostname`, `node.platform.os`, `node.platform.arch` and `node.labels.<key>` with `==` or `!=` and a value that is a valid label value".into()),
                ),
            }
        }
        if !expressions.is_empty() {
            pod.affinity = Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: vec![NodeSelectorTerm {
                            match_expressions: Some(expressions),
                            ..NodeSelectorTerm::default()
                        }],
                    }),
                    ..NodeAffinity::default()
                }),
                ..Affinity::default()
            });
        }
        if service.global {
            // A DaemonSet runs one pod on each node: there is nothing to spread (Swarm and
            // Kompose ignore preferences of a global service, too).
            if let Some(first) = service.placement.spread.first() {
                self.warn(
                    Code::NotConverted,
                    first.pos,
                    "placement preferences of a global service are not converted: it runs one pod on every node, so there is nothing to spread".into(),
                    None,
                );
            }
            return;
        }
        let mut spreads = Vec::new();
        for s in &service.placement.spread {
            let key = match s.value.strip_prefix("node.labels.") {
                Some(key) if names::is_qualified_name(key) => key.to_string(),
                _ => {
                    self.warn(
                        Code::NotConverted,
                        s.pos,
                        format!("placement preference `spread: {}` is not converted", s.value),
                        Some("kompile converts `spread: node.labels.<key>`, with a valid label key, into a topology spread constraint".into()),
                    );
                    continue;
                }
            };
            spreads.push(TopologySpreadConstraint {
                max_skew: 1,
                topology_key: key,
                when_unsatisfiable: "ScheduleAnyway".into(),
                label_selector: Some(LabelSelector {
                    match_labels: Some(super::service_labels(names)),
                    ..LabelSelector::default()
                }),
                ..TopologySpreadConstraint::default()
            });
        }
        if !spreads.is_empty() {
            pod.topology_spread_constraints = Some(spreads);
        }
    }

    fn ephemeral_storage(&mut self, service: &Service, container: &mut Container) {
        for (key, value, pos) in &service.deploy_labels {
            let side = match key.as_str() {
                "kompose.ephemeral-storage.limit" => "limits",
                "kompose.ephemeral-storage.request" => "requests",
                _ => continue,
            };
            if !super::storage::is_quantity(value) {
                self.diags.push(Diagnostic::at(
                    Code::KomposeLabel,
                    *pos,
                    format!("`{key}: {value}` is not a storage size"),
                ));
                continue;
            }
            let resources = container.resources.get_or_insert_with(Default::default);
            let map = if side == "limits" { &mut resources.limits } else { &mut resources.requests };
            map.get_or_insert_with(Default::default).insert("ephemeral-storage".into(), Quantity(value.clone()));
        }
    }
}

/// `node.labels.zone == east` → a node selector requirement (Docker's constraint syntax), or
/// why not.
fn constraint(text: &str) -> Result<NodeSelectorRequirement, &'static str> {
    let (key, op, value) = if let Some((k, v)) = text.split_once("==") {
        (k.trim(), "In", v.trim())
    } else if let Some((k, v)) = text.split_once("!=") {
        (k.trim(), "NotIn", v.trim())
    } else {
        return Err("it is neither `==` nor `!=`");
    };
    let key = match key {
        "node.hostname" => "kubernetes.io/hostname".to_string(),
        "node.platform.os" => "kubernetes.io/os".to_string(),
        "node.platform.arch" => "kubernetes.io/arch".to_string(),
        // Kompose maps `engine.labels.operatingsystem` to `kubernetes.io/os`, but Docker's
        // engine labels are free-form daemon labels (`ubuntu-14.04`), while the kubelet sets
        // `kubernetes.io/os` to `linux` or `windows`: no node would ever match.
        k if k.starts_with("engine.labels.") => return Err("Docker Engine labels have no Kubernetes node counterpart"),
        k => match k.strip_prefix("node.labels.") {
            Some(label) if names::is_qualified_name(label) => label.to_string(),
            Some(_) => return Err("the node label is not a valid Kubernetes label key"),
            None => return Err("Kubernetes nodes have no such attribute"),
        },
    };
    // The API server refuses a node affinity value that is not a valid label value (from
    // Kubernetes 1.33), and no node could carry one anyway.
    if value.is_empty() || !names::is_label_value(value) {
        return Err("the value is not a valid Kubernetes label value");
    }
    Ok(NodeSelectorRequirement { key, operator: op.into(), values: Some(vec![value.to_string()]) })
}

/// `kompose.init.containers.command`: `["sh", "-c", "x"]` (a list) or a plain command string.
fn parse_command_label(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    if let Ok(list) = serde_json::from_str::<Vec<String>>(trimmed) {
        return list;
    }
    if let Some(inner) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner.split(',').map(|p| p.trim().trim_matches(['"', '\'']).to_string()).collect();
    }
    match crate::compose::split_command(trimmed) {
        Ok(split) if split.dropped.is_none() && !split.args.is_empty() => split.args,
        _ => vec!["sh".into(), "-c".into(), trimmed.to_string()],
    }
}

/// The sysctls every kubelet of Kubernetes 1.33 and later accepts without configuration
/// (the Pod Security Standards' baseline list); any other makes the kubelet reject the pod
/// with `SysctlForbidden` unless the node allows it. Names may use `/` for `.`.
fn is_safe_sysctl(name: &str) -> bool {
    const SAFE: &[&str] = &[
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ping_group_range",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.tcp_wmem",
    ];
    let name = name.replace('/', ".");
    SAFE.contains(&name.as_str())
}

/// The kernel namespace a namespaced sysctl belongs to, where a pod can share the host's.
enum SysctlNamespace {
    Net,
    Ipc,
}

fn sysctl_namespace(name: &str) -> Option<SysctlNamespace> {
    let name = name.replace('/', ".");
    if name.starts_with("net.") {
        Some(SysctlNamespace::Net)
    } else if name.starts_with("kernel.shm")
        || name.starts_with("kernel.msg")
        || name == "kernel.sem"
        || name.starts_with("fs.mqueue.")
    {
        Some(SysctlNamespace::Ipc)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints() {
        let r = constraint("node.labels.zone == east").unwrap();
        assert_eq!((r.key.as_str(), r.operator.as_str()), ("zone", "In"));
        let r = constraint("node.hostname!=web1").unwrap();
        assert_eq!((r.key.as_str(), r.operator.as_str()), ("kubernetes.io/hostname", "NotIn"));
        let r = constraint("node.labels.example.com/tier == db").unwrap();
        assert_eq!(r.key, "example.com/tier");
        assert!(constraint("node.role == manager").is_err());
        assert!(constraint("engine.labels.operatingsystem == ubuntu-14.04").is_err());
        assert!(constraint("node.labels.region == us east").is_err());
        assert!(constraint("node.labels.bad key == x").is_err());
        assert!(constraint("node.platform.os == ").is_err());
        assert!(constraint("node.labels.zone").is_err());
    }

    #[test]
    fn safe_sysctls() {
        assert!(is_safe_sysctl("net.ipv4.tcp_syncookies"));
        assert!(is_safe_sysctl("net/ipv4/ip_local_port_range"));
        assert!(is_safe_sysctl("kernel.shm_rmid_forced"));
        assert!(!is_safe_sysctl("net.core.somaxconn"));
        assert!(!is_safe_sysctl("kernel.msgmax"));
        assert!(!is_safe_sysctl("vm.max_map_count"));
        assert!(matches!(sysctl_namespace("net/core/somaxconn"), Some(SysctlNamespace::Net)));
        assert!(matches!(sysctl_namespace("kernel.sem"), Some(SysctlNamespace::Ipc)));
        assert!(sysctl_namespace("kernel.semx").is_none());
        assert!(sysctl_namespace("vm.swappiness").is_none());
    }

    #[test]
    fn init_commands() {
        assert_eq!(parse_command_label(r#"["sh", "-c", "echo hi"]"#), ["sh", "-c", "echo hi"]);
        assert_eq!(parse_command_label("echo hello"), ["echo", "hello"]);
        assert_eq!(parse_command_label("a && b"), ["sh", "-c", "a && b"]);
    }
}
