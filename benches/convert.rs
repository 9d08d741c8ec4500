//! Conversion throughput against a parse-and-re-emit baseline (std-only harness).
//!
//! `cargo bench` generates, in memory, compose projects of 1, 100, 1,000 and 10,000
//! realistic services (image, a published port, an environment map, a named volume, a
//! healthcheck, deploy resources, labels) and times:
//!
//! - **convert**: `kompile::convert` plus rendering with `kompile::output::yaml_stream`;
//! - **baseline**: `kompile::yaml::parse` of the same text, the node tree turned into a
//!   `kompile::value::Value` (what objects are held in), re-emitted with `kompile::yaml::to_yaml`.
//!
//! Each side runs once to warm up, then the two run in rounds (one run of each, the order
//! alternating, so that both meet the same load on a shared machine) until there are at
//! least 15 rounds and the time budget is spent (or 50 rounds). A run's time is split in two:
//! the **work** (reading the input to the finished output text) and the **teardown**
//! (freeing what the run made, which the `kompile` binary leaves to the process's exit).
//! The table gives the medians and minimums of the work, its ratio, the teardown medians,
//! and the ratio of work and teardown together; each ratio also as the median of the rounds'
//! own ratios ("paired": the two runs of a round ran one after the other, so a drift in the
//! machine's speed moves both alike). A second table (1,000 and 10,000 services)
//! times whole processes, as users run them: the `kompile` binary against the baseline mode
//! below, each started fresh, in interleaved rounds. A third times the pipeline stages once
//! per size, to show where the time goes.
//!
//! Other modes:
//! - without `--bench` (as `cargo test --benches` runs it): a quick smoke run, 1 and 100
//!   services, five rounds each;
//! - `--one-shot convert|baseline FILE`: run one side once on a file and exit, so that
//!   `scripts/bench-memory.sh` can measure peak RSS of the baseline in its own process;
//! - `--one-shot stages FILE`: run the stages once, printing RSS and peak RSS after each;
//! - `--generate N`: print the generated compose file of N services (the script's input);
//! - `--sequential` (with any mode): never use a second thread, to compare with the default.

use indexmap::IndexMap;
use kompile::compose::ComposeFile;
use kompile::diag::{Diagnostics, Sources};
use kompile::fs::{FileKind, FileSystem};
use kompile::yaml::{self, Node, Value};
use std::fmt::Write as _;
use std::hint::black_box;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// A file system with nothing in it: the generated projects name no files.
struct EmptyFs;

impl FileSystem for EmptyFs {
    fn kind(&self, _: &Path) -> Option<FileKind> {
        None
    }
    fn size(&self, _: &Path) -> Option<u64> {
        None
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        Err(io::Error::new(io::ErrorKind::NotFound, path.display().to_string()))
    }
    fn list(&self, path: &Path) -> io::Result<Vec<String>> {
        Err(io::Error::new(io::ErrorKind::NotFound, path.display().to_string()))
    }
}

/// A compose file of `n` services (also printed by `--generate N` for `scripts/bench-memory.sh`).
fn generate(n: usize) -> String {
    let mut out = String::with_capacity(700 * n + 64);
    out.push_str("services:\n");
    for i in 0..n {
        let name = format!("svc-{i:05}");
        let host = 10000 + i;
        let patch = i % 10;
        writeln!(
            out,
            r#"  {name}:
    image: registry.example.com/team/{name}:1.2.{patch}
    ports:
      - "{host}:8080"
    environment:
      LOG_LEVEL: info
      SERVICE_NAME: {name}
      HTTP_PORT: "8080"
      DATABASE_URL: postgres://db:5432/app
    volumes:
      - data-{i:05}:/var/lib/data
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8080/health"]
      interval: 30s
      timeout: 5s
      retries: 3
    deploy:
      resources:
        limits:
          cpus: "0.5"
          memory: 256M
        reservations:
          cpus: "0.1"
          memory: 64M
    labels:
      com.example.team: payments
      com.example.tier: backend"#
        )
        .unwrap();
    }
    out.push_str("volumes:\n");
    for i in 0..n {
        writeln!(out, "  data-{i:05}: {{}}").unwrap();
    }
    out
}

/// What one run of a side took: making its output, then freeing what it made.
#[derive(Clone, Copy)]
struct Run {
    work: Duration,
    teardown: Duration,
    len: usize,
}

