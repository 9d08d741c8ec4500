//! Reading a large file on two cores: the entries of one top-level block mapping (a compose
//! file's `services:`) are cut in two at an entry's first line, and the second half is read
//! on a second thread while this one reads the rest of the file.
//!
//! The result is the tree [`parse`] gives, or the cut is not used: the cut must be at a line
//! where the reader of the whole file stands between two entries of the mapping (checked
//! while the rest is read, [`Part::watch`]), the cut-out text must hold no anchor, alias or
//! merge key (they can refer across the cut), and neither part may fail or hold a key of the
//! other. Otherwise, and for every error, the whole file is read again in one piece, so
//! errors and their positions are always the ones [`parse`] reports.

use super::node::{parse, parse_text, Documents, Limits, Parsed, Part, Value};
use crate::diag::Diagnostic;

/// The size from which a file is read in two parts: below it a thread costs more than it
/// saves.
pub const SPLIT_BYTES: usize = 256 * 1024;

/// [`parse`], on two cores when `text` is at least [`SPLIT_BYTES`] long and the entries of
/// the top-level mapping `key` can be cut in two.
pub fn parse_split(text: &str, file: u32, limits: Limits, key: &str) -> Result<Documents, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.len() >= SPLIT_BYTES && !crate::par::sequential() {
        // The second part a little under half: this thread first copies the rest of the
        // text (with the cut lines blank) before it parses it.
        if let Some(cut) = find_cut(text, key, text.len() * 48 / 100) {
            if let Some(docs) = parse_at(text, file, limits, key, cut) {
                return Ok(docs);
            }
        }
    }
    parse(text, file, limits)
}

/// Where the entries of `key` can be cut: the byte offsets of the first line of the second
/// part and of the line that ends the mapping (or the text's length).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cut {
    pub start: usize,
    pub end: usize,
    /// The line `start` is on (from 1), and the line `end` is on.
    pub line: u32,
    pub end_line: u32,
}

/// A cut at the first line of an entry of the top-level block mapping `key`, where the cut-out
/// part is nearest to `share` bytes long (half the text gives two parts of equal size).
pub(crate) fn find_cut(text: &str, key: &str, share: usize) -> Option<Cut> {
    let (starts, end, end_line) = cuts(text, key)?;
    // The second part is `start..end`; the first is the rest of the text.
    let wanted = end.checked_sub(share)?;
    let (start, line) = starts.into_iter().min_by_key(|&(s, _)| s.abs_diff(wanted))?;
    Some(Cut { start, end, line, end_line })
}

/// The first bytes and line numbers of the lines where a cut can be, and the byte and line
/// where the mapping's lines end.
pub(crate) type Cuts = (Vec<(usize, u32)>, usize, u32);

/// Every line where an entry of the top-level block mapping `key` starts (the first
/// excepted), with its number, and the byte and line where the mapping's lines end. `None`
/// when the text has no such mapping, or one this reader does not cut (a lone carriage
/// return counts lines differently; a mapping written in flow style or with a tab-indented
/// line).
pub(crate) fn cuts(text: &str, key: &str) -> Option<Cuts> {
    let bytes = text.as_bytes();
    if memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n')) {
        return None;
    }
    // The key on a line of its own, at the first column, once.
    let (index, (head, _)) = line_starts(text).enumerate().find(|(_, (_, line))| is_head(line, key))?;
    let lines = line_starts(&text[head..]).skip(1).map(|(at, line)| (head + at, line));
    let mut indent = None;
    let mut starts = Vec::new();
    let (mut end, mut end_line) = (text.len(), 0);
    for (number, (at, line)) in (index as u32 + 2..).zip(lines) {
        end_line = number;
        let bytes = line.as_bytes();
        match bytes.first() {
            None | Some(b'#' | b'\r') => continue,
            Some(b' ') => {}
            // The line that ends the mapping: a top-level key or a document marker, never the
            // end of a flow collection begun above.
            Some(b']' | b'}' | b',' | b'\t') => return None,
            Some(_) => {
                end = at;
                break;
            }
        }
        let entry_start = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
        match indent {
            // Most lines are indented further than the entries: one byte tells.
            Some(n) => {
                if bytes.get(n).copied().is_some_and(entry_start) && bytes[..n].iter().all(|&b| b == b' ') {
                    starts.push((at, number));
                }
            }
            None => {
                let content = line.trim_start_matches(' ');
                if content.is_empty() || content.starts_with('#') || content == "\r" {
                    continue;
                }
                if !entry_start(content.as_bytes()[0]) {
                    return None;
                }
                indent = Some(line.len() - content.len());
            }
        }
    }
    // A second head: a duplicate key, or another document; read in one piece.
    if line_starts(&text[end..]).any(|(_, line)| is_head(line, key)) {
        return None;
    }
    Some((starts, end, end_line))
}

