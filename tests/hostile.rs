//! Hostile input, end to end: kompile runs in CI on compose files (and output directories)
//! from untrusted pull requests, so it must stay bounded in time and memory, never write
//! through or delete files it did not generate, and never print a secret value.
//!
//! Every test runs the real binary with a cleared environment in its own scratch directory
//! under `std::env::temp_dir()`, removed when the test ends. Each run is guarded: it is killed
//! (and the test fails) when it takes longer than its time limit or, on Linux, when its
//! resident memory grows past `MAX_RSS`. The limits are hang and runaway guards, not
//! benchmarks. The golden cases `testdata/cases/hostile-*` cover single-file hostile YAML.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use support::{Scratch, WEB_PLAIN as WEB};

/// Resident memory a run may reach before it is killed as runaway (Linux only).
const MAX_RSS_BYTES: u64 = 1024 * 1024 * 1024;

/// Default hang guard of one run.
const HANG_GUARD: Duration = Duration::from_secs(20);

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// Why the guard killed the run, if it did.
    killed: Option<String>,
    peak_rss: Option<u64>,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cut = |s: &str| -> String {
            if s.len() > 4000 {
                let mut end = 4000;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}... ({} bytes)", &s[..end], s.len())
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "exit {} after {:?} (killed: {:?}, peak RSS: {:?} bytes)\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.elapsed,
            self.killed,
            self.peak_rss,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }
}

/// Guarded runs of kompile in a scratch directory.
trait GuardedRun {
    fn run_guarded(&self, args: &[&str]) -> Out;
    fn run_guarded_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out;
}

impl GuardedRun for Scratch {
    fn run_guarded(&self, args: &[&str]) -> Out {
        guarded(self.command(args), None, HANG_GUARD)
    }

    fn run_guarded_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        guarded(cmd, None, HANG_GUARD)
    }
}

/// Resident memory of a running process in bytes (Linux; `None` elsewhere or once it exited).
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Run `cmd` with `stdin` (or none), killing it when it outlives `limit` or its memory passes
/// `MAX_RSS_BYTES`. Output is drained on threads so a large stdout cannot block the child.
fn guarded(mut cmd: Command, stdin: Option<Vec<u8>>, limit: Duration) -> Out {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("the kompile binary runs");
    let pid = child.id();
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        // kompile may stop reading early (input limit): a broken pipe is fine.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let mut stdout_pipe = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stdout_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut buf);
        buf
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
        buf
    });
    let mut killed = None;
    let mut peak_rss = None::<u64>;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if let Some(rss) = rss_bytes(pid) {
            peak_rss = Some(peak_rss.map_or(rss, |p| p.max(rss)));
            if rss > MAX_RSS_BYTES {
                killed = Some(format!("resident memory {rss} bytes passed {MAX_RSS_BYTES}"));
            }
        }
        if killed.is_none() && start.elapsed() > limit {
            killed = Some(format!("still running after {limit:?}"));
        }
        if killed.is_some() {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let out = Out {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout_reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&stderr_reader.join().unwrap()).into_owned(),
        elapsed,
        killed,
        peak_rss,
    };
    assert!(!out.stderr.contains("panicked"), "kompile panicked: {out:?}");
    out
}

fn assert_not_killed(what: &str, out: &Out) {
    assert!(out.killed.is_none(), "{what}: the guard killed kompile: {out:?}");
}

/// Modification time and contents of a file, to prove it was not touched.
fn fingerprint(path: &Path) -> (SystemTime, Vec<u8>) {
    let meta = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.modified().unwrap(), std::fs::read(path).unwrap())
}

// ---------------------------------------------------------------------------------------------
// (a) Scale: many services

