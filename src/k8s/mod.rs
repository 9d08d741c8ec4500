//! The mapper: a resolved Compose [`Project`] in, Kubernetes objects out.
//!
//! Built with the typed k8s-openapi structs (Kubernetes 1.33 API, feature `v1_33`), then
//! serialised to JSON values, which is all the validator and the emitter see. This module
//! never sees raw Compose YAML: only the model in `compose::model`. Names are decided once
//! per service ([`ServiceNames`]) and reused for every object and every reference.

mod autoscaling;
mod env;
mod ingress;
mod labels;
pub mod names;
mod network;
mod pod;
mod policy;
mod probes;
mod reach;
mod storage;
pub mod validate;
mod workload;

use crate::compose::{Project, Service};
use crate::diag::{Code, Diagnostic, Diagnostics, Pos};
use crate::value::Value;
use std::collections::BTreeMap;
use std::hash::BuildHasher as _;

pub use storage::is_storage_size;
pub use validate::validate;

/// The label every object of a service carries, and the one selectors use. Kept from Kompose
/// so that objects a migrating user already applied keep matching (selectors are immutable).
pub const SERVICE_LABEL: &str = "io.kompose.service";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VolumeStrategy {
    #[default]
    PersistentVolumeClaim,
    EmptyDir,
    HostPath,
    ConfigMap,
}

impl VolumeStrategy {
    pub fn parse(text: &str) -> Option<VolumeStrategy> {
        Some(match text {
            "persistentVolumeClaim" => VolumeStrategy::PersistentVolumeClaim,
            "emptyDir" => VolumeStrategy::EmptyDir,
            "hostPath" => VolumeStrategy::HostPath,
            "configMap" => VolumeStrategy::ConfigMap,
            _ => return None,
        })
    }
}

/// `--service-group-mode`: several services in one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupMode {
    /// Services sharing a `kompose.service.group` label.
    Label,
    /// Services with identical volume lists.
    Volume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Deployment,
    DaemonSet,
    StatefulSet,
}

/// Which probes a Compose `healthcheck` becomes (`--healthcheck-probe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthcheckProbe {
    /// The liveness probe, as Kompose does: the kubelet restarts a container that fails it.
    #[default]
    Liveness,
    /// The readiness probe: a failing pod gets no traffic and is not restarted, as Docker
    /// treats an unhealthy container (and `depends_on: condition: service_healthy` waits for it).
    Readiness,
    /// Both probes.
    Both,
}

impl HealthcheckProbe {
    pub fn liveness(self) -> bool {
        self != HealthcheckProbe::Readiness
    }

    pub fn readiness(self) -> bool {
        self != HealthcheckProbe::Liveness
    }
}

/// What the mapper needs beyond the project: the converter's own choices.
#[derive(Debug, Clone)]
pub struct MapOptions {
    /// `--replicas`: overrides `deploy.replicas` when set.
    pub replicas: Option<i32>,
    /// Default PVC request when no label sets one.
    pub pvc_request_size: String,
    pub namespace: Option<String>,
    pub volumes: VolumeStrategy,
    /// `--controller`: the workload kind for every long-running service.
    pub controller: Option<Controller>,
    /// The project directory as an absolute path, for `hostPath` volumes only.
    pub project_dir: String,
    /// `--secret-env`: environment variables whose names look secret go into a Secret.
    pub secret_env: bool,
    pub group_mode: Option<GroupMode>,
    /// `--generate-network-policies`.
    pub network_policies: bool,
    /// `--wait-for-dependencies`: init containers wait for each dependency's Service.
    pub wait_for_dependencies: bool,
    /// `--service-group-name` for volume grouping.
    pub group_name: Option<String>,
    /// `--recommended-labels`: Kubernetes' recommended `app.kubernetes.io/*` labels on every
    /// object's metadata (never on selectors).
    pub recommended_labels: bool,
    /// `--healthcheck-probe`.
    pub healthcheck_probe: HealthcheckProbe,
}

impl Default for MapOptions {
    fn default() -> MapOptions {
        MapOptions {
            replicas: None,
            pvc_request_size: "100Mi".into(),
            namespace: None,
            volumes: VolumeStrategy::default(),
            controller: None,
            project_dir: String::new(),
            secret_env: false,
            group_mode: None,
            network_policies: false,
            wait_for_dependencies: false,
            group_name: None,
            recommended_labels: false,
            healthcheck_probe: HealthcheckProbe::default(),
        }
    }
}

/// One Kubernetes object, ready to validate and emit.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub kind: String,
    pub name: String,
    pub value: Value,
    /// Where in the compose files this object comes from, for validation messages.
    pub origin: Option<Pos>,
    /// Holds secret material (written with restrictive file permissions).
    pub secret: bool,
    /// [`Object::size`], once worked out. A change to `value` after it was measured goes
    /// through [`Object::value_mut`], which forgets it.
    pub size: Size,
}

/// An object's [`Value::measure`] (nodes, bytes of text), kept once worked out: the mapper
/// measures each object as it adds it, while the object is still in the processor's cache;
/// the validator checks the bytes against what a cluster stores, and the writer splits the
/// objects into pieces of equal work by it. Never part of equality.
#[derive(Clone, Debug, Default)]
pub struct Size(std::sync::OnceLock<(usize, usize)>);

