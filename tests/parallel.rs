//! Large projects use a second thread (`kompile::par`): a large file's services are parsed in
//! two parts, the schema is checked while the model is read, services are mapped in two lanes
//! (when they share nothing the mapper keeps), objects are validated and the YAML stream
//! rendered (or written) in two halves. This proves the result does not depend on it: the
//! same large projects, converted with and without parallelism, give byte-identical
//! manifests and identical diagnostics.
//!
//! Its own test binary, because `par::set_sequential` switches the whole process.

mod support;

use indexmap::IndexMap;
use kompile::compose::ComposeFile;
use kompile::fs::RealFs;
use std::fmt::Write as _;
use support::Scratch;

/// `n` services that exercise what crosses from one service to another: a volume shared by
/// neighbours, an env file shared by all, `depends_on` and `links` to services without ports
/// (warnings naming the referrers), run-once services, Service types, secret-looking
/// variables, invalid labels, healthchecks, resources, a top-level secret and config. Without
/// `env_file`, services share nothing the mapper keeps and are mapped in two lanes.
fn project(n: usize, statefulsets: bool, env_file: bool) -> String {
    let mut out = String::from("services:\n");
    for i in 0..n {
        writeln!(out, "  svc_{i:04}:\n    image: registry.example.com/app:{}", i % 7).unwrap();
        match i % 5 {
            0 => writeln!(out, "    ports: [\"{}:80\"]", 20000 + i).unwrap(),
            1 => writeln!(out, "    expose: [\"9{:03}\"]", i % 1000).unwrap(),
            _ => {}
        }
        if i % 4 == 0 {
            writeln!(out, "    depends_on: [svc_{:04}]", (i + 2) % n).unwrap();
        }
        if i % 9 == 0 {
            writeln!(out, "    links: [\"svc_{:04}:alias\"]", (i * 7 + 3) % n).unwrap();
        }
        writeln!(out, "    volumes:\n      - shared_{}:/data\n      - ./conf:/etc/conf:ro", i / 3).unwrap();
        if env_file {
            writeln!(out, "    env_file: [common.env]").unwrap();
        }
        writeln!(out, "    environment:\n      DB_PASSWORD: secret-{i}\n      MODE: \"yes\"").unwrap();
        if i % 11 == 0 {
            writeln!(out, "    restart: \"no\"").unwrap();
        }
        out.push_str("    labels:\n      com.example.tier: backend\n");
        if i % 13 == 0 {
            out.push_str("      kompose.service.type: nodeport\n      bad label: x\n");
        }
        if statefulsets && i % 6 == 0 {
            out.push_str("      kompose.controller.type: statefulset\n");
        }
        if i % 3 == 0 {
            writeln!(out, "    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 1m30s").unwrap();
            writeln!(out, "    deploy:\n      resources:\n        limits: {{cpus: \"0.25\", memory: 64M}}").unwrap();
        }
        if i % 17 == 0 {
            writeln!(out, "    secrets: [token]\n    configs: [settings]").unwrap();
        }
    }
    out.push_str("volumes:\n");
    for v in 0..n.div_ceil(3) {
        writeln!(out, "  shared_{v}: {{}}").unwrap();
    }
    out.push_str("secrets:\n  token:\n    file: ./token.txt\nconfigs:\n  settings:\n    file: ./settings.ini\n");
    out
}

/// The YAML stream and the rendered diagnostics of one conversion.
fn convert(dir: &Scratch, text: &str, sequential: bool) -> (String, String) {
    kompile::par::set_sequential(sequential);
    let files = [ComposeFile { name: dir.path("compose.yaml").display().to_string(), contents: text.into() }];
    let conversion = kompile::convert(&files, &IndexMap::new(), &dir.path(""), &RealFs, &kompile::Options::default());
    let stream = kompile::output::yaml_stream(&conversion.objects, 2);
    // What the binary writes to stdout: rendered and written as it goes.
    let mut written = Vec::new();
    kompile::output::write_yaml_stream(&conversion.objects, 2, &mut written).expect("writes into memory");
    kompile::par::set_sequential(false);
    assert!(written == stream.as_bytes(), "the written stream differs from the rendered one");
    (stream, format!("{:#?}", conversion.diagnostics))
}

/// A project directory with the files [`project`] names.
fn project_dir(name: &str) -> Scratch {
    let dir = Scratch::new(name);
    dir.write("common.env", "LOG_LEVEL=info\nAPI_TOKEN=abc\n");
    dir.write("conf/app.conf", "x=1\n");
    dir.write("token.txt", "t0ken\n");
    dir.write("settings.ini", "[a]\nb=c\n");
    dir
}

