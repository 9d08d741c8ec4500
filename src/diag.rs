//! Diagnostics: the one type every stage reports problems with.
//!
//! Every stage returns its product plus a list of [`Diagnostic`]s instead of stopping at the
//! first problem, so a CI run shows everything at once. All codes, their severities and their
//! one-line titles live in the table below; `docs/diagnostics.md` explains each one.
//! Rendering for humans (`file:line:col: severity[CODE]: message`) lives here too; the
//! machine formats belong to the edge.

use std::fmt;

/// A position in one of the input files: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub file: u32,
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn new(file: u32, line: u32, col: u32) -> Pos {
        Pos { file, line, col }
    }
}

/// The largest object etcd stores by default (`--max-request-bytes`, 1.5 MiB); the API
/// server cannot write a larger one (K307). The loader refuses a value that alone is larger.
pub const MAX_OBJECT_BYTES: usize = 1536 * 1024;

/// The files a run read, indexed by [`Pos::file`]. Names are as the user gave them (or
/// relative to the project directory), never absolute paths we invented.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    names: Vec<String>,
}

impl Sources {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn add(&mut self, name: &str) -> u32 {
        self.names.push(name.to_string());
        (self.names.len() - 1) as u32
    }

    pub fn name(&self, file: u32) -> &str {
        self.names.get(file as usize).map_or("<input>", String::as_str)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $id:literal, $sev:ident, $title:literal;)*) => {
        /// Every diagnostic kompile can report. The id (`K101`) is stable: CI configurations
        /// and `--allow`/`--deny` refer to it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            pub fn id(self) -> &'static str {
                match self { $(Code::$variant => $id),* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev),* }
            }

            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title),* }
            }
        }
    };
}