/// The end-to-end side: convert, then render the YAML stream; then free it all.
///
/// With `exiting`, what the `kompile` binary leaves to the end of the process (the parsed
/// tree, the model, the objects) is not freed; [`parse_and_emit`] does the same.
fn convert_and_render(files: &[ComposeFile], exiting: bool) -> Run {
    let start = Instant::now();
    let env = IndexMap::new();
    let options = kompile::Options::default();
    let (conversion, leftovers) = kompile::convert_with_leftovers(files, &env, Path::new("."), &EmptyFs, &options);
    assert!(!conversion.has_errors(), "the generated project must convert: {:?}", conversion.diagnostics.first());
    let text = kompile::output::yaml_stream(&conversion.objects, 2);
    let len = black_box(&text).len();
    assert!(len > 0);
    let work = start.elapsed();
    let start = Instant::now();
    if exiting {
        std::mem::forget((conversion, leftovers));
    } else {
        drop((conversion, leftovers, text));
    }
    Run { work, teardown: start.elapsed(), len }
}

/// The node tree as the value the emitter writes: the same conversion a converter's own
/// objects go through, so the baseline re-emits with exactly kompile's writer.
fn to_value(node: &Node) -> kompile::value::Value {
    use kompile::value::{Map, Value as Out};
    match &node.value {
        Value::Null => Out::Null,
        Value::Bool(b) => Out::Bool(*b),
        Value::Int(i) => Out::Int(*i),
        Value::Float(f) => Out::Float(*f),
        Value::Str(s) => Out::from(s.as_str()),
        Value::Seq(items) => Out::Array(items.iter().map(to_value).collect()),
        Value::Map(entries) => {
            Out::Object(Map::from_entries(entries.iter().map(|(k, v)| (k.name.clone().into(), to_value(v))).collect()))
        }
    }
}

/// The baseline: parse the same YAML, re-emit it; then free it all.
fn parse_and_emit(text: &str, exiting: bool) -> Run {
    let start = Instant::now();
    let docs = yaml::parse(text, 0, yaml::Limits::default()).expect("the generated YAML parses");
    let mut out = String::new();
    let mut values = Vec::new();
    for doc in &docs {
        let value = to_value(doc);
        out.push_str("---\n");
        yaml::write_yaml(&mut out, &value, 2);
        values.push(value);
    }
    let len = black_box(&out).len();
    assert!(len > 0);
    let work = start.elapsed();
    let start = Instant::now();
    if exiting {
        std::mem::forget((docs, values));
    } else {
        drop((docs, values, out));
    }
    Run { work, teardown: start.elapsed(), len }
}

/// The medians and minimums of runs of both sides.
struct Stats {
    convert: Duration,
    convert_min: Duration,
    convert_teardown: Duration,
    baseline: Duration,
    baseline_min: Duration,
    baseline_teardown: Duration,
    /// [`paired_ratio`] of the work, and of the work and teardown.
    paired: f64,
    paired_with_teardown: f64,
    samples: usize,
}

/// The fewest rounds of a measurement: a median of five runs of 10,000 services moved by 10%
/// from one `cargo bench` to the next on a shared 2-core machine.
const MIN_ROUNDS: usize = 15;

/// One warm-up run of each side, then rounds of one run of each, alternating which goes
/// first, until `budget` is spent (at least [`MIN_ROUNDS`], at most `most`): the two sides
/// meet the same load on a shared machine, and neither always follows the other.
fn rounds<A, B>(budget: Duration, most: usize, a: impl Fn() -> A, b: impl Fn() -> B) -> (Vec<A>, Vec<B>) {
    black_box(a());
    black_box(b());
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while ours.len() < MIN_ROUNDS || (ours.len() < most && start.elapsed() < budget) {
        if ours.len() % 2 == 0 {
            ours.push(a());
            theirs.push(b());
        } else {
            theirs.push(b());
            ours.push(a());
        }
    }
    (ours, theirs)
}

