//! Task graphs from other tools, through the real binary: `check` and a simulated run read
//! them as workloads, `import` writes them as RON that loads back the same, and every broken
//! graph in `tests/fixtures/graphs/invalid/` is refused with status 2, the file, the line and
//! what was wrong.

use std::path::{Path, PathBuf};

use schedlab::workload;
use serde_json::Value;

use crate::cli::{TempPath, run_ok, schedlab, stderr_of};

fn graphs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graphs")
}

/// A fixture's path as a user in the project's folder would type it.
fn fixture(name: &str) -> String {
    format!("tests/fixtures/graphs/{name}")
}

#[test]
fn check_reads_every_format() {
    for (name, workload, tasks) in [
        ("rand0000.stg", "rand0000", 50),
        (
            "wfformat/montage-chameleon-2mass-005d-001.json",
            "montage",
            58,
        ),
        (
            "wfformat/helloworld-forkjoin-10-chameleon.json",
            "forkjoin-10-5000-0.6-100000000-cascadelake-1-0-1683197671",
            10,
        ),
        ("taskflow.dot", "taskflow", 5),
    ] {
        let (stdout, _) = run_ok(
            schedlab()
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(["check", &fixture(name)]),
        );
        assert!(
            stdout.starts_with(&format!("{}: ok\n", fixture(name))),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("workload   {workload}\n")),
            "{stdout}"
        );
        assert!(stdout.contains(&format!(": {tasks} tasks, ")), "{stdout}");
    }
}

#[test]
fn import_writes_ron_that_loads_back_the_same() {
    let dir = TempPath::new("import");
    std::fs::create_dir(&dir.0).expect("a folder");
    for name in [
        "rand0001.stg",
        "wfformat/montage-chameleon-2mass-005d-001.json",
        "taskflow.dot",
    ] {
        let graph = fixture(name);
        let out = dir.0.join("w.ron");
        let (_, stderr) = run_ok(
            schedlab()
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(["import", &graph, "--out"])
                .arg(&out),
        );
        assert!(stderr.contains("tasks) written to"), "{stderr}");
        run_ok(schedlab().arg("check").arg(&out));
        let (stdout, _) = run_ok(
            schedlab()
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(["import", &graph]),
        );
        let written = std::fs::read_to_string(&out).expect("written");
        assert_eq!(stdout, written, "stdout and --out get the same text");
        assert!(
            written.contains("\n        Task(name: "),
            "a task per line:\n{written}"
        );
        let from_graph =
            workload::load_file(&graphs().join(name)).unwrap_or_else(|e| panic!("{e}"));
        let from_ron = workload::load_file(&out).unwrap_or_else(|e| panic!("{e}"));
        let source = |w: &workload::Workload| {
            w.source
                .clone()
                .map(|s| (s.format, s.recorded_makespan, s.recorded_cores))
        };
        assert_eq!(
            source(&from_ron.workload),
            source(&from_graph.workload),
            "{name}"
        );
        assert_eq!(from_ron.workload.tasks, from_graph.workload.tasks, "{name}");
        assert_eq!(from_ron.workload.name, from_graph.workload.name, "{name}");
    }
}