fn is_head(line: &str, key: &str) -> bool {
    line.strip_prefix(key).and_then(|rest| rest.strip_prefix(':')).is_some_and(|rest| {
        let rest = rest.trim_start_matches([' ', '\t']).trim_end_matches('\r');
        rest.is_empty() || rest.starts_with('#')
    })
}

/// The lines of `text` with the byte offset each starts at (without their `\n`), as
/// `split('\n')` gives them. The line ends are found by `memchr`, many bytes at a time: this
/// runs on one thread over the whole text before the parts can be read.
fn line_starts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut ends = memchr::memchr_iter(b'\n', text.as_bytes());
    let mut at = Some(0);
    std::iter::from_fn(move || {
        let start = at?;
        let end = ends.next().unwrap_or(text.len());
        at = (end < text.len()).then_some(end + 1);
        // `\n` is ASCII: both ends are character boundaries.
        Some((start, &text[start..end]))
    })
}

/// Whether `text` holds an alias (`*`), an anchor (`&`) or a merge key (`<<`), which could
/// tie a part to another: one pass for all three.
fn ties_parts(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr3_iter(b'*', b'&', b'<', bytes).any(|i| bytes[i] != b'<' || bytes.get(i + 1) == Some(&b'<'))
}

/// Read `text` cut at `cut`, or `None` when the cut cannot be used (see the module's text).
pub(crate) fn parse_at(text: &str, file: u32, limits: Limits, key: &str, cut: Cut) -> Option<Documents> {
    let second = &text[cut.start..cut.end];
    if ties_parts(second) {
        return None;
    }
    let line = cut.line;
    let (cut_out, rest) = crate::par::join(
        true,
        move || {
            // The mapping's entries are one level in from the top.
            let part = Part { line_offset: line - 1, depth_offset: 1, watch: None };
            parse_text(second, file, limits, part).ok()
        },
        || {
            // The first part keeps the cut's lines, blank, so that lines after it keep their numbers.
            let breaks = (cut.end_line - cut.line) as usize;
            let mut rest = String::with_capacity(text.len() - second.len() + breaks);
            rest.push_str(&text[..cut.start]);
            rest.extend(std::iter::repeat_n('\n', breaks));
            rest.push_str(&text[cut.end..]);
            let part = Part { line_offset: 0, depth_offset: 0, watch: Some((key, line)) };
            parse_text(&rest, file, limits, part).ok()
        },
    );
    let (Some(Parsed { mut docs, nodes, scalar_bytes, watch: Some(doc) }), Some(cut_out)) = (rest, cut_out) else {
        return None;
    };
    if nodes + cut_out.nodes > limits.max_nodes || scalar_bytes + cut_out.scalar_bytes > limits.max_scalar_bytes {
        return None;
    }
    let [part] = <[_; 1]>::try_from(cut_out.docs).ok()?;
    // A block scalar with no content (`x: |`, or only blank lines) where the cut-out part
    // ends: the reader places it where the next token starts, which is the end of the part
    // here and a later line in the whole text.
    let mut last = &part;
    while let Some(next) = match &last.value {
        Value::Map(entries) => entries.last().map(|(_, v)| v),
        Value::Seq(items) => items.last(),
        _ => None,
    } {
        last = next;
    }
    if !last.plain && matches!(&last.value, Value::Str(s) if s.trim().is_empty()) {
        return None;
    }
    let Value::Map(more) = part.value else { return None };
    let Value::Map(root) = &mut docs.get_mut(doc)?.value else { return None };
    let (_, mapping) = root.iter_mut().find(|(k, _)| k.name == key)?;
    let Value::Map(entries) = &mut mapping.value else { return None };
    let names: foldhash::HashSet<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
    if more.iter().any(|(k, _)| names.contains(k.name.as_str())) {
        return None;
    }
    drop(names);
    entries.extend(more);
    Some(docs)
}

