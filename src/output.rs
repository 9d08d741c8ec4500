//! Rendering objects: one multi-document YAML stream, one file per object
//! (`<name>-<kind>.yaml`, as Kompose names them), or JSON (a `v1` `List` for a single stream).
//! Pure functions from objects to text; writing to disk belongs to the caller.

use crate::k8s::Object;
use crate::value::{Map, Value};
use crate::yaml::{to_yaml, write_yaml};
use serde::Serialize;

/// Every object as one YAML stream, each document introduced by `---`.
///
/// A large project's objects are cut into [`PIECES`] pieces of about equal work, rendered
/// from both ends at once ([`crate::par::from_both_ends`]): this thread writes the first
/// pieces into the stream, a second thread renders the last ones, and the two meet wherever
/// the slower one has got to.
pub fn yaml_stream(objects: &[Object], indent: usize) -> String {
    let large = objects.len() >= crate::par::LARGE;
    let pieces = if large { cut_by_weight(objects, PIECES) } else { vec![objects] };
    let (mut out, rest) = crate::par::from_both_ends(
        large,
        &pieces,
        String::new(),
        |out, piece| render_into(out, piece, indent),
        |piece| rendered(piece, indent),
    );
    out.reserve(rest.iter().map(String::len).sum());
    for text in rest {
        out.push_str(&text);
    }
    out
}

/// How many pieces of about equal work a large project's objects are cut into to be rendered
/// on two threads: enough that neither waits long for the other's last one.
const PIECES: usize = 64;

/// `objects` as YAML documents, each introduced by `---`, added to `out`.
fn render_into(out: &mut String, objects: &[Object], indent: usize) {
    for object in objects {
        out.push_str("---\n");
        write_yaml(out, &object.value, indent);
    }
}

/// [`render_into`] a text of their own.
fn rendered(objects: &[Object], indent: usize) -> String {
    let mut text = String::new();
    render_into(&mut text, objects, indent);
    text
}

/// [`yaml_stream`] written to `out` as it is rendered, byte for byte the same, never held
/// whole. For a large project the objects are cut into pieces of about equal work, which this
/// thread and a second one claim in order, whichever is free: this thread writes them out in
/// order, its own as it renders them when they are next, the second thread's (handed over)
/// when their turn comes. Neither renders more than [`AHEAD`] pieces past the one to be
/// written next, so few wait in memory.
pub fn write_yaml_stream(objects: &[Object], indent: usize, out: &mut impl std::io::Write) -> std::io::Result<()> {
    // Bytes rendered before they are written out; pieces the objects are cut into (smaller
    // than `yaml_stream`'s, so that the pieces waiting to be written hold less).
    write_yaml_stream_in(objects, indent, out, 64 << 10, 2 * PIECES)
}

/// How many rendered pieces may wait to be written, on each thread.
const AHEAD: usize = 4;

fn write_yaml_stream_in(
    objects: &[Object],
    indent: usize,
    out: &mut impl std::io::Write,
    write: usize,
    pieces: usize,
) -> std::io::Result<()> {
    let mut write_out = |chunk: &mut String| {
        out.write_all(chunk.as_bytes())?;
        chunk.clear();
        Ok(())
    };
    if objects.len() < crate::par::LARGE || crate::par::sequential() || pieces < 2 {
        return render_chunks(objects, indent, write, write_out);
    }
    let pieces = cut_by_weight(objects, pieces);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let claim = || Some(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)).filter(|&k| k < pieces.len());
    let (claim, pieces) = (&claim, &pieces);
    std::thread::scope(|scope| {
        let (handed, taken) = std::sync::mpsc::sync_channel::<(usize, String)>(AHEAD);
        // When no thread can be started, this closure (and the channel's sending end) is
        // dropped, and this thread claims every piece itself, in order.
        let _ = std::thread::Builder::new().spawn_scoped(scope, move || {
            while let Some(k) = claim() {
                // A closed channel: this thread stopped writing (an error), so stop too.
                if handed.send((k, rendered(pieces[k], indent))).is_err() {
                    break;
                }
            }
        });
        // Pieces rendered and not yet written, by number.
        let mut waiting: std::collections::BTreeMap<usize, String> = std::collections::BTreeMap::new();
        let mut written = 0;
        while written < pieces.len() {
            if let Some(mut text) = waiting.remove(&written) {
                write_out(&mut text)?;
                written += 1;
                continue;
            }
            if waiting.len() < AHEAD {
                if let Some(k) = claim() {
                    if k == written {
                        render_chunks(pieces[k], indent, write, &mut write_out)?;
                        written += 1;
                    } else {
                        waiting.insert(k, rendered(pieces[k], indent));
                    }
                    continue;
                }
            }
            // The next piece is the second thread's. A closed channel means it panicked,
            // which `scope` passes on when it ends.
            let Ok((k, text)) = taken.recv() else { break };
            waiting.insert(k, text);
        }
        Ok(())
    })
}

