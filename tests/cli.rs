//! End-to-end tests of the `kompile` binary: exit codes, file discovery, output modes
//! (stdout, one file, one file per object, JSON), atomic writes and file modes, `--strict`,
//! diagnostics on stderr and Kompose flag compatibility. Every test runs the real binary with
//! a cleared environment in its own scratch directory, removed when the test ends.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use support::{output, Scratch, BIN, UNKNOWN_KEY, WARN_ONLY, WEB_PLAIN};

/// A service with a published port, a bind-mounted directory (a ConfigMap) and a named volume
/// (a PersistentVolumeClaim): four objects.
const WEB: &str = "\
services:
  web:
    image: nginx:1.27
    ports:
      - \"8080:80\"
    volumes:
      - ./site:/usr/share/nginx/html:ro
      - data:/data
volumes:
  data: {}
";

/// A Secret from a file, used by a service.
const SECRET: &str = "\
services:
  app:
    image: busybox:1.36
    secrets:
      - db_password
secrets:
  db_password:
    file: db_password.txt
";

/// The WEB project: compose file under `name` plus the bind-mounted `site/` directory.
trait WebProject {
    fn web_project(&self, name: &str);
}

impl WebProject for Scratch {
    fn web_project(&self, name: &str) {
        self.write(name, WEB);
        self.write("site/index.html", "<h1>hello</h1>\n");
    }
}

/// kompile's record of the files it generated in an output directory (not an object).
const MANIFEST: &str = ".kompile-manifest";

/// Name → contents of every entry in `dir` but kompile's manifest (files only; directories
/// are an error). Temporary files are included, so leftovers show up.
fn dir_files(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_file(), "{} is not a file", entry.path().display());
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == MANIFEST {
            continue;
        }
        files.insert(name, std::fs::read_to_string(entry.path()).unwrap());
    }
    files
}

/// Names of leftover temporary files (`.*.tmp`) directly in `dir`.
fn temp_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n.ends_with(".tmp"))
        .collect()
}

/// The documents of a YAML stream written as `---\n<doc>---\n<doc>...`.
fn documents(stream: &str) -> Vec<String> {
    assert!(stream.starts_with("---\n"), "a YAML stream starts with `---`:\n{stream}");
    stream[4..].split("\n---\n").map(|d| if d.ends_with('\n') { d.to_string() } else { format!("{d}\n") }).collect()
}

/// `file:line:col: severity[CODE]: message`.
fn is_diagnostic_line(line: &str) -> bool {
    let mut parts = line.splitn(4, ':');
    let (Some(file), Some(l), Some(c), Some(rest)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(' ') else {
        return false;
    };
    let Some((head, message)) = rest.split_once("]: ") else {
        return false;
    };
    let Some((severity, code)) = head.split_once('[') else {
        return false;
    };
    !file.is_empty()
        && !l.is_empty()
        && l.bytes().all(|b| b.is_ascii_digit())
        && !c.is_empty()
        && c.bytes().all(|b| b.is_ascii_digit())
        && ["error", "warning", "info"].contains(&severity)
        && code.len() == 4
        && code.starts_with('K')
        && code[1..].bytes().all(|b| b.is_ascii_digit())
        && !message.trim().is_empty()
}

/// Every stderr line is a diagnostic or its indented `help:`; returns the diagnostic lines.
fn diagnostic_lines(stderr: &str) -> Vec<&str> {
    let mut diags = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("  help: ") {
            continue;
        }
        assert!(is_diagnostic_line(line), "not a `file:line:col: severity[CODE]: message` line: {line:?}\n{stderr}");
        diags.push(line);
    }
    diags
}

/// Stdout holds only Kubernetes objects: every document opens with `apiVersion:` and no
/// diagnostic text is mixed in.
fn assert_manifests_only(stdout: &str) {
    for doc in documents(stdout) {
        assert!(doc.starts_with("apiVersion: "), "document does not start with apiVersion:\n{doc}");
        assert!(doc.contains("\nkind: "), "document has no kind:\n{doc}");
    }
    for word in ["warning[", "error[", "help:", "error:"] {
        assert!(!stdout.contains(word), "stdout contains diagnostic text `{word}`:\n{stdout}");
    }
}

// ---------------------------------------------------------------------------------------------
// Exit codes