#[test]
fn import_takes_graphs_only_and_never_overwrites_them() {
    let output = schedlab().args(["import", "mixed"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("import reads a task graph"),
        "{}",
        stderr_of(&output)
    );
    let copy = TempPath::with_text("g.dot", "digraph { a -> b }");
    let output = schedlab()
        .arg("import")
        .arg(&copy.0)
        .arg("--out")
        .arg(&copy.0)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert_eq!(
        std::fs::read_to_string(&copy.0).unwrap(),
        "digraph { a -> b }"
    );
}

/// What each file of `invalid/` must be refused with: the line, and a text of the message.
const INVALID: &[(&str, Option<usize>, &str)] = &[
    (
        "count.stg",
        Some(1),
        "the header says 4 tasks, so 6 task lines should follow",
    ),
    (
        "cycle.stg",
        Some(3),
        "dependency cycle among tasks: 1 -> 3 -> 2 -> 1",
    ),
    ("duplicate-id.stg", Some(5), "task 2 is defined twice"),
    (
        "negative-time.stg",
        Some(4),
        "`time` must be a finite number >= 0, got -3",
    ),
    (
        "predecessor-count.stg",
        Some(4),
        "task 2 says it has 2 predecessors but lists 1",
    ),
    (
        "unknown-predecessor.stg",
        Some(4),
        "task 2 waits for task 9, which does not exist",
    ),
    (
        "cost-not-a-number.dot",
        Some(2),
        "its `cost` is \"slow\", not a number",
    ),
    (
        "cycle.dot",
        Some(2),
        "dependency cycle among tasks: a -> c -> b -> a",
    ),
    (
        "negative-cost.dot",
        Some(2),
        "`time` must be a finite number >= 0, got -1",
    ),
    ("syntax.dot", Some(3), "not valid DOT here"),
    ("undirected.dot", Some(1), "an undirected graph"),
    (
        "cycle.json",
        Some(6),
        "dependency cycle among tasks: a -> c -> b -> a",
    ),
    ("duplicate-id.json", Some(7), "two tasks have the id \"a\""),
    (
        "negative-runtime.json",
        Some(9),
        "`time` must be a finite number >= 0, got -4",
    ),
    (
        "no-runtime.json",
        Some(7),
        "task \"b\" has no measured runtime",
    ),
    ("no-tasks.json", None, "the workflow has no tasks"),
    ("no-workflow.json", None, "no `workflow` object"),
    ("syntax.json", Some(6), "not valid JSON"),
    (
        "unknown-parent.json",
        Some(7),
        "its parent \"nowhere\" is not a task of the workflow",
    ),
];

#[test]
fn every_broken_graph_is_refused_with_its_file_and_line() {
    let mut files: Vec<String> = std::fs::read_dir(graphs().join("invalid"))
        .expect("the folder is there")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    let mut listed: Vec<String> = INVALID.iter().map(|(f, _, _)| (*f).to_string()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "every invalid graph says how it must be refused, here"
    );
    for &(file, line, text) in INVALID {
        let path = fixture(&format!("invalid/{file}"));
        for args in [
            vec!["check", &path],
            vec!["--sim", "--headless", "--workload", &path],
        ] {
            let output = schedlab()
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(&args)
                .output()
                .expect("runs");
            let stderr = stderr_of(&output);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
            let at = match line {
                Some(line) => format!("schedlab: error: {path}:{line}:"),
                None => format!("schedlab: error: {path}: "),
            };
            assert!(stderr.starts_with(&at), "{args:?}: {stderr}");
            assert!(stderr.contains(text), "{args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

#[test]
fn a_simulated_schedule_is_never_shorter_than_the_optimum() {
    let optimal = std::fs::read_to_string(graphs().join("optimal.csv")).expect("the table");
    for row in optimal.lines().skip(1) {
        let fields: Vec<&str> = row.split(',').collect();
        let [graph, processors, best] = fields[..] else {
            panic!("optimal.csv: `{row}`");
        };
        let best: u64 = best.parse().expect("a whole number of units");
        let output = schedlab()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["--sim", "--policy", "fifo", "--workload", &fixture(graph)])
            .args(["--workers", processors, "--headless", "--json", "-"])
            .output()
            .expect("runs");
        assert!(output.status.success(), "{row}: {}", stderr_of(&output));
        let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
        let makespan = report["makespan_ns"].as_u64().expect("a makespan");
        // One unit is 1 ms unless `--unit` says otherwise.
        assert_eq!(report["time_unit_ns"], 1_000_000);
        assert_eq!(report["source"]["format"], "stg");
        assert!(
            makespan >= best * 1_000_000,
            "{graph} on {processors}: {makespan} ns, below the optimum of {best} ms"
        );
    }
}