/// `objects` cut into `count` consecutive pieces of about equal [`Object::weight`] (fewer
/// when there are fewer objects; none empty).
fn cut_by_weight(objects: &[Object], count: usize) -> Vec<&[Object]> {
    let total: usize = objects.iter().map(Object::weight).sum();
    let per_piece = total.div_ceil(count.max(1)).max(1);
    let mut pieces = Vec::with_capacity(count);
    let (mut start, mut weight) = (0, 0);
    for (i, object) in objects.iter().enumerate() {
        weight += object.weight();
        if weight >= per_piece {
            pieces.push(&objects[start..=i]);
            (start, weight) = (i + 1, 0);
        }
    }
    if start < objects.len() {
        pieces.push(&objects[start..]);
    }
    pieces
}

/// Render `objects` as YAML documents into a buffer, handing it to `flush` whenever it holds
/// `chunk` bytes or more, and once at the end.
fn render_chunks(
    objects: &[Object],
    indent: usize,
    chunk: usize,
    mut flush: impl FnMut(&mut String) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buf = String::with_capacity(chunk + chunk / 8);
    for object in objects {
        buf.push_str("---\n");
        write_yaml(&mut buf, &object.value, indent);
        if buf.len() >= chunk {
            flush(&mut buf)?;
        }
    }
    if !buf.is_empty() {
        flush(&mut buf)?;
    }
    Ok(())
}

/// Every object in one JSON document: a `v1` `List`, which `kubectl apply -f` accepts.
pub fn json_list(objects: &[Object], indent: usize) -> String {
    // Keys in sorted order, as every map is written.
    #[derive(Serialize)]
    struct List<'a> {
        #[serde(rename = "apiVersion")]
        api_version: &'static str,
        items: Vec<&'a Value>,
        kind: &'static str,
    }
    let list = List { api_version: "v1", items: objects.iter().map(|o| &o.value).collect(), kind: "List" };
    json_text(&list, indent)
}

/// A value built with `serde_json::json!`, for the few fixed documents written here.
fn from_json(value: serde_json::Value) -> Value {
    Value::from_serialize(&value).expect("JSON values have string keys")
}

fn json_text(value: &impl Serialize, indent: usize) -> String {
    let indent_str = " ".repeat(indent.max(1));
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent_str.as_bytes());
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    serde::Serialize::serialize(value, &mut ser).expect("a JSON value always serialises");
    let mut text = String::from_utf8(buf).expect("serde_json writes UTF-8");
    text.push('\n');
    text
}

/// One rendered output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub name: String,
    pub contents: String,
    /// Holds a Secret: written readable by the owner only.
    pub secret: bool,
}

/// The file name of an object: `<name>-<kind in lower case>.<yaml|json>`.
pub fn file_name(object: &Object, json: bool) -> String {
    format!("{}-{}.{}", object.name, object.kind.to_ascii_lowercase(), if json { "json" } else { "yaml" })
}

/// One file per object.
pub fn per_object_files(objects: &[Object], indent: usize, json: bool) -> Vec<OutputFile> {
    objects
        .iter()
        .map(|object| OutputFile {
            name: file_name(object, json),
            contents: if json { json_text(&object.value, indent) } else { to_yaml(&object.value, indent) },
            secret: object.secret,
        })
        .collect()
}

