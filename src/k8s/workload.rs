//! One Compose service → its workload (Deployment, DaemonSet or Pod), the pod template and
//! its single container: image, command, resources, security context, host aliases, restart
//! policy. Environment, storage, probes and the network Service are delegated to their
//! modules and assembled here.

use super::{labels, names, network, probes, storage, Controller, Mapper, Object, ServiceNames};
use crate::compose::{DeviceCount, SecurityOpt, Service, Spanned};
use crate::diag::Code;
use crate::value::{Key, Map, Value};
use k8s_openapi::api::apps::v1::{DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    AppArmorProfile, Capabilities, Container, ContainerPort, ExecAction, HostAlias, Lifecycle, LifecycleHandler,
    PodSpec, ResourceRequirements, SELinuxOptions, SeccompProfile, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// The image of `--wait-for-dependencies` init containers (pinned: output must not change
/// when a tag moves).
pub const WAIT_IMAGE: &str = "busybox:1.36";

enum Kind {
    Deployment,
    DaemonSet,
    StatefulSet,
    /// A bare Pod for a run-once service, with its restart policy.
    Pod(&'static str),
    /// A run-once service with a `kompose.cronjob.schedule`.
    CronJob(&'static str, String),
    /// `deploy.mode: replicated-job` (or `global-job`: `true`), with its pods' restart policy.
    Job(&'static str, bool),
}

impl Kind {
    /// The Kubernetes kind this becomes.
    fn name(&self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::DaemonSet => "DaemonSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::Pod(_) => "Pod",
            Kind::CronJob(..) => "CronJob",
            Kind::Job(..) => "Job",
        }
    }
}

/// A typed part of an object (a pod spec, a strategy, claim templates) as a value.
fn typed<T: serde::Serialize>(part: &T) -> Value {
    Value::from_serialize(part).expect("Kubernetes objects have string keys only")
}

/// A label or annotation map as a value; the service label's key is not copied.
fn string_map<K: AsRef<str> + Into<String>, V: Into<Value>>(map: impl IntoIterator<Item = (K, V)>) -> Value {
    let entries = map
        .into_iter()
        .map(|(key, value)| {
            let key: Key = if key.as_ref() == super::SERVICE_LABEL {
                Key::Borrowed(super::SERVICE_LABEL)
            } else {
                Key::Owned(key.into())
            };
            (key, value.into())
        })
        .collect();
    Value::from(Map::from_entries(entries))
}

/// An `ObjectMeta` with a name, labels and maybe annotations, as a value.
fn meta_value(name: &str, labels: BTreeMap<String, String>, annotations: Option<BTreeMap<String, String>>) -> Value {
    let mut meta = Map::from_iter([("labels", string_map(labels)), ("name", Value::from(name))]);
    if let Some(annotations) = annotations {
        meta.insert("annotations", string_map(annotations));
    }
    Value::from(meta)
}

/// A `PodTemplateSpec` of labels, maybe annotations, and a pod spec, as a value.
fn template_value(
    labels: &BTreeMap<String, String>,
    annotations: Option<&BTreeMap<String, String>>,
    pod: Value,
) -> Value {
    let mut meta = Map::from_iter([("labels", string_map(labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))))]);
    if let Some(annotations) = annotations {
        meta.insert("annotations", string_map(annotations.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    }
    Value::from(Map::from_iter([("metadata", Value::from(meta)), ("spec", pod)]))
}

/// A `LabelSelector` matching `labels`, as a value.
fn selector_value(labels: &BTreeMap<String, String>) -> Value {
    let labels = string_map(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Value::from(Map::from_iter([("matchLabels", labels)]))
}

/// What decides a Deployment's strategy besides its pod: whether it mounts Compose volumes,
/// and the `deploy.update_config` that applies.
#[derive(Clone, Copy)]
struct Rollout<'s> {
    volumes: bool,
    update_config: Option<&'s crate::compose::UpdateConfig>,
}

impl Mapper<'_> {
    pub(crate) fn map_service(
        &mut self,
        service: &Service,
        names: &ServiceNames,
        all: &BTreeMap<String, ServiceNames>,
    ) {
        let kind = self.workload_kind(service);
        let statefulset = matches!(kind, Kind::StatefulSet);
        let (pod, annotations) = self.build_pod(service, names, all, statefulset);
        let network_labels = super::policy::pod_labels(self, service);
        let rollout = Rollout { volumes: !service.volumes.is_empty(), update_config: service.update_config.as_ref() };
        let pod_annotations = self.pod_annotations(service);
        self.emit_workload(service, names, kind, pod, (annotations, pod_annotations), network_labels, rollout);
    }

    /// Services grouped into one workload (`--service-group-mode`): one container per member,
    /// in name order; each member keeps its own Service, selecting the group's pods.
    pub(crate) fn map_group(
        &mut self,
        members: &[&Service],
        names: &ServiceNames,
        all: &BTreeMap<String, ServiceNames>,
    ) {
        let Some(first) = members.first() else { return };
        let kind = self.workload_kind(first);
        for member in &members[1..] {
            let restart = |s: &Service| s.restart_condition.as_ref().or(s.restart.as_ref()).map(|r| r.value.clone());
            if restart(member) != restart(first) || member.global != first.global {
                self.warn(
                    Code::NotConverted,
                    member.pos,
                    format!(
                        "`{}` runs in the pod of `{}`, whose restart policy and workload kind apply to both",
                        member.name, first.name
                    ),
                    None,
                );
            }
        }
        let statefulset = matches!(kind, Kind::StatefulSet);
        let mut pod = PodSpec::default();
        let mut annotations = BTreeMap::new();
        let mut pod_annotations = BTreeMap::new();
        let mut network_labels = BTreeMap::new();
        let clash = members.iter().any(|m| all[&m.name].object == names.workload);
        let suffix = if clash { "shared" } else { "claim" };
        self.group_claims =
            Some(super::GroupClaims { prefix: format!("{}-{suffix}", names.workload), claims: Vec::new() });
        // Per setting, the members whose value the pod has so far.
        let mut owners: BTreeMap<&str, Vec<&Service>> = BTreeMap::new();
        let mut lost: Vec<(&str, &Service, &Service)> = Vec::new();
        for member in members {
            network_labels.extend(super::policy::pod_labels(self, member));
            let member_names = &all[&member.name];
            let (part, member_annotations) = self.build_pod(member, member_names, all, statefulset);
            annotations.extend(member_annotations);
            for (key, value) in self.pod_annotations(member) {
                pod_annotations.entry(key).or_insert(value);
            }
            // Containers of one pod share its network: two cannot listen on one port.
            for container in &part.containers {
                for port in container.ports.iter().flatten() {
                    let protocol = port.protocol.as_deref().unwrap_or("TCP");
                    let taken = pod.containers.iter().find(|c| {
                        c.ports.iter().flatten().any(|p| {
                            p.container_port == port.container_port
                                && p.protocol.as_deref().unwrap_or("TCP") == protocol
                        })
                    });
                    if let Some(other) = taken {
                        self.warn(
                            Code::NotConverted,
                            member.pos,
                            format!(
                                "`{}` and `{}` share a pod in this group, and both listen on port {}/{protocol}: only one of them can bind it",
                                other.name, member.name, port.container_port
                            ),
                            Some("change the port one of them listens on, or keep them in separate groups".into()),
                        );
                    }
                }
            }
            pod.containers.extend(part.containers);
            for volume in part.volumes.into_iter().flatten() {
                let volumes = pod.volumes.get_or_insert_with(Vec::new);
                if !volumes.iter().any(|v| v.name == volume.name) {
                    volumes.push(volume);
                }
            }
            for init in part.init_containers.into_iter().flatten() {
                pod.init_containers.get_or_insert_with(Vec::new).push(init);
            }
            // Pod-level settings: the last member (by name) that sets one wins, as in Kompose;
            // a member whose value is overridden is told below.
            macro_rules! last_wins {
                ($($field:ident: $what:literal),* $(,)?) => {$(
                    if let Some(theirs) = part.$field {
                        let holders = owners.entry($what).or_default();
                        if pod.$field.as_ref().is_some_and(|ours| *ours != theirs) {
                            lost.extend(holders.drain(..).map(|owner| ($what, owner, *member)));
                        }
                        holders.push(*member);
                        pod.$field = Some(theirs);
                    }
                )*};
            }
            last_wins!(
                hostname: "hostname",
                subdomain: "domainname",
                host_aliases: "extra_hosts",
                security_context: "pod security settings",
                termination_grace_period_seconds: "stop_grace_period",
                dns_config: "dns settings",
                affinity: "placement constraints",
                image_pull_secrets: "kompose.image-pull-secret",
                service_account_name: "kompose.serviceaccount-name",
                host_network: "network_mode: host",
                host_pid: "pid",
                host_ipc: "ipc",
                topology_spread_constraints: "placement preferences",
            );
        }
        for (what, loser, winner) in lost {
            self.warn(
                Code::NotConverted,
                loser.pos,
                format!(
                    "the {what} of `{}` is not applied: the group's one pod takes the one of `{}`",
                    loser.name, winner.name
                ),
                Some("set the same value on every service of the group".into()),
            );
        }
        // One member's host network or IPC is the whole pod's: the other members' host ports
        // and namespaced sysctls are checked against it as their own are.
        let mut containers = std::mem::take(&mut pod.containers);
        for (member, container) in members.iter().zip(containers.iter_mut()) {
            self.host_namespace_conflicts(member, &mut pod, container);
        }
        pod.containers = containers;
        self.group_claims = None;
        // The group's rollout follows all its members: volumes if any member has some, and
        // the first `update_config` among them.
        let rollout = Rollout {
            volumes: members.iter().any(|m| !m.volumes.is_empty()),
            update_config: members.iter().find_map(|m| m.update_config.as_ref()),
        };
        self.emit_workload(first, names, kind, pod, (annotations, pod_annotations), network_labels, rollout);
    }

    /// The pod of one service (one container) plus its annotations; creates the service's
    /// Service, ConfigMaps, Secrets and claims on the way.
    fn build_pod(
        &mut self,
        service: &Service,
        names: &ServiceNames,
        all: &BTreeMap<String, ServiceNames>,
        statefulset: bool,
    ) -> (PodSpec, BTreeMap<String, String>) {
        let annotations = labels::annotations(self, service);
        let mut container = self.container(service, names);
        let mut pod = PodSpec::default();
        self.environment(service, names, &mut container);
        let mut volumes = storage::mounts(self, service, names, &mut container);
        self.volumes_from(service, all, &mut container, &mut volumes);
        if !volumes.is_empty() {
            pod.volumes = Some(volumes);
        }
        probes::probes(self, service, &mut container);
        // With `--wait-for-dependencies` init containers do the waiting (and say what they
        // cannot wait for); without, K209 says that nothing waits.
        if let Some(first) = service.depends_on.first().filter(|_| !self.options.wait_for_dependencies) {
            let deps: Vec<&str> = service.depends_on.iter().map(|d| d.value.as_str()).collect();
            // A task that runs once is not waited for: nothing holds the service back.
            let tasks: Vec<&str> =
                deps.iter().copied().filter(|d| self.by_name.get(d).is_some_and(|s| super::runs_once(s))).collect();
            // Services that share their `depends_on` (from one YAML anchor) are named in one
            // note, given when mapping ends.
            let key = (first.pos, deps.join("\n"), tasks.join("\n"));
            self.depends_on_notes.entry(key).or_default().push(service.name.clone());
        }
        network::service(self, service, names, &annotations, statefulset);
        if let Some(hostname) = &service.hostname {
            let split = hostname.value.split_once('.');
            if names::is_dns1123_label(&hostname.value) {
                pod.hostname = Some(hostname.value.clone());
            } else if let Some((host, domain)) =
                split.filter(|(h, d)| names::is_dns1123_label(h) && names::is_dns1123_subdomain(d))
            {
                // `mail.example.com`: Docker, too, splits a dotted hostname into a host name and
                // a domain name; a pod has only the first.
                pod.hostname = Some(host.to_string());
                self.warn(
                    Code::NotConverted,
                    hostname.pos,
                    format!("the domain `{domain}` of `hostname: {}` is not converted: a pod's hostname is one DNS label, so it is `{host}`", hostname.value),
                    Some("if the application reads its domain from the hostname, give it the full name another way, such as an environment variable".into()),
                );
            } else {
                // `My_Host`: Docker takes it; a pod's hostname is a DNS label, written the way
                // every other name is made valid.
                let host = names::dns_label(split.map_or(hostname.value.as_str(), |(h, _)| h), &names.object);
                self.warn(
                    Code::Renamed,
                    hostname.pos,
                    format!("hostname `{}` becomes `{host}`: a pod's hostname is a DNS label (lowercase letters, digits and `-`)", hostname.value),
                    Some("if the application compares its hostname, write it in this form in the compose file".into()),
                );
                pod.hostname = Some(host);
            }
        }
        if let Some(domain) = service.domainname.as_ref().filter(|d| !d.value.is_empty()) {
            // As in Kompose: the pod's subdomain, so that its full name is
            // `<hostname>.<domainname>.<namespace>.svc...` (resolvable once a headless Service of
            // that name selects it). The API server takes only one DNS label there.
            if names::is_dns1123_label(&domain.value) {
                pod.subdomain = Some(domain.value.clone());
            } else {
                self.warn(
                    Code::NotConverted,
                    domain.pos,
                    format!(
                        "`domainname: {}` is not converted: a pod's subdomain is one DNS-1123 label (lowercase letters, digits and `-`)",
                        domain.value
                    ),
                    Some("use one label, such as the first part of the domain; the pod's full name then ends in `.<label>.<namespace>.svc`".into()),
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
        self.pod_options(service, names, &mut pod, &mut container);
        if self.options.wait_for_dependencies {
            self.wait_for_dependencies(service, all, &mut pod);
        }
        pod.containers = vec![container];
        (pod, annotations)
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_workload(
        &mut self,
        service: &Service,
        names: &ServiceNames,
        kind: Kind,
        mut pod: PodSpec,
        // Annotations from labels (workload, pod and Service) and from `annotations` (pod).
        (annotations, pod_annotations): (BTreeMap<String, String>, BTreeMap<String, String>),
        network_labels: BTreeMap<String, String>,
        rollout: Rollout,
    ) {
        let pod_labels = super::service_labels(names);
        let mut template_labels = pod_labels.clone();
        template_labels.extend(network_labels);
        let mut template_annotations = annotations.clone();
        template_annotations.extend(pod_annotations);
        let template_annotations = (!template_annotations.is_empty()).then_some(template_annotations);
        let annotations = (!annotations.is_empty()).then_some(annotations);
        let mut workload_labels = pod_labels.clone();
        for (key, value, pos) in &service.deploy_labels {
            if key.starts_with("kompose.") {
                continue;
            }
            if names::is_qualified_name(key) && names::is_label_value(value) {
                workload_labels.entry(key.clone()).or_insert_with(|| value.clone());
            } else {
                self.warn(
                    Code::InvalidLabel,
                    *pos,
                    format!("deploy label `{key}={value}` is not a valid Kubernetes label and is left out"),
                    None,
                );
            }
        }
        // The objects are built as values directly (what their k8s-openapi types serialise
        // to: `envelope_values_are_the_typed_objects` checks each part), because a large
        // project has one for every service; the pod spec and the smaller parts are typed.
        let template = |pod: &PodSpec| template_value(&template_labels, template_annotations.as_ref(), typed(pod));
        let selector = || selector_value(&pod_labels);
        let origin = Some(service.pos);
        self.report_unused_workload_keys(service, &kind);
        let kind_name = kind.name();
        let (api_version, name, spec) = match kind {
            Kind::Deployment => {
                let shared_storage =
                    pod.volumes.iter().flatten().any(|v| v.persistent_volume_claim.is_some() || v.host_path.is_some());
                let mut spec = Map::from_iter([
                    ("replicas", Value::from(i64::from(self.replicas(service)))),
                    ("selector", selector()),
                    ("template", template(&pod)),
                ]);
                if let Some(strategy) = self.rollout_strategy(rollout, shared_storage) {
                    spec.insert("strategy", typed(&strategy));
                }
                ("apps/v1", names.workload.clone(), spec)
            }
            Kind::DaemonSet => (
                "apps/v1",
                names.workload.clone(),
                Map::from_iter([("selector", selector()), ("template", template(&pod))]),
            ),
            Kind::StatefulSet => {
                let claims = self.claim_templates(service, &mut pod);
                let mut spec = Map::from_iter([
                    ("replicas", Value::from(i64::from(self.replicas(service)))),
                    ("selector", selector()),
                    ("serviceName", Value::from(names.workload.as_str())),
                    ("template", template(&pod)),
                ]);
                if !claims.is_empty() {
                    spec.insert("volumeClaimTemplates", typed(&claims));
                }
                let name = self.short_workload_name(
                    service,
                    "StatefulSet",
                    &names.workload,
                    super::names::stateful_set_name(&names.workload),
                    ", so that its pods' `controller-revision-hash` label fits",
                );
                ("apps/v1", name, spec)
            }
            Kind::Pod(policy) => {
                pod.restart_policy = Some(policy.into());
                let mut labels = workload_labels;
                labels.extend(template_labels.clone());
                let object = Map::from_iter([
                    ("apiVersion", Value::from("v1")),
                    ("kind", Value::from("Pod")),
                    ("metadata", meta_value(&names.workload, labels, template_annotations.clone())),
                    ("spec", typed(&pod)),
                ]);
                self.add(Object::of_value("Pod", &names.workload, Value::from(object), origin));
                super::autoscaling::autoscaler(self, service, names, kind_name);
                return;
            }
            Kind::CronJob(policy, schedule) => {
                pod.restart_policy = Some(policy.into());
                let concurrency = self.concurrency_policy(service);
                let mut job = Map::from_iter([("template", template(&pod))]);
                if let Some(backoff) = self.backoff_limit(service) {
                    job.insert("backoffLimit", Value::from(i64::from(backoff)));
                }
                let mut spec = Map::from_iter([
                    ("schedule", Value::from(schedule)),
                    ("jobTemplate", Value::from(Map::from_iter([("spec", Value::from(job))]))),
                ]);
                if let Some(concurrency) = concurrency {
                    spec.insert("concurrencyPolicy", Value::from(concurrency));
                }
                let name = self.short_workload_name(
                    service,
                    "CronJob",
                    &names.workload,
                    super::names::cron_job_name(&names.workload),
                    "",
                );
                ("batch/v1", name, spec)
            }
            Kind::Job(policy, global) => {
                pod.restart_policy = Some(policy.into());
                // Swarm's replicated job runs `replicas` tasks to completion, all at once.
                let count = i64::from(if global { 1 } else { self.replicas(service) });
                let mut spec = Map::from_iter([
                    ("completions", Value::from(count)),
                    ("parallelism", Value::from(count)),
                    ("template", template(&pod)),
                ]);
                if let Some(backoff) = self.backoff_limit(service) {
                    spec.insert("backoffLimit", Value::from(i64::from(backoff)));
                }
                ("batch/v1", names.workload.clone(), spec)
            }
        };
        let object = Map::from_iter([
            ("apiVersion", Value::from(api_version)),
            ("kind", Value::from(kind_name)),
            ("metadata", meta_value(&name, workload_labels, annotations)),
            ("spec", Value::from(spec)),
        ]);
        self.add(Object::of_value(kind_name, &name, Value::from(object), origin));
        super::autoscaling::autoscaler(self, service, names, kind_name);
    }

    /// K209 for each set of services that depend on the same services at the same place.
    pub(crate) fn depends_on_notes(&mut self) {
        for ((pos, deps, tasks), services) in std::mem::take(&mut self.depends_on_notes) {
            let deps: Vec<&str> = deps.split('\n').collect();
            let tasks: Vec<&str> = tasks.split('\n').filter(|t| !t.is_empty()).collect();
            let (who, restarts, does, its) = match services.as_slice() {
                [one] => (format!("`{one}` depends"), format!("`{one}`"), format!("`{one}` does"), "its"),
                many => (format!("{} depend", crate::diag::name_list(many)), "them".into(), "they do".into(), "their"),
            };
            let tasks_note = match tasks.as_slice() {
                [] => String::new(),
                [one] => format!("; `{one}` runs once, and {does} not wait for it to finish"),
                many => format!("; {} run once, and {does} not wait for them to finish", crate::diag::name_list(many)),
            };
            self.warn(
                Code::DependsOn,
                pos,
                format!(
                    "{who} on {}: Kubernetes starts all pods at once and restarts {restarts} until {its} dependencies answer{tasks_note}",
                    crate::diag::name_list(&deps),
                ),
                None,
            );
        }
    }

    /// A service's `annotations`, for its pod; keys the API server refuses are left out.
    fn pod_annotations(&mut self, service: &Service) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (key, value) in &service.annotations {
            if names::is_qualified_name(key) {
                out.insert(key.clone(), value.value.clone());
            } else {
                let subject = format!("annotation `{}`", super::labels::shorten(key));
                super::labels::not_an_annotation_key(self, &subject, value.pos);
            }
        }
        out
    }

    /// `volumes_from`: the volumes of the named services (and of the services they take
    /// volumes from) mounted at the same paths, as Compose mounts them: claims and
    /// ConfigMaps are shared by name; a path the service mounts itself keeps its own volume.
    /// Memory-backed and node-local volumes (tmpfs, emptyDir, hostPath) hold nothing the
    /// other pod could see, so they are not taken.
    fn volumes_from(
        &mut self,
        service: &Service,
        all: &BTreeMap<String, ServiceNames>,
        container: &mut Container,
        volumes: &mut Vec<k8s_openapi::api::core::v1::Volume>,
    ) {
        let mut visited: Vec<&str> = vec![service.name.as_str()];
        let mut queue: Vec<(&str, bool, crate::diag::Pos)> =
            service.volumes_from.iter().map(|(s, ro)| (s.value.as_str(), *ro, s.pos)).collect();
        while let Some((name, read_only, pos)) = queue.pop() {
            if visited.contains(&name) {
                continue;
            }
            visited.push(name);
            let (Some(&source), Some(source_names)) = (self.by_name.get(name), all.get(name)) else { continue };
            queue.extend(source.volumes_from.iter().map(|(s, ro)| (s.value.as_str(), read_only || *ro, pos)));
            // The source's own mapping reports its volumes; here they are only mounted again.
            // Outside the group being built, if any: the source names its claims itself.
            let reported = self.diags.0.len();
            let group = self.group_claims.take();
            let mut scratch = Container::default();
            let theirs = storage::mounts(self, source, source_names, &mut scratch);
            self.group_claims = group;
            self.diags.0.truncate(reported);
            let shared: Vec<&k8s_openapi::api::core::v1::Volume> = theirs
                .iter()
                .filter(|v| v.persistent_volume_claim.is_some() || v.config_map.is_some() || v.secret.is_some())
                .collect();
            let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
            for mut mount in scratch.volume_mounts.into_iter().flatten() {
                let Some(volume) = shared.iter().find(|v| v.name == mount.name) else { continue };
                if mounts.iter().any(|m| m.mount_path == mount.mount_path) {
                    continue;
                }
                if self
                    .template_claims
                    .contains(volume.persistent_volume_claim.as_ref().map_or("", |c| c.claim_name.as_str()))
                {
                    self.warn(
                        Code::NotConverted,
                        pos,
                        format!("`volumes_from: {name}`: `{}` is not shared: `{name}` runs as a StatefulSet, whose claims belong to its own pods", mount.mount_path),
                        None,
                    );
                    continue;
                }
                if read_only {
                    mount.read_only = Some(true);
                }
                mounts.push(mount);
                if !volumes.iter().any(|v| v.name == volume.name) {
                    volumes.push((*volume).clone());
                }
            }
            // Members of one group share a pod: nothing to say.
            let same_pod = all.get(service.name.as_str()).is_some_and(|n| n.workload == source_names.workload);
            if let Some(claim) = shared.iter().find_map(|v| v.persistent_volume_claim.as_ref()).filter(|_| !same_pod) {
                self.warn(
                    Code::SharedVolume,
                    pos,
                    format!(
                        "`{}` mounts the claims of `{name}` (`volumes_from`), such as `{}`: both pods must run on one node while the claims are ReadWriteOnce",
                        service.name, claim.claim_name
                    ),
                    Some("use a storage class with ReadWriteMany access, or keep the two services in one pod (`--service-group-mode`)".into()),
                );
            }
        }
    }

    /// `--wait-for-dependencies`: one init container per dependency that waits until the
    /// dependency's Service accepts connections (which, for a Service, means a ready pod).
    fn wait_for_dependencies(&mut self, service: &Service, all: &BTreeMap<String, ServiceNames>, pod: &mut PodSpec) {
        for dep in &service.depends_on {
            let Some(&target) = self.by_name.get(dep.value.as_str()) else { continue };
            if target.provider {
                continue;
            }
            if super::runs_once(target) {
                self.warn(
                    Code::NoServiceDns,
                    dep.pos,
                    format!(
                        "`{}` cannot wait for `{}` to finish: `{}` runs once and has no Service to wait on",
                        service.name, dep.value, dep.value
                    ),
                    Some("make the service retry until what the task prepares is there".into()),
                );
                continue;
            }
            let port = target
                .ports
                .iter()
                .filter(|p| p.protocol == "tcp")
                .map(|p| p.published.as_deref().and_then(|x| x.parse::<u16>().ok()).unwrap_or(p.target))
                .chain(target.expose.iter().filter(|e| e.protocol == "tcp").map(|e| e.port))
                .next();
            let Some(port) = port else {
                self.warn(
                    Code::NoServiceDns,
                    dep.pos,
                    format!("`{}` cannot wait for `{}`: it declares no TCP port", service.name, dep.value),
                    None,
                );
                continue;
            };
            let own_workload = all.get(&service.name).map(|n| n.workload.as_str());
            if own_workload.is_some_and(|w| all[&target.name].workload == w) {
                // In the same pod: its Service has no ready pod until the wait is over.
                self.warn(
                    Code::DependsOn,
                    dep.pos,
                    format!(
                        "`{}` does not wait for `{}`: they run in one pod, which would wait for itself forever",
                        service.name, dep.value
                    ),
                    None,
                );
                continue;
            }
            // Its pods are ready when they start, not when the healthcheck passes, unless the
            // healthcheck is the readiness probe.
            let checked = target.healthcheck.as_ref().is_some_and(|h| h.test.runs());
            if checked
                && !self.options.healthcheck_probe.readiness()
                && self.unready_dependencies.insert(target.name.clone())
            {
                self.warn(
                    Code::DependsOn,
                    dep.pos,
                    format!(
                        "`{}` waits until `{}` accepts connections, not until its healthcheck passes: the healthcheck is only its liveness probe",
                        service.name, dep.value
                    ),
                    Some("pass `--healthcheck-probe readiness` (or `both`): pods then become ready, and reachable, when the healthcheck passes".into()),
                );
            }
            let host = &all[&target.name].object;
            let name = super::storage::derived("wait-for", host);
            // Grouped services may wait for the same dependency: one init container each.
            if pod.init_containers.iter().flatten().any(|c| c.name == name) {
                continue;
            }
            let script = format!("until nc -z -w 2 {host} {port}; do echo waiting for {host}:{port}; sleep 2; done");
            pod.init_containers.get_or_insert_with(Vec::new).push(Container {
                name,
                image: Some(WAIT_IMAGE.into()),
                command: Some(vec!["sh".into(), "-c".into(), script]),
                ..Container::default()
            });
        }
    }

    /// How many times Compose restarts a failed container before it gives up, where that was
    /// written, and how: `deploy.restart_policy.max_attempts`, else the `N` of the restart
    /// policy `on-failure:N` (0 for both means no limit). A count that is not a whole number
    /// is an error, as Docker refuses it.
    fn restart_attempts(&mut self, service: &Service) -> Option<(i64, crate::diag::Pos, String)> {
        if let Some(m) = &service.restart_max_attempts {
            return Some((m.value, m.pos, format!("deploy.restart_policy.max_attempts: {}", m.value)));
        }
        let restart = service.restart_condition.as_ref().or(service.restart.as_ref())?;
        let count = restart.value.strip_prefix("on-failure:")?;
        match count.parse::<i64>() {
            Ok(n) if n >= 0 => Some((n, restart.pos, format!("restart: {}", restart.value))),
            _ => {
                self.diags.push(
                    crate::diag::Diagnostic::at(
                        Code::InvalidValue,
                        restart.pos,
                        format!("`restart: {}`: the retry count must be a whole number", restart.value),
                    )
                    .with_help("write `on-failure` or `on-failure:N`, with N the number of retries"),
                );
                None
            }
        }
    }

    /// Keys the chosen workload kind has no place for.
    fn report_unused_workload_keys(&mut self, service: &Service, kind: &Kind) {
        let kind_name = kind.name();
        if !matches!(kind, Kind::Job(..) | Kind::CronJob(..)) {
            if let Some((_, pos, written)) = self.restart_attempts(service) {
                self.warn(
                    Code::NotConverted,
                    pos,
                    format!(
                        "the retry limit of `{written}` is not converted: a {kind_name} restarts failed containers without limit, with Kubernetes' back-off"
                    ),
                    Some("for a task that runs to completion with limited retries, use `deploy.mode: replicated-job`: it becomes a Job with a `backoffLimit`".into()),
                );
            }
        }
        if let (Some(uc), "DaemonSet" | "StatefulSet" | "Pod" | "CronJob" | "Job") = (&service.update_config, kind_name)
        {
            self.warn(
                Code::NotConverted,
                uc.pos,
                format!("`deploy.update_config` is not converted for a {kind_name}"),
                None,
            );
        }
        if let (Some(r), "DaemonSet" | "Pod" | "CronJob") = (&service.replicas, kind_name) {
            self.warn(
                Code::NotConverted,
                r.pos,
                format!(
                    "`replicas` is not converted: a {kind_name} runs {}",
                    if kind_name == "DaemonSet" { "one pod per node" } else { "one pod" }
                ),
                None,
            );
        }
        if service.global && kind_name != "DaemonSet" {
            self.warn(
                Code::NotConverted,
                service.pos,
                format!("`deploy.mode: global` is not converted: `{}` runs as a {kind_name}, as asked", service.name),
                None,
            );
        }
        if let (Some(label), "Pod" | "CronJob" | "Job") = (labels::get(service, "kompose.controller.type"), kind_name) {
            self.warn(
                Code::NotConverted,
                label.pos,
                format!("`kompose.controller.type` is not used: the service does not keep running, so it becomes a {kind_name}"),
                None,
            );
        }
    }

    /// How a Deployment replaces its pods. Claims and host paths force `Recreate` (two pods
    /// must not hold one ReadWriteOnce claim or write one node directory at once), never mixed
    /// with rollingUpdate settings. Other volumes get `Recreate` too, as Kompose does and as
    /// Compose replaces a container (stop, then start), unless `deploy.update_config` asks for
    /// a rolling update. Without volumes, `update_config` → RollingUpdate.
    fn rollout_strategy(&mut self, rollout: Rollout, shared_storage: bool) -> Option<DeploymentStrategy> {
        let recreate = || Some(DeploymentStrategy { type_: Some("Recreate".into()), ..DeploymentStrategy::default() });
        if shared_storage {
            if let Some(uc) = rollout.update_config {
                self.warn(
                    Code::NotConverted,
                    uc.pos,
                    "`deploy.update_config` is not converted: a service with a persistent volume or a host path is updated with `Recreate`, so two pods never write one volume at once".into(),
                    None,
                );
            }
            return recreate();
        }
        let Some(uc) = rollout.update_config else {
            return if rollout.volumes { recreate() } else { None };
        };
        let parallelism = uc.parallelism.filter(|p| *p > 0).unwrap_or(1).min(i64::from(i32::MAX)) as i32;
        let (surge, unavailable) = match uc.order.as_deref() {
            Some("start-first") => (parallelism, 0),
            _ => (0, parallelism),
        };
        Some(DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::Int(surge)),
                max_unavailable: Some(IntOrString::Int(unavailable)),
            }),
        })
    }

    fn concurrency_policy(&mut self, service: &Service) -> Option<String> {
        let label = labels::get(service, "kompose.cronjob.concurrency_policy")?;
        match label.value.as_str() {
            "Allow" | "Forbid" | "Replace" => Some(label.value.clone()),
            other => {
                self.diags.push(crate::diag::Diagnostic::at(
                    Code::KomposeLabel,
                    label.pos,
                    format!("`kompose.cronjob.concurrency_policy: {other}` must be Allow, Forbid or Replace"),
                ));
                None
            }
        }
    }

    /// A Job's `backoffLimit`: the `kompose.cronjob.backoff_limit` label, else how often
    /// Compose would restart a failed container (`deploy.restart_policy.max_attempts`, or
    /// `restart: on-failure:N`). Compose's 0 means "never give up", which a Job cannot say.
    fn backoff_limit(&mut self, service: &Service) -> Option<i32> {
        let Some(label) = labels::get(service, "kompose.cronjob.backoff_limit") else {
            let (attempts, pos, written) = self.restart_attempts(service)?;
            if attempts == 0 {
                self.warn(
                    Code::NotConverted,
                    pos,
                    format!("`{written}` retries without limit, which a Job cannot: it gives up after Kubernetes' default of 6 retries"),
                    Some("set `kompose.cronjob.backoff_limit` to the number of retries the Job may make".into()),
                );
                return None;
            }
            return Some(attempts.min(i64::from(i32::MAX)) as i32);
        };
        match label.value.parse::<i32>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                self.diags.push(crate::diag::Diagnostic::at(
                    Code::KomposeLabel,
                    label.pos,
                    format!("`kompose.cronjob.backoff_limit: {}` must be a whole number", label.value),
                ));
                None
            }
        }
    }

    fn invalid_schedule(&mut self, schedule: &crate::compose::Spanned<String>) {
        self.diags.push(
            crate::diag::Diagnostic::at(
                Code::KomposeLabel,
                schedule.pos,
                format!("`kompose.cronjob.schedule: {}` is not a cron schedule", schedule.value),
            )
            .with_help("write five fields (`*/5 * * * *`) or a macro such as `@hourly`"),
        );
    }

    /// A service in a job mode runs to completion: a Job, or a CronJob with a schedule. Its
    /// pods are restarted when they fail (Swarm's default for jobs) or never (`restart: no`).
    fn job_kind(
        &mut self,
        service: &Service,
        job: &crate::compose::Spanned<bool>,
        policy: Option<(&str, crate::diag::Pos)>,
        schedule: Option<&crate::compose::Spanned<String>>,
    ) -> Kind {
        let policy = match (policy, policy.and_then(|(p, _)| super::run_once_policy(p))) {
            (_, Some(once)) => once,
            (None | Some(("", _)), None) => "OnFailure",
            (Some((p @ ("always" | "any" | "unless-stopped"), pos)), None) => {
                self.warn(
                    Code::RestartPolicy,
                    pos,
                    format!("`restart: {p}` does not apply to a job: its pods are restarted only when they fail"),
                    None,
                );
                "OnFailure"
            }
            (Some((other, pos)), None) => {
                self.diags.push(
                    crate::diag::Diagnostic::at(Code::InvalidValue, pos, format!("unknown restart policy `{other}`"))
                        .with_help("use `no`, `always`, `on-failure` or `unless-stopped`"),
                );
                "OnFailure"
            }
        };
        if job.value {
            self.warn(
                Code::NotConverted,
                job.pos,
                format!(
                    "`deploy.mode: global-job` runs once on every node; `{}` becomes a Job that runs once in the cluster",
                    service.name
                ),
                Some("Kubernetes has no run-once-per-node workload: run a DaemonSet, or one Job per node".into()),
            );
        }
        if let Some(schedule) = schedule {
            if valid_schedule(&schedule.value) {
                return Kind::CronJob(policy, schedule.value.clone());
            }
            self.invalid_schedule(schedule);
        }
        Kind::Job(policy, job.value)
    }

    fn workload_kind(&mut self, service: &Service) -> Kind {
        let restart = service.restart_condition.as_ref().or(service.restart.as_ref());
        let policy = restart.map(|r| (r.value.as_str(), r.pos));
        let schedule = labels::get(service, "kompose.cronjob.schedule");
        if let Some(job) = &service.job {
            return self.job_kind(service, job, policy, schedule);
        }
        let run_once = match (policy, policy.and_then(|(p, _)| super::run_once_policy(p))) {
            (_, Some(once)) => Some(once),
            (None | Some(("always" | "any" | "", _)), None) => None,
            (Some(("unless-stopped", pos)), None) => {
                self.warn(
                    Code::RestartPolicy,
                    pos,
                    "`unless-stopped` becomes `Always`: Kubernetes restarts containers until the workload is deleted"
                        .into(),
                    None,
                );
                None
            }
            (Some((other, pos)), None) => {
                self.diags.push(
                    crate::diag::Diagnostic::at(Code::InvalidValue, pos, format!("unknown restart policy `{other}`"))
                        .with_help("use `no`, `always`, `on-failure` or `unless-stopped`"),
                );
                None
            }
        };
        if let (Some(policy), Some(schedule)) = (run_once, schedule) {
            if valid_schedule(&schedule.value) {
                return Kind::CronJob(policy, schedule.value.clone());
            }
            self.invalid_schedule(schedule);
            return Kind::Pod(policy);
        } else if let Some(schedule) = schedule {
            self.warn(
                Code::NotConverted,
                schedule.pos,
                "`kompose.cronjob.schedule` applies only to services with `restart: \"no\"` or `on-failure`; this one keeps running".into(),
                None,
            );
        }
        if let (None, Some(by)) = (restart, &service.awaited_by) {
            // Compose runs a service without `restart` once; one that others wait on to
            // complete is a task, which a Deployment would start again and again.
            self.warn(
                Code::RestartPolicy,
                by.pos,
                format!(
                    "`{}` waits for `{}` to complete, and `{}` has no `restart`: it runs once, as a Pod with `restartPolicy: Never`",
                    by.value, service.name, service.name
                ),
                None,
            );
            if schedule.is_none() {
                return Kind::Pod("Never");
            }
        }
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
        if let Some(label) = labels::get(service, "kompose.controller.type") {
            match label.value.to_ascii_lowercase().as_str() {
                "deployment" => return Kind::Deployment,
                "daemonset" => return Kind::DaemonSet,
                "statefulset" => return Kind::StatefulSet,
                other => self.diags.push(crate::diag::Diagnostic::at(
                    Code::KomposeLabel,
                    label.pos,
                    format!("`kompose.controller.type: {other}` must be deployment, daemonset or statefulset"),
                )),
            }
        }
        match self.options.controller {
            Some(Controller::DaemonSet) => Kind::DaemonSet,
            Some(Controller::Deployment) => Kind::Deployment,
            Some(Controller::StatefulSet) => Kind::StatefulSet,
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
        for p in service.ports.iter().filter(|p| p.target == 0) {
            self.diags.push(crate::diag::Diagnostic::at(
                Code::InvalidValue,
                p.pos,
                "container port 0 is not valid in Kubernetes (ports are 1-65535)",
            ));
        }
        for e in service.expose.iter().filter(|e| e.port == 0) {
            self.diags.push(crate::diag::Diagnostic::at(
                Code::InvalidValue,
                e.pos,
                "exposed port 0 is not valid in Kubernetes (ports are 1-65535)",
            ));
        }
        let mut ports: Vec<ContainerPort> = Vec::new();
        let host_ports = labels::get(service, "kompose.controller.port.expose")
            .is_some_and(|l| l.value.eq_ignore_ascii_case("true"));
        for p in service.ports.iter().filter(|_| host_ports) {
            let host_port = labels::host_port(service, p);
            ports.push(ContainerPort {
                container_port: i32::from(p.target),
                protocol: Some(p.protocol.to_ascii_uppercase()),
                host_port,
                host_ip: p.host_ip.clone().filter(|_| host_port.is_some()),
                ..ContainerPort::default()
            });
        }
        let all = service
            .ports
            .iter()
            .map(|p| (p.target, p.protocol.as_str()))
            .chain(service.expose.iter().map(|e| (e.port, e.protocol.as_str())));
        // Numbers and protocols listed so far: a range can add tens of thousands.
        let mut listed: foldhash::HashSet<(i32, String)> =
            ports.iter().map(|p| (p.container_port, p.protocol.clone().unwrap_or_default())).collect();
        for (port, protocol) in all.filter(|(port, _)| *port != 0) {
            let protocol = protocol.to_ascii_uppercase();
            if listed.insert((i32::from(port), protocol.clone())) {
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
        self.device_requests(service, &mut container.resources);
        let hook = |hooks: &[crate::compose::Spanned<Vec<String>>]| -> Option<LifecycleHandler> {
            let command = match hooks {
                [] => return None,
                [one] => one.value.clone(),
                // Several hooks run in order, as Compose runs them; Kubernetes has one handler.
                many => {
                    let script: Vec<String> = many
                        .iter()
                        .map(|h| h.value.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" "))
                        .collect();
                    vec!["sh".into(), "-c".into(), script.join(" && ")]
                }
            };
            Some(LifecycleHandler { exec: Some(ExecAction { command: Some(command) }), ..LifecycleHandler::default() })
        };
        let (post_start, pre_stop) = (hook(&service.post_start), hook(&service.pre_stop));
        if post_start.is_some() || pre_stop.is_some() {
            container.lifecycle = Some(Lifecycle { post_start, pre_stop, ..Lifecycle::default() });
        }
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
            // `root` is user and group 0 in every image; other names need the image's files.
            let id = |name: &str| if name == "root" { Ok(0) } else { name.parse::<i64>() };
            match (id(uid), gid.map(id)) {
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
            (!list.is_empty()).then(|| list.iter().map(|c| capability(c)).collect())
        };
        if !service.cap_add.is_empty() || !service.cap_drop.is_empty() {
            sc.capabilities = Some(Capabilities { add: cap(&service.cap_add), drop: cap(&service.cap_drop) });
        }
        for opt in &service.security_opt {
            self.security_opt(service, opt, &mut sc);
        }
        (sc != SecurityContext::default()).then_some(sc)
    }

    /// `name`, the workload's name cut to what its kind allows, with info K208 when it is
    /// not the name the service's other objects have (`wanted`).
    fn short_workload_name(&mut self, service: &Service, kind: &str, wanted: &str, name: String, why: &str) -> String {
        if name != wanted {
            self.diags.push(crate::diag::Diagnostic::at(
                Code::Renamed,
                service.pos,
                format!(
                    "the {kind} of `{}` is named `{name}`: a {kind} name has at most 52 characters{why}",
                    service.name
                ),
            ));
        }
        name
    }

    /// GPU requests into the limit `nvidia.com/gpu`, the extended resource of NVIDIA's device
    /// plugin (a pod asks for a number of GPUs; the scheduler picks which), or K201.
    fn device_requests(&mut self, service: &Service, resources: &mut Option<ResourceRequirements>) {
        let mut gpus = 0i64;
        for request in &service.device_requests {
            let gpu = request.capabilities.is_empty() || request.capabilities.iter().any(|c| c == "gpu");
            let driver = request.driver.as_deref().unwrap_or("nvidia");
            if !gpu || !driver.eq_ignore_ascii_case("nvidia") {
                let what = if gpu {
                    format!("GPUs of driver `{driver}`")
                } else {
                    format!("devices with capabilities `{}`", request.capabilities.join(", "))
                };
                self.warn(
                    Code::NotConverted,
                    request.pos,
                    format!(
                        "the request for {what} is not converted: kompile converts NVIDIA GPUs only (`nvidia.com/gpu`)"
                    ),
                    Some(
                        "request your vendor's extended resource (e.g. `amd.com/gpu`) in the container's limits".into(),
                    ),
                );
                continue;
            }
            match &request.count {
                DeviceCount::Count(n) => gpus = gpus.saturating_add(*n),
                DeviceCount::Ids(ids) => {
                    gpus = gpus.saturating_add(ids.len() as i64);
                    self.warn(
                        Code::NotConverted,
                        request.pos,
                        format!(
                            "the GPU IDs `{}` are not converted: Kubernetes picks a pod's GPUs itself; the container asks for {} GPU(s)",
                            ids.join(", "),
                            ids.len()
                        ),
                        None,
                    );
                }
                DeviceCount::All => {
                    gpus = gpus.saturating_add(1);
                    self.warn(
                        Code::NotConverted,
                        request.pos,
                        "a request for all GPUs is converted to one: a Kubernetes pod asks for a number of GPUs, not for all of a node's".into(),
                        Some("set `count` to the number of GPUs the service needs".into()),
                    );
                }
            }
        }
        if gpus > 0 {
            let limits =
                resources.get_or_insert_with(ResourceRequirements::default).limits.get_or_insert_with(BTreeMap::new);
            limits.insert("nvidia.com/gpu".to_string(), Quantity(gpus.to_string()));
        }
    }

    /// One `security_opt` entry into the container's security context, or K201.
    fn security_opt(&mut self, service: &Service, opt: &Spanned<SecurityOpt>, sc: &mut SecurityContext) {
        let profile = |kind: &str, name: Option<&str>| (kind.to_string(), name.map(str::to_string));
        let not_converted = |what: String, why: &str| format!("`security_opt: {what}` is not converted: {why}");
        let (message, help) = match &opt.value {
            SecurityOpt::NoNewPrivileges(false) => return,
            SecurityOpt::NoNewPrivileges(true) => {
                let sys_admin = service.cap_add.iter().any(|c| capability(c) == "SYS_ADMIN");
                if !service.privileged && !sys_admin {
                    sc.allow_privilege_escalation = Some(false);
                    return;
                }
                (
                    not_converted(
                        "no-new-privileges".into(),
                        "Kubernetes refuses `allowPrivilegeEscalation: false` for a privileged container or one given `SYS_ADMIN`",
                    ),
                    None,
                )
            }
            SecurityOpt::Seccomp(value) => {
                let (type_, localhost_profile) = match value.as_str() {
                    "unconfined" => profile("Unconfined", None),
                    "builtin" => profile("RuntimeDefault", None),
                    file => {
                        self.warn(
                            Code::NotConverted,
                            opt.pos,
                            not_converted(format!("seccomp={file}"), "a custom seccomp profile must be installed on every node"),
                            Some("copy the profile into the kubelet's seccomp directory on each node and set `seccompProfile: {type: Localhost, localhostProfile: <file>}`".into()),
                        );
                        return;
                    }
                };
                sc.seccomp_profile = Some(SeccompProfile { type_, localhost_profile });
                return;
            }
            SecurityOpt::AppArmor(value) => {
                // A named profile must be loaded on each node, as it must be on the Docker host.
                let (type_, localhost_profile) = match value.as_str() {
                    "unconfined" => profile("Unconfined", None),
                    "docker-default" | "runtime/default" => profile("RuntimeDefault", None),
                    name => profile("Localhost", Some(name)),
                };
                sc.app_armor_profile = Some(AppArmorProfile { type_, localhost_profile });
                return;
            }
            SecurityOpt::Label(value) => {
                let se_linux = sc.se_linux_options.get_or_insert_with(SELinuxOptions::default);
                let slot = match value.split_once(':') {
                    Some(("user", v)) if !v.is_empty() => Some((&mut se_linux.user, v)),
                    Some(("role", v)) if !v.is_empty() => Some((&mut se_linux.role, v)),
                    Some(("type", v)) if !v.is_empty() => Some((&mut se_linux.type_, v)),
                    Some(("level", v)) if !v.is_empty() => Some((&mut se_linux.level, v)),
                    _ => None,
                };
                if let Some((slot, v)) = slot {
                    *slot = Some(v.to_string());
                    return;
                }
                if *se_linux == SELinuxOptions::default() {
                    sc.se_linux_options = None;
                }
                let help = (value == "disable").then(|| {
                    "Kubernetes cannot turn SELinux labelling off for one container; `seLinuxOptions: {type: spc_t}` is the nearest setting".to_string()
                });
                (
                    not_converted(
                        format!("label={value}"),
                        "Kubernetes sets only an SELinux user, role, type and level",
                    ),
                    help,
                )
            }
            SecurityOpt::Other(text) => {
                let key = text.split(['=', ':']).next().unwrap_or_default();
                match key {
                    "systempaths" => (
                        not_converted(text.clone(), "Kubernetes has no such security setting"),
                        Some("Kubernetes unmasks /proc with `procMount: Unmasked`, which needs a pod with `hostUsers: false`".into()),
                    ),
                    "writable-cgroups" => (not_converted(text.clone(), "Kubernetes has no such security setting"), None),
                    "no-new-privileges" => (not_converted(text.clone(), "its value must be `true` or `false`"), None),
                    _ => (
                        not_converted(text.clone(), "it is not a security option Docker knows"),
                        Some("Docker reads `no-new-privileges`, `seccomp=`, `apparmor=`, `label=`, `systempaths=` and `writable-cgroups=`".into()),
                    ),
                }
            }
        };
        self.warn(Code::NotConverted, opt.pos, message, help);
    }
}

/// A Linux capability as Kubernetes names it: upper case, without the `CAP_` prefix that
/// Docker accepts (`cap_net_admin`, `CAP_NET_ADMIN` and `net_admin` are all `NET_ADMIN`); the
/// container runtime adds the prefix again, so a kept one would name `CAP_CAP_NET_ADMIN`.
fn capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").map(str::to_string).unwrap_or(upper)
}

