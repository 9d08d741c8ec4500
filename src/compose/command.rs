//! Splitting a `command:` or `entrypoint:` string into arguments, as compose-go does with
//! go-shellwords: quotes group words, no variable expansion, and parsing stops at the first
//! unquoted `;`, `&`, `|`, `<` or `>` (the rest is dropped; the caller warns about it).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub args: Vec<String>,
    /// The text after an unquoted shell operator, which go-shellwords drops.
    pub dropped: Option<String>,
}

pub fn split_command(text: &str) -> Result<Split, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut args = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let invalid = || format!("invalid command line string `{text}`");
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    args.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                let next = chars.get(i + 1).ok_or_else(invalid)?;
                word.push(*next);
                in_word = true;
                i += 1;
            }
            '\'' => {
                in_word = true;
                i += 1;
                loop {
                    let c = *chars.get(i).ok_or_else(invalid)?;
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                loop {
                    let c = *chars.get(i).ok_or_else(invalid)?;
                    if c == '"' {
                        break;
                    }
                    if c == '\\' {
                        i += 1;
                        word.push(*chars.get(i).ok_or_else(invalid)?);
                    } else {
                        word.push(c);
                    }
                    i += 1;
                }
            }
            ';' | '&' | '|' | '<' | '>' => {
                // A file-descriptor number before a redirection (`2>&1`) belongs to it.
                let fd = matches!(c, '<' | '>') && !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
                if in_word && !fd {
                    args.push(std::mem::take(&mut word));
                }
                let dropped: String = chars[i..].iter().collect();
                return Ok(Split { args, dropped: Some(dropped) });
            }
            '(' if !word.ends_with('$') => return Err(invalid()),
            '`' => {
                // Backquotes are kept literally but must be balanced.
                in_word = true;
                word.push(c);
                i += 1;
                loop {
                    let c = *chars.get(i).ok_or_else(invalid)?;
                    word.push(c);
                    if c == '`' {
                        break;
                    }
                    i += 1;
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
        i += 1;
    }
    if in_word {
        args.push(word);
    }
    Ok(Split { args, dropped: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_go_shellwords() {
        let ok: &[(&str, &[&str])] = &[
            ("echo hi", &["echo", "hi"]),
            ("sh -c 'a b'", &["sh", "-c", "a b"]),
            ("\"a\\nb\"", &["anb"]),
            ("'a\\b'", &["a\\b"]),
            ("a '' \"\"", &["a", "", ""]),
            ("echo $HOME #x", &["echo", "$HOME", "#x"]),
            ("echo $(date)", &["echo", "$(date)"]),
        ];
        for (text, args) in ok {
            assert_eq!(split_command(text).unwrap().args, *args, "{text}");
        }
        let cut = split_command("echo hi && echo there").unwrap();
        assert_eq!(cut.args, ["echo", "hi"]);
        assert_eq!(cut.dropped.as_deref(), Some("&& echo there"));
        for bad in ["'open", "\"open", "trail\\", "a (b)"] {
            assert!(split_command(bad).is_err(), "{bad}");
        }
    }
}
