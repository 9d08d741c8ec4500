//! The YAML reader: text in, a tree of [`Node`]s out, every node and key carrying its
//! `file:line:col`.
//!
//! Scalars are typed the way compose-go's YAML library types them (YAML 1.2 core schema:
//! `yes`/`on` are strings, `true`/`True` are booleans, `010` is octal 8, `1_000` is 1000).
//! Anchors and aliases are expanded here, `<<` merge keys applied, duplicate and non-string
//! keys rejected, and three budgets (nesting depth, and total nodes and total scalar bytes
//! after aliases are expanded, which stop alias bombs) keep hostile input bounded. Everything past this module sees only the tree.

use crate::diag::{Code, Diagnostic, Pos};
use foldhash::{HashMap, HashMapExt};
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::hash::BuildHasher as _;

/// Limits that keep a hostile file from exhausting time or memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Total nodes after aliases are expanded.
    pub max_nodes: usize,
    /// Total bytes of keys and scalar values after aliases are expanded: few aliases of one
    /// long string stay under the node budget but not under this one.
    pub max_scalar_bytes: usize,
}

/// The default of [`Limits::max_scalar_bytes`]: four times the largest compose file read.
pub const DEFAULT_MAX_SCALAR_BYTES: usize = 64 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_depth: 64, max_nodes: 1_000_000, max_scalar_bytes: DEFAULT_MAX_SCALAR_BYTES }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// Written as a plain (unquoted) scalar.
    pub plain: bool,
    /// What few nodes have ([`Node::tag`], [`Node::raw`]), boxed so that every node of a
    /// large tree is smaller: `None` when neither is there.
    extra: Option<Box<Extra>>,
}

#[derive(Clone, Debug, PartialEq)]
struct Extra {
    tag: Option<String>,
    raw: Option<String>,
}

impl Extra {
    /// `None` when there is neither.
    fn boxed(tag: Option<String>, raw: Option<String>) -> Option<Box<Extra>> {
        (tag.is_some() || raw.is_some()).then(|| Box::new(Extra { tag, raw }))
    }
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Node {
        Node { value, pos, plain: false, extra: None }
    }

    /// A node with all its parts: see [`Node::tag`] and [`Node::raw`].
    pub fn with_parts(value: Value, pos: Pos, tag: Option<String>, plain: bool, raw: Option<String>) -> Node {
        Node { value, pos, plain, extra: Extra::boxed(tag, raw) }
    }

    /// A local tag such as `!reset` or `!override`.
    pub fn tag(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.tag.as_deref())
    }

    /// The text of a plain scalar as written, when it is not a string (`0x1F`, `yes`, `~`);
    /// a plain string's text is its value.
    pub fn raw(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.raw.as_deref())
    }

    /// Set (or remove) the local tag.
    pub fn set_tag(&mut self, tag: Option<String>) {
        let raw = self.extra.take().and_then(|e| e.raw);
        self.extra = Extra::boxed(tag, raw);
    }

    /// The node's parts, taken apart: value, position, tag, plain, raw text.
    pub fn into_parts(self) -> (Value, Pos, Option<String>, bool, Option<String>) {
        let (tag, raw) = self.extra.map_or((None, None), |e| (e.tag, e.raw));
        (self.value, self.pos, tag, self.plain, raw)
    }

    /// Free a tree the caller is done with, a few top-level entries (`services.web`,
    /// `volumes.data`, ...) at a time ([`crate::par::free`]).
    pub fn free(mut self) {
        let Value::Map(sections) = &mut self.value else { return };
        for (_, section) in sections.iter_mut() {
            match &mut section.value {
                Value::Map(entries) => crate::par::free(std::mem::take(entries)),
                Value::Seq(items) => crate::par::free(std::mem::take(items)),
                _ => {}
            }
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    pub fn key_pos(&self, key: &str) -> Option<Pos> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(k, _)| k.pos)
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Structural equality, ignoring positions, tags and how scalars were written.
    pub fn same_as(&self, other: &Node) -> bool {
        match (&self.value, &other.value) {
            (Value::Seq(x), Value::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.same_as(q)),
            (Value::Map(x), Value::Map(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|((kp, p), (kq, q))| kp.name == kq.name && p.same_as(q))
            }
            (x, y) => x == y,
        }
    }

    /// What kind of value this is, in the words a message uses.
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "a number",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// A scalar as Go's `fmt` would print it (how compose-go stringifies numbers and bools).
    pub fn scalar_string(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            // go-yaml reads an integer between 2^63 and 2^64 as a uint64, printed exactly.
            Value::Float(f) => {
                Some(self.raw().and_then(parse_go_uint).map_or_else(|| format_float(*f), |u| u.to_string()))
            }
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Go's `%v` for a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): the shortest digits that
/// read back as `f`, with an exponent when the decimal exponent is below -4 or at least 6
/// (`1e+06`, `1.5e-05`), plain otherwise (`100000`, `0.0001`, `2.5`).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    // Rust's `{:e}` is the shortest round-trip form too: `1.2345e6`, `1e-7`, `0e0`.
    let scientific = format!("{f:e}");
    let (mantissa, exp) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    format!("{f}")
}

/// One parsed file: its documents, in order.
pub type Documents = Vec<Node>;

struct Frame {
    kind: FrameKind,
    pos: Pos,
    anchor: usize,
    tag: Option<String>,
}

enum FrameKind {
    Seq(Vec<Node>),
    /// Entries so far, the key waiting for its value, and merge sources seen (`<<`).
    Map {
        entries: Vec<(Key, Node)>,
        /// Positions in `entries` by a hash of their key, for duplicate detection in linear
        /// time; made once the map has [`SCAN`] entries (smaller maps are scanned).
        seen: Option<HashMap<u64, Vec<usize>>>,
        pending: Option<Key>,
        /// Where each source goes in `entries`, the position of its `<<` key, and the source.
        merges: Vec<(usize, Pos, Node)>,
    },
}

/// Parse `text` (file id `file`) into documents. Errors are diagnostics with positions.
///
/// Inside a flow collection (`[...]`, `{...}`) indentation means nothing to the YAML library
/// Docker Compose reads files with (go-yaml, after libyaml), so `test: [` ... `]` with the
/// `]` under the key is accepted there; the parser used here refuses it. Such a line is
/// indented further and the text parsed again (at most [`MAX_REINDENTS`] times), which never
/// changes what a flow collection holds; positions are reported for the text as written.
pub fn parse(text: &str, file: u32, limits: Limits) -> Result<Documents, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = match parse_text(text, file, limits, Part::WHOLE) {
        Ok(parsed) => return Ok(parsed.docs),
        Err(e) => e,
    };
    let mut fixed: Vec<(u32, u32)> = Vec::new();
    let mut current = text.to_string();
    let mut error = first.clone();
    while fixed.len() < MAX_REINDENTS {
        let Some((line, added, next)) = reindent(&current, &error, &fixed) else { break };
        fixed.push((line, added));
        current = next;
        match parse_text(&current, file, limits, Part::WHOLE).map(|p| p.docs) {
            Ok(mut docs) => {
                for doc in &mut docs {
                    unshift(doc, &fixed);
                }
                return Ok(docs);
            }
            Err(mut e) => {
                if let Some(pos) = e.pos.as_mut() {
                    unshift_pos(pos, &fixed);
                }
                error = e;
            }
        }
    }
    // The error of the text as Docker Compose's YAML library reads it: a later, real error
    // once the flow lines are indented, or the first one when none could be.
    Err(if fixed.is_empty() { first } else { error })
}

