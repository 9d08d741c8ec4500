//! The Kubernetes Service of a Compose service: one port per published or exposed port,
//! type from `kompose.service.type`, selector on the service label. A service other services
//! reach by name (`depends_on`, `links`) but that declares no port gets a warning, since
//! without a Service its name does not resolve in the cluster.

use super::{labels, names, Mapper, Object, ServiceNames};
use crate::compose::Service;
use crate::diag::{Code, Diagnostic};
use k8s_openapi::api::core::v1::{Service as KService, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// The port common server images listen on, for a hint only (never used as a value).
fn well_known_port(image: &str) -> Option<u16> {
    let name = image.rsplit('/').next().unwrap_or(image);
    let name = name.split([':', '@']).next().unwrap_or(name);
    Some(match name {
        "postgres" | "postgis" | "timescaledb" => 5432,
        "mysql" | "mariadb" | "percona" => 3306,
        "redis" | "valkey" | "keydb" => 6379,
        "mongo" | "mongodb" => 27017,
        "memcached" => 11211,
        "rabbitmq" => 5672,
        "elasticsearch" | "opensearch" => 9200,
        "nginx" | "httpd" | "caddy" | "traefik" => 80,
        "zookeeper" => 2181,
        "kafka" | "cp-kafka" => 9092,
        "minio" => 9000,
        "cp-zookeeper" => 2181,
        "cp-schema-registry" => 8081,
        "gotenberg" => 3000,
        "tika" => 9998,
        "grafana" => 3000,
        "prometheus" => 9090,
        "alertmanager" => 9093,
        "loki" => 3100,
        "kibana" => 5601,
        "influxdb" => 8086,
        "cassandra" => 9042,
        "neo4j" => 7687,
        "couchdb" => 5984,
        "solr" => 8983,
        "nats" => 4222,
        "etcd" => 2379,
        "consul" => 8500,
        "vault" => 8200,
        "mailhog" | "mailpit" => 1025,
        "eclipse-mosquitto" | "mosquitto" => 1883,
        "meilisearch" => 7700,
        "typesense" => 8108,
        "qdrant" => 6333,
        "keycloak" | "tomcat" | "jenkins" => 8080,
        "wordpress" | "apache" => 80,
        _ => return None,
    })
}

pub(crate) fn service(
    mapper: &mut Mapper,
    service: &Service,
    names: &ServiceNames,
    annotations: &BTreeMap<String, String>,
    statefulset: bool,
) {
    // Docker reads the mode in any case; a mode it does not know is refused by Swarm and
    // ignored by `docker compose up`.
    let endpoint_dnsrr = service.endpoint_mode.as_ref().is_some_and(|m| m.value.eq_ignore_ascii_case("dnsrr"));
    if let Some(mode) = service
        .endpoint_mode
        .as_ref()
        .filter(|m| !m.value.eq_ignore_ascii_case("dnsrr") && !m.value.eq_ignore_ascii_case("vip"))
    {
        mapper.warn(
            Code::NotConverted,
            mode.pos,
            format!(
                "`deploy.endpoint_mode: {}` is neither `vip` nor `dnsrr`: the Service gets a cluster IP",
                mode.value
            ),
            Some("use `dnsrr` for a headless Service, or remove the key".into()),
        );
    }
    let mut kind = match labels::get(service, "kompose.service.type") {
        // A StatefulSet's governing Service is headless, and so is Swarm's DNS round robin.
        None if statefulset || endpoint_dnsrr => "headless".to_string(),
        None => "clusterip".to_string(),
        Some(label) => {
            let value = label.value.to_ascii_lowercase();
            if !matches!(value.as_str(), "clusterip" | "nodeport" | "loadbalancer" | "headless") {
                mapper.diags.push(
                    Diagnostic::at(
                        Code::KomposeLabel,
                        label.pos,
                        format!("`kompose.service.type: {}` is not a Service type", label.value),
                    )
                    .with_help("use clusterip, nodeport, loadbalancer or headless"),
                );
            }
            value
        }
    };
    let mut ports: Vec<ServicePort> = Vec::new();
    // Positions in `ports` by number and protocol: a range can add tens of thousands.
    let mut index: foldhash::HashMap<(i32, String), usize> = foldhash::HashMap::default();
    let mut clashes: Vec<(i32, String, i32, i32)> = Vec::new();
    let mut push = |port: i32, target: i32, protocol: &str, name: Option<String>, app_protocol: Option<String>| {
        let protocol = protocol.to_ascii_uppercase();
        if let Some(existing) = index.get(&(port, protocol.clone())).map(|&i| &ports[i]) {
            let existing_target = match existing.target_port {
                Some(IntOrString::Int(t)) => t,
                _ => port,
            };
            if existing_target != target {
                clashes.push((port, protocol, existing_target, target));
            }
            return;
        }
        index.insert((port, protocol.clone()), ports.len());
        ports.push(ServicePort {
            name,
            port,
            target_port: Some(IntOrString::Int(target)),
            protocol: Some(protocol),
            app_protocol,
            ..ServicePort::default()
        });
    };
    for p in service.ports.iter().filter(|p| p.target != 0) {
        // A `hostPort` keeps the IP as its `hostIP`.
        let on_node = labels::host_port(service, p).is_some();
        if let Some(ip) = p.host_ip.as_ref().filter(|ip| !on_node && !matches!(ip.as_str(), "0.0.0.0" | "::")) {
            mapper.diags.push(
                Diagnostic::at(
                    Code::HostIpDropped,
                    p.pos,
                    format!(
                        "host IP `{ip}` of port {} is not converted: a Service listens on its cluster IP",
                        match &p.published {
                            Some(published) => format!("{published}:{}", p.target),
                            None => p.target.to_string(),
                        }
                    ),
                )
                .with_help("restrict access with a NetworkPolicy instead"),
            );
        }
        let published = p.published.as_deref().and_then(|s| s.parse::<u16>().ok()).filter(|p| *p != 0);
        if p.published.is_some() && published.is_none() && p.published.as_deref() != Some("0") {
            mapper.diags.push(Diagnostic::at(
                Code::NotConverted,
                p.pos,
                format!(
                    "published range `{}` is not converted; the Service exposes port {}",
                    p.published.as_deref().unwrap_or_default(),
                    p.target
                ),
            ));
        }
        let port = published.unwrap_or(p.target);
        let name = p.name.as_ref().map(|n| n.to_ascii_lowercase()).filter(|n| names::is_dns1123_label(n));
        if let (Some(given), None) = (&p.name, &name) {
            mapper.warn(
                Code::Renamed,
                p.pos,
                format!("port name `{given}` is not a valid Kubernetes port name; the port is named after its number"),
                None,
            );
        }
        // Compose takes any text; Kubernetes an IANA name or a domain-prefixed one.
        let app_protocol = p.app_protocol.clone().filter(|app| {
            let valid = names::is_qualified_name(app);
            if !valid {
                mapper.warn(
                    Code::NotConverted,
                    p.pos,
                    format!("`app_protocol: {app}` of port {} is not converted: Kubernetes takes a name such as `http` or `example.com/proto`", p.target),
                    None,
                );
            }
            valid
        });
        push(i32::from(port), i32::from(p.target), &p.protocol, name, app_protocol);
    }
    for e in service.expose.iter().filter(|e| e.port != 0) {
        push(i32::from(e.port), i32::from(e.port), &e.protocol, None, None);
    }
    for (port, protocol, first, second) in clashes {
        mapper.diags.push(
            Diagnostic::at(
                Code::InvalidPort,
                service.pos,
                format!(
                    "port {port}/{protocol} of `{}` is published twice, to container ports {first} and {second}",
                    service.name
                ),
            )
            .with_help("publish each host port once; Compose refuses this too when the containers start"),
        );
    }
    // Port names: the port number, or `<port>-<protocol>` when one number has two protocols.
    let counts: BTreeMap<i32, usize> = ports.iter().fold(BTreeMap::new(), |mut m, p| {
        *m.entry(p.port).or_default() += 1;
        m
    });
    let given: BTreeMap<String, usize> =
        ports.iter().filter_map(|p| p.name.clone()).fold(BTreeMap::new(), |mut m, n| {
            *m.entry(n).or_default() += 1;
            m
        });
    for (given_name, _) in given.iter().filter(|(_, count)| **count > 1) {
        let numbers: Vec<String> =
            ports.iter().filter(|p| p.name.as_ref() == Some(given_name)).map(|p| p.port.to_string()).collect();
        let pos = service
            .ports
            .iter()
            .find(|p| p.name.as_ref().is_some_and(|n| n.eq_ignore_ascii_case(given_name)))
            .map_or(service.pos, |p| p.pos);
        mapper.warn(
            Code::Renamed,
            pos,
            format!(
                "port name `{given_name}` is given to ports {}; port names must be unique in a Service, so each is named after its number",
                numbers.join(", ")
            ),
            Some("give each port its own name".into()),
        );
    }
    // Names in use: the given ones kept, then each generated one; a generated name that a
    // given one already holds (`name: "80"` on another port) takes a suffix.
    let mut taken: std::collections::BTreeSet<String> =
        ports.iter().filter_map(|p| p.name.clone()).filter(|n| given.get(n) == Some(&1)).collect();
    for p in &mut ports {
        let proto = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
        if p.name.as_ref().is_some_and(|n| given.get(n) == Some(&1)) {
            continue;
        }
        let base = if counts[&p.port] > 1 { format!("{}-{proto}", p.port) } else { p.port.to_string() };
        let name = std::iter::once(base.clone())
            .chain(std::iter::once(format!("{}-{proto}", p.port)))
            .chain((2..).map(|i| format!("{base}-{i}")))
            .find(|n| !taken.contains(n))
            .expect("some suffix is free");
        taken.insert(name.clone());
        p.name = Some(name);
    }
    if statefulset && kind != "headless" {
        mapper.warn(
            Code::NotConverted,
            service.pos,
            format!(
                "`{}` runs as a StatefulSet, whose Service must be headless: its `kompose.service.type` is not used",
                service.name
            ),
            None,
        );
        kind = "headless".to_string();
    }
    if ports.is_empty() && kind != "headless" {
        for key in [
            "kompose.service.type",
            "kompose.service.expose",
            "kompose.service.expose.tls-secret",
            "kompose.service.expose.ingress-class-name",
            "kompose.service.external-traffic-policy",
            "kompose.service.nodeport.port",
        ] {
            if let Some(label) = labels::get(service, key) {
                mapper.warn(
                    Code::NotConverted,
                    label.pos,
                    format!("`{key}` is not converted: `{}` declares no port, so it gets no Service", service.name),
                    Some("add `ports` or `expose`".into()),
                );
            }
        }
        for alias in &service.network_aliases {
            mapper.warn(
                Code::NotConverted,
                alias.pos,
                format!(
                    "network alias `{}` is not converted: `{}` declares no port, so it gets no Service",
                    alias.value, service.name
                ),
                Some("add `ports` or `expose`".into()),
            );
        }
        let referrers: Vec<&str> = mapper.referrers.get(service.name.as_str()).cloned().unwrap_or_default();
        // A task that runs once (a migration, a seeder) is waited for, not connected to.
        if !referrers.is_empty() && !super::runs_once(service) {
            mapper.warn(
                Code::NoServiceDns,
                service.pos,
                format!(
                    "{} `{}` by name, but `{}` declares no port, so no Kubernetes Service is created and the name will not resolve",
                    crate::diag::who_reach(&referrers),
                    service.name,
                    service.name
                ),
                Some(match labels::traefik_port(service) {
                    Some(port) => format!(
                        "add the port it listens on under `services.{}`: its Traefik label says `expose: [\"{port}\"]`",
                        service.name
                    ),
                    None => match well_known_port(service.image.as_ref().map(|i| i.value.as_str()).unwrap_or_default()) {
                    Some(port) => format!(
                        "add the port it listens on under `services.{}`: for this image usually `expose: [\"{port}\"]`",
                        service.name
                    ),
                    None => format!("add the port it listens on: `expose: [\"<port>\"]` under `services.{}`", service.name),
                    },
                }),
            );
        }
        return;
    }
    // Cluster DNS knows the Service's name only: a Compose name the Service does not have
    // (`my_db`, an override) does not resolve for the services that use it.
    let referrers: Vec<&str> = mapper.referrers.get(service.name.as_str()).cloned().unwrap_or_default();
    // DNS ignores case: `MyDB` finds the Service `mydb`.
    if !names.object.eq_ignore_ascii_case(&service.name) && !referrers.is_empty() {
        mapper.warn(
            Code::RenamedReached,
            service.pos,
            format!(
                "{} `{}` by name, but its Service is named `{}` in Kubernetes, where `{}` does not resolve",
                crate::diag::who_reach(&referrers),
                service.name,
                names.object,
                service.name
            ),
            Some(format!(
                "connect to `{}` instead (in their environment, commands and configuration), or rename the service to `{}`",
                names.object, names.object
            )),
        );
    }
    if kind != "headless" {
        unforwarded_ports(mapper, service, names, &ports);
    }
    let selector = super::service_labels(names);
    let mut spec = ServiceSpec { selector: Some(selector.clone()), ..ServiceSpec::default() };
    if !ports.is_empty() {
        spec.ports = Some(ports);
    }
    match kind.as_str() {
        "nodeport" => spec.type_ = Some("NodePort".into()),
        "loadbalancer" => spec.type_ = Some("LoadBalancer".into()),
        "headless" => spec.cluster_ip = Some("None".into()),
        _ => {}
    }
    if let Some(label) = labels::get(service, "kompose.service.nodeport.port") {
        let ports = spec.ports.get_or_insert_with(Vec::new);
        match label.value.parse::<i32>() {
            Ok(n) if kind == "nodeport" && ports.len() == 1 && (1..=65535).contains(&n) => {
                if !(30000..=32767).contains(&n) {
                    mapper.warn(
                        Code::NotConverted,
                        label.pos,
                        format!("node port {n} is outside 30000-32767, the default range: most clusters refuse it"),
                        Some("use a port in the cluster's node port range (`--service-node-port-range`)".into()),
                    );
                }
                ports[0].node_port = Some(n)
            }
            _ => mapper.diags.push(
                Diagnostic::at(
                    Code::KomposeLabel,
                    label.pos,
                    format!("`kompose.service.nodeport.port: {}` needs `kompose.service.type: nodeport`, exactly one port, and a port number", label.value),
                )
                .with_help("node ports are usually 30000-32767"),
            ),
        }
    }
    if let Some(label) = labels::get(service, "kompose.service.external-traffic-policy") {
        let value = match label.value.to_ascii_lowercase().as_str() {
            "cluster" => Some("Cluster"),
            "local" => Some("Local"),
            _ => None,
        };
        match (value, kind.as_str()) {
            (Some(v), "nodeport" | "loadbalancer") => spec.external_traffic_policy = Some(v.into()),
            (Some(_), _) => mapper.warn(
                Code::NotConverted,
                label.pos,
                "`kompose.service.external-traffic-policy` applies only to NodePort and LoadBalancer Services".into(),
                None,
            ),
            (None, _) => mapper.diags.push(Diagnostic::at(
                Code::KomposeLabel,
                label.pos,
                format!("`kompose.service.external-traffic-policy: {}` must be cluster or local", label.value),
            )),
        }
    }
    let first_port = spec.ports.as_ref().and_then(|p| p.first()).map(|p| p.port);
    super::ingress::ingress(mapper, service, names, first_port, annotations, kind == "loadbalancer");
    let object = KService {
        metadata: ObjectMeta {
            name: Some(names.object.clone()),
            labels: Some(selector),
            annotations: (!annotations.is_empty()).then(|| annotations.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        ..KService::default()
    };
    aliases(mapper, service, names, &object);
    mapper.add(Object::new("Service", &names.object, &object, Some(service.pos)));
}

/// One more Service per network alias, with the service's pods and ports, so that the alias
/// resolves in the cluster as it does on the Compose network. Always inside the cluster
/// (ClusterIP, or headless like the service's own): the alias is a name, not an entry point.
fn aliases(mapper: &mut Mapper, service: &Service, names: &ServiceNames, own: &KService) {
    for alias in &service.network_aliases {
        let name = alias.value.to_ascii_lowercase();
        if name == names.object {
            continue;
        }
        if let Some(problem) = alias_problem(mapper, &name) {
            mapper.warn(
                Code::NotConverted,
                alias.pos,
                format!("network alias `{}` of `{}` is not converted: {problem}", alias.value, service.name),
                None,
            );
            continue;
        }
        mapper.add(Object::new("Service", &name, &alias_service(own, &name), Some(alias.pos)));
    }
    container_name(mapper, service, names, own);
}

/// A Service for the `container_name` other services reach this one by: on the Compose
/// network the container name resolves, in the cluster only a Service name does. Made only
/// when some service uses the name ([`super::reach`]); when the name cannot be a Service's,
/// K218 says which name to use instead.
fn container_name(mapper: &mut Mapper, service: &Service, names: &ServiceNames, own: &KService) {
    let Some(refs) = mapper.container_refs.get(service.name.as_str()) else { return };
    let Some(container) = &service.container_name else { return };
    let name = container.value.to_ascii_lowercase();
    if name == names.object || service.network_aliases.iter().any(|a| a.value.eq_ignore_ascii_case(&name)) {
        return;
    }
    let first = refs[0].clone();
    let mut users: Vec<&str> = refs.iter().map(|r| r.from).collect();
    users.dedup();
    match alias_problem(mapper, &name) {
        None => mapper.add(Object::new("Service", &name, &alias_service(own, &name), Some(container.pos))),
        Some(problem) => {
            let place = first.place();
            mapper.warn(
                Code::RenamedReached,
                first.pos,
                format!(
                    "{} `{}` by its container name `{}` ({place}), which does not resolve in Kubernetes: {problem}",
                    crate::diag::who_reach(&users),
                    service.name,
                    first.name,
                ),
                Some(format!("use the Service name `{}` instead of `{}`", names.object, first.name)),
            );
        }
    }
}

/// Why `name` cannot be one more Service of a service, if it cannot.
fn alias_problem(mapper: &Mapper, name: &str) -> Option<String> {
    if !names::is_dns1035_label(name) {
        Some("a Service name is a DNS label: letters, digits and `-`, starting with a letter, at most 63 characters (a name with a `.` would be read as a Service in another namespace)".to_string())
    } else if let Some(other) = mapper
        .project
        .services
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name) || mapper.workloads.get(&s.name).is_some_and(|w| *w == name))
    {
        Some(format!("it is the name of service `{}`", other.name))
    } else if mapper.has("Service", name) {
        Some("another service has this alias too, and one Service cannot select two services' pods".to_string())
    } else {
        None
    }
}

/// A Service named `name` for the pods and ports of `own`.
fn alias_service(own: &KService, name: &str) -> KService {
    let spec = own.spec.as_ref().map(|spec| ServiceSpec {
        selector: spec.selector.clone(),
        ports: spec
            .ports
            .clone()
            .map(|ports| ports.into_iter().map(|p| ServicePort { node_port: None, ..p }).collect()),
        cluster_ip: spec.cluster_ip.clone(),
        ..ServiceSpec::default()
    });
    KService {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: own.metadata.labels.clone(),
            ..ObjectMeta::default()
        },
        spec,
        ..KService::default()
    }
}

