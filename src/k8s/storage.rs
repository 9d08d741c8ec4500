//! Storage: a service's `volumes`, `tmpfs`, `secrets` and `configs` become pod volumes and
//! container mounts, plus the objects behind them: one PersistentVolumeClaim per named volume
//! (shared by its users), `<svc>-claim<i>` for anonymous volumes, `<svc>-cm<i>` ConfigMaps for
//! bind-mounted files and directories, `emptyDir` (memory) for tmpfs, and a Secret or
//! ConfigMap per top-level secret or config, mounted where Compose mounts it.

use super::env::own_labels;
use super::{labels, names, Mapper, Object, ServiceNames, VolumeStrategy};
use crate::compose::{FileRef, FileSource, HostPath, MountType, Service, VolumeDef};
use crate::diag::{Code, Diagnostic, Pos};
use crate::value::{Map, Value};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, HostPathVolumeSource, KeyToPath,
    NFSVolumeSource, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, Secret,
    SecretVolumeSource, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use std::collections::BTreeMap;

fn basename(path: &str) -> &str {
    path.trim_end_matches(['/', '\\']).rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The name a file takes inside a ConfigMap or Secret volume (`items[].path`, which the mount's
/// `subPath` then picks): the target's own name, as Compose shows it; or `key`, which is always
/// a valid name, when the API server would refuse the target's (empty, `.`, `..`, starting with
/// `..`, or holding `:`). The file still appears at the target, through `mountPath`.
fn item_path(target: &str, key: &str) -> String {
    let file = basename(target);
    if file.is_empty() || file == "." || file.starts_with("..") || file.contains(':') {
        key.to_string()
    } else {
        file.to_string()
    }
}

/// Whether `text` is a Kubernetes quantity such as `1Gi`, `500M` or `10`.
/// A claim's storage request: a quantity greater than zero (the API server refuses `0`).
pub fn is_storage_size(text: &str) -> bool {
    is_quantity(text)
        && text.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').any(|b| (b'1'..=b'9').contains(&b))
}

pub fn is_quantity(text: &str) -> bool {
    let number_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    !number.is_empty()
        && number.matches('.').count() <= 1
        && number != "."
        && matches!(suffix, "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "k" | "M" | "G" | "T" | "P" | "E" | "m")
}

/// The value of a quantity in [`is_quantity`]'s form, for comparing two of them (a request
/// against its limit); `None` for any other text.
pub fn quantity_value(text: &str) -> Option<f64> {
    if !is_quantity(text) {
        return None;
    }
    let number_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        binary => 1024f64.powi(["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].iter().position(|s| *s == binary)? as i32 + 1),
    };
    Some(number.parse::<f64>().ok()? * scale)
}

impl Mapper<'_> {
    /// A StatefulSet keeps its own claims: every claim only this service uses becomes a
    /// `volumeClaimTemplate` (one claim per pod) instead of a PersistentVolumeClaim object.
    pub(crate) fn claim_templates(
        &mut self,
        service: &Service,
        pod: &mut k8s_openapi::api::core::v1::PodSpec,
    ) -> Vec<PersistentVolumeClaim> {
        let mut templates = Vec::new();
        let Some(volumes) = pod.volumes.as_mut() else { return templates };
        let project = self.project;
        let mut kept = Vec::new();
        for volume in volumes.drain(..) {
            let Some(claim) = volume.persistent_volume_claim.as_ref().map(|c| c.claim_name.clone()) else {
                kept.push(volume);
                continue;
            };
            // A named volume other services mount stays a shared claim.
            let named: &[&str] = self.claim_volumes().get(&claim).map_or(&[], Vec::as_slice);
            let shared = named.iter().any(|v| self.volume_users.get(v).is_some_and(|users| *users > 1))
                || self.shared_host_claims.contains(&claim);
            let def = named.first().and_then(|v| project.volumes.get_key_value(*v));
            if shared {
                kept.push(volume);
                continue;
            }
            let spec = match self.take("PersistentVolumeClaim", &claim) {
                Some(object) => object
                    .value
                    .get("spec")
                    .and_then(|v| serde_json::to_value(v).ok())
                    .and_then(|v| serde_json::from_value(v).ok()),
                None => {
                    let def_size = def.and_then(|(_, d)| {
                        d.labels.get("kompose.volume.size").map(|v| crate::compose::Spanned::new(v.clone(), d.pos))
                    });
                    let def_size = self.size_label(def_size.as_ref());
                    let (size, class) = self.service_claim_size(service);
                    let class = def.and_then(|(_, d)| volume_class(d)).or(class);
                    self.template_claims.insert(claim.clone());
                    let mut spec = claim_spec(def_size.unwrap_or(size), class);
                    let selector = def.and_then(|(_, d)| d.labels.get("kompose.volume.selector").cloned());
                    if let Some(selector) = selector {
                        spec.selector = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                            match_labels: Some(BTreeMap::from([(super::SERVICE_LABEL.to_string(), selector)])),
                            ..Default::default()
                        });
                    }
                    Some(spec)
                }
            };
            let annotations = match def {
                Some((name, def)) => volume_annotations(self, name, def),
                None => BTreeMap::new(),
            };
            templates.push(PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(volume.name.clone()),
                    annotations: (!annotations.is_empty()).then_some(annotations),
                    ..ObjectMeta::default()
                },
                spec,
                ..PersistentVolumeClaim::default()
            });
        }
        *volumes = kept;
        if volumes.is_empty() {
            pod.volumes = None;
        }
        templates
    }

    fn size_label(&mut self, label: Option<&crate::compose::Spanned<String>>) -> Option<String> {
        let label = label?;
        if is_storage_size(&label.value) {
            Some(label.value.clone())
        } else {
            self.diags.push(
                Diagnostic::at(
                    Code::KomposeLabel,
                    label.pos,
                    format!("`kompose.volume.size: {}` is not a storage size greater than zero", label.value),
                )
                .with_help("write a Kubernetes quantity such as `1Gi` or `500Mi`"),
            );
            None
        }
    }

    /// A claim. Always ReadWriteOnce: a new claim starts empty, so a read-only one could
    /// never receive data (mounts carry `readOnly` instead).
    fn claim(&mut self, name: &str, size: String, storage_class: Option<String>, origin: Option<Pos>) {
        self.add(Object::of_value("PersistentVolumeClaim", name, claim_value(name, size, storage_class), origin));
    }

    fn service_claim_size(&mut self, service: &Service) -> (String, Option<String>) {
        let size = self
            .size_label(labels::get(service, "kompose.volume.size"))
            .unwrap_or_else(|| self.options.pvc_request_size.clone());
        let class = labels::get(service, "kompose.volume.storage-class-name").map(|l| l.value.clone());
        (size, class)
    }

    fn strategy(&mut self, service: &Service) -> VolumeStrategy {
        match labels::get(service, "kompose.volume.type") {
            Some(label) => {
                match VolumeStrategy::parse(&label.value) {
                    Some(s) => s,
                    None => {
                        self.diags.push(Diagnostic::at(
                        Code::KomposeLabel,
                        label.pos,
                        format!("`kompose.volume.type: {}` must be persistentVolumeClaim, emptyDir, hostPath or configMap", label.value),
                    ));
                        self.options.volumes
                    }
                }
            }
            None => self.options.volumes,
        }
    }
}

