// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]
//! Scaffolding shared by the integration tests (`mod support;` in each of them): running the
//! real `kompile` binary with a cleared environment, scratch directories, the golden cases
//! under `testdata/cases/` and `examples/`, tools set up once under the target directory
//! (Python venvs with pinned PyPI packages, built aside and renamed into place), the rule for
//! setup problems (a failure when `CI` is set, else the test prints SKIPPED and returns), and
//! the compose-go conformance tables.

use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// The `kompile` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_kompile");

/// The name of the test binary this module is compiled into (`cli`, `precommit`, …).
pub fn test_binary() -> &'static str {
    module_path!().split("::").next().unwrap_or("tests")
}

/// The package root (the checkout).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether the `CI` environment variable is set: then setup problems fail the tests.
pub fn is_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// The target directory (`CARGO_TARGET_TMPDIR` is `<target dir>/tmp`, so this follows
/// `CARGO_TARGET_DIR` and `build.target-dir` too).
pub fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map_or_else(|| root().join("target"), Path::to_path_buf)
}

// ---------------------------------------------------------------------------------------------
// Compose projects several tests convert.

/// One service with a published port and no relative paths (so it converts identically from
/// stdin); no diagnostics at all.
pub const WEB_PLAIN: &str = "\
services:
  web:
    image: nginx:1.27
    ports:
      - \"8080:80\"
";

/// An error diagnostic: a misspelt service key (K107 at 4:5).
pub const UNKNOWN_KEY: &str = "\
services:
  app:
    image: busybox:1.36
    enviroment:
      A: b
";

/// Only a warning: `ulimits` is not converted (K201 at 4:5).
pub const WARN_ONLY: &str = "\
services:
  app:
    image: busybox:1.36
    ulimits:
      nofile: 65535
";

// ---------------------------------------------------------------------------------------------
// Running kompile.

/// Exit code and output of one run.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

impl Out {
    /// Stdout and stderr must be UTF-8.
    pub fn utf8(out: Output) -> Out {
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Stdout and stderr with invalid UTF-8 replaced.
    pub fn lossy(out: Output) -> Out {
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Run kompile as `cmd`; UTF-8 output, and a panic fails the test.
pub fn output(mut cmd: Command) -> Out {
    let out = Out::utf8(cmd.output().expect("the kompile binary runs"));
    assert!(!out.stderr.contains("panicked"), "kompile panicked: {out:?}");
    out
}

// ---------------------------------------------------------------------------------------------
// Scratch directories.

/// A fresh directory for one test, removed when it is dropped.
pub struct Scratch {
    pub dir: PathBuf,
    keep_on_failure: bool,
}

impl Scratch {
    /// `<temp dir>/kompile-<test binary>-<tag>-<pid>-<n>`: unique even when one tag is used by
    /// several threads at once.
    pub fn new(tag: &str) -> Scratch {
        Scratch::create(std::env::temp_dir(), &format!("kompile-{}-{tag}", test_binary()), false)
    }

    /// `<target dir>/tmp/<test binary>-<tag>-<pid>-<n>`; with `keep_on_failure`, kept for
    /// inspection when the test fails.
    pub fn in_target_tmp(tag: &str, keep_on_failure: bool) -> Scratch {
        Scratch::create(
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
            &format!("{}-{tag}", test_binary()),
            keep_on_failure,
        )
    }

    fn create(parent: PathBuf, name: &str, keep_on_failure: bool) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir, keep_on_failure }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Write a file, creating its parent directories.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, contents).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    }

    /// kompile with `args`, run here with an empty environment and no standard input.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(&self.dir).env_clear().stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Out {
        output(self.command(args))
    }

    /// Runs kompile here with an empty environment plus `env`.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        output(cmd)
    }

    /// Runs kompile here with `stdin` on its standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the kompile binary runs");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        Out::utf8(child.wait_with_output().unwrap())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep_on_failure && std::thread::panicking() {
            eprintln!("{}: kept {} for inspection", test_binary(), self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Golden cases: every folder under `testdata/cases/` and `examples/`.

pub fn case_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for parent in ["testdata/cases", "examples"] {
        let Ok(entries) = std::fs::read_dir(root().join(parent)) else {
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

/// Arguments from the case's `args` file: one per line, blank lines and `#` comments skipped;
/// default `convert -f compose.yaml`.
pub fn case_args(dir: &Path) -> Vec<String> {
    match std::fs::read_to_string(dir.join("args")) {
        Ok(text) => {
            text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect()
        }
        Err(_) => vec!["convert".into(), "-f".into(), "compose.yaml".into()],
    }
}

/// Run the binary in a case folder with `args`: environment only from the `env` file,
/// standard input from the `stdin` file (or none).
pub fn run_case<S: AsRef<OsStr>>(dir: &Path, args: impl IntoIterator<Item = S>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir).env_clear();
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
        cmd.stdin(Stdio::null());
    }
    cmd.output().expect("the kompile binary runs")
}

// ---------------------------------------------------------------------------------------------
// Tools set up once under the target directory, and the CI rule.

/// `Some(value)` when setup worked. Otherwise, with `CI` set, the test fails; without it, it
/// prints why it is SKIPPED and gets `None` (and returns).
pub fn or_skip<T>(test: &str, what: &str, setup: Result<T, String>) -> Option<T> {
    match setup {
        Ok(value) => Some(value),
        Err(e) if is_ci() => panic!("CI is set, so {what} must be available:\n{e}"),
        Err(e) => {
            eprintln!(
                "{}::{test}: SKIPPED, {what} could not be set up (this is a failure when CI is set):\n{e}",
                test_binary()
            );
            None
        }
    }
}

/// Run a setup command; the tail of its stderr in the error.
pub fn setup_step(what: &str, cmd: &mut Command) -> Result<Output, String> {
    let out =
        cmd.stdin(Stdio::null()).output().map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        return Err(format!("{what} failed ({}):\n{}", out.status, lines[lines.len().saturating_sub(15)..].join("\n")));
    }
    Ok(out)
}

