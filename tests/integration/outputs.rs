//! Outputs never destroy inputs or each other: the real binary refuses, before anything runs,
//! an output that is the workload, the recording or another output (however the path is
//! spelled: `./x`, a symbolic link, a hard link), two outputs on stdout, and a path it could
//! not write; and what it writes replaces the earlier file whole, leaving no temporary files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::{TempPath, refused_at_once, schedlab, stderr_of};

/// A workload that would keep one worker busy for 30 s: a command refused over its outputs
/// must answer long before that.
const SLOW: &str =
    r#"(name: "slow", groups: [(name: "t", kernel: Spin(us: 30000000.0), count: 1)])"#;

/// A workload of a few milliseconds.
const TINY: &str = r#"(name: "tiny", groups: [(name: "t", kernel: Spin(us: 200.0), count: 16)])"#;

/// A fresh folder holding `files` (name, text).
fn folder(name: &str, files: &[(&str, &str)]) -> TempPath {
    let dir = TempPath::new(name);
    std::fs::create_dir(&dir.0).expect("create a temporary folder");
    for (file, text) in files {
        std::fs::write(dir.0.join(file), text).expect("write a file");
    }
    dir
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Makes `link.NAME` (a symbolic link) and `hard.NAME` (a hard link) to `dir/NAME`.
fn links(dir: &Path, name: &str) {
    std::os::unix::fs::symlink(name, dir.join(format!("link.{name}"))).expect("symlink");
    std::fs::hard_link(dir.join(name), dir.join(format!("hard.{name}"))).expect("hard link");
}

/// The ways of naming `dir/NAME` seen from inside `dir`.
fn spellings(dir: &Path, name: &str) -> Vec<String> {
    let base = dir.file_name().expect("a folder name").to_string_lossy();
    vec![
        name.to_string(),
        format!("./{name}"),
        dir.join(name).display().to_string(),
        format!("../{base}/{name}"),
        format!("link.{name}"),
        format!("hard.{name}"),
    ]
}

const RUN_OUTPUTS: [&str; 5] = ["--json", "--trace", "--csv", "--svg", "--record"];

#[test]
fn no_output_may_overwrite_the_workload() {
    let dir = folder("victim", &[("victim.ron", SLOW)]);
    links(&dir.0, "victim.ron");
    let before = entries(&dir.0);
    let run = || {
        let mut cmd = schedlab();
        cmd.current_dir(&dir.0)
            .args(["--headless", "--workers", "1", "--no-pin"]);
        cmd
    };
    for flag in RUN_OUTPUTS {
        for spelled in spellings(&dir.0, "victim.ron") {
            refused_at_once(
                run().args(["--workload", "victim.ron", flag, &spelled]),
                &[flag, &spelled, "the workload", "would destroy"],
            );
        }
        // The workload named through a link, the output by its real name.
        refused_at_once(
            run().args(["--workload", "link.victim.ron", flag, "victim.ron"]),
            &[flag, "would destroy"],
        );
    }
    for spelled in spellings(&dir.0, "victim.ron") {
        refused_at_once(
            schedlab().current_dir(&dir.0).args([
                "compare",
                "--workload",
                "victim.ron",
                "--json",
                &spelled,
            ]),
            &["--json", &spelled, "would destroy"],
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.0.join("victim.ron")).expect("the workload is still there"),
        SLOW,
        "the workload is unchanged"
    );
    assert_eq!(entries(&dir.0), before, "nothing was written");
}

#[test]
fn no_output_may_overwrite_a_shipped_workload_found_in_workloads() {
    // A bare name is looked up in ./workloads/: that file is the input then.
    let dir = folder("shipped", &[]);
    std::fs::create_dir(dir.0.join("workloads")).expect("create workloads/");
    std::fs::write(dir.0.join("workloads/slow.ron"), SLOW).expect("write the workload");
    refused_at_once(
        schedlab().current_dir(&dir.0).args([
            "--headless",
            "--workload",
            "slow",
            "--json",
            "workloads/slow.ron",
        ]),
        &["--json", "workloads/slow.ron", "would destroy"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.0.join("workloads/slow.ron")).expect("still there"),
        SLOW
    );
}

#[test]
fn no_two_outputs_may_share_a_file() {
    let dir = folder("shared", &[("slow.ron", SLOW), ("old.out", "keep")]);
    links(&dir.0, "old.out");
    let before = entries(&dir.0);
    // One file named twice, or the same existing file reached two ways.
    let same = [
        ("new.out", "new.out"),
        ("new.out", "./new.out"),
        ("old.out", "link.old.out"),
        ("old.out", "hard.old.out"),
        ("link.old.out", "hard.old.out"),
    ];
    for (i, first) in RUN_OUTPUTS.iter().enumerate() {
        for second in &RUN_OUTPUTS[i + 1..] {
            for (a, b) in same {
                refused_at_once(
                    schedlab().current_dir(&dir.0).args([
                        "--headless",
                        "--workload",
                        "slow.ron",
                        first,
                        a,
                        second,
                        b,
                    ]),
                    &[first, second, a, b, "the same file"],
                );
            }
        }
    }
    for (first, second) in [("--json", "--csv"), ("--json", "--svg"), ("--csv", "--svg")] {
        for (a, b) in same {
            refused_at_once(
                schedlab()
                    .current_dir(&dir.0)
                    .args(["sweep", "--headless", first, a, second, b]),
                &[first, second, "the same file"],
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(dir.0.join("old.out")).expect("still there"),
        "keep"
    );
    assert_eq!(entries(&dir.0), before, "nothing was written");
}

#[test]
fn at_most_one_output_goes_to_stdout() {
    let slow = TempPath::with_text("slow.ron", SLOW);
    let outputs = ["--json", "--trace", "--csv", "--svg"];
    for (i, first) in outputs.iter().enumerate() {
        for second in &outputs[i + 1..] {
            refused_at_once(
                schedlab()
                    .args(["--headless", first, "-", second, "-", "--workload"])
                    .arg(&slow.0),
                &[first, second, "stdout"],
            );
        }
    }
    for (first, second) in [("--json", "--csv"), ("--json", "--svg"), ("--csv", "--svg")] {
        refused_at_once(
            schedlab().args(["sweep", "--headless", first, "-", second, "-"]),
            &[first, second, "stdout"],
        );
    }
    // `-` for --record would make a file called `-`; it is refused too.
    refused_at_once(
        schedlab()
            .args(["--headless", "--record", "-", "--workload"])
            .arg(&slow.0),
        &["--record", "file path"],
    );
}

#[test]
fn the_one_output_on_stdout_has_it_to_itself() {
    // Whichever output takes stdout, the summary moves to stderr.
    let tiny = TempPath::with_text("tiny.ron", TINY);
    for (flag, starts) in [
        ("--json", "{"),
        ("--trace", "{"),
        ("--csv", "task,"),
        ("--svg", "<svg"),
    ] {
        let output = schedlab()
            .args(["--headless", "--workers", "2", flag, "-", "--workload"])
            .arg(&tiny.0)
            .output()
            .expect("the binary runs");
        let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), stderr_of(&output));
        assert!(output.status.success(), "{flag} -:\n{stderr}");
        assert!(
            stdout.trim_start().starts_with(starts) && !stdout.contains("scheduler overhead"),
            "{flag} -: stdout holds the output alone:\n{stdout}"
        );
        assert!(
            stderr.contains("scheduler overhead"),
            "{flag} -: the summary is on stderr:\n{stderr}"
        );
    }
}

#[test]
fn an_output_where_stdout_is_redirected_is_refused() {
    // `schedlab --json out.json > out.json`: the summary and the report would fight over it.
    // (assert_cmd pipes stdout itself, so this one runs through std's Command.)
    let dir = folder("redirect", &[("slow.ron", SLOW)]);
    let out = dir.0.join("out.json");
    let file = std::fs::File::create(&out).expect("create out.json");
    let started = Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_schedlab"))
        .current_dir(&dir.0)
        .args(["--headless", "--workload", "slow.ron", "--json", "out.json"])
        .stdout(file)
        .output()
        .expect("the binary runs");
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused before the run"
    );
    for word in ["--json out.json", "stdout", "`--json -`"] {
        assert!(stderr.contains(word), "the error names `{word}`:\n{stderr}");
    }
}