/// How many under-indented flow lines one file may have: each costs a parse of the file.
const MAX_REINDENTS: usize = 16;

/// For an indentation error inside a flow collection: the line (1-based), the spaces added
/// and the text with that line indented past its neighbour. `None` when the error is of
/// another kind, or on a line already indented once (no progress).
fn reindent(text: &str, error: &Diagnostic, fixed: &[(u32, u32)]) -> Option<(u32, u32, String)> {
    // The parser raises these two only inside a flow collection, where moving a line to the
    // right changes nothing it holds. (Its quoted-scalar indentation error is not among them:
    // it points at the scalar's first line, whose indentation may be block structure.)
    let flow_only = ["invalid YAML: invalid indentation", "invalid YAML: invalid indentation in flow construct"];
    if error.code != Code::YamlSyntax || !flow_only.contains(&error.message.as_str()) {
        return None;
    }
    let pos = error.pos?;
    let line = pos.line;
    if line < 2 || fixed.iter().any(|(l, _)| *l == line) {
        return None;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let index = line as usize - 1;
    let target = *lines.get(index)?;
    let indent = target.len() - target.trim_start_matches(' ').len();
    // Only a token at the start of its line.
    if pos.col as usize != indent + 1 {
        return None;
    }
    let previous = lines[..index].iter().rev().find(|l| !l.trim().is_empty())?;
    let wanted = (previous.len() - previous.trim_start_matches(' ').len()).max(indent) + 1;
    let added = wanted - indent;
    let mut out = String::with_capacity(text.len() + added);
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i == index {
            out.extend(std::iter::repeat_n(' ', added));
        }
        out.push_str(l);
    }
    Some((line, added as u32, out))
}

/// A position in re-indented text, back in the text as written.
fn unshift_pos(pos: &mut Pos, fixed: &[(u32, u32)]) {
    for &(line, added) in fixed {
        if pos.line == line {
            pos.col = pos.col.saturating_sub(added).max(1);
        }
    }
}

fn unshift(node: &mut Node, fixed: &[(u32, u32)]) {
    unshift_pos(&mut node.pos, fixed);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| unshift(n, fixed)),
        Value::Map(entries) => {
            for (key, value) in entries {
                unshift_pos(&mut key.pos, fixed);
                unshift(value, fixed);
            }
        }
        _ => {}
    }
}