/// Make `dir` (under the target directory) pass `works`, unless it already does: `build` fills
/// a folder of this process's own (`<dir>.tmp-<pid>`, not yet created), which is then renamed
/// into place. Renaming is atomic, so test processes setting up at once never see a half-built
/// copy.
pub fn build_in_place(
    dir: &Path,
    works: impl Fn(&Path) -> bool,
    build: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    if works(dir) {
        return Ok(());
    }
    let parent = dir.parent().ok_or_else(|| format!("{} has no parent", dir.display()))?;
    let name = dir.file_name().ok_or_else(|| format!("{} has no name", dir.display()))?.to_string_lossy();
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    // Leftovers of processes that died while building (Linux: their /proc entry is gone).
    let prefix = format!("{name}.tmp-");
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            let entry_name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = entry_name.strip_prefix(&prefix) {
                if Path::new("/proc/self").exists() && !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let tmp = parent.join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let built = build(&tmp).and_then(|()| {
        if works(&tmp) {
            Ok(())
        } else {
            Err(format!("{} does not work after it was set up", tmp.display()))
        }
    });
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if std::fs::rename(&tmp, dir).is_err() {
        // Another process got there first, or an outdated copy is in the way.
        if works(dir) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Ok(());
        }
        let _ = std::fs::remove_dir_all(dir);
        std::fs::rename(&tmp, dir).map_err(|e| format!("cannot move {} into place: {e}", dir.display()))?;
    }
    if works(dir) {
        Ok(())
    } else {
        Err(format!("{} does not work after it was moved into place", dir.display()))
    }
}

pub fn venv_python_in(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Whether this interpreter has exactly the pinned packages (`name==version` each).
fn has_requirements(python: &Path, requirements: &[&str]) -> bool {
    let names: Vec<&str> = requirements.iter().map(|r| r.split_once("==").unwrap().0).collect();
    let check = "import importlib.metadata as m, sys\n\
                 print(' '.join(n + '==' + m.version(n) for n in sys.argv[1:]))";
    let Ok(out) = Command::new(python).args(["-I", "-B", "-c", check]).args(&names).stdin(Stdio::null()).output()
    else {
        return false;
    };
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == requirements.join(" ")
}

/// The interpreter of the venv `<target dir>/<name>` holding exactly `requirements` from PyPI,
/// created on first use with `python3 -m venv` and pip, and reused afterwards.
pub fn python_venv(name: &str, requirements: &[&str]) -> Result<PathBuf, String> {
    let venv = target_dir().join(name);
    build_in_place(
        &venv,
        |dir| has_requirements(&venv_python_in(dir), requirements),
        |tmp| {
            eprintln!("{}: creating {} with {}", test_binary(), venv.display(), requirements.join(" "));
            setup_step("python3 -m venv", Command::new("python3").arg("-m").arg("venv").arg(tmp))?;
            setup_step(
                "pip install",
                Command::new(venv_python_in(tmp))
                    .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet"])
                    .args(["--timeout", "30", "--retries", "2"])
                    .args(requirements),
            )?;
            Ok(())
        },
    )?;
    Ok(venv_python_in(&venv))
}

/// [`python_venv`], set up once per test process, under the CI rule of [`or_skip`].
pub fn python_or_skip(test: &str, name: &str, requirements: &[&str]) -> Option<PathBuf> {
    static VENVS: Mutex<BTreeMap<String, Result<PathBuf, String>>> = Mutex::new(BTreeMap::new());
    let setup = VENVS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(name.to_string())
        .or_insert_with(|| python_venv(name, requirements))
        .clone();
    or_skip(test, &format!("the Python venv {name} with {}", requirements.join(" ")), setup)
}

// ---------------------------------------------------------------------------------------------
// The compose-go conformance tables in `testdata/compose-go/`.

/// The rows of one JSON table.
pub fn compose_go_table(name: &str) -> Vec<Value> {
    let path = root().join("testdata/compose-go").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The `id reason` lines of a differences file: the rows where kompile knowingly differs.
fn documented_differences(name: &str) -> BTreeMap<String, String> {
    let path = root().join("testdata/compose-go").join(name);
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, why) = l.split_once(' ').unwrap_or((l, ""));
            (id.to_string(), why.trim().to_string())
        })
        .collect()
}

/// Every disagreement `(id, expected, actual)` is listed in the differences file, and every
/// row listed there still disagrees. `rows` names the rows in the message.
pub fn assert_only_documented_differences(mismatches: &[(String, String, String)], differences: &str, rows: &str) {
    let documented = documented_differences(differences);
    let undocumented: Vec<String> = mismatches
        .iter()
        .filter(|(id, _, _)| !documented.contains_key(id))
        .map(|(id, e, a)| format!("{id}: expected {e}, kompile gives {a}"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "{} {rows} disagree with compose-go:\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
    // A documented difference that no longer differs must be removed from the list.
    for id in documented.keys() {
        assert!(mismatches.iter().any(|(m, _, _)| m == id), "{id} is listed in {differences} but now agrees");
    }
}
