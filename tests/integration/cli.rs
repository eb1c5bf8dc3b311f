//! The real `schedlab` binary, run as a user would: its subcommands, its flags, the workload
//! lookup and the files it writes, checked against `shared/spec/cli-and-report.md`.
//!
//! Every run is kept small (a built-in workload of a few hundred milliseconds, or a tiny one
//! written to a temporary file) so the whole module takes seconds. The helpers at the top are
//! shared with `bad_input`, which runs the same binary on broken input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// A `schedlab` command with the environment a user's shell might add taken away: backtraces
/// off, so that a panic would print its usual note (which the bad-input tests look for).
pub(crate) fn schedlab() -> Command {
    let mut cmd =
        Command::cargo_bin("schedlab").expect("cargo builds the binary for integration tests");
    cmd.env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .timeout(Duration::from_secs(120));
    cmd
}

pub(crate) fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `cmd`, asserts that it succeeded, and returns its stdout and stderr.
pub(crate) fn run_ok(cmd: &mut Command) -> (String, String) {
    let output = cmd.output().expect("the binary runs");
    let (stdout, stderr) = (stdout_of(&output), stderr_of(&output));
    assert!(
        output.status.success(),
        "{cmd:?} exited with {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status.code()
    );
    (stdout, stderr)
}

/// A unique path under the system's temporary directory, removed (file or folder) when dropped.
/// Unique per process and per call, so tests running at once never share one.
/// Runs the workload in `file` headless and unpinned with `args`, its report on stdout.
pub(crate) fn headless_report(file: &TempPath, args: &[&str]) -> std::process::Output {
    schedlab()
        .arg("--workload")
        .arg(&file.0)
        .args(["--headless", "--no-pin"])
        .args(args)
        .args(["--json", "-"])
        .output()
        .expect("runs")
}

pub(crate) struct TempPath(pub(crate) PathBuf);

impl TempPath {
    pub(crate) fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!("schedlab-test-{}-{n}-{name}", std::process::id())))
    }

    /// A temporary file holding `text`.
    pub(crate) fn with_text(name: &str, text: &str) -> Self {
        let file = Self::new(name);
        std::fs::write(&file.0, text).expect("write a temporary file");
        file
    }

    fn read_json(&self) -> Value {
        let text = std::fs::read_to_string(&self.0)
            .unwrap_or_else(|e| panic!("{} was not written: {e}", self.0.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", self.0.display()))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        // Whatever is left is only litter in the temporary directory, so errors are ignored.
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Runs `cmd` and checks that it was refused with status 2 before doing anything: promptly,
/// with one line of error on stderr (a run would have said `running` first) holding every one
/// of `words`, and nothing on stdout.
pub(crate) fn refused_at_once(cmd: &mut Command, words: &[&str]) {
    let started = std::time::Instant::now();
    let output = cmd.output().expect("the binary runs");
    let took = started.elapsed();
    let stderr = stderr_of(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{cmd:?} is refused:\n{stderr}"
    );
    assert!(
        stderr.starts_with("schedlab: error:") && stderr.trim_end().lines().count() == 1,
        "{cmd:?}: one line of error and nothing before it:\n{stderr}"
    );
    assert!(output.stdout.is_empty(), "{cmd:?} printed to stdout");
    assert!(
        took < Duration::from_secs(10),
        "{cmd:?} was refused only after {took:?}: the run started"
    );
    for word in words {
        assert!(
            stderr.contains(word),
            "{cmd:?}: the error names `{word}`:\n{stderr}"
        );
    }
}

/// A workload of a few milliseconds with two groups and a dependency.
const TINY: &str = r#"Workload(
    name: "tiny",
    seed: 5,
    groups: [
        Group(name: "first", kernel: Spin(us: 200.0), count: 16),
        Group(name: "then", kernel: Spin(us: 100.0), count: 8, after: ["first"]),
    ],
)"#;

fn tiny_workload() -> TempPath {
    TempPath::with_text("tiny.ron", TINY)
}

fn parse_json(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} is not JSON ({e}):\n{text}"))
}

fn u64_field(v: &Value, key: &str, what: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{what}: `{key}` is not an unsigned integer: {v}"))
}

fn f64_field(v: &Value, key: &str, what: &str) -> f64 {
    v.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{what}: `{key}` is not a number: {v}"))
}

fn str_field<'a>(v: &'a Value, key: &str, what: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{what}: `{key}` is not a string: {v}"))
}

