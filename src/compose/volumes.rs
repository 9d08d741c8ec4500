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

fn is_drive(section: &[char]) -> bool {
    section.len() >= 2 && section[0].is_ascii_alphabetic() && section[1] == ':'
}

fn split_sections(spec: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = spec.chars().collect();
    let mut sections = Vec::new();
    let mut current: Vec<char> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' && chars.get(i + 1) == Some(&'{') {
            depth += 1;
            current.push('$');
            current.push('{');
            i += 2;
            continue;
        }
        if c == '}' && depth > 0 {
            depth -= 1;
        }
        if c == ':' && depth == 0 {
            // A drive letter: one letter at the start of a section.
            if current.len() == 1 && current[0].is_ascii_alphabetic() {
                current.push(c);
                i += 1;
                continue;
            }
            if current.is_empty() {
                return Err(format!("invalid spec: {spec}: empty section between colons"));
            }
            sections.push(current.iter().collect());
            current.clear();
            i += 1;
            continue;
        }
        current.push(c);
        i += 1;
    }
    if current.is_empty() {
        return Err(format!("invalid spec: {spec}: empty section between colons"));
    }
    sections.push(current.iter().collect());
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
        return Ok(anonymous(&sections[0]));
    }
    let source = sections[0].clone();
    let target = sections[1].clone();
    let first: Vec<char> = source.chars().collect();
    let bind = source.starts_with(['.', '/', '~']) || source.starts_with("\\\\") || is_drive(&first);
    let mut out = VolumeSpec {
        kind: if bind { MountType::Bind } else { MountType::Volume },
        source: Some(source),
        target,
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
    }
}