impl PartialEq for Size {
    fn eq(&self, _: &Size) -> bool {
        true
    }
}

impl Object {
    pub fn new<T: serde::Serialize>(kind: &str, name: &str, object: &T, origin: Option<Pos>) -> Object {
        let value = Value::from_serialize(object).expect("Kubernetes objects have string keys only");
        Object::of_value(kind, name, value, origin)
    }

    /// An object of a value already built.
    pub fn of_value(kind: &str, name: &str, value: Value, origin: Option<Pos>) -> Object {
        Object {
            kind: kind.to_string(),
            name: name.to_string(),
            value,
            origin,
            secret: kind == "Secret",
            size: Size::default(),
        }
    }

    /// The value's nodes and bytes of text ([`Value::measure`]), worked out once.
    pub fn size(&self) -> (usize, usize) {
        *self.size.0.get_or_init(|| self.value.measure())
    }

    /// Roughly how much work writing or checking this object takes: [`Value::weight_of`] its size.
    pub fn weight(&self) -> usize {
        Value::weight_of(self.size())
    }

    /// The value, to change: its size is measured again when next asked for.
    pub fn value_mut(&mut self) -> &mut Value {
        self.size = Size::default();
        &mut self.value
    }
}

/// The order objects are emitted in: the order `kubectl apply` and Helm install them, so that
/// namespaces, then ConfigMaps/Secrets/claims exist before the workloads that use them.
pub const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Service",
    "DaemonSet",
    "Pod",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
];

pub fn kind_rank(kind: &str) -> usize {
    KIND_ORDER.iter().position(|k| *k == kind).unwrap_or(KIND_ORDER.len())
}

/// The names one Compose service's objects use.
#[derive(Debug, Clone)]
pub struct ServiceNames {
    /// The Service, derived objects and (by default) the container.
    pub object: String,
    /// The workload: the same as `object`, or the group's name when services are grouped.
    pub workload: String,
    /// The `io.kompose.service` label value of the pods: the workload's name.
    pub label: String,
}

/// The places in [`Mapper::objects`] of the objects with one hash of kind and name: nearly
/// always one, held without a list of its own.
#[derive(Debug, Clone)]
pub(crate) enum Positions {
    One(usize),
    Many(Vec<usize>),
}

impl Positions {
    fn as_slice(&self) -> &[usize] {
        match self {
            Positions::One(i) => std::slice::from_ref(i),
            Positions::Many(list) => list,
        }
    }

    fn push(&mut self, position: usize) {
        match self {
            Positions::One(first) => *self = Positions::Many(vec![*first, position]),
            Positions::Many(list) => list.push(position),
        }
    }

    /// Remove the `at`th place; `None` when it was the last one.
    fn without(self, at: usize) -> Option<Positions> {
        match self {
            Positions::One(_) => None,
            Positions::Many(mut list) => {
                list.remove(at);
                (!list.is_empty()).then_some(Positions::Many(list))
            }
        }
    }

    fn shifted(self, by: usize) -> Positions {
        match self {
            Positions::One(i) => Positions::One(i + by),
            Positions::Many(list) => Positions::Many(list.into_iter().map(|i| i + by).collect()),
        }
    }
}

