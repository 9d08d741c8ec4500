//! The resolved Compose project: one representation per concept, every short syntax already
//! turned into its long form, every value interpolated and typed, every file the project
//! names already read. This is all the Kubernetes mapper ever sees of Compose.

use super::volumes::MountType;
use crate::diag::Pos;
use indexmap::IndexMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Spanned<T> {
    pub fn new(value: T, pos: Pos) -> Spanned<T> {
        Spanned { value, pos }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Project {
    pub name: String,
    /// The name comes from the project directory's name (no `-p`, `COMPOSE_PROJECT_NAME`
    /// or `name:`): a checkout in a directory of another name gets another one.
    pub name_from_directory: bool,
    /// In the order the compose file lists them.
    /// Boxed: a service is about 2 KB, and a large project's services are read on two
    /// threads and joined (see `Loader::read_services`).
    pub services: Vec<Box<Service>>,
    pub volumes: IndexMap<String, VolumeDef>,
    pub secrets: IndexMap<String, FileObject>,
    pub configs: IndexMap<String, FileObject>,
    /// Top-level networks: key → the `name:` given (external networks keep their own name).
    pub networks: IndexMap<String, Option<String>>,
    /// Where each top-level network is declared.
    pub network_pos: IndexMap<String, crate::diag::Pos>,
    /// Keys present in the input that the converter does not turn into anything.
    pub not_converted: Vec<NotConverted>,
}

/// A key the loader understood but kompile has no Kubernetes mapping for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotConverted {
    pub path: String,
    pub pos: Pos,
    pub reason: &'static str,
    pub help: Option<&'static str>,
}

#[derive(Debug, Clone, Default)]
pub struct VolumeDef {
    pub labels: IndexMap<String, String>,
    pub external: bool,
    /// `name:` (or the older `external: {name: ...}`): for an external volume, the name of
    /// the volume that already exists.
    pub name: Option<String>,
    pub pos: Pos,
    /// The NFS export a `local` volume mounts (`driver_opts: {type: nfs, o: addr=..., device: ":/path"}`).
    pub nfs: Option<NfsExport>,
}

/// An NFS export: what a pod's `nfs` volume names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsExport {
    pub server: String,
    pub path: String,
    pub read_only: bool,
}

impl NfsExport {
    /// The export a `local` volume's `driver_opts` mount, as `mount -t nfs` reads them: the
    /// server from `addr=` in `o` (or before the `:` of `device`), the path after the `:`.
    /// Also the options of `o` it does not use. `None` when the options are not an NFS mount.
    pub fn from_driver_opts(kind: &str, o: &str, device: &str) -> Option<(NfsExport, Vec<String>)> {
        if !matches!(kind, "nfs" | "nfs4") {
            return None;
        }
        let (device_host, path) = device.split_once(':')?;
        let mut server = (!device_host.is_empty()).then(|| device_host.to_string());
        let mut read_only = false;
        let mut other = Vec::new();
        for option in o.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            match option.split_once('=') {
                Some(("addr", addr)) if !addr.is_empty() => server = Some(addr.to_string()),
                _ if option == "ro" => read_only = true,
                _ if option == "rw" => {}
                _ => other.push(option.to_string()),
            }
        }
        let server = server?;
        path.starts_with('/').then(|| (NfsExport { server, path: path.to_string(), read_only }, other))
    }
}

/// A top-level secret or config.
#[derive(Debug, Clone)]
pub struct FileObject {
    pub pos: Pos,
    pub source: FileSource,
    /// `name:` (or the older `external: {name: ...}`): for an external object, the name of
    /// the object that already exists.
    pub name: Option<Spanned<String>>,
}

#[derive(Debug, Clone)]
pub enum FileSource {
    /// Read from a file; `path` as written, contents as read.
    File {
        path: String,
        contents: Vec<u8>,
    },
    /// Read from a directory, which Compose bind-mounts as it is: its files, sorted by name,
    /// become the object's keys.
    Dir {
        path: String,
        files: Vec<(String, Vec<u8>)>,
    },
    /// Inline `content:` (configs only).
    Content(String),
    /// `environment:` — the value of a project variable.
    Environment {
        variable: String,
        value: Option<String>,
    },
    External,
}