/// The median of the ratios of each round's two runs, which ran one after the other: a
/// machine whose speed drifts during the measurement moves both runs of a round alike.
fn paired_ratio(ours: &[Duration], theirs: &[Duration]) -> f64 {
    let mut ratios: Vec<f64> = ours.iter().zip(theirs).map(|(a, b)| a.as_secs_f64() / b.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// The median and the minimum of some times.
fn median_and_min(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[0])
}

/// Both sides in process, in [`rounds`] (at most 50).
fn measure(budget: Duration, convert: impl Fn() -> Run, baseline: impl Fn() -> Run) -> Stats {
    let (ours, theirs) = rounds(budget, 50, convert, baseline);
    let median = |runs: &[Run], pick: fn(&Run) -> Duration| median_and_min(runs.iter().map(pick).collect());
    let ((convert, convert_min), (convert_teardown, _)) = (median(&ours, |r| r.work), median(&ours, |r| r.teardown));
    let ((baseline, baseline_min), (baseline_teardown, _)) =
        (median(&theirs, |r| r.work), median(&theirs, |r| r.teardown));
    let times = |runs: &[Run], pick: fn(&Run) -> Duration| runs.iter().map(pick).collect::<Vec<_>>();
    let paired = paired_ratio(&times(&ours, |r| r.work), &times(&theirs, |r| r.work));
    let whole = |r: &Run| r.work + r.teardown;
    let paired_with_teardown = paired_ratio(&times(&ours, whole), &times(&theirs, whole));
    Stats {
        convert,
        convert_min,
        convert_teardown,
        baseline,
        baseline_min,
        baseline_teardown,
        paired,
        paired_with_teardown,
        samples: ours.len(),
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.3} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// The pipeline stages timed once, for the breakdown table. With `memory`, also prints the
/// process's current and peak RSS after each stage (Linux only).
fn stages(text: &str, files: &[ComposeFile], memory: bool) -> [Duration; 5] {
    let report = |stage: &str| {
        if memory {
            println!("after {stage:<8} {}", rss());
        }
    };
    report("start");
    let env = IndexMap::new();
    let options = kompile::Options::default();
    let t = Instant::now();
    black_box(yaml::parse(text, 0, options.load.limits).expect("parses"));
    let parse = t.elapsed();
    report("parse");

    let mut sources = Sources::default();
    let t = Instant::now();
    let (project, diags) = kompile::compose::load(files, &env, Path::new("."), &EmptyFs, &options.load, &mut sources);
    let load = t.elapsed();
    assert!(!diags.has_errors());
    let project = project.expect("the generated project loads");
    report("load");

    let t = Instant::now();
    let (mapped, diags) = kompile::k8s::map(&project, &options.map);
    let map = t.elapsed();
    assert!(!diags.has_errors());
    report("map");

    let t = Instant::now();
    let diags: Diagnostics = kompile::k8s::validate(&mapped);
    let validate = t.elapsed();
    assert!(!diags.has_errors());

    report("validate");

    let t = Instant::now();
    let text = kompile::output::yaml_stream(&mapped.objects, 2);
    let render = t.elapsed();
    report("render");
    drop(black_box(text));
    [parse, load, map, validate, render]
}

/// Whole processes, as a user or a pre-commit hook runs them: the `kompile` binary
/// (`convert -f FILE`, its output written to /dev/null) against this program's
/// `--one-shot baseline FILE`, on the same generated file, in interleaved rounds (at least 15,
/// then until `budget` is spent, at most 40). Unlike the loop above, each run starts with
/// cold memory and leaves its freeing to the exit, as the binary does.
fn processes(sizes: &[usize], budget: Duration) {
    use std::process::{Command, Stdio};
    let kompile = env!("CARGO_BIN_EXE_kompile");
    let me = std::env::current_exe().expect("the benchmark knows its own path");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-processes");
    std::fs::create_dir_all(&dir).expect("the benchmark's temporary directory can be made");
    println!();
    println!("Whole processes (`kompile convert -f FILE` against `--one-shot baseline FILE`):");
    println!();
    println!("| services | kompile (median) | kompile (min) | baseline (median) | baseline (min) | ratio (medians) | ratio (mins) | ratio (paired) | rounds |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let file = dir.join(format!("compose-{n}.yaml"));
        std::fs::write(&file, generate(n)).expect("the generated file can be written");
        let time = |command: &mut Command| {
            let start = Instant::now();
            let status = command.stdout(Stdio::null()).stderr(Stdio::null()).status().expect("the process runs");
            assert!(status.success(), "{command:?} failed");
            start.elapsed()
        };
        let ours = || time(Command::new(kompile).arg("convert").arg("-f").arg(&file));
        let theirs = || time(Command::new(&me).arg("--one-shot").arg("baseline").arg(&file));
        let (a, b) = rounds(budget, 40, ours, theirs);
        let count = a.len();
        let paired = paired_ratio(&a, &b);
        let ((am, amin), (bm, bmin)) = (median_and_min(a), median_and_min(b));
        println!(
            "| {n} | {} | {} | {} | {} | {:.2}x | {:.2}x | {paired:.2}x | {count} |",
            ms(am),
            ms(amin),
            ms(bm),
            ms(bmin),
            am.as_secs_f64() / bm.as_secs_f64(),
            amin.as_secs_f64() / bmin.as_secs_f64(),
        );
    }
}

/// `VmRSS` and `VmHWM` from /proc/self/status.
fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map_or("?".to_string(), |v| v.trim().to_string())
    };
    format!("rss {:>12}  peak {:>12}", field("VmRSS:"), field("VmHWM:"))
}