/// Per-run mapping state: objects built so far, and the diagnostics.
pub(crate) struct Mapper<'a> {
    pub project: &'a Project,
    pub options: &'a MapOptions,
    pub objects: Vec<Object>,
    pub diags: Diagnostics,
    /// Secrets and ConfigMaps that live outside the output (`external: true`).
    pub external: Vec<(String, String)>,
    /// Named-volume claims that became a StatefulSet's `volumeClaimTemplates`.
    pub template_claims: std::collections::BTreeSet<String>,
    /// The workload each service runs in (its own, or its group's).
    /// Shared with the lanes (see [`Mapper::lane`]), never changed after names are made.
    pub workloads: std::sync::Arc<BTreeMap<String, String>>,
    /// Positions in `objects` by a hash of kind and name, so adding stays linear in large
    /// projects without copying names into keys.
    pub index: foldhash::HashMap<u64, Positions>,
    /// The hasher of `index`.
    pub hasher: foldhash::fast::RandomState,
    /// Services by name.
    pub by_name: foldhash::HashMap<&'a str, &'a Service>,
    /// For each service name, the services naming it in `depends_on` or `links`, or by a
    /// name that resolves to it in their environment ([`reach`]), in order.
    pub referrers: foldhash::HashMap<&'a str, Vec<&'a str>>,
    /// For each service name, the references to it by its `container_name` (which only a
    /// Service of that name can resolve in the cluster).
    pub container_refs: foldhash::HashMap<&'a str, Vec<reach::Reference<'a>>>,
    /// For each service name, the references to it that name a port (K221).
    pub port_refs: foldhash::HashMap<&'a str, Vec<reach::Reference<'a>>>,
    /// For each named volume, how many services mount it.
    pub volume_users: foldhash::HashMap<&'a str, usize>,
    /// While a group's members are mapped: the group's name and the host paths of its
    /// members' bind mounts that became claims, so that members mounting one host path share
    /// one claim (`<group>-claim<i>`), as their containers share the directory in Compose.
    pub group_claims: Option<GroupClaims>,
    /// For each host path (normalised) that becomes a claim, the services that bind-mount it
    /// (in project order): they share one claim, as their containers share the directory in
    /// Compose.
    pub host_claim_users: foldhash::HashMap<String, Vec<String>>,
    /// The claim made for each such host path, the service that made it, and its size and
    /// storage class.
    pub host_claims: foldhash::HashMap<String, (String, String, String, Option<String>)>,
    /// Those of the claims above that several services mount: a StatefulSet keeps them shared
    /// instead of making them its own pods' claims.
    pub shared_host_claims: foldhash::HashSet<String>,
    /// The env-file ConfigMaps made so far: a file several services read is one ConfigMap,
    /// whose problems (K215, keys it cannot hold) are reported once.
    pub reported_env_files: foldhash::HashSet<String>,
    /// Dependencies whose healthcheck `--wait-for-dependencies` does not wait for (a note
    /// once per dependency).
    pub unready_dependencies: foldhash::HashSet<String>,
    /// K209 notes to give when mapping ends: per `depends_on` position, the services it
    /// lists (and those of them that run once), the services that depend on them.
    pub depends_on_notes: indexmap::IndexMap<(Pos, String, String), Vec<String>>,
    /// Whether an object's name holds the project name (K220).
    pub uses_project_name: std::cell::Cell<bool>,
    /// Named volumes by the name of their claim (several when names collide), made on first
    /// use: only StatefulSets need it.
    claim_volumes: std::sync::OnceLock<foldhash::HashMap<String, Vec<&'a str>>>,
}

impl<'a> Mapper<'a> {
    /// Add an object unless an identical one is already there (a shared env file, a shared
    /// volume); two different objects with one name are reported by the validator.
    pub fn add(&mut self, object: Object) {
        let key = self.hasher.hash_one((&object.kind, &object.name));
        let same = self.index.get(&key).is_some_and(|positions| {
            positions
                .as_slice()
                .iter()
                .map(|&i| &self.objects[i])
                .any(|o| o.kind == object.kind && o.name == object.name && o.value == object.value)
        });
        if !same {
            let position = self.objects.len();
            match self.index.get_mut(&key) {
                Some(positions) => positions.push(position),
                None => {
                    self.index.insert(key, Positions::One(position));
                }
            }
            // Measured now, while its memory is fresh in the cache (see `Size`).
            object.size();
            self.objects.push(object);
        }
    }

    /// Whether an object of this kind and name, with other contents, has been added.
    pub fn differs(&self, object: &Object) -> bool {
        let key = self.hasher.hash_one((&object.kind, &object.name));
        self.index.get(&key).is_some_and(|positions| {
            positions
                .as_slice()
                .iter()
                .map(|&i| &self.objects[i])
                .any(|o| o.kind == object.kind && o.name == object.name && o.value != object.value)
        })
    }

    /// Remove the first object of this kind and name. Its place keeps an empty object (no
    /// kind), dropped when mapping ends, so that other positions stay valid.
    /// Whether an object of this kind and name has been added.
    pub fn has(&self, kind: &str, name: &str) -> bool {
        let key = self.hasher.hash_one((kind, name));
        self.index.get(&key).is_some_and(|positions| {
            positions.as_slice().iter().any(|&i| self.objects[i].kind == kind && self.objects[i].name == name)
        })
    }

    pub fn take(&mut self, kind: &str, name: &str) -> Option<Object> {
        let key = self.hasher.hash_one((kind, name));
        let positions = self.index.get(&key)?;
        let at =
            positions.as_slice().iter().position(|&i| self.objects[i].kind == kind && self.objects[i].name == name)?;
        let position = positions.as_slice()[at];
        let positions = self.index.remove(&key)?;
        if let Some(rest) = positions.without(at) {
            self.index.insert(key, rest);
        }
        let removed = Object::of_value("", "", Value::Null, None);
        Some(std::mem::replace(&mut self.objects[position], removed))
    }