#[test]
fn large_projects_convert_the_same_with_and_without_a_second_thread() {
    let dir = project_dir("parallel");
    for (statefulsets, env_file) in [(false, true), (true, true), (false, false), (true, false)] {
        // Above and below the size from which work is split; the largest file is parsed in two.
        for n in [kompile::par::LARGE - 1, 5 * kompile::par::LARGE] {
            let text = project(n, statefulsets, env_file);
            if n > kompile::par::LARGE {
                assert!(text.len() > kompile::yaml::SPLIT_BYTES, "the file must be large enough to parse in two");
            }
            let (sequential, sequential_diags) = convert(&dir, &text, true);
            let (parallel, parallel_diags) = convert(&dir, &text, false);
            assert!(sequential.matches("\n---\n").count() > n, "{n} services must convert:\n{sequential_diags}");
            assert!(sequential_diags.contains("NoServiceDns"), "the project must produce cross-service warnings");
            assert!(sequential == parallel, "manifests differ for {n} services ({statefulsets}, {env_file})");
            assert_eq!(sequential_diags, parallel_diags, "diagnostics differ for {n} services");
        }
    }
}

/// A large file with an error in the part the second thread parses, or a key of the first
/// part repeated there, is reported as when the file is read in one piece.
#[test]
fn errors_in_a_large_file_are_reported_as_when_it_is_read_in_one_piece() {
    let dir = project_dir("parallel-errors");
    let text = project(5 * kompile::par::LARGE, false, false);
    let broken = [
        text.replacen("    image: registry.example.com/app:3\n", "    image: [registry\n", 900),
        text.replace("  svc_1200:\n", "  svc_0003:\n"),
        text.replace("  svc_1200:\n", "  svc_1200:\n    <<: {user: \"1000\"}\n"),
        text.replace("  svc_1200:\n", "  svc_1200: &one\n").replace("  svc_1201:\n", "  svc_1201: *one\n  svc_x:\n"),
        // Two services, one in each lane, whose objects take one name.
        text.replace("volumes:\n  shared_0:", "  svc-0003:\n    image: app\nvolumes:\n  shared_0:"),
        // A list entry that replaces another, in a service of each half.
        {
            let twice = "    image: app\n    volumes: [\"./a:/data\", \"./b:/data\"]\n";
            text.replace("services:\n", &format!("services:\n  first:\n{twice}"))
                .replace("volumes:\n  shared_0:", &format!("  last:\n{twice}volumes:\n  shared_0:"))
        },
        // A reference to a service that is not there, found while other references are checked.
        text.replace("  svc_1201:\n", "  svc_1201:\n    depends_on: [missing]\n"),
    ];
    let codes = [
        "YamlSyntax",
        "DuplicateKey",
        "NoServiceDns",
        "NoServiceDns",
        "DuplicateName",
        "is replaced by",
        "undefined service",
    ];
    for (text, code) in broken.iter().zip(codes) {
        let (sequential, sequential_diags) = convert(&dir, text, true);
        assert!(sequential_diags.contains(code), "expected {code}:\n{sequential_diags}");
        let (parallel, parallel_diags) = convert(&dir, text, false);
        assert!(sequential == parallel);
        assert_eq!(sequential_diags, parallel_diags);
    }
}

/// Each object's size is measured when the mapper adds it and kept for the validator (which
/// checks an object's bytes against what a cluster stores) and the writer. Steps that change
/// an object after it was added (recommended labels, a namespace, a claim's selector and
/// annotations) must have it measured again: the kept size is always the value's own.
#[test]
fn kept_sizes_are_the_values_own() {
    let dir = project_dir("sizes");
    let mut text = project(5 * kompile::par::LARGE, true, false);
    text = text.replace(
        "volumes:\n  shared_0: {}",
        "volumes:\n  shared_0:\n    labels:\n      kompose.volume.selector: fast\n      kompose.volume.storage-class-name: ssd",
    );
    let mut options = kompile::Options::default();
    options.map.recommended_labels = true;
    options.map.namespace = Some("team".into());
    for sequential in [true, false] {
        kompile::par::set_sequential(sequential);
        let files =
            [ComposeFile { name: dir.path("compose.yaml").display().to_string(), contents: text.clone().into() }];
        let conversion = kompile::convert(&files, &IndexMap::new(), &dir.path(""), &RealFs, &options);
        kompile::par::set_sequential(false);
        assert!(conversion.objects.len() > 5 * kompile::par::LARGE, "{:#?}", conversion.diagnostics);
        let text = kompile::output::yaml_stream(&conversion.objects, 2);
        assert!(text.contains("app.kubernetes.io/part-of") && text.contains("namespace: team"));
        assert!(text.contains("matchLabels:\n      io.kompose.service: fast"), "the claim's selector");
        for object in &conversion.objects {
            assert_eq!(object.size(), object.value.measure(), "{} {}", object.kind, object.name);
        }
    }
}
