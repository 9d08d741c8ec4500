//! Every Compose key kompile knows, and what it does with it. This table is the single source
//! for "is this key converted?": the reader consults it for unknown-key errors and
//! not-converted warnings, and `docs/mapping.md` is checked against it by a test.

/// What kompile does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Read into the model and converted.
    Converted,
    /// Understood, but it has no Kubernetes equivalent here: a K201 warning with a reason.
    NotConverted { reason: &'static str, help: Option<&'static str> },
}

use Handling::{Converted, NotConverted as Not};

const fn not(reason: &'static str) -> Handling {
    Not { reason, help: None }
}

const fn not_help(reason: &'static str, help: &'static str) -> Handling {
    Not { reason, help: Some(help) }
}

const CPU_TUNING: Handling = not_help(
    "Kubernetes derives CPU scheduling from resource requests and limits",
    "use `deploy.resources.limits.cpus` or `cpus`",
);
const HOST_NAMESPACE: Handling = not("a pod has no setting to share this namespace with the host or another container");
const NODE_TUNING: Handling = not("this is a node-level setting in Kubernetes, not a per-container one");

/// Keys of `services.<name>`.
pub const SERVICE_KEYS: &[(&str, Handling)] = &[
    ("annotations", Converted),
    // Only which logs `docker compose up` prints: nothing to convert, `kubectl logs` reads any pod.
    ("attach", Converted),
    ("blkio_config", not("Kubernetes has no block-I/O limits per container")),
    ("build", Converted),
    ("cap_add", Converted),
    ("cap_drop", Converted),
    ("cgroup", HOST_NAMESPACE),
    ("cgroup_parent", NODE_TUNING),
    ("command", Converted),
    ("configs", Converted),
    ("container_name", Converted),
    ("cpu_count", CPU_TUNING),
    ("cpu_percent", CPU_TUNING),
    ("cpu_period", CPU_TUNING),
    ("cpu_quota", CPU_TUNING),
    ("cpu_rt_period", CPU_TUNING),
    ("cpu_rt_runtime", CPU_TUNING),
    ("cpu_shares", CPU_TUNING),
    ("cpus", Converted),
    ("cpuset", CPU_TUNING),
    ("credential_spec", not("it is a Windows container setting")),
    ("depends_on", Converted),
    ("deploy", Converted),
    ("develop", not("it configures `docker compose watch`, a development tool")),
    ("device_cgroup_rules", not("devices reach Kubernetes pods through device plugins")),
    (
        "devices",
        not_help(
            "devices reach Kubernetes pods through device plugins",
            "request the device as an extended resource, e.g. `nvidia.com/gpu`",
        ),
    ),
    ("dns", Converted),
    ("dns_opt", Converted),
    ("dns_search", Converted),
    ("domainname", Converted),
    ("driver_opts", not("network driver options have no Kubernetes equivalent")),
    ("entrypoint", Converted),
    ("env_file", Converted),
    ("environment", Converted),
    ("expose", Converted),
    ("extends", Converted),
    ("external_links", not("containers outside the project are not reachable by link in Kubernetes")),
    ("extra_hosts", Converted),
    ("gpus", Converted),
    ("group_add", Converted),
    ("healthcheck", Converted),
    ("hostname", Converted),
    ("image", Converted),
    (
        "init",
        not_help("Kubernetes has no per-container init process option", "use an image that runs an init such as tini"),
    ),
    ("ipc", Converted),
    ("isolation", not("it is a Windows container setting")),
    ("label_file", Converted),
    ("labels", Converted),
    ("links", Converted),
    ("logging", not("logging is configured for the whole cluster, not per pod")),
    ("mac_address", not("pods get their addresses from the cluster network")),
    ("mem_limit", Converted),
    ("mem_reservation", Converted),
    ("mem_swappiness", NODE_TUNING),
    ("memswap_limit", NODE_TUNING),
    ("models", not("AI model bindings have no Kubernetes equivalent")),
    ("network_mode", Converted),
    ("networks", Converted),
    ("oom_kill_disable", NODE_TUNING),
    ("oom_score_adj", NODE_TUNING),
    ("pid", Converted),
    ("pids_limit", NODE_TUNING),
    (
        "platform",
        not_help(
            "Kubernetes picks the image variant for the node",
            "pin nodes with `nodeSelector: {kubernetes.io/arch: ...}`",
        ),
    ),
    ("ports", Converted),
    ("post_start", Converted),
    (
        "pre_start",
        not_help(
            "Kubernetes has no hook that runs in the container before it starts",
            "use an init container (`kompose.init.containers.*`)",
        ),
    ),
    ("pre_stop", Converted),
    ("privileged", Converted),
    ("profiles", Converted),
    (
        "provider",
        not_help(
            "a provider service is run by a Compose provider plugin, not as a container, so it gets no workload",
            "create what it stands for in the cluster and give its settings to the services that use it",
        ),
    ),
    ("pull_policy", Converted),
    (
        "pull_refresh_after",
        not_help(
            "Kubernetes pulls an image again by policy, not after an interval",
            "use `pull_policy: always` to pull on every start",
        ),
    ),
    ("read_only", Converted),
    ("restart", Converted),
    (
        "runtime",
        not_help(
            "container runtimes are chosen per pod with a RuntimeClass",
            "create a RuntimeClass and set `runtimeClassName`",
        ),
    ),
    ("scale", Converted),
    ("secrets", Converted),
    ("security_opt", Converted),
    ("shm_size", Converted),
    ("stdin_open", Converted),
    ("stop_grace_period", Converted),
    ("stop_signal", not_help("Kubernetes sends SIGTERM", "set STOPSIGNAL in the image")),
    ("storage_opt", NODE_TUNING),
    ("sysctls", Converted),
    ("tmpfs", Converted),
    ("tty", Converted),
    (
        "ulimits",
        not_help(
            "Kubernetes has no per-container ulimits",
            "set limits in the image entrypoint or the node's container runtime",
        ),
    ),
    ("use_api_socket", not("the Docker API socket does not exist in Kubernetes")),
    ("user", Converted),
    ("userns_mode", HOST_NAMESPACE),
    ("uts", HOST_NAMESPACE),
    ("volumes", Converted),
    ("volumes_from", Converted),
    ("working_dir", Converted),
];

