//! Command-line arguments (clap) and their conversion into the library's [`Options`], once.
//! Accepts Kompose's `convert` flags so existing scripts keep working; flags that cannot be
//! honoured fail with a clear message instead of being ignored.

mod report;
mod write;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indexmap::IndexMap;
use kompile::compose::ComposeFile;
use kompile::diag::{Code, Severity};
use kompile::k8s::{Controller, VolumeStrategy};
use kompile::{fs::RealFs, output, Options};
use report::{ColorChoice, Format};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(name = "kompile", version, about = "Translate Docker Compose projects into valid Kubernetes manifests")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

/// Flags Kompose accepts before or after the subcommand.
#[derive(Args, Debug, Clone)]
struct Global {
    /// Compose file to read (repeatable, or comma-separated; `-` reads stdin). Default:
    /// compose.yaml, compose.yml, docker-compose.yml or docker-compose.yaml in the current directory.
    #[arg(short = 'f', long = "file", global = true, value_delimiter = ',')]
    file: Vec<String>,
    /// Target platform; only `kubernetes` is supported.
    #[arg(long, global = true, default_value = "kubernetes")]
    provider: String,
    /// Print only errors (hide warnings and notes).
    #[arg(long, global = true, visible_alias = "quiet", short = 'q')]
    suppress_warnings: bool,
    /// Treat warnings as errors (exit 1 and write nothing when there are any).
    #[arg(long, global = true, visible_alias = "error-on-warning")]
    strict: bool,
    /// Drop warnings and notes with this code (repeatable), e.g. `--allow K201`.
    #[arg(long, global = true, value_name = "CODE")]
    allow: Vec<String>,
    /// Treat diagnostics with this code as errors (repeatable).
    #[arg(long, global = true, value_name = "CODE")]
    deny: Vec<String>,
    /// Colour for human diagnostics: auto (NO_COLOR, CLICOLOR_FORCE, terminal), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Accepted for Kompose compatibility; kompile's messages do not change.
    #[arg(short = 'v', long, global = true, hide = true)]
    verbose: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert a Compose project to Kubernetes manifests.
    Convert(Box<ConvertArgs>),
    /// Print the resolved Compose project (after merging, interpolation, extends, include
    /// and profiles) in canonical long syntax, like `docker compose config`.
    Config(Box<ConfigArgs>),
    /// Explain a diagnostic code, e.g. `kompile explain K201`.
    Explain {
        /// The code (`K201`).
        code: String,
    },
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout.
    Man,
}