#[test]
fn five_thousand_services_convert_in_bounded_time() {
    let s = Scratch::new("five_thousand");
    let mut compose = String::from("services:\n");
    for i in 0..5000 {
        compose.push_str(&format!(
            "  svc{i}:\n    image: nginx:1.27\n    ports:\n      - \"{}:80\"\n    environment:\n      INDEX: \"{i}\"\n",
            8000 + i % 1000
        ));
    }
    s.write("compose.yaml", &compose);
    let out = s.run_guarded(&["convert", "-f", "compose.yaml"]);
    assert_not_killed("5,000 services", &out);
    eprintln!("5,000 services: {:?}, peak RSS {:?} bytes", out.elapsed, out.peak_rss);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.elapsed < Duration::from_secs(20), "5,000 services took {:?}", out.elapsed);
    assert_eq!(out.stdout.matches("\nkind: Deployment\n").count(), 5000, "one Deployment per service");
    assert_eq!(out.stdout.matches("\nkind: Service\n").count(), 5000, "one Service per service");
    assert!(out.stdout.contains("name: svc4999\n"), "the last service is converted");
}

// ---------------------------------------------------------------------------------------------
// (b) Size: a huge compose file, on disk, on stdin, and behind a symbolic link to a device

/// A syntactically valid compose file of about `bytes` bytes: one service with a huge
/// extension list, so a reader that loads it all also parses it all.
fn huge_compose(bytes: usize) -> Vec<u8> {
    let mut text = String::with_capacity(bytes + 1024);
    text.push_str("services:\n  web:\n    image: nginx:1.27\nx-padding:\n");
    let line = format!("  - \"{}\"\n", "x".repeat(1000));
    while text.len() < bytes {
        text.push_str(&line);
    }
    text.into_bytes()
}

#[test]
fn thirty_megabyte_compose_file_is_refused_without_exhausting_memory() {
    let s = Scratch::new("thirty_mb_file");
    s.write("compose.yaml", huge_compose(30 * 1024 * 1024));
    let out = s.run_guarded(&["convert", "-f", "compose.yaml"]);
    assert_not_killed("30 MB file", &out);
    eprintln!("30 MB file: exit {} in {:?}, peak RSS {:?} bytes", out.code, out.elapsed, out.peak_rss);
    assert_eq!(out.code, 2, "over the 16 MiB input limit: {out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("--max-input-bytes"), "the message says how to raise the limit: {out:?}");
}

#[test]
fn thirty_megabyte_compose_file_on_stdin_is_refused_without_exhausting_memory() {
    let s = Scratch::new("thirty_mb_stdin");
    let out = guarded(s.command(&["convert", "-f", "-"]), Some(huge_compose(30 * 1024 * 1024)), HANG_GUARD);
    assert_not_killed("30 MB on stdin", &out);
    eprintln!("30 MB stdin: exit {} in {:?}, peak RSS {:?} bytes", out.code, out.elapsed, out.peak_rss);
    assert_eq!(out.code, 2, "over the 16 MiB input limit: {out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("--max-input-bytes"), "{out:?}");
}

/// A 2 MB value fits the input limit but makes an object larger than a cluster stores
/// (etcd's 1.5 MiB): an error naming the object, and no output.
#[test]
fn an_object_larger_than_a_cluster_stores_is_an_error() {
    let s = Scratch::new("huge_object");
    let image = format!("nginx:{}", "a".repeat(2_000_000));
    s.write("compose.yaml", format!("services:\n  web:\n    image: {image}\n").into_bytes());
    let out = s.run_guarded(&["convert", "-f", "compose.yaml"]);
    assert_not_killed("2 MB image", &out);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("compose.yaml:2:3: error[K307]: Deployment `web`: holds 2000"), "{out:?}");
}

/// A pull request can commit `compose.yaml` as a symbolic link to `/dev/zero` (or `/dev/urandom`,
/// `/proc/...`): its size on disk is 0, so a size check on the metadata passes, and reading it
/// never ends. The input limit must hold while reading.
#[cfg(unix)]
#[test]
fn compose_file_linked_to_an_endless_device_is_refused_within_the_input_limit() {
    let s = Scratch::new("dev_zero");
    std::os::unix::fs::symlink("/dev/zero", s.path("compose.yaml")).unwrap();
    let out = guarded(s.command(&["convert", "-f", "compose.yaml"]), None, Duration::from_secs(10));
    eprintln!("compose.yaml -> /dev/zero: exit {} in {:?}, peak RSS {:?} bytes", out.code, out.elapsed, out.peak_rss);
    assert_not_killed("compose.yaml -> /dev/zero", &out);
    assert_ne!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
}

/// One 100 KB string aliased 10,000 times is 10,000 nodes, far under the node budget, but 1 GB
/// of text (it ran to 2 GB of memory): the byte budget refuses it where the copies are made.
#[test]
fn aliases_of_a_long_string_hit_the_byte_budget() {
    let s = Scratch::new("alias_long_string");
    let mut compose = format!("x-s: &s {}\n", "x".repeat(100_000));
    compose.push_str("x-a0: &a0 [*s,*s,*s,*s,*s,*s,*s,*s,*s,*s]\n");
    for level in 1..4 {
        let prev = format!("*a{}", level - 1);
        compose.push_str(&format!("x-a{level}: &a{level} [{}]\n", [prev.as_str(); 10].join(",")));
    }
    compose.push_str("services:\n  web:\n    image: nginx\n");
    s.write("compose.yaml", &compose);
    let out = s.run_guarded(&["convert", "-f", "compose.yaml"]);
    assert_not_killed("10,000 aliases of a 100 KB string", &out);
    eprintln!("aliased long string: exit {} in {:?}, peak RSS {:?} bytes", out.code, out.elapsed, out.peak_rss);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("compose.yaml:4:"), "reported at the alias that crosses the budget: {out:?}");
    assert!(out.stderr.contains("error[K102]: the document expands to more than 67108864 bytes"), "{out:?}");
    assert!(out.stderr.contains("--max-scalar-bytes"), "{out:?}");
}