#[derive(Debug, Clone, Default)]
pub struct Service {
    pub name: String,
    pub pos: Pos,
    pub image: Option<Spanned<String>>,
    pub has_build: bool,
    /// A `provider` service: run by a Compose provider plugin, not as a container.
    pub provider: bool,
    pub container_name: Option<Spanned<String>>,
    /// `None`: the image default; `Some(vec![])`: explicitly empty.
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: Option<String>,
    /// In file order; `value: None` means "no value" and the variable was not found.
    pub environment: Vec<EnvVar>,
    pub env_files: Vec<EnvFile>,
    pub ports: Vec<Port>,
    pub expose: Vec<Expose>,
    pub volumes: Vec<Mount>,
    /// Short-syntax `tmpfs` targets, with the `size=` option in bytes.
    pub tmpfs: Vec<(Spanned<String>, Option<i64>)>,
    pub secrets: Vec<FileRef>,
    pub configs: Vec<FileRef>,
    pub healthcheck: Option<Healthcheck>,
    pub labels: IndexMap<String, Spanned<String>>,
    /// `annotations`: the container's metadata, which the pod carries in Kubernetes.
    pub annotations: IndexMap<String, Spanned<String>>,
    pub replicas: Option<Spanned<i64>>,
    pub global: bool,
    /// `deploy.mode: replicated-job` or `global-job`: runs to completion. The flag tells
    /// which (`true`: global) and where it was written.
    pub job: Option<Spanned<bool>>,
    pub limits: Resources,
    pub reservations: Resources,
    pub restart: Option<Spanned<String>>,
    pub restart_condition: Option<Spanned<String>>,
    /// The first service that waits for this one to finish
    /// (`depends_on: {this: {condition: service_completed_successfully}}`), and where.
    pub awaited_by: Option<Spanned<String>>,
    /// `deploy.restart_policy.max_attempts`, at its key: a Job's `backoffLimit`.
    pub restart_max_attempts: Option<Spanned<i64>>,
    pub user: Option<Spanned<String>>,
    pub privileged: bool,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// GPU and other device requests: `deploy.resources.reservations.devices` and `gpus`.
    pub device_requests: Vec<DeviceRequest>,
    /// `security_opt` entries, each as Docker reads it.
    pub security_opt: Vec<Spanned<SecurityOpt>>,
    pub stdin_open: bool,
    pub tty: bool,
    pub hostname: Option<Spanned<String>>,
    pub domainname: Option<Spanned<String>>,
    pub stop_grace_period_ns: Option<i64>,
    /// (host, ip, position of the entry)
    pub extra_hosts: Vec<(String, String, Pos)>,
    pub depends_on: Vec<Spanned<String>>,
    /// `volumes_from: [service[:ro|:rw]]`: the service's name and whether read-only.
    pub volumes_from: Vec<(Spanned<String>, bool)>,
    /// `depends_on` entries with `required: false`: left out when their service's profile is
    /// off, as Compose does.
    pub optional_depends_on: Vec<String>,
    pub links: Vec<Spanned<String>>,
    pub pull_policy: Option<Spanned<String>>,
    /// `group_add`: numeric group IDs or names, as written.
    pub group_add: Vec<Spanned<String>>,
    pub dns: Vec<Spanned<String>>,
    pub dns_search: Vec<Spanned<String>>,
    pub dns_opt: Vec<Spanned<String>>,
    pub sysctls: Vec<(String, String, Pos)>,
    pub shm_size: Option<Spanned<i64>>,
    /// `pid`, `ipc`, `network_mode` as written (`host`, `service:x`, ...).
    pub pid: Option<Spanned<String>>,
    pub ipc: Option<Spanned<String>>,
    pub network_mode: Option<Spanned<String>>,
    /// `deploy.labels`.
    pub deploy_labels: Vec<(String, String, Pos)>,
    pub update_config: Option<UpdateConfig>,
    pub placement: Placement,
    pub endpoint_mode: Option<Spanned<String>>,
    /// `post_start` / `pre_stop` hook commands (exec form), with the hook's position.
    pub post_start: Vec<Spanned<Vec<String>>>,
    pub pre_stop: Vec<Spanned<Vec<String>>>,
    /// Labels from `label_file`s (the `labels` key wins over them).
    pub file_labels: Vec<(String, Spanned<String>)>,
    /// Networks the service joins, as listed (empty: the default network).
    pub networks: Vec<String>,
    /// Other names the service answers to (`networks.<net>.aliases`), in order, once each.
    pub network_aliases: Vec<Spanned<String>>,
}