/// K221: a service reaches this one on a port its Service does not forward. On a Compose
/// network every port of a container is reachable (`web:80` with `ports: ["8080:80"]`); a
/// ClusterIP Service forwards only its own ports (here 8080). Once per port, naming the
/// services that use it.
fn unforwarded_ports(mapper: &mut Mapper, service: &Service, names: &ServiceNames, ports: &[ServicePort]) {
    let Some(refs) = mapper.port_refs.get(service.name.as_str()) else { return };
    let mut missing: Vec<(u16, Vec<&str>, crate::diag::Pos, String)> = Vec::new();
    for r in refs {
        let Some(port) = r.port else { continue };
        if ports.iter().any(|p| p.port == i32::from(port)) {
            continue;
        }
        match missing.iter_mut().find(|(p, ..)| *p == port) {
            Some((_, users, ..)) => {
                if !users.contains(&r.from) {
                    users.push(r.from)
                }
            }
            None => missing.push((port, vec![r.from], r.pos, r.place())),
        }
    }
    let listens: Vec<String> = ports
        .iter()
        .map(|p| match &p.target_port {
            Some(IntOrString::Int(t)) if *t != p.port => format!("{} (to {t})", p.port),
            _ => p.port.to_string(),
        })
        .collect();
    for (port, users, pos, place) in missing {
        mapper.warn(
            Code::UnforwardedPort,
            pos,
            format!(
                "{} `{}` on port {port} ({place}), but its Service `{}` listens on {} only: in Kubernetes only the Service's ports are reachable",
                crate::diag::who_reach(&users),
                service.name,
                names.object,
                listens.join(", ")
            ),
            Some(format!("add `expose: [\"{port}\"]` under `services.{}`, or connect to a port the Service listens on", service.name)),
        );
    }
}
