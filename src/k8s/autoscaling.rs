//! `kompose.hpa.*`: a HorizontalPodAutoscaler (`autoscaling/v2`) for the service's workload.
//! Unlike Kompose it targets the workload's real kind, emits only the metrics asked for
//! (CPU at 50% when none is), and refuses a memory target that is not a percentage.

use super::{labels, Mapper, Object, ServiceNames};
use crate::compose::Service;
use crate::diag::{Code, Diagnostic};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn metric(name: &str, percent: i32) -> MetricSpec {
    MetricSpec {
        type_: "Resource".into(),
        resource: Some(ResourceMetricSource {
            name: name.into(),
            target: MetricTarget {
                type_: "Utilization".into(),
                average_utilization: Some(percent),
                ..MetricTarget::default()
            },
        }),
        ..MetricSpec::default()
    }
}

pub(crate) fn autoscaler(mapper: &mut Mapper, service: &Service, names: &ServiceNames, kind: &str) {
    let keys = ["kompose.hpa.replicas.min", "kompose.hpa.replicas.max", "kompose.hpa.cpu", "kompose.hpa.memory"];
    if !keys.iter().any(|k| labels::get(service, k).is_some()) {
        return;
    }
    if !matches!(kind, "Deployment" | "StatefulSet") {
        if let Some(label) = keys.iter().find_map(|k| labels::get(service, k)) {
            mapper.warn(
                Code::NotConverted,
                label.pos,
                format!("`kompose.hpa.*` is not converted: a {kind} cannot be scaled"),
                None,
            );
        }
        return;
    }
    let mut number = |key: &str, range: std::ops::RangeInclusive<i32>| -> Option<i32> {
        let label = labels::get(service, key)?;
        match label.value.trim().trim_end_matches('%').parse::<i32>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                mapper.diags.push(Diagnostic::at(
                    Code::KomposeLabel,
                    label.pos,
                    format!(
                        "`{key}: {}` must be a whole number from {} to {}",
                        label.value,
                        range.start(),
                        range.end()
                    ),
                ));
                None
            }
        }
    };
    let min = number("kompose.hpa.replicas.min", 1..=i32::MAX).unwrap_or(1);
    let max = number("kompose.hpa.replicas.max", 1..=i32::MAX).unwrap_or(3.max(min));
    let cpu = number("kompose.hpa.cpu", 1..=100);
    let memory = number("kompose.hpa.memory", 1..=100);
    let max = if max < min {
        if let Some(label) = labels::get(service, "kompose.hpa.replicas.max") {
            mapper.warn(
                Code::NotConverted,
                label.pos,
                format!("`kompose.hpa.replicas.max` is below the minimum; {min} is used"),
                None,
            );
        }
        min
    } else {
        max
    };
    // Utilization is measured against requests: without them the autoscaler cannot act.
    let requests_of = |resource: &str| {
        service.reservations.cpus.is_some() && resource == "cpu"
            || service.reservations.memory.is_some() && resource == "memory"
    };
    for (resource, wanted) in [("cpu", cpu.is_some() || memory.is_none()), ("memory", memory.is_some())] {
        if wanted && !requests_of(resource) {
            if let Some(label) = keys.iter().find_map(|k| labels::get(service, k)) {
                mapper.warn(
                    Code::NotConverted,
                    label.pos,
                    format!(
                        "the autoscaler's {resource} target needs a {resource} request, and `{}` sets none",
                        service.name
                    ),
                    Some(format!(
                        "set `deploy.resources.reservations.{}`",
                        if resource == "cpu" { "cpus" } else { "memory" }
                    )),
                );
            }
        }
    }
    let mut metrics = Vec::new();
    if cpu.is_some() || memory.is_none() {
        metrics.push(metric("cpu", cpu.unwrap_or(50)));
    }
    if let Some(m) = memory {
        metrics.push(metric("memory", m));
    }
    let object = HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some(names.object.clone()),
            labels: Some(super::service_labels(names)),
            ..ObjectMeta::default()
        },
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: kind.into(),
                name: if kind == "StatefulSet" {
                    super::names::stateful_set_name(&names.object)
                } else {
                    names.object.clone()
                },
            },
            min_replicas: Some(min),
            max_replicas: max,
            metrics: Some(metrics),
            ..HorizontalPodAutoscalerSpec::default()
        }),
        ..HorizontalPodAutoscaler::default()
    };
    mapper.add(Object::new("HorizontalPodAutoscaler", &names.object, &object, Some(service.pos)));
}
