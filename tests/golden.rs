//! Golden cases: every folder under `testdata/cases/` and `examples/` is a compose project.
//! The real `kompile` binary runs in it (arguments from its `args` file, default
//! `convert -f compose.yaml`; process environment from its `env` file only), and its exact
//! stdout (with the exit code) and stderr are compared with the insta snapshots
//! `output.snap` and `diagnostics.snap` beside the compose file.
//!
//! Update snapshots after an intended change with `INSTA_UPDATE=always cargo test --test golden`
//! and review the diff. CI never writes them.

mod support;

use support::{case_args, case_dirs, run_case, Out};

#[test]
fn golden_cases() {
    let dirs = case_dirs();
    assert!(dirs.len() >= 30, "expected at least 30 golden cases, found {}", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        let args = case_args(dir);
        let Out { code, stdout, stderr } = Out::lossy(run_case(dir, &args));
        assert!(!stderr.contains("panicked"), "{}: kompile panicked:\n{stderr}", dir.display());
        let result = std::panic::catch_unwind(|| {
            insta::with_settings!({
                snapshot_path => dir.clone(),
                prepend_module_to_snapshot => false,
                omit_expression => true,
                description => format!("kompile {}", args.join(" ")),
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