#[derive(Args, Debug)]
struct ConvertArgs {
    /// Write here: a directory (existing, or ending in `/`) gets one file per object; any
    /// other path gets one multi-document file; `-` is stdout. Default: stdout.
    #[arg(short = 'o', long = "out")]
    out: Option<String>,
    /// Print all objects to stdout as one YAML stream (the default when `-o` is not given).
    #[arg(long, conflicts_with = "out")]
    stdout: bool,
    /// Write nothing: compare with what is in `-o`, print a unified diff of every file that
    /// would change, be created or be removed, and exit 1 when anything differs.
    #[arg(long, requires = "out", conflicts_with = "fail_on_change")]
    check: bool,
    /// Hook mode: write as usual, but exit 1 when any file was created, changed or removed.
    #[arg(long, visible_alias = "hook", requires = "out")]
    fail_on_change: bool,
    /// JSON instead of YAML (a `v1` List on stdout or in a single file).
    #[arg(short = 'j', long)]
    json: bool,
    /// Accepted for Kompose compatibility: YAML is the default.
    #[arg(short = 'y', long, hide = true, conflicts_with = "json")]
    yaml: bool,
    /// Spaces per indentation level.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
    indent: u8,
    /// Replica count for every Deployment (overrides `deploy.replicas`).
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..))]
    replicas: Option<i32>,
    /// Workload kind for long-running services: deployment, daemonset or statefulset.
    #[arg(long)]
    controller: Option<String>,
    /// Deprecated Kompose alias for `--controller deployment`.
    #[arg(short = 'd', long = "deployment", hide = true)]
    deployment: bool,
    /// Deprecated Kompose alias for `--controller daemonset`.
    #[arg(long = "daemon-set", hide = true)]
    daemon_set: bool,
    /// How volumes become Kubernetes volumes: persistentVolumeClaim, emptyDir, hostPath or configMap.
    #[arg(long, default_value = "persistentVolumeClaim")]
    volumes: String,
    /// Deprecated Kompose alias for `--volumes emptyDir`.
    #[arg(long, hide = true)]
    emptyvols: bool,
    /// Storage request of generated PersistentVolumeClaims (default 100Mi).
    #[arg(long)]
    pvc_request_size: Option<String>,
    /// Put several services in one pod: `label` groups services sharing a
    /// `kompose.service.group` label, `volume` groups services with identical volumes.
    #[arg(long, value_parser = ["label", "volume"])]
    service_group_mode: Option<String>,
    /// Workload name for `--service-group-mode volume` (default: the members' names joined).
    #[arg(long)]
    service_group_name: Option<String>,
    /// Turn Compose networks into NetworkPolicies: pods accept traffic only from pods on a
    /// network they share.
    #[arg(long)]
    generate_network_policies: bool,
    /// Add init containers that wait for each `depends_on` service to accept connections.
    #[arg(long)]
    wait_for_dependencies: bool,
    /// Accepted for Kompose compatibility: kompile always mounts secrets as files where
    /// Compose puts them.
    #[arg(long, hide = true)]
    secrets_as_files: bool,
    /// Deprecated Kompose alias for `--service-group-mode label`.
    #[arg(long, hide = true)]
    multiple_container_mode: bool,
    /// Store environment variables whose names look secret (`*PASSWORD*`, `*TOKEN*`, ...) in a
    /// Secret and refer to them with `secretKeyRef`.
    #[arg(long)]
    secret_env: bool,
    /// Put every object in this namespace (and emit the Namespace).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Which probes a Compose `healthcheck` becomes: liveness (as Kompose; a failing container
    /// is restarted), readiness (a failing pod gets no traffic, as Docker treats an unhealthy
    /// container), or both.
    #[arg(long, value_enum, default_value_t = HealthcheckProbeArg::Liveness, value_name = "PROBE")]
    healthcheck_probe: HealthcheckProbeArg,
    /// Add Kubernetes' recommended labels to every object's metadata (never to selectors):
    /// `app.kubernetes.io/part-of: <project>`, `app.kubernetes.io/managed-by: kompile`, and
    /// `app.kubernetes.io/name: <service>` on a service's objects and pod templates.
    #[arg(long)]
    recommended_labels: bool,
    #[command(flatten)]
    load: LoadArgs,
    /// How diagnostics are printed: human (stderr), json, github, sarif or gitlab (a Code Quality report).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write machine-readable diagnostics (`--format json|github|sarif|gitlab`) to this file.
    #[arg(long, value_name = "FILE")]
    diagnostics_file: Option<PathBuf>,
    /// Kompose's `kompose.cmd`/`kompose.version` annotations; kompile never writes them
    /// (they make output differ between machines), so only `false` is accepted.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_parser = clap::value_parser!(bool))]
    with_kompose_annotation: Option<bool>,
    /// Kompose's image build; not supported (build and push your images in CI first).
    #[arg(long, hide = true)]
    build: Option<String>,
    /// Kompose's image push; not supported.
    #[arg(long, hide = true)]
    push_image: bool,
    /// Kompose's push registry; not supported.
    #[arg(long, hide = true, value_name = "REGISTRY")]
    push_image_registry: Option<String>,
    /// Kompose's custom build command; not supported.
    #[arg(long, hide = true, value_name = "COMMAND")]
    build_command: Option<String>,
    /// Kompose's custom push command; not supported.
    #[arg(long, hide = true, value_name = "COMMAND")]
    push_command: Option<String>,
    /// Kompose's deprecated ReplicationController output; not supported.
    #[arg(long, hide = true)]
    replication_controller: bool,
    /// Kompose's OpenShift-only flags; not supported (kompile writes Kubernetes manifests).
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    deployment_config: Option<String>,
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    insecure_repository: Option<String>,
    #[arg(long, hide = true, value_name = "URL")]
    build_repo: Option<String>,
    #[arg(long, hide = true, value_name = "BRANCH")]
    build_branch: Option<String>,
    /// Write a Helm chart (Chart.yaml, values.yaml with image, replicas, resources and Service
    /// type, templates) into `-o DIR` (default: the compose file's name without extension).
    #[arg(short = 'c', long, conflicts_with_all = ["stdout", "kustomize", "json"])]
    chart: bool,
    /// Write a Kustomize base (one file per object plus kustomization.yaml) into `-o DIR`.
    #[arg(long, requires = "out", conflicts_with_all = ["stdout", "json"])]
    kustomize: bool,
}