/// Which part of a file a text is (see `split`): the whole file, the lines of one mapping's
/// entries cut out of it, or the file around them.
#[derive(Clone, Copy)]
pub(super) struct Part<'k> {
    /// Added to every line number: the lines of the file before the text.
    pub line_offset: u32,
    /// The levels of nesting around the text in the file.
    pub depth_offset: usize,
    /// For the file around a cut: the top-level key whose entries were cut out and the first
    /// line of the cut (blank in the text). [`Parsed::watch`] tells whether the reader stood
    /// between two entries of that key's mapping there, as a cut at an entry's first line
    /// needs: no scalar or flow collection goes on across it, and only the ends of block
    /// collections follow it until the mapping ends.
    pub watch: Option<(&'k str, u32)>,
}

impl Part<'_> {
    pub const WHOLE: Part<'static> = Part { line_offset: 0, depth_offset: 0, watch: None };
}

/// A parsed text with what the budgets counted, and for a watched cut (see [`Part::watch`])
/// the document it is in when the cut is sound.
pub(super) struct Parsed {
    pub docs: Documents,
    pub nodes: usize,
    pub scalar_bytes: usize,
    pub watch: Option<usize>,
}

#[derive(Clone, Copy, PartialEq)]
enum Watch {
    Before,
    /// Past the cut's line, the mapping still open: only the ends of collections may come.
    After(usize),
    Done(usize),
    Failed,
}

pub(super) fn parse_text(text: &str, file: u32, limits: Limits, part: Part) -> Result<Parsed, Diagnostic> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let hasher = foldhash::fast::RandomState::default();
    let mut nodes = 0usize;
    let mut scalar_bytes = 0usize;
    let line_offset = part.line_offset;
    let pos_of = |m: saphyr_parser::Marker| Pos::new(file, m.line() as u32 + line_offset, m.col() as u32 + 1);
    let mut directives = Directives::new(text);
    let mut watch = Watch::Before;

    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            Diagnostic::at(Code::YamlSyntax, pos_of(*e.marker()), format!("invalid YAML: {}", e.info()))
        })?;
        let pos = pos_of(span.start);
        if let Some((key, line)) = part.watch {
            let is_end = matches!(event, Event::SequenceEnd | Event::MappingEnd);
            watch = match watch {
                Watch::Before if span.start.line() as u32 >= line => {
                    let between_entries = stack.len() >= 2
                        && matches!(&stack[0].kind, FrameKind::Map { pending: Some(k), .. } if k.name == key)
                        && matches!(&stack[1].kind, FrameKind::Map { merges, .. } if merges.is_empty());
                    if between_entries && is_end {
                        Watch::After(docs.len())
                    } else {
                        Watch::Failed
                    }
                }
                Watch::Before if span.end.line() as u32 >= line => Watch::Failed,
                Watch::After(_) if !is_end => Watch::Failed,
                other => other,
            };
        }
        let is_seq = matches!(event, Event::SequenceStart(..));
        let finished: Option<(Node, usize)> = match event {
            Event::DocumentStart(true) => {
                directives.check_before(span.start.line(), file)?;
                None
            }
            Event::DocumentEnd => {
                directives.skip_to(span.end.line());
                None
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart(false) | Event::Nothing => None,
            Event::Scalar(value, style, anchor, tag) => {
                nodes += 1;
                scalar_bytes += value.len();
                if scalar_bytes > limits.max_scalar_bytes {
                    return Err(scalar_budget(pos, limits));
                }
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                Some((scalar(&value, style, tag, pos)?, anchor))
            }
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .ok_or_else(|| Diagnostic::at(Code::YamlSyntax, pos, "alias refers to an unknown anchor"))?;
                // Weighed before it is copied: the copy is what an alias bomb multiplies.
                charge(node, &mut nodes, &mut scalar_bytes, pos, limits)?;
                let mut node = node.clone();
                node.pos = pos;
                Some((node, 0))
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if stack.len() + part.depth_offset >= limits.max_depth {
                    return Err(Diagnostic::at(
                        Code::YamlLimit,
                        pos,
                        format!("the document is nested more than {} levels deep", limits.max_depth),
                    )
                    .with_help("raise the limit with `--max-depth` if this file is genuine"));
                }
                nodes += 1;
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let kind = if is_seq {
                    FrameKind::Seq(Vec::new())
                } else {
                    FrameKind::Map { entries: Vec::new(), seen: None, pending: None, merges: Vec::new() }
                };
                stack.push(Frame { kind, pos, anchor, tag });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let (Watch::After(doc), 2) = (watch, stack.len()) {
                    watch = Watch::Done(doc);
                }
                let frame = stack.pop().expect("the parser balances start and end events");
                let value = match frame.kind {
                    FrameKind::Seq(items) => Value::Seq(items),
                    FrameKind::Map { entries, merges, .. } => Value::Map(apply_merges(entries, merges)?),
                };
                let node = Node::with_parts(value, frame.pos, frame.tag, false, None);
                Some((node, frame.anchor))
            }
        };
        if nodes > limits.max_nodes {
            return Err(node_budget(pos, limits));
        }
        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor != 0 {
            // The copy kept for later aliases counts too: anchors nested in each other would
            // otherwise each keep a copy of the same large subtree.
            charge(&node, &mut nodes, &mut scalar_bytes, pos, limits)?;
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => docs.push(node),
            Some(Frame { kind: FrameKind::Seq(items), .. }) => items.push(node),
            Some(Frame { kind: FrameKind::Map { entries, seen, pending, merges }, .. }) => match pending.take() {
                None => *pending = Some(map_key(node)?),
                Some(key) if key.name == "<<" && key_is_merge(&key) => {
                    // go-yaml compares keys by text: a second `<<`, plain or quoted, is a
                    // duplicate key, not a second merge.
                    let quoted = find_key(entries, seen, &hasher, QUOTED_MERGE).map(|i| entries[i].0.pos.line);
                    if let Some(line) = merges.first().map(|m| m.1.line).or(quoted) {
                        return Err(duplicate_merge_key(&key, line));
                    }
                    merges.push((entries.len(), key.pos, node));
                }
                Some(key) => {
                    if let Some(first) = merges.first().filter(|_| key.name == QUOTED_MERGE) {
                        return Err(duplicate_merge_key(&key, first.1.line));
                    }
                    if let Some((first, _)) = find_key(entries, seen, &hasher, &key.name).map(|i| &entries[i]) {
                        return Err(Diagnostic::at(
                            Code::DuplicateKey,
                            key.pos,
                            format!("mapping key `{}` already defined at line {}", key.name, first.pos.line),
                        )
                        .with_help("remove one of the two entries"));
                    }
                    if let Some(seen) = seen {
                        seen.entry(hasher.hash_one(&key.name)).or_default().push(entries.len());
                    }
                    entries.push((key, node));
                }
            },
        }
    }
    let watch = match watch {
        Watch::Done(doc) => Some(doc),
        _ => None,
    };
    Ok(Parsed { docs, nodes, scalar_bytes, watch })
}

