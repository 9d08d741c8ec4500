//! Probes: the Compose `healthcheck` becomes the liveness probe, the readiness probe or both
//! (`--healthcheck-probe`; a `CMD-SHELL` test runs through `sh -c`, timings keep Compose's
//! defaults of 30s/30s/3 when unset), and the
//! `kompose.service.healthcheck.{liveness,readiness}.*` labels add HTTP, TCP or command
//! probes; a readiness label wins over the healthcheck.

use super::{labels, Mapper};
use crate::compose::{parse_duration, split_command, HealthTest, Service, Spanned};
use crate::diag::{Code, Diagnostic};
use k8s_openapi::api::core::v1::{Container, ExecAction, HTTPGetAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

const DEFAULT_INTERVAL_NS: i64 = 30_000_000_000;
const DEFAULT_TIMEOUT_NS: i64 = 30_000_000_000;
const DEFAULT_RETRIES: i64 = 3;

/// Whole seconds, rounded up (a 1.5s timeout becomes 2s, never a stricter 1s).
fn seconds(ns: i64) -> i32 {
    super::workload::ceil_seconds(ns).min(i64::from(i32::MAX)) as i32
}

pub(crate) fn probes(mapper: &mut Mapper, service: &Service, container: &mut Container) {
    let mode = mapper.options.healthcheck_probe;
    let from_check = healthcheck(mapper, service);
    let labelled = readiness(mapper, service);
    // The probe is moved where it goes, and copied only when it goes to both.
    let ready_from_check = mode.readiness() && labelled.is_none();
    let (liveness, ready) = match from_check {
        Check::Probe(probe) => match (mode.liveness(), ready_from_check) {
            (true, true) => (Some(probe.clone()), Some(probe)),
            (true, false) => (Some(probe), None),
            (false, true) => (liveness_labels(mapper, service), Some(probe)),
            (false, false) => (liveness_labels(mapper, service), None),
        },
        Check::Disabled => (None, None),
        Check::NoTest => (liveness_labels(mapper, service), None),
    };
    container.liveness_probe = liveness;
    container.readiness_probe = labelled.unwrap_or(ready);
    // A healthcheck with nothing to run (and not disabled): no probe comes from it.
    let without_test = service.healthcheck.as_ref().filter(|h| !h.test.runs() && h.test != HealthTest::Disabled);
    if let Some(h) = without_test {
        let missing: Vec<&str> = [
            (mode.liveness() && container.liveness_probe.is_none(), "liveness"),
            (mode.readiness() && container.readiness_probe.is_none(), "readiness"),
        ]
        .into_iter()
        .filter_map(|(missing, kind)| missing.then_some(kind))
        .collect();
        if !missing.is_empty() {
            let labels = missing[0];
            mapper.warn(
                Code::HealthcheckNoTest,
                h.pos,
                format!(
                    "the healthcheck of `{}` has no test, so no {} probe is created",
                    service.name,
                    missing.join(" or ")
                ),
                Some(format!("Kubernetes does not run an image's HEALTHCHECK: write `test:` here, or set `kompose.service.healthcheck.{labels}.http_get_path` and `.http_get_port`")),
            );
        }
    }
}

/// What a service's `healthcheck` gives. A short-lived local: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Check {
    /// No healthcheck, or one without a test.
    NoTest,
    /// `disable: true` or `test: ["NONE"]`.
    Disabled,
    Probe(Probe),
}

/// The probe the `healthcheck` describes.
fn healthcheck(mapper: &mut Mapper, service: &Service) -> Check {
    let mut probe = Probe::default();
    match service.healthcheck.as_ref().map(|h| &h.test) {
        Some(HealthTest::Disabled) => return Check::Disabled,
        Some(HealthTest::Exec(args)) if !args.is_empty() => {
            probe.exec = Some(ExecAction { command: Some(args.clone()) })
        }
        Some(HealthTest::Shell(script)) if !script.trim().is_empty() => probe.exec = Some(shell(script)),
        _ => return Check::NoTest,
    }
    timings(mapper, service, &mut probe);
    Check::Probe(probe)
}

