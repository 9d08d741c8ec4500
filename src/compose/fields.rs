//! Typed access to YAML nodes for the reader: each getter either returns the value in the
//! shape the model wants or records a wrong-type diagnostic naming the key path and what was
//! expected. Strings are cast the way compose-go casts them after interpolation.

use super::keys::{self, Handling};
use super::model::NotConverted;
use crate::diag::{closest, Code, Diagnostic, Diagnostics, Pos};
use crate::yaml::{Key, Node, Value};

/// `parent.key`: a key path for messages, built without the formatting machinery (the reader
/// builds one for most keys it reads).
pub fn key_path(parent: &str, key: &str) -> String {
    let mut out = String::with_capacity(parent.len() + 1 + key.len());
    out.push_str(parent);
    out.push('.');
    out.push_str(key);
    out
}

/// `parent[i]`: a list item's path for messages.
pub fn index_path(parent: &str, i: usize) -> String {
    let mut digits = [0u8; 20];
    let mut n = i;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(parent.len() + 2 + digits.len() - start);
    out.push_str(parent);
    out.push('[');
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
    out.push(']');
    out
}

pub struct Fields<'a> {
    pub diags: &'a mut Diagnostics,
    pub not_converted: &'a mut Vec<NotConverted>,
}

impl Fields<'_> {
    pub fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) {
        self.diags.push(Diagnostic::at(
            Code::WrongType,
            node.pos,
            format!("`{path}` must be {expected}, found {}", node.kind_name()),
        ));
    }

    pub fn invalid(&mut self, pos: Pos, message: String) {
        self.diags.push(Diagnostic::at(Code::InvalidValue, pos, message));
    }

    /// The entries of a mapping, or a diagnostic. `null` is an empty mapping.
    pub fn map<'n>(&mut self, node: &'n Node, path: &str) -> &'n [(Key, Node)] {
        match &node.value {
            Value::Map(entries) => entries,
            Value::Null => &[],
            _ => {
                self.wrong_type(node, path, "a mapping");
                &[]
            }
        }
    }

    /// Check every key of `entries` against `table`: unknown keys are errors (except `x-`),
    /// not-converted keys are recorded. Returns the converted entries.
    pub fn check_keys<'n>(
        &mut self,
        entries: &'n [(Key, Node)],
        table: &[(&str, Handling)],
        path: &str,
    ) -> Vec<&'n (Key, Node)> {
        let mut converted = Vec::new();
        for entry in entries {
            let (key, _) = entry;
            if key.name.starts_with("x-") {
                continue;
            }
            match keys::lookup(table, &key.name) {
                Some(Handling::Converted) => converted.push(entry),
                Some(Handling::NotConverted { reason, help }) => self.not_converted.push(NotConverted {
                    path: key_path(path, &key.name),
                    pos: key.pos,
                    reason,
                    help,
                }),
                None => {
                    let service_like = |node: &Node| node.get("image").or_else(|| node.get("build")).is_some();
                    let known: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
                    let mut d = unknown_key(key, path, &known);
                    if path.is_empty() && service_like(&entry.1) && closest(&key.name, &known).is_none() {
                        d.help = Some(format!(
                            "this looks like a service in the version 1 file format, which Docker Compose no \
                             longer reads: move `{}` under a top-level `services:` key",
                            key.name
                        ));
                    }
                    self.diags.push(d);
                }
            }
        }
        converted
    }

    pub fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, path, "a string");
                None
            }
        }
    }

    /// A string, or a number written where Compose accepts either (ports, labels, env).
    pub fn scalar(&mut self, node: &Node, path: &str) -> Option<String> {
        match node.scalar_string() {
            Some(s) => Some(s),
            None => {
                self.wrong_type(node, path, "a string or a number");
                None
            }
        }
    }

    pub fn bool(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "y" | "yes" | "on" => Some(true),
                "false" | "n" | "no" | "off" => Some(false),
                _ => {
                    self.invalid(node.pos, format!("`{path}` must be true or false, found `{s}`"));
                    None
                }
            },
            _ => {
                self.wrong_type(node, path, "a boolean");
                None
            }
        }
    }

    pub fn int(&mut self, node: &Node, path: &str) -> Option<i64> {
        match &node.value {
            Value::Int(i) => Some(*i),
            Value::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) => Some(i),
                Err(_) => {
                    self.invalid(node.pos, format!("`{path}` must be an integer, found `{s}`"));
                    None
                }
            },
            // A whole number written as a float (`3.0`) is read as compose-go reads it.
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            Value::Float(f) => {
                // The number as written: `1e3` read as a float prints as `1000`, and an integer
                // too large for 64 bits loses digits.
                let written = node.raw().map_or_else(|| f.to_string(), str::to_string);
                let digits = written.strip_prefix(['-', '+']).unwrap_or(&written);
                let message = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    format!("`{path}` is out of range: `{written}` does not fit in a 64-bit integer")
                } else {
                    format!("`{path}` must be an integer, found `{written}`")
                };
                self.invalid(node.pos, message);
                None
            }
            _ => {
                self.wrong_type(node, path, "an integer");
                None
            }
        }
    }

    pub fn float(&mut self, node: &Node, path: &str) -> Option<f64> {
        let value = match &node.value {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse::<f64>().ok(),
            _ => {
                self.wrong_type(node, path, "a number");
                return None;
            }
        };
        match value {
            Some(f) if f.is_finite() => Some(f),
            _ => {
                self.invalid(node.pos, format!("`{path}` must be a number"));
                None
            }
        }
    }

    /// A string or a list of strings (`dns`, `tmpfs`, `env_file` short forms).
    pub fn string_or_list<'n>(&mut self, node: &'n Node, path: &str) -> Vec<(String, &'n Node)> {
        match &node.value {
            Value::Str(s) => vec![(s.clone(), node)],
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.string(item, &index_path(path, i)).map(|s| (s, item)))
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.wrong_type(node, path, "a string or a list of strings");
                Vec::new()
            }
        }
    }

    pub fn list<'n>(&mut self, node: &'n Node, path: &str) -> &'n [Node] {
        match &node.value {
            Value::Seq(items) => items,
            Value::Null => &[],
            _ => {
                self.wrong_type(node, path, "a list");
                &[]
            }
        }
    }

    /// `KEY=value` list or `KEY: value` map (environment, labels, extra_hosts...). A value of
    /// `None` means "no value given". `sep` splits list items.
    pub fn list_or_map(&mut self, node: &Node, path: &str, sep: char) -> Vec<(String, Option<String>, Pos)> {
        match &node.value {
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| {
                    let value = match &v.value {
                        Value::Null => None,
                        _ => self.scalar(v, &key_path(path, &k.name)),
                    };
                    (k.name.clone(), value, k.pos)
                })
                .collect(),
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let text = self.scalar(item, &index_path(path, i))?;
                    Some(match text.split_once(sep) {
                        Some((k, v)) => (k.to_string(), Some(v.to_string()), item.pos),
                        None => (text, None, item.pos),
                    })
                })
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.wrong_type(node, path, "a mapping or a list");
                Vec::new()
            }
        }
    }
}