#[test]
fn unwritable_outputs_are_refused_before_the_run() {
    let dir = folder("unwritable", &[("slow.ron", SLOW), ("plain", "a file")]);
    std::fs::create_dir(dir.0.join("sub")).expect("create a folder");
    let places = [
        ("nowhere/x.out", "no folder nowhere"),
        ("plain/x.out", "plain is a file, not a folder"),
        ("sub", "is a folder"),
        (".", "is a folder"),
    ];
    for (path, why) in places {
        for flag in RUN_OUTPUTS {
            refused_at_once(
                schedlab().current_dir(&dir.0).args([
                    "--headless",
                    "--workload",
                    "slow.ron",
                    flag,
                    path,
                ]),
                &[flag, path, why],
            );
        }
        for flag in ["--json", "--csv", "--svg"] {
            refused_at_once(
                schedlab()
                    .current_dir(&dir.0)
                    .args(["sweep", "--headless", flag, path]),
                &[flag, path, why],
            );
        }
        refused_at_once(
            schedlab().current_dir(&dir.0).args([
                "compare",
                "--workload",
                "slow.ron",
                "--json",
                path,
            ]),
            &["--json", path, why],
        );
    }
    assert_eq!(entries(&dir.0), ["plain", "slow.ron", "sub"]);
    assert_eq!(entries(&dir.0.join("sub")), Vec::<String>::new());
}