    /// [`Mapper::claim_volumes`]'s table.
    pub fn claim_volumes(&self) -> &foldhash::HashMap<String, Vec<&'a str>> {
        self.claim_volumes.get_or_init(|| {
            let mut table: foldhash::HashMap<String, Vec<&str>> = Default::default();
            for name in self.project.volumes.keys() {
                table.entry(names::volume_label(name, "volume")).or_default().push(name);
            }
            table
        })
    }

    /// A mapper with nothing worked out or made yet.
    fn new(project: &'a Project, options: &'a MapOptions) -> Mapper<'a> {
        Mapper {
            project,
            options,
            objects: Vec::new(),
            diags: Diagnostics::default(),
            external: Vec::new(),
            template_claims: Default::default(),
            group_claims: None,
            host_claim_users: Default::default(),
            host_claims: Default::default(),
            shared_host_claims: Default::default(),
            reported_env_files: Default::default(),
            unready_dependencies: Default::default(),
            depends_on_notes: Default::default(),
            index: Default::default(),
            hasher: Default::default(),
            workloads: Default::default(),
            by_name: Default::default(),
            referrers: Default::default(),
            container_refs: Default::default(),
            port_refs: Default::default(),
            uses_project_name: Default::default(),
            volume_users: Default::default(),
            claim_volumes: Default::default(),
        }
    }

    /// Whether the services of `singles` can be mapped in two lanes, `..half` and `half..`,
    /// each into a mapper of its own, with the result of mapping them all in one: nothing
    /// one lane does may depend on what the other made. What services share through the
    /// mapper is an env file's ConfigMap (made once, its problems reported once), a host
    /// path's claim, an alias Service, the claims a StatefulSet takes over, the notes about
    /// dependencies `--wait-for-dependencies` does not wait for, and the claims of groups;
    /// a project with any of these across the lanes is mapped in one.
    fn lanes_allowed(
        &self,
        singles: &[&Service],
        half: usize,
        names: &BTreeMap<String, ServiceNames>,
        groups: &BTreeMap<String, Vec<&Service>>,
    ) -> bool {
        if !groups.is_empty()
            || self.options.wait_for_dependencies
            || self.options.controller == Some(Controller::StatefulSet)
            || !self.container_refs.is_empty()
        {
            return false;
        }
        let statefulset = |s: &Service| {
            labels::get(s, "kompose.controller.type").is_some_and(|l| l.value.eq_ignore_ascii_case("statefulset"))
        };
        if singles.iter().any(|s| statefulset(s) || !s.network_aliases.is_empty()) {
            return false;
        }
        // The ConfigMaps each lane may make of env files, under their own names or a
        // service's (when another service's values differ).
        let config_maps = |lane: &[&Service]| -> foldhash::HashSet<String> {
            let mut made = foldhash::HashSet::default();
            for service in lane {
                let object = &names[&service.name].object;
                for file in &service.env_files {
                    let name = names::env_file_configmap(&file.path, object);
                    made.insert(storage::derived(object, &name));
                    made.insert(name);
                }
            }
            made
        };
        let (first, second) = singles.split_at(half);
        let first_maps = config_maps(first);
        if !first_maps.is_empty() && config_maps(second).iter().any(|name| first_maps.contains(name)) {
            return false;
        }
        let lane: foldhash::HashMap<&str, bool> =
            singles.iter().enumerate().map(|(i, s)| (s.name.as_str(), i >= half)).collect();
        !self.host_claim_users.values().any(|users| {
            let mut sides = users.iter().filter_map(|u| lane.get(u.as_str()));
            sides.next().is_some_and(|first| sides.any(|side| side != first))
        })
    }

    /// A mapper for a second lane (see [`Mapper::lanes_allowed`]): what was worked out
    /// about the whole project before mapping, and nothing made yet.
    pub(crate) fn lane(&self) -> Mapper<'a> {
        Mapper {
            host_claim_users: self.host_claim_users.clone(),
            workloads: std::sync::Arc::clone(&self.workloads),
            by_name: self.by_name.clone(),
            referrers: self.referrers.clone(),
            container_refs: self.container_refs.clone(),
            port_refs: self.port_refs.clone(),
            uses_project_name: self.uses_project_name.clone(),
            volume_users: self.volume_users.clone(),
            // The same keys for the same objects, so that `absorb` can take the lane's index.
            hasher: self.hasher.clone(),
            ..Mapper::new(self.project, self.options)
        }
    }

    /// Take in what a second lane made, after everything this mapper made, as if its
    /// services had been mapped here next.
    pub(crate) fn absorb(&mut self, lane: Mapper<'a>) {
        if lane.index.keys().any(|key| self.index.contains_key(key)) {
            // An object of the lane may be one made here already: add them one by one.
            for object in lane.objects.into_iter().filter(|o| !o.kind.is_empty()) {
                self.add(object);
            }
        } else {
            // The usual case: the lane's objects, and its index, move over behind these. Its
            // empty places (taken objects) come along; mapping drops them at its end.
            let offset = self.objects.len();
            self.index.extend(lane.index.into_iter().map(|(key, positions)| (key, positions.shifted(offset))));
            self.objects.extend(lane.objects);
        }
        self.diags.0.extend(lane.diags.0);
        self.external.extend(lane.external);
        self.template_claims.extend(lane.template_claims);
        self.host_claims.extend(lane.host_claims);
        self.shared_host_claims.extend(lane.shared_host_claims);
        self.reported_env_files.extend(lane.reported_env_files);
        self.unready_dependencies.extend(lane.unready_dependencies);
        for (key, services) in lane.depends_on_notes {
            self.depends_on_notes.entry(key).or_default().extend(services);
        }
        if lane.uses_project_name.get() {
            self.uses_project_name.set(true);
        }
    }

    pub fn warn(&mut self, code: Code, pos: Pos, message: String, help: Option<String>) {
        let mut d = Diagnostic::at(code, pos, message);
        if let Some(help) = help {
            d = d.with_help(help);
        }
        self.diags.push(d);
    }
}

