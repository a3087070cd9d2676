//! How text from outside (names, messages, descriptions, keys) is shown on a terminal:
//! control characters as visible escapes, and its width in terminal columns.
//!
//! Escape scheme: `\0` NUL, `\t` tab, `\n` line feed, `\r` carriage return, `\e` ESC;
//! every other character that could act on a terminal as `\u{X}`, X its code point in
//! lower-case hex without leading zeros (`\u{7}` BEL, `\u{9b}` CSI, `\u{202e}`).
//! Those are the C0 controls, DEL, the C1 controls (U+0080..U+009F), the bidirectional
//! embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069), which reorder a
//! line, and the line and paragraph separators (U+2028, U+2029).
//!
//! A backslash is not doubled: the escaped form is for people to read, and ordinary
//! text with backslashes (paths, smileys) stays as typed. So a stored two-character
//! `\e` and a stored ESC both show as `\e`; `--json` output has the exact text. It also
//! makes escaping idempotent: escaping already escaped text changes nothing.

use std::borrow::Cow;
use std::fmt::Write;

use unicode_width::UnicodeWidthStr;

/// Whether `c` can act on a terminal (move the cursor, change the title, reorder the
/// line, ...) instead of being drawn: what [`escape_control`] escapes.
pub fn is_terminal_control(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The explicit bidirectional embeddings, overrides and isolates, which reorder the
/// text that follows them on a line.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` draws nothing visible: whitespace, zero-width and joiner characters,
/// bidirectional marks and controls, and the blank fillers used to fake an empty name.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'                      // soft hyphen
            | '\u{034F}'                    // combining grapheme joiner
            | '\u{061C}'                    // Arabic letter mark
            | '\u{115F}' | '\u{1160}'       // Hangul choseong / jungseong fillers
            | '\u{17B4}' | '\u{17B5}'       // Khmer inherent vowels
            | '\u{180B}'..='\u{180F}'       // Mongolian variation selectors, vowel separator
            | '\u{200B}'..='\u{200F}'       // zero-width space, (non-)joiner, LRM, RLM
            | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
            | '\u{206A}'..='\u{206F}'       // deprecated format characters
            | '\u{2800}'                    // braille pattern blank
            | '\u{3164}'                    // Hangul filler
            | '\u{FE00}'..='\u{FE0F}'       // variation selectors
            | '\u{FEFF}'                    // zero-width no-break space (BOM)
            | '\u{FFA0}'                    // halfwidth Hangul filler
            | '\u{E0000}'..='\u{E007F}'     // tags
            | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
        )
}