/// How a project is loaded: shared by `convert` and `config`.
#[derive(Args, Debug)]
struct LoadArgs {
    /// Do not expand `${VAR}` in compose files.
    #[arg(long)]
    no_interpolate: bool,
    /// Activate a Compose profile (repeatable). Default: COMPOSE_PROFILES.
    #[arg(long = "profile")]
    profiles: Vec<String>,
    /// Project name (default: COMPOSE_PROJECT_NAME, the top-level `name`, or the directory name).
    #[arg(short = 'p', long)]
    project_name: Option<String>,
    /// Read interpolation variables from this file instead of `.env` (repeatable; later files
    /// win). Default: COMPOSE_ENV_FILES (comma-separated), else `<project>/.env`.
    #[arg(long = "env-file", value_name = "FILE")]
    env_files: Vec<PathBuf>,
    /// Directory that relative paths and `.env` are resolved against (default: the first
    /// compose file's directory).
    #[arg(long)]
    project_directory: Option<PathBuf>,
    /// Let the project read files under this directory too (env files, secrets, configs,
    /// bind mounts, extends, include); by default only the project directory (repeatable).
    #[arg(long = "allow-path", value_name = "DIR")]
    allow_paths: Vec<PathBuf>,
    /// Let the project read files anywhere. Do not use on untrusted compose files.
    #[arg(long)]
    allow_any_path: bool,
    /// Largest compose file accepted, in bytes (default 16 MiB).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_input_bytes: Option<u64>,
    /// Deepest YAML nesting accepted (default 64).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    max_depth: Option<u32>,
    /// Most YAML nodes accepted after aliases are expanded (default 1000000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_nodes: Option<u64>,
    /// Most bytes of YAML keys and values accepted after aliases are expanded (default 64 MiB,
    /// or four times `--max-input-bytes` when that is larger).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_scalar_bytes: Option<u64>,
}

/// `--healthcheck-probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum HealthcheckProbeArg {
    Liveness,
    Readiness,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ConfigFormat {
    Yaml,
    Json,
}

#[derive(Args, Debug)]
struct ConfigArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Output format of the resolved project.
    #[arg(long, value_enum, default_value_t = ConfigFormat::Yaml)]
    format: ConfigFormat,
    /// Print the service names, one per line.
    #[arg(long)]
    services: bool,
    /// Print the volume names, one per line.
    #[arg(long)]
    volumes: bool,
    /// Print the profile names, one per line.
    #[arg(long = "profiles")]
    list_profiles: bool,
    /// Show values of variables whose names look secret (`*PASSWORD*`, `*TOKEN*`, ...);
    /// they are masked by default.
    #[arg(long)]
    show_secrets: bool,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
}

pub fn run() -> Result<u8> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(code);
        }
    };
    if !cli.global.provider.eq_ignore_ascii_case("kubernetes") {
        bail!("provider `{}` is not supported: kompile writes Kubernetes manifests only", cli.global.provider);
    }
    match cli.command {
        Command::Explain { code } => explain(&code),
        Command::Convert(args) => convert(&cli.global, &args),
        Command::Config(args) => config(&cli.global, &args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "kompile", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(command).render(&mut out).context("cannot render the manual page")?;
            std::io::stdout().write_all(&out).context("cannot write to stdout")?;
            Ok(0)
        }
    }
}

fn explain(code: &str) -> Result<u8> {
    let Some(found) = Code::ALL.iter().find(|c| c.id().eq_ignore_ascii_case(code)) else {
        bail!("unknown diagnostic code `{code}`; codes are listed in docs/diagnostics.md");
    };
    println!("{} ({}): {}", found.id(), found.severity().as_str(), found.title());
    println!("See docs/diagnostics.md#{} for causes and fixes.", found.id().to_ascii_lowercase());
    Ok(0)
}