/// The claims a group's members share for missing host paths.
pub(crate) struct GroupClaims {
    /// The start of their names: `<group>-claim`, or `<group>-shared` when a member has the
    /// group's name (its own anonymous volumes are `<member>-claim<i>`).
    pub prefix: String,
    /// Per claim: the host path (normalised), its size and storage class, and the member
    /// that created it.
    pub claims: Vec<(String, String, Option<String>, String)>,
}

/// The result of mapping: objects in emit order, plus the names of external objects the
/// validator should accept references to.
pub struct Mapped {
    pub objects: Vec<Object>,
    pub external: Vec<(String, String)>,
}

/// Map a project to Kubernetes objects.
pub fn map<'p>(project: &'p Project, options: &MapOptions) -> (Mapped, Diagnostics) {
    let mut mapper = Mapper::new(project, options);
    // The names of every object and the groups of services are worked out on a second
    // thread for a large project, while this one counts which services mount what. (The
    // first large allocation here after the parsed tree was freed costs the most: this
    // thread then tidies the allocator's lists of small free blocks.) Then both scan the
    // services' environments for the names they reach, in chunks, whichever thread is free
    // taking the next; what is found is recorded in service order after.
    let reachable = std::sync::OnceLock::new();
    let services: Vec<&Service> = project.services.iter().map(|s| &**s).collect();
    let scan = crate::par::Chunks::new(&services, 64);
    let reach = |service: &&'p Service| reached(service, reachable.get_or_init(|| reach::Names::new(project)));
    let ((names, groups, names_diags, by_name, workloads, some), others) = crate::par::join(
        project.services.len() >= crate::par::LARGE,
        || {
            let by_name: foldhash::HashMap<&str, &Service> =
                project.services.iter().map(|s| (s.name.as_str(), &**s)).collect();
            let mut diags = Diagnostics::default();
            let mut names = service_names(project, &mut diags);
            let groups = groups(project, options, &by_name, &mut names, &mut diags);
            let workloads: BTreeMap<String, String> =
                names.iter().map(|(k, v)| (k.clone(), v.workload.clone())).collect();
            (names, groups, diags, by_name, workloads, scan.take(reach))
        },
        || {
            shared(&mut mapper);
            scan.take(reach)
        },
    );
    record_reached(&mut mapper, scan.merge([others, some]));
    mapper.by_name = by_name;
    mapper.diags.0.extend(names_diags.0);
    // A key several services take from one place (a YAML anchor, an `x-` block merged with
    // `<<`) is reported once there, naming every service's path.
    let mut not_converted: indexmap::IndexMap<_, (Vec<&str>, Option<&str>)> = indexmap::IndexMap::new();
    for nc in &project.not_converted {
        let entry = not_converted.entry((nc.pos, nc.reason)).or_insert_with(|| (Vec::new(), nc.help));
        entry.0.push(nc.path.as_str());
    }
    for ((pos, reason), (paths, help)) in not_converted {
        let verb = if paths.len() == 1 { "is" } else { "are" };
        // A key path is quoted; a description that quotes its own parts is not.
        let shown: Vec<String> =
            paths.iter().map(|p| if p.contains('`') { p.to_string() } else { format!("`{p}`") }).collect();
        let mut d = Diagnostic::at(
            Code::NotConverted,
            pos,
            format!("{} {verb} not converted: {reason}", crate::diag::list(&shown)),
        );
        if let Some(help) = help {
            d = d.with_help(help);
        }
        mapper.diags.push(d);
    }
    mapper.workloads = std::sync::Arc::new(workloads);
    let grouped: foldhash::HashSet<&str> = groups.values().flatten().map(|member| member.name.as_str()).collect();
    // A provider service runs no container: K201 on its `provider` key says so.
    let singles: Vec<&Service> =
        project.services.iter().map(|s| &**s).filter(|s| !grouped.contains(s.name.as_str()) && !s.provider).collect();
    let half = singles.len() / 2;
    if singles.len() >= crate::par::LARGE
        && !crate::par::sequential()
        && mapper.lanes_allowed(&singles, half, &names, &groups)
    {
        // Two lanes: the second half of the services is mapped on a second thread, into a
        // mapper of its own, whose objects and findings then join this one's in order.
        let (first, second) = singles.split_at(half);
        let lane = mapper.lane();
        let names = &names;
        let (lane, ()) = crate::par::join(
            true,
            move || {
                let mut lane = lane;
                for service in second {
                    lane.map_service(service, &names[&service.name], names);
                }
                lane
            },
            || {
                for service in first {
                    mapper.map_service(service, &names[&service.name], names);
                }
            },
        );
        mapper.absorb(lane);
    } else {
        for service in singles {
            mapper.map_service(service, &names[&service.name], &names);
        }
    }
    for (group, members) in &groups {
        let group_names = ServiceNames { object: group.clone(), workload: group.clone(), label: group.clone() };
        mapper.map_group(members, &group_names, &names);
    }
    mapper.depends_on_notes();
    storage::map_top_level(&mut mapper);
    policy::policies(&mut mapper);
    if let Some(ns) = &options.namespace {
        namespace(&mut mapper, ns);
    }
    let mut uses = Vec::new();
    if mapper.uses_project_name.get() {
        uses.push("NetworkPolicy names and network labels");
    }
    if options.recommended_labels {
        labels::recommended(&mut mapper.objects, &project.name);
        uses.push("the `app.kubernetes.io/part-of` label");
    }
    if project.name_from_directory && !uses.is_empty() {
        mapper.diags.push(
            Diagnostic::new(
                Code::DirectoryProjectName,
                None,
                format!(
                    "the project name `{}` comes from the directory's name and is part of the output ({}): a checkout in a directory of another name converts differently",
                    project.name,
                    uses.join(", ")
                ),
            )
            .with_help("set `name:` in the compose file, or pass `-p NAME`"),
        );
    }
    let Mapper { objects, diags, external, .. } = mapper;
    (Mapped { objects: sorted(objects), external }, diags)
}