/// A Kustomize base: one file per object plus `kustomization.yaml` listing them, with a
/// `managed-by` label added to object metadata only (never to selectors, which are
/// immutable).
pub fn kustomize(objects: &[Object], indent: usize) -> Vec<OutputFile> {
    let mut files = per_object_files(objects, indent, false);
    let resources: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let kustomization = from_json(serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
        "labels": [{
            "pairs": {MANAGED_BY_LABEL: "kompile"},
            "includeSelectors": false,
            "includeTemplates": false,
        }],
    }));
    files.push(OutputFile {
        name: "kustomization.yaml".into(),
        contents: to_yaml(&kustomization, indent),
        secret: false,
    });
    files
}

/// The label a Kustomize base adds to every object.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// Placeholders put into objects before rendering, then replaced by template expressions.
/// The token prefix is chosen so that it occurs nowhere in the object's own text.
struct Placeholders {
    prefix: String,
    pairs: Vec<(String, String)>,
}

impl Placeholders {
    fn for_object(value: &Value) -> Placeholders {
        let text = serde_json::to_string(value).expect("values serialise to JSON");
        let mut prefix = "KOMPILEPLACEHOLDER".to_string();
        while text.contains(&prefix) {
            prefix.push('Z');
        }
        Placeholders { prefix, pairs: Vec::new() }
    }

    fn add(&mut self, expression: String) -> Value {
        let token = format!("{}{}X", self.prefix, self.pairs.len());
        self.pairs.push((token.clone(), expression));
        Value::from(token)
    }

    /// Escape the object's own `{{` (Helm would evaluate it), then insert the expressions.
    fn apply(&self, text: &str) -> String {
        let mut out = text.replace("{{", "{{ \"{{\" }}");
        // Longest tokens first, so `...1X` never matches inside `...11X`.
        let mut pairs: Vec<&(String, String)> = self.pairs.iter().collect();
        pairs.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        for (token, expression) in pairs {
            out = out.replace(token, expression);
        }
        out
    }
}

/// `repository:tag` (a digest or a registry port is not a tag).
fn split_image(image: &str) -> (String, Option<String>) {
    if image.contains('@') {
        return (image.to_string(), None);
    }
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') && !tag.is_empty() => (repo.to_string(), Some(tag.to_string())),
        _ => (image.to_string(), None),
    }
}

fn quoted(path: &[&str]) -> String {
    format!(
        "{{{{ printf \"%q\" (index .Values {}) }}}}",
        path.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(" ")
    )
}