/// A ReadWriteOnce claim of `size`.
/// The labels of a top-level volume read as `kompose.*` settings of its claim.
const VOLUME_LABELS: &[&str] = &["kompose.volume.selector", "kompose.volume.size", "kompose.volume.storage-class-name"];

/// A top-level volume's `kompose.volume.storage-class-name` label: the claim's storage class
/// (before the using service's label of the same name).
fn volume_class(def: &VolumeDef) -> Option<String> {
    def.labels.get("kompose.volume.storage-class-name").cloned()
}

/// A top-level volume's other labels, as annotations of its claim (the way a service's
/// labels annotate its objects); reports `kompose.*` labels no volume reads and keys the API
/// server would refuse.
fn volume_annotations(mapper: &mut Mapper, name: &str, def: &VolumeDef) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in &def.labels {
        if key.starts_with("kompose.") {
            if !VOLUME_LABELS.contains(&key.as_str()) {
                mapper.warn(
                    Code::NotConverted,
                    def.pos,
                    format!(
                        "label `{key}` of volume `{name}` is not read: a volume's claim reads `{}`",
                        VOLUME_LABELS.join("`, `")
                    ),
                    Some("set other `kompose.*` labels on the services that mount the volume".into()),
                );
            }
        } else if names::is_qualified_name(key) {
            out.insert(key.clone(), value.clone());
        } else {
            let subject = format!("label `{}` of volume `{name}`", labels::shorten(key));
            labels::not_an_annotation_key(mapper, &subject, def.pos);
        }
    }
    out
}

fn claim_spec(size: String, storage_class: Option<String>) -> PersistentVolumeClaimSpec {
    PersistentVolumeClaimSpec {
        access_modes: Some(vec!["ReadWriteOnce".into()]),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([("storage".to_string(), Quantity(size))])),
            ..VolumeResourceRequirements::default()
        }),
        storage_class_name: storage_class,
        ..PersistentVolumeClaimSpec::default()
    }
}

/// A claim object as a value: what the typed `PersistentVolumeClaim` with [`claim_spec`] and
/// [`own_labels`] serialises to (`claim_value_is_the_typed_object` checks this), built
/// directly because a large project has one for every named volume.
fn claim_value(name: &str, size: String, storage_class: Option<String>) -> Value {
    let mut metadata = Map::from_iter([("name", Value::from(name))]);
    // The label `own_labels` gives: when the name is a valid label value.
    if names::is_label_value(name) {
        metadata.insert("labels", Value::from(Map::from_iter([(super::SERVICE_LABEL, Value::from(name))])));
    }
    let requests = Map::from_iter([("storage", Value::from(size))]);
    let mut spec = Map::from_iter([
        ("accessModes", Value::from(vec![Value::from("ReadWriteOnce")])),
        ("resources", Value::from(Map::from_iter([("requests", Value::from(requests))]))),
    ]);
    if let Some(class) = storage_class {
        spec.insert("storageClassName", Value::from(class));
    }
    Value::from(Map::from_iter([
        ("apiVersion", Value::from("v1")),
        ("kind", Value::from("PersistentVolumeClaim")),
        ("metadata", Value::from(metadata)),
        ("spec", Value::from(spec)),
    ]))
}

/// A name derived from a service's name (`web-claim0`): a valid DNS-1123 label even when the
/// service name is long (shortened with a stable hash).
pub(crate) fn derived(svc: &str, suffix: &str) -> String {
    names::volume_label(&format!("{svc}-{suffix}"), suffix)
}

fn empty_dir(name: String, memory: bool) -> Volume {
    Volume {
        name,
        empty_dir: Some(EmptyDirVolumeSource {
            medium: memory.then(|| "Memory".into()),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }
}

fn claim_volume(name: String, claim: String, read_only: bool) -> Volume {
    Volume {
        name,
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim,
            read_only: read_only.then_some(true),
        }),
        ..Volume::default()
    }
}

