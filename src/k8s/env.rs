//! A service's environment: `environment` entries become the container's `env` (in file
//! order), each `env_file` becomes a ConfigMap referenced through `envFrom` (in file order).
//! Kubernetes gives `env` precedence over `envFrom` and later `envFrom` sources precedence
//! over earlier ones, which is exactly Compose's rule (Kompose gets this backwards).

use super::{names, Mapper, Object, ServiceNames, SERVICE_LABEL};
use crate::compose::Service;
use crate::diag::{Code, Diagnostic};
use k8s_openapi::api::core::v1::{ConfigMap, ConfigMapEnvSource, Container, EnvFromSource, EnvVar};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// Labels for an object shared by services: `io.kompose.service: <object name>`, as Kompose
/// labels PVCs and env ConfigMaps.
pub(crate) fn own_labels(name: &str) -> Option<BTreeMap<String, String>> {
    names::is_label_value(name).then(|| BTreeMap::from([(SERVICE_LABEL.to_string(), name.to_string())]))
}

impl Mapper<'_> {
    pub(crate) fn environment(&mut self, service: &Service, names: &ServiceNames, container: &mut Container) {
        let mut env = Vec::new();
        for var in &service.environment {
            match &var.value {
                Some(value) => env.push(EnvVar {
                    name: var.name.clone(),
                    value: Some(super::workload::escape_dollars(value)),
                    ..EnvVar::default()
                }),
                None => self.warn(
                    Code::EnvUnresolved,
                    var.pos,
                    format!("`{}` has no value here and is not set in the environment or `.env`, so the container does not get it", var.name),
                    Some(format!("give it a value (`{}=...`) or set it before running kompile", var.name)),
                ),
            }
        }
        if !env.is_empty() {
            container.env = Some(env);
        }
        let mut from = Vec::new();
        for file in &service.env_files {
            let Some(vars) = &file.vars else { continue };
            let name = names::env_file_configmap(&file.path, &names.object);
            for key in vars.keys() {
                if !names::is_config_key(key) {
                    self.diags.push(
                        Diagnostic::at(
                            Code::InvalidName,
                            file.pos,
                            format!("env file `{}` sets `{key}`, which is not a valid ConfigMap key", file.path),
                        )
                        .with_help("ConfigMap keys may contain only letters, digits, `-`, `_` and `.`"),
                    );
                }
            }
            let data: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let object = ConfigMap {
                metadata: ObjectMeta { name: Some(name.clone()), labels: own_labels(&name), ..ObjectMeta::default() },
                data: Some(data),
                ..ConfigMap::default()
            };
            self.add(Object::new("ConfigMap", &name, &object, Some(file.pos)));
            from.push(EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource { name: name.clone(), optional: None }),
                ..EnvFromSource::default()
            });
        }
        if !from.is_empty() {
            container.env_from = Some(from);
        }
    }
}
