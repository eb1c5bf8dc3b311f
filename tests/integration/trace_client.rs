//! The `--trace` file read by a real trace parser: the Chrome DevTools trace engine (the code
//! behind the Performance panel), run by `tests/trace_client/check-trace.mjs` under Node.
//!
//! Our own trace test in `cli` checks the file against our reading of the format; this one
//! checks that the parser users will load it into agrees: one named track per worker, every
//! slice kept on it, and one task slice per attempt the report counts. The engine needs Node
//! and `npm ci --prefix tests/trace_client`; `.ci/run` installs both. Without them the test
//! fails when `CI` is set and is skipped, with a note, elsewhere.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

use crate::cli::{TempPath, schedlab, stderr_of};

/// The client's folder, or `None` (after failing on CI, or printing a note) if it cannot run.
fn client_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace_client");
    let node = std::process::Command::new("node").arg("--version").output();
    let missing = if !node.is_ok_and(|o| o.status.success()) {
        "`node` is not on PATH (install Node.js 18 or later)"
    } else if !dir.join("node_modules/@paulirish/trace_engine").is_dir() {
        "the DevTools trace engine is not installed (run `npm ci --prefix tests/trace_client`)"
    } else {
        return Some(dir);
    };
    // On CI a missing engine must not pass as a skipped test: `.ci/run` installs it.
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {missing}: the DevTools trace-engine test cannot run"
    );
    eprintln!("note: skipping the DevTools trace-engine test: {missing}");
    None
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Runs `workload` on `workers` workers with a trace and a JSON report, then the engine on the
/// trace; returns the report and the engine's summary, or `None` if the engine cannot run.
fn run_and_parse(workload: &str, workers: Option<usize>) -> Option<(Value, Value)> {
    let dir = client_dir()?;
    let trace = TempPath::new("engine-trace.json");
    let json = TempPath::new("engine-report.json");
    let mut cmd = schedlab();
    cmd.args(["--workload", workload, "--headless", "--trace"])
        .arg(&trace.0)
        .arg("--json")
        .arg(&json.0);
    if let Some(n) = workers {
        cmd.args(["--workers", &n.to_string()]);
    }
    let output = cmd.output().expect("the binary runs");
    assert!(output.status.success(), "{}", stderr_of(&output));

    let parsed = Command::new("node")
        .arg(dir.join("check-trace.mjs"))
        .arg(&trace.0)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Loading the engine takes about a second; a minute means it hangs.
        .timeout(Duration::from_secs(60))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&parsed.stdout);
    assert!(
        parsed.status.success(),
        "the DevTools trace engine rejected the trace ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
        parsed.status.code(),
        stderr_of(&parsed)
    );
    let summary: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("check-trace.mjs printed no JSON ({e}):\n{stdout}"));
    Some((read_json(&json.0), summary))
}

/// The engine's tracks, in `tid` order.
fn threads(summary: &Value) -> &[Value] {
    summary["threads"]
        .as_array()
        .unwrap_or_else(|| panic!("no threads in the engine's summary:\n{summary:#}"))
}

#[test]
fn devtools_engine_finds_a_named_track_per_worker_with_every_attempt() {
    let Some((report, summary)) = run_and_parse("webserver", Some(3)) else {
        return;
    };
    assert_eq!(summary["error"], Value::Null, "{summary:#}");
    assert_eq!(
        summary["problems"].as_array().map(Vec::len),
        Some(0),
        "check-trace.mjs found problems:\n{summary:#}"
    );
    assert_eq!(
        summary["processName"], "schedlab: webserver under steal",
        "the engine reads the process name"
    );

    let threads = threads(&summary);
    let names: Vec<(u64, &str)> = threads
        .iter()
        .map(|t| (t["tid"].as_u64().unwrap(), t["name"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        names[..3],
        [(0, "core 0"), (1, "core 1"), (2, "core 2")],
        "one track per worker, named as the trace names it:\n{summary:#}"
    );
    assert!(
        names.len() == 4 && names[3].0 == 3 && names[3].1.starts_with("critical path ("),
        "then the critical path's track:\n{summary:#}"
    );

    let workers = report["workers"].as_array().expect("report workers");
    assert_eq!(workers.len(), 3);
    for (t, w) in threads.iter().zip(workers) {
        let name = &t["name"];
        assert!(
            t["entries"].as_u64().unwrap() > 0,
            "{name}: the engine kept no events"
        );
        // The report counts each worker's attempts; the trace has one task slice per attempt.
        assert_eq!(
            t["taskSlices"], w["tasks"],
            "{name}: task slices the engine sees against the report's attempts"
        );
        // The webserver's requests sleep, so blocked slices lie inside the task slices.
        assert_eq!(
            t["tree"]["maxDepth"], 2,
            "{name}: blocked slices nest inside tasks"
        );
    }
}

/// The Performance panel draws a track by walking the engine's call tree, which leaves out any
/// slice that starts inside another and ends after it, even by a rounding error. Our times are
/// microseconds with nanosecond fractions, and a double's `ts + dur` of one slice can overshoot
/// the next slice's `ts` by one unit in the last place, so some slices are never drawn.
#[test]
fn devtools_engine_draws_every_slice() {
    // `big-little` has slowed-down cores (nested slowdown slices), `webserver` blocked ones.
    for (workload, workers) in [("webserver", Some(3)), ("big-little", None)] {
        let Some((_, summary)) = run_and_parse(workload, workers) else {
            return;
        };
        for t in threads(&summary) {
            let tree = &t["tree"];
            assert_eq!(
                tree["notDrawn"]["count"], 0,
                "{workload}, {}: slices outside the engine's tree are not drawn:\n{tree:#}",
                t["name"]
            );
            assert_eq!(tree["nodes"], t["entries"], "{workload}, {}", t["name"]);
        }
    }
}
