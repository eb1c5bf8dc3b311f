//! RON's errors restated in the workload's terms, where RON's own words would mislead.
//!
//! RON reports what its parser met, not what the writer meant. Every struct of the format
//! (`Workload`, `Group`, `Machine`, `Faults`) and every kernel and arrival takes named fields,
//! so a bare value where a field name belongs (`Poisson(2000.0)`, `Blur(256, 256, 2)`,
//! `machine: (4)`) is always a field left unnamed; RON, seeing a number where it wanted an
//! identifier, answers "try the raw identifier `r#2000.0`", which leads nowhere. Here such an
//! error is answered with the fields the struct takes and the line as it should be written.
//!
//! The text is scanned again, cheaply, only when RON has already failed: a small tokenizer finds
//! the parenthesis the error is in, and what struct it opens. The field names come from the
//! format's own `Deserialize` implementations ([`fields_of`]), so they cannot go stale.

use ron::error::{Error, SpannedError};
use serde::de::DeserializeOwned;

use super::{Arrival, Faults, Group, Kernel, Machine, Workload};

/// The message for RON's `error` while parsing `text`: RON's own, unless it is one of those
/// this module knows how to say better.
pub(super) fn message(text: &str, error: &SpannedError) -> String {
    unnamed_field(text, error).unwrap_or_else(|| error.code.to_string())
}

/// The fields of the struct, kernel or arrival written `name(...)` (`"Workload"`, `"Group"`,
/// `"Machine"`, `"Faults"`, a kernel such as `"Blur"`, an arrival such as `"Poisson"`), in the
/// order they are declared; `None` for a name that is none of these, or takes no fields.
///
/// They are read from the loader itself: a probe `name(schedlab_probe: 0)` is parsed, and the
/// field the types refuse comes back with the list of those they accept.
pub fn fields_of(name: &str) -> Option<&'static [&'static str]> {
    const PROBE: &str = "(schedlab_probe: 0)";
    fn refused<T: DeserializeOwned>(text: &str) -> Option<&'static [&'static str]> {
        match ron::from_str::<T>(text) {
            Err(SpannedError {
                code: Error::NoSuchStructField { expected, .. },
                ..
            }) => Some(expected),
            _ => None,
        }
    }
    let named = format!("{name}{PROBE}");
    match name {
        "Workload" => refused::<Workload>(PROBE),
        "Group" => refused::<Group>(PROBE),
        "Machine" => refused::<Machine>(PROBE),
        "Faults" => refused::<Faults>(PROBE),
        "Task" => refused::<super::GraphTask>(PROBE),
        "Source" => refused::<super::GraphSource>(PROBE),
        _ => refused::<Kernel>(&named).or_else(|| refused::<Arrival>(&named)),
    }
}

/// Values longer than this are shown as `..` in a suggested line.
const LONGEST_VALUE: usize = 40;

/// A better message for a bare value (or a misspelt, dashed name) where a field name belongs.
fn unnamed_field(text: &str, error: &SpannedError) -> Option<String> {
    let found = match &error.code {
        // A run of characters that could be in a raw identifier: `2000.0`, `-5`, `max-retries`.
        Error::SuggestRawIdentifier(found) => Some(found.as_str()),
        // Anything else that is not an identifier: a string, a list, a parenthesis.
        Error::ExpectedIdentifier => None,
        _ => return None,
    };
    let at = offset(text, error.span.start.line, error.span.start.col)?;
    let tokens = tokenize(text);
    let paren = field_place(&tokens, at)?;
    let name = paren.struct_name?;
    let fields = fields_of(name)?;
    let all = fields
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(found) = found.filter(|f| f.starts_with(|c: char| c == '_' || c.is_alphabetic())) {
        // A name, but not one RON can read: `max-retries`.
        let meant = found.replace('-', "_");
        return Some(if fields.contains(&meant.as_str()) {
            format!(
                "`{found}` is not a field of {name}: field names are written with `_`, as `{meant}` (its fields: {all})"
            )
        } else {
            format!("`{found}` is not a field of {name} (its fields: {all})")
        });
    }
    let takes = if fields.len() == 1 {
        "takes a named field"
    } else {
        "takes named fields"
    };
    let mut message = format!("{name} {takes}, not a bare value");
    let shown_all = match suggestion(text, &tokens, &paren, fields) {
        Some((line, every)) => {
            message.push_str(&format!(": write `{line}`"));
            every
        }
        None => {
            message.push_str(": write each as `field: value`");
            false
        }
    };
    if !shown_all {
        message.push_str(&format!(" (its fields: {all})"));
    }
    Some(message)
}