fn load_options(args: &LoadArgs, project_dir: &Path) -> kompile::compose::LoadOptions {
    let directory_name =
        std::fs::canonicalize(project_dir).ok().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
    let mut load = kompile::compose::LoadOptions {
        directory_name,
        interpolate: !args.no_interpolate,
        profiles: args.profiles.clone(),
        project_name: args.project_name.clone(),
        env_files: args.env_files.clone(),
        allow_paths: args.allow_paths.clone(),
        allow_any_path: args.allow_any_path,
        ..Default::default()
    };
    if load.env_files.is_empty() {
        if let Some(list) = std::env::var("COMPOSE_ENV_FILES").ok().filter(|v| !v.is_empty()) {
            load.env_files = list.split(',').map(|p| PathBuf::from(p.trim())).collect();
        }
    }
    if let Some(depth) = args.max_depth {
        load.limits.max_depth = depth as usize;
    }
    if let Some(bytes) = args.max_input_bytes {
        load.max_input_bytes = bytes;
        let scaled = usize::try_from(bytes.saturating_mul(4)).unwrap_or(usize::MAX);
        load.limits.max_scalar_bytes = load.limits.max_scalar_bytes.max(scaled);
    }
    if let Some(bytes) = args.max_scalar_bytes {
        load.limits.max_scalar_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
    }
    if let Some(nodes) = args.max_nodes {
        load.limits.max_nodes = usize::try_from(nodes).unwrap_or(usize::MAX);
    }
    load
}

