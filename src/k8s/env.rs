//! A service's environment: `environment` entries become the container's `env` (in file
//! order), each `env_file` becomes a ConfigMap referenced through `envFrom` (in file order).
//! Kubernetes gives `env` precedence over `envFrom` and later `envFrom` sources precedence
//! over earlier ones, which is exactly Compose's rule (Kompose gets this backwards).

use super::{names, Mapper, Object, ServiceNames, SERVICE_LABEL};
use crate::compose::config::{looks_secret, url_password};
use crate::compose::Service;
use crate::diag::{Code, Diagnostic};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapEnvSource, Container, EnvFromSource, EnvVar, EnvVarSource, Secret, SecretKeySelector,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use std::collections::BTreeMap;

/// Labels for an object shared by services: `io.kompose.service: <object name>`, as Kompose
/// labels PVCs and env ConfigMaps.
pub(crate) fn own_labels(name: &str) -> Option<BTreeMap<String, String>> {
    names::is_label_value(name).then(|| BTreeMap::from([(SERVICE_LABEL.to_string(), name.to_string())]))
}

/// Whether a secret-looking variable's value could be a secret: an empty value or a switch
/// (`MYSQL_RANDOM_ROOT_PASSWORD=yes`) is not worth a warning.
fn holds_secret(value: &str) -> bool {
    let v = value.trim();
    !v.is_empty() && !["true", "false", "yes", "no", "on", "off", "0", "1"].iter().any(|b| v.eq_ignore_ascii_case(b))
}

/// Whether a variable is kept out of plain text by `--secret-env`: its name looks secret, or
/// its value is a URL with a password (`DATABASE_URL=postgres://app:s3cret@db/app`).
fn is_secret(name: &str, value: &str) -> bool {
    looks_secret(name) || url_password(value).is_some()
}

