//! Arbitrary bytes as one compose file through the whole pipeline (`kompile::convert`),
//! rendered with `kompile::output`. Must not panic, and must be deterministic: converting
//! the same input twice gives byte-identical manifests and diagnostics.
#![no_main]

mod common;

use indexmap::IndexMap;
use kompile::compose::ComposeFile;
use kompile::{convert, output, Options};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// One conversion, rendered: the YAML stream, the JSON list and every diagnostic.
fn run(data: &[u8]) -> (String, String, Vec<String>) {
    let files = [ComposeFile { name: "compose.yaml".to_string(), contents: data.to_vec() }];
    let env = IndexMap::new();
    let conversion = convert(&files, &env, Path::new(common::PROJECT_DIR), &common::EmptyFs, &Options::default());
    if conversion.has_errors() {
        assert!(conversion.objects.is_empty(), "objects emitted despite errors");
    }
    let yaml = output::yaml_stream(&conversion.objects, 2);
    let json = output::json_list(&conversion.objects, 2);
    let diags = conversion.diagnostics.iter().map(|d| d.render(&conversion.sources)).collect();
    (yaml, json, diags)
}

fuzz_target!(|data: &[u8]| {
    let first = run(data);
    let second = run(data);
    assert_eq!(first, second, "conversion is not deterministic");
});
