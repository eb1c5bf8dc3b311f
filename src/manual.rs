//! The reference pages schedlab carries inside the binary, and their rendering as roff for the
//! manual page (`schedlab man`).
//!
//! `docs/workload-format.md` is the workload format's reference. It is embedded here with
//! `include_str!`, so the page a user reads in the repository and the one `schedlab man` prints
//! cannot drift apart. The manual page is roff, so [`roff_section`] turns the small part of
//! Markdown that the page uses (headings, paragraphs, lists, tables, fenced code, inline code)
//! into roff; a test renders the whole page and checks that nothing is left over as Markdown.

/// The workload format reference, as written in `docs/workload-format.md`.
pub(crate) const WORKLOAD_FORMAT: &str = include_str!("../docs/workload-format.md");

/// `markdown` as one roff section `.SH TITLE`: its `#` heading is dropped (the section has its
/// own title), `##` and `###` become subsections, a table becomes one tagged paragraph per row
/// (the first cell as the tag, the other cells, labelled by their column's header except the
/// last, as the text), and a fenced block is kept as written, in no-fill mode.
pub(crate) fn roff_section(title: &str, markdown: &str) -> String {
    let mut out = format!(".SH {}\n", escape(title));
    let mut lines = markdown.lines().peekable();
    // The lines of the paragraph or list item being gathered, joined when it ends.
    let mut text: Vec<&str> = Vec::new();
    let flush = |text: &mut Vec<&str>, out: &mut String| {
        if !text.is_empty() {
            out.push_str(&inline(&text.join(" ")));
            out.push('\n');
            text.clear();
        }
    };
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            flush(&mut text, &mut out);
            out.push_str(".PP\n.RS 4\n.nf\n");
            for code in lines.by_ref() {
                if code.trim_start().starts_with("```") {
                    break;
                }
                out.push_str(&escape_line(code));
                out.push('\n');
            }
            out.push_str(".fi\n.RE\n");
        } else if trimmed.starts_with('|') {
            flush(&mut text, &mut out);
            let mut rows = vec![cells(trimmed)];
            while let Some(next) = lines.next_if(|l| l.trim().starts_with('|')) {
                rows.push(cells(next.trim()));
            }
            table(&rows, &mut out);
        } else if let Some(heading) = trimmed.strip_prefix('#') {
            flush(&mut text, &mut out);
            let level = 1 + heading.chars().take_while(|&c| c == '#').count();
            if level > 1 {
                out.push_str(&format!(
                    ".SS {}\n",
                    inline(heading.trim_start_matches('#').trim())
                ));
            }
        } else if let Some(item) = trimmed.strip_prefix("- ") {
            flush(&mut text, &mut out);
            out.push_str(".IP \\(bu 2\n");
            text.push(item);
        } else if trimmed.is_empty() {
            flush(&mut text, &mut out);
        } else {
            if text.is_empty() {
                out.push_str(".PP\n");
            }
            text.push(trimmed);
        }
    }
    flush(&mut text, &mut out);
    out
}

/// The cells of a table row `| a | b |`, trimmed.
fn cells(row: &str) -> Vec<&str> {
    let inner = row.strip_prefix('|').unwrap_or(row);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(str::trim).collect()
}

/// A table as tagged paragraphs: for each row after the header and the `|---|` line, the first
/// cell as the tag; then `Header: cell.` for each middle column and the last cell as a sentence.
fn table(rows: &[Vec<&str>], out: &mut String) {
    let Some((header, body)) = rows.split_first() else {
        return;
    };
    let is_rule = |row: &Vec<&str>| {
        row.iter()
            .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
    };
    for row in body.iter().filter(|row| !is_rule(row)) {
        let Some((tag, rest)) = row.split_first() else {
            continue;
        };
        out.push_str(".TP\n");
        out.push_str(&inline(tag));
        out.push('\n');
        let last = rest.len().saturating_sub(1);
        let parts: Vec<String> = rest
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let label = header.get(i + 1).copied().unwrap_or_default();
                if i == last || label.is_empty() {
                    sentence(cell)
                } else {
                    format!("{}: {cell}.", sentence_case(label))
                }
            })
            .collect();
        out.push_str(&inline(&parts.join(" ")));
        out.push('\n');
    }
}

/// A table cell as a sentence: a capital first letter (unless it starts with code, which is
/// written as it must be typed) and a full stop.
fn sentence(cell: &str) -> String {
    let mut text = sentence_case(cell);
    if !text.is_empty() && !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

/// `text` with its first letter in upper case.
fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Text with its `inline code` in bold, escaped for roff; a line that would start with a roff
/// control character is protected.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        // Odd parts are inside backticks.
        if i % 2 == 1 {
            out.push_str("\\fB");
            out.push_str(&escape(part));
            out.push_str("\\fR");
        } else {
            out.push_str(&escape(part));
        }
    }
    protect(out)
}

/// One line of a fenced block: escaped, and protected from being read as a request.
fn escape_line(line: &str) -> String {
    protect(escape(line))
}

/// Characters roff would read as something else: the escape character, and `-`, which would
/// become a typographic hyphen and break copying `--flags` and negative numbers.
fn escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

/// A line starting with `.` or `'` would be a roff request: a zero-width character first.
fn protect(line: String) -> String {
    if line.starts_with(['.', '\'']) {
        format!("\\&{line}")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_roff() {
        let page = roff_section(
            "WORKLOAD FORMAT",
            "# Title\n\nSome `code` and\nmore text.\n\n## Part\n\n- one\n  two\n- three\n\n\
             | field | type | meaning |\n|---|---|---|\n| `a` | f64 | what a is |\n\n\
             ```ron\n.starts with a dot\n  x: -1, // a \\ back\n```\n",
        );
        assert_eq!(
            page,
            ".SH WORKLOAD FORMAT\n\
             .PP\nSome \\fBcode\\fR and more text.\n\
             .SS Part\n\
             .IP \\(bu 2\none two\n.IP \\(bu 2\nthree\n\
             .TP\n\\fBa\\fR\nType: f64. What a is.\n\
             .PP\n.RS 4\n.nf\n\\&.starts with a dot\n  x: \\-1, // a \\e back\n.fi\n.RE\n"
        );
    }

    #[test]
    fn the_workload_format_leaves_no_markdown_behind() {
        let page = roff_section("WORKLOAD FORMAT", WORKLOAD_FORMAT);
        for line in page.lines() {
            assert!(
                !line.starts_with('#') && !line.starts_with('|') && !line.contains("```"),
                "Markdown left in the roff: {line}"
            );
            assert!(
                !line.contains('`'),
                "an unpaired backtick in the page's source: {line}"
            );
        }
        assert!(page.contains(".SS Kernels\n"), "{page}");
    }
}