/// A request for devices of the node (`deploy.resources.reservations.devices`, `gpus`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRequest {
    pub pos: Pos,
    pub driver: Option<String>,
    /// As listed; empty for a `gpus` entry, which asks for GPUs.
    pub capabilities: Vec<String>,
    pub count: DeviceCount,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeviceCount {
    /// `count: all`, `-1`, `gpus: all`, or neither `count` nor `device_ids` (Compose then
    /// reserves every matching device).
    All,
    Count(i64),
    /// `device_ids`: these devices of the node.
    Ids(Vec<String>),
}

/// One `security_opt` entry, read as Docker reads `--security-opt`: `key=value`, the older
/// `key:value`, or a bare `no-new-privileges`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityOpt {
    /// `no-new-privileges[=true|false]`.
    NoNewPrivileges(bool),
    /// `seccomp=unconfined`, `seccomp=builtin` or a profile file.
    Seccomp(String),
    /// `apparmor=unconfined` or a profile name.
    AppArmor(String),
    /// `label=user:U`, `label=role:R`, `label=type:T`, `label=level:L`, `label=disable`, ...
    Label(String),
    /// Anything else (`systempaths=unconfined`, `writable-cgroups=true`, a typo), as written.
    Other(String),
}

impl SecurityOpt {
    pub fn parse(text: &str) -> SecurityOpt {
        let text = text.trim();
        if text == "no-new-privileges" {
            return SecurityOpt::NoNewPrivileges(true);
        }
        let split = text.split_once('=').or_else(|| text.split_once(':'));
        let Some((key, value)) = split.map(|(k, v)| (k.trim(), v.trim())) else {
            return SecurityOpt::Other(text.to_string());
        };
        match key {
            "no-new-privileges" => match value {
                "true" | "1" | "t" | "T" | "TRUE" | "True" => SecurityOpt::NoNewPrivileges(true),
                "false" | "0" | "f" | "F" | "FALSE" | "False" => SecurityOpt::NoNewPrivileges(false),
                _ => SecurityOpt::Other(text.to_string()),
            },
            "seccomp" if !value.is_empty() => SecurityOpt::Seccomp(value.to_string()),
            "apparmor" if !value.is_empty() => SecurityOpt::AppArmor(value.to_string()),
            "label" if !value.is_empty() => SecurityOpt::Label(value.to_string()),
            _ => SecurityOpt::Other(text.to_string()),
        }
    }
}

/// `deploy.update_config`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateConfig {
    pub parallelism: Option<i64>,
    /// `stop-first` or `start-first`.
    pub order: Option<String>,
    pub pos: Pos,
}