/// The compose files, their contents, the process environment and the project directory.
fn inputs(global: &Global, load: &LoadArgs) -> Result<(Vec<ComposeFile>, IndexMap<String, String>, PathBuf)> {
    // A bad `-p` is a bad flag: it stops the run before anything is read (exit 2).
    if let Some(name) = &load.project_name {
        if let Err(e) = kompile::compose::validate_project_name(name) {
            bail!("`-p`: {e}");
        }
    }
    let limit = load.max_input_bytes.unwrap_or(kompile::compose::LoadOptions::default().max_input_bytes);
    let env: IndexMap<String, String> =
        std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
    let paths = compose_paths(global, &env)?;
    let files = read_inputs(&paths, limit)?;
    let project_dir = match &load.project_directory {
        Some(dir) => dir.clone(),
        None => paths
            .iter()
            .find(|p| *p != "-")
            .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    Ok((files, env, project_dir))
}

fn config(global: &Global, args: &ConfigArgs) -> Result<u8> {
    let (files, env, project_dir) = inputs(global, &args.load)?;
    let load = load_options(&args.load, &project_dir);
    let mut sources = kompile::diag::Sources::default();
    let mut diags = kompile::diag::Diagnostics::default();
    let env =
        kompile::compose::project_environment(&env, &project_dir, &load.env_files, &RealFs, &mut sources, &mut diags);
    let (resolved, load_diags) = kompile::compose::resolve(&files, &env, &project_dir, &RealFs, &load, &mut sources);
    diags.0.extend(load_diags.0);
    diags.0.extend(discovery_diagnostic());
    let mut policy = kompile::Policy { strict: global.strict, ..Default::default() };
    policy.allow = parse_codes(&global.allow, "--allow")?;
    policy.deny = parse_codes(&global.deny, "--deny")?;
    let diagnostics = policy.apply(diags.sorted());
    let color = report::use_color(global.color, std::io::stderr().is_terminal());
    let text = report::human(&diagnostics, &sources, color, global.suppress_warnings);
    std::io::stderr().lock().write_all(text.as_bytes()).context("cannot write to stderr")?;
    let Some(resolved) = resolved.filter(|_| !diagnostics.iter().any(|d| d.is_error())) else {
        return Ok(1);
    };
    let out = if args.services {
        kompile::compose::config::service_order(&resolved.project).iter().map(|s| format!("{s}\n")).collect::<String>()
    } else if args.volumes {
        resolved.project.volumes.keys().map(|v| format!("{v}\n")).collect::<String>()
    } else if args.list_profiles {
        let mut names: Vec<String> = resolved
            .tree
            .get("services")
            .and_then(|s| s.as_map())
            .into_iter()
            .flatten()
            .filter_map(|(_, svc)| svc.get("profiles"))
            .filter_map(|p| match &p.value {
                kompile::yaml::Value::Seq(items) => {
                    Some(items.iter().filter_map(|i| i.scalar_string()).collect::<Vec<_>>())
                }
                _ => None,
            })
            .flatten()
            .collect();
        names.sort();
        names.dedup();
        names.iter().map(|p| format!("{p}\n")).collect::<String>()
    } else {
        let absolute = std::fs::canonicalize(&project_dir).unwrap_or(project_dir.clone());
        let value = kompile::compose::config::canonical(&resolved, &absolute, args.show_secrets, load.interpolate);
        match args.format {
            ConfigFormat::Yaml => {
                let value = kompile::value::Value::from_serialize(&value).context("cannot render YAML")?;
                kompile::yaml::to_yaml(&value, 2)
            }
            ConfigFormat::Json => format!("{}\n", serde_json::to_string_pretty(&value).context("cannot render JSON")?),
        }
    };
    match &args.output {
        Some(path) => write::file(path, out.as_bytes(), false)?,
        None => std::io::stdout().lock().write_all(out.as_bytes()).context("cannot write to stdout")?,
    }
    Ok(0)
}

fn parse_codes(codes: &[String], flag: &str) -> Result<Vec<Code>> {
    codes
        .iter()
        .map(|c| {
            Code::ALL.iter().copied().find(|k| k.id().eq_ignore_ascii_case(c)).with_context(|| {
                format!("`{flag} {c}`: unknown diagnostic code; codes are listed in docs/diagnostics.md")
            })
        })
        .collect()
}

fn options(global: &Global, args: &ConvertArgs, project_dir: &Path) -> Result<Options> {
    if args.with_kompose_annotation == Some(true) {
        bail!("`--with-kompose-annotation=true` is not supported: kompile output is the same on every machine, so it carries no `kompose.cmd` or `kompose.version` annotations");
    }
    let building = [
        ("--build", args.build.as_ref().filter(|b| *b != "none").is_some()),
        ("--push-image", args.push_image),
        ("--push-image-registry", args.push_image_registry.is_some()),
        ("--build-command", args.build_command.is_some()),
        ("--push-command", args.push_command.is_some()),
    ];
    if let Some((flag, _)) = building.iter().find(|(_, set)| *set) {
        bail!("`{flag}`: building and pushing images is not supported: build and push them in CI, then set `image:` in the compose file");
    }
    if args.replication_controller {
        bail!("`--replication-controller` is not supported: ReplicationControllers are superseded by Deployments, which kompile writes by default");
    }
    let openshift = [
        ("--deployment-config", args.deployment_config.is_some()),
        ("--insecure-repository", args.insecure_repository.is_some()),
        ("--build-repo", args.build_repo.is_some()),
        ("--build-branch", args.build_branch.is_some()),
    ];
    if let Some((flag, _)) = openshift.iter().find(|(_, set)| *set) {
        bail!("`{flag}` is an OpenShift flag, which is not supported: kompile writes Kubernetes manifests only");
    }
    let mut options = Options::default();
    options.policy.strict = global.strict;
    options.policy.allow = parse_codes(&global.allow, "--allow")?;
    options.policy.deny = parse_codes(&global.deny, "--deny")?;
    if let Some(code) = options.policy.allow.iter().find(|c| c.severity() == Severity::Error) {
        bail!("`--allow {code}`: {code} is an error and cannot be allowed (the output would not be valid)");
    }
    options.load = load_options(&args.load, project_dir);
    options.map.replicas = args.replicas;
    options.map.secret_env = args.secret_env;
    options.map.recommended_labels = args.recommended_labels;
    options.map.healthcheck_probe = match args.healthcheck_probe {
        HealthcheckProbeArg::Liveness => kompile::k8s::HealthcheckProbe::Liveness,
        HealthcheckProbeArg::Readiness => kompile::k8s::HealthcheckProbe::Readiness,
        HealthcheckProbeArg::Both => kompile::k8s::HealthcheckProbe::Both,
    };
    options.map.group_mode = match (args.service_group_mode.as_deref(), args.multiple_container_mode) {
        (Some("volume"), _) => Some(kompile::k8s::GroupMode::Volume),
        (Some(_), _) | (None, true) => Some(kompile::k8s::GroupMode::Label),
        (None, false) => None,
    };
    options.map.group_name = args.service_group_name.clone();
    options.map.network_policies = args.generate_network_policies;
    options.map.wait_for_dependencies = args.wait_for_dependencies;
    options.map.namespace = args.namespace.clone();
    if let Some(ns) = &args.namespace {
        // A Namespace name is a DNS-1123 label: it may start with a digit.
        if !kompile::k8s::names::is_dns1123_label(ns) {
            bail!(
                "namespace `{ns}` is not a valid name: use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
            );
        }
    }
    if let Some(size) = &args.pvc_request_size {
        if !kompile::k8s::is_storage_size(size) {
            bail!("`--pvc-request-size {size}` is not a storage size greater than zero, such as `1Gi`");
        }
        options.map.pvc_request_size = size.clone();
    }
    let volumes = if args.emptyvols { "emptyDir" } else { args.volumes.as_str() };
    options.map.volumes = VolumeStrategy::parse(volumes).with_context(|| {
        format!("`--volumes {volumes}` is not supported: use persistentVolumeClaim, emptyDir, hostPath or configMap")
    })?;
    let controller = match (args.controller.as_deref().map(str::to_ascii_lowercase), args.deployment, args.daemon_set) {
        (Some(c), _, _) if c == "deployment" => Some(Controller::Deployment),
        (Some(c), _, _) if c == "daemonset" => Some(Controller::DaemonSet),
        (Some(c), _, _) if c == "statefulset" => Some(Controller::StatefulSet),
        (Some(c), _, _) => {
            bail!("`--controller {c}` is not supported: use deployment, daemonset or statefulset")
        }
        (None, true, _) => Some(Controller::Deployment),
        (None, _, true) => Some(Controller::DaemonSet),
        _ => None,
    };
    options.map.controller = controller;
    let absolute = std::fs::canonicalize(project_dir).unwrap_or_else(|_| project_dir.to_path_buf());
    options.map.project_dir = absolute.to_string_lossy().into_owned();
    Ok(options)
}

thread_local! {
    /// A note from file discovery, reported with the run's diagnostics (K114).
    static DISCOVERY_NOTE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The discovery note as a diagnostic, if discovery left one.
fn discovery_diagnostic() -> Option<kompile::diag::Diagnostic> {
    DISCOVERY_NOTE.with(|n| n.borrow_mut().take()).map(|message| {
        kompile::diag::Diagnostic::new(Code::SeveralComposeFiles, None, message)
            .with_help("pass `-f` to choose one, or remove the one you do not use")
    })
}

const DEFAULT_FILES: [&str; 4] = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];
const OVERRIDE_FILES: [&str; 4] =
    ["compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"];

/// The compose files to read, as given or found.
fn compose_paths(global: &Global, env: &IndexMap<String, String>) -> Result<Vec<String>> {
    if !global.file.is_empty() {
        if global.file.iter().any(String::is_empty) {
            bail!("`-f` names an empty file: remove the extra comma from the list, or the empty `-f \"\"`");
        }
        return Ok(global.file.clone());
    }
    if let Some(list) = env.get("COMPOSE_FILE").filter(|v| !v.is_empty()) {
        let sep = env.get("COMPOSE_PATH_SEPARATOR").and_then(|s| s.chars().next()).unwrap_or(':');
        let paths: Vec<String> = list.split(sep).filter(|s| !s.is_empty()).map(str::to_string).collect();
        // Kompose split COMPOSE_FILE on whitespace; Docker Compose does not.
        for path in &paths {
            let words: Vec<&str> = path.split_whitespace().collect();
            if words.len() > 1 && !Path::new(path).exists() && words.iter().all(|w| Path::new(w).is_file()) {
                bail!(
                    "COMPOSE_FILE names `{path}`, which is not a file: files in COMPOSE_FILE are separated by `{sep}` \
                     (COMPOSE_PATH_SEPARATOR), not by spaces as Kompose read them; write COMPOSE_FILE={}",
                    words.join(&sep.to_string())
                );
            }
        }
        return Ok(paths);
    }
    // The first directory, from here upwards, that holds one of the default names; an
    // override file beside it is merged on top, as Docker Compose does.
    let mut dir = std::env::current_dir().context("cannot read the current directory")?;
    let mut prefix = String::new();
    loop {
        let found: Vec<&str> = DEFAULT_FILES.iter().copied().filter(|n| dir.join(n).is_file()).collect();
        if let Some(first) = found.first() {
            if found.len() > 1 {
                DISCOVERY_NOTE.with(|n| {
                    *n.borrow_mut() = Some(format!("found several compose files ({}); using {first}", found.join(", ")))
                });
            }
            let mut paths = vec![format!("{prefix}{first}")];
            if let Some(over) = OVERRIDE_FILES.iter().find(|n| dir.join(n).is_file()) {
                paths.push(format!("{prefix}{over}"));
            }
            return Ok(paths);
        }
        if !dir.pop() {
            break;
        }
        prefix.push_str("../");
    }
    bail!("no compose file found: pass `-f FILE`, or run in a directory with compose.yaml or docker-compose.yml")
}

fn read_inputs(paths: &[String], limit: u64) -> Result<Vec<ComposeFile>> {
    let mut files = Vec::new();
    let too_large = |name: &str| {
        anyhow::anyhow!(
            "`{name}` is larger than {limit} bytes; raise the limit with `--max-input-bytes` if it is genuine"
        )
    };
    for path in paths {
        let contents = if path == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(limit + 1)
                .read_to_end(&mut buf)
                .context("cannot read the compose file from stdin")?;
            if buf.len() as u64 > limit {
                return Err(too_large("<stdin>"));
            }
            buf
        } else {
            let p = Path::new(path);
            if p.is_dir() {
                bail!("`{path}` is a directory; pass the compose file inside it");
            }
            if std::fs::metadata(p).is_ok_and(|m| m.len() > limit) {
                return Err(too_large(path));
            }
            // Read at most the limit even when the size lies (a device such as /dev/zero).
            let mut buf = Vec::new();
            std::fs::File::open(p)
                .and_then(|f| f.take(limit + 1).read_to_end(&mut buf))
                .with_context(|| format!("cannot read `{path}`"))?;
            if buf.len() as u64 > limit {
                return Err(too_large(path));
            }
            buf
        };
        files.push(ComposeFile { name: if path == "-" { "<stdin>".into() } else { path.clone() }, contents });
    }
    Ok(files)
}

