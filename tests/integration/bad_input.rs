//! Every kind of broken input, fed to the real binary.
//!
//! `tests/invalid/` holds one invalid workload per file. Each file opens with comment lines that
//! say what its error must look like:
//!
//! - `// expect: TEXT`: the message contains TEXT (any number of these);
//! - `// expect-at: LINE`: the message points at `FILE:LINE:COLUMN:` (syntax and type errors).
//!
//! Every file is run both as `schedlab check FILE` and as `schedlab --workload FILE --headless`,
//! since the two reach the loader by different paths and a run must refuse what `check` refuses.
//! Both must exit with status 2, name the file, say what is wrong, and never panic. A case is
//! added by dropping a file into the folder; the cases that cannot be files (bytes that are not
//! UTF-8, paths that do not exist, bad flags) are generated here.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::cli::{TempPath, schedlab, stderr_of};

/// What one invalid file must produce, read from its leading comments.
#[derive(Debug, Default)]
struct Expectation {
    /// Texts the message must contain.
    texts: Vec<String>,
    /// The line the message must point at, for syntax and type errors.
    line: Option<usize>,
}

fn expectation_of(path: &Path, text: &str) -> Expectation {
    let mut expect = Expectation::default();
    // A file may start with a UTF-8 byte-order mark, as the loader accepts.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in text
        .lines()
        .take_while(|l| l.trim_start().starts_with("//"))
    {
        let comment = line.trim_start().trim_start_matches('/').trim();
        if let Some(t) = comment.strip_prefix("expect:") {
            expect.texts.push(t.trim().to_string());
        } else if let Some(n) = comment.strip_prefix("expect-at:") {
            let n = n
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{}: `expect-at:` takes a line number", path.display()));
            expect.line = Some(n);
        }
    }
    assert!(
        !expect.texts.is_empty() || expect.line.is_some(),
        "{} must open with `// expect: TEXT` lines saying what its error must contain",
        path.display()
    );
    expect
}

/// Longest a refusal may take: loading and checking a workload is instant.
const LOAD_TIMEOUT: Duration = Duration::from_secs(15);

fn invalid_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid")
}

/// Whether `message` holds `NAME:LINE:COLUMN:`, with a column made of digits.
fn points_at(message: &str, name: &str, line: usize) -> bool {
    let prefix = format!("{name}:{line}:");
    message.match_indices(&prefix).any(|(at, _)| {
        let rest = &message[at + prefix.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with(':')
    })
}

/// What is wrong with how a run refused bad input: the status, a panic, no message at all.
fn refusal_problems(output: &Output, stderr: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if output.status.code() != Some(2) {
        problems.push(format!(
            "exit status {:?} instead of 2",
            output.status.code()
        ));
    }
    for sign in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        if stderr.contains(sign) {
            problems.push(format!("a panic or abort (`{sign}`) instead of a message"));
        }
    }
    if stderr.trim().is_empty() {
        problems.push("no message at all".to_string());
    }
    // Whatever the file held, nothing printed may drive the terminal (an escape sequence in
    // a name quoted by the message would clear the screen or set the window title).
    if let Some(c) = stderr
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        problems.push(format!(
            "a raw control character U+{:04X} in the message",
            u32::from(c)
        ));
    }
    problems
}

/// Asserts that a run refused bad input as it should; returns its message for further checks.
fn assert_refused(output: &Output, what: &str) -> String {
    let stderr = stderr_of(output);
    let problems = refusal_problems(output, &stderr);
    assert!(
        problems.is_empty(),
        "{what}: {}; stderr:\n{stderr}",
        problems.join("; ")
    );
    stderr
}

/// Checks one invalid file under one command line; returns what went wrong, if anything.
fn check_case(path: &Path, expect: &Expectation, args: &[&str]) -> Option<String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("test file names are UTF-8");
    // Loading is instant; a run that goes on means the file was accepted and is running.
    let output = schedlab()
        .args(args)
        .arg(path)
        .timeout(LOAD_TIMEOUT)
        .output()
        .expect("the binary runs");
    let what = format!("`schedlab {} {name}`", args.join(" "));
    let stderr = stderr_of(&output);
    // Problems are collected rather than asserted, so one run shows every broken case.
    let mut problems = refusal_problems(&output, &stderr);
    if !stderr.contains(name) {
        problems.push("the message does not name the file".to_string());
    }
    for text in &expect.texts {
        if !stderr.contains(text.as_str()) {
            problems.push(format!("the message does not contain `{text}`"));
        }
    }
    if let Some(line) = expect.line
        && !points_at(&stderr, name, line)
    {
        problems.push(format!(
            "the message does not point at `{name}:{line}:COLUMN:`"
        ));
    }
    if problems.is_empty() {
        None
    } else {
        let shown: String = stderr.trim().chars().take(600).collect();
        Some(format!(
            "{what}:\n  - {}\n  stderr: {shown}",
            problems.join("\n  - ")
        ))
    }
}

#[test]
fn every_invalid_file_is_refused_with_its_message() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(invalid_dir())
        .expect("tests/invalid/ exists")
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 30,
        "tests/invalid/ holds every case, found only {}",
        paths.len()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("test files are UTF-8");
        let expect = expectation_of(path, &text);
        for args in [&["check"][..], &["--headless", "--workload"][..]] {
            failures.extend(check_case(path, &expect, args));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs went wrong:\n\n{}",
        failures.len(),
        paths.len() * 2,
        failures.join("\n\n")
    );
}