/// `${A:-${A:-...}}` nested 100,000 deep (a 700 KB file): each level used to search the rest
/// of the string again (quadratic, minutes). Expansion stops at 64 levels with K109.
#[test]
fn deeply_nested_interpolation_defaults_are_refused_in_linear_time() {
    let s = Scratch::new("nested_defaults");
    let levels = 100_000;
    let value = format!("{}x{}", "${A:-".repeat(levels), "}".repeat(levels));
    s.write("compose.yaml", format!("services:\n  web:\n    image: nginx\n    environment:\n      X: \"{value}\"\n"));
    let out = s.run_guarded(&["convert", "-f", "compose.yaml"]);
    assert_not_killed("interpolation nested 100,000 deep", &out);
    eprintln!("nested defaults: exit {} in {:?}, peak RSS {:?} bytes", out.code, out.elapsed, out.peak_rss);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("compose.yaml:5:10: error[K109]: `services.web.environment.X`: `${...}` expressions are nested more than 64 levels deep"),
        "{out:?}"
    );
}

/// `extends` is resolved once per base: 10,000 services extending one base, a chain of 3,000
/// services and a cycle of 3,000 services used to take time quadratic in the services (the
/// chain and the cycle minutes, although chains deeper than 32 are refused).
#[test]
fn extends_chains_and_shared_bases_resolve_in_linear_time() {
    let s = Scratch::new("extends_scale");
    let mut fan_in = String::from("services:\n  base:\n    image: nginx\n    environment:\n      SHARED: \"1\"\n");
    for i in 0..10_000 {
        fan_in.push_str(&format!("  svc{i}:\n    extends: base\n"));
    }
    s.write("fan-in.yaml", &fan_in);
    let out = s.run_guarded(&["convert", "-f", "fan-in.yaml"]);
    assert_not_killed("10,000 services extending one base", &out);
    eprintln!("extends fan-in: exit {} in {:?}, peak RSS {:?} bytes", out.code, out.elapsed, out.peak_rss);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.matches("\nkind: Deployment\n").count(), 10_001, "{out:?}");
    assert_eq!(out.stdout.matches("name: SHARED\n").count(), 10_001, "every service has the base's environment");

    let mut chain = String::from("services:\n  s0:\n    image: nginx\n");
    let mut cycle = String::from("services:\n");
    for i in 1..3000 {
        chain.push_str(&format!("  s{i}:\n    extends: s{}\n", i - 1));
    }
    for i in 0..3000 {
        cycle.push_str(&format!("  s{i}:\n    image: nginx\n    extends: s{}\n", (i + 1) % 3000));
    }
    s.write("chain.yaml", &chain);
    s.write("cycle.yaml", &cycle);
    for file in ["chain.yaml", "cycle.yaml"] {
        let out = s.run_guarded(&["convert", "-f", file]);
        assert_not_killed(file, &out);
        eprintln!("extends {file}: exit {} in {:?}, peak RSS {:?} bytes", out.code, out.elapsed, out.peak_rss);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains("error[K102]: `extends` chains deeper than 32 services"), "{out:?}");
    }
}