/// `deploy.placement`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    /// `node.labels.x == y` style expressions, as written.
    pub constraints: Vec<Spanned<String>>,
    /// `spread: node.labels.zone` preferences: the label expressions.
    pub spread: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// CPUs as written (`0.5`, `"2"`), validated as a non-negative number.
    pub cpus: Option<Spanned<f64>>,
    pub memory: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvFile {
    /// As written in the compose file (relative to the project directory).
    pub path: String,
    pub pos: Pos,
    /// The parsed variables; `None` when the file is optional and absent.
    pub vars: Option<IndexMap<String, String>>,
    pub required: bool,
    /// `format: raw`: lines taken literally, no quotes or interpolation.
    pub raw: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub target: u16,
    pub published: Option<String>,
    pub host_ip: Option<String>,
    pub protocol: String,
    /// Long syntax `name` and `app_protocol`.
    pub name: Option<String>,
    pub app_protocol: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expose {
    pub port: u16,
    pub protocol: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub kind: MountType,
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub pos: Pos,
    /// For binds: what is at the host path.
    pub host: HostPath,
    /// Long syntax `volume.subpath`: mount this sub-directory of the volume.
    pub subpath: Option<String>,
    /// Long syntax `tmpfs.size` in bytes.
    pub tmpfs_size: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum HostPath {
    #[default]
    NotABind,
    Missing,
    /// A regular file and its bytes.
    File(Vec<u8>),
    /// A directory: its regular top-level files (name, bytes), sorted by name.
    Dir(Vec<(String, Vec<u8>)>),
    /// Something a manifest cannot carry (a socket, a device, a file over the size limit).
    Unsupported(String),
    /// A data directory outside the project: not read, so it is decided by its path alone,
    /// the same on every machine.
    Outside,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    pub source: String,
    pub target: Option<String>,
    pub mode: Option<u32>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HealthTest {
    /// `["CMD", args...]`
    Exec(Vec<String>),
    /// `["CMD-SHELL", script]` or a plain string.
    Shell(String),
    /// `["NONE"]` or `disable: true`.
    Disabled,
    /// No `test`: the image's HEALTHCHECK would apply.
    Inherit,
}

impl HealthTest {
    /// Whether there is a command to run (not disabled, not empty).
    pub fn runs(&self) -> bool {
        match self {
            HealthTest::Exec(args) => !args.is_empty(),
            HealthTest::Shell(script) => !script.trim().is_empty(),
            HealthTest::Disabled | HealthTest::Inherit => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Healthcheck {
    pub test: HealthTest,
    pub interval_ns: Option<i64>,
    pub timeout_ns: Option<i64>,
    pub start_period_ns: Option<i64>,
    pub retries: Option<i64>,
    pub pos: Pos,
}

#[cfg(test)]
mod tests {
    use super::NfsExport;
    use super::SecurityOpt::{self, *};

    #[test]
    fn nfs_exports_read_as_mount_reads_them() {
        let (export, other) =
            NfsExport::from_driver_opts("nfs", "addr=10.0.0.5,nolock,soft,rw", ":/exports/media").unwrap();
        assert_eq!(export, NfsExport { server: "10.0.0.5".into(), path: "/exports/media".into(), read_only: false });
        assert_eq!(other, ["nolock", "soft"]);
        let (export, other) = NfsExport::from_driver_opts("nfs4", "ro", "nas.local:/share").unwrap();
        assert_eq!((export.server.as_str(), export.path.as_str(), export.read_only), ("nas.local", "/share", true));
        assert!(other.is_empty());
        assert!(NfsExport::from_driver_opts("nfs", "nolock", ":/x").is_none(), "no server");
        assert!(NfsExport::from_driver_opts("nfs", "addr=h", "/x").is_none(), "no `:` in device");
        assert!(NfsExport::from_driver_opts("nfs", "addr=h", ":x").is_none(), "relative path");
        assert!(NfsExport::from_driver_opts("none", "bind", "/srv").is_none());
    }

    #[test]
    fn security_opts_read_as_docker_reads_them() {
        let cases = [
            ("no-new-privileges", NoNewPrivileges(true)),
            ("no-new-privileges:true", NoNewPrivileges(true)),
            ("no-new-privileges=false", NoNewPrivileges(false)),
            ("no-new-privileges=maybe", Other("no-new-privileges=maybe".into())),
            ("seccomp:unconfined", Seccomp("unconfined".into())),
            ("seccomp=/etc/p.json", Seccomp("/etc/p.json".into())),
            ("apparmor= my-profile ", AppArmor("my-profile".into())),
            // `=` first, then the older `:`: a level keeps its own colons.
            ("label=level:s0:c1,c2", Label("level:s0:c1,c2".into())),
            ("label:type:spc_t", Label("type:spc_t".into())),
            ("seccomp=", Other("seccomp=".into())),
            ("systempaths=unconfined", Other("systempaths=unconfined".into())),
            ("bogus", Other("bogus".into())),
        ];
        for (text, want) in cases {
            assert_eq!(SecurityOpt::parse(text), want, "{text}");
        }
    }
}