#[test]
fn a_file_that_is_not_utf8_is_refused_with_its_position() {
    // The bad byte is the tenth character of the first line.
    let file = TempPath::new("not-utf8.ron");
    std::fs::write(&file.0, b"(name: \"x\xff\", groups: [])\n").expect("write a temporary file");
    let name = file
        .0
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a UTF-8 name")
        .to_string();
    for args in [&["check"][..], &["--headless", "--workload"][..]] {
        let output = schedlab()
            .args(args)
            .arg(&file.0)
            .output()
            .expect("the binary runs");
        let stderr = assert_refused(&output, "a file that is not UTF-8");
        assert!(
            stderr.contains("UTF-8"),
            "the message says what is wrong: {stderr}"
        );
        assert!(
            points_at(&stderr, &name, 1),
            "the message points at the line: {stderr}"
        );
        assert!(
            stderr.contains(&format!("{name}:1:10:")),
            "the message points at the bad byte: {stderr}"
        );
    }
}

#[test]
fn a_missing_file_is_refused() {
    let path = "/nonexistent/dir/w.ron";
    for args in [&["check"][..], &["--headless", "--workload"][..]] {
        let output = schedlab()
            .args(args)
            .arg(path)
            .output()
            .expect("the binary runs");
        let stderr = assert_refused(&output, "a missing file");
        assert!(
            stderr.contains(path),
            "the message names the path: {stderr}"
        );
        assert!(
            stderr.contains("no such file"),
            "the message says the file is missing: {stderr}"
        );
    }
}

#[test]
fn a_missing_bare_name_lists_the_built_in_workloads() {
    let output = schedlab()
        .args(["check", "no-such-workload-anywhere"])
        .output()
        .expect("the binary runs");
    let stderr = assert_refused(&output, "an unknown workload name");
    assert!(
        stderr.contains("no-such-workload-anywhere"),
        "the message names what was asked for: {stderr}"
    );
    assert!(
        stderr.contains("mixed"),
        "the message lists the built-in workloads: {stderr}"
    );
}

#[test]
fn a_directory_is_refused() {
    let dir = TempPath::new("a-directory.ron");
    std::fs::create_dir(&dir.0).expect("create a temporary directory");
    for args in [&["check"][..], &["--headless", "--workload"][..]] {
        let output = schedlab()
            .args(args)
            .arg(&dir.0)
            .output()
            .expect("the binary runs");
        let stderr = assert_refused(&output, "a directory");
        assert!(
            stderr.contains(&*dir.0.to_string_lossy()),
            "the message names the path: {stderr}"
        );
        assert!(
            stderr.contains("not a file"),
            "the message says it is not a file: {stderr}"
        );
    }
}

#[test]
fn an_unknown_policy_is_refused_with_the_valid_ones() {
    let output = schedlab()
        .args(["--policy", "lifo", "--workload", "imbalance", "--headless"])
        .output()
        .expect("runs");
    let stderr = assert_refused(&output, "an unknown policy");
    assert!(
        stderr.contains("lifo"),
        "the message names the unknown policy: {stderr}"
    );
    for valid in ["fifo", "rr", "steal", "hetero"] {
        assert!(
            stderr.contains(valid),
            "the message lists `{valid}`: {stderr}"
        );
    }
    let output = schedlab()
        .args([
            "compare",
            "--workload",
            "imbalance",
            "--policies",
            "fifo,lifo",
        ])
        .output()
        .expect("runs");
    let stderr = assert_refused(&output, "an unknown policy in compare");
    assert!(
        stderr.contains("lifo") && stderr.contains("steal"),
        "{stderr}"
    );
}

#[test]
fn bad_speeds_and_workers_flags_are_refused() {
    let cases: &[(&[&str], &str)] = &[
        (&["--speeds", "1,2"], "outside (0, 1]"),
        (&["--speeds", "1,0"], "outside (0, 1]"),
        (&["--speeds", "1,fast"], "not a number"),
        (&["--workers", "0"], "workers"),
        (&["--workers", "2", "--speeds", "1,1,1"], "speeds"),
    ];
    for (flags, expected) in cases {
        for command in [
            &["check", "imbalance"][..],
            &["--headless", "--workload", "imbalance"][..],
        ] {
            let output = schedlab()
                .args(command.iter().chain(flags.iter()))
                .output()
                .expect("runs");
            let what = format!("{} {}", command.join(" "), flags.join(" "));
            let stderr = assert_refused(&output, &what);
            assert!(
                stderr.contains(expected),
                "{what}: the message says `{expected}`: {stderr}"
            );
        }
    }
}

#[test]
fn workers_that_do_not_match_the_files_speeds_are_refused() {
    // big-little gives four speeds; three workers cannot use them without new speeds.
    let output = schedlab()
        .args(["check", "big-little", "--workers", "3"])
        .output()
        .expect("runs");
    let stderr = assert_refused(&output, "--workers against the file's speeds");
    assert!(
        stderr.contains("--speeds"),
        "the message says how to fix it: {stderr}"
    );
}

#[test]
fn the_expectation_parser_reads_every_form() {
    let e = expectation_of(
        Path::new("x.ron"),
        "// expect: a b\n  // expect-at: 7\n// expect: `c`\n(name: \"x\")\n// expect: ignored",
    );
    assert_eq!(e.texts, ["a b", "`c`"]);
    assert_eq!(e.line, Some(7));
    assert!(points_at("x.ron:7:12: Expected comma", "x.ron", 7));
    assert!(!points_at("x.ron:7: Expected comma", "x.ron", 7));
    assert!(!points_at("x.ron:17:3: Expected comma", "x.ron", 7));
}