/// A 16 MiB `command: a a a ...` is eight million one-letter arguments: splitting it took
/// 1.2 GB before the Deployment was refused as too large. The split stops at the size one
/// object can hold, with K307 at the command.
#[test]
fn a_huge_command_string_is_refused_without_splitting_it_all() {
    let s = Scratch::new("huge_command");
    let mut compose = String::from("services:\n  web:\n    image: nginx\n    command: ");
    while compose.len() < 16 * 1024 * 1024 - 100 {
        compose.push_str("a ");
    }
    compose.push('\n');
    s.write("compose.yaml", &compose);
    let out = s.run_guarded(&["convert", "-f", "compose.yaml"]);
    assert_not_killed("16 MiB command", &out);
    eprintln!("16 MiB command: exit {} in {:?}, peak RSS {:?} bytes", out.code, out.elapsed, out.peak_rss);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(
        out.stderr
            .contains("compose.yaml:4:14: error[K307]: `services.web.command` splits into arguments of more than"),
        "{out:?}"
    );
    if let Some(rss) = out.peak_rss {
        assert!(rss < 256 * 1024 * 1024, "a 16 MiB file used {rss} bytes: {out:?}");
    }
}

// ---------------------------------------------------------------------------------------------
/// Port ranges expand to one port each: `1-65535` for TCP and for UDP is 131,070 container
/// ports and as many Service ports. Each is checked against the others through an index; a
/// linear search per port took 15 s for this file in a release build. Both objects are then
/// too large for a cluster to store, which is reported.
#[test]
fn full_port_ranges_convert_in_linear_time() {
    let s = Scratch::new("port_ranges");
    s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    ports:\n      - \"1-65535:1-65535\"\n      - \"1-65535:1-65535/udp\"\n",
    );
    let out = s.run_guarded(&["convert", "-f", "compose.yaml"]);
    assert_not_killed("full port ranges", &out);
    // Mapped and checked in full, and then too large for a cluster to store (K307).
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    for kind in ["Deployment", "Service"] {
        assert!(out.stderr.contains(&format!("error[K307]: {kind} `web`: holds")), "{out:?}");
    }
    // 20,000 ports stay under that size and convert.
    s.write("compose.yaml", "services:\n  web:\n    image: nginx\n    ports:\n      - \"1-20000:1-20000\"\n");
    let out = s.run_guarded(&["convert", "-f", "compose.yaml"]);
    assert_not_killed("20,000 ports", &out);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.matches("containerPort:").count(), 20_000);
    assert_eq!(out.stdout.matches("targetPort:").count(), 20_000);
}

// (c) Output directory: symbolic links named like generated files

#[cfg(unix)]
#[test]
fn output_directory_symlink_is_not_written_through() {
    let s = Scratch::new("out_symlink");
    s.write("compose.yaml", WEB);
    s.write("target.txt", "precious\n");
    std::fs::create_dir_all(s.path("out")).unwrap();
    let target = s.path("target.txt");
    std::os::unix::fs::symlink(&target, s.path("out/web-deployment.yaml")).unwrap();
    let before = fingerprint(&target);
    let out = s.run_guarded(&["convert", "-f", "compose.yaml", "-o", "out/"]);
    assert_not_killed("-o through a symlink", &out);
    assert_ne!(out.code, 0, "writing through a symlink must fail: {out:?}");
    assert!(out.stderr.contains("web-deployment.yaml"), "the message names the link: {out:?}");
    assert_eq!(fingerprint(&target), before, "the link's target was touched");
    let meta = std::fs::symlink_metadata(s.path("out/web-deployment.yaml")).unwrap();
    assert!(meta.file_type().is_symlink(), "the link itself was replaced");
    // All or nothing: the other object was not written either, and no temporary files remain.
    let names: Vec<String> = std::fs::read_dir(s.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["web-deployment.yaml".to_string()], "{out:?}");
}

