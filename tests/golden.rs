//! Golden cases: every folder under `testdata/cases/` and `examples/` is a compose project.
//! The real `kompile` binary runs in it (arguments from its `args` file, default
//! `convert -f compose.yaml`; process environment from its `env` file only), and its exact
//! stdout (with the exit code) and stderr are compared with the insta snapshots
//! `output.snap` and `diagnostics.snap` beside the compose file.
//!
//! Update snapshots after an intended change with `INSTA_UPDATE=always cargo test --test golden`
//! and review the diff. CI never writes them.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn case_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = Vec::new();
    for parent in ["testdata/cases", "examples"] {
        let Ok(entries) = std::fs::read_dir(root.join(parent)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    dirs.sort();
    dirs
}

/// Arguments from the case's `args` file: one per line, blank lines and `#` comments skipped.
fn args(dir: &Path) -> Vec<String> {
    match std::fs::read_to_string(dir.join("args")) {
        Ok(text) => {
            text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect()
        }
        Err(_) => vec!["convert".into(), "-f".into(), "compose.yaml".into()],
    }
}

/// Run the binary in a case folder: (stdout with the exit code, stderr).
pub fn run_case(dir: &Path) -> (String, String, i32) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kompile"));
    cmd.args(args(dir)).current_dir(dir).env_clear();
    if let Ok(text) = std::fs::read_to_string(dir.join("env")) {
        for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            cmd.env(k, v);
        }
    }
    let stdin_file = dir.join("stdin");
    if stdin_file.exists() {
        cmd.stdin(std::fs::File::open(stdin_file).unwrap());
    } else {
        cmd.stdin(std::process::Stdio::null());
    }
    let out = cmd.output().expect("the kompile binary runs");
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (stdout, stderr, code)
}

#[test]
fn golden_cases() {
    let dirs = case_dirs();
    assert!(dirs.len() >= 30, "expected at least 30 golden cases, found {}", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        let (stdout, stderr, code) = run_case(dir);
        assert!(!stderr.contains("panicked"), "{}: kompile panicked:\n{stderr}", dir.display());
        let result = std::panic::catch_unwind(|| {
            insta::with_settings!({
                snapshot_path => dir.clone(),
                prepend_module_to_snapshot => false,
                omit_expression => true,
                description => format!("kompile {}", args(dir).join(" ")),
            }, {
                insta::assert_snapshot!("output", format!("exit: {code}\n{stdout}"));
                insta::assert_snapshot!("diagnostics", stderr);
            });
        });
        if result.is_err() {
            failures.push(dir.display().to_string());
        }
    }
    assert!(failures.is_empty(), "golden cases differ from their snapshots:\n{}", failures.join("\n"));
}

#[test]
fn every_snapshot_belongs_to_a_case() {
    for dir in case_dirs() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".snap") || name.ends_with(".snap.new") {
                assert!(
                    name == "output.snap" || name == "diagnostics.snap",
                    "{}: unexpected snapshot file {name}",
                    dir.display()
                );
            }
        }
        assert!(dir.join("output.snap").exists(), "{}: no output.snap", dir.display());
    }
}
