//! `--record PATH` and `schedlab replay PATH`: a recording gives back exactly what the live
//! run wrote, and recordings of older format versions keep opening.

use std::path::Path;

use schedlab::record::Kind;
use schedlab::recording::Recording;

use crate::cli::{TempPath, schedlab, stderr_of};

fn bytes(path: &TempPath) -> Vec<u8> {
    std::fs::read(&path.0).unwrap_or_else(|e| panic!("{} was not written: {e}", path.0.display()))
}

#[test]
fn a_replay_writes_exactly_what_the_live_run_wrote() {
    let [rec, json, csv, trace] =
        ["run.rec", "run.json", "run.csv", "run.trace"].map(TempPath::new);
    let output = schedlab()
        .args([
            "--workload",
            "faults",
            "--headless",
            "--workers",
            "3",
            "--record",
        ])
        .arg(&rec.0)
        .arg("--json")
        .arg(&json.0)
        .arg("--csv")
        .arg(&csv.0)
        .arg("--trace")
        .arg(&trace.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("schedlab replay"),
        "says how to replay"
    );

    let [json2, csv2, trace2] = ["again.json", "again.csv", "again.trace"].map(TempPath::new);
    let output = schedlab()
        .arg("replay")
        .arg(&rec.0)
        .arg("--json")
        .arg(&json2.0)
        .arg("--csv")
        .arg(&csv2.0)
        .arg("--trace")
        .arg(&trace2.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        summary.contains("faults under steal on 3 workers"),
        "{summary}"
    );
    assert!(
        bytes(&json) == bytes(&json2),
        "the report is the recorded one, to the last digit"
    );
    assert!(
        bytes(&csv) == bytes(&csv2),
        "every attempt's row comes back"
    );
    assert!(
        bytes(&trace) == bytes(&trace2),
        "the trace is the live run's, byte for byte"
    );

    // The recording is compact: well under the 16 bytes an event takes in memory.
    let recording = Recording::load(&rec.0).expect("loads");
    let events = recording.timeline.len() as u64;
    let size = std::fs::metadata(&rec.0).expect("written").len();
    assert!(events > 100, "{events} events recorded");
    assert!(
        size < 2_000 + recording.header.workload.len() as u64 * 2 + events * 10,
        "{size} bytes for {events} events"
    );
}

#[test]
fn a_version_1_recording_still_opens() {
    // Recorded by schedlab 0.1.0 from the shipped `faults` workload, 2 workers, seed 31. Later
    // versions must keep loading this file; never regenerate it.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings/faults-v1.rec");
    let recording = Recording::load(&path).expect("a version 1 recording loads");
    let report = recording.report();
    assert_eq!(report.workload, "faults");
    assert_eq!(report.policy, "steal");
    assert_eq!(report.seed, 31);
    assert_eq!(recording.machine.workers(), 2);
    let t = report.tasks;
    assert_eq!(
        t.total, recording.plan.total as u64,
        "the workload compiles to the same tasks"
    );
    assert!(t.failed > 0 && t.cancelled > 0 && t.retried > 0, "{t:?}");
    // Every recorded attempt is there: a `Run` per attempt the report counted, per worker.
    for (w, events) in recording.timeline.workers.iter().enumerate() {
        let runs = events.iter().filter(|e| e.kind == Kind::Run).count() as u64;
        assert_eq!(runs, report.workers[w].tasks, "core {w}'s attempts");
        assert!(
            events.windows(2).all(|p| p[0].t <= p[1].t),
            "core {w} in time order"
        );
    }
    let waits: u64 = recording.group_waits().iter().map(|h| h.len()).sum();
    assert_eq!(
        waits,
        report.workers.iter().map(|w| w.tasks).sum::<u64>(),
        "a wait per attempt"
    );

    let json = TempPath::new("v1.json");
    let output = schedlab()
        .arg("replay")
        .arg(&path)
        .args(["--headless", "--json"])
        .arg(&json.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    let replayed: schedlab::report::Report =
        serde_json::from_slice(&bytes(&json)).expect("the report is JSON");
    assert_eq!(&replayed, report);
}

#[test]
fn what_is_not_a_recording_is_refused_with_a_reason() {
    let not = TempPath::new("not.rec");
    std::fs::write(&not.0, "(name: \"x\", groups: [])").expect("write");
    let cut = TempPath::new("cut.rec");
    let whole =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings/faults-v1.rec"))
            .expect("fixture");
    std::fs::write(&cut.0, &whole[..whole.len() - 100]).expect("write");
    let missing = TempPath::new("missing.rec");
    for (path, expected) in [
        (&not, "is not a schedlab recording"),
        (&cut, "truncated or corrupt recording (in core 1's events)"),
        (&missing, "cannot open"),
    ] {
        let output = schedlab()
            .arg("replay")
            .arg(&path.0)
            .arg("--headless")
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "bad input");
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in:\n{stderr}"
        );
    }
}
