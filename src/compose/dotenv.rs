//! The dotenv format read from `.env`, `--env-file` and a service's `env_file`, with
//! compose-go's grammar: `export`, comments, key-only lines, single quotes (literal), double
//! quotes (escapes, multi-line), unquoted values with ` #` comments, and interpolation inside
//! values (lookup first, then variables defined earlier).

use super::interpolate::{substitute, InterpolationError};
use crate::diag::Code;
use indexmap::IndexMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    /// 1-based line where the problem starts.
    pub line: usize,
    /// 1-based column (in characters): where the value starts for an interpolation error,
    /// else 1.
    pub col: usize,
    pub message: String,
    /// A `${...}` in a value failed (K109 rather than K108).
    pub interpolation: bool,
}

impl DotenvError {
    /// K109 for a failed `${...}`, K108 for the rest of the grammar.
    pub fn code(&self) -> Code {
        if self.interpolation {
            Code::Interpolation
        } else {
            Code::InvalidValue
        }
    }

    fn at_line(line: usize, message: String) -> DotenvError {
        DotenvError { line, col: 1, message, interpolation: false }
    }
}

/// Parse `text` on top of `vars` (earlier files' values), resolving `${...}` with `lookup`
/// first and `vars` second. Later keys override earlier ones.
pub fn parse_into(
    text: &str,
    vars: &mut IndexMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), DotenvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        // Skip blank space and comment lines.
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let start_line = line;
        // `export` prefix.
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        if rest.starts_with("export") && rest.chars().nth(6).is_some_and(|c| c == ' ' || c == '\t') {
            i += 7;
        }
        // Key.
        let key_start = i;
        let mut key = String::new();
        let mut terminator = None;
        while i < chars.len() {
            let c = chars[i];
            if c == '=' || c == ':' {
                terminator = Some(c);
                i += 1;
                break;
            }
            if c == '\n' {
                break;
            }
            if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']') || (c.is_whitespace() && c != '\n') {
                key.push(c);
                i += 1;
                continue;
            }
            // The name so far, never the rest of the line: it may hold a secret value.
            let name: String = chars[key_start..i].iter().collect();
            return Err(DotenvError::at_line(
                start_line,
                format!("unexpected character `{c}` in variable name `{}`", name.trim()),
            ));
        }
        let key = key.trim().to_string();
        if key.contains(char::is_whitespace) {
            return Err(DotenvError::at_line(start_line, "key cannot contain a space".into()));
        }
        if terminator.is_none() {
            if i >= chars.len() {
                // A last line without newline and without `=` is the empty key with that value.
                vars.insert(String::new(), key);
                break;
            }
            // Key-only line: take the value from the lookup, or leave the key out.
            if let Some(v) = lookup(&key) {
                vars.insert(key, v);
            }
            continue;
        }
        // Skip spaces after `=`.
        while i < chars.len() && chars[i] != '\n' && chars[i].is_whitespace() {
            i += 1;
        }
        // Where the value starts, for interpolation errors.
        let col = i - chars[..i].iter().rposition(|&c| c == '\n').map_or(0, |p| p + 1) + 1;
        let value = match chars.get(i) {
            Some(&q @ ('\'' | '"')) => {
                let mut j = i + 1;
                let mut raw = String::new();
                let mut closed = false;
                while j < chars.len() {
                    let c = chars[j];
                    if c == '\\' && j + 1 < chars.len() && chars[j + 1] == q {
                        raw.push('\\');
                        raw.push(q);
                        j += 2;
                        continue;
                    }
                    if c == '\\' && q == '"' && j + 1 < chars.len() {
                        raw.push(c);
                        raw.push(chars[j + 1]);
                        if chars[j + 1] == '\n' {
                            line += 1;
                        }
                        j += 2;
                        continue;
                    }
                    if c == q {
                        closed = true;
                        break;
                    }
                    if c == '\n' {
                        line += 1;
                    }
                    raw.push(c);
                    j += 1;
                }
                if !closed {
                    // Name the variable, never its value: it may be a secret.
                    return Err(DotenvError::at_line(
                        start_line,
                        format!("the quoted value of `{key}` is not terminated"),
                    ));
                }
                i = j + 1;
                if q == '\'' {
                    raw.replace("\\'", "'")
                } else {
                    let unescaped = unescape_double(&raw);
                    expand(&unescaped, vars, lookup, start_line, col)?.replace('\u{0}', "$")
                }
            }
            _ => {
                let mut raw = String::new();
                while i < chars.len() && chars[i] != '\n' {
                    if chars[i] == '#' && raw.ends_with(' ') {
                        while i < chars.len() && chars[i] != '\n' {
                            i += 1;
                        }
                        break;
                    }
                    raw.push(chars[i]);
                    i += 1;
                }
                let trimmed = raw.trim_end();
                expand(trimmed, vars, lookup, start_line, col)?
            }
        };
        vars.insert(key, value);
    }
    Ok(())
}