/// The struct written as it should be: its values given by position moved to the fields not
/// named, in order, and every value longer than [`LONGEST_VALUE`] shown as `..`. Also whether
/// it shows every field. `None` if there are more values than fields.
fn suggestion(
    text: &str,
    tokens: &[Token],
    paren: &Paren,
    fields: &[&str],
) -> Option<(String, bool)> {
    let entries = entries(text, tokens, paren.open);
    let named: Vec<(&str, String)> = entries
        .iter()
        .filter_map(|(field, value)| field.map(|f| (f, value.clone())))
        .collect();
    let mut positional = entries
        .iter()
        .filter(|(field, _)| field.is_none())
        .map(|(_, value)| value.clone());
    let mut parts = Vec::new();
    for field in fields {
        let value = match named.iter().find(|(f, _)| f == field) {
            Some((_, value)) => value.clone(),
            None => match positional.next() {
                Some(value) => value,
                None => continue,
            },
        };
        let value = if value.chars().count() > LONGEST_VALUE {
            "..".to_string()
        } else {
            value
        };
        parts.push(format!("{field}: {value}"));
    }
    if positional.next().is_some() {
        return None;
    }
    let every = parts.len() == fields.len();
    let head = if paren.named { paren.struct_name? } else { "" };
    Some((format!("{head}({})", parts.join(", ")), every))
}

/// The entries between the parenthesis at token `open` and its match: each as its field name
/// (when written `name: value`) and its value's text, with runs of white space made one space.
fn entries<'t>(text: &str, tokens: &[Token<'t>], open: usize) -> Vec<(Option<&'t str>, String)> {
    let mut entries = Vec::new();
    let mut depth = 0usize;
    // The current entry's first and last token.
    let mut span: Option<(usize, usize)> = None;
    let push = |span: Option<(usize, usize)>, entries: &mut Vec<_>| {
        if let Some((first, last)) = span {
            let (field, from) = match (&tokens[first].kind, tokens.get(first + 1)) {
                (Kind::Ident(name), Some(t)) if t.kind == Kind::Colon && first + 1 < last => {
                    (Some(*name), first + 2)
                }
                _ => (None, first),
            };
            let value = text[tokens[from].start..tokens[last].end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            entries.push((field, value));
        }
    };
    for (i, token) in tokens.iter().enumerate().skip(open + 1) {
        match token.kind {
            Kind::Close if depth == 0 => break,
            Kind::Comma if depth == 0 => {
                push(span.take(), &mut entries);
                continue;
            }
            Kind::Open(_) => depth += 1,
            Kind::Close => depth -= 1,
            _ => {}
        }
        span = Some(span.map_or((i, i), |(first, _)| (first, i)));
    }
    push(span, &mut entries);
    entries
}

/// A parenthesis a field name could be written in.
struct Paren<'t> {
    /// Its token's index.
    open: usize,
    /// The struct it opens: its name as written before it, or, for one written without its name
    /// (`machine: (...)`), the struct that place holds.
    struct_name: Option<&'t str>,
    /// Whether the name is written before the parenthesis.
    named: bool,
}

/// The parenthesis whose field names `at` stands among (right after its `(` or a `,` at its
/// level), if it does.
fn field_place<'t>(tokens: &[Token<'t>], at: usize) -> Option<Paren<'t>> {
    /// An open bracket: its token, and the struct or list it opens.
    struct Frame<'t> {
        open: usize,
        paren: bool,
        /// The identifier just before it, if any: a struct's name.
        name: Option<&'t str>,
        /// The field it is the value of (`machine` in `machine: (`), if any.
        key: Option<&'t str>,
    }
    let mut stack: Vec<Frame<'t>> = Vec::new();
    let before = tokens.partition_point(|t| t.start < at);
    for (i, token) in tokens[..before].iter().enumerate() {
        match token.kind {
            Kind::Open(bracket) => {
                let ident = |j: usize| match tokens.get(j).map(|t| &t.kind) {
                    Some(Kind::Ident(name)) => Some(*name),
                    _ => None,
                };
                let colon = |j: usize| tokens.get(j).is_some_and(|t| t.kind == Kind::Colon);
                let name = i.checked_sub(1).and_then(ident);
                // `key: (` or `key: Name(`.
                let key_at = if name.is_some() {
                    i.checked_sub(3)
                } else {
                    i.checked_sub(2)
                };
                let key = key_at.filter(|&k| colon(k + 1)).and_then(ident);
                stack.push(Frame {
                    open: i,
                    paren: bracket == b'(',
                    name,
                    key,
                });
            }
            Kind::Close => {
                stack.pop();
            }
            _ => {}
        }
    }
    let last = before.checked_sub(1)?;
    let top = stack.last()?;
    let after_separator = last == top.open || tokens[last].kind == Kind::Comma;
    if !top.paren || !after_separator {
        return None;
    }
    let unnamed = match (stack.len(), top.key) {
        (1, _) => Some("Workload"),
        (_, Some("machine")) => Some("Machine"),
        (_, Some("faults")) => Some("Faults"),
        _ => {
            let parent = &stack[stack.len() - 2];
            (!parent.paren && parent.key == Some("groups")).then_some("Group")
        }
    };
    Some(Paren {
        open: top.open,
        struct_name: top.name.or(unnamed),
        named: top.name.is_some(),
    })
}