fn array_field<'a>(v: &'a Value, key: &str, what: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{what}: `{key}` is not an array: {v}"))
}

/// Checks one run report against every field of the contract, with its type and invariants.
fn assert_report_contract(r: &Value) {
    let what = "report";
    assert_eq!(u64_field(r, "schema", what), 1, "schema version");
    let what = &format!(
        "report of {} under {}",
        str_field(r, "workload", what),
        str_field(r, "policy", what)
    );
    assert_eq!(str_field(r, "mode", what), "real", "{what}: mode");
    u64_field(r, "seed", what);
    let makespan = u64_field(r, "makespan_ns", what);
    assert!(makespan > 0, "{what}: a run takes time");

    let tasks = r
        .get("tasks")
        .unwrap_or_else(|| panic!("{what}: no `tasks`"));
    let [total, completed, failed, cancelled, _retried] =
        ["total", "completed", "failed", "cancelled", "retried"].map(|k| u64_field(tasks, k, what));
    assert_eq!(
        completed + failed + cancelled,
        total,
        "{what}: task outcomes add up to the total"
    );

    let workers = array_field(r, "workers", what);
    assert!(!workers.is_empty(), "{what}: at least one worker");
    for (i, w) in workers.iter().enumerate() {
        assert_eq!(
            u64_field(w, "id", what),
            i as u64,
            "{what}: workers in id order"
        );
        let speed = f64_field(w, "speed", what);
        assert!(
            speed > 0.0 && speed <= 1.0,
            "{what}: speed {speed} in (0, 1]"
        );
        let [busy, idle, overhead, _tasks, steals, attempts] = [
            "busy_ns",
            "idle_ns",
            "overhead_ns",
            "tasks",
            "steals",
            "steal_attempts",
        ]
        .map(|k| u64_field(w, k, what));
        assert!(
            steals <= attempts,
            "{what}: steals are successful steal attempts"
        );
        let sum = busy + idle + overhead;
        assert!(
            sum.abs_diff(makespan) as f64 <= makespan as f64 * 0.01,
            "{what}: worker {i}'s busy + idle + overhead = {sum} ns, the makespan is {makespan} ns"
        );
    }
    let attempts: u64 = workers.iter().map(|w| u64_field(w, "tasks", what)).sum();
    assert!(
        attempts >= completed + failed,
        "{what}: every completion and failure was an attempt"
    );

    u64_field(r, "work_ns", what);
    let lower_bound = u64_field(r, "lower_bound_ns", what);
    let efficiency = f64_field(r, "efficiency", what);
    assert!(
        (efficiency - lower_bound as f64 / makespan as f64).abs() < 1e-6,
        "{what}: efficiency {efficiency} is lower_bound_ns / makespan_ns"
    );
    u64_field(r, "overhead_ns_per_task", what);

    let wait = r
        .get("wait_ns")
        .unwrap_or_else(|| panic!("{what}: no `wait_ns`"));
    let [p50, p90, p99, max] = ["p50", "p90", "p99", "max"].map(|k| u64_field(wait, k, what));
    assert!(
        p50 <= p90 && p90 <= p99 && p99 <= max,
        "{what}: wait percentiles in order: {wait}"
    );

    let groups = array_field(r, "groups", what);
    assert!(!groups.is_empty(), "{what}: at least one group");
    let mut counted = 0;
    for g in groups {
        str_field(g, "name", what);
        counted += u64_field(g, "count", what);
        for k in ["mean_ns", "p50_ns", "p99_ns"] {
            u64_field(g, k, what);
        }
    }
    assert_eq!(
        counted, total,
        "{what}: the groups' counts add up to the total"
    );
}