/// A Helm chart: `Chart.yaml`, `values.yaml` (image, replicas, resources and Service type per
/// workload, container and Service), `templates/_helpers.tpl` and one template per object.
/// Rendering it with its default values gives exactly the plain output's objects.
pub fn helm_chart(objects: &[Object], chart_name: &str, indent: usize) -> Vec<OutputFile> {
    use serde_json::json;
    let mut values_containers = Map::new();
    let mut values_workloads = Map::new();
    let mut values_services = Map::new();
    let mut files = vec![OutputFile {
        name: "Chart.yaml".into(),
        contents: to_yaml(
            &from_json(json!({
                "apiVersion": "v2",
                "name": chart_name,
                "description": format!("A Helm chart for {chart_name}, generated by kompile from a Compose project"),
                "type": "application",
                "version": "0.1.0",
            })),
            indent,
        ),
        secret: false,
    }];
    let mut templates = Vec::new();
    for object in objects {
        let mut value = object.value.clone();
        let mut ph = Placeholders::for_object(&value);
        let workload =
            matches!(object.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet" | "Pod" | "Job" | "CronJob");
        if workload {
            if let Some(replicas) = value.pointer_mut("/spec/replicas") {
                values_workloads.insert(object.name.clone(), Map::from_iter([("replicas", replicas.clone())]).into());
                // `int64`: Helm reads values as floats, which print as `1e+06` from a million on.
                *replicas =
                    ph.add(format!("{{{{ int64 (index .Values \"workloads\" {:?} \"replicas\") }}}}", object.name));
            }
            let pod = match object.kind.as_str() {
                "Pod" => value.pointer_mut("/spec"),
                "CronJob" => value.pointer_mut("/spec/jobTemplate/spec/template/spec"),
                _ => value.pointer_mut("/spec/template/spec"),
            };
            if let Some(containers) = pod.and_then(|p| p.get_mut("containers")).and_then(Value::as_array_mut) {
                let mut workload_containers = Map::new();
                for container in containers {
                    let name = container.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                    let mut entry = Map::new();
                    if let Some(image) = container.get_mut("image") {
                        let (repository, tag) = split_image(image.as_str().unwrap_or_default());
                        let tag = tag.map_or(Value::Null, Value::from);
                        entry.insert("image", Map::from_iter([("repository", repository.into()), ("tag", tag)]).into());
                        *image = ph.add(format!(
                            "{{{{ template \"kompile.image\" (index .Values \"containers\" {:?} {name:?} \"image\") }}}}",
                            object.name
                        ));
                    }
                    if let Some(resources) = container.get_mut("resources").and_then(Value::as_object_mut) {
                        let mut res_values = Map::new();
                        for (side, map) in resources.iter_mut() {
                            let Some(map) = map.as_object_mut() else { continue };
                            let mut side_values = Map::new();
                            for (resource, quantity) in map.iter_mut() {
                                side_values.insert(resource.to_string(), quantity.clone());
                                *quantity =
                                    ph.add(quoted(&["containers", &object.name, &name, "resources", side, resource]));
                            }
                            res_values.insert(side.to_string(), Value::Object(side_values));
                        }
                        entry.insert("resources", Value::Object(res_values));
                    }
                    workload_containers.insert(name, Value::Object(entry));
                }
                values_containers.insert(object.name.clone(), Value::Object(workload_containers));
            }
        }
        if object.kind == "Service" {
            if let Some(kind) = value.pointer_mut("/spec/type") {
                values_services.insert(object.name.clone(), Map::from_iter([("type", kind.clone())]).into());
                *kind = ph.add(quoted(&["services", &object.name, "type"]));
            }
        }
        templates.push(OutputFile {
            name: format!("templates/{}", file_name(object, false)),
            contents: ph.apply(&to_yaml(&value, indent)),
            secret: object.secret,
        });
    }
    let values = Value::from(Map::from_iter([
        ("containers", Value::from(values_containers)),
        ("workloads", values_workloads.into()),
        ("services", values_services.into()),
    ]));
    files.push(OutputFile {
        name: "values.yaml".into(),
        contents: format!(
            "# Default values: rendering the chart with them gives kompile's plain output.\n{}",
            to_yaml(&values, indent)
        ),
        secret: false,
    });
    files.push(OutputFile {
        name: "templates/_helpers.tpl".into(),
        contents: "{{/* An image reference from `repository` and an optional `tag`, quoted. */}}\n\
                   {{- define \"kompile.image\" -}}\n\
                   {{- if .tag -}}{{ printf \"%q\" (print .repository \":\" .tag) }}{{- else -}}{{ printf \"%q\" .repository }}{{- end -}}\n\
                   {{- end -}}\n"
            .into(),
        secret: false,
    });
    files.extend(templates);
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_into_repository_and_tag() {
        assert_eq!(split_image("nginx:1.27"), ("nginx".into(), Some("1.27".into())));
        assert_eq!(split_image("localhost:5000/app"), ("localhost:5000/app".into(), None));
        assert_eq!(split_image("r.io:5000/app:v1"), ("r.io:5000/app".into(), Some("v1".into())));
        assert_eq!(split_image("app@sha256:abc"), ("app@sha256:abc".into(), None));
        assert_eq!(split_image("redis"), ("redis".into(), None));
    }

    #[test]
    fn a_written_stream_is_the_rendered_stream_whatever_the_chunk_sizes() {
        let objects: Vec<Object> = (0..crate::par::LARGE + 7)
            .map(|i| {
                let value: Value = [("data", Value::from(Map::from_iter([(format!("k{i}"), Value::from("yes"))])))]
                    .into_iter()
                    .collect::<Map>()
                    .into();
                Object::of_value("ConfigMap", &format!("c{i}"), value, None)
            })
            .collect();
        for count in [0, 1, 2, objects.len()] {
            let rendered = yaml_stream(&objects[..count], 2);
            for (write, pieces) in [(1, 2), (7, 3), (64 << 10, 64), (1, objects.len() + 5)] {
                let mut out = Vec::new();
                write_yaml_stream_in(&objects[..count], 2, &mut out, write, pieces).unwrap();
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    rendered,
                    "{count} objects, {write} bytes, {pieces} pieces"
                );
            }
        }
    }
}