#[test]
fn valid_input_exits_0_with_manifests_on_stdout() {
    let s = Scratch::new("valid_input");
    s.web_project("compose.yaml");
    let out = s.run(&["convert", "-f", "compose.yaml"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
    assert_manifests_only(&out.stdout);
    for needle in [
        "kind: Deployment\n",
        "kind: Service\n",
        "kind: PersistentVolumeClaim\n",
        "kind: ConfigMap\n",
        "image: nginx:1.27",
        "port: 8080",
        "targetPort: 80",
    ] {
        assert!(out.stdout.contains(needle), "missing `{needle}`: {out:?}");
    }
}

#[test]
fn error_diagnostic_exits_1_with_nothing_on_stdout() {
    let s = Scratch::new("error_exit_1");
    s.write("compose.yaml", UNKNOWN_KEY);
    let out = s.run(&["convert", "-f", "compose.yaml"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("compose.yaml:4:5: error[K107]: "), "{out:?}");
    assert!(out.stderr.contains("enviroment"), "{out:?}");
    assert!(out.stderr.contains("help: did you mean `environment`?"), "{out:?}");
}

#[test]
fn unknown_flag_exits_2() {
    let s = Scratch::new("unknown_flag");
    s.web_project("compose.yaml");
    let out = s.run(&["convert", "--bogus-flag"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("--bogus-flag"), "{out:?}");
}

#[test]
fn unknown_volumes_strategy_exits_2() {
    let s = Scratch::new("volumes_bogus");
    s.web_project("compose.yaml");
    let out = s.run(&["convert", "--volumes", "bogus"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("--volumes bogus"), "{out:?}");
    assert!(out.stderr.contains("emptyDir"), "the message lists the choices: {out:?}");
}

#[test]
fn unsupported_provider_exits_2() {
    let s = Scratch::new("provider_openshift");
    s.web_project("compose.yaml");
    let out = s.run(&["convert", "--provider", "openshift"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("openshift"), "{out:?}");
    assert!(out.stderr.contains("not supported"), "{out:?}");
    // `kubernetes` is accepted, in any case.
    let ok = s.run(&["convert", "--provider", "Kubernetes"]);
    assert_eq!(ok.code, 0, "{ok:?}");
}

#[test]
fn kompose_build_and_openshift_flags_are_refused_by_name() {
    let s = Scratch::new("kompose_build_flags");
    s.web_project("compose.yaml");
    for (args, says) in [
        (&["--build", "local"][..], "building and pushing images is not supported"),
        (&["--push-image"][..], "building and pushing images is not supported"),
        (&["--push-image-registry", "registry.example.com"][..], "`--push-image-registry`"),
        (&["--build-command", "make image", "--push-command", "make push"][..], "`--build-command`"),
        (&["--replication-controller"][..], "ReplicationControllers are superseded"),
        (&["--deployment-config"][..], "`--deployment-config` is an OpenShift flag"),
        (&["--build-repo", "https://example.com/r.git"][..], "`--build-repo` is an OpenShift flag"),
    ] {
        let out = s.run(&[&["convert"][..], args].concat());
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{out:?}");
        assert!(out.stderr.contains(says), "{args:?}: {out:?}");
    }
    // `--build none` is Kompose's default, and accepted.
    let ok = s.run(&["convert", "--build", "none"]);
    assert_eq!(ok.code, 0, "{ok:?}");
}

#[test]
fn missing_compose_file_exits_2() {
    let s = Scratch::new("missing_file");
    let out = s.run(&["convert", "-f", "nope.yaml"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("nope.yaml"), "the message names the file: {out:?}");
}

#[test]
fn directory_as_compose_file_exits_2() {
    let s = Scratch::new("dir_as_file");
    s.web_project("project/compose.yaml");
    let out = s.run(&["convert", "-f", "project"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("`project` is a directory"), "{out:?}");
}

#[test]
fn no_compose_file_in_directory_exits_2_naming_compose_yaml() {
    let s = Scratch::new("no_compose_file");
    s.write("README.md", "not a compose file\n");
    let out = s.run(&["convert"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("compose.yaml"), "{out:?}");
    assert!(out.stderr.contains("no compose file"), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// Input

#[test]
fn default_discovery_reads_compose_yaml_in_cwd() {
    let s = Scratch::new("discover_compose_yaml");
    s.web_project("compose.yaml");
    // A docker-compose.yml beside it loses: compose.yaml comes first.
    s.write("docker-compose.yml", "services:\n  other:\n    image: busybox:1.36\n");
    let out = s.run(&["convert"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("name: web\n"), "{out:?}");
    assert!(!out.stdout.contains("other"), "docker-compose.yml must not be read: {out:?}");
    assert_eq!(out.stdout, s.run(&["convert", "-f", "compose.yaml"]).stdout);
}

#[test]
fn default_discovery_falls_back_to_docker_compose_yml() {
    let s = Scratch::new("discover_docker_compose_yml");
    s.write("docker-compose.yml", "services:\n  legacy:\n    image: busybox:1.36\n");
    let out = s.run(&["convert"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("name: legacy\n"), "{out:?}");
    assert!(out.stdout.contains("image: busybox:1.36"), "{out:?}");
}

#[test]
fn compose_file_split_on_spaces_kompose_style_is_explained() {
    let s = Scratch::new("compose_file_spaces");
    s.web_project("compose.yaml");
    s.write("extra.yaml", "services:\n  extra:\n    image: busybox:1.36\n");
    // Kompose split COMPOSE_FILE on whitespace; Docker Compose uses `:`.
    let out = s.run_env(&["convert"], &[("COMPOSE_FILE", "compose.yaml extra.yaml")]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("write COMPOSE_FILE=compose.yaml:extra.yaml"), "{out:?}");
    let out = s.run_env(&["convert"], &[("COMPOSE_FILE", "compose.yaml:extra.yaml")]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("name: web\n") && out.stdout.contains("name: extra\n"), "{out:?}");
}

#[test]
fn dash_f_dash_reads_stdin() {
    let s = Scratch::new("stdin");
    let out = s.run_stdin(&["convert", "-f", "-"], WEB_PLAIN);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("kind: Deployment\n"), "{out:?}");
    assert!(out.stdout.contains("image: nginx:1.27"), "{out:?}");
    s.write("compose.yaml", WEB_PLAIN);
    assert_eq!(out.stdout, s.run(&["convert", "-f", "compose.yaml"]).stdout, "stdin and a file convert alike");

    // Diagnostics name the input `<stdin>`.
    let bad = s.run_stdin(&["convert", "-f", "-"], UNKNOWN_KEY);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert_eq!(bad.stdout, "", "{bad:?}");
    assert!(bad.stderr.contains("<stdin>:4:5: error[K107]"), "{bad:?}");
}

// ---------------------------------------------------------------------------------------------
// Output

#[test]
fn out_dir_writes_one_file_per_object() {
    let s = Scratch::new("out_dir");
    s.web_project("compose.yaml");
    let out = s.run(&["convert", "-o", "out/"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "", "nothing on stdout when writing files: {out:?}");
    let files = dir_files(&s.path("out"));
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["data-persistentvolumeclaim.yaml", "web-cm0-configmap.yaml", "web-deployment.yaml", "web-service.yaml"]
    );
    assert!(files["web-deployment.yaml"].starts_with("apiVersion: apps/v1\nkind: Deployment\n"));
    assert!(files["web-service.yaml"].starts_with("apiVersion: v1\nkind: Service\n"));
    for (name, contents) in &files {
        assert!(!contents.starts_with("---"), "{name}: one object per file, no `---`");
    }

    // The files hold exactly the documents of the stdout stream.
    let stream = s.run(&["convert", "--stdout"]).stdout;
    let mut docs = documents(&stream);
    docs.sort();
    let mut contents: Vec<String> = files.values().cloned().collect();
    contents.sort();
    assert_eq!(docs, contents);

    // An existing directory without a trailing `/` is a directory too.
    std::fs::create_dir(s.path("existing")).unwrap();
    let out = s.run(&["convert", "-o", "existing"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(dir_files(&s.path("existing")), files);
}

#[test]
fn out_file_writes_the_stdout_stream() {
    let s = Scratch::new("out_file");
    s.web_project("compose.yaml");
    let stdout = s.run(&["convert", "--stdout"]);
    assert_eq!(stdout.code, 0, "{stdout:?}");
    let out = s.run(&["convert", "-o", "all.yaml"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    let written = std::fs::read_to_string(s.path("all.yaml")).unwrap();
    assert_eq!(written, stdout.stdout, "-o file.yaml is byte-identical to --stdout");
    assert_eq!(documents(&written).len(), 4);

    // A file in a directory that does not exist yet.
    let nested = s.run(&["convert", "-o", "nested/deeper/all.yaml"]);
    assert_eq!(nested.code, 0, "{nested:?}");
    assert_eq!(std::fs::read_to_string(s.path("nested/deeper/all.yaml")).unwrap(), stdout.stdout);
}

#[test]
fn out_dash_is_stdout() {
    let s = Scratch::new("out_dash");
    s.web_project("compose.yaml");
    let default = s.run(&["convert"]);
    let dash = s.run(&["convert", "-o", "-"]);
    assert_eq!(dash.code, 0, "{dash:?}");
    assert!(dash.stdout.contains("kind: Deployment\n"), "{dash:?}");
    assert_eq!(dash.stdout, default.stdout);
    assert!(!s.path("-").exists(), "`-o -` must not create a file named `-`");
    // `/dev/stdout` is standard output too, whatever it points to (here a pipe).
    let dev = s.run(&["convert", "-o", "/dev/stdout"]);
    assert_eq!(dev.code, 0, "{dev:?}");
    assert_eq!(dev.stdout, default.stdout);
    assert_eq!(dev.stderr, default.stderr, "no `created` line for standard output");
}

#[test]
fn json_on_stdout_is_a_v1_list() {
    let s = Scratch::new("json_stdout");
    s.web_project("compose.yaml");
    let out = s.run(&["convert", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let text = out.stdout.trim_end();
    assert!(text.starts_with("{\n") && text.ends_with("\n}"), "one JSON object: {out:?}");
    assert!(!out.stdout.contains("---"), "{out:?}");
    // Top-level members are indented by two spaces; items are deeper.
    let top: Vec<&str> = text.lines().filter(|l| l.starts_with("  \"")).collect();
    assert_eq!(top, ["  \"apiVersion\": \"v1\",", "  \"items\": [", "  \"kind\": \"List\""], "{out:?}");
    for kind in ["Deployment", "Service", "PersistentVolumeClaim", "ConfigMap"] {
        assert!(out.stdout.contains(&format!("\"kind\": \"{kind}\"")), "missing {kind}: {out:?}");
    }
    // `-j` is the short form; `-o file.json --json` writes the same List.
    assert_eq!(s.run(&["convert", "-j"]).stdout, out.stdout);
    let file = s.run(&["convert", "--json", "-o", "all.json"]);
    assert_eq!(file.code, 0, "{file:?}");
    assert_eq!(std::fs::read_to_string(s.path("all.json")).unwrap(), out.stdout);
}

#[test]
fn json_out_dir_writes_json_files() {
    let s = Scratch::new("json_out_dir");
    s.web_project("compose.yaml");
    let out = s.run(&["convert", "-o", "out/", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let files = dir_files(&s.path("out"));
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["data-persistentvolumeclaim.json", "web-cm0-configmap.json", "web-deployment.json", "web-service.json"]
    );
    assert!(files["web-deployment.json"].starts_with("{\n"), "{}", files["web-deployment.json"]);
    assert!(files["web-deployment.json"].contains("\"kind\": \"Deployment\""));
    assert!(files["web-service.json"].contains("\"kind\": \"Service\""));
    for (name, contents) in &files {
        assert!(!contents.contains("\"List\""), "{name}: a single object, not a List");
    }
}

// ---------------------------------------------------------------------------------------------
// Determinism

#[test]
fn two_runs_give_identical_stdout() {
    let s = Scratch::new("deterministic_stdout");
    s.web_project("compose.yaml");
    let first = s.run(&["convert"]);
    let second = s.run(&["convert"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("kind: Deployment\n"), "{first:?}");
    assert_eq!(first.stdout.as_bytes(), second.stdout.as_bytes());
    let j1 = s.run(&["convert", "--json"]);
    let j2 = s.run(&["convert", "--json"]);
    assert_eq!(j1.stdout.as_bytes(), j2.stdout.as_bytes());
}

#[test]
fn two_out_dir_runs_give_identical_files() {
    let s = Scratch::new("deterministic_dir");
    s.web_project("compose.yaml");
    assert_eq!(s.run(&["convert", "-o", "one/"]).code, 0);
    assert_eq!(s.run(&["convert", "-o", "two/"]).code, 0);
    let one = dir_files(&s.path("one"));
    assert_eq!(one.len(), 4, "{one:?}");
    assert_eq!(one, dir_files(&s.path("two")));
    // Writing over an earlier run replaces the files with the same bytes.
    let again = s.run(&["convert", "-o", "one/"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(dir_files(&s.path("one")), one);
}

#[test]
fn output_does_not_contain_the_absolute_project_path() {
    let s = Scratch::new("no_abs_path");
    s.web_project("compose.yaml");
    let mut paths = vec![s.dir.to_string_lossy().into_owned()];
    if let Ok(canonical) = std::fs::canonicalize(&s.dir) {
        paths.push(canonical.to_string_lossy().into_owned());
    }
    for args in [&["convert"][..], &["convert", "--json"], &["convert", "--volumes", "configMap"]] {
        let out = s.run(args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        for p in &paths {
            assert!(!out.stdout.contains(p.as_str()), "{args:?}: stdout contains `{p}`:\n{}", out.stdout);
        }
    }
    assert_eq!(s.run(&["convert", "-o", "out/"]).code, 0);
    for (name, contents) in dir_files(&s.path("out")) {
        for p in &paths {
            assert!(!contents.contains(p.as_str()), "{name} contains `{p}`");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Atomic writes and file modes

#[test]
fn failed_run_writes_no_files() {
    let s = Scratch::new("failed_no_files");
    s.write("compose.yaml", UNKNOWN_KEY);
    let out = s.run(&["convert", "-o", "out/"]);
    assert_eq!(out.code, 1, "{out:?}");
    let dir = s.path("out");
    assert!(!dir.exists() || dir_files(&dir).is_empty(), "files were written: {:?}", dir_files(&dir));

    let out = s.run(&["convert", "-o", "all.yaml"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!s.path("all.yaml").exists(), "-o file.yaml was created by a failed run");

    // An existing directory keeps its contents and gains nothing.
    s.write("kept/old.yaml", "old\n");
    let out = s.run(&["convert", "-o", "kept/"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(dir_files(&s.path("kept")).keys().collect::<Vec<_>>(), ["old.yaml"]);
    assert!(temp_leftovers(&s.dir).is_empty(), "{:?}", temp_leftovers(&s.dir));
}

#[test]
fn successful_run_leaves_no_temporary_files() {
    let s = Scratch::new("no_tmp_leftovers");
    s.web_project("compose.yaml");
    assert_eq!(s.run(&["convert", "-o", "out/"]).code, 0);
    assert_eq!(s.run(&["convert", "-o", "out/"]).code, 0);
    assert_eq!(s.run(&["convert", "-o", "all.yaml"]).code, 0);
    assert_eq!(s.run(&["convert", "-o", "all.yaml"]).code, 0);
    let out_files = dir_files(&s.path("out"));
    assert_eq!(out_files.len(), 4, "{:?}", out_files.keys());
    assert!(out_files.keys().all(|n| !n.starts_with('.')), "{:?}", out_files.keys());
    assert!(temp_leftovers(&s.path("out")).is_empty(), "{:?}", temp_leftovers(&s.path("out")));
    assert!(temp_leftovers(&s.dir).is_empty(), "{:?}", temp_leftovers(&s.dir));
}

#[cfg(unix)]
#[test]
fn secret_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new("secret_mode");
    s.write("compose.yaml", SECRET);
    s.write("db_password.txt", "s3cret\n");
    let mode = |rel: &str| std::fs::metadata(s.path(rel)).unwrap().permissions().mode() & 0o777;

    // Run under umask 022 so the expected 0644 does not depend on the test runner's umask.
    let umask_run = |args: &[&str]| {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg("umask 022 && exec \"$0\" \"$@\"").arg(BIN).args(args);
        cmd.current_dir(&s.dir).env_clear().stdin(Stdio::null());
        output(cmd)
    };

    let out = umask_run(&["convert", "-o", "out/"]);
    assert_eq!(out.code, 0, "{out:?}");
    let files = dir_files(&s.path("out"));
    assert_eq!(files.keys().collect::<Vec<_>>(), ["app-deployment.yaml", "db-password-secret.yaml"]);
    assert!(files["db-password-secret.yaml"].contains("kind: Secret\n"));
    assert_eq!(mode("out/db-password-secret.yaml"), 0o600, "a Secret is readable by its owner only");
    assert_eq!(mode("out/app-deployment.yaml"), 0o644);

    // A single file holding a Secret is owner-only too; one without is 0644.
    let out = umask_run(&["convert", "-o", "all.yaml"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(mode("all.yaml"), 0o600);
    s.write("plain/compose.yaml", WEB_PLAIN);
    let out = umask_run(&["convert", "-f", "plain/compose.yaml", "-o", "plain.yaml"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(mode("plain.yaml"), 0o644);
}

// ---------------------------------------------------------------------------------------------
// Warnings, --strict and diagnostics

#[test]
fn strict_turns_warnings_into_failure() {
    let s = Scratch::new("strict");
    s.write("compose.yaml", WARN_ONLY);
    let lenient = s.run(&["convert"]);
    assert_eq!(lenient.code, 0, "{lenient:?}");
    assert!(lenient.stdout.contains("kind: Deployment\n"), "{lenient:?}");
    assert!(lenient.stderr.contains("compose.yaml:4:5: warning[K201]"), "{lenient:?}");

    for flag in ["--strict", "--error-on-warning"] {
        let strict = s.run(&["convert", flag]);
        assert_eq!(strict.code, 1, "{flag}: {strict:?}");
        assert_eq!(strict.stdout, "", "{flag}: {strict:?}");
        // The warning is still reported (as a warning, or promoted to an error).
        assert!(
            strict.stderr.contains("compose.yaml:4:5: ") && strict.stderr.contains("[K201]: "),
            "{flag}: {strict:?}"
        );

        let to_dir = s.run(&["convert", flag, "-o", "out/"]);
        assert_eq!(to_dir.code, 1, "{flag}: {to_dir:?}");
        let dir = s.path("out");
        assert!(!dir.exists() || dir_files(&dir).is_empty(), "{flag}: files were written");
    }

    // --strict is global: accepted before the subcommand too.
    let before = s.run(&["--strict", "convert"]);
    assert_eq!(before.code, 1, "{before:?}");
    assert_eq!(before.stdout, "", "{before:?}");

    // A clean project passes --strict.
    s.write("clean/compose.yaml", WEB_PLAIN);
    let clean = s.run(&["convert", "--strict", "-f", "clean/compose.yaml"]);
    assert_eq!(clean.code, 0, "{clean:?}");
    assert!(clean.stdout.contains("kind: Deployment\n"), "{clean:?}");
}

#[test]
fn suppress_warnings_hides_warnings_but_not_errors() {
    let s = Scratch::new("suppress_warnings");
    s.write("compose.yaml", WARN_ONLY);
    let shown = s.run(&["convert"]);
    assert!(shown.stderr.contains("warning[K201]"), "{shown:?}");
    for flag in ["-q", "--suppress-warnings", "--quiet"] {
        let out = s.run(&["convert", flag]);
        assert_eq!(out.code, 0, "{flag}: {out:?}");
        assert_eq!(out.stderr, "", "{flag}: {out:?}");
        assert_eq!(out.stdout, shown.stdout, "{flag}: output unchanged");
    }
    s.write("bad/compose.yaml", UNKNOWN_KEY);
    let err = s.run(&["convert", "-q", "-f", "bad/compose.yaml"]);
    assert_eq!(err.code, 1, "{err:?}");
    assert!(err.stderr.contains("error[K107]"), "errors are still shown: {err:?}");
}

#[test]
fn diagnostics_are_file_line_col_lines_on_stderr() {
    let s = Scratch::new("diagnostic_format");
    s.write(
        "compose.yaml",
        "services:\n  app:\n    image: busybox:1.36\n    ulimits:\n      nofile: 65535\n    logging:\n      driver: json-file\n",
    );
    let out = s.run(&["convert"]);
    assert_eq!(out.code, 0, "{out:?}");
    let diags = diagnostic_lines(&out.stderr);
    assert_eq!(diags.len(), 2, "{out:?}");
    assert!(diags[0].starts_with("compose.yaml:4:5: warning[K201]: "), "{out:?}");
    assert!(diags[1].starts_with("compose.yaml:6:5: warning[K201]: "), "{out:?}");
    assert_manifests_only(&out.stdout);

    s.write("bad.yaml", UNKNOWN_KEY);
    let bad = s.run(&["convert", "-f", "bad.yaml"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert_eq!(bad.stdout, "", "{bad:?}");
    let diags = diagnostic_lines(&bad.stderr);
    assert_eq!(diags, ["bad.yaml:4:5: error[K107]: `services.app` has no key `enviroment`"], "{bad:?}");
}

// ---------------------------------------------------------------------------------------------
// Kompose compatibility

#[test]
fn file_flag_before_the_subcommand() {
    let s = Scratch::new("file_before_subcommand");
    s.write("x.yaml", "services:\n  before:\n    image: busybox:1.36\n");
    let out = s.run(&["-f", "x.yaml", "convert"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("name: before\n"), "{out:?}");
    assert_eq!(out.stdout, s.run(&["convert", "-f", "x.yaml"]).stdout);
    assert_eq!(out.stdout, s.run(&["--file", "x.yaml", "convert"]).stdout);
}

#[test]
fn with_kompose_annotation_false_is_accepted_true_is_rejected() {
    let s = Scratch::new("kompose_annotation");
    s.web_project("compose.yaml");
    let plain = s.run(&["convert"]);
    let off = s.run(&["convert", "--with-kompose-annotation=false"]);
    assert_eq!(off.code, 0, "{off:?}");
    assert_eq!(off.stdout, plain.stdout);
    assert!(!off.stdout.contains("kompose.cmd"), "{off:?}");

    for args in [&["convert", "--with-kompose-annotation=true"][..], &["convert", "--with-kompose-annotation"]] {
        let on = s.run(args);
        assert_eq!(on.code, 2, "{args:?}: {on:?}");
        assert_eq!(on.stdout, "", "{args:?}: {on:?}");
        assert!(on.stderr.contains("--with-kompose-annotation=true"), "{args:?}: {on:?}");
        assert!(on.stderr.contains("kompose.cmd"), "{args:?}: the message says why: {on:?}");
    }
}

#[test]
fn emptyvols_uses_empty_dir_volumes() {
    let s = Scratch::new("emptyvols");
    s.web_project("compose.yaml");
    let default = s.run(&["convert"]);
    assert!(default.stdout.contains("kind: PersistentVolumeClaim\n"), "{default:?}");
    let out = s.run(&["convert", "--emptyvols"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("PersistentVolumeClaim"), "{out:?}");
    assert!(!out.stdout.contains("persistentVolumeClaim"), "{out:?}");
    assert!(out.stdout.contains("emptyDir: {}"), "{out:?}");
    assert_eq!(out.stdout, s.run(&["convert", "--volumes", "emptyDir"]).stdout, "--emptyvols = --volumes emptyDir");
}

#[test]
fn chart_flag_writes_a_chart_where_kompose_does() {
    let s = Scratch::new("chart");
    s.web_project("compose.yaml");
    // Without -o, Kompose's default folder: the compose file's name without its extension.
    let out = s.run(&["convert", "-f", "compose.yaml", "-c"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "", "a chart is never printed: {out:?}");
    for file in ["Chart.yaml", "values.yaml", "templates/_helpers.tpl", "templates/web-deployment.yaml"] {
        assert!(s.path("compose").join(file).is_file(), "compose/{file} missing: {out:?}");
    }
    // --chart with -o, and the stdout conflict Kompose also refuses.
    let out = s.run(&["convert", "--chart", "-o", "chart"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(s.path("chart/Chart.yaml").is_file());
    let out = s.run(&["convert", "-c", "--stdout"]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn comma_separated_files_are_merged() {
    let s = Scratch::new("comma_files");
    s.write("a.yaml", "services:\n  web:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n");
    s.write("b.yaml", "services:\n  web:\n    image: nginx:1.28\n  db:\n    image: postgres:16\n");
    let out = s.run(&["convert", "-f", "a.yaml,b.yaml"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("image: nginx:1.28"), "the later file wins: {out:?}");
    assert!(!out.stdout.contains("nginx:1.27"), "{out:?}");
    assert!(out.stdout.contains("image: postgres:16"), "{out:?}");
    assert!(out.stdout.contains("kind: Service\n"), "ports from the first file are kept: {out:?}");
    // The same as repeating -f, and the same before the subcommand.
    assert_eq!(out.stdout, s.run(&["convert", "-f", "a.yaml", "-f", "b.yaml"]).stdout);
    assert_eq!(out.stdout, s.run(&["-f", "a.yaml,b.yaml", "convert"]).stdout);
}

#[test]
fn empty_entry_in_file_list_exits_2() {
    let s = Scratch::new("file_list_empty_entry");
    s.write("compose.yaml", WEB_PLAIN);
    let out = s.run(&["convert", "-f", "compose.yaml,"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("`-f` names an empty file"), "{out:?}");
    assert!(!out.stderr.contains("cannot read ``"), "{out:?}");
}

#[test]
fn invalid_project_name_flag_exits_2_with_backtick_quoting() {
    let s = Scratch::new("project_name_flag_invalid");
    s.write("compose.yaml", WEB_PLAIN);
    let out = s.run(&["convert", "-f", "compose.yaml", "-p", "a\"b\\c"]);
    assert_eq!(out.code, 2, "a bad flag is a usage error: {out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.starts_with("error: `-p`: invalid project name `a\"b\\c`: "), "{out:?}");
    assert!(!out.stderr.contains("K108"), "{out:?}");
    let out = s.run(&["config", "-f", "compose.yaml", "-p", "Upper"]);
    assert_eq!(out.code, 2, "{out:?}");
    // Control characters in a flag value are escaped in the message.
    let out = s.run(&["convert", "-f", "compose.yaml", "-p", "x\u{1b}[2Jy"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("`x\\u{1b}[2Jy`") && !out.stderr.contains('\u{1b}'), "{out:?}");
}

#[test]
fn out_dir_below_a_file_says_it_is_not_a_directory() {
    let s = Scratch::new("out_dir_below_file");
    s.write("compose.yaml", WEB_PLAIN);
    s.write("afile", "not a directory\n");
    for target in ["afile/", "afile/sub/", "afile/one.yaml"] {
        let out = s.run(&["convert", "-f", "compose.yaml", "-o", target]);
        assert_eq!(out.code, 2, "{target}: {out:?}");
        assert!(out.stderr.contains("`afile` is not a directory"), "{target}: {out:?}");
        assert!(!out.stderr.contains("cannot read"), "{target}: {out:?}");
    }
    assert_eq!(s.read("afile"), "not a directory\n");
}

#[test]
fn env_file_flag_naming_a_directory_says_so() {
    let s = Scratch::new("env_file_flag_directory");
    s.write("compose.yaml", WEB_PLAIN);
    std::fs::create_dir_all(s.path("adir")).unwrap();
    let out = s.run(&["convert", "-f", "compose.yaml", "--env-file", "adir"]);
    assert_eq!(out.code, 1, "a K105 diagnostic, like a missing --env-file: {out:?}");
    assert!(out.stderr.contains("error[K105]: env file `adir` is a directory, not a file"), "{out:?}");
    let out = s.run(&["convert", "-f", "compose.yaml", "--env-file", "nope.env"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("error[K105]: env file `nope.env` not found"), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// explain

#[test]
fn explain_known_code() {
    let s = Scratch::new("explain_known");
    let out = s.run(&["explain", "K201"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("K201 (warning): "), "{out:?}");
    assert!(out.stdout.contains("docs/diagnostics.md#k201"), "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
}

#[test]
fn explain_unknown_code_exits_2() {
    let s = Scratch::new("explain_unknown");
    let out = s.run(&["explain", "K999"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("K999"), "{out:?}");
}

#[test]
fn allow_path_lets_a_project_read_a_named_directory_outside_it() {
    let s = Scratch::new("allow_path");
    s.write("shared/common.env", "SHARED_SETTING=from-outside\n");
    s.write("app/compose.yaml", "services:\n  web:\n    image: nginx:1.27\n    env_file: [../shared/common.env]\n");
    // By default the file outside the project directory is refused, by name, unread.
    let out = s.run(&["convert", "-f", "app/compose.yaml"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("K116") && out.stderr.contains("../shared/common.env"), "{out:?}");
    assert!(!out.stderr.contains("from-outside") && !out.stdout.contains("from-outside"), "{out:?}");
    // --allow-path names the directory; --allow-any-path lifts the policy.
    let out = s.run(&["convert", "-f", "app/compose.yaml", "--allow-path", "shared"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("SHARED_SETTING: from-outside"), "{out:?}");
    let out = s.run(&["convert", "-f", "app/compose.yaml", "--allow-path", "app"]);
    assert_eq!(out.code, 1, "another directory does not help: {out:?}");
    let out = s.run(&["convert", "-f", "app/compose.yaml", "--allow-any-path"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("SHARED_SETTING: from-outside"), "{out:?}");
}