#[test]
fn list_names_every_policy_kernel_and_workload() {
    let (stdout, _) = run_ok(schedlab().arg("list"));
    for policy in [
        "fifo",
        "rr",
        "round-robin",
        "steal",
        "work-stealing",
        "hetero",
        "heterogeneous",
    ] {
        assert!(
            stdout.contains(policy),
            "`list` names the policy `{policy}`:\n{stdout}"
        );
    }
    let kernels = [
        "Spin",
        "Sleep",
        "Request",
        "Sort",
        "Search",
        "Analyze",
        "Hash",
        "MatMul",
        "Blur",
        "Sharpen",
        "Edge",
        "Mandelbrot",
        "Stencil",
        "Train",
        "Fib",
    ];
    for kernel in kernels {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(kernel)),
            "`list` has a line for the kernel `{kernel}`:\n{stdout}"
        );
    }
    // Every shipped workload file is built in, so `list` names each one: the RON workloads,
    // and the real workflow runs (the STG set in workloads/stg/ is the board's, by path).
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
    let files = |dir: &Path, extension: &str| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .expect("a shipped folder")
            .map(|e| e.expect("a readable directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .collect()
    };
    let mut names = 0;
    let ron = files(&shipped, "ron");
    let workflows = files(&shipped.join("workflows"), "json");
    assert!(!workflows.is_empty(), "real workflow runs are shipped");
    for path in ron.iter().chain(&workflows) {
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        names += 1;
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "`list` names the workload `{name}`:\n{stdout}"
        );
    }
    assert!(names >= 10, "the project ships its workloads in workloads/");
    // Each entry comes with a description, not a bare name.
    assert!(
        stdout
            .lines()
            .filter(|l| l.starts_with("  "))
            .all(|l| l.split_whitespace().count() >= 2),
        "{stdout}"
    );
}