pub const DEPLOY_KEYS: &[(&str, Handling)] = &[
    ("endpoint_mode", Converted),
    ("labels", Converted),
    ("mode", Converted),
    ("placement", Converted),
    ("replicas", Converted),
    ("resources", Converted),
    ("restart_policy", Converted),
    ("rollback_config", not("Kubernetes rolls back with `kubectl rollout undo`")),
    ("update_config", Converted),
];

pub const HEALTHCHECK_KEYS: &[(&str, Handling)] = &[
    ("disable", Converted),
    ("interval", Converted),
    ("retries", Converted),
    ("start_interval", not("Kubernetes probes have one period")),
    ("start_period", Converted),
    ("test", Converted),
    ("timeout", Converted),
];

pub const RESOURCE_KEYS: &[(&str, Handling)] = &[
    ("cpus", Converted),
    ("devices", Converted),
    ("generic_resources", not("generic resources are a Swarm feature")),
    ("memory", Converted),
    ("pids", NODE_TUNING),
];

/// An entry of `deploy.resources.reservations.devices` or `gpus`.
pub const DEVICE_REQUEST_KEYS: &[(&str, Handling)] = &[
    ("capabilities", Converted),
    ("count", Converted),
    ("device_ids", Converted),
    ("driver", Converted),
    ("options", not("device driver options have no Kubernetes equivalent")),
];

pub const RESTART_POLICY_KEYS: &[(&str, Handling)] = &[
    ("condition", Converted),
    ("delay", not("Kubernetes restarts with its own back-off")),
    ("max_attempts", Converted),
    ("window", not("Kubernetes restarts with its own back-off")),
];