/// The pod volumes of a service; mounts are added to `container`.
pub(crate) fn mounts(
    mapper: &mut Mapper,
    service: &Service,
    names: &ServiceNames,
    container: &mut Container,
) -> Vec<Volume> {
    let svc = names.object.clone();
    let strategy = mapper.strategy(service);
    let label_subpath = labels::get(service, "kompose.volume.subpath").map(|l| l.value.clone());
    let mut volumes: Vec<Volume> = Vec::new();
    let mut mounts: Vec<VolumeMount> = Vec::new();
    let mut tmpfs_index = 0usize;
    let add_mount =
        |mounts: &mut Vec<VolumeMount>, name: &str, path: &str, read_only: bool, sub_path: Option<String>| {
            mounts.push(VolumeMount {
                name: name.to_string(),
                mount_path: path.to_string(),
                read_only: read_only.then_some(true),
                sub_path,
                ..VolumeMount::default()
            });
        };
    for (tmpfs, size) in &service.tmpfs {
        let name = derived(&svc, &format!("tmpfs{tmpfs_index}"));
        tmpfs_index += 1;
        let mut volume = empty_dir(name, true);
        if let (Some(dir), Some(size)) = (volume.empty_dir.as_mut(), size.filter(|s| *s > 0)) {
            dir.size_limit = Some(super::workload::memory_quantity(size));
        }
        let name = place(&mut volumes, volume);
        add_mount(&mut mounts, &name, &tmpfs.value, false, None);
    }
    for (i, mount) in service.volumes.iter().enumerate() {
        let target = mount.target.clone();
        match (mount.kind, &mount.source) {
            (MountType::Volume, Some(source)) => {
                let name = names::volume_label(source, &format!("{svc}-volume{i}"));
                let volume = match (strategy, nfs_export(mapper, source)) {
                    (VolumeStrategy::EmptyDir, _) => empty_dir(name.clone(), false),
                    (VolumeStrategy::HostPath, _) => {
                        host_path(&name, &format!("{}/{source}", mapper.options.project_dir))
                    }
                    (_, Some(export)) => Volume {
                        name: name.clone(),
                        nfs: Some(NFSVolumeSource {
                            server: export.server.clone(),
                            path: export.path.clone(),
                            read_only: export.read_only.then_some(true),
                        }),
                        ..Volume::default()
                    },
                    _ => claim_volume(name.clone(), name.clone(), mount.read_only),
                };
                let name = place(&mut volumes, volume);
                add_mount(
                    &mut mounts,
                    &name,
                    &target,
                    mount.read_only,
                    mount.subpath.clone().or_else(|| label_subpath.clone()),
                );
            }
            (MountType::Volume, None) => {
                let volume = match strategy {
                    VolumeStrategy::EmptyDir => empty_dir(derived(&svc, &format!("empty{i}")), false),
                    VolumeStrategy::HostPath => empty_dir(derived(&svc, &format!("empty{i}")), false),
                    _ => {
                        let claim = derived(&svc, &format!("claim{i}"));
                        let (size, class) = mapper.service_claim_size(service);
                        mapper.claim(&claim, size, class, Some(mount.pos));
                        claim_volume(claim.clone(), claim, mount.read_only)
                    }
                };
                let name = place(&mut volumes, volume);
                add_mount(
                    &mut mounts,
                    &name,
                    &target,
                    mount.read_only,
                    mount.subpath.clone().or_else(|| label_subpath.clone()),
                );
            }
            (MountType::Bind, Some(source)) => {
                let mounted_before = mounts.len();
                let volume = match strategy {
                    VolumeStrategy::EmptyDir => Some(empty_dir(derived(&svc, &format!("empty{i}")), false)),
                    VolumeStrategy::HostPath => {
                        let path = if source.starts_with('/') {
                            source.clone()
                        } else {
                            format!("{}/{}", mapper.options.project_dir, source.trim_start_matches("./"))
                        };
                        Some(host_path(&derived(&svc, &format!("hostpath{i}")), &path))
                    }
                    _ => bind_volume(mapper, service, &svc, i, mount, source, &mut mounts),
                };
                if let Some(volume) = volume {
                    let wanted = volume.name.clone();
                    // One pod volume per source: a group's shared claim may be mounted twice.
                    let name = place(&mut volumes, volume);
                    // A file shipped in a ConfigMap was mounted by `bind_volume` itself.
                    if mounts.len() == mounted_before {
                        add_mount(&mut mounts, &name, &target, mount.read_only, None);
                    } else {
                        for m in mounts[mounted_before..].iter_mut().filter(|m| m.name == wanted) {
                            m.name = name.clone();
                        }
                    }
                }
            }
            (MountType::Tmpfs, _) => {
                let name = derived(&svc, &format!("tmpfs{tmpfs_index}"));
                tmpfs_index += 1;
                let mut volume = empty_dir(name, true);
                if let (Some(dir), Some(size)) = (volume.empty_dir.as_mut(), mount.tmpfs_size.filter(|s| *s > 0)) {
                    dir.size_limit = Some(super::workload::memory_quantity(size));
                }
                let name = place(&mut volumes, volume);
                add_mount(&mut mounts, &name, &target, mount.read_only, None);
            }
            (kind, _) => {
                let why = match kind {
                    MountType::Npipe => "named pipes exist on Windows hosts only",
                    MountType::Cluster => "cluster volumes belong to Swarm",
                    _ => "image volumes are not enabled by default in Kubernetes 1.33",
                };
                mapper.warn(
                    Code::NotConverted,
                    mount.pos,
                    format!("the `{}` mount of `{}` is not converted: {why}", kind.as_str(), target),
                    Some("ship the files in the container's image, a ConfigMap or a claim instead".into()),
                )
            }
        }
    }
    for (kind, refs) in [("secret", &service.secrets), ("config", &service.configs)] {
        for r in refs {
            if let Some((volume, mut mount)) = file_mount(mapper, kind, r) {
                // The object and the file mode: a second mode needs a volume of its own.
                let source = |v: &Volume| {
                    v.secret
                        .as_ref()
                        .map(|s| ("secret", s.secret_name.clone(), s.default_mode))
                        .or_else(|| v.config_map.as_ref().map(|c| ("config", Some(c.name.clone()), c.default_mode)))
                };
                match volumes.iter_mut().find(|v| v.name == volume.name && source(v) == source(&volume)) {
                    // The same secret or config mounted again under another file name, with
                    // the same mode: one volume, one item per file name.
                    Some(existing) => {
                        let new_items = volume
                            .secret
                            .and_then(|s| s.items)
                            .or_else(|| volume.config_map.and_then(|c| c.items))
                            .unwrap_or_default();
                        // (An empty directory has no items: nothing to add.)
                        let items = match (&mut existing.secret, &mut existing.config_map) {
                            (Some(secret), _) if !new_items.is_empty() => secret.items.get_or_insert_with(Vec::new),
                            (None, Some(config)) if !new_items.is_empty() => config.items.get_or_insert_with(Vec::new),
                            _ => &mut Vec::new(),
                        };
                        for item in new_items {
                            if !items.iter().any(|i| i.path == item.path) {
                                items.push(item);
                            }
                        }
                    }
                    // A new source, perhaps under a name another volume holds (a secret and a
                    // config both called `app`).
                    None => mount.name = place(&mut volumes, volume),
                }
                mounts.push(mount);
            }
        }
    }
    if !mounts.is_empty() {
        container.volume_mounts = Some(mounts);
    }
    volumes
}

