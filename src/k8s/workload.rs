//! One Compose service → its workload (Deployment, DaemonSet or Pod), the pod template and
//! its single container: image, command, resources, security context, host aliases, restart
//! policy. Environment, storage, probes and the network Service are delegated to their
//! modules and assembled here.

use super::{labels, names, network, probes, storage, Controller, Mapper, Object, ServiceNames};
use crate::compose::Service;
use crate::diag::Code;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, HostAlias, Pod, PodSpec, PodTemplateSpec, ResourceRequirements,
    SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

enum Kind {
    Deployment,
    DaemonSet,
    /// A bare Pod for a run-once service, with its restart policy.
    Pod(&'static str),
}

impl Mapper<'_> {
    pub(crate) fn map_service(
        &mut self,
        service: &Service,
        names: &ServiceNames,
        all: &BTreeMap<String, ServiceNames>,
    ) {
        let kind = self.workload_kind(service);
        let pod_labels = super::service_labels(names);
        let annotations = labels::annotations(self, service);
        let mut container = self.container(service, names);
        let mut pod = PodSpec::default();
        self.environment(service, names, &mut container);
        let volumes = storage::mounts(self, service, names, &mut container);
        if !volumes.is_empty() {
            pod.volumes = Some(volumes);
        }
        probes::probes(self, service, &mut container);
        if let Some(first) = service.depends_on.first() {
            let deps: Vec<&str> = service.depends_on.iter().map(|d| d.value.as_str()).collect();
            self.warn(
                Code::DependsOn,
                first.pos,
                format!(
                    "`{}` depends on `{}`: Kubernetes starts all pods at once and restarts `{}` until its dependencies answer",
                    service.name,
                    deps.join("`, `"),
                    service.name
                ),
                None,
            );
        }
        network::service(self, service, names, all, &annotations);
        if let Some(hostname) = &service.hostname {
            if names::is_dns1123_label(&hostname.value) {
                pod.hostname = Some(hostname.value.clone());
            } else {
                self.diags.push(
                    crate::diag::Diagnostic::at(
                        Code::InvalidName,
                        hostname.pos,
                        format!("hostname `{}` is not a valid DNS-1123 label", hostname.value),
                    )
                    .with_help("use at most 63 lowercase letters, digits and `-`; a domain goes in a Service, not the hostname"),
                );
            }
        }
        if !service.extra_hosts.is_empty() {
            pod.host_aliases = Some(host_aliases(self, service));
        }
        if let Some(ns) = service.stop_grace_period_ns {
            // Rounded up: 0 would mean "kill at once", which a sub-second grace period is not.
            pod.termination_grace_period_seconds = Some(ceil_seconds(ns));
        }
        pod.containers = vec![container];
        let annotations = (!annotations.is_empty()).then_some(annotations);
        let meta = ObjectMeta {
            name: Some(names.object.clone()),
            labels: Some(pod_labels.clone()),
            annotations: annotations.clone(),
            ..ObjectMeta::default()
        };
        let template = |pod: PodSpec| PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(pod_labels.clone()),
                annotations: annotations.clone(),
                ..ObjectMeta::default()
            }),
            spec: Some(pod),
        };
        let selector = LabelSelector { match_labels: Some(pod_labels.clone()), ..LabelSelector::default() };
        let origin = Some(service.pos);
        match kind {
            Kind::Deployment => {
                let has_claims = pod.volumes.iter().flatten().any(|v| v.persistent_volume_claim.is_some());
                let spec = DeploymentSpec {
                    replicas: Some(self.replicas(service)),
                    selector,
                    // Pods sharing a ReadWriteOnce claim cannot overlap during a rollout.
                    strategy: has_claims.then(|| DeploymentStrategy {
                        type_: Some("Recreate".into()),
                        ..DeploymentStrategy::default()
                    }),
                    template: template(pod),
                    ..DeploymentSpec::default()
                };
                let object = Deployment { metadata: meta, spec: Some(spec), ..Deployment::default() };
                self.add(Object::new("Deployment", &names.object, &object, origin));
            }
            Kind::DaemonSet => {
                let spec = DaemonSetSpec { selector, template: template(pod), ..DaemonSetSpec::default() };
                let object = DaemonSet { metadata: meta, spec: Some(spec), ..DaemonSet::default() };
                self.add(Object::new("DaemonSet", &names.object, &object, origin));
            }
            Kind::Pod(policy) => {
                pod.restart_policy = Some(policy.into());
                let object = Pod { metadata: meta, spec: Some(pod), ..Pod::default() };
                self.add(Object::new("Pod", &names.object, &object, origin));
            }
        }
    }

    fn workload_kind(&mut self, service: &Service) -> Kind {
        let restart = service.restart_condition.as_ref().or(service.restart.as_ref());
        let policy = restart.map(|r| (r.value.as_str(), r.pos));
        let run_once = match policy {
            None | Some(("always" | "any" | "", _)) => None,
            Some(("unless-stopped", pos)) => {
                self.warn(
                    Code::RestartPolicy,
                    pos,
                    "`unless-stopped` becomes `Always`: Kubernetes restarts containers until the workload is deleted"
                        .into(),
                    None,
                );
                None
            }
            Some(("no" | "none", _)) => Some("Never"),
            Some((p, _)) if p == "on-failure" || p.starts_with("on-failure:") => Some("OnFailure"),
            Some((other, pos)) => {
                self.diags.push(
                    crate::diag::Diagnostic::at(Code::InvalidValue, pos, format!("unknown restart policy `{other}`"))
                        .with_help("use `no`, `always`, `on-failure` or `unless-stopped`"),
                );
                None
            }
        };
        if let Some(policy) = run_once {
            if let Some(r) = restart {
                self.warn(
                    Code::RestartPolicy,
                    r.pos,
                    format!(
                        "`restart: {}` does not keep the service running: it becomes a Pod with `restartPolicy: {policy}`",
                        r.value
                    ),
                    None,
                );
            }
            return Kind::Pod(policy);
        }
        match self.options.controller {
            Some(Controller::DaemonSet) => Kind::DaemonSet,
            Some(Controller::Deployment) => Kind::Deployment,
            None if service.global => Kind::DaemonSet,
            None => Kind::Deployment,
        }
    }

    fn replicas(&mut self, service: &Service) -> i32 {
        if let Some(r) = self.options.replicas {
            return r;
        }
        match &service.replicas {
            Some(r) if r.value < 0 || r.value > i64::from(i32::MAX) => {
                self.diags.push(crate::diag::Diagnostic::at(
                    Code::InvalidValue,
                    r.pos,
                    format!("replicas must be between 0 and {}, found {}", i32::MAX, r.value),
                ));
                1
            }
            Some(r) => r.value as i32,
            None => 1,
        }
    }

    fn container(&mut self, service: &Service, names: &ServiceNames) -> Container {
        let image = match (&service.image, service.has_build) {
            (Some(image), _) => image.value.clone(),
            (None, true) => {
                self.warn(
                    Code::BuildOnly,
                    service.pos,
                    format!(
                        "service `{}` has only a `build` section: the image is assumed to be `{}`",
                        service.name, service.name
                    ),
                    Some("build and push the image, then set `image:` to its registry name".into()),
                );
                service.name.clone()
            }
            (None, false) => {
                self.diags.push(crate::diag::Diagnostic::at(
                    Code::NoImage,
                    service.pos,
                    format!("service `{}` has neither an image nor a build section", service.name),
                ));
                service.name.clone()
            }
        };
        let name = match &service.container_name {
            Some(cn) => {
                let n = names::volume_label(&cn.value, &names.object);
                if n != cn.value {
                    self.warn(Code::Renamed, cn.pos, format!("container name `{}` becomes `{n}`", cn.value), None);
                }
                n
            }
            None => names.object.clone(),
        };
        let mut container = Container {
            name,
            image: Some(image),
            args: escape_all(&service.command),
            command: escape_all(&service.entrypoint),
            working_dir: service.working_dir.clone(),
            stdin: service.stdin_open.then_some(true),
            tty: service.tty.then_some(true),
            ..Container::default()
        };
        let mut ports: Vec<ContainerPort> = Vec::new();
        let all = service
            .ports
            .iter()
            .map(|p| (p.target, p.protocol.as_str()))
            .chain(service.expose.iter().map(|e| (e.port, e.protocol.as_str())));
        for (port, protocol) in all {
            let protocol = protocol.to_ascii_uppercase();
            if !ports
                .iter()
                .any(|p| p.container_port == i32::from(port) && p.protocol.as_deref() == Some(protocol.as_str()))
            {
                ports.push(ContainerPort {
                    container_port: i32::from(port),
                    protocol: Some(protocol),
                    ..ContainerPort::default()
                });
            }
        }
        if !ports.is_empty() {
            container.ports = Some(ports);
        }
        container.resources = resources(service);
        container.security_context = self.security_context(service);
        container.image_pull_policy = self.pull_policy(service);
        container
    }

    fn pull_policy(&mut self, service: &Service) -> Option<String> {
        let policy = service.pull_policy.as_ref()?;
        match policy.value.as_str() {
            "always" => Some("Always".into()),
            "never" => Some("Never".into()),
            "missing" | "if_not_present" => Some("IfNotPresent".into()),
            other => {
                self.warn(
                    Code::NotConverted,
                    policy.pos,
                    format!("`pull_policy: {other}` is not converted: Kubernetes knows Always, IfNotPresent and Never"),
                    None,
                );
                None
            }
        }
    }

    fn security_context(&mut self, service: &Service) -> Option<SecurityContext> {
        let mut sc = SecurityContext::default();
        if let Some(user) = &service.user {
            let (uid, gid) = match user.value.split_once(':') {
                Some((u, g)) => (u, Some(g)),
                None => (user.value.as_str(), None),
            };
            match (uid.parse::<i64>(), gid.map(str::parse::<i64>)) {
                (Ok(u), None) => sc.run_as_user = Some(u),
                (Ok(u), Some(Ok(g))) => {
                    sc.run_as_user = Some(u);
                    sc.run_as_group = Some(g);
                }
                (Ok(u), Some(Err(_))) => {
                    sc.run_as_user = Some(u);
                    self.warn(
                        Code::UserNotNumeric,
                        user.pos,
                        format!(
                            "the group in `user: {}` is not converted: Kubernetes needs a numeric group ID",
                            user.value
                        ),
                        Some(format!("write the numeric group, e.g. `user: \"{u}:1000\"`")),
                    );
                }
                _ => self.warn(
                    Code::UserNotNumeric,
                    user.pos,
                    format!("`user: {}` is not converted: Kubernetes needs numeric user and group IDs", user.value),
                    Some("write the numeric ID, e.g. `user: \"1000:1000\"`".into()),
                ),
            }
        }
        if service.privileged {
            sc.privileged = Some(true);
        }
        if service.read_only {
            sc.read_only_root_filesystem = Some(true);
        }
        let cap = |list: &[String]| -> Option<Vec<String>> {
            (!list.is_empty()).then(|| list.iter().map(|c| c.strip_prefix("CAP_").unwrap_or(c).to_string()).collect())
        };
        if !service.cap_add.is_empty() || !service.cap_drop.is_empty() {
            sc.capabilities = Some(Capabilities { add: cap(&service.cap_add), drop: cap(&service.cap_drop) });
        }
        (sc != SecurityContext::default()).then_some(sc)
    }
}