/// Cut `text` at every entry of the top-level mapping `key` and check that each cut is
/// refused or reads the tree [`parse`] reads; panics when one does not. Returns how many cuts
/// were used. For tests and the fuzzer, which also try the cut on texts too small for it.
#[doc(hidden)]
pub fn every_cut_agrees(text: &str, key: &str) -> usize {
    let whole = parse(text, 0, Limits::default());
    let Some((starts, end, end_line)) = cuts(text, key) else { return 0 };
    let mut used = 0;
    for (start, line) in starts {
        assert_eq!(line as usize, text[..start].matches('\n').count() + 1, "the line of byte {start}");
        assert_eq!(end_line as usize, text[..end].matches('\n').count() + 1, "the line of byte {end}");
        if let Some(docs) = parse_at(text, 0, Limits::default(), key, Cut { start, end, line, end_line }) {
            assert_eq!(Ok(&docs), whole.as_ref(), "cut at byte {start} of:\n{text}");
            used += 1;
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_parts_finds_aliases_anchors_and_merge_keys() {
        for text in ["a: *x", "a: &x 1", "<<: {}", "  - <<", "x: 1\n<<: *y"] {
            assert!(ties_parts(text), "{text:?}");
        }
        for text in ["", "a: <b>", "a < b", "x: <", "a: 1 <\n< b"] {
            assert!(!ties_parts(text), "{text:?}");
        }
    }

    fn each_cut_agrees(text: &str) -> usize {
        every_cut_agrees(text, "services")
    }

    #[test]
    fn lines_as_split_gives_them() {
        for text in ["", "a", "a\n", "\n\n", "ab\ncd\r\n", "é\nü\n\nx", "\nlast"] {
            let mut at = 0;
            let expected: Vec<(usize, &str)> = text
                .split('\n')
                .map(|line| {
                    at += line.len() + 1;
                    (at - line.len() - 1, line)
                })
                .collect();
            assert_eq!(line_starts(text).collect::<Vec<_>>(), expected, "{text:?}");
        }
    }

    #[test]
    fn a_cut_between_entries_reads_the_same_tree() {
        let text = "x-a: 1\nservices:\n  a:\n    image: a\n  # note\n\n  b:\n    image: b\n    ports:\n      - \"80\"\n  c: {image: c}\nvolumes:\n  v: {}\n";
        assert_eq!(each_cut_agrees(text), 2);
        assert_eq!(each_cut_agrees(&text.replace('\n', "\r\n")), 2, "with CRLF line ends");
        assert_eq!(each_cut_agrees(&format!("\u{feff}{text}")), 2, "after a byte order mark");
        let at_end = "services:\n  a:\n    image: a\n  b:\n    command: [x,\n      y]\n  c:\n    image: c";
        assert_eq!(each_cut_agrees(at_end), 2);
    }

    #[test]
    fn a_cut_inside_a_scalar_or_flow_collection_is_refused() {
        // A line at the entries' indentation inside a quoted scalar or a flow collection.
        for text in [
            "services:\n  a:\n    command: \"x\n  b: y\"\n  c:\n    image: c\n",
            "services:\n  a: [x,\n  b, y]\n  c:\n    image: c\n",
            "services:\n  a: {x: 1,\n  b: 2}\n  c:\n    image: c\n",
            "services:\n  a:\n    labels:\n  b:\n    image: b\n",
        ] {
            each_cut_agrees(text);
        }
        let quoted = "services:\n  a:\n    command: \"x\n  b: y\"\n  c:\n    image: c\n";
        assert!(parse_at(quoted, 0, Limits::default(), "services", second_entry(quoted)).is_none());
    }

    #[test]
    fn anchors_duplicates_and_errors_are_read_in_one_piece() {
        for text in [
            "services:\n  a: &x\n    image: a\n  b: *x\n",
            "x: &x {image: a}\nservices:\n  a:\n    image: a\n  b:\n    <<: *x\n",
            "services:\n  a:\n    image: a\n  b:\n    image: b\n  a:\n    image: c\n",
            "services:\n  a:\n    image: a\n  b:\n    image: [\n",
            "services:\n  a:\n    image: a\n  b:\n    image: b\n   x: 1\n",
        ] {
            assert_eq!(each_cut_agrees(text), 0, "{text}");
        }
    }

    #[test]
    fn a_block_scalar_without_content_at_the_end_of_the_cut_out_part_is_read_in_one_piece() {
        // Found by the fuzzer (2026-12-04): the reader places such a scalar where the next
        // token starts, so its position differs between the part and the whole text.
        for body in ["x: |\n", "x: |+\n\n", "x: |-\n\n\n", "x: >+\n  \n", "x: |2\n\n", "x: >\n    \n   \n"] {
            let text = format!("services:\n  a:\n    image: x\n  b:\n    {body}volumes: {{}}\n");
            assert_eq!(each_cut_agrees(&text), 0, "{text}");
        }
        // With content, or followed by another entry, the cut is used.
        let text = "services:\n  a:\n    image: x\n  b:\n    x: |\n      hello\nvolumes: {}\n";
        assert_eq!(each_cut_agrees(text), 1);
        let fuzzed = "services: #\t\u{4}\t!\n eEse-ervices: #\t\u{4}\t!\n e-\t-\t \u{4}ervices: |\n?%#\t>\t\u{4}s: #\t\u{4}\t!\n e-\t-\t \u{4}e";
        each_cut_agrees(fuzzed);
    }

    /// The cut at the second entry of `services:`.
    fn second_entry(text: &str) -> Cut {
        let (starts, end, end_line) = cuts(text, "services").expect("a services mapping");
        Cut { start: starts[0].0, end, line: starts[0].1, end_line }
    }

    #[test]
    fn budgets_count_both_parts() {
        for (text, limits) in [
            // 11 nodes: 7 before the cut, 4 after it.
            ("services:\n  a:\n    image: a\n  b:\n    image: b\n", Limits { max_nodes: 10, ..Limits::default() }),
            // The second part's mapping is two levels deep in the file.
            ("services:\n  a: 1\n  b:\n    image: b\n", Limits { max_depth: 2, ..Limits::default() }),
        ] {
            let cut = second_entry(text);
            assert!(parse_at(text, 0, Limits::default(), "services", cut).is_some());
            assert!(parse(text, 0, limits).is_err());
            assert!(parse_at(text, 0, limits, "services", cut).is_none());
        }
    }

    #[test]
    fn files_without_a_block_mapping_to_cut_are_not_cut() {
        assert!(cuts("services: {a: {image: a}}\n", "services").is_none());
        assert!(cuts("services:\n- a\n", "services").is_some_and(|(starts, _, _)| starts.is_empty()));
        assert!(cuts("services:\n  a: 1\nservices:\n  b: 2\n", "services").is_none());
        assert!(cuts("a: 1\r  b: 2\r", "services").is_none());
        // A lone carriage return breaks a line for the YAML reader, not for the cut.
        assert!(cuts("services:\n  a: 1\r  b: 2\n  c: 3\n", "services").is_none());
        assert!(cuts("services:\r\n  a: 1\r\n  c: 3\r\n", "services").is_some());
        assert!(cuts("x: [\nservices:\n  a: 1\n]\n", "services").is_none());
    }

    /// Every file of the golden cases and examples, cut at each entry of `services:`.
    #[test]
    fn every_cut_of_every_test_file_reads_the_same_tree() {
        fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    files.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        walk(&root.join("testdata"), &mut files);
        walk(&root.join("examples"), &mut files);
        let (mut read, mut used) = (0, 0);
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else { continue };
            read += 1;
            used += each_cut_agrees(&text);
        }
        assert!(read > 300 && used > 100, "{read} files, {used} cuts used");
    }
}