fn convert(global: &Global, args: &ConvertArgs) -> Result<u8> {
    let (files, env, project_dir) = inputs(global, &args.load)?;
    let options = options(global, args, &project_dir)?;
    let (mut conversion, leftovers) = kompile::convert_with_leftovers(&files, &env, &project_dir, &RealFs, &options);
    // The process ends right after this run: freeing the model piece by piece would only
    // cost time (a noticeable share for large projects).
    std::mem::forget(leftovers);
    if let Some(note) = discovery_diagnostic() {
        conversion.diagnostics.insert(0, note);
        conversion.diagnostics = options.policy.apply(std::mem::take(&mut conversion.diagnostics));
        if conversion.has_errors() {
            conversion.objects.clear();
        }
    }

    let target = Target::of(args);
    if args.check && target == Target::Stdout {
        bail!("`--check` compares the output with files on disk: give `-o FILE` or `-o DIR` as well");
    }
    report(global, args, &conversion, target == Target::Stdout || args.check)?;
    if conversion.has_errors() {
        return Ok(1);
    }
    // The process ends right after this run: freeing the objects one by one would only cost
    // time (a noticeable share for large projects).
    let conversion = std::mem::ManuallyDrop::new(conversion);
    let indent = usize::from(args.indent);
    let stream = || {
        if args.json {
            output::json_list(&conversion.objects, indent)
        } else {
            output::yaml_stream(&conversion.objects, indent)
        }
    };
    let quiet = global.suppress_warnings;
    match (target, args.out.as_deref()) {
        (Target::Dir, None) if args.chart => {
            let out = chart_dir(global);
            let files = output::helm_chart(&conversion.objects, &chart_name(&out), indent);
            let changes = write::plan_directory(&out, &files)?;
            finish(args, quiet, &changes, || write::directory(&out, &files, &changes))
        }
        (Target::Stdout, _) | (_, None) => {
            let mut stdout = std::io::stdout().lock();
            if args.json {
                stdout.write_all(stream().as_bytes()).context("cannot write to stdout")?;
            } else {
                output::write_yaml_stream(&conversion.objects, indent, &mut stdout)
                    .context("cannot write to stdout")?;
            }
            stdout.flush().context("cannot write to stdout")?;
            Ok(0)
        }
        (Target::Dir, Some(out)) => {
            let files = if args.chart {
                output::helm_chart(&conversion.objects, &chart_name(Path::new(out)), indent)
            } else if args.kustomize {
                output::kustomize(&conversion.objects, indent)
            } else {
                output::per_object_files(&conversion.objects, indent, args.json)
            };
            let changes = write::plan_directory(Path::new(out), &files)?;
            finish(args, quiet, &changes, || write::directory(Path::new(out), &files, &changes))
        }
        (Target::File, Some(out)) => {
            let secret = conversion.objects.iter().any(|o| o.secret);
            let contents = stream();
            let changes = write::plan_file(Path::new(out), &contents)?;
            finish(args, quiet, &changes, || write::file(Path::new(out), contents.as_bytes(), secret))
        }
    }
}

