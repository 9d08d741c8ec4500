//! Architecture invariants, checked on the source text (the ARCHITECTURE.md "Invariants").

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources(sub: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join(sub), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.strip_prefix(root).unwrap().display().to_string(), text)
        })
        .collect()
}

#[test]
fn every_module_opens_with_a_doc_comment() {
    for (path, text) in sources("src") {
        assert!(text.starts_with("//!"), "{path} must open with a `//!` paragraph saying what it owns");
    }
}

#[test]
fn the_mapper_never_sees_raw_compose_yaml() {
    for (path, text) in sources("src/k8s") {
        assert!(!text.contains("crate::yaml"), "{path} imports the YAML tree; k8s/ works on compose::model only");
    }
}

#[test]
fn the_library_never_parses_arguments_or_prints() {
    for (path, text) in sources("src") {
        if path.starts_with("src/cli") || path == "src/main.rs" {
            continue;
        }
        assert!(!text.contains("clap"), "{path} uses clap; only the binary may");
        for banned in ["println!", "eprintln!", "std::process::exit"] {
            assert!(!text.contains(banned), "{path} uses {banned}; the library returns data");
        }
    }
}

#[test]
fn no_debug_leftovers_or_ignored_tests() {
    let mut all = sources("src");
    all.extend(sources("tests"));
    all.extend(sources("benches"));
    for (path, text) in all {
        if path.ends_with("tidy.rs") {
            continue;
        }
        for banned in ["dbg!(", "todo!(", "unimplemented!(", "#[ignore"] {
            assert!(!text.contains(banned), "{path} contains {banned}");
        }
    }
}