/// A cron schedule Kubernetes accepts: five fields, or a macro.
fn valid_schedule(text: &str) -> bool {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("@every ") {
        // Go's duration units only: Compose's `d` and `w` are not among them.
        let rest = rest.trim();
        return !rest.contains(['d', 'w']) && crate::compose::parse_duration(rest).is_ok_and(|ns| ns > 0);
    }
    if t.starts_with('@') {
        return matches!(t, "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly");
    }
    // A `TZ=` or `CRON_TZ=` prefix is refused by the API server; five fields with ranges.
    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let fields: Vec<&str> = t.split_whitespace().collect();
    let limits: [(u32, u32, &[&str], bool); 5] =
        [(0, 59, &[], false), (0, 23, &[], false), (1, 31, &[], true), (1, 12, &MONTHS, false), (0, 7, &DAYS, true)];
    if fields.len() != 5 {
        return false;
    }
    let value = |text: &str, (lo, hi, names, _): (u32, u32, &[&str], bool)| -> Option<u32> {
        if let Ok(n) = text.parse::<u32>() {
            return (lo..=hi).contains(&n).then_some(n);
        }
        names.iter().position(|n| n.eq_ignore_ascii_case(text)).map(|i| i as u32 + lo)
    };
    fields.iter().zip(limits).all(|(field, limit)| {
        field.split(',').all(|part| {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            if step.is_some_and(|s| !s.parse::<u32>().is_ok_and(|n| n > 0)) {
                return false;
            }
            match range {
                // robfig/cron, the API server's parser, reads `?` as `*` in every field.
                "*" | "?" => true,
                // The API server's cron parser refuses a range that runs backwards (`5-1`).
                r => match r.split_once('-') {
                    Some((a, b)) => matches!((value(a, limit), value(b, limit)), (Some(a), Some(b)) if a <= b),
                    None => value(r, limit).is_some(),
                },
            }
        })
    })
}