/// The lines of the text between documents, where `%YAML` directives are, read once from
/// start to end. The YAML parser checks their syntax but not the version they name.
struct Directives<'a> {
    lines: std::str::Split<'a, char>,
    /// The number of the line `lines` yields next.
    next: usize,
}

impl<'a> Directives<'a> {
    fn new(text: &'a str) -> Self {
        Directives { lines: text.split('\n'), next: 1 }
    }

    /// Pass over the lines before `line` (a document's content, never a directive).
    fn skip_to(&mut self, line: usize) {
        while self.next < line && self.lines.next().is_some() {
            self.next += 1;
        }
    }

    /// Check the `%YAML` directives on the lines before `line`, an explicit document start:
    /// Compose's YAML reader (go-yaml) accepts version 1.1 only and refuses the file for any
    /// other, 1.2 included.
    fn check_before(&mut self, line: usize, file: u32) -> Result<(), Diagnostic> {
        while self.next < line {
            let Some(text) = self.lines.next() else { break };
            let number = self.next;
            self.next += 1;
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let Some(rest) = text.strip_prefix("%YAML") else { continue };
            let version = rest.split_whitespace().next().unwrap_or("");
            if version != "1.1" {
                return Err(Diagnostic::at(
                    Code::YamlSyntax,
                    Pos::new(file, number as u32, 1),
                    format!("YAML version `{version}` is not supported: Compose reads `%YAML 1.1` documents only"),
                )
                .with_help("remove the `%YAML` line (a file without one is read as Compose reads it)"));
            }
        }
        Ok(())
    }
}

/// The number of entries up to which a mapping is scanned for a duplicate key, with no index:
/// most mappings are smaller, and a scan of a few keys costs less than hashing one.
const SCAN: usize = 16;

/// The position of `name` among `entries`, indexing them first once there are [`SCAN`].
fn find_key(
    entries: &[(Key, Node)],
    seen: &mut Option<HashMap<u64, Vec<usize>>>,
    hasher: &impl std::hash::BuildHasher,
    name: &str,
) -> Option<usize> {
    if seen.is_none() && entries.len() < SCAN {
        return entries.iter().position(|(k, _)| k.name == name);
    }
    let seen = seen.get_or_insert_with(|| {
        let mut index: HashMap<u64, Vec<usize>> = HashMap::with_capacity(2 * SCAN);
        for (i, (k, _)) in entries.iter().enumerate() {
            index.entry(hasher.hash_one(&k.name)).or_default().push(i);
        }
        index
    });
    seen.get(&hasher.hash_one(name))?.iter().copied().find(|&i| entries[i].0.name == name)
}

fn node_budget(pos: Pos, limits: Limits) -> Diagnostic {
    Diagnostic::at(
        Code::YamlLimit,
        pos,
        format!("the document expands to more than {} nodes (an alias bomb?)", limits.max_nodes),
    )
    .with_help("raise the limit with `--max-nodes` if this file is genuine")
}

fn scalar_budget(pos: Pos, limits: Limits) -> Diagnostic {
    Diagnostic::at(
        Code::YamlLimit,
        pos,
        format!(
            "the document expands to more than {} bytes of keys and values (an alias bomb?)",
            limits.max_scalar_bytes
        ),
    )
    .with_help("raise the limit with `--max-scalar-bytes` if this file is genuine")
}