/// Add `volume` to a pod's volumes and return the name its mounts use. A volume equal to one
/// already there but for its name is that one (a claim mounted twice). A name another source
/// already holds gets a suffix (`app-2`), so a secret and a config, or a named volume and a
/// tmpfs, that happen to share a name stay two volumes: pod volume names are the pod's own.
fn place(volumes: &mut Vec<Volume>, mut volume: Volume) -> String {
    let unnamed = |v: &Volume| Volume { name: String::new(), ..v.clone() };
    if let Some(same) = volumes.iter().find(|v| v.name == volume.name && unnamed(v) == unnamed(&volume)) {
        return same.name.clone();
    }
    if volumes.iter().any(|v| v.name == volume.name) {
        let base = volume.name.clone();
        let free = (2..).map(|i| derived(&base, &i.to_string())).find(|n| !volumes.iter().any(|v| &v.name == n));
        volume.name = free.expect("some suffix is free");
    }
    let name = volume.name.clone();
    volumes.push(volume);
    name
}

/// The NFS export a named volume mounts, when it mounts one: its pods mount the export
/// directly (every pod, on any node, reads and writes it), and no claim is made for it.
fn nfs_export<'p>(mapper: &Mapper<'p>, source: &str) -> Option<&'p crate::compose::NfsExport> {
    mapper.project.volumes.get(source).and_then(|def| def.nfs.as_ref())
}

fn host_path(name: &str, path: &str) -> Volume {
    Volume {
        name: name.to_string(),
        // The API server refuses `..` in a host path.
        host_path: Some(HostPathVolumeSource {
            path: crate::compose::normalize_path(std::path::Path::new(path)).to_string_lossy().into_owned(),
            type_: None,
        }),
        ..Volume::default()
    }
}

/// ConfigMap data from files: UTF-8 content in `data`, anything else in `binaryData`.
fn file_data(files: &[(String, Vec<u8>)]) -> (BTreeMap<String, String>, BTreeMap<String, ByteString>) {
    let mut data = BTreeMap::new();
    let mut binary = BTreeMap::new();
    for (key, bytes) in files {
        match String::from_utf8(bytes.clone()) {
            Ok(text) => {
                data.insert(key.clone(), text);
            }
            Err(_) => {
                binary.insert(key.clone(), ByteString(bytes.clone()));
            }
        }
    }
    (data, binary)
}

fn config_map(name: &str, files: &[(String, Vec<u8>)]) -> ConfigMap {
    let (data, binary) = file_data(files);
    ConfigMap {
        metadata: ObjectMeta { name: Some(name.to_string()), labels: own_labels(name), ..ObjectMeta::default() },
        data: (!data.is_empty()).then_some(data),
        binary_data: (!binary.is_empty()).then_some(binary),
        ..ConfigMap::default()
    }
}