/// The objects in output order: by kind (in [`KIND_ORDER`], then by name of kind), then by
/// name; stable. Objects without a kind are dropped.
///
/// What is sorted is a small key per object (the kind's rank, the name's first 16 bytes and
/// the object's place), so that most comparisons read no string on the heap; the objects
/// are then put in their places by swaps within their list.
fn sorted(objects: Vec<Object>) -> Vec<Object> {
    let mut objects: Vec<Object> = objects.into_iter().filter(|o| !o.kind.is_empty()).collect();
    let prefix = |name: &str| {
        let mut bytes = [0u8; 16];
        let n = name.len().min(16);
        bytes[..n].copy_from_slice(&name.as_bytes()[..n]);
        u128::from_be_bytes(bytes)
    };
    let keys: Vec<(usize, u128, usize)> =
        objects.iter().enumerate().map(|(i, o)| (kind_rank(&o.kind), prefix(&o.name), i)).collect();
    let keys = crate::par::sort_by(keys, |&(ra, pa, ia), &(rb, pb, ib)| {
        // Equal prefixes (and kinds past the known ones) need the strings themselves.
        let (a, b) = (&objects[ia], &objects[ib]);
        ra.cmp(&rb)
            .then_with(|| if ra == KIND_ORDER.len() { a.kind.cmp(&b.kind) } else { std::cmp::Ordering::Equal })
            .then_with(|| pa.cmp(&pb))
            .then_with(|| if pa == pb { a.name.cmp(&b.name) } else { std::cmp::Ordering::Equal })
    });
    let mut from: Vec<usize> = keys.into_iter().map(|(_, _, i)| i).collect();
    permute(&mut objects, &mut from);
    objects
}

/// Put `items[from[j]]` at `j` for every `j`, in place: each cycle of the permutation is
/// followed once, by swaps (no second list of the items, whose memory would be new). `from`
/// is left as the identity.
fn permute<T>(items: &mut [T], from: &mut [usize]) {
    for start in 0..items.len() {
        let mut at = start;
        while from[at] != start {
            let next = from[at];
            items.swap(at, next);
            from[at] = at;
            at = next;
        }
        from[at] = at;
    }
}

/// For each service: the named volumes and host paths it mounts.
fn shared(mapper: &mut Mapper) {
    for service in &mapper.project.services {
        let mut sources: Vec<&str> = service.volumes.iter().filter_map(|m| m.source.as_deref()).collect();
        sources.sort_unstable();
        sources.dedup();
        for source in sources {
            *mapper.volume_users.entry(source).or_default() += 1;
        }
        let mut host_paths: Vec<String> = service
            .volumes
            .iter()
            .filter(|m| {
                m.kind == crate::compose::MountType::Bind
                    && matches!(m.host, crate::compose::HostPath::Missing | crate::compose::HostPath::Outside)
            })
            .filter_map(|m| m.source.as_deref().map(storage::host_key))
            .collect();
        host_paths.sort_unstable();
        host_paths.dedup();
        for path in host_paths {
            mapper.host_claim_users.entry(path).or_default().push(service.name.clone());
        }
    }
}

/// What one service reaches through its environment and command ([`reach`]): the other
/// services, each with how it is named, and the first of Docker's names for its host that
/// no `extra_hosts` entry answers.
#[derive(Default)]
struct Reached<'a> {
    services: Vec<(reach::Reference<'a>, &'a Service, reach::Via)>,
    docker_host: Option<reach::Reference<'a>>,
}

fn reached<'a>(service: &'a Service, reachable: &reach::Names<'a>) -> Reached<'a> {
    let mut out = Reached::default();
    reach::references(service, |reference| {
        if reach::docker_host(reference.name) {
            // `extra_hosts` naming it gives a host alias, or its own K201.
            if out.docker_host.is_none()
                && !service.extra_hosts.iter().any(|(h, _, _)| h.eq_ignore_ascii_case(reference.name))
            {
                out.docker_host = Some(reference);
            }
            return;
        }
        if let Some((target, via)) = reachable.get(reference.name).filter(|(t, _)| t.name != service.name) {
            out.services.push((reference, target, via));
        }
    });
    out
}