pub const PORT_KEYS: &[(&str, Handling)] = &[
    ("app_protocol", Converted),
    ("host_ip", Converted),
    (
        "mode",
        not("the port is reachable through the Service; the label `kompose.controller.port.expose: \"true\"` also publishes it on the node (a `hostPort`)"),
    ),
    ("name", Converted),
    ("protocol", Converted),
    ("published", Converted),
    ("target", Converted),
];

pub const VOLUME_MOUNT_KEYS: &[(&str, Handling)] = &[
    (
        "bind",
        not("propagation and SELinux options have no counterpart for the claim or ConfigMap a bind mount becomes"),
    ),
    ("consistency", not("it is a Docker Desktop setting")),
    ("image", not("image mounts need Kubernetes image volumes, which 1.33 does not enable by default")),
    ("read_only", Converted),
    ("source", Converted),
    ("target", Converted),
    ("tmpfs", Converted),
    ("type", Converted),
    ("volume", Converted),
];

pub const TOP_LEVEL_KEYS: &[(&str, Handling)] = &[
    ("configs", Converted),
    ("include", Converted),
    ("models", not("AI model bindings have no Kubernetes equivalent")),
    ("name", Converted),
    ("networks", Converted),
    ("secrets", Converted),
    ("services", Converted),
    ("version", Converted),
    ("volumes", Converted),
];

/// The handling of `key`; tables are sorted (a test checks), so this is a binary search.
pub fn lookup(table: &[(&str, Handling)], key: &str) -> Option<Handling> {
    table.binary_search_by(|(k, _)| (*k).cmp(key)).ok().map(|i| table[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_without_duplicates() {
        for table in
            [SERVICE_KEYS, DEPLOY_KEYS, HEALTHCHECK_KEYS, RESOURCE_KEYS, PORT_KEYS, VOLUME_MOUNT_KEYS, TOP_LEVEL_KEYS]
        {
            let keys: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(keys, sorted);
        }
    }

    /// A key the Compose schema defines but these tables miss would be refused as unknown
    /// (as `pull_refresh_after` was): every schema key of these blocks must be in its table.
    #[test]
    fn tables_hold_every_key_the_schema_defines() {
        let spec: serde_json::Value = serde_json::from_str(include_str!("compose-spec.json")).unwrap();
        let defs = &spec["$defs"];
        let service = &defs["service"]["properties"];
        let port = &service["ports"]["items"]["oneOf"][2]["properties"];
        let mount = &service["volumes"]["items"]["oneOf"][1]["properties"];
        let resources = &defs["deployment"]["properties"]["resources"]["properties"]["limits"]["properties"];
        let blocks = [
            ("service", service, SERVICE_KEYS),
            ("deploy", &defs["deployment"]["properties"], DEPLOY_KEYS),
            ("healthcheck", &defs["healthcheck"]["properties"], HEALTHCHECK_KEYS),
            (
                "deploy.restart_policy",
                &defs["deployment"]["properties"]["restart_policy"]["properties"],
                RESTART_POLICY_KEYS,
            ),
            ("ports", port, PORT_KEYS),
            ("volumes", mount, VOLUME_MOUNT_KEYS),
            ("top level", &spec["properties"], TOP_LEVEL_KEYS),
        ];
        for (block, properties, table) in blocks {
            let keys = properties.as_object().unwrap_or_else(|| panic!("the schema has {block} keys"));
            assert!(!keys.is_empty(), "{block}");
            for key in keys.keys() {
                assert!(lookup(table, key).is_some(), "the schema's `{key}` in {block} is missing from its table");
            }
        }
        let limits = resources.as_object().expect("the schema has resource limits");
        for key in limits.keys() {
            assert!(lookup(RESOURCE_KEYS, key).is_some(), "resources: `{key}`");
        }
    }

    #[test]
    fn docs_mapping_lists_every_service_key() {
        let doc = include_str!("../../docs/mapping.md");
        for (key, _) in SERVICE_KEYS {
            assert!(doc.contains(&format!("`{key}`")), "docs/mapping.md does not mention `{key}`");
        }
    }
}
