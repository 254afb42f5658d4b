//! Small text helpers that never cut a character: outside text is never
//! sliced by byte position (a real post title once crashed import that way).

/// `s` without `prefix`, compared ignoring ASCII case; `None` when `s` does
/// not start with it (including when the prefix's length falls inside a
/// character of `s`).
pub fn strip_prefix_ignore_ascii_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// `s` on one line, for a subject, a name or a label: runs of whitespace
/// (line breaks included) made one space, the ends trimmed, and control
/// characters dropped.
pub fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// `&`, `<`, `>`, `"` and `'` as HTML entities.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `s`, with `…` when it was longer.
pub fn clip_chars(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((end, _)) => {
            let mut out = s.get(..end).unwrap_or(s).to_string();
            out.push('…');
            std::borrow::Cow::Owned(out)
        }
    }
}

/// `s` with control characters (C0, DEL, C1 and the bidirectional
/// overrides) shown as `\u{…}` escapes, for a terminal: text from posts
/// never moves the cursor, clears the screen or sets a window title.
/// Newlines and tabs are kept when `keep_lines`.
pub fn escape_controls(s: &str, keep_lines: bool) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && !(keep_lines && (c == '\n' || c == '\t')))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The text of a file that should hold JSON: UTF-8 (a byte order mark is
/// dropped), or UTF-16 little- or big-endian as Windows PowerShell writes
/// (`Out-File`, `>` on 5.1), recognised by its byte order mark or, without
/// one, by the zero byte of an ASCII first character. Invalid text is an
/// error naming where, never a replacement.
pub fn decode_file_text(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, String> {
    let utf16 = |rest: &[u8], little: bool| -> Result<std::borrow::Cow<'_, str>, String> {
        if !rest.len().is_multiple_of(2) {
            return Err("the file looks like UTF-16 but has an odd number of bytes".into());
        }
        let units = rest.chunks_exact(2).map(|p| match p {
            [a, b] if little => u16::from_le_bytes([*a, *b]),
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        });
        char::decode_utf16(units)
            .enumerate()
            .map(|(i, c)| {
                c.map_err(|_| format!("the file is not valid UTF-16 (at byte {})", 2 * i))
            })
            .collect::<Result<String, String>>()
            .map(std::borrow::Cow::Owned)
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => utf8(rest),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        // no mark: `[` or `{` (or white space) then a zero byte is UTF-16 LE,
        // a zero byte then an ASCII character is UTF-16 BE
        [a, 0, ..] if *a != 0 && a.is_ascii() => utf16(bytes, true),
        [0, b, ..] if *b != 0 && b.is_ascii() => utf16(bytes, false),
        _ => utf8(bytes),
    }
}

fn utf8(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, String> {
    std::str::from_utf8(bytes)
        .map(std::borrow::Cow::Borrowed)
        .map_err(|e| {
            format!(
                "the file is not UTF-8 or UTF-16 text (invalid byte at {}); save it as UTF-8",
                e.valid_up_to()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_never_cuts() {
        assert_eq!(
            strip_prefix_ignore_ascii_case("(Updated) x", "(updated)"),
            Some(" x")
        );
        assert_eq!(
            strip_prefix_ignore_ascii_case("TPM 2.0 – a", "(updated)"),
            None
        );
        assert_eq!(strip_prefix_ignore_ascii_case("ab", "abc"), None);
    }

    #[test]
    fn clips_by_characters() {
        assert_eq!(clip_chars("日本語です", 3), "日本語…");
        assert_eq!(clip_chars("abc", 3), "abc");
    }

    #[test]
    fn escapes_controls() {
        assert_eq!(escape_controls("a\u{1b}[2Jb", false), "a\\u{1b}[2Jb");
        assert_eq!(escape_controls("a\nb", true), "a\nb");
        assert_eq!(escape_controls("a\nb", false), "a\\u{a}b");
        assert_eq!(escape_controls("x\u{202e}y", true), "x\\u{202e}y");
        assert_eq!(escape_controls("plain – text", true), "plain – text");
    }

    #[test]
    fn decodes_what_powershell_writes() {
        let json = "[{\"id\":\"MC1\",\"title\":\"Teams – 日本語\"}]";
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend_from_slice(json.as_bytes());
        assert_eq!(decode_file_text(&bom8).unwrap(), json);
        let le: Vec<u8> = json.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = json.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (mark, body) in [
            (&[0xFF, 0xFE][..], &le),
            (&[0xFE, 0xFF][..], &be),
            (&[][..], &le),
            (&[][..], &be),
        ] {
            let mut f = mark.to_vec();
            f.extend_from_slice(body);
            assert_eq!(decode_file_text(&f).unwrap(), json);
        }
        assert_eq!(decode_file_text(json.as_bytes()).unwrap(), json);
        assert!(
            decode_file_text(&[0xFF, 0xFE, 0x41])
                .unwrap_err()
                .contains("odd")
        );
        assert!(
            decode_file_text(&[0x5B, 0xC3, 0x28])
                .unwrap_err()
                .contains("UTF-8")
        );
        assert!(decode_file_text(&[0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00]).is_err());
    }
}