/// A liveness probe from the `kompose.service.healthcheck.liveness.*` labels, with the
/// healthcheck's timings.
fn liveness_labels(mapper: &mut Mapper, service: &Service) -> Option<Probe> {
    let mut probe = Probe::default();
    if !label_action(mapper, service, "kompose.service.healthcheck.liveness", &mut probe) {
        return None;
    }
    timings(mapper, service, &mut probe);
    Some(probe)
}

fn label_port(mapper: &mut Mapper, label: Option<&Spanned<String>>) -> Option<i32> {
    let label = label?;
    match label.value.parse::<i32>() {
        Ok(p) if (1..=65535).contains(&p) => Some(p),
        _ => {
            mapper.diags.push(Diagnostic::at(
                Code::KomposeLabel,
                label.pos,
                format!("`{}` must be a port number from 1 to 65535", label.value),
            ));
            None
        }
    }
}

/// HTTP or TCP action from `<prefix>.http_get_path` + `.http_get_port`, or `.tcp_port`.
fn label_action(mapper: &mut Mapper, service: &Service, prefix: &str, probe: &mut Probe) -> bool {
    // Most services set none of these labels: no key names to build then.
    if !service.labels.keys().any(|k| k.starts_with(prefix)) {
        return false;
    }
    let path = labels::get(service, &format!("{prefix}.http_get_path"));
    let http_port = label_port(mapper, labels::get(service, &format!("{prefix}.http_get_port")));
    let tcp_port = label_port(mapper, labels::get(service, &format!("{prefix}.tcp_port")));
    if let (Some(path), Some(port)) = (path, http_port) {
        probe.http_get = Some(HTTPGetAction {
            path: Some(path.value.clone()),
            port: IntOrString::Int(port),
            ..HTTPGetAction::default()
        });
        return true;
    }
    if let Some(port) = tcp_port {
        probe.tcp_socket = Some(TCPSocketAction { port: IntOrString::Int(port), ..TCPSocketAction::default() });
        return true;
    }
    false
}

fn shell(script: &str) -> ExecAction {
    ExecAction { command: Some(vec!["sh".into(), "-c".into(), script.to_string()]) }
}

/// The healthcheck's timings (Compose's defaults when unset) on a probe.
fn timings(mapper: &mut Mapper, service: &Service, probe: &mut Probe) {
    let check = service.healthcheck.as_ref();
    // Docker treats 0 (and unset) as "use the default".
    let positive = |v: Option<i64>| v.filter(|n| *n > 0);
    probe.period_seconds =
        Some(seconds(positive(check.and_then(|h| h.interval_ns)).unwrap_or(DEFAULT_INTERVAL_NS)).max(1));
    probe.timeout_seconds =
        Some(seconds(positive(check.and_then(|h| h.timeout_ns)).unwrap_or(DEFAULT_TIMEOUT_NS)).max(1));
    probe.failure_threshold =
        Some(positive(check.and_then(|h| h.retries)).unwrap_or(DEFAULT_RETRIES).min(i64::from(i32::MAX)) as i32);
    if let Some(start) = check.and_then(|h| h.start_period_ns).filter(|ns| *ns > 0) {
        probe.initial_delay_seconds = Some(seconds(start));
    }
    // A probe field holds a 32-bit count: a larger value (which means "never" either way) is
    // written as the largest one, and said so.
    if let Some(h) = check {
        let capped: Vec<&str> = [
            ("interval", h.interval_ns.is_some_and(|ns| super::workload::ceil_seconds(ns) > i64::from(i32::MAX))),
            ("timeout", h.timeout_ns.is_some_and(|ns| super::workload::ceil_seconds(ns) > i64::from(i32::MAX))),
            (
                "start_period",
                h.start_period_ns.is_some_and(|ns| super::workload::ceil_seconds(ns) > i64::from(i32::MAX)),
            ),
            ("retries", h.retries.is_some_and(|r| r > i64::from(i32::MAX))),
        ]
        .into_iter()
        .filter_map(|(key, over)| over.then_some(key))
        .collect();
        if !capped.is_empty() {
            mapper.warn(
                Code::NotConverted,
                h.pos,
                format!(
                    "the healthcheck's `{}` of `{}` {} more than a probe holds: written as {}",
                    capped.join("`, `"),
                    service.name,
                    if capped.len() == 1 { "is" } else { "are" },
                    i32::MAX
                ),
                None,
            );
        }
    }
}

