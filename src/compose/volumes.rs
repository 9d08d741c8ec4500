//! The service `volumes` short syntax (`SOURCE:TARGET[:OPTIONS]`), parsed as compose-go's
//! `format.ParseVolume` does: Windows drive letters, bind versus named volume, options.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Volume,
    Bind,
    Tmpfs,
    Npipe,
    Cluster,
    Image,
}

impl MountType {
    pub fn parse(text: &str) -> Option<MountType> {
        Some(match text {
            "volume" => MountType::Volume,
            "bind" => MountType::Bind,
            "tmpfs" => MountType::Tmpfs,
            "npipe" => MountType::Npipe,
            "cluster" => MountType::Cluster,
            "image" => MountType::Image,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Volume => "volume",
            MountType::Bind => "bind",
            MountType::Tmpfs => "tmpfs",
            MountType::Npipe => "npipe",
            MountType::Cluster => "cluster",
            MountType::Image => "image",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub kind: MountType,
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    /// SELinux relabel (`z`/`Z`) or propagation options that Kubernetes cannot express.
    pub dropped_options: Vec<String>,
}

/// A Windows drive at the start: one ASCII letter and a colon.
fn is_drive(section: &str) -> bool {
    let b = section.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// The spec cut at each colon outside `${...}`; a colon after a one-letter section is a
/// drive letter's and cuts nothing. (Every character the cuts look at is ASCII, so the
/// spec is read as bytes.)
fn split_sections(spec: &str) -> Result<Vec<&str>, String> {
    let b = spec.as_bytes();
    let mut sections = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 => {
                if i - start == 1 && b[start].is_ascii_alphabetic() {
                    // A drive letter: one letter at the start of a section.
                } else if i == start {
                    return Err(format!("invalid spec: {spec}: empty section between colons"));
                } else {
                    sections.push(&spec[start..i]);
                    start = i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if start == b.len() {
        return Err(format!("invalid spec: {spec}: empty section between colons"));
    }
    sections.push(&spec[start..]);
    Ok(sections)
}

pub fn parse_short(spec: &str) -> Result<VolumeSpec, String> {
    if spec.is_empty() {
        return Err("invalid empty volume spec".into());
    }
    let anonymous = |target: &str| VolumeSpec {
        kind: MountType::Volume,
        source: None,
        target: target.to_string(),
        read_only: false,
        dropped_options: Vec::new(),
    };
    if spec.chars().count() <= 2 {
        return Ok(anonymous(spec));
    }
    let sections = split_sections(spec)?;
    if sections.len() > 3 {
        return Err(format!("invalid spec: {spec}: too many colons"));
    }
    if sections.len() == 1 {
        return Ok(anonymous(sections[0]));
    }
    let (source, target) = (sections[0], sections[1]);
    let bind = source.starts_with(['.', '/', '~']) || source.starts_with("\\\\") || is_drive(source);
    let mut out = VolumeSpec {
        kind: if bind { MountType::Bind } else { MountType::Volume },
        source: Some(source.to_string()),
        target: target.to_string(),
        read_only: false,
        dropped_options: Vec::new(),
    };
    if let Some(options) = sections.get(2) {
        for option in options.split(',') {
            match option {
                "ro" => out.read_only = true,
                "rw" => out.read_only = false,
                "nocopy" => {}
                "z" | "Z" | "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                    out.dropped_options.push(option.to_string())
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// `path.Clean` for container paths (forward slashes only).
pub fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    // Already clean (the usual case): no empty, `.` or `..` part, no trailing slash.
    let body = path.strip_prefix('/').unwrap_or(path);
    if path == "/" || (!body.is_empty() && body.split('/').all(|p| !p.is_empty() && p != "." && p != "..")) {
        return path.to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(spec: &str) -> (MountType, Option<String>, String, bool) {
        let v = parse_short(spec).unwrap();
        (v.kind, v.source, v.target, v.read_only)
    }

    #[test]
    fn short_syntax() {
        use MountType::*;
        assert_eq!(parsed("/path"), (Volume, None, "/path".into(), false));
        assert_eq!(parsed("./foo:/target"), (Bind, Some("./foo".into()), "/target".into(), false));
        assert_eq!(parsed("name:/target:ro,nocopy"), (Volume, Some("name".into()), "/target".into(), true));
        assert_eq!(parsed("C:\\foo:d:"), (Bind, Some("C:\\foo".into()), "d:".into(), false));
        assert_eq!(parsed("a:b"), (Volume, None, "a:b".into(), false));
        assert_eq!(parsed("/x:/y:RO"), (Bind, Some("/x".into()), "/y".into(), false));
        assert_eq!(parsed("~/thing:d:\\target"), (Bind, Some("~/thing".into()), "d:\\target".into(), false));
        assert_eq!(
            parsed("/tmp:/tmp/${VAR1:-val1}/path"),
            (Bind, Some("/tmp".into()), "/tmp/${VAR1:-val1}/path".into(), false)
        );
        assert_eq!(parse_short("/x:/y:").unwrap_err(), "invalid spec: /x:/y:: empty section between colons");
        assert_eq!(parse_short("/a:/b:ro:x").unwrap_err(), "invalid spec: /a:/b:ro:x: too many colons");
        assert_eq!(parse_short("").unwrap_err(), "invalid empty volume spec");
    }

    #[test]
    fn clean() {
        assert_eq!(clean_path("/b/../c/"), "/c");
        assert_eq!(clean_path("/a//b/./c"), "/a/b/c");
        assert_eq!(clean_path("/.."), "/");
        // Paths already clean come back as they are; the rest through the general rule.
        for (path, clean) in [
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("a/b", "a/b"),
            ("..", ".."),
            ("../a", "../a"),
            ("./a", "a"),
            ("a/", "a"),
            ("//", "/"),
            ("/a/.", "/a"),
            (".", "."),
            ("a/..", "."),
            ("/é/ü", "/é/ü"),
        ] {
            assert_eq!(clean_path(path), clean, "{path}");
        }
    }

    #[test]
    fn sections_by_bytes() {
        assert_eq!(split_sections("ab:cd:ef").unwrap(), ["ab", "cd", "ef"]);
        assert_eq!(split_sections("a:b:c").unwrap(), ["a:b", "c"]);
        assert_eq!(split_sections("C:\\x:D:\\y").unwrap(), ["C:\\x", "D:\\y"]);
        assert_eq!(split_sections("é:/ü").unwrap(), ["é", "/ü"]);
        assert_eq!(split_sections("${A:-b}:/t").unwrap(), ["${A:-b}", "/t"]);
        assert_eq!(split_sections("${A:-${B:-c}}:xy:/t").unwrap(), ["${A:-${B:-c}}", "xy", "/t"]);
        assert!(split_sections(":a").is_err());
        assert!(split_sections("ab::c").is_err());
        assert!(split_sections("ab:").is_err());
    }
}