/// A bind mount in the default strategy: a ConfigMap when the host path holds files, a
/// claim (with a warning) when it is missing.
fn bind_volume(
    mapper: &mut Mapper,
    service: &Service,
    svc: &str,
    i: usize,
    mount: &crate::compose::Mount,
    source: &str,
    mounts: &mut Vec<VolumeMount>,
) -> Option<Volume> {
    match &mount.host {
        HostPath::File(bytes) => {
            let name = derived(svc, &format!("cm{i}"));
            let key = basename(source).to_string();
            if !names::is_config_key(&key) {
                mapper.warn(
                    Code::NotConverted,
                    mount.pos,
                    format!("bind mount of `{source}` is not converted: `{key}` is not a valid ConfigMap key"),
                    Some("rename the file to letters, digits, `-`, `_` and `.`".into()),
                );
                return None;
            }
            let object = config_map(&name, &[(key.clone(), bytes.clone())]);
            mapper.add(Object::new("ConfigMap", &name, &object, Some(mount.pos)));
            // The file appears under the target's name, as the bind mount shows it.
            let file = item_path(&mount.target, &key);
            mounts.push(VolumeMount {
                name: name.clone(),
                mount_path: mount.target.clone(),
                sub_path: Some(file.clone()),
                read_only: mount.read_only.then_some(true),
                ..VolumeMount::default()
            });
            Some(Volume {
                name: name.clone(),
                config_map: Some(ConfigMapVolumeSource {
                    name: name.clone(),
                    items: Some(vec![KeyToPath { key: key.clone(), path: file, mode: None }]),
                    ..ConfigMapVolumeSource::default()
                }),
                ..Volume::default()
            })
        }
        HostPath::Dir(files) => {
            let name = derived(svc, &format!("cm{i}"));
            if let Some((bad, _)) = files.iter().find(|(k, _)| !names::is_config_key(k)) {
                mapper.warn(
                    Code::NotConverted,
                    mount.pos,
                    format!("bind mount of `{source}` is not converted: `{bad}` is not a valid ConfigMap key"),
                    None,
                );
                return None;
            }
            if !mount.read_only {
                mapper.warn(
                    Code::NotConverted,
                    mount.pos,
                    format!("write access to `{source}` is not converted: it becomes a ConfigMap, which the container can only read"),
                    Some("add `:ro` if the container only reads it; for files a service writes, or several services share, use a named volume".into()),
                );
            }
            let object = config_map(&name, files);
            mapper.add(Object::new("ConfigMap", &name, &object, Some(mount.pos)));
            Some(Volume {
                name: name.clone(),
                config_map: Some(ConfigMapVolumeSource { name, ..ConfigMapVolumeSource::default() }),
                ..Volume::default()
            })
        }
        HostPath::Missing | HostPath::Outside => {
            let (size, class) = mapper.service_claim_size(service);
            let (claim, read_only) = match &mut mapper.group_claims {
                // In a group, members mounting one host path share one claim: the first to
                // mount it creates it. The claim volume itself is never read-only (each
                // mount says so for itself), since another member may write.
                Some(group) => {
                    let key = host_key(source);
                    let found = group.claims.iter().position(|(path, ..)| *path == key);
                    let j = found.unwrap_or(group.claims.len());
                    let name = names::volume_label(&format!("{}{j}", group.prefix), "claim");
                    if found.is_some() {
                        let (_, first_size, first_class, owner) = &group.claims[j];
                        if (first_size, first_class) != (&size, &class) {
                            let owner = owner.clone();
                            mapper.warn(
                                Code::NotConverted,
                                mount.pos,
                                format!("the claim size and storage class of `{}` are not applied to `{name}`: it is shared with `{owner}`, whose settings it has", service.name),
                                Some("set the same `kompose.volume.*` labels on every service of the group".into()),
                            );
                        }
                        return Some(claim_volume(name.clone(), name, false));
                    }
                    group.claims.push((key, size.clone(), class.clone(), service.name.clone()));
                    (name, false)
                }
                // Services mounting one host path share one claim: the first to mount it
                // makes it.
                None => {
                    let key = host_key(source);
                    if let Some((claim, owner, first_size, first_class)) = mapper.host_claims.get(&key).cloned() {
                        if owner != service.name && (first_size, first_class) != (size, class) {
                            mapper.warn(
                                Code::NotConverted,
                                mount.pos,
                                format!("the claim size and storage class of `{}` are not applied to `{claim}`: it is shared with `{owner}`, whose settings it has", service.name),
                                Some("set the same `kompose.volume.*` labels on every service that mounts the path".into()),
                            );
                        }
                        // Each mount says for itself whether it is read-only.
                        return Some(claim_volume(claim.clone(), claim, false));
                    }
                    let claim = derived(svc, &format!("claim{i}"));
                    let users = mapper.host_claim_users.get(&key).cloned().unwrap_or_default();
                    let shared = users.len() > 1;
                    if shared {
                        mapper.shared_host_claims.insert(claim.clone());
                    }
                    // Services that run in one pod (`network_mode: service:...`) share it on
                    // their node anyway: said once, naming every service, where the claim is made.
                    let mut workloads: Vec<&str> =
                        users.iter().map(|s| mapper.workloads.get(s).map_or(s.as_str(), String::as_str)).collect();
                    workloads.sort_unstable();
                    workloads.dedup();
                    if workloads.len() > 1 {
                        mapper.warn(
                            Code::SharedVolume,
                            mount.pos,
                            format!("host path `{source}` is mounted by {}: they share the claim `{claim}` that takes its place, which is ReadWriteOnce, so their pods must run on one node", crate::diag::name_list(&users)),
                            Some("use a storage class that supports ReadWriteMany, or mount a named volume".into()),
                        );
                    }
                    let again = service
                        .volumes
                        .iter()
                        .filter(|m| m.kind == MountType::Bind && m.source.as_deref().map(host_key) == Some(key.clone()))
                        .nth(1)
                        .is_some();
                    mapper.host_claims.insert(key, (claim.clone(), service.name.clone(), size.clone(), class.clone()));
                    (claim, mount.read_only && !shared && !again)
                }
            };
            if matches!(mount.host, HostPath::Outside) {
                mapper.warn(
                    Code::BindMountMissing,
                    mount.pos,
                    format!("host path `{source}` is outside the project and not read: an empty PersistentVolumeClaim `{claim}` takes its place"),
                    Some("copy the data into the claim, or use `--volumes hostPath` to mount the node's directory".into()),
                );
            } else {
                mapper.warn(
                    Code::BindMountMissing,
                    mount.pos,
                    format!("host path `{source}` does not exist or is empty: an empty PersistentVolumeClaim `{claim}` takes its place"),
                    Some("create the file or directory before converting to ship its contents in a ConfigMap".into()),
                );
            }
            mapper.claim(&claim, size, class, Some(mount.pos));
            Some(claim_volume(claim.clone(), claim, read_only))
        }
        // The Docker API socket: the service drives Docker (a proxy reading container labels,
        // an updater, a dashboard), which a cluster's nodes do not run.
        HostPath::Unsupported(_) if docker_socket(source) => {
            mapper.warn(
                Code::NotConverted,
                mount.pos,
                format!(
                    "bind mount of `{source}` is not converted: `{}` talks to the Docker daemon, which Kubernetes nodes do not run (their runtime is containerd or CRI-O)",
                    service.name
                ),
                Some("use the tool's Kubernetes mode instead (Traefik's Kubernetes provider, for instance), with a ServiceAccount allowed to read what it needs".into()),
            );
            None
        }
        HostPath::Unsupported(why) => {
            mapper.warn(
                Code::NotConverted,
                mount.pos,
                format!("bind mount of `{source}` is not converted: {why}"),
                Some(
                    "`--volumes hostPath` mounts host paths as they are; otherwise mount the data from a named volume"
                        .into(),
                ),
            );
            None
        }
        HostPath::NotABind => None,
    }
}