/// Count a copy of `node` against both budgets (nodes, and bytes of keys and values).
fn charge(node: &Node, nodes: &mut usize, bytes: &mut usize, pos: Pos, limits: Limits) -> Result<(), Diagnostic> {
    let (count, text) = weigh(node);
    *nodes += count;
    if *nodes > limits.max_nodes {
        return Err(node_budget(pos, limits));
    }
    *bytes += text;
    if *bytes > limits.max_scalar_bytes {
        return Err(scalar_budget(pos, limits));
    }
    Ok(())
}

/// The nodes of `node` (keys count as nodes) and the bytes of its keys and scalar values, as
/// the budgets count them when the text is read.
fn weigh(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Seq(items) => items.iter().fold((1, 0), |(n, b), item| {
            let (in_, ib) = weigh(item);
            (n + in_, b + ib)
        }),
        Value::Map(entries) => entries.iter().fold((1, 0), |(n, b), (key, value)| {
            let (vn, vb) = weigh(value);
            (n + 1 + vn, b + key.name.len() + vb)
        }),
        Value::Str(s) => (1, s.len()),
        _ => (1, node.raw().map_or(0, str::len)),
    }
}

/// A quoted `"<<"` key while its mapping is read: an ordinary key, kept apart from the merge key.
const QUOTED_MERGE: &str = "\u{0}<<";

/// A second `<<` key in one mapping (K103), as go-yaml reports it: `<<: *a` then `<<: *b`.
fn duplicate_merge_key(key: &Key, first_line: u32) -> Diagnostic {
    Diagnostic::at(Code::DuplicateKey, key.pos, format!("mapping key `<<` already defined at line {first_line}"))
        .with_help("merge several mappings with one key: `<<: [*a, *b]`")
}

/// Merge keys are written plain; we mark them while turning the key node into a [`Key`].
fn key_is_merge(key: &Key) -> bool {
    key.name == "<<"
}

fn map_key(node: Node) -> Result<Key, Diagnostic> {
    let name = match node.value {
        Value::Str(s) => s,
        // A quoted `"<<"` is an ordinary key; keep it distinct from the merge key.
        _ if node.raw().is_some() => {
            return Err(Diagnostic::at(
                Code::NonStringKey,
                node.pos,
                format!("mapping key `{}` is not a string", node.raw().unwrap_or_default()),
            )
            .with_help("quote the key"))
        }
        Value::Null => return Err(Diagnostic::at(Code::NonStringKey, node.pos, "mapping key is empty (null)")),
        _ => {
            return Err(Diagnostic::at(
                Code::NonStringKey,
                node.pos,
                format!("mapping key is {}, expected a string", node.kind_name()),
            ))
        }
    };
    let name = if name == "<<" && !node.plain { QUOTED_MERGE.to_string() } else { name };
    Ok(Key { name, pos: node.pos })
}

/// Apply `<<` merges: keys written in the mapping win, earlier merge sources beat later ones,
/// and merged keys take the place of the `<<` entry.
fn apply_merges(entries: Vec<(Key, Node)>, merges: Vec<(usize, Pos, Node)>) -> Result<Vec<(Key, Node)>, Diagnostic> {
    let mut entries: Vec<(Key, Node)> = entries
        .into_iter()
        .map(|(mut k, v)| {
            if k.name == QUOTED_MERGE {
                k.name = "<<".into();
            }
            (k, v)
        })
        .collect();
    if merges.is_empty() {
        return Ok(entries);
    }
    let mut sources: Vec<(usize, Vec<(Key, Node)>)> = Vec::new();
    for (at, _, node) in merges {
        let maps = match node.value {
            Value::Map(m) => vec![m],
            Value::Seq(items) => {
                let mut maps = Vec::new();
                for item in items {
                    match item.value {
                        Value::Map(m) => maps.push(m),
                        _ => return Err(merge_error(item.pos)),
                    }
                }
                maps
            }
            _ => return Err(merge_error(node.pos)),
        };
        let mut merged: Vec<(Key, Node)> = Vec::new();
        for map in maps {
            for (k, v) in map {
                if !merged.iter().any(|(m, _)| m.name == k.name) {
                    merged.push((k, v));
                }
            }
        }
        sources.push((at, merged));
    }
    let mut seen: foldhash::HashSet<String> = entries.iter().map(|(k, _)| k.name.clone()).collect();
    // Insert from the last merge position backwards so earlier indexes stay valid.
    let mut inserts: Vec<(usize, Vec<(Key, Node)>)> = Vec::new();
    for (at, merged) in sources {
        let fresh: Vec<(Key, Node)> = merged.into_iter().filter(|(k, _)| seen.insert(k.name.clone())).collect();
        inserts.push((at, fresh));
    }
    for (at, fresh) in inserts.into_iter().rev() {
        let tail = entries.split_off(at);
        entries.extend(fresh);
        entries.extend(tail);
    }
    Ok(entries)
}