/// Whole seconds, rounded up; never negative.
pub fn ceil_seconds(ns: i64) -> i64 {
    if ns <= 0 {
        0
    } else {
        (ns + 999_999_999) / 1_000_000_000
    }
}

/// `$` starts a variable reference (`$(VAR)`) or an escape (`$$`) in a container's command,
/// args and env values; Compose has no such expansion, so escape it to keep the text literal.
pub fn escape_dollars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' && matches!(chars.peek(), Some('$' | '(')) {
            out.push('$');
        }
    }
    out
}

fn escape_all(list: &Option<Vec<String>>) -> Option<Vec<String>> {
    list.as_ref().map(|items| items.iter().map(|s| escape_dollars(s)).collect())
}

/// CPUs as a quantity: whole numbers as is, fractions in millicores (`0.5` → `500m`).
pub fn cpu_quantity(cpus: f64) -> Quantity {
    let mut milli = (cpus * 1000.0).round() as i64;
    if milli == 0 && cpus > 0.0 {
        milli = 1;
    }
    if milli % 1000 == 0 {
        Quantity((milli / 1000).to_string())
    } else {
        Quantity(format!("{milli}m"))
    }
}

/// Bytes as a quantity in the largest binary unit that divides them (`10Mi`, `1Gi`).
pub fn memory_quantity(bytes: i64) -> Quantity {
    for (unit, size) in [("Ti", 1i64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes != 0 && bytes % size == 0 {
            return Quantity(format!("{}{unit}", bytes / size));
        }
    }
    Quantity(bytes.to_string())
}

fn resources(service: &Service) -> Option<ResourceRequirements> {
    let side = |r: &crate::compose::Resources| -> Option<BTreeMap<String, Quantity>> {
        let mut map = BTreeMap::new();
        if let Some(c) = &r.cpus {
            map.insert("cpu".to_string(), cpu_quantity(c.value));
        }
        if let Some(m) = &r.memory {
            map.insert("memory".to_string(), memory_quantity(m.value));
        }
        (!map.is_empty()).then_some(map)
    };
    let limits = side(&service.limits);
    let requests = side(&service.reservations);
    (limits.is_some() || requests.is_some()).then(|| ResourceRequirements {
        limits,
        requests,
        ..ResourceRequirements::default()
    })
}

fn host_aliases(mapper: &mut Mapper, service: &Service) -> Vec<HostAlias> {
    let mut aliases: Vec<HostAlias> = Vec::new();
    for (host, ip, pos) in &service.extra_hosts {
        if ip.parse::<std::net::IpAddr>().is_err() {
            mapper.warn(
                Code::NotConverted,
                *pos,
                format!(
                    "`extra_hosts` entry `{host}` → `{ip}` is not converted: a pod's host aliases need an IP address"
                ),
                None,
            );
            continue;
        }
        match aliases.iter_mut().find(|a| a.ip == *ip) {
            Some(alias) => alias.hostnames.get_or_insert_with(Vec::new).push(host.clone()),
            None => aliases.push(HostAlias { ip: ip.clone(), hostnames: Some(vec![host.clone()]) }),
        }
    }
    aliases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_survive_kubernetes_expansion() {
        assert_eq!(escape_dollars("$(X)"), "$$(X)");
        assert_eq!(escape_dollars("$$"), "$$$");
        assert_eq!(escape_dollars("$$(X)"), "$$$$(X)");
        assert_eq!(escape_dollars("$HOME and $"), "$HOME and $");
        assert_eq!(ceil_seconds(500_000_000), 1);
        assert_eq!(ceil_seconds(2_000_000_000), 2);
        assert_eq!(cpu_quantity(0.0001).0, "1m");
    }

    #[test]
    fn quantities() {
        assert_eq!(cpu_quantity(0.5).0, "500m");
        assert_eq!(cpu_quantity(2.0).0, "2");
        assert_eq!(cpu_quantity(0.2).0, "200m");
        assert_eq!(memory_quantity(10 << 20).0, "10Mi");
        assert_eq!(memory_quantity(1 << 30).0, "1Gi");
        assert_eq!(memory_quantity(1000).0, "1000");
        assert_eq!(memory_quantity(1536 << 20).0, "1536Mi");
    }
}
