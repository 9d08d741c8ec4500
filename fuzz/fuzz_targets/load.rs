//! Arbitrary bytes as one compose file through `kompile::compose::load`. Must not panic;
//! every diagnostic it returns must render.
#![no_main]

mod common;

use indexmap::IndexMap;
use kompile::compose::{self, ComposeFile, LoadOptions};
use kompile::diag::Sources;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let files = [ComposeFile { name: "compose.yaml".to_string(), contents: data.to_vec() }];
    let env = IndexMap::new();
    let mut sources = Sources::default();
    let (_project, diags) = compose::load(
        &files,
        &env,
        Path::new(common::PROJECT_DIR),
        &common::EmptyFs,
        &LoadOptions::default(),
        &mut sources,
    );
    for d in &diags.0 {
        let _ = d.render(&sources);
    }
});
