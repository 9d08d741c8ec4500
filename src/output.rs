//! Rendering objects: one multi-document YAML stream, one file per object
//! (`<name>-<kind>.yaml`, as Kompose names them), or JSON (a `v1` `List` for a single stream).
//! Pure functions from objects to text; writing to disk belongs to the caller.

use crate::k8s::Object;
use crate::yaml::to_yaml;
use serde_json::Value;

/// Every object as one YAML stream, each document introduced by `---`.
pub fn yaml_stream(objects: &[Object], indent: usize) -> String {
    let mut out = String::new();
    for object in objects {
        out.push_str("---\n");
        out.push_str(&to_yaml(&object.value, indent));
    }
    out
}

/// Every object in one JSON document: a `v1` `List`, which `kubectl apply -f` accepts.
pub fn json_list(objects: &[Object], indent: usize) -> String {
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": objects.iter().map(|o| o.value.clone()).collect::<Vec<Value>>(),
    });
    json_text(&list, indent)
}

fn json_text(value: &Value, indent: usize) -> String {
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
