//! Text from files, made safe to print on a terminal.
//!
//! Workload names, descriptions and messages that quote a file's contents reach the user's
//! terminal, and a terminal obeys the control characters in what it prints: an `ESC [2J` in a
//! group name would clear the screen, an OSC sequence set the window title. Names are refused
//! when loading if they hold any (see `workload`); every other text that came from a file is
//! passed through [`printable`] before it is printed.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is a control character a terminal may act on: C0 (but tab and newline, which
/// multi-line text keeps where [`printable`] allows them), DEL and C1 (U+0080 to U+009F:
/// U+009B alone starts a control sequence on many terminals).
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// The first control character of `text` and its position (in characters, from 0).
pub fn first_control(text: &str) -> Option<(usize, char)> {
    text.chars().enumerate().find(|&(_, c)| is_control(c))
}

/// `text` with every control character written as a Rust-style escape (`\u{1b}`), so that it
/// prints as itself and does nothing to the terminal. Newlines and tabs are escaped too: use
/// [`printable_lines`] for text that may span lines.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Like [`printable`], but keeps newlines and tabs.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let kept = |c: char| keep_lines && (c == '\n' || c == '\t');
    if !text.chars().any(|c| is_control(c) && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) && !kept(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_written_out_and_the_rest_kept() {
        assert!(matches!(printable("plain name é ✓"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(
            printable("\u{1b}]0;pwned\u{7}title"),
            "\\u{1b}]0;pwned\\u{7}title"
        );
        // C1: a lone CSI, and DEL.
        assert_eq!(printable("x\u{9b}2Jy\u{7f}"), "x\\u{9b}2Jy\\u{7f}");
        assert_eq!(printable("two\nlines"), "two\\u{a}lines");
        assert_eq!(printable_lines("two\nlines\t!"), "two\nlines\t!");
        assert_eq!(printable_lines("bell\u{7}"), "bell\\u{7}");
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            assert!(
                !printable(&c.to_string()).contains(c),
                "U+{:04X} must not reach the terminal",
                u32::from(c)
            );
        }
    }

    #[test]
    fn the_first_control_character_is_found_with_its_place() {
        assert_eq!(first_control("fine"), None);
        assert_eq!(first_control("ab\u{1b}c"), Some((2, '\u{1b}')));
        assert_eq!(first_control("é\u{9b}"), Some((1, '\u{9b}')));
    }
}