/// One shell word: kept as is when safe, otherwise in single quotes.
fn shell_quote(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
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
        let mut text = milli.to_string();
        text.push('m');
        Quantity(text)
    }
}

/// Bytes as a quantity in the largest binary unit that divides them (`10Mi`, `1Gi`).
pub fn memory_quantity(bytes: i64) -> Quantity {
    for (unit, size) in [("Ti", 1i64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes != 0 && bytes % size == 0 {
            let mut text = (bytes / size).to_string();
            text.push_str(unit);
            return Quantity(text);
        }
    }
    Quantity(bytes.to_string())
}

fn resources(service: &Service) -> Option<ResourceRequirements> {
    let side = |r: &crate::compose::Resources| -> Option<BTreeMap<String, Quantity>> {
        let mut map = BTreeMap::new();
        // 0 is Docker's "no limit" (and "no reservation").
        if let Some(c) = r.cpus.as_ref().filter(|c| c.value > 0.0) {
            map.insert("cpu".to_string(), cpu_quantity(c.value));
        }
        if let Some(m) = r.memory.as_ref().filter(|m| m.value > 0) {
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
    for (host, written, pos) in &service.extra_hosts {
        let Some(ip) = super::names::api_ip(written) else {
            mapper.warn(
                Code::NotConverted,
                *pos,
                format!(
                    "`extra_hosts` entry `{host}` → `{written}` is not converted: a pod's host aliases need an IP address"
                ),
                None,
            );
            continue;
        };
        if !super::names::is_dns1123_subdomain(host) {
            mapper.warn(
                Code::NotConverted,
                *pos,
                format!(
                    "`extra_hosts` entry `{host}` is not converted: a pod's host alias must be a lowercase DNS name (letters, digits, `-` and `.`)"
                ),
                None,
            );
            continue;
        }
        match aliases.iter_mut().find(|a| a.ip == ip) {
            Some(alias) => alias.hostnames.get_or_insert_with(Vec::new).push(host.clone()),
            None => aliases.push(HostAlias { ip, hostnames: Some(vec![host.clone()]) }),
        }
    }
    aliases
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodTemplateSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    #[test]
    fn envelope_values_are_the_typed_objects() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let pod = PodSpec {
            containers: vec![Container { name: "web".into(), ..Container::default() }],
            ..PodSpec::default()
        };
        let long = "x".repeat(40);
        for (labels, annotations) in [
            (map(&[(crate::k8s::SERVICE_LABEL, "web")]), None),
            (map(&[(crate::k8s::SERVICE_LABEL, "web"), ("app", &long), ("a.b/c", "")]), Some(map(&[("note", "yes")]))),
            (map(&[]), Some(map(&[]))),
        ] {
            let meta = ObjectMeta {
                name: Some("web".into()),
                labels: Some(labels.clone()),
                annotations: annotations.clone(),
                ..ObjectMeta::default()
            };
            // Equal values, entries in the same order: the same output.
            assert_eq!(meta_value("web", labels.clone(), annotations.clone()), typed(&meta));
            let template = PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    annotations: annotations.clone(),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod.clone()),
            };
            assert_eq!(template_value(&labels, annotations.as_ref(), typed(&pod)), typed(&template));
            let selector = LabelSelector { match_labels: Some(labels.clone()), ..LabelSelector::default() };
            assert_eq!(selector_value(&labels), typed(&selector));
        }
    }

    #[test]
    fn cron_schedules() {
        for ok in [
            "*/5 * * * *",
            "0 3 * * MON-FRI",
            "15 2 1 JAN *",
            "@hourly",
            "@every 5m",
            "@every 1h30m",
            "0 0 ? * 0",
            "? * * * *",
        ] {
            assert!(valid_schedule(ok), "{ok}");
        }
        for bad in
            ["99 * * * *", "x y z w v", "* * * *", "@often", "*/0 * * * *", "0 24 * * *", "@every 1d", "@every 2w"]
        {
            assert!(!valid_schedule(bad), "{bad}");
        }
    }

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