fn one_shot(mode: &str, path: &str) {
    let text = std::fs::read_to_string(path).expect("the compose file can be read");
    if mode == "stages" {
        let files = [ComposeFile { name: path.to_string(), contents: text.clone().into_bytes() }];
        let [parse, load, map, validate, render] = stages(&text, &files, true);
        println!(
            "yaml parse {}, compose load {}, k8s map {}, k8s validate {}, render {}",
            ms(parse),
            ms(load),
            ms(map),
            ms(validate),
            ms(render)
        );
        return;
    }
    let run = match mode {
        "convert" => convert_and_render(&[ComposeFile { name: path.to_string(), contents: text.into_bytes() }], true),
        "baseline" => parse_and_emit(&text, true),
        other => panic!("unknown mode `{other}`: use convert or baseline"),
    };
    println!("{mode}: {} bytes of output", run.len);
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--sequential") {
        args.remove(i);
        kompile::par::set_sequential(true);
    }
    if args.first().map(String::as_str) == Some("--generate") {
        let n = args.get(1).and_then(|n| n.parse().ok()).expect("usage: convert --generate N");
        print!("{}", generate(n));
        return;
    }
    if args.first().map(String::as_str) == Some("--one-shot") {
        let (Some(mode), Some(path)) = (args.get(1), args.get(2)) else {
            panic!("usage: convert --one-shot convert|baseline|stages FILE");
        };
        one_shot(mode, path);
        return;
    }
    let full = args.iter().any(|a| a == "--bench");
    let sizes: &[usize] = if full { &[1, 100, 1_000, 10_000] } else { &[1, 100] };
    let budget = if full { Duration::from_secs(2) } else { Duration::ZERO };

    println!("kompile convert benchmark ({})", if full { "full" } else { "smoke run; `cargo bench` for numbers" });
    println!();
    println!(
        "| services | convert (median) | convert (min) | baseline (median) | baseline (min) | ratio | ratio (paired) | convert per service | teardown: convert / baseline | ratio with teardown | with teardown (paired) | rounds |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut breakdown = Vec::new();
    for &n in sizes {
        let text = generate(n);
        let files = [ComposeFile { name: "compose.yaml".into(), contents: text.clone().into_bytes() }];
        let s = measure(budget, || convert_and_render(&files, false), || parse_and_emit(&text, false));
        let ratio = s.convert.as_secs_f64() / s.baseline.as_secs_f64();
        let with_teardown =
            (s.convert + s.convert_teardown).as_secs_f64() / (s.baseline + s.baseline_teardown).as_secs_f64();
        println!(
            "| {n} | {} | {} | {} | {} | {ratio:.2}x | {:.2}x | {} | {} / {} | {with_teardown:.2}x | {:.2}x | {} |",
            ms(s.convert),
            ms(s.convert_min),
            ms(s.baseline),
            ms(s.baseline_min),
            s.paired,
            us(s.convert / n as u32),
            ms(s.convert_teardown),
            ms(s.baseline_teardown),
            s.paired_with_teardown,
            s.samples,
        );
        if full {
            breakdown.push((n, stages(&text, &files, false)));
        }
    }
    if full {
        processes(&[1_000, 10_000], budget * 2);
    }
    if full {
        println!();
        println!("Stages, one run each (load includes its own YAML parse):");
        println!();
        println!("| services | yaml parse | compose load | k8s map | k8s validate | render |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for (n, [parse, load, map, validate, render]) in breakdown {
            println!("| {n} | {} | {} | {} | {} | {} |", ms(parse), ms(load), ms(map), ms(validate), ms(render));
        }
    }
}