fn merge_error(pos: Pos) -> Diagnostic {
    Diagnostic::at(Code::YamlSyntax, pos, "`<<` can only merge a mapping or a list of mappings")
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<String>, pos: Pos) -> Result<Node, Diagnostic> {
    let plain = matches!(style, ScalarStyle::Plain);
    let core = tag.as_deref().and_then(|t| t.strip_prefix("tag:yaml.org,2002:"));
    let value = match core {
        Some("str") => Value::Str(text.to_string()),
        Some("null") => Value::Null,
        Some("bool") => match resolve_plain(text) {
            v @ Value::Bool(_) => v,
            _ => return Err(Diagnostic::at(Code::WrongType, pos, format!("`{text}` is not a boolean"))),
        },
        Some("int") => match resolve_plain(text) {
            v @ Value::Int(_) => v,
            _ => return Err(Diagnostic::at(Code::WrongType, pos, format!("`{text}` is not an integer"))),
        },
        Some("float") => match resolve_plain(text) {
            Value::Int(i) => Value::Float(i as f64),
            v @ Value::Float(_) => v,
            _ => return Err(Diagnostic::at(Code::WrongType, pos, format!("`{text}` is not a number"))),
        },
        Some(other) => return Err(Diagnostic::at(Code::YamlSyntax, pos, format!("unsupported YAML tag `!!{other}`"))),
        None if plain => resolve_plain(text),
        None => Value::Str(text.to_string()),
    };
    let local_tag = match tag {
        Some(t) if t.starts_with("tag:yaml.org,2002:") => None,
        Some(t) if t == "!reset" || t == "!override" => Some(t),
        Some(t) => {
            return Err(Diagnostic::at(Code::YamlSyntax, pos, format!("unknown YAML tag `{t}`"))
                .with_help("Compose knows only `!reset` and `!override`"))
        }
        None => None,
    };
    let raw = if plain && !matches!(value, Value::Str(_)) { Some(text.to_string()) } else { None };
    Ok(Node::with_parts(value, pos, local_tag, plain, raw))
}

/// Type a plain scalar the way go-yaml v4 does (YAML 1.2 core schema plus Go number rules).
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_go_int(text) {
        return Value::Int(i);
    }
    // A uint64 in go-yaml; held as a number (its text stays in `raw`, for printing).
    if let Some(u) = parse_go_uint(text) {
        return Value::Float(u as f64);
    }
    let first = text.as_bytes()[0];
    if (first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.'))
        && text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'_'))
        && text.bytes().any(|b| b.is_ascii_digit())
    {
        if let Ok(f) = text.replace('_', "").parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_string())
}

/// Go `strconv.ParseInt(s, 0, 64)` after removing `_`: `0x`, `0o`, `0b` and leading-`0` octal.
fn parse_go_int(text: &str) -> Option<i64> {
    parse_go_integer(text).and_then(|v| i64::try_from(v).ok())
}

/// Go `strconv.ParseUint(s, 0, 64)` after removing `_` (no sign), for the integers too large for
/// an int64, which go-yaml then reads as a uint64.
fn parse_go_uint(text: &str) -> Option<u64> {
    if text.starts_with(['+', '-']) {
        return None;
    }
    parse_go_integer(text).and_then(|v| u64::try_from(v).ok())
}

