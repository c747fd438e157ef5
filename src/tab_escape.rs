//! Dovecot's tab escaping (`str_tabescape()` / `str_tabunescape()`): text
//! that must not contain tabs or line ends, as in Dovecot's `file:` dict and
//! the storage's listing cache. `\001` introduces `0`, `1`, `t`, `r` or `n`.

/// Escapes NUL, `\001`, tab, CR and LF.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\0' => out.push_str("\u{1}0"),
            '\u{1}' => out.push_str("\u{1}1"),
            '\t' => out.push_str("\u{1}t"),
            '\r' => out.push_str("\u{1}r"),
            '\n' => out.push_str("\u{1}n"),
            c => out.push(c),
        }
    }
    out
}

/// Reverses `escape`; an unknown escape stands for the character after it,
/// as in Dovecot.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('\0'),
            Some('1') => out.push('\u{1}'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_has_no_field_or_line_separators_and_comes_back() {
        let text = "a\tb\nc\rd\u{1}e\0f\\g";
        let escaped = escape(text);
        assert!(!escaped.contains(['\t', '\n', '\r', '\0']));
        assert_eq!(unescape(&escaped), text);
        assert_eq!(unescape("x\u{1}qy"), "xqy");
    }
}
