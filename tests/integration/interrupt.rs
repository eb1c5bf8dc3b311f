//! Ctrl-C on the real binary: a run stops promptly, writes its partial report and exits with
//! 130, even while a long task body is running (every long loop looks at the stop flag), and a
//! second Ctrl-C that lands while an output is written leaves the earlier file as it was.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use std::io::{BufRead, BufReader};

use crossbeam::channel::Receiver;

use crate::cli::TempPath;

fn spawn(args: &[&str], workload: &TempPath) -> Child {
    Command::new(env!("CARGO_BIN_EXE_schedlab"))
        .arg("--workload")
        .arg(&workload.0)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -INT {}", child.id());
}

/// The child's stderr, line by line, read on a thread of its own.
fn stderr_lines(child: &mut Child) -> Receiver<String> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = crossbeam::channel::unbounded();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits until the binary says it is running (it has its Ctrl-C handler by then).
fn started(lines: &Receiver<String>) {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the run starts and says so");
        if line.contains("running") {
            return;
        }
    }
}

/// User CPU time `pid` has used, in clock ticks (Linux `/proc/PID/stat`, field 14).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after its `)` are plain.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(11))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// Waits until `child` has used `ticks` clock ticks of CPU: it is working, whatever the load.
fn busy_for(child: &Child, ticks: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while cpu_ticks(child.id()) < ticks {
        assert!(Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits up to `limit` for `child` to exit; kills it and fails if it does not.
fn exit_within(mut child: Child, limit: Duration, what: &str) -> (Option<i32>, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            let output = child.wait_with_output().expect("output");
            return (
                status.code(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_stops_a_headless_run_and_writes_the_partial_report() {
    // 20 s of 1 ms tasks on 2 workers: far longer than the test waits.
    let workload = TempPath::with_text(
        "long.ron",
        r#"(name: "long", groups: [(name: "t", kernel: Spin(us: 1000.0), count: 40000)])"#,
    );
    // An earlier report at the path is replaced whole by the partial one.
    let json = TempPath::with_text("interrupted.json", "an earlier report");
    let mut child = spawn(
        &[
            "--headless",
            "--workers",
            "2",
            "--no-pin",
            "--json",
            json.0.to_str().unwrap(),
        ],
        &workload,
    );
    let lines = stderr_lines(&mut child);
    started(&lines);
    // Let some tasks finish (a fifth of a second of CPU), so the partial report has both kinds.
    busy_for(&child, 20);
    let sent = Instant::now();
    interrupt(&child);
    let (code, stdout) = exit_within(child, Duration::from_secs(10), "after one Ctrl-C");
    assert_eq!(code, Some(130), "{stdout}");
    assert!(
        stdout.contains("makespan"),
        "the partial summary is printed:\n{stdout}"
    );
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "stopped promptly: {:?}",
        sent.elapsed()
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json.0).expect("written")).expect("JSON");
    assert_eq!(report["interrupted"], true);
    let t = &report["tasks"];
    let n = |k: &str| t[k].as_u64().unwrap();
    assert_eq!(n("completed") + n("failed") + n("cancelled"), n("total"));
    assert!(n("completed") > 0 && n("cancelled") > 0, "{t}");
    assert!(
        temporaries_of(&json).is_empty(),
        "no temporary file is left beside the report"
    );
}

/// The temporary files `schedlab` writes beside `path` (`.NAME.XXXXXX.tmp`) that exist now.
fn temporaries_of(path: &TempPath) -> Vec<String> {
    let name = path.0.file_name().expect("a file name").to_string_lossy();
    let prefix = format!(".{name}.");
    let dir = path.0.parent().expect("a folder");
    std::fs::read_dir(dir)
        .expect("list the folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix) && n.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_second_ctrl_c_while_writing_keeps_the_earlier_file() {
    // Five million 1 µs tasks, traced: a fifth of a second of the run makes a trace of tens of
    // megabytes, long enough to write that the second Ctrl-C lands in the middle.
    let workload = TempPath::with_text(
        "many.ron",
        r#"(name: "many", groups: [(name: "t", kernel: Spin(us: 1.0), count: 5000000)])"#,
    );
    let trace = TempPath::with_text("cut.trace", "an earlier trace");
    let mut child = spawn(
        &[
            "--headless",
            "--workers",
            "2",
            "--no-pin",
            "--trace",
            trace.0.to_str().unwrap(),
        ],
        &workload,
    );
    let lines = stderr_lines(&mut child);
    started(&lines);
    busy_for(&child, 20);
    interrupt(&child);
    // The first Ctrl-C stops the run; the trace is written next, into a temporary file.
    let deadline = Instant::now() + Duration::from_secs(30);
    while temporaries_of(&trace).is_empty() {
        assert!(
            child.try_wait().expect("waits").is_none(),
            "the trace was written before the test could interrupt it: make the run longer"
        );
        assert!(Instant::now() < deadline, "the trace is never written");
        std::thread::sleep(Duration::from_millis(2));
    }
    interrupt(&child);
    let (code, _) = exit_within(child, Duration::from_secs(10), "after a second Ctrl-C");
    assert_eq!(code, Some(130));
    let kept = std::fs::read_to_string(&trace.0).expect("the trace file is still there");
    assert!(
        serde_json::from_str::<Value>(&kept).is_err(),
        "the new trace was written whole before the second Ctrl-C landed: make the run longer"
    );
    assert!(
        kept == "an earlier trace",
        "the write was cut short, so the earlier trace stays ({} bytes there)",
        kept.len()
    );
    assert!(
        temporaries_of(&trace).is_empty(),
        "the unfinished temporary file is removed: {:?}",
        temporaries_of(&trace)
    );
}

/// Every kind of loop that can run for long inside one task (each kernel's, a slow core's
/// emulated slowdown, a blocking wait), as a one-task workload taking a minute or more.
const LONG_TASKS: &[(&str, &str)] = &[
    ("spin", "Spin(us: 60000000.0)"),
    ("sleep", "Sleep(us: 60000000.0)"),
    ("request io", "Request(cpu_us: 10.0, io_us: 60000000.0)"),
    ("matmul", "MatMul(n: 4000)"),
    ("sort", "Sort(len: 100000000)"),
    (
        "mandelbrot",
        "Mandelbrot(width: 4, height: 4, max_iter: 4000000000)",
    ),
    ("stencil", "Stencil(cells: 16, steps: 100000000000)"),
    (
        "train",
        "Train(samples: 100, features: 10, epochs: 1000000000)",
    ),
    ("blur", "Blur(width: 60000, height: 4000, radius: 50)"),
];

#[test]
fn one_ctrl_c_ends_a_run_within_a_second_whatever_its_long_task_is_doing() {
    let mut cases: Vec<(String, String)> = LONG_TASKS
        .iter()
        .map(|(what, kernel)| {
            (
                (*what).to_string(),
                format!(r#"(name: "stuck", groups: [(name: "t", kernel: {kernel}, count: 1)])"#),
            )
        })
        .collect();
    // A core 1000 times slower keeps spinning for 50 s after a 50 ms body.
    cases.push((
        "slow core".into(),
        r#"(name: "stuck", machine: (workers: 1, speeds: [0.001]), groups: [(name: "t", kernel: Spin(us: 50000.0), count: 1)])"#.into(),
    ));
    for (what, text) in cases {
        let workload = TempPath::with_text("stuck.ron", &text);
        let json = TempPath::new("stuck.json");
        let mut child = spawn(
            &[
                "--headless",
                "--workers",
                "1",
                "--no-pin",
                "--json",
                json.0.to_str().unwrap(),
            ],
            &workload,
        );
        let lines = stderr_lines(&mut child);
        started(&lines);
        if what.contains("sleep") || what.contains("io") {
            // Nothing to burn: give the task time to be well inside its wait.
            std::thread::sleep(Duration::from_millis(300));
        } else {
            // Once the process has burnt a fifth of a second, the task body is running.
            busy_for(&child, 20);
        }
        let sent = Instant::now();
        interrupt(&child);
        let (code, stdout) = exit_within(child, Duration::from_secs(20), &what);
        let took = sent.elapsed();
        assert_eq!(code, Some(130), "{what}: {stdout}");
        // A second is the promise; the margin is for a loaded CI machine.
        assert!(
            took < Duration::from_secs(2),
            "{what}: stopped after {took:?}"
        );
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&json.0).expect("written"))
                .expect("JSON");
        assert_eq!(report["interrupted"], true, "{what}");
        assert_eq!(
            report["tasks"]["completed"], 0,
            "{what}: the task did not finish"
        );
        assert_eq!(report["tasks"]["cancelled"], 1, "{what}");
        assert_eq!(
            report["work_ns"], 0,
            "{what}: a task cut short is no work done"
        );
        let efficiency = report["efficiency"].as_f64().expect("a number");
        assert!(efficiency <= 1.0, "{what}: efficiency {efficiency}");
    }
}