/// An integer as Go's `strconv` reads it with base 0, after removing `_`.
fn parse_go_integer(text: &str) -> Option<i128> {
    // Most plain scalars are words: only a digit or a sign can start a number.
    let first = *text.as_bytes().first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+') {
        return None;
    }
    // A plain decimal (no `_`, no leading `0`), the usual number, without copying it.
    let unsigned = if first.is_ascii_digit() { text } else { &text[1..] };
    if !unsigned.is_empty()
        && unsigned.bytes().all(|c| c.is_ascii_digit())
        && (unsigned.len() == 1 || !unsigned.starts_with('0'))
    {
        let magnitude: i128 = unsigned.parse().ok()?;
        return Some(if first == b'-' { -magnitude } else { magnitude });
    }
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    if cleaned.is_empty() || text.starts_with('_') || text.ends_with('_') {
        return None;
    }
    let (neg, digits) = match cleaned.as_bytes()[0] {
        b'-' => (true, &cleaned[1..]),
        b'+' => (false, &cleaned[1..]),
        _ => (false, &cleaned[..]),
    };
    if digits.is_empty() {
        return None;
    }
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest.to_string())
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest.to_string())
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(&body, radix).ok()?;
    Some(if neg { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        parse(text, 0, Limits::default()).unwrap().remove(0)
    }

    #[test]
    fn plain_scalars_are_typed_like_go_yaml_v4() {
        let cases: &[(&str, Value)] = &[
            ("yes", Value::Str("yes".into())),
            ("on", Value::Str("on".into())),
            ("True", Value::Bool(true)),
            ("~", Value::Null),
            ("010", Value::Int(8)),
            ("0x10", Value::Int(16)),
            ("0o10", Value::Int(8)),
            ("1_000", Value::Int(1000)),
            ("+12", Value::Int(12)),
            ("80:80", Value::Str("80:80".into())),
            ("1e3", Value::Float(1000.0)),
            ("0.5", Value::Float(0.5)),
            ("08", Value::Float(8.0)),
            ("99999999999999999999", Value::Float(1e20)),
            ("-", Value::Str("-".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(&resolve_plain(text), expected, "{text}");
        }
    }

    #[test]
    fn positions_are_one_based() {
        let doc = one("a:\n  b: 1\n");
        let a = doc.get("a").unwrap();
        assert_eq!(doc.key_pos("a"), Some(Pos::new(0, 1, 1)));
        assert_eq!(a.key_pos("b"), Some(Pos::new(0, 2, 3)));
        assert_eq!(a.get("b").unwrap().pos, Pos::new(0, 2, 6));
    }

    #[test]
    fn merge_keys_keep_explicit_keys_and_earlier_sources() {
        let doc = one("x: &x {a: 1, b: 2}\ny: &y {b: 3, c: 4}\nz:\n  <<: [*x, *y]\n  a: 9\n");
        let z = doc.get("z").unwrap();
        let names: Vec<_> = z.as_map().unwrap().iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(names, ["b", "c", "a"]);
        assert_eq!(z.get("a").unwrap().value, Value::Int(9));
        assert_eq!(z.get("b").unwrap().value, Value::Int(2));
    }

    #[test]
    fn quoted_merge_key_is_an_ordinary_key() {
        let doc = one("\"<<\": 1\n");
        assert_eq!(doc.get("<<").unwrap().value, Value::Int(1));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\nb: 2\na: 3\n", 0, Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::DuplicateKey);
        assert_eq!(err.pos, Some(Pos::new(0, 3, 1)));
        assert!(err.message.contains("line 1"));
        // Large mappings are indexed: a repeat is found before and after the index is made,
        // of a key from before it and from after it.
        for (first, repeat) in [(3, 10), (3, 40), (30, 40), (SCAN - 1, SCAN), (SCAN, SCAN + 1)] {
            let mut text = String::new();
            for i in 0..50 {
                let key = if i == repeat { first } else { i };
                text.push_str(&format!("k{key}: {i}\n"));
            }
            let err = parse(&text, 0, Limits::default()).unwrap_err();
            assert_eq!(err.pos, Some(Pos::new(0, repeat as u32 + 1, 1)), "key {first} repeated at {repeat}");
            assert!(err.message.contains(&format!("line {}", first + 1)), "{}", err.message);
        }
        let keys: String = (0..50).map(|i| format!("k{i}: {i}\n")).collect();
        assert!(parse(&keys, 0, Limits::default()).is_ok());
    }

    #[test]
    fn alias_bombs_hit_the_node_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let err = parse(&text, 0, Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::YamlLimit);
    }

    #[test]
    fn aliases_of_a_long_string_hit_the_byte_budget() {
        // 100 aliases of a 1,000-byte string: 102 nodes, about 100,000 bytes.
        let text = format!("a: &a {}\nb: [{}]\n", "x".repeat(1000), ["*a"; 100].join(", "));
        let limits = Limits { max_scalar_bytes: 50_000, ..Limits::default() };
        let err = parse(&text, 0, limits).unwrap_err();
        assert_eq!(err.code, Code::YamlLimit);
        assert_eq!(err.pos.map(|p| p.line), Some(2));
        assert!(err.message.contains("50000 bytes"), "{}", err.message);
        assert!(parse(&text, 0, Limits { max_scalar_bytes: 110_000, ..Limits::default() }).is_ok());
        // The copy an anchor keeps counts once per anchor: nested anchors cannot multiply it.
        let nested = format!("a: &a [&b [&c [&d {}]]]\n", "x".repeat(1000));
        let err = parse(&nested, 0, Limits { max_scalar_bytes: 4_500, ..Limits::default() }).unwrap_err();
        assert_eq!(err.code, Code::YamlLimit);
        assert!(parse(&nested, 0, Limits { max_scalar_bytes: 5_500, ..Limits::default() }).is_ok());
    }

    #[test]
    fn deep_nesting_hits_the_depth_limit() {
        let text = format!("{}x\n", "- ".repeat(100));
        let err = parse(&text, 0, Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::YamlLimit);
        // Unclosed flow nesting is refused too, by the parser's own guard.
        assert!(parse(&"[".repeat(100_000), 0, Limits::default()).is_err());
    }

    #[test]
    fn only_yaml_1_1_directives_are_read_as_go_yaml_does() {
        for ok in
            ["%YAML 1.1\n---\na: 1\n", "\u{feff}%YAML 1.1 # c\r\n---\r\na: 1\n", "a: 1\n...\n%YAML 1.1\n---\nb: 2\n"]
        {
            assert!(parse(ok, 0, Limits::default()).is_ok(), "{ok:?}");
        }
        // Lines that only look like directives, inside a document, are content.
        let docs = parse("--- |\n%YAML 2.0\n...\n---\na: 1\n", 0, Limits::default()).unwrap();
        assert_eq!(docs.len(), 2);
        for (bad, line) in [("%YAML 1.2\n---\na: 1\n", 1), ("a: 1\n...\n# c\n%YAML 2.0\n---\nb: 2\n", 4)] {
            let err = parse(bad, 0, Limits::default()).unwrap_err();
            assert_eq!((err.code, err.pos.map(|p| (p.line, p.col))), (Code::YamlSyntax, Some((line, 1))), "{bad:?}");
            assert!(err.message.starts_with("YAML version `"), "{}", err.message);
        }
    }

    #[test]
    fn non_string_keys_are_errors() {
        let err = parse("123: a\n", 0, Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::NonStringKey);
        // The key as written, not as resolved.
        let err = parse("0x1F: a\n", 0, Limits::default()).unwrap_err();
        assert!(err.message.contains("`0x1F`"), "{}", err.message);
    }

    #[test]
    fn flow_collections_ignore_indentation_as_libyaml_does() {
        // The closing bracket under the key (as in getsentry/self-hosted), an item left of
        // the key, and a quoted item: all accepted, values and positions as written.
        let text = "svc:\n  test: [\n      \"CMD\",\n  ]\n  more: {a: 1,\n b: 2}\n  last: x\n";
        assert!(parse_text(text, 0, Limits::default(), Part::WHOLE).is_err(), "the strict parser must refuse it");
        let docs = parse(text, 0, Limits::default()).unwrap();
        let svc = docs[0].get("svc").unwrap();
        let test = svc.get("test").unwrap();
        assert!(matches!(&test.value, Value::Seq(items) if items.len() == 1));
        assert_eq!(test.pos, Pos::new(0, 2, 9));
        let Value::Seq(items) = &test.value else { unreachable!() };
        assert_eq!(items[0].pos, Pos::new(0, 3, 7));
        let more = svc.get("more").unwrap();
        assert_eq!(more.get("b").map(|b| &b.value), Some(&Value::Int(2)));
        assert_eq!(more.as_map().unwrap()[1].0.pos, Pos::new(0, 6, 2));
        assert_eq!(svc.key_pos("last"), Some(Pos::new(0, 7, 3)));
        // Block indentation still counts: a key left of its siblings is an error, at its place.
        let err = parse("a:\n    b: 1\n  c: 2\n", 0, Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::YamlSyntax);
        assert_eq!(err.pos.map(|p| p.line), Some(3));
        // A later error in a re-indented file is reported where it is in the file as written.
        let err = parse("a: [\n1,\n]\nb: 1\nb: 2\n", 0, Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::DuplicateKey, "{}", err.message);
        assert_eq!(err.pos, Some(Pos::new(0, 5, 1)));
    }

    #[test]
    fn a_second_merge_key_is_a_duplicate_key() {
        // go-yaml (and so Compose) refuses these; `<<: [*a, *b]` is how to merge two mappings.
        for (text, line) in [
            ("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n", 5),
            ("a: &a {x: 1}\nc: {<<: *a, <<: *a}\n", 2),
            ("a: &a {x: 1}\nc:\n  <<: *a\n  \"<<\": 1\n", 4),
            ("a: &a {x: 1}\nc:\n  '<<': 1\n  <<: *a\n", 4),
        ] {
            let err = parse(text, 0, Limits::default()).unwrap_err();
            assert_eq!(err.code, Code::DuplicateKey, "{text}: {}", err.message);
            assert_eq!(err.pos.map(|p| p.line), Some(line), "{text}");
        }
        assert!(parse("a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b]}\n", 0, Limits::default()).is_ok());
    }

    #[test]
    fn only_a_plain_merge_key_merges() {
        let docs = parse("a: &a {x: 1}\nb:\n  <<: *a\n  y: two\nc:\n  \"<<\": *a\n", 0, Limits::default()).unwrap();
        let root = &docs[0];
        let keys = |name: &str| -> Vec<String> {
            root.get(name).and_then(Node::as_map).unwrap().iter().map(|(k, _)| k.name.clone()).collect()
        };
        assert_eq!(keys("b"), ["x", "y"]);
        assert_eq!(keys("c"), ["<<"]);
        assert!(root.get("b").and_then(|b| b.get("y")).is_some_and(|y| y.plain && y.raw().is_none()));
        assert!(root.get("a").and_then(|a| a.get("x")).is_some_and(|x| x.plain && x.raw() == Some("1")));
    }

    #[test]
    fn integers_past_int64_print_like_go() {
        let text = |yaml: &str| one(yaml).get("a").and_then(Node::scalar_string).unwrap();
        assert_eq!(text("a: 12345678901234567890\n"), "12345678901234567890");
        assert_eq!(text("a: 0xFFFFFFFFFFFFFFFF\n"), "18446744073709551615");
        assert_eq!(text("a: 9223372036854775807\n"), "9223372036854775807");
        // Past uint64, or signed: a float64, as go-yaml reads it.
        assert_eq!(text("a: 99999999999999999999\n"), "1e+20");
        assert_eq!(text("a: -9223372036854775809\n"), "-9.223372036854776e+18");
    }

    #[test]
    fn floats_print_like_go() {
        // What Go's `fmt.Sprint(float64)` prints, which compose-go uses for a number in a
        // string field (`environment`, `labels`).
        for (f, go) in [
            (1000.0, "1000"),
            (2.5, "2.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (123_456_789.123_456_79, "1.2345678912345679e+08"),
            (6.02e23, "6.02e+23"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5e-300, "-2.5e-300"),
            (0.0, "0"),
            (-0.0, "-0"),
            (-42.0, "-42"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(format_float(f), go, "{f}");
        }
    }
}