/// Double-quote escapes; `\$` becomes a placeholder so interpolation leaves it alone.
fn unescape_double(raw: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 >= chars.len() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        i += 2;
        match n {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '$' => out.push('\u{0}'),
            '0' => {
                let mut code = 0u32;
                let mut digits = 0;
                while digits < 3 && i < chars.len() && ('0'..='7').contains(&chars[i]) {
                    code = code * 8 + chars[i].to_digit(8).unwrap_or(0);
                    i += 1;
                    digits += 1;
                }
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

fn expand(
    value: &str,
    vars: &IndexMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
    line: usize,
    col: usize,
) -> Result<String, DotenvError> {
    if !value.contains('$') {
        return Ok(value.to_string());
    }
    let both = |name: &str| lookup(name).or_else(|| vars.get(name).cloned());
    substitute(value, &both).map(|s| s.text).map_err(|e| DotenvError {
        line,
        col,
        interpolation: true,
        message: match e {
            InterpolationError::Syntax => "invalid interpolation format (escape a literal `$` as `$$`)".to_string(),
            other => other.describe(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, os: &[(&str, &str)]) -> Result<Vec<(String, String)>, DotenvError> {
        let os: foldhash::HashMap<String, String> = os.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut vars = IndexMap::new();
        parse_into(text, &mut vars, &|n| os.get(n).cloned())?;
        Ok(vars.into_iter().collect())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn grammar() {
        let text =
            "# c\nexport A=1\nB = two words # comment\nC='lit ${A} \\n'\nD=\"x\\ny ${A} \\$A\"\nE=a#b\nF:yaml\nG\n";
        assert_eq!(
            parse(text, &[("G", "from-os")]).unwrap(),
            pairs(&[
                ("A", "1"),
                ("B", "two words"),
                ("C", "lit ${A} \\n"),
                ("D", "x\ny 1 $A"),
                ("E", "a#b"),
                ("F", "yaml"),
                ("G", "from-os")
            ])
        );
    }

    #[test]
    fn lookup_beats_earlier_definitions() {
        assert_eq!(
            parse("OPTION_A=1\nOPTION_B=${OPTION_A}\n", &[("OPTION_A", "5")]).unwrap(),
            pairs(&[("OPTION_A", "1"), ("OPTION_B", "5")])
        );
    }

    #[test]
    fn multi_line_double_quotes_and_errors() {
        assert_eq!(parse("A=\"1\n2\"\n", &[]).unwrap(), pairs(&[("A", "1\n2")]));
        assert_eq!(parse("A=\"open\n", &[]).unwrap_err().line, 1);
        assert!(parse("BAD LINE=1\n", &[]).is_err());
        assert!(parse("A%B=1\n", &[]).is_err());
    }

    #[test]
    fn interpolation_errors_point_at_the_value() {
        let e = parse("OK=1\nA = ${UNSET:?boom}\n", &[]).unwrap_err();
        assert_eq!((e.line, e.col, e.interpolation), (2, 5, true), "{e:?}");
        let e = parse("A=\"x\ny\"\nB=\"${\"\n", &[]).unwrap_err();
        assert_eq!((e.line, e.col, e.interpolation), (3, 3, true), "{e:?}");
        let e = parse("A%B=1\n", &[]).unwrap_err();
        assert_eq!((e.line, e.col, e.interpolation), (1, 1, false), "{e:?}");
    }
}