codes! {
    // Reading files and YAML (K1xx)
    YamlSyntax = "K101", Error, "the file is not valid YAML";
    YamlLimit = "K102", Error, "the file exceeds an input limit";
    DuplicateKey = "K103", Error, "a mapping key is repeated";
    NonStringKey = "K104", Error, "a mapping key is not a string";
    FileRead = "K105", Error, "a file the project names cannot be read";
    WrongType = "K106", Error, "a value has the wrong type";
    UnknownKey = "K107", Error, "a key the Compose specification does not define";
    InvalidValue = "K108", Error, "a value cannot be parsed";
    Interpolation = "K109", Error, "a `${...}` expression is invalid or a required variable is missing";
    UndefinedReference = "K110", Error, "a reference to something the project does not define";
    EmptyProject = "K111", Error, "the project defines no services";
    NoImage = "K112", Error, "a service has neither an image nor a build section";
    NoServiceSelected = "K113", Warning, "the active profiles select no service";
    SeveralComposeFiles = "K114", Warning, "several default compose files exist; the first is used";
    FileOutsideProject = "K116", Error, "a file the project names lies outside the project directory";
    UnsetVariable = "K150", Warning, "a variable is not set and defaults to an empty string";
    ObsoleteVersion = "K151", Info, "the top-level `version` key is obsolete and ignored";
    // Mapping Compose to Kubernetes (K2xx)
    NotConverted = "K201", Warning, "a Compose key has no Kubernetes equivalent and is not converted";
    HostIpDropped = "K202", Warning, "a port's host IP is not converted";
    NoServiceDns = "K203", Warning, "another service reaches this one by name, but it declares no port";
    BindMountMissing = "K204", Warning, "a bind-mounted host path does not exist";
    EnvUnresolved = "K205", Info, "an `environment` entry has no value and is left out";
    UserNotNumeric = "K206", Warning, "`user` is not numeric and cannot become runAsUser";
    HealthcheckNoTest = "K207", Warning, "a healthcheck has no test command";
    Renamed = "K208", Info, "a name was changed to be valid in Kubernetes";
    DependsOn = "K209", Info, "`depends_on` ordering is not enforced by Kubernetes";
    InvalidLabel = "K210", Warning, "a label cannot become a Kubernetes annotation";
    RestartPolicy = "K211", Info, "a restart policy was mapped to its nearest Kubernetes equivalent";
    BuildOnly = "K212", Warning, "a service has no image; the service name is used as the image";
    KomposeLabel = "K213", Error, "a `kompose.*` label has an invalid value";
    SharedVolume = "K214", Warning, "a ReadWriteOnce volume is shared by several services";
    SecretInPlainText = "K215", Warning, "a variable that looks secret would be stored in plain text";
    UnsafeSysctl = "K216", Warning, "a sysctl is outside Kubernetes' safe set: the kubelet refuses the pod unless the node allows it";
    BadImageReference = "K217", Warning, "an image reference Docker cannot parse: the kubelet cannot pull it";
    RenamedReached = "K218", Warning, "another service reaches this one by its Compose name, which its Kubernetes Service does not have";
    DirectoryProjectName = "K220", Info, "the output depends on the project name, which comes from the directory's name";
    UnforwardedPort = "K221", Warning, "a service reaches another on a port its Kubernetes Service does not forward";
    DockerHostReached = "K219", Warning, "a service reaches the Docker host by a name (`host.docker.internal`) that does not resolve in a cluster";
    // Validating the Kubernetes objects (K3xx)
    InvalidName = "K301", Error, "an object or field name is not valid in Kubernetes";
    InvalidObjectLabel = "K302", Error, "a label key or value is not valid in Kubernetes";
    InvalidPort = "K303", Error, "a port number or port name is not valid in Kubernetes";
    DuplicateName = "K304", Error, "two objects or containers have the same name";
    SelectorMismatch = "K305", Error, "a selector does not match the pod template labels";
    DanglingReference = "K306", Error, "an object refers to a ConfigMap, Secret, claim or volume that is not there";
    ObjectTooLarge = "K307", Error, "an object is larger than the API server can store";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One problem or note, with where it is and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub pos: Option<Pos>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, pos: Option<Pos>, message: impl Into<String>) -> Diagnostic {
        Diagnostic { code, severity: code.severity(), message: message.into(), pos, help: None }
    }

    pub fn at(code: Code, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, Some(pos), message)
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col: severity[CODE]: message` plus an indented `help:` line. Control
    /// characters in the file name, message and help are escaped ([`escape_control`]).
    pub fn render(&self, sources: &Sources) -> String {
        let mut out = String::new();
        if let Some(pos) = self.pos {
            out.push_str(&format!("{}:{}:{}: ", escape_control(sources.name(pos.file)), pos.line, pos.col));
        }
        out.push_str(&format!("{}[{}]: {}", self.severity.as_str(), self.code.id(), escape_control(&self.message)));
        if let Some(help) = &self.help {
            out.push_str(&format!("\n  help: {}", escape_control(help)));
        }
        out
    }
}

/// Text for a terminal or a line-based log: control characters (C0, DEL, C1), the Unicode
/// line and paragraph separators, the bidirectional formatting characters and invisible
/// characters written as escapes (`\n`, `\r`, `\t`, `\u{1b}`, `\u{202e}`), everything else as it is. Messages
/// quote text from the compose file and the command line; unescaped, an ESC sequence would
/// recolour or clear the terminal, a newline or U+2028 would forge a diagnostic line in a log
/// viewer, and a right-to-left override would show a name other than the one in the file
/// (CVE-2021-42574, "Trojan Source"). Applied once, where diagnostics become text for people;
/// messages themselves hold the text as written.
/// `text` without the ` (os error N)` that Rust adds to an operating system error's message:
/// "No such file or directory", as a user reads it elsewhere.
pub fn without_os_error(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" (os error ") {
        let after = &rest[at + " (os error ".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(')') {
            out.push_str(&rest[..at]);
            rest = &after[digits + 1..];
        } else {
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Characters [`escape_control`] writes as escapes.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            // Line and paragraph separators.
            '\u{2028}' | '\u{2029}'
            // Bidirectional marks, embeddings, overrides and isolates.
            | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            // Invisible characters (zero-width space, joiners, word joiner, byte order mark,
            // soft hyphen), which would show two different names as one (`web` and `we\u{200b}b`).
            | '\u{00ad}' | '\u{180e}' | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Names for a message, each in backticks: all of them up to six, else the first five and
/// how many more, so that one diagnostic stays readable for a project of hundreds of services.
pub fn name_list<S: AsRef<str>>(names: &[S]) -> String {
    list(&names.iter().map(|n| format!("`{}`", n.as_ref())).collect::<Vec<_>>())
}

/// The subject of a sentence about services that reach another: "`a` reaches", "`a`, `b`
/// reach".
pub fn who_reach<S: AsRef<str>>(names: &[S]) -> String {
    format!("{} {}", name_list(names), if names.len() == 1 { "reaches" } else { "reach" })
}

/// [`name_list`] of items already formatted for a message.
pub fn list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    if items.len() <= SHOWN + 1 {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..SHOWN].join(", "), items.len() - SHOWN)
    }
}

/// The known key closest to `name` (edit distance at most 2), for "did you mean".
pub fn closest<'t>(name: &str, known: &[&'t str]) -> Option<&'t str> {
    known.iter().map(|k| (edit_distance(name, k), *k)).filter(|(d, _)| *d <= 2).min().map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A growing list of diagnostics, the second product of every stage.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn error(&mut self, code: Code, pos: Option<Pos>, message: impl Into<String>) {
        self.push(Diagnostic::new(code, pos, message));
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Stable order for output: by file position, then code, then message; unpositioned
    /// diagnostics last. Exact duplicates are removed.
    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.0.sort_by(|a, b| {
            let key = |d: &Diagnostic| (d.pos.is_none(), d.pos, d.code, d.message.clone());
            key(a).cmp(&key(b))
        });
        self.0.dedup();
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_error_numbers_are_left_out() {
        assert_eq!(
            without_os_error("cannot read `a`: No such file or directory (os error 2)"),
            "cannot read `a`: No such file or directory"
        );
        assert_eq!(without_os_error("x (os error 13): y (os error 2)"), "x: y");
        assert_eq!(without_os_error("kept (os error x)"), "kept (os error x)");
    }

    #[test]
    fn long_name_lists_are_cut() {
        assert_eq!(name_list(&["a"]), "`a`");
        assert_eq!(name_list(&["a", "b", "c", "d", "e", "f"]), "`a`, `b`, `c`, `d`, `e`, `f`");
        let many: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        assert_eq!(name_list(&many), "`s0`, `s1`, `s2`, `s3`, `s4` and 35 more");
    }

    #[test]
    fn code_ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = Code::ALL.iter().map(|c| c.id()).collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
        for id in ids {
            assert!(id.len() == 4 && id.starts_with('K'), "{id}");
        }
    }

    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../docs/diagnostics.md");
        for code in Code::ALL {
            assert!(doc.contains(&format!("### {}", code.id())), "docs/diagnostics.md lacks {}", code.id());
        }
    }

    #[test]
    fn escapes_control_characters() {
        assert_eq!(escape_control("plain `text` \\n é"), "plain `text` \\n é");
        assert_eq!(escape_control("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(escape_control("\x1b[31mred\x00\x7f\u{9b}"), "\\u{1b}[31mred\\u{0}\\u{7f}\\u{9b}");
        // Line separators and bidirectional controls are escaped.
        assert_eq!(escape_control("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
        assert_eq!(escape_control("\u{202e}gnp.exe\u{2066}x\u{2069}"), "\\u{202e}gnp.exe\\u{2066}x\\u{2069}");
        assert_eq!(escape_control("\u{200f}\u{61c}"), "\\u{200f}\\u{61c}");
        // Invisible characters are escaped: `we\u{200b}b` must not read as `web`.
        assert_eq!(escape_control("we\u{200b}b\u{feff}\u{ad}"), "we\\u{200b}b\\u{feff}\\u{ad}");
        // Other characters, printable or not ASCII, are kept.
        assert_eq!(escape_control("\u{a0}✓ שלום é"), "\u{a0}✓ שלום é");
    }

    #[test]
    fn render_escapes_message_help_and_file_name() {
        let mut sources = Sources::default();
        let file = sources.add("a\x1bb.yaml");
        let d =
            Diagnostic::at(Code::UnknownKey, Pos::new(file, 1, 2), "key `x\ncompose.yaml:1:1: error[K101]: forged`")
                .with_help("\x1b[2J");
        assert_eq!(
            d.render(&sources),
            "a\\u{1b}b.yaml:1:2: error[K107]: key `x\\ncompose.yaml:1:1: error[K101]: forged`\n  help: \\u{1b}[2J"
        );
    }

    #[test]
    fn renders_position_code_and_help() {
        let mut sources = Sources::default();
        let file = sources.add("compose.yaml");
        let d = Diagnostic::at(Code::WrongType, Pos::new(file, 3, 5), "`ports` must be a list")
            .with_help("write `ports: [\"80:80\"]`");
        assert_eq!(
            d.render(&sources),
            "compose.yaml:3:5: error[K106]: `ports` must be a list\n  help: write `ports: [\"80:80\"]`"
        );
    }
}