/// `s` for a one-line place (a table cell, an error line, a title): every character
/// for which [`is_terminal_control`] holds, newlines and tabs included, as a visible escape (see
/// the module documentation). Borrows when there is nothing to escape.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// `s` for a place that shows several lines (a message body): like
/// [`escape_control`], but line feeds and tabs stay as they are, and a carriage return
/// right before a line feed (a CRLF line end) is dropped. A lone carriage return, which
/// would move the cursor back over the line, is escaped.
pub fn escape_control_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, lines: bool) -> Cow<'_, str> {
    let keep = |c: char| lines && matches!(c, '\n' | '\t');
    let Some(first) = s.find(|c: char| is_terminal_control(c) && !keep(c)) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    let mut chars = s[first..].chars().peekable();
    while let Some(c) = chars.next() {
        if !is_terminal_control(c) || keep(c) {
            out.push(c);
            continue;
        }
        match c {
            '\r' if lines && chars.peek() == Some(&'\n') => {}
            '\0' => out.push_str("\\0"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            // Writing to a String cannot fail.
            _ => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Columns `s` takes on a terminal: 2 for East Asian wide characters and most emoji,
/// 0 for combining and zero-width characters. Measure escaped text: what a control
/// character does to the cursor has no width.
pub fn display_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_text_is_borrowed() {
        for s in [
            "",
            "Anna Petrova",
            "李小龙",
            "👩‍💻 ok",
            "C:\\path",
            "\u{200b}x",
        ] {
            assert!(matches!(escape_control(s), Cow::Borrowed(_)), "{s:?}");
            assert!(matches!(escape_control_lines(s), Cow::Borrowed(_)), "{s:?}");
        }
        assert!(matches!(escape_control_lines("a\nb\tc"), Cow::Borrowed(_)));
    }

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(escape_control("\u{1b}]2;pwned\u{7}M"), "\\e]2;pwned\\u{7}M");
        assert_eq!(escape_control("\u{1b}[2J"), "\\e[2J");
        assert_eq!(escape_control("a\0b"), "a\\0b");
        assert_eq!(escape_control("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(escape_control("x\u{7f}y"), "x\\u{7f}y");
        assert_eq!(escape_control("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape_control("\u{85}"), "\\u{85}");
        assert_eq!(escape_control("ab\u{202e}cd"), "ab\\u{202e}cd");
        assert_eq!(escape_control("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(escape_control("a\u{2028}b"), "a\\u{2028}b");
        // Not controls: zero-width joiners inside emoji, marks, non-Latin scripts.
        assert_eq!(escape_control("שלום\u{200f}"), "שלום\u{200f}");
    }

    #[test]
    fn backslashes_are_kept_and_escaping_is_idempotent() {
        assert_eq!(escape_control("a\\eb"), "a\\eb");
        let once = escape_control("\u{1b}x\\y\n").into_owned();
        assert_eq!(escape_control(&once), once);
    }

    #[test]
    fn lines_keep_newlines_and_tabs_only() {
        assert_eq!(escape_control_lines("a\nb\tc"), "a\nb\tc");
        assert_eq!(escape_control_lines("a\r\nb"), "a\nb");
        assert_eq!(escape_control_lines("a\rb"), "a\\rb");
        assert_eq!(escape_control_lines("a\r\r\nb"), "a\\r\nb");
        assert_eq!(escape_control_lines("\u{1b}[2J\nx"), "\\e[2J\nx");
        assert_eq!(escape_control_lines("a\u{2028}b"), "a\\u{2028}b");
    }

    #[test]
    fn widths() {
        assert_eq!(display_width("Ann"), 3);
        assert_eq!(display_width("李小龙"), 6);
        assert_eq!(display_width("😀"), 2);
        assert_eq!(display_width("e\u{301}"), 1);
        assert_eq!(display_width("a\u{200b}b"), 2);
        assert_eq!(display_width(&escape_control("\u{1b}")), 2);
    }

    #[test]
    fn invisible_characters() {
        for c in [
            ' ', '\u{a0}', '\u{200b}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{202e}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['a', '李', '😀', '-', '.'] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }

    /// Strings rich in the characters that matter here: controls, bidi controls,
    /// separators and backslashes among arbitrary characters.
    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                any::<char>(),
                proptest::char::range('\0', '\u{9f}'),
                proptest::char::range('\u{2028}', '\u{202e}'),
                proptest::char::range('\u{2066}', '\u{2069}'),
                Just('\\'),
            ],
            0..64,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_control_character(s in text()) {
            // Spelled out here, not through is_terminal_control, so the test checks it.
            let acts = |c: char| {
                c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)
                    || c == '\u{2028}'
                    || c == '\u{2029}'
            };
            let one = escape_control(&s);
            prop_assert!(!one.chars().any(acts), "{:?}", one);
            let many = escape_control_lines(&s);
            prop_assert!(
                !many.chars().any(|c| acts(c) && c != '\n' && c != '\t'),
                "{:?}", many
            );
            // Escaping twice changes nothing more.
            prop_assert_eq!(escape_control(&one), one.clone());
        }

        #[test]
        fn text_without_controls_is_unchanged(s in "[^\\p{Cc}\u{2028}\u{2029}\u{202a}-\u{202e}\u{2066}-\u{2069}]*") {
            prop_assert_eq!(escape_control(&s), s.as_str());
        }
    }
}