/// A key that a mapping with the keys `known` does not have (an error), at `path` (empty for
/// the top level): the help line suggests the closest known key, or says that custom keys
/// start with `x-`.
pub fn unknown_key(key: &Key, path: &str, known: &[&str]) -> Diagnostic {
    let place = if path.is_empty() { "the top level".to_string() } else { format!("`{path}`") };
    if key.name.is_empty() {
        return Diagnostic::at(Code::UnknownKey, key.pos, format!("{place} has an empty key"))
            .with_help("give the entry a name, or remove it");
    }
    let d = Diagnostic::at(Code::UnknownKey, key.pos, format!("{place} has no key `{}`", key.name));
    match closest(&key.name, known) {
        Some(close) => d.with_help(format!("did you mean `{close}`?")),
        None => d.with_help("custom keys must start with `x-`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let known: Vec<&str> = keys::SERVICE_KEYS.iter().map(|(k, _)| *k).collect();
        assert_eq!(closest("imagee", &known), Some("image"));
        assert_eq!(closest("enviroment", &known), Some("environment"));
        assert_eq!(closest("zzzzzz", &known), None);
    }

    #[test]
    fn paths_read_as_format_writes_them() {
        assert_eq!(key_path("services.web", "ports"), format!("{}.{}", "services.web", "ports"));
        for i in [0, 7, 10, 123, usize::MAX] {
            assert_eq!(index_path("services.web.ports", i), format!("services.web.ports[{i}]"));
        }
    }
}