/// Whether a host path is the Docker API socket (`/var/run/docker.sock`, a rootless
/// `$XDG_RUNTIME_DIR/docker.sock`, Podman's socket standing in for it).
fn docker_socket(source: &str) -> bool {
    let name = source.rsplit('/').next().unwrap_or(source);
    matches!(name, "docker.sock" | "podman.sock")
}

/// A bind mount's host path as written, normalised enough that `./data`, `data` and
/// `data/` are one path.
pub(crate) fn host_key(source: &str) -> String {
    source.trim_start_matches("./").trim_end_matches('/').to_string()
}

/// A secret or config mounted as one file where Compose puts it.
fn file_mount(mapper: &mut Mapper, kind: &str, r: &FileRef) -> Option<(Volume, VolumeMount)> {
    let project = mapper.project;
    let def = if kind == "secret" { project.secrets.get(&r.source) } else { project.configs.get(&r.source) }?;
    // The pod volume is named after the secret or config; the object it mounts may be an
    // existing one of another name.
    let volume_name = names::volume_label(&r.source, kind);
    let object_name = file_object_name(kind, &r.source, def);
    let entries = file_entries(kind, &r.source, &def.source);
    let default_dir = if kind == "secret" { "/run/secrets/" } else { "/" };
    let target = match &r.target {
        Some(t) if t.starts_with('/') => t.clone(),
        Some(t) => format!("{default_dir}{t}"),
        None => format!("{default_dir}{}", r.source),
    };
    // A directory is mounted whole, each file under its own name, as Compose bind-mounts
    // it; anything else is one file at the target.
    let (items, sub_path) = if let FileSource::Dir { files, .. } = &def.source {
        let items = files.iter().map(|(key, _)| KeyToPath { key: key.clone(), path: key.clone(), mode: None });
        (Some(items.collect::<Vec<_>>()).filter(|items| !items.is_empty()), None)
    } else {
        let key = entries.as_ref().and_then(|e| e.first()).map_or_else(|| data_key(&r.source), |(k, _)| k.clone());
        let file = item_path(&target, &key);
        (Some(vec![KeyToPath { key, path: file.clone(), mode: None }]), Some(file))
    };
    // Kubernetes file modes are permission bits only (0-0777): setuid, setgid and sticky
    // bits, which Compose passes on, are dropped with a warning.
    let mode = r.mode.map(|m| {
        if m > 0o777 {
            mapper.warn(
                Code::NotConverted,
                r.pos,
                format!(
                    "the special bits of `mode: {m:#o}` of {kind} `{}` are not converted: Kubernetes sets permission bits only; the file gets {:#o}",
                    r.source,
                    m & 0o777
                ),
                None,
            );
        }
        (m & 0o777) as i32
    });
    let volume = if kind == "secret" {
        Volume {
            name: volume_name.clone(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(object_name.clone()),
                items,
                default_mode: mode,
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        }
    } else {
        if let Some(entries) = &entries {
            let files: Vec<(String, Vec<u8>)> = entries.iter().map(|(k, v)| (k.clone(), v.to_vec())).collect();
            let object = config_map(&object_name, &files);
            mapper.add(Object::new("ConfigMap", &object_name, &object, Some(def.pos)));
        }
        Volume {
            name: volume_name.clone(),
            config_map: Some(ConfigMapVolumeSource {
                name: object_name.clone(),
                items,
                default_mode: mode,
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        }
    };
    let mount = VolumeMount {
        name: volume_name,
        mount_path: target,
        // Secret and ConfigMap volumes are read-only whatever the mount says; Kompose writes
        // no `readOnly` here either.
        sub_path,
        ..VolumeMount::default()
    };
    Some((volume, mount))
}

/// The name of a secret's or config's object (`kind` is `secret` or `config`): an external
/// one with a `name:` is that existing object (made valid if it is not); any other is named
/// after its key, as Kompose names it.
fn file_object_name(kind: &str, key: &str, def: &crate::compose::FileObject) -> String {
    match (&def.source, &def.name) {
        (FileSource::External, Some(name)) if names::is_dns1123_subdomain(&name.value) => name.value.clone(),
        (FileSource::External, Some(name)) => names::volume_label(&name.value, kind),
        _ => names::volume_label(key, kind),
    }
}

/// For an external object's message: why its object name is not the `name:` written.
fn renamed_external(def: &crate::compose::FileObject, object_name: &str) -> String {
    match &def.name {
        Some(name) if name.value != object_name => {
            format!(" (`{}` is not a valid Kubernetes object name)", name.value)
        }
        _ => String::new(),
    }
}

/// The keys and contents of a secret's or config's object (`kind` is `secret` or `config`);
/// `None` when it is external or its variable is not set.
fn file_entries<'a>(kind: &str, name: &str, source: &'a FileSource) -> Option<Vec<(String, &'a [u8])>> {
    let one = |data: &'a [u8]| Some(vec![(data_key(name), data)]);
    match source {
        // A config read from a file keeps the file's name as its key, as Kompose writes it.
        FileSource::File { path, contents } if kind == "config" && names::is_config_key(basename(path)) => {
            Some(vec![(basename(path).to_string(), contents.as_slice())])
        }
        FileSource::File { contents, .. } => one(contents),
        FileSource::Dir { files, .. } => Some(files.iter().map(|(key, data)| (key.clone(), data.as_slice())).collect()),
        FileSource::Content(text) => one(text.as_bytes()),
        FileSource::Environment { value, .. } => one(value.as_deref()?.as_bytes()),
        FileSource::External => None,
    }
}

fn data_key(source: &str) -> String {
    if names::is_config_key(source) {
        source.to_string()
    } else {
        names::volume_label(source, "data")
    }
}

/// The claim of one named volume that `users` mount (none when no service does, or when its
/// strategy makes no claim).
fn volume_claim(mapper: &mut Mapper, name: &str, def: &VolumeDef, users: &[(&Service, bool)]) {
    let Some((first, _)) = users.first() else {
        return;
    };
    let strategy = mapper.strategy(first);
    if !matches!(strategy, VolumeStrategy::PersistentVolumeClaim | VolumeStrategy::ConfigMap) || def.nfs.is_some() {
        return;
    }
    let claim = names::volume_label(name, "volume");
    if mapper.template_claims.contains(&claim) {
        return;
    }
    let size = mapper
        .size_label(
            def.labels.get("kompose.volume.size").map(|v| crate::compose::Spanned::new(v.clone(), def.pos)).as_ref(),
        )
        .unwrap_or_else(|| mapper.service_claim_size(first).0);
    let class = labels::get(first, "kompose.volume.storage-class-name").map(|l| l.value.clone());
    let mut sharing: Vec<&str> = users.iter().map(|(s, _)| s.name.as_str()).collect();
    sharing.dedup();
    // Services grouped into one pod share the claim on one node: nothing to warn about.
    let mut workloads: Vec<&str> =
        sharing.iter().map(|s| mapper.workloads.get(*s).map_or(*s, String::as_str)).collect();
    workloads.sort_unstable();
    workloads.dedup();
    if workloads.len() > 1 {
        mapper.warn(
            Code::SharedVolume,
            def.pos,
            format!(
                "volume `{name}` is shared by {}: its claim is ReadWriteOnce, so their pods must run on one node",
                crate::diag::name_list(&sharing)
            ),
            Some("use a storage class that supports ReadWriteMany, or give each service its own volume".into()),
        );
    }
    if def.external {
        mapper.warn(
            Code::NotConverted,
            def.pos,
            format!(
                "volume `{name}` is external: a claim `{claim}` is created for it; bind it to your existing volume{}",
                def.name.as_ref().map(|n| format!(" `{n}`")).unwrap_or_default()
            ),
            None,
        );
    }
    let class = volume_class(def).or(class);
    let annotations = volume_annotations(mapper, name, def);
    mapper.claim(&claim, size, class, Some(def.pos));
    let selector = def.labels.get("kompose.volume.selector");
    if selector.is_some() || !annotations.is_empty() {
        if let Some(object) = mapper.objects.iter_mut().find(|o| o.kind == "PersistentVolumeClaim" && o.name == claim) {
            if let Some(selector) = selector {
                let labels = Map::from_iter([(super::SERVICE_LABEL, Value::from(selector.as_str()))]);
                if let Some(spec) = object.value_mut().get_mut("spec").and_then(Value::as_object_mut) {
                    spec.insert("selector", Value::from(Map::from_iter([("matchLabels", Value::from(labels))])));
                }
            }
            if !annotations.is_empty() {
                let map = Map::from_iter(annotations.into_iter().map(|(k, v)| (k, Value::from(v.as_str()))));
                if let Some(metadata) = object.value_mut().get_mut("metadata").and_then(Value::as_object_mut) {
                    metadata.insert("annotations", Value::from(map));
                }
            }
        }
    }
}

/// Objects that belong to the project rather than one service: named-volume claims,
/// Secrets, external references.
pub(crate) fn map_top_level(mapper: &mut Mapper) {
    let project = mapper.project;
    // Named volumes: one claim each, shared by every service that mounts it.
    // The services mounting each named volume, in one pass.
    let mut users_of: foldhash::HashMap<&str, Vec<(&Service, bool)>> = Default::default();
    for s in &project.services {
        for m in s.volumes.iter().filter(|m| m.kind == MountType::Volume) {
            if let Some(source) = m.source.as_deref() {
                users_of.entry(source).or_default().push((s, m.read_only));
            }
        }
    }
    // Two volumes Compose keeps apart must not become one claim. Only a renamed volume can
    // take another's name, so the usual project (no renames) builds nothing here.
    let mut renamed: Vec<(String, usize, &str, crate::diag::Pos)> = Vec::new();
    for (i, (name, def)) in project.volumes.iter().enumerate() {
        // A valid name stays as it is (`volume_label`).
        if users_of.contains_key(name.as_str()) && def.nfs.is_none() && !names::is_dns1123_label(name) {
            let claim = names::volume_label(name, "volume");
            if claim != *name {
                renamed.push((claim, i, name, def.pos));
            }
        }
    }
    renamed.sort();
    let mut collisions: Vec<(&str, &str, &str, crate::diag::Pos)> = Vec::new();
    for (j, (claim, _, name, pos)) in renamed.iter().enumerate() {
        if project.volumes.contains_key(claim.as_str()) && users_of.contains_key(claim.as_str()) {
            collisions.push((claim, claim, name, *pos));
        }
        if let Some((_, _, other, _)) = j.checked_sub(1).map(|k| &renamed[k]).filter(|r| r.0 == *claim) {
            collisions.push((claim, other, name, *pos));
        }
    }
    for (claim, other, name, pos) in collisions {
        mapper.diags.push(
            crate::diag::Diagnostic::at(
                crate::diag::Code::DuplicateName,
                pos,
                format!("volumes `{other}` and `{name}` both become the claim `{claim}` in Kubernetes"),
            )
            .with_help("rename one of them"),
        );
    }
    // Each volume's claim is its own: a large project's second half of them is made on a
    // second thread, into a mapper of its own (`Mapper::lane`) whose objects and findings
    // join in order. A volume with labels may change a claim made before it, so any in the
    // second half keeps them all on one thread.
    let volumes: Vec<(&String, &VolumeDef)> = project.volumes.iter().collect();
    let no_users = Vec::new();
    let users = |name: &str| users_of.get(name).unwrap_or(&no_users);
    let half = volumes.len() / 2;
    if volumes.len() >= crate::par::LARGE
        && !crate::par::sequential()
        && volumes[half..].iter().all(|(_, def)| def.labels.is_empty())
    {
        let mut lane = mapper.lane();
        lane.template_claims = mapper.template_claims.clone();
        let (first, second) = volumes.split_at(half);
        let (lane, ()) = crate::par::join(
            true,
            move || {
                let mut lane = lane;
                for (name, def) in second {
                    volume_claim(&mut lane, name, def, users(name));
                }
                lane
            },
            || {
                for (name, def) in first {
                    volume_claim(mapper, name, def, users(name));
                }
            },
        );
        mapper.absorb(lane);
    } else {
        for (name, def) in &volumes {
            volume_claim(mapper, name, def, users(name));
        }
    }
    // Two secrets (or two configs) Compose keeps apart must not become one object with two
    // contents. (Two that would hold the same key and contents are one object, mounted twice.)
    for (kind, object_kind, defs) in
        [("secrets", "Secret", &project.secrets), ("configs", "ConfigMap", &project.configs)]
    {
        let singular = &kind[..kind.len() - 1];
        // Object name → the first definition's name, and the keys and contents it holds.
        type Held<'a> = Option<Vec<(String, &'a [u8])>>;
        let mut by_object: BTreeMap<String, (&str, Held)> = BTreeMap::new();
        for (name, def) in defs {
            if let FileSource::Dir { path, files } = &def.source {
                if let Some((bad, _)) = files.iter().find(|(key, _)| !names::is_config_key(key)) {
                    mapper.diags.push(
                        Diagnostic::at(
                            Code::InvalidName,
                            def.pos,
                            format!("the file `{bad}` in `{path}` cannot be a key of the {object_kind} for {singular} `{name}`"),
                        )
                        .with_help("rename the file to letters, digits, `-`, `_` and `.`"),
                    );
                }
            }
            if matches!(def.source, FileSource::External) {
                continue;
            }
            let object_name = names::volume_label(name, singular);
            let held = file_entries(singular, name, &def.source);
            let previous = by_object.insert(object_name.clone(), (name, held.clone()));
            if let Some(other) = previous.filter(|(_, other_held)| *other_held != held).map(|(other, _)| other) {
                mapper.diags.push(
                    Diagnostic::at(
                        Code::DuplicateName,
                        def.pos,
                        format!(
                            "{kind} `{other}` and `{name}` both become the {object_kind} `{object_name}` in Kubernetes"
                        ),
                    )
                    .with_help("rename one of them"),
                );
            }
        }
    }
    for (name, def) in &project.secrets {
        let object_name = file_object_name("secret", name, def);
        match &def.source {
            FileSource::Environment { variable, value: None } => {
                mapper.diags.push(Diagnostic::at(
                    Code::UndefinedReference,
                    def.pos,
                    format!("secret `{name}` takes its value from `{variable}`, which is not set"),
                ));
                continue;
            }
            FileSource::External => {
                mapper.external.push(("Secret".into(), object_name.clone()));
                mapper.warn(
                    Code::NotConverted,
                    def.pos,
                    format!(
                        "secret `{name}` is external: create the Secret `{object_name}` in the cluster before applying{}",
                        renamed_external(def, &object_name)
                    ),
                    None,
                );
                continue;
            }
            _ => {}
        }
        let data = file_entries("secret", name, &def.source).unwrap_or_default();
        let object = Secret {
            metadata: ObjectMeta {
                name: Some(object_name.clone()),
                labels: own_labels(&object_name),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".into()),
            data: (!data.is_empty())
                .then(|| data.into_iter().map(|(key, bytes)| (key, ByteString(bytes.to_vec()))).collect()),
            ..Secret::default()
        };
        mapper.add(Object::new("Secret", &object_name, &object, Some(def.pos)));
    }
    for (name, def) in &project.configs {
        if matches!(def.source, FileSource::External) {
            let object_name = file_object_name("config", name, def);
            mapper.external.push(("ConfigMap".into(), object_name.clone()));
            mapper.warn(
                Code::NotConverted,
                def.pos,
                format!(
                    "config `{name}` is external: create the ConfigMap `{object_name}` in the cluster before applying{}",
                    renamed_external(def, &object_name)
                ),
                None,
            );
        } else if let FileSource::Environment { variable, value: None } = &def.source {
            mapper.diags.push(Diagnostic::at(
                Code::UndefinedReference,
                def.pos,
                format!("config `{name}` takes its value from `{variable}`, which is not set"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_value_is_the_typed_object() {
        let long = "a".repeat(70);
        for (name, size, class) in [
            ("data", "100Mi", None),
            ("db-data", "1Gi", Some("fast")),
            (long.as_str(), "5Gi", Some("")),
            ("x", "0.5Gi", None),
        ] {
            let typed = PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(name.to_string()),
                    labels: own_labels(name),
                    ..ObjectMeta::default()
                },
                spec: Some(claim_spec(size.to_string(), class.map(String::from))),
                ..PersistentVolumeClaim::default()
            };
            let value = claim_value(name, size.to_string(), class.map(String::from));
            // Equal values, entries in the same order: the same output.
            assert_eq!(value, Value::from_serialize(&typed).unwrap(), "{name}");
        }
    }

    #[test]
    fn quantities_and_basenames() {
        assert!(is_quantity("1Gi"));
        assert!(is_quantity("100Mi"));
        assert!(is_quantity("1.5G"));
        assert!(!is_quantity("1 GB"));
        assert!(!is_quantity("lots"));
        assert!(is_quantity("0") && is_quantity("0Mi"));
        assert!(is_storage_size("1Gi") && is_storage_size("0.5Gi") && is_storage_size("10"));
        assert!(!is_storage_size("0") && !is_storage_size("0Mi") && !is_storage_size("0.0Gi") && !is_storage_size("x"));
        assert_eq!(basename("./conf/nginx.conf"), "nginx.conf");
        assert_eq!(basename("/etc/nginx/"), "nginx");
    }
}
