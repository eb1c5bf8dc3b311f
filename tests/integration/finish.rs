//! What users install around the binary: shell completions, the manual page, a version that
//! names its commit, and progress that only a terminal sees.

use std::process::Command;

use crate::cli::{TempPath, schedlab, stderr_of};

fn stdout_ok(args: &[&str]) -> String {
    let output = schedlab().args(args).output().expect("runs");
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn completions_cover_the_subcommands_and_flags_in_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_ok(&["completions", shell]);
        for word in [
            "compare",
            "sweep",
            "replay",
            "tour",
            "--workload",
            "--trace-max",
        ] {
            // fish names long options `-l workload`.
            let fish = word.strip_prefix("--").map(|w| format!("-l {w}"));
            assert!(
                script.contains(word) || fish.is_some_and(|f| script.contains(&f)),
                "{shell} completes {word}"
            );
        }
    }
    let refused = schedlab()
        .args(["completions", "tcsh"])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr_of(&refused).contains("possible values: bash"),
        "{}",
        stderr_of(&refused)
    );
}

#[test]
fn the_manual_page_documents_the_options_and_commands() {
    let page = stdout_ok(&["man"]);
    assert!(page.contains(".TH schedlab 1"), "a roff page:\n{page}");
    for word in [
        "\\-\\-policy",
        "\\-\\-workload",
        "compare",
        "sweep",
        "replay",
        "Exit status",
    ] {
        assert!(page.contains(word), "{word} in the page");
    }
    let dir = TempPath::new("man");
    stdout_ok(&["man", "--dir", dir.0.to_str().expect("UTF-8 path")]);
    for page in ["schedlab.1", "schedlab-sweep.1", "schedlab-replay.1"] {
        let text = std::fs::read_to_string(dir.0.join(page)).expect("a page per command");
        let title = text
            .lines()
            .find(|l| l.starts_with(".TH"))
            .unwrap_or_default();
        assert!(
            title.contains(env!("CARGO_PKG_VERSION")) && title.contains("commit"),
            "{page} names the version: {title}"
        );
    }
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let version = stdout_ok(&["--version"]);
    assert!(
        version.starts_with(&format!("schedlab {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match head {
        Ok(out) if out.status.success() => {
            let head = String::from_utf8_lossy(&out.stdout).trim().to_string();
            // `-dirty` when it was built from a tree with uncommitted changes.
            assert!(
                version.contains(&format!("(commit {head})"))
                    || version.contains(&format!("(commit {head}-dirty)")),
                "{version} vs {head}"
            );
        }
        _ => assert!(version.contains("(commit unknown)"), "{version}"),
    }
}

#[test]
fn progress_is_shown_only_on_a_terminal() {
    // Over a second of work, so a terminal would get the bar; stderr here is a pipe.
    let workload = TempPath::with_text(
        "second.ron",
        r#"(name: "second", groups: [(name: "t", kernel: Spin(us: 1000.0), count: 2400)])"#,
    );
    let output = schedlab()
        .arg("--workload")
        .arg(&workload.0)
        .args(["--headless", "--workers", "2", "--no-pin"])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        !stderr.contains('\r') && !stderr.contains("[="),
        "no bar in a pipe:\n{stderr:?}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "no escape codes in a pipe:\n{stderr:?}"
    );
}