/// Records a run of TINY into `dir/run.rec`.
fn record(dir: &Path) -> PathBuf {
    let rec = dir.join("run.rec");
    let output = schedlab()
        .current_dir(dir)
        .args([
            "--headless",
            "--workers",
            "2",
            "--workload",
            "tiny.ron",
            "--record",
            "run.rec",
        ])
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    rec
}

#[test]
fn replay_never_overwrites_its_recording() {
    let dir = folder("replay", &[("tiny.ron", TINY)]);
    let rec = record(&dir.0);
    links(&dir.0, "run.rec");
    let recorded = std::fs::read(&rec).expect("read the recording");
    let before = entries(&dir.0);
    for flag in ["--json", "--trace", "--csv", "--svg"] {
        for spelled in spellings(&dir.0, "run.rec") {
            refused_at_once(
                schedlab().current_dir(&dir.0).args([
                    "replay",
                    "run.rec",
                    "--headless",
                    flag,
                    &spelled,
                ]),
                &[flag, &spelled, "the recording", "would destroy"],
            );
        }
    }
    refused_at_once(
        schedlab().current_dir(&dir.0).args([
            "replay",
            "run.rec",
            "--headless",
            "--json",
            "-",
            "--csv",
            "-",
        ]),
        &["--json", "--csv", "stdout"],
    );
    assert_eq!(
        std::fs::read(&rec).expect("read"),
        recorded,
        "the recording is unchanged"
    );
    assert_eq!(entries(&dir.0), before);
}

#[test]
fn outputs_replace_earlier_files_whole_and_leave_nothing_else() {
    use std::os::unix::fs::PermissionsExt;
    let dir = folder(
        "whole",
        &[
            ("tiny.ron", TINY),
            ("report.json", "an old report, not JSON"),
        ],
    );
    let report = dir.0.join("report.json");
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let output = schedlab()
        .current_dir(&dir.0)
        .args(["--headless", "--workers", "2", "--workload", "tiny.ron"])
        .args([
            "--json",
            "report.json",
            "--trace",
            "run.trace",
            "--csv",
            "run.csv",
        ])
        .args(["--svg", "run.svg", "--record", "run.rec"])
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        entries(&dir.0),
        [
            "report.json",
            "run.csv",
            "run.rec",
            "run.svg",
            "run.trace",
            "tiny.ron"
        ],
        "each output once, no temporary file left"
    );
    let text = std::fs::read_to_string(&report).expect("read the report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the new report is JSON");
    assert_eq!(json["workload"], "tiny");
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(
        mode(&report),
        0o640,
        "a replaced file keeps its permissions"
    );
    // New files get what `File::create` gives (0666 less the umask), not tempfile's 0600.
    let reference = dir.0.join("reference");
    drop(std::fs::File::create(&reference).expect("create"));
    for name in ["run.csv", "run.rec", "run.svg", "run.trace"] {
        assert_eq!(
            mode(&dir.0.join(name)),
            mode(&reference),
            "{name}'s permissions"
        );
    }
    std::fs::remove_file(&reference).expect("remove");
    // A replay writes the same way over the files the run left.
    let output = schedlab()
        .current_dir(&dir.0)
        .args([
            "replay",
            "run.rec",
            "--headless",
            "--json",
            "report.json",
            "--csv",
            "run.csv",
        ])
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        entries(&dir.0),
        [
            "report.json",
            "run.csv",
            "run.rec",
            "run.svg",
            "run.trace",
            "tiny.ron"
        ]
    );
}
