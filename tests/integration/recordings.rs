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

    // The recording is compact: well under the 16 bytes an event takes in memory. (The
    // header grows with the run's length, a queue sample every 10 ms, so it is left out.)
    let recording = Recording::load(&rec.0).expect("loads");
    let events = recording.timeline.len() as u64;
    let size = std::fs::metadata(&rec.0).expect("written").len();
    let header = serde_json::to_vec(&recording.header).expect("JSON").len() as u64;
    assert!(events > 100, "{events} events recorded");
    assert!(
        size < 200 + header + events * 10,
        "{size} bytes for {events} events and a header of {header}"
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

/// A run of a few milliseconds with retries, failures and a dependency: a small recording.
const SMALL: &str = r#"(name: "small", seed: 9,
    faults: Faults(panic_rate: 0.3, max_retries: 1),
    groups: [
        (name: "work", kernel: Spin(us: 50.0), count: 12),
        (name: "then", kernel: Spin(us: 20.0), count: 4, after: ["work"]),
    ])"#;

/// Records [`SMALL`] on 2 workers with the binary; returns the recording's path.
fn small_recording() -> TempPath {
    let workload = TempPath::with_text("small.ron", SMALL);
    let rec = TempPath::new("small.rec");
    let output = schedlab()
        .arg("--workload")
        .arg(&workload.0)
        .args(["--headless", "--workers", "2", "--record"])
        .arg(&rec.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr_of(&output));
    rec
}

/// Where each section of a version 2 recording starts: the header's checksum, then each
/// worker's events (their length first).
fn section_starts(bytes: &[u8]) -> Vec<usize> {
    let word = |at: usize, n: usize| {
        bytes[at..at + n]
            .iter()
            .rev()
            .fold(0usize, |v, &b| v << 8 | usize::from(b))
    };
    let magic = schedlab::recording::MAGIC.len();
    let mut starts = vec![magic + 8 + word(magic + 4, 4)];
    let mut at = starts[0] + 4;
    while at < bytes.len() {
        starts.push(at);
        at += 8 + word(at, 8) + 4;
    }
    starts
}

/// Reads `bytes` as a recording; returns why they were refused, or `None` if they loaded.
fn refusal(bytes: &[u8]) -> Option<String> {
    Recording::read(&mut &bytes[..], "damaged.rec")
        .err()
        .map(|e| format!("{e:#}"))
}

#[test]
fn a_damaged_recording_is_refused_with_where_it_breaks_and_no_figures() {
    let rec = small_recording();
    let whole = bytes(&rec);
    let starts = section_starts(&whole);
    assert_eq!(
        starts.len(),
        3,
        "the header's checksum and 2 workers' events"
    );

    let mut tail = whole.clone();
    tail.extend_from_slice(b"\n\n\n");
    let mut time = whole.clone();
    // The first byte after core 1's length is the time of its first event.
    time[starts[2] + 8] ^= 0x04;
    let mut header = whole.clone();
    header[60] ^= 0x01;
    let mut recording = Recording::load(&rec.0).expect("the recording loads");
    recording.header.report.tasks.completed += 1;
    let mut counts = Vec::new();
    recording.write(&mut counts).expect("writes");
    let cut = whole[..whole.len() - 3].to_vec();

    let damaged = [
        (
            tail,
            format!(
                "3 bytes after the end of the recording, from byte {}",
                whole.len()
            ),
        ),
        (
            time,
            format!("damaged in core 1's events (bytes {} to", starts[2]),
        ),
        (header, "damaged in the header (bytes 0 to".to_string()),
        (counts, "the report's task counts do not add up".to_string()),
        (
            cut,
            "truncated recording (in the checksum of core 1's events".to_string(),
        ),
    ];
    for (bytes, expected) in damaged {
        let path = TempPath::new("damaged.rec");
        std::fs::write(&path.0, &bytes).expect("write");
        let output = schedlab()
            .arg("replay")
            .arg(&path.0)
            .arg("--headless")
            .output()
            .expect("runs");
        let stderr = stderr_of(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "refused as bad input: {stderr}"
        );
        assert!(
            stderr.contains(&format!("{}: ", path.0.display())) && stderr.contains(&expected),
            "expected the file and {expected:?} in:\n{stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "no figures are printed from a damaged recording"
        );
    }
}

#[test]
fn every_cut_and_every_flipped_bit_of_a_recording_is_refused() {
    let rec = small_recording();
    let whole = bytes(&rec);
    assert!(refusal(&whole).is_none(), "the whole recording loads");
    for len in 0..whole.len() {
        let why = refusal(&whole[..len]).unwrap_or_else(|| panic!("cut to {len} bytes, it loaded"));
        assert!(
            why.contains("truncated") || why.contains("not a schedlab recording"),
            "cut to {len} bytes: {why}"
        );
    }
    for at in 0..whole.len() {
        let mut flipped = whole.clone();
        flipped[at] ^= 1 << (at % 8);
        assert!(
            refusal(&flipped).is_some(),
            "byte {at} flipped, the recording still loaded"
        );
    }
}

#[test]
fn the_version_1_recording_damaged_is_refused_or_loads_consistent_figures() {
    // Version 1 has no checksum, so only what a flip makes inconsistent can refuse it. None may
    // panic, bytes after the end and every cut must be refused, and most flips are.
    let whole =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings/faults-v1.rec"))
            .expect("fixture");
    let mut tail = whole.clone();
    tail.push(0);
    let why = refusal(&tail).expect("a byte after the end is refused");
    assert!(
        why.contains(&format!(
            "1 bytes after the end of the recording, from byte {}",
            whole.len()
        )),
        "{why}"
    );
    for len in (0..whole.len()).step_by(7) {
        assert!(
            refusal(&whole[..len]).is_some(),
            "cut to {len} bytes, it loaded"
        );
    }
    let mut refused = 0;
    for at in 0..whole.len() {
        let mut flipped = whole.clone();
        flipped[at] ^= 1 << (at % 8);
        match Recording::read(&mut flipped.as_slice(), "flipped.rec") {
            Err(_) => refused += 1,
            Ok(recording) => {
                let t = recording.report().tasks;
                assert_eq!(t.completed + t.failed + t.cancelled, t.total, "byte {at}");
                assert_eq!(t.total, recording.plan.total as u64, "byte {at}");
            }
        }
    }
    assert!(
        refused * 10 >= whole.len() * 8,
        "{refused} of {} flips refused",
        whole.len()
    );
}