/// What a token is, as far as finding a field's place needs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind<'t> {
    Ident(&'t str),
    /// `(`, `[` or `{`.
    Open(u8),
    Close,
    Comma,
    Colon,
    /// A string, a number, anything else.
    Value,
}

#[derive(Debug, Clone, Copy)]
struct Token<'t> {
    kind: Kind<'t>,
    /// Byte offsets of its first character and just past its last.
    start: usize,
    end: usize,
}

/// The tokens of RON `text`, without white space and comments: enough to find brackets, field
/// names and values, and strings and comments never mistaken for them.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    // Everything that ends a run of other characters (a number like `-1.5e3`).
    let delimiter = |b: u8| b.is_ascii_whitespace() || b"()[]{},:\"'/".contains(&b);
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        let kind = match b {
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'/' if next == Some(b'/') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'/' if next == Some(b'*') => {
                // Block comments nest in RON.
                let mut depth = 0;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'"' | b'\'' => {
                i = quoted_end(bytes, i);
                Kind::Value
            }
            b'r' if matches!(next, Some(b'"' | b'#')) && raw_string_end(bytes, i).is_some() => {
                i = raw_string_end(bytes, i).unwrap_or(bytes.len());
                Kind::Value
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                Kind::Open(b)
            }
            b')' | b']' | b'}' => {
                i += 1;
                Kind::Close
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b':' => {
                i += 1;
                Kind::Colon
            }
            _ if b == b'_' || b.is_ascii_alphabetic() => {
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                Kind::Ident(&text[start..i])
            }
            _ => {
                i += 1;
                while i < bytes.len() && !delimiter(bytes[i]) {
                    i += 1;
                }
                Kind::Value
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    tokens
}

/// Just past the string or character literal that opens at `i`, its escapes skipped.
fn quoted_end(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b if b == quote => return j + 1,
            _ => j += 1,
        }
    }
    bytes.len()
}

/// Just past the raw string `r#"..."#` that opens at `i`, if one does (`r#name` is a raw
/// identifier instead).
fn raw_string_end(bytes: &[u8], i: usize) -> Option<usize> {
    let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
    let quote = i + 1 + hashes;
    if bytes.get(quote) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = quote + 1;
    Some(
        bytes[body..]
            .windows(close.len())
            .position(|w| w == close.as_slice())
            .map_or(bytes.len(), |p| body + p + close.len()),
    )
}

/// The byte offset of 1-based `line` and `col` (in characters) in `text`.
fn offset(text: &str, line: usize, col: usize) -> Option<usize> {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[line_start..];
    let within = rest
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    Some(line_start + within)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message `schedlab` gives for the one group `group` (without the file and place).
    fn group_error(group: &str) -> String {
        let text = format!("(name: \"x\", groups: [{group}])");
        super::super::parse(&text, "t.ron").unwrap_err().message
    }

    #[test]
    fn fields_come_from_the_loader() {
        assert_eq!(fields_of("Poisson"), Some(&["per_sec"][..]));
        assert_eq!(fields_of("Blur"), Some(&["width", "height", "radius"][..]));
        assert_eq!(
            fields_of("Group"),
            Some(&["name", "kernel", "count", "after", "arrival", "jitter"][..])
        );
        assert_eq!(fields_of("Machine"), Some(&["workers", "speeds"][..]));
        assert_eq!(fields_of("AtStart"), None, "a unit variant takes no fields");
        assert_eq!(fields_of("Nothing"), None);
    }

    #[test]
    fn a_bare_value_is_answered_with_the_fields_it_belongs_to() {
        let blur = "Blur takes named fields, not a bare value: write `Blur(width: 256, height: 256, radius: 2)`";
        let cases = [
            (
                r#"(name: "a", kernel: Spin(us: 1.0), count: 2, arrival: Poisson(2000.0))"#,
                "Poisson takes a named field, not a bare value: write `Poisson(per_sec: 2000.0)`",
            ),
            (r#"(name: "a", kernel: Blur(256, 256, 2), count: 2)"#, blur),
            // Bare values fill the fields not named, in order.
            (
                r#"(name: "a", kernel: Blur(width: 256, 256, 2), count: 2)"#,
                blur,
            ),
            (
                r#"(name: "a", kernel: Fib(24), count: 2)"#,
                "Fib takes named fields, not a bare value: write `Fib(n: 24)` (its fields: `n`, `cutoff`)",
            ),
            (
                r#"(name: "a", kernel: Spin(1.0, 2.0), count: 2)"#,
                "Spin takes a named field, not a bare value: write each as `field: value` (its fields: `us`)",
            ),
        ];
        for (group, expected) in cases {
            assert_eq!(group_error(group), expected, "{group}");
        }
    }

    #[test]
    fn structs_written_without_their_name_are_known_by_their_place() {
        let e = group_error(r#"("a", Sort(len: 3), 2)"#);
        assert_eq!(
            e,
            r#"Group takes named fields, not a bare value: write `(name: "a", kernel: Sort(len: 3), count: 2)` (its fields: `name`, `kernel`, `count`, `after`, `arrival`, `jitter`)"#
        );
        let e = super::super::parse(
            r#"(name: "x", machine: (4), groups: [(name: "a", kernel: Spin(us: 1.0), count: 1)])"#,
            "t.ron",
        )
        .unwrap_err();
        assert!(e.message.contains("write `(workers: 4)`"), "{e}");
        let e = super::super::parse(r#"("x", groups: [])"#, "t.ron").unwrap_err();
        assert!(
            e.message.starts_with(
                r#"Workload takes named fields, not a bare value: write `(name: "x", groups: [])`"#
            ),
            "{e}"
        );
    }

    #[test]
    fn strings_lists_and_long_values() {
        let e = group_error(r#"(name: "a", kernel: Sort("many"), count: 2)"#);
        assert!(e.ends_with(r#"write `Sort(len: "many")`"#), "{e}");
        let e =
            group_error(r#"(name: "a", kernel: Spin(us: 1.0), count: 2, arrival: Poisson([1]))"#);
        assert!(e.ends_with("write `Poisson(per_sec: [1])`"), "{e}");
        let long = "1".repeat(60);
        let e = group_error(&format!(
            r#"(name: "a", kernel: Spin(us: 1.0), count: 2, arrival: Every({long}))"#
        ));
        assert!(e.ends_with("write `Every(us: ..)`"), "{e}");
    }

    #[test]
    fn a_dashed_name_is_a_misspelt_field() {
        let e = super::super::parse(
            r#"(name: "x", faults: (max-retries: 2), groups: [(name: "a", kernel: Spin(us: 1.0), count: 1)])"#,
            "t.ron",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "`max-retries` is not a field of Faults: field names are written with `_`, as `max_retries` (its fields: `panic_rate`, `max_retries`)"
        );
    }

    #[test]
    fn strings_and_comments_do_not_confuse_the_scan() {
        let text = "(name: \"a(b, [c\", /* ( */ groups: [\n  // Spin(\n  (name: \"r#\\\"(\", kernel: Spin(2.0), count: 1)])";
        let e = super::super::parse(text, "t.ron").unwrap_err();
        assert_eq!(e.position, Some((3, 32)), "RON's place, at the bare value");
        assert_eq!(
            e.message,
            "Spin takes a named field, not a bare value: write `Spin(us: 2.0)`"
        );
    }

    #[test]
    fn other_errors_keep_rons_words() {
        // A value where a value belongs, but of the wrong kind.
        let e = group_error(r#"(name: "a", kernel: "Spin", count: 2)"#);
        assert_eq!(e, "Expected identifier");
        let e = group_error(r#"(name: "a" kernel: Spin(us: 1.0), count: 2)"#);
        assert_eq!(e, "Expected comma");
    }
}