impl Mapper<'_> {
    /// Report a variable that looks secret and holds a value worth hiding (with
    /// `--secret-env` it has been moved into a Secret instead).
    fn secret_looking(&mut self, name: &str, value: &str, pos: crate::diag::Pos, place: &str) {
        let what = if looks_secret(name) && holds_secret(value) {
            "looks like a secret, and its value"
        } else if url_password(value).is_some() {
            "holds a URL with a password, which"
        } else {
            return;
        };
        self.warn(
            Code::SecretInPlainText,
            pos,
            format!("`{name}` {what} would be stored in plain text in {place}"),
            Some("pass `--secret-env` to store such variables in a Secret, or use Compose `secrets:`".into()),
        );
    }

    pub(crate) fn environment(&mut self, service: &Service, names: &ServiceNames, container: &mut Container) {
        let mut env = Vec::new();
        // Variables listed without a value that the environment does not set: one note per
        // service, however many (some projects pass hundreds through).
        let mut unset = Vec::new();
        // The name of the service's Secret, worked out only when a variable goes there.
        let secret_name = || super::storage::derived(&names.object, "secret-env");
        let mut secret_data: BTreeMap<String, ByteString> = BTreeMap::new();
        for var in &service.environment {
            if !names::is_env_var_name(&var.name) {
                let d = Diagnostic::at(
                    Code::InvalidName,
                    var.pos,
                    format!("`{}` is not a valid environment variable name in Kubernetes", var.name),
                )
                .with_help("a name must not be empty and may hold printable ASCII characters except `=`");
                self.diags.push(d);
                continue;
            }
            match &var.value {
                Some(value) if self.options.secret_env && is_secret(&var.name, value) => {
                    secret_data.insert(var.name.clone(), ByteString(value.clone().into_bytes()));
                    env.push(EnvVar {
                        name: var.name.clone(),
                        value_from: Some(EnvVarSource {
                            secret_key_ref: Some(SecretKeySelector {
                                key: var.name.clone(),
                                name: secret_name(),
                                optional: None,
                            }),
                            ..EnvVarSource::default()
                        }),
                        ..EnvVar::default()
                    });
                }
                Some(value) => {
                    self.secret_looking(&var.name, value, var.pos, "the pod spec");
                    // An empty value is left out, as Kompose writes it: the API server reads
                    // no value as the empty string.
                    env.push(EnvVar {
                        name: var.name.clone(),
                        value: (!value.is_empty()).then(|| super::workload::escape_dollars(value)),
                        ..EnvVar::default()
                    })
                }
                None => unset.push(var),
            }
        }
        match unset.as_slice() {
            [] => {}
            [var] => self.warn(
                Code::EnvUnresolved,
                var.pos,
                format!("`{}` has no value here and is not set in the environment or `.env`, so the container does not get it", var.name),
                Some(format!("give it a value (`{}=...`) or set it before running kompile", var.name)),
            ),
            [first, ..] => {
                let names: Vec<&str> = unset.iter().map(|v| v.name.as_str()).collect();
                self.warn(
                    Code::EnvUnresolved,
                    first.pos,
                    format!(
                        "`{}` lists {} variables without a value that are not set in the environment or `.env`, so the container does not get them: {}",
                        service.name,
                        names.len(),
                        crate::diag::name_list(&names)
                    ),
                    Some("give them values, or set them before running kompile".into()),
                );
            }
        }
        let mut from = Vec::new();
        for file in &service.env_files {
            let Some(vars) = &file.vars else { continue };
            // Secret-looking variables: reported, or (with --secret-env) moved to the
            // service's Secret unless `environment` sets them anyway.
            let mut vars = vars.clone();
            let mut secret_looking = Vec::new();
            let secret_keys: Vec<String> =
                vars.iter().filter(|(k, v)| is_secret(k, v)).map(|(k, _)| k.clone()).collect();
            for key in secret_keys {
                if self.options.secret_env {
                    let value = vars.shift_remove(&key).unwrap_or_default();
                    if !service.environment.iter().any(|e| e.name == key) {
                        secret_data.insert(key.clone(), ByteString(value.into_bytes()));
                        env.push(EnvVar {
                            name: key.clone(),
                            value_from: Some(EnvVarSource {
                                secret_key_ref: Some(SecretKeySelector {
                                    key: key.clone(),
                                    name: secret_name(),
                                    optional: None,
                                }),
                                ..EnvVarSource::default()
                            }),
                            ..EnvVar::default()
                        });
                    }
                } else {
                    secret_looking.push(key);
                }
            }
            let data: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let config_map = |name: &str| {
                let object = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(name.to_string()),
                        labels: own_labels(name),
                        ..ObjectMeta::default()
                    },
                    data: Some(data.clone()),
                    ..ConfigMap::default()
                };
                Object::new("ConfigMap", name, &object, Some(file.pos))
            };
            // A file several services read is one ConfigMap, unless its values differ between
            // them (`${VAR}` filled from each service's `environment`): then each service
            // whose values differ from the first one's gets its own, `<service>-<file>`.
            let mut name = names::env_file_configmap(&file.path, &names.object);
            let mut object = config_map(&name);
            if self.differs(&object) {
                name = super::storage::derived(&names.object, &name);
                object = config_map(&name);
            }
            // Its problems are reported once, at the first service's `env_file`.
            if self.reported_env_files.insert(name.clone()) {
                for key in &secret_looking {
                    let value = vars.get(key).cloned().unwrap_or_default();
                    self.secret_looking(key, &value, file.pos, &format!("the ConfigMap made from `{}`", file.path));
                }
                for key in vars.keys().filter(|key| !names::is_config_key(key)) {
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
            self.add(object);
            from.push(EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource { name: name.clone(), optional: None }),
                ..EnvFromSource::default()
            });
        }
        if !from.is_empty() {
            container.env_from = Some(from);
        }
        if !env.is_empty() {
            container.env = Some(env);
        }
        if !secret_data.is_empty() {
            let secret_name = secret_name();
            let object = Secret {
                metadata: ObjectMeta {
                    name: Some(secret_name.clone()),
                    labels: Some(super::service_labels(names)),
                    ..ObjectMeta::default()
                },
                type_: Some("Opaque".into()),
                data: Some(secret_data),
                ..Secret::default()
            };
            self.add(Object::new("Secret", &secret_name, &object, Some(service.pos)));
        }
    }
}