#[test]
fn check_shows_what_a_workload_holds() {
    let (stdout, _) = run_ok(schedlab().args(["check", "mixed"]));
    assert!(
        stdout.contains("ok"),
        "`check` says the workload is fine:\n{stdout}"
    );
    for group in ["requests", "blur", "sort", "fib"] {
        assert!(
            stdout.contains(group),
            "`check mixed` shows the group `{group}`:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("4 workers"),
        "`check mixed` shows the file's machine:\n{stdout}"
    );
    let (stdout, _) = run_ok(schedlab().args([
        "check",
        "mixed",
        "--workers",
        "2",
        "--speeds",
        "1,0.5",
        "--seed",
        "99",
    ]));
    assert!(
        stdout.contains("2 workers") && stdout.contains("99"),
        "`check` applies the overrides:\n{stdout}"
    );
}

#[test]
fn bare_names_are_found_from_any_directory() {
    let dir = TempPath::new("elsewhere");
    std::fs::create_dir(&dir.0).expect("create a temporary directory");
    for name in ["mixed.ron", "mixed"] {
        let (stdout, _) = run_ok(schedlab().current_dir(&dir.0).args(["check", name]));
        assert!(
            stdout.contains("requests"),
            "`check {name}` from elsewhere finds the built-in:\n{stdout}"
        );
    }
    // A run takes the same way; `fork-join` is the quickest shipped workload.
    for name in ["fork-join.ron", "fork-join"] {
        let (stdout, _) = run_ok(schedlab().current_dir(&dir.0).args([
            "--workload",
            name,
            "--headless",
            "--workers",
            "2",
            "--json",
            "-",
        ]));
        let report = parse_json(&stdout, "the report on stdout");
        assert_eq!(
            report["workload"], "fork-join",
            "`--workload {name}` from elsewhere runs the built-in"
        );
    }
    // A file in ./workloads/ comes before the built-in of the same name.
    std::fs::create_dir(dir.0.join("workloads")).expect("create workloads/");
    std::fs::write(
        dir.0.join("workloads/mixed.ron"),
        TINY.replace("\"tiny\"", "\"local-mixed\""),
    )
    .expect("write");
    for name in ["mixed.ron", "mixed"] {
        let (stdout, _) = run_ok(schedlab().current_dir(&dir.0).args(["check", name]));
        assert!(
            stdout.contains("local-mixed"),
            "`check {name}` prefers ./workloads/mixed.ron:\n{stdout}"
        );
    }
}

#[test]
fn headless_json_report_to_stdout_keeps_the_contract() {
    let (stdout, stderr) = run_ok(schedlab().args([
        "--workload",
        "faults",
        "--headless",
        "--workers",
        "3",
        "--seed",
        "11",
        "--json",
        "-",
    ]));
    let report = parse_json(&stdout, "`--json -` output");
    assert_report_contract(&report);
    assert_eq!(report["workload"], "faults");
    assert_eq!(report["policy"], "steal", "steal is the default policy");
    assert_eq!(report["seed"], 11, "--seed overrides the file's seed");
    assert_eq!(
        report["workers"].as_array().map(Vec::len),
        Some(3),
        "--workers overrides the machine"
    );
    // One attempt in five panics: some are retried, and the run still exits 0.
    assert!(
        report["tasks"]["retried"].as_u64() > Some(0),
        "faults were injected: {}",
        report["tasks"]
    );
    assert_eq!(report["tasks"]["total"], 64, "faults holds 64 tasks");
    // With the report on stdout, the summary table moves to stderr rather than corrupting it.
    assert!(
        stderr.contains("makespan") || stderr.contains("faults"),
        "the summary is on stderr:\n{stderr}"
    );
}

#[test]
fn json_to_a_file_and_speed_overrides() {
    let tiny = tiny_workload();
    let json = TempPath::new("report.json");
    let (stdout, _) = run_ok(
        schedlab()
            .arg("--workload")
            .arg(&tiny.0)
            .args(["--headless", "--speeds", "1,0.5", "--json"])
            .arg(&json.0),
    );
    assert!(
        !stdout.trim().is_empty() && serde_json::from_str::<Value>(&stdout).is_err(),
        "stdout holds the summary table:\n{stdout}"
    );
    let report = json.read_json();
    assert_report_contract(&report);
    assert_eq!(report["workload"], "tiny");
    let speeds: Vec<f64> = report["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .map(|w| w["speed"].as_f64().expect("speed"))
        .collect();
    assert_eq!(speeds, [1.0, 0.5], "--speeds gives one worker per speed");
    assert_eq!(report["tasks"]["total"], 24);
    assert_eq!(
        report["tasks"]["completed"], 24,
        "no faults, so every task completes"
    );
}

#[test]
fn trace_has_a_track_per_worker_and_well_formed_spans() {
    let json = TempPath::new("trace-report.json");
    let trace = TempPath::new("trace.json");
    run_ok(
        schedlab()
            .args([
                "--workload",
                "faults",
                "--headless",
                "--workers",
                "2",
                "--trace",
            ])
            .arg(&trace.0)
            .arg("--json")
            .arg(&json.0),
    );
    let report = json.read_json();
    let doc = trace.read_json();
    let events = array_field(&doc, "traceEvents", "trace");

    let mut thread_names: BTreeMap<u64, usize> = BTreeMap::new();
    let mut names: BTreeMap<u64, String> = BTreeMap::new();
    let mut tracks: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
    for e in events {
        let ph = str_field(e, "ph", "trace event");
        if ph == "M" && e["name"] == "thread_name" {
            let tid = u64_field(e, "tid", "thread_name");
            *thread_names.entry(tid).or_default() += 1;
            names.insert(
                tid,
                str_field(&e["args"], "name", "thread_name").to_string(),
            );
        }
        if ph != "X" {
            continue;
        }
        // Times are microseconds with nanosecond fractions; compared in whole nanoseconds.
        let [ts, dur] = ["ts", "dur"].map(|k| f64_field(e, k, "X event"));
        assert!(ts >= 0.0 && dur >= 0.0, "X event with a negative time: {e}");
        if e["cat"] == "task" {
            let args = &e["args"];
            str_field(args, "group", "task event args");
            u64_field(args, "task", "task event args");
            u64_field(args, "attempt", "task event args");
            str_field(args, "outcome", "task event args");
            let start = (ts * 1000.0).round() as u64;
            tracks
                .entry(u64_field(e, "tid", "X event"))
                .or_default()
                .push((start, start + (dur * 1000.0).round() as u64));
        }
    }
    // One track per worker, then one for the critical path.
    let expected: BTreeMap<u64, usize> = [(0, 1), (1, 1), (2, 1)].into();
    assert_eq!(thread_names, expected, "one thread_name per track");
    assert_eq!(names[&0], "core 0");
    assert_eq!(names[&1], "core 1");
    assert!(names[&2].starts_with("critical path ("), "{names:?}");
    assert!(
        tracks.keys().all(|tid| thread_names.contains_key(tid)),
        "task spans lie on worker tracks"
    );
    let spans: usize = tracks.values().map(Vec::len).sum();
    let attempts: u64 = report["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .map(|w| w["tasks"].as_u64().expect("tasks"))
        .sum();
    assert_eq!(
        spans as u64, attempts,
        "one task span per attempt the report counts"
    );
    for (tid, spans) in &mut tracks {
        spans.sort_unstable();
        for pair in spans.windows(2) {
            assert!(
                pair[0].1 <= pair[1].0,
                "task spans overlap on track {tid}: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}

#[test]
fn compare_runs_every_policy() {
    let json = TempPath::new("compare.json");
    let (stdout, _) = run_ok(
        schedlab()
            .args([
                "compare",
                "--workload",
                "imbalance",
                "--workers",
                "2",
                "--json",
            ])
            .arg(&json.0),
    );
    for policy in ["fifo", "rr", "steal", "hetero"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(policy)),
            "the table has a row for {policy}:\n{stdout}"
        );
    }
    let doc = json.read_json();
    assert_eq!(doc["schema"], 1, "compare --json has a schema version");
    let runs = array_field(&doc, "runs", "compare --json");
    let policies: BTreeSet<&str> = runs.iter().map(|r| str_field(r, "policy", "run")).collect();
    assert_eq!(runs.len(), 4, "one run per policy");
    assert_eq!(
        policies,
        ["fifo", "hetero", "rr", "steal"].into(),
        "each policy once"
    );
    for run in runs {
        assert_report_contract(run);
        assert_eq!(run["workers"].as_array().map(Vec::len), Some(2));
    }
}

#[test]
fn policy_aliases_are_accepted() {
    let tiny = tiny_workload();
    for (alias, name) in [
        ("round-robin", "rr"),
        ("work-stealing", "steal"),
        ("heterogeneous", "hetero"),
        ("fifo", "fifo"),
    ] {
        let (stdout, _) = run_ok(
            schedlab()
                .args([
                    "--policy",
                    alias,
                    "--headless",
                    "--workers",
                    "2",
                    "--json",
                    "-",
                    "--workload",
                ])
                .arg(&tiny.0),
        );
        let report = parse_json(&stdout, "the report");
        assert_eq!(report["policy"], name, "--policy {alias} runs {name}");
    }
}

#[test]
fn without_a_terminal_the_run_says_it_is_headless() {
    let tiny = tiny_workload();
    let says_headless = |stderr: &str| {
        stderr
            .lines()
            .filter(|l| l.contains("headless") || l.contains("not a terminal"))
            .count()
    };
    // Under the test harness stdout is a pipe, never a terminal.
    let (stdout, stderr) = run_ok(
        schedlab()
            .args(["--workers", "2", "--workload"])
            .arg(&tiny.0),
    );
    assert_eq!(
        says_headless(&stderr),
        1,
        "one line says the run is headless:\n{stderr}"
    );
    assert!(
        stdout.contains("tiny"),
        "the summary is on stdout:\n{stdout}"
    );
    let (_, stderr) = run_ok(
        schedlab()
            .args(["--headless", "--workers", "2", "--workload"])
            .arg(&tiny.0),
    );
    assert_eq!(
        says_headless(&stderr),
        0,
        "--headless asked for it, so nothing to explain:\n{stderr}"
    );
}

#[test]
fn help_and_version() {
    let (help, _) = run_ok(schedlab().arg("--help"));
    for word in [
        "compare",
        "check",
        "list",
        "--workload",
        "--policy",
        "--json",
        "--trace",
        "--headless",
        "./workloads/",
        "built in",
    ] {
        assert!(help.contains(word), "--help mentions `{word}`:\n{help}");
    }
    let (version, _) = run_ok(schedlab().arg("--version"));
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")),
        "--version prints the version: {version}"
    );
    for sub in ["compare", "check"] {
        let (help, _) = run_ok(schedlab().args([sub, "--help"]));
        assert!(
            help.contains("workload") || help.contains("WORKLOAD"),
            "`{sub} --help` explains its argument:\n{help}"
        );
    }
}

#[test]
fn a_policy_named_twice_is_refused_whatever_its_names() {
    let cases: [(&str, &[&str]); 6] = [
        ("fifo,fifo", &["names fifo twice"]),
        ("rr,round-robin", &["names rr twice", "round-robin"]),
        ("round-robin,steal,rr", &["names rr twice", "round-robin"]),
        (
            "work-stealing,steal",
            &["names steal twice", "work-stealing"],
        ),
        (
            "hetero,fifo,heterogeneous",
            &["names hetero twice", "heterogeneous"],
        ),
        ("fifo,rr,steal,hetero,fifo", &["names fifo twice"]),
    ];
    for (list, words) in cases {
        refused_at_once(
            schedlab().args(["compare", "--workload", "mixed", "--policies", list]),
            words,
        );
        refused_at_once(
            schedlab().args(["sweep", "--headless", "--policies", list]),
            words,
        );
    }
}

#[test]
fn sweep_refuses_the_flags_of_the_other_kind_of_sweep() {
    // Scaling (`--workers A..B`) runs one task size: the flags of sizes would be ignored.
    for (extra, flag) in [
        (&["--sizes", "1us..1ms"][..], "--sizes"),
        (&["--sizes", "500ns..100ms"], "--sizes"),
        (&["--per-decade", "3"], "--per-decade"),
        (&["--steps", "2"], "--steps"),
    ] {
        refused_at_once(
            schedlab()
                .args(["sweep", "--headless", "--workers", "1..2"])
                .args(extra),
            &[flag, "scaling", "--size"],
        );
    }
    // Granularity (no range of workers) takes its sizes from --sizes, never --size.
    for extra in [
        &["--size", "1ms"][..],
        &["--workers", "2", "--size", "100us"],
    ] {
        refused_at_once(
            schedlab().args(["sweep", "--headless"]).args(extra),
            &["--size", "granularity", "--sizes"],
        );
    }
    // --help still shows what each takes by default.
    let (help, _) = run_ok(schedlab().args(["sweep", "--help"]));
    for default in ["default: 500ns..100ms", "default: 2", "default: 100us"] {
        assert!(
            help.contains(default),
            "sweep --help says `{default}`:\n{help}"
        );
    }
}

#[test]
fn a_worker_thread_the_os_refuses_is_an_error_not_a_panic() {
    // Under a small address-space limit, the OS refuses threads after a few dozen (each takes
    // a stack and an allocator arena): the run must say so and leave, not panic.
    let file = TempPath::with_text(
        "wide.ron",
        r#"(name: "wide", groups: [(name: "g", kernel: Spin(us: 1.0), count: 3000)])"#,
    );
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -v 500000 && exec {} --workload {} --workers 1024 --no-pin --headless",
            env!("CARGO_BIN_EXE_schedlab"),
            file.0.display()
        ))
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the OS refused to start worker thread"),
        "{stderr}"
    );
    assert!(stderr.contains("fewer workers"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_oversubscribed_run_says_what_the_machine_did_to_it() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cores * 4;
    // Every worker busy with 2 ms tasks: four threads share each core.
    let file = TempPath::with_text(
        "busy.ron",
        &format!(
            r#"(name: "busy", groups: [(name: "t", kernel: Spin(us: 2000.0), count: {})])"#,
            workers * 6
        ),
    );
    let out = headless_report(&file, &["--workers", &workers.to_string()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let m = &report["machine"];
    assert_eq!(m["cores"].as_u64(), Some(cores as u64), "{m}");
    assert_eq!(m["workers"].as_u64(), Some(workers as u64));
    assert_eq!(m["oversubscribed"], true);
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"oversubscribed"), "{codes:?}");
    let summary = stderr_of(&out);
    assert!(
        summary.contains(&format!(
            "{workers} workers on {cores} cores (oversubscribed)"
        )),
        "{summary}"
    );
    assert!(summary.contains("warning [oversubscribed]"), "{summary}");
    // Where the OS tells (Linux schedstats), the time off the cores is measured: with four
    // busy workers a core, each waits for a CPU much of the run.
    let preempted: Vec<Option<u64>> = report["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .map(|w| w["preempted_ns"].as_u64())
        .collect();
    if preempted.iter().all(Option::is_some) {
        let total: u64 = preempted.iter().flatten().sum();
        let makespan = report["makespan_ns"].as_u64().expect("makespan");
        assert!(
            total as f64 > 0.05 * (makespan * workers as u64) as f64,
            "{total} ns preempted of {workers} × {makespan} ns"
        );
        assert!(codes.contains(&"preempted"), "{codes:?}");
        // The time off the cores is left out of the work: the tasks' work is what they
        // computed (2 ms each), not the four times longer their bodies took on the wall clock.
        let nominal = (workers * 6) as f64 * 2e6;
        let work = report["work_ns"].as_f64().expect("work");
        assert!(
            work < 1.6 * nominal,
            "work {work} ns for {nominal} ns of spinning"
        );
        let inside: u64 = report["workers"]
            .as_array()
            .expect("workers")
            .iter()
            .map(|w| w["preempted_busy_ns"].as_u64().unwrap_or(0))
            .sum();
        assert!(inside > 0, "waits for a CPU were found inside the bodies");
        let efficiency = report["efficiency"].as_f64().expect("efficiency");
        assert!(efficiency <= 1.0, "{efficiency}");
        // And compare says the machine was busy instead of judging the policies.
        let out = schedlab()
            .args([
                "compare",
                "--workload",
                file.0.to_str().unwrap(),
                "--no-pin",
            ])
            .args([
                "--workers",
                &workers.to_string(),
                "--repeat",
                "2",
                "--policies",
                "fifo,steal",
            ])
            .output()
            .expect("runs");
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(
            table.contains("no verdict, the machine was busy"),
            "{table}"
        );
        assert!(!table.contains("beyond the noise"), "{table}");
        assert!(
            table.contains(&format!(
                "on {workers} workers ({cores} cores, oversubscribed)"
            )),
            "{table}"
        );
        assert!(
            table.contains("warning [oversubscribed] in 4 of 4 runs")
                && table.contains("warning [preempted] in"),
            "{table}"
        );
    } else {
        assert!(preempted.iter().all(Option::is_none), "{preempted:?}");
        assert!(summary.contains("not told by this OS"), "{summary}");
    }
}

#[test]
fn check_states_the_load_that_arrivals_offer_against_the_workers() {
    let file = TempPath::with_text(
        "flood.ron",
        r#"(name: "flood", groups: [
            (name: "flood", kernel: Spin(us: 500.0), count: 100, arrival: Every(us: 100.0)),
            (name: "trickle", kernel: Spin(us: 100.0), count: 10, arrival: Poisson(per_sec: 1000.0)),
        ])"#,
    );
    let out = schedlab()
        .args(["check", file.0.to_str().unwrap(), "--workers", "2"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("flood: 10000/s × 500.0 µs = 5.00 cores of work on 2 workers: the queue grows without bound"),
        "{text}"
    );
    assert!(
        text.contains(
            "trickle: 1000/s × 100.0 µs = 0.10 cores of work on 2 workers (5 % of their speed)"
        ),
        "{text}"
    );
}

#[test]
fn the_report_says_which_bound_binds_and_how_busy_the_cores_were() {
    let run = |text: &str| -> serde_json::Value {
        let file = TempPath::with_text("bound.ron", text);
        let out = headless_report(&file, &["--workers", "2"]);
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let wide = run(r#"(name: "w", groups: [(name: "t", kernel: Spin(us: 200.0), count: 200)])"#);
    assert_eq!(wide["bound"], "work", "{}", wide["bound"]);
    let chain = run(
        r#"(name: "c", groups: [(name: "a", kernel: Spin(us: 20000.0), count: 1),
        (name: "b", kernel: Spin(us: 20000.0), count: 1, after: ["a"])])"#,
    );
    assert_eq!(chain["bound"], "critical_path");
    let late = run(
        r#"(name: "l", groups: [(name: "t", kernel: Spin(us: 10.0), count: 20, arrival: Every(us: 5000.0))])"#,
    );
    assert_eq!(late["bound"], "arrivals");
    // Blocked time is not computing: a sleeping task leaves the cores unused.
    let sleepy = run(r#"(name: "s", groups: [(name: "t", kernel: Sleep(us: 20000.0), count: 4)])"#);
    let utilisation = sleepy["utilisation"].as_f64().expect("a number");
    assert!(utilisation < 0.1, "{utilisation}");
}

#[test]
fn calibrate_writes_a_cost_model_that_a_simulated_run_reports() {
    let file = TempPath::new("calibrated.ron");
    let (stdout, stderr) = run_ok(schedlab().args(["calibrate", "--out"]).arg(&file.0));
    assert!(stdout.is_empty(), "the model goes to --out: {stdout}");
    for column in [
        "take ns",
        "push ns",
        "steal ns",
        "wake-up",
        "µs per model unit",
    ] {
        assert!(stderr.contains(column), "the table has {column}: {stderr}");
    }
    let text = std::fs::read_to_string(&file.0).expect("calibrate writes --out");
    let model = schedlab::costs::CostModel::parse(&text)
        .unwrap_or_else(|e| panic!("calibrate writes what --cost-model reads: {e:#}\n{text}"));
    assert!(model.take_ns > 0.0 && model.wake_ns > 0.0, "{text}");
    for variant in schedlab::kernels::Kernel::calibrated_variants() {
        assert!(
            model.kernel_us_per_unit.contains_key(variant.name()),
            "every calibrated kernel is measured, {} too: {text}",
            variant.name()
        );
    }
    let (json, _) = run_ok(
        schedlab()
            .args(["--sim", "--cost-model"])
            .arg(&file.0)
            .args(["--headless", "--workload", "fork-join", "--json", "-"]),
    );
    let report = parse_json(&json, "the simulated run's report");
    assert_eq!(str_field(&report, "mode", "the report"), "sim");
    assert_eq!(
        report["cost_model"],
        serde_json::to_value(&model).expect("a model is JSON"),
        "the report carries the calibrated model"
    );
}

#[test]
fn a_reader_that_stops_early_is_no_crash() {
    // `schedlab … | head -1`: the rest of the output is not wanted, and that is no panic (`true`
    // reads nothing and is gone before the binary writes).
    let bin = env!("CARGO_BIN_EXE_schedlab");
    for args in ["list", "--sim --headless --workload fork-join"] {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("'{bin}' {args} | true; exit 0"))
            .output()
            .expect("sh runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args}: {stderr}");
    }
}