/// Kompose's default chart folder: the first compose file's path without its extension.
fn chart_dir(global: &Global) -> PathBuf {
    let first = global.file.first().map(String::as_str).filter(|f| *f != "-").unwrap_or("compose.yaml");
    Path::new(first).with_extension("")
}

/// A chart name from its folder: a valid DNS label.
fn chart_name(dir: &Path) -> String {
    let base = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "chart".into());
    kompile::k8s::names::dns_label(&base, "chart")
}

/// After planning: `--check` prints the diff and writes nothing; otherwise write, and in hook
/// mode fail when anything changed.
fn finish(
    args: &ConvertArgs,
    quiet: bool,
    changes: &[write::Change],
    apply: impl FnOnce() -> Result<()>,
) -> Result<u8> {
    let mut stderr = std::io::stderr().lock();
    if args.check {
        let mut stdout = std::io::stdout().lock();
        for change in changes {
            stdout.write_all(change.diff.as_bytes()).context("cannot write to stdout")?;
        }
        for change in changes {
            writeln!(stderr, "{} {}", change.path, change.kind.would())?;
        }
        if !changes.is_empty() {
            writeln!(
                stderr,
                "kompile: {} file(s) out of date; run the same command without --check to update them",
                changes.len()
            )?;
            return Ok(1);
        }
        return Ok(0);
    }
    apply()?;
    if !quiet {
        for change in changes {
            writeln!(stderr, "{} {}", change.path, change.kind.done())?;
        }
    }
    Ok(if args.fail_on_change && !changes.is_empty() { 1 } else { 0 })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Stdout,
    Dir,
    File,
}