/// `-o FILE` where FILE is a device or a pipe (`-o /dev/null` is a common way to run only the
/// checks): the stream is written into it. The writer's usual temporary file and rename would
/// replace the device with a regular file (which, for `/dev/null` as root, breaks the whole
/// machine), and reading it first to compute changes could block or never end. Tested with a
/// FIFO, which any user can make and which shows both mistakes.
#[cfg(unix)]
#[test]
fn output_file_that_is_a_pipe_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let s = Scratch::new("out_fifo");
    s.write("compose.yaml", WEB);
    let fifo = s.path("out.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|st| st.success()) {
        assert!(!support::is_ci(), "mkfifo is needed for this test");
        eprintln!("SKIPPED: mkfifo is not available");
        return;
    }
    // A link to a pipe (as `/dev/stderr` is a link to a terminal or a pipe) is written
    // through: only links to regular files and directories are refused.
    std::os::unix::fs::symlink(&fifo, s.path("link.yaml")).unwrap();
    for target in ["out.yaml", "link.yaml"] {
        // The reader opens the pipe and keeps everything written until the writer closes it.
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let out = s.run_guarded(&["convert", "-f", "compose.yaml", "-o", target]);
        if !reader.is_finished() {
            // kompile never opened the pipe: open it once for writing so the reader returns.
            drop(std::fs::OpenOptions::new().write(true).open(&fifo));
        }
        let received = reader.join().unwrap();
        assert_not_killed("-o a pipe", &out);
        assert_eq!(out.code, 0, "{target}: {out:?}");
        assert!(received.contains("kind: Deployment") && received.contains("kind: Service"), "{target}: {received}");
        let meta = std::fs::symlink_metadata(&fifo).unwrap();
        assert!(meta.file_type().is_fifo(), "the pipe was replaced by a {:?}", meta.file_type());
        assert!(std::fs::symlink_metadata(s.path("link.yaml")).unwrap().file_type().is_symlink());
    }
    // A link to a regular file, or to a disk, is refused like any link: a committed link must
    // not make a CI run write where it points.
    s.write("victim.txt", "keep me\n");
    std::os::unix::fs::symlink(s.path("victim.txt"), s.path("file-link.yaml")).unwrap();
    let disk = std::fs::read_dir("/dev").ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path())
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.file_type().is_block_device()))
    });
    if let Some(disk) = &disk {
        std::os::unix::fs::symlink(disk, s.path("disk-link.yaml")).unwrap();
    }
    for (target, what) in [("file-link.yaml", "a regular file"), ("disk-link.yaml", "a block device")] {
        if target == "disk-link.yaml" && disk.is_none() {
            continue;
        }
        let out = s.run_guarded(&["convert", "-f", "compose.yaml", "-o", target]);
        assert_not_killed("-o a link", &out);
        assert_eq!(out.code, 2, "a link to {what} must be refused: {out:?}");
        assert!(out.stderr.contains("symbolic link"), "{out:?}");
    }
    assert_eq!(std::fs::read_to_string(s.path("victim.txt")).unwrap(), "keep me\n");
}

/// `--check -o DIR` is the usual CI drift check. A pull request can commit
/// `DIR/web-deployment.yaml` as a link to a file on the runner; the diff must not show that
/// file's contents.
#[cfg(unix)]
#[test]
fn check_mode_does_not_print_the_contents_behind_an_output_symlink() {
    let s = Scratch::new("check_symlink");
    s.write("compose.yaml", WEB);
    let secret = "RUNNER-PRIVATE-KEY-4d1f9a";
    s.write("target.txt", format!("{secret}\n"));
    std::fs::create_dir_all(s.path("out")).unwrap();
    std::os::unix::fs::symlink(s.path("target.txt"), s.path("out/web-deployment.yaml")).unwrap();
    let before = fingerprint(&s.path("target.txt"));
    let out = s.run_guarded(&["convert", "-f", "compose.yaml", "--check", "-o", "out/"]);
    assert_not_killed("--check through a symlink", &out);
    assert_ne!(out.code, 0, "{out:?}");
    assert_eq!(fingerprint(&s.path("target.txt")), before, "the link's target was touched");
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "--check printed the contents of the file behind the symlink: {out:?}"
    );
}

