//! Shell words after quote removal: literal text and the parts only known
//! when the command runs (expansions, globs), and the quoting rules that
//! produce them.

/// A piece of a word: literal text, or something only known when the
/// command runs (an expansion, a glob, a placeholder), kept as its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seg {
    Lit(String),
    Wild(String),
}

/// One shell word after quote removal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Word {
    pub(super) segs: Vec<Seg>,
}

impl Word {
    pub(super) fn lit(text: &str) -> Self {
        let mut word = Self::default();
        word.push_lit(text);
        word
    }

    pub(super) fn wild(source: &str) -> Self {
        Self {
            segs: vec![Seg::Wild(source.to_owned())],
        }
    }

    pub(super) fn push_lit(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Seg::Lit(last)) = self.segs.last_mut() {
            last.push_str(text);
        } else {
            self.segs.push(Seg::Lit(text.to_owned()));
        }
    }

    pub(super) fn push_wild(&mut self, source: &str) {
        self.segs.push(Seg::Wild(source.to_owned()));
    }

    pub(super) fn is_plain(&self) -> bool {
        self.segs.iter().all(|s| matches!(s, Seg::Lit(_)))
    }

    /// Whether the word starts with something only known when the command
    /// runs (`$X`, `*`): it could become an option.
    pub(super) fn starts_unknown(&self) -> bool {
        matches!(self.segs.first(), Some(Seg::Wild(_)))
    }

    pub(super) fn text(&self) -> String {
        self.segs
            .iter()
            .map(|s| match s {
                Seg::Lit(t) | Seg::Wild(t) => t.as_str(),
            })
            .collect()
    }

    pub(super) fn shape(&self) -> String {
        self.segs
            .iter()
            .map(|s| match s {
                Seg::Lit(t) => t.as_str(),
                Seg::Wild(_) => "*",
            })
            .collect()
    }

    /// The word with every literal occurrence of `marker` made a
    /// placeholder (`{}` of `find -exec`, the `-I` string of `xargs`).
    pub(super) fn with_placeholder(&self, marker: &str) -> Self {
        let mut out = Self::default();
        for seg in &self.segs {
            match seg {
                Seg::Lit(t) if !marker.is_empty() && t.contains(marker) => {
                    let mut rest = t.as_str();
                    while let Some(at) = rest.find(marker) {
                        out.push_lit(&rest[..at]);
                        out.push_wild(marker);
                        rest = &rest[at + marker.len()..];
                    }
                    out.push_lit(rest);
                }
                other @ (Seg::Lit(_) | Seg::Wild(_)) => out.segs.push(other.clone()),
            }
        }
        out
    }
}

pub(super) fn texts(words: &[Word]) -> Vec<String> {
    words.iter().map(Word::text).collect()
}

pub(super) fn joined(words: &[Word]) -> String {
    texts(words).join(" ")
}

/// Unquoted text: backslash escapes removed; globs (`*`, `?`, `[…]`),
/// brace lists and a leading `~` are only known when the command runs.
pub(super) fn unquoted(text: &str, word: &mut Word) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut lit = String::new();
    let flush = |lit: &mut String, word: &mut Word| {
        word.push_lit(lit);
        lit.clear();
    };
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                if let Some(&next) = chars.get(i + 1)
                    && next != '\n'
                {
                    lit.push(next);
                }
                i += 2;
            }
            '*' | '?' => {
                flush(&mut lit, word);
                word.push_wild(&c.to_string());
                i += 1;
            }
            '[' | '{' => {
                let close = if c == '[' { ']' } else { '}' };
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == close)
                    .map(|p| i + 1 + p);
                let inner: String = end
                    .map(|e| chars[i + 1..e].iter().collect())
                    .unwrap_or_default();
                let expands =
                    end.is_some() && (c == '[' || inner.contains(',') || inner.contains(".."));
                match end {
                    Some(e) if expands => {
                        flush(&mut lit, word);
                        word.push_wild(&chars[i..=e].iter().collect::<String>());
                        i = e + 1;
                    }
                    _ => {
                        lit.push(c);
                        i += 1;
                    }
                }
            }
            '~' if i == 0 && word.segs.is_empty() => {
                let end = chars.iter().position(|&d| d == '/').unwrap_or(chars.len());
                word.push_wild(&chars[..end].iter().collect::<String>());
                i = end;
            }
            _ => {
                lit.push(c);
                i += 1;
            }
        }
    }
    flush(&mut lit, word);
}

/// Text inside double quotes: `\` only escapes `$`, `` ` ``, `"`, `\` and
/// a newline.
pub(super) fn unescape_double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('\n')) => {
                chars.next();
            }
            ('\\', Some(&next @ ('$' | '`' | '"' | '\\'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// The value of `$'…'` when it only uses simple escapes; `None` for the
/// rest (numeric and control escapes), which stay unknown.
pub(super) fn ansi_c(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'e' | 'E' => '\u{1b}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            c @ ('\\' | '\'' | '"' | '?') => c,
            _ => return None,
        });
    }
    Some(out)
}