impl Target {
    fn of(args: &ConvertArgs) -> Target {
        if args.chart || args.kustomize {
            return Target::Dir;
        }
        match args.out.as_deref() {
            // `/dev/stdout` is standard output whatever it points to (a terminal, a pipe, or a
            // file the shell redirected it to).
            None | Some("-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1") => Target::Stdout,
            Some(out) if out.ends_with('/') || Path::new(out).is_dir() => Target::Dir,
            Some(_) => Target::File,
        }
    }
}

/// Print diagnostics in the chosen format. Machine formats go to `--diagnostics-file`, else
/// to stdout when stdout carries nothing else, else to stderr.
fn report(global: &Global, args: &ConvertArgs, conversion: &kompile::Conversion, stdout_busy: bool) -> Result<()> {
    let diagnostics = &conversion.diagnostics;
    let sources = &conversion.sources;
    let text = match args.format {
        Format::Human => {
            if let Some(path) = &args.diagnostics_file {
                let text = report::human(diagnostics, sources, false, global.suppress_warnings);
                return write::file(path, text.as_bytes(), false);
            }
            let color = report::use_color(global.color, std::io::stderr().is_terminal());
            let text = report::human(diagnostics, sources, color, global.suppress_warnings);
            std::io::stderr().lock().write_all(text.as_bytes()).context("cannot write to stderr")?;
            return Ok(());
        }
        Format::Json => report::json(diagnostics, sources),
        Format::Github => report::github(diagnostics, sources),
        Format::Sarif => report::sarif(diagnostics, sources),
        Format::Gitlab => report::gitlab(diagnostics, sources),
    };
    match &args.diagnostics_file {
        Some(path) => write::file(path, text.as_bytes(), false),
        None if stdout_busy => std::io::stderr().lock().write_all(text.as_bytes()).context("cannot write to stderr"),
        None => std::io::stdout().lock().write_all(text.as_bytes()).context("cannot write to stdout"),
    }
}