/// For each service, in order: the services it names (in `depends_on`, `links` and, as
/// [`reached`] found, its environment and command).
fn record_reached<'a>(mapper: &mut Mapper<'a>, reached: Vec<Reached<'a>>) {
    let project = mapper.project;
    for (service, Reached { services, docker_host }) in project.services.iter().zip(reached) {
        for target in service.depends_on.iter().chain(&service.links) {
            let referrers = mapper.referrers.entry(target.value.as_str()).or_default();
            if referrers.last() != Some(&service.name.as_str()) {
                referrers.push(&service.name);
            }
        }
        for (reference, target, via) in services {
            let referrers = mapper.referrers.entry(target.name.as_str()).or_default();
            // Only this service adds to the lists now: a repeat would be the last entry.
            if referrers.last() != Some(&service.name.as_str()) {
                referrers.push(&service.name);
            }
            if reference.port.is_some() {
                mapper.port_refs.entry(target.name.as_str()).or_default().push(reference.clone());
            }
            if via == reach::Via::ContainerName {
                mapper.container_refs.entry(target.name.as_str()).or_default().push(reference);
            }
        }
        if let Some(reference) = docker_host {
            mapper.warn(
                Code::DockerHostReached,
                reference.pos,
                format!(
                    "`{}` reaches `{}` ({}), the machine Docker runs on: the name does not resolve in a cluster",
                    service.name,
                    reference.name,
                    reference.place()
                ),
                Some("run what it connects to in the cluster and use its Service name, or point the variable at an address the pods can reach (an `ExternalName` Service, or the host's IP)".into()),
            );
        }
    }
}

fn namespace(mapper: &mut Mapper, ns: &str) {
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    for object in &mut mapper.objects {
        if let Some(meta) = object.value_mut().get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace", Value::from(ns));
        }
    }
    let object = Namespace {
        metadata: ObjectMeta { name: Some(ns.to_string()), ..ObjectMeta::default() },
        ..Namespace::default()
    };
    mapper.add(Object::new("Namespace", ns, &object, None));
}

/// Whether a service runs to completion rather than serving: a job mode, or a restart
/// policy of `no` or `on-failure` (a Pod, Job or CronJob).
pub(crate) fn runs_once(service: &crate::compose::Service) -> bool {
    if service.job.is_some() {
        return true;
    }
    let restart = service.restart_condition.as_ref().or(service.restart.as_ref());
    match restart {
        Some(r) => run_once_policy(&r.value).is_some(),
        None => service.awaited_by.is_some(),
    }
}

/// The pod restart policy of a Compose restart policy that does not keep the service
/// running: `no`/`none` → Never, `on-failure[:N]` → OnFailure.
pub(crate) fn run_once_policy(restart: &str) -> Option<&'static str> {
    match restart {
        "no" | "none" => Some("Never"),
        p if p == "on-failure" || p.starts_with("on-failure:") => Some("OnFailure"),
        _ => None,
    }
}

/// Decide every service's Kubernetes name once, reporting renames and collisions.
fn service_names(project: &Project, diags: &mut Diagnostics) -> BTreeMap<String, ServiceNames> {
    // Collected, then built in one go (a sorted bulk build), rather than inserted one by one;
    // which service took a name is only looked up.
    let mut out = Vec::with_capacity(project.services.len());
    let mut taken: foldhash::HashMap<String, &Service> = Default::default();
    for service in &project.services {
        let override_name = service.labels.get("kompose.service.name_override").map(|l| l.value.as_str());
        let object = names::dns_label(override_name.unwrap_or(&service.name), "service");
        if object != service.name && override_name.is_none() {
            diags.push(Diagnostic::at(
                Code::Renamed,
                service.pos,
                format!("service `{}` is named `{object}` in Kubernetes", service.name),
            ));
        }
        if let Some(other) = taken.get(&object) {
            diags.push(
                Diagnostic::at(
                    Code::DuplicateName,
                    service.pos,
                    format!("services `{}` and `{}` both become `{object}` in Kubernetes", other.name, service.name),
                )
                .with_help("rename one of them, or set `kompose.service.name_override` on one"),
            );
        }
        taken.insert(object.clone(), service);
        out.push((service.name.clone(), ServiceNames { workload: object.clone(), label: object.clone(), object }));
    }
    // Service names are unique: no entry replaces another.
    out.into_iter().collect()
}