/// The same through `.kompile-manifest`: a listed generated file that is now a link to a file on
/// the runner must not be read for the removal diff.
#[cfg(unix)]
#[test]
fn check_mode_does_not_print_the_contents_behind_a_manifest_listed_symlink() {
    let s = Scratch::new("manifest_symlink_check");
    s.write("compose.yaml", WEB);
    let secret = "RUNNER-PRIVATE-KEY-77c2e0";
    s.write("target.txt", format!("{secret}\n"));
    s.write("out/.kompile-manifest", "old.yaml\n");
    std::os::unix::fs::symlink(s.path("target.txt"), s.path("out/old.yaml")).unwrap();
    let before = fingerprint(&s.path("target.txt"));
    let out = s.run_guarded(&["convert", "-f", "compose.yaml", "--check", "-o", "out/"]);
    assert_not_killed("--check", &out);
    assert_eq!(fingerprint(&s.path("target.txt")), before, "the link's target was touched");
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "--check printed the contents behind a manifest-listed symlink: {out:?}"
    );
}

/// Writing: a manifest-listed link is not followed, and kompile does not claim to have removed
/// a file it left in place.
#[cfg(unix)]
#[test]
fn manifest_listed_symlink_is_not_followed_or_falsely_reported_removed() {
    let s = Scratch::new("manifest_symlink_write");
    s.write("compose.yaml", WEB);
    s.write("target.txt", "precious\n");
    s.write("out/.kompile-manifest", "old.yaml\n");
    std::os::unix::fs::symlink(s.path("target.txt"), s.path("out/old.yaml")).unwrap();
    let before = fingerprint(&s.path("target.txt"));
    let out = s.run_guarded(&["convert", "-f", "compose.yaml", "-o", "out/"]);
    assert_not_killed("write", &out);
    assert_eq!(fingerprint(&s.path("target.txt")), before, "the link's target was touched");
    if std::fs::symlink_metadata(s.path("out/old.yaml")).is_ok() {
        assert!(
            !out.stdout.contains("old.yaml removed") && !out.stderr.contains("old.yaml removed"),
            "kompile reports removing `old.yaml` but left it in place: {out:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// (d) Output directory: a hostile `.kompile-manifest`

#[test]
fn hostile_manifest_entries_are_never_deleted_or_touched() {
    let s = Scratch::new("hostile_manifest");
    s.write("compose.yaml", WEB);
    s.write("outside.yaml", "outside: keep me\n");
    s.write("out/sub/x.yaml", "sub: keep me\n");
    s.write("out/.hidden.yaml", "hidden: keep me\n");
    s.write("out/notes.txt", "my notes\n");
    s.write(
        "out/.kompile-manifest",
        "# Files generated by kompile; it removes the ones a later run no longer produces.\n\
         ../outside.yaml\n/etc/passwd\nsub/x.yaml\n.hidden.yaml\nnotes.txt\n",
    );
    let watched: Vec<PathBuf> = vec![
        s.path("outside.yaml"),
        PathBuf::from("/etc/passwd"),
        s.path("out/sub/x.yaml"),
        s.path("out/.hidden.yaml"),
        s.path("out/notes.txt"),
    ];
    let watched: Vec<(PathBuf, (SystemTime, Vec<u8>))> = watched
        .into_iter()
        .filter(|p| p.exists()) // /etc/passwd may be absent on some systems
        .map(|p| {
            let f = fingerprint(&p);
            (p, f)
        })
        .collect();
    for args in [&["convert", "-f", "compose.yaml", "-o", "out/"][..], &["convert", "-f", "compose.yaml", "-o", "out/"]]
    {
        let out = s.run_guarded(args);
        assert_not_killed("-o with a hostile manifest", &out);
        assert_eq!(out.code, 0, "{out:?}");
        for (path, before) in &watched {
            assert!(path.exists(), "{} was deleted: {out:?}", path.display());
            assert_eq!(&fingerprint(path), before, "{} was touched: {out:?}", path.display());
        }
    }
    assert!(s.path("out/web-deployment.yaml").is_file());
    let manifest = std::fs::read_to_string(s.path("out/.kompile-manifest")).unwrap();
    for entry in ["../outside.yaml", "/etc/passwd", "sub/x.yaml", ".hidden.yaml", "notes.txt"] {
        assert!(!manifest.lines().any(|l| l == entry), "the rewritten manifest still claims `{entry}`:\n{manifest}");
    }
}

// ---------------------------------------------------------------------------------------------
// (e) `kompile config` masks secret values

const DB_PASSWORD: &str = "pw-1a2b3c4d5e";
const API_TOKEN: &str = "tok-9f8e7d6c5b";

fn secrets_project(s: &Scratch) {
    s.write(
        "compose.yaml",
        "services:\n  app:\n    image: busybox:1.36\n    environment:\n      DB_PASSWORD: ${DB_PASSWORD}\n    env_file: app.env\n",
    );
    s.write("app.env", format!("API_TOKEN={API_TOKEN}\nPLAIN=visible\n"));
}

#[test]
fn config_masks_secret_values() {
    let s = Scratch::new("config_masks");
    secrets_project(&s);
    for format in ["yaml", "json"] {
        let out =
            s.run_guarded_env(&["config", "-f", "compose.yaml", "--format", format], &[("DB_PASSWORD", DB_PASSWORD)]);
        assert_eq!(out.code, 0, "{out:?}");
        for value in [DB_PASSWORD, API_TOKEN] {
            assert!(!out.stdout.contains(value) && !out.stderr.contains(value), "{format}: `{value}` printed: {out:?}");
        }
        assert!(out.stdout.contains("DB_PASSWORD") && out.stdout.contains("API_TOKEN"), "names are kept: {out:?}");
        assert!(out.stdout.contains("visible"), "other values are shown: {out:?}");
    }
}

#[test]
fn config_show_secrets_prints_secret_values() {
    let s = Scratch::new("config_show");
    secrets_project(&s);
    let out = s.run_guarded_env(&["config", "-f", "compose.yaml", "--show-secrets"], &[("DB_PASSWORD", DB_PASSWORD)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(DB_PASSWORD), "{out:?}");
    assert!(out.stdout.contains(API_TOKEN), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// (f) A dotenv syntax error on a line holding a secret: the diagnostic shows no value

const LEAKED: &str = "sk-live-77abX";

fn assert_no_value(what: &str, out: &Out) {
    assert_not_killed(what, out);
    assert_ne!(out.code, 0, "{what}: a syntax error fails the run: {out:?}");
    assert!(!out.stderr.contains(LEAKED) && !out.stdout.contains(LEAKED), "{what}: the value is printed: {out:?}");
}

#[test]
fn env_file_syntax_error_does_not_print_the_value() {
    let s = Scratch::new("env_file_syntax");
    s.write("compose.yaml", "services:\n  app:\n    image: busybox:1.36\n    env_file: app.env\n");
    for line in [
        format!("API_TOKEN=\"{LEAKED}"),
        format!("API_TOKEN='{LEAKED}"),
        format!("API_TOKEN=${{{LEAKED}"),
        format!("API_TOKEN=\"${{{LEAKED}\""),
    ] {
        s.write("app.env", format!("A=1\n{line}\nB=2\n"));
        let out = s.run_guarded(&["convert", "-f", "compose.yaml"]);
        assert_no_value(&format!("app.env line `{line}`"), &out);
        assert!(out.stderr.contains("app.env:2:"), "the position is given: {out:?}");
    }
}

#[test]
fn dotenv_syntax_error_does_not_print_the_value() {
    let s = Scratch::new("dotenv_syntax");
    s.write("compose.yaml", "services:\n  app:\n    image: busybox:1.36\n");
    for line in [format!("API_TOKEN=\"{LEAKED}"), format!("API_TOKEN=${{{LEAKED}")] {
        s.write(".env", format!("A=1\n{line}\n"));
        for cmd in ["convert", "config"] {
            let out = s.run_guarded(&[cmd, "-f", "compose.yaml"]);
            assert_no_value(&format!("{cmd}: .env line `{line}`"), &out);
            assert!(out.stderr.contains(".env:2:"), "the position is given: {out:?}");
        }
    }
}

#[test]
fn dotenv_linked_outside_the_project_is_not_read() {
    let s = Scratch::new("dotenv_link");
    let outside = Scratch::new("dotenv_link_target");
    outside.write("credentials", format!("SECRET={LEAKED}\n"));
    s.write("compose.yaml", "services:\n  app:\n    image: busybox:1.36\n    environment:\n      X: ${SECRET}\n");
    std::os::unix::fs::symlink(outside.path("credentials"), s.path(".env")).unwrap();
    for cmd in ["convert", "config"] {
        let out = s.run_guarded(&[cmd, "-f", "compose.yaml"]);
        assert_no_value(&format!("{cmd}: .env linked outside"), &out);
        assert_eq!(out.code, 1, "an error: {out:?}");
        assert!(out.stderr.contains("K116") && out.stderr.contains("--env-file"), "{out:?}");
    }
    // Named on purpose, it is read.
    let out =
        s.run_guarded(&["convert", "-f", "compose.yaml", "--env-file", outside.path("credentials").to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(LEAKED), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// (g) An interpolation syntax error in a secret-looking variable: the message shows no value

#[test]
fn interpolation_error_in_environment_map_does_not_print_the_value() {
    let s = Scratch::new("interp_map");
    s.write(
        "compose.yaml",
        "services:\n  app:\n    image: busybox:1.36\n    environment: {DB_PASSWORD: \"abc${def\"}\n",
    );
    for cmd in ["convert", "config"] {
        let out = s.run_guarded(&[cmd, "-f", "compose.yaml"]);
        assert_not_killed(cmd, &out);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains("error[K109]"), "{out:?}");
        assert!(out.stderr.contains("DB_PASSWORD"), "the variable is named: {out:?}");
        assert!(!out.stderr.contains("abc"), "the value is printed: {out:?}");
    }
}

#[test]
fn interpolation_error_in_environment_list_does_not_print_the_value() {
    let s = Scratch::new("interp_list");
    s.write(
        "compose.yaml",
        "services:\n  app:\n    image: busybox:1.36\n    environment:\n      - DB_PASSWORD=abc${def\n",
    );
    for cmd in ["convert", "config"] {
        let out = s.run_guarded(&[cmd, "-f", "compose.yaml"]);
        assert_not_killed(cmd, &out);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains("error[K109]"), "{out:?}");
        assert!(!out.stderr.contains("abc"), "the value is printed: {out:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings: CRLF line endings and a byte order mark change nothing

const ENCODED: &str = "\
services:
  web:
    image: nginx:1.27
    ports:
      - \"8080:80\"
    environment:
      GREETING: hello world
    command: >
      sh -c
      'echo folded'
    labels:
      com.example.note: |
        line one
        line two
";

#[test]
fn crlf_and_bom_give_the_same_output_as_plain_lf() {
    let s = Scratch::new("crlf_bom");
    s.write("lf.yaml", ENCODED);
    s.write("crlf.yaml", ENCODED.replace('\n', "\r\n"));
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(ENCODED.replace('\n', "\r\n").as_bytes());
    s.write("bom-crlf.yaml", bom);
    let lf = s.run_guarded(&["convert", "-f", "lf.yaml"]);
    assert_eq!(lf.code, 0, "{lf:?}");
    assert_eq!(lf.stderr, "", "{lf:?}");
    assert!(lf.stdout.contains("line one\n") && !lf.stdout.contains('\r'), "{lf:?}");
    for file in ["crlf.yaml", "bom-crlf.yaml"] {
        let out = s.run_guarded(&["convert", "-f", file]);
        assert_eq!(out.code, 0, "{file}: {out:?}");
        assert_eq!(out.stderr, "", "{file}: {out:?}");
        assert_eq!(out.stdout, lf.stdout, "{file}: output differs from the LF file");
    }
}