/// The readiness probe the `kompose.service.healthcheck.readiness.*` labels ask for:
/// `None` when they ask for nothing, `Some(None)` when they ask for no probe.
fn readiness(mapper: &mut Mapper, service: &Service) -> Option<Option<Probe>> {
    const P: &str = "kompose.service.healthcheck.readiness";
    if let Some(disable) = labels::get(service, &format!("{P}.disable")) {
        if matches!(disable.value.to_ascii_lowercase().as_str(), "true" | "1" | "yes") {
            return Some(None);
        }
    }
    let mut probe = Probe::default();
    if let Some(test) = labels::get(service, &format!("{P}.test")) {
        let text = test.value.trim();
        // The list form Kompose documents (`["CMD", "pg_isready"]`), read as a healthcheck
        // `test` is; otherwise a command line.
        let exec = match serde_json::from_str::<Vec<String>>(text) {
            Ok(words) => match words.first().map(String::as_str) {
                Some("NONE") => return Some(None),
                Some("CMD-SHELL") => Some(shell(words[1..].join(" ").trim())),
                Some("CMD") => Some(ExecAction { command: Some(words[1..].to_vec()) }),
                _ => Some(ExecAction { command: Some(words) }),
            },
            Err(_) => match text.strip_prefix("CMD-SHELL") {
                Some(script) => Some(shell(script.trim())),
                None => {
                    let command = text.strip_prefix("CMD").unwrap_or(text).trim();
                    match split_command(command) {
                        Ok(split) if !split.args.is_empty() && split.dropped.is_none() => {
                            Some(ExecAction { command: Some(split.args) })
                        }
                        // Shell operators or a parse failure: run the text through a shell.
                        _ => Some(shell(command)),
                    }
                }
            },
        };
        let empty = |e: &ExecAction| {
            let command = e.command.as_deref().unwrap_or_default();
            command.is_empty() || command.last().is_some_and(|c| c.trim().is_empty())
        };
        if exec.as_ref().is_none_or(empty) {
            mapper.diags.push(
                Diagnostic::at(Code::KomposeLabel, test.pos, format!("`{P}.test` has no command to run"))
                    .with_help("write the command, e.g. `[\"CMD\", \"pg_isready\"]` or `curl -f http://localhost/`"),
            );
            return Some(None);
        }
        probe.exec = exec;
    } else if !label_action(mapper, service, P, &mut probe) {
        return None;
    }
    let mut duration = |key: &str| -> Option<i32> {
        let label = labels::get(service, &format!("{P}.{key}"))?;
        match parse_duration(&label.value) {
            Ok(ns) => Some(seconds(ns)),
            Err(e) => {
                mapper.diags.push(Diagnostic::at(Code::KomposeLabel, label.pos, format!("`{P}.{key}`: {e}")));
                None
            }
        }
    };
    probe.period_seconds = duration("interval").map(|s| s.max(1));
    probe.timeout_seconds = duration("timeout").map(|s| s.max(1));
    probe.initial_delay_seconds = duration("start_period").filter(|s| *s > 0);
    if let Some(retries) = labels::get(service, &format!("{P}.retries")) {
        match retries.value.parse::<i32>() {
            Ok(r) if r >= 1 => probe.failure_threshold = Some(r),
            _ => mapper.diags.push(Diagnostic::at(
                Code::KomposeLabel,
                retries.pos,
                format!("`{P}.retries` must be a positive whole number, found `{}`", retries.value),
            )),
        }
    }
    Some(Some(probe))
}