/// Services that share one workload (`--service-group-mode`), by group name (a valid name),
/// members sorted by name. Member names point their workload and label at the group.
fn groups<'p>(
    project: &'p Project,
    options: &MapOptions,
    by_name: &foldhash::HashMap<&str, &'p Service>,
    names: &mut BTreeMap<String, ServiceNames>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, Vec<&'p Service>> {
    let mut groups: BTreeMap<String, Vec<&Service>> = BTreeMap::new();
    // `network_mode: service:x`: the service runs as another container of x's pod, sharing
    // its network namespace, as in Compose.
    for service in project.services.iter().filter(|s| !s.provider) {
        let Some(mode) = &service.network_mode else { continue };
        let Some(target) = mode.value.strip_prefix("service:") else { continue };
        let Some(&host) = by_name.get(target) else {
            diags.push(Diagnostic::at(
                Code::UndefinedReference,
                mode.pos,
                format!("`network_mode: {}` names a service that is not in the project", mode.value),
            ));
            continue;
        };
        let group = names[&host.name].object.clone();
        let members = groups.entry(group).or_default();
        for member in [host, service] {
            if !members.iter().any(|m| m.name == member.name) {
                members.push(member);
            }
        }
    }
    match options.group_mode {
        None => {}
        Some(GroupMode::Label) => {
            for service in project.services.iter().filter(|s| !s.provider) {
                if let Some(label) = service.labels.get("kompose.service.group") {
                    let group = names::dns_label(&label.value, "group");
                    let members = groups.entry(group).or_default();
                    if !members.iter().any(|m| m.name == service.name) {
                        members.push(service);
                    }
                }
            }
        }
        Some(GroupMode::Volume) => {
            let mut by_volumes: BTreeMap<Vec<String>, Vec<&Service>> = BTreeMap::new();
            // Anonymous volumes are each container's own: only mounts of a named volume or a
            // host path are shared.
            for service in project.services.iter().filter(|s| !s.provider) {
                let key: Vec<String> = service
                    .volumes
                    .iter()
                    .filter(|m| m.source.is_some())
                    .map(|m| format!("{:?}:{}:{}", m.source, m.target, m.read_only))
                    .collect();
                if !key.is_empty() {
                    by_volumes.entry(key).or_default().push(service);
                }
            }
            for members in by_volumes.into_values().filter(|m| m.len() > 1) {
                let joined: Vec<&str> = members.iter().map(|m| names[&m.name].object.as_str()).collect();
                let name = options.group_name.clone().unwrap_or_else(|| joined.join("-"));
                groups.insert(names::dns_label(&name, "group"), members);
            }
        }
    }
    for (group, members) in groups.iter_mut() {
        members.sort_by(|a, b| a.name.cmp(&b.name));
        for member in members.iter() {
            if let Some(n) = names.get_mut(&member.name) {
                n.workload = group.clone();
                n.label = group.clone();
            }
        }
        if let Some(service) = project
            .services
            .iter()
            .find(|s| names[&s.name].object == *group && !members.iter().any(|m| m.name == s.name))
        {
            diags.push(Diagnostic::at(
                Code::DuplicateName,
                service.pos,
                format!("group `{group}` has the name of service `{}`, which is not in the group", service.name),
            ));
        }
    }
    groups
}

/// Labels every object of a service carries.
pub(crate) fn service_labels(names: &ServiceNames) -> BTreeMap<String, String> {
    BTreeMap::from([(SERVICE_LABEL.to_string(), names.label.clone())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str, name: &str, mark: i64) -> Object {
        Object::of_value(kind, name, Value::Int(mark), None)
    }

    #[test]
    fn permute_puts_each_item_where_it_is_asked_for() {
        // Fixed points, a swap, longer cycles, and every permutation of four items.
        let cases: Vec<Vec<usize>> = vec![vec![], vec![0], vec![1, 0], vec![2, 0, 1], vec![1, 2, 0, 4, 3, 5]];
        let mut all = cases;
        for a in 0..4 {
            for b in 0..4 {
                for c in 0..4 {
                    for d in 0..4 {
                        let p = vec![a, b, c, d];
                        let mut seen = p.clone();
                        seen.sort();
                        if seen == [0, 1, 2, 3] {
                            all.push(p);
                        }
                    }
                }
            }
        }
        for p in all {
            let mut items: Vec<String> = (0..p.len()).map(|i| format!("item {i}")).collect();
            let expected: Vec<String> = p.iter().map(|&i| items[i].clone()).collect();
            let mut from = p.clone();
            permute(&mut items, &mut from);
            assert_eq!(items, expected, "{p:?}");
            assert!(from.iter().enumerate().all(|(i, &f)| i == f));
        }
    }

    #[test]
    fn sorted_orders_by_kind_then_name_and_keeps_ties_in_place() {
        // Names that agree in their first 16 bytes or more, names that are prefixes of
        // others, kinds the order does not list, an object without a kind, and ties; in few
        // objects (sorted on one thread) and in enough that the sort runs in two halves.
        let names = ["svc-aaaaaaaaaaaa-long-b", "svc-aaaaaaaaaaaa-long-a", "svc-aaaaaaaaaaaa", "svc", "a", "svc-b"];
        let kinds = ["Service", "Deployment", "Widget", "Gadget", "ConfigMap", ""];
        for count in [40, 3 * crate::par::LARGE] {
            let objects: Vec<Object> =
                (0..count).map(|i| object(kinds[i % kinds.len()], names[(i / 7) % names.len()], i as i64)).collect();
            let mut expected: Vec<Object> = objects.iter().filter(|o| !o.kind.is_empty()).cloned().collect();
            expected
                .sort_by(|a, b| (kind_rank(&a.kind), &a.kind, &a.name).cmp(&(kind_rank(&b.kind), &b.kind, &b.name)));
            let marks = |list: &[Object]| list.iter().map(|o| o.value.clone()).collect::<Vec<_>>();
            assert_eq!(marks(&sorted(objects)), marks(&expected), "{count} objects");
        }
    }
}
