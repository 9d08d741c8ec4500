//! Splitting a `command:` or `entrypoint:` string into arguments, as compose-go does with
//! go-shellwords: quotes group words, no variable expansion, and parsing stops at the first
//! unquoted `;`, `&`, `|`, `<` or `>` (the rest is dropped; the caller warns about it).
//! Arguments that could not fit in one Kubernetes object stop the split (K307's limit).

use crate::diag::MAX_OBJECT_BYTES;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub args: Vec<String>,
    /// The text after an unquoted shell operator, which go-shellwords drops.
    pub dropped: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// Not a command line go-shellwords reads: the message.
    Invalid(String),
    /// The arguments would take more than [`MAX_OBJECT_BYTES`] (their text and a byte
    /// each), more than a cluster stores in the object that holds them.
    TooLarge,
}

/// Split `text` into arguments. Splitting stops as soon as the arguments pass what one
/// object may hold, so a huge string of one-letter words never becomes millions of strings.
pub fn split_command(text: &str) -> Result<Split, SplitError> {
    let mut args = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    // The text of the arguments so far, and a byte for each.
    let mut weight = 0usize;
    let mut chars = text.char_indices();
    let invalid = || SplitError::Invalid(format!("invalid command line string `{text}`"));
    let mut end_word = |word: &mut String, args: &mut Vec<String>| -> Result<(), SplitError> {
        weight += word.len() + 1;
        if weight > MAX_OBJECT_BYTES {
            return Err(SplitError::TooLarge);
        }
        args.push(std::mem::take(word));
        Ok(())
    };
    while let Some((at, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    end_word(&mut word, &mut args)?;
                    in_word = false;
                }
            }
            '\\' => {
                let (_, next) = chars.next().ok_or_else(invalid)?;
                word.push(next);
                in_word = true;
            }
            '\'' => {
                in_word = true;
                loop {
                    let (_, c) = chars.next().ok_or_else(invalid)?;
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                loop {
                    let (_, c) = chars.next().ok_or_else(invalid)?;
                    if c == '"' {
                        break;
                    }
                    if c == '\\' {
                        word.push(chars.next().ok_or_else(invalid)?.1);
                    } else {
                        word.push(c);
                    }
                }
            }
            ';' | '&' | '|' | '<' | '>' => {
                // A file-descriptor number before a redirection (`2>&1`) belongs to it.
                let fd = matches!(c, '<' | '>') && !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
                if in_word && !fd {
                    end_word(&mut word, &mut args)?;
                }
                return Ok(Split { args, dropped: Some(text[at..].to_string()) });
            }
            '(' if !word.ends_with('$') => return Err(invalid()),
            '`' => {
                // Backquotes are kept literally but must be balanced.
                in_word = true;
                word.push(c);
                loop {
                    let (_, c) = chars.next().ok_or_else(invalid)?;
                    word.push(c);
                    if c == '`' {
                        break;
                    }
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
        if word.len() > MAX_OBJECT_BYTES {
            return Err(SplitError::TooLarge);
        }
    }
    if in_word {
        end_word(&mut word, &mut args)?;
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
            assert!(matches!(split_command(bad), Err(SplitError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn arguments_larger_than_an_object_stop_the_split() {
        // Each one-letter word weighs two bytes: its letter and one for the argument.
        let fits = "a ".repeat(MAX_OBJECT_BYTES / 2);
        assert_eq!(split_command(&fits).map(|s| s.args.len()), Ok(MAX_OBJECT_BYTES / 2));
        assert_eq!(split_command(&format!("{fits}a")), Err(SplitError::TooLarge));
        assert_eq!(split_command(&"'' ".repeat(MAX_OBJECT_BYTES + 1)), Err(SplitError::TooLarge));
        // Spaces weigh nothing; one long word is refused before it ends.
        assert!(split_command(&format!("a{}b", " ".repeat(4 * MAX_OBJECT_BYTES))).is_ok());
        assert_eq!(split_command(&format!("'{}'", "x".repeat(2 * MAX_OBJECT_BYTES))), Err(SplitError::TooLarge));
    }
}
