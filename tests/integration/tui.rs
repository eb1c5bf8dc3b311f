//! The live TUI of the real binary, driven through tmux as a user would drive it: it starts,
//! shows the per-core timeline, opens and closes the help, re-runs under the next policy, and
//! quits with status 0 and the terminal restored.
//!
//! tmux gives the binary a real terminal of a known size and lets the test read the screen
//! back as text. Each case runs on its own private tmux server (`-L`, named by the process id
//! and a counter), so cases running in parallel and the user's own tmux never see each other. The screen is
//! polled every 100 ms until it shows what a step waits for; no step sleeps blindly.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one step may wait for the screen to show what it expects.
const STEP: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// A tmux session running one command on a server of its own; dropping it kills the server
/// and removes its socket, so a failed test leaves nothing behind.
struct Session {
    socket: String,
    name: String,
    socket_path: Option<String>,
}

impl Session {
    /// Starts `command` in a detached 160×50 session, or returns `None` (after saying why)
    /// when tmux is not installed and this is not CI. On CI a missing tmux is a failure, so
    /// the test cannot pass there without having run.
    fn start(command: &str) -> Option<Session> {
        let installed = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is not installed, and CI is set: install tmux (.ci/run does) to run the TUI tests"
            );
            eprintln!("note: tmux is not installed; skipping the TUI test");
            return None;
        }
        let id = format!(
            "{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::Relaxed)
        );
        let mut session = Session {
            socket: format!("schedlab-test-{id}"),
            name: format!("schedlab-{id}"),
            socket_path: None,
        };
        let dir = env!("CARGO_MANIFEST_DIR");
        session.tmux(&[
            "new-session",
            "-d",
            "-s",
            &session.name,
            "-x",
            "160",
            "-y",
            "50",
            "-c",
            dir,
            command,
        ]);
        let path = session.tmux(&[
            "display-message",
            "-p",
            "-t",
            &session.name,
            "#{socket_path}",
        ]);
        session.socket_path = Some(String::from_utf8_lossy(&path.stdout).trim().to_string());
        Some(session)
    }

    /// Runs a tmux command on this session's server and returns its output. `-f /dev/null`
    /// keeps the user's configuration from changing the screen.
    fn tmux(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// The screen as text; with `escapes`, with the escape sequences of colours and attributes.
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", &self.name];
        if escapes {
            args.push("-e");
        }
        String::from_utf8_lossy(&self.tmux(&args).stdout).into_owned()
    }

    fn send(&self, key: &str) {
        self.tmux(&["send-keys", "-t", &self.name, key]);
    }

    /// Polls the screen until `ready` holds, and returns that screen; fails, showing the
    /// last screen, if it does not within [`STEP`].
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let screen = self.screen(false);
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {STEP:?} for {what}; the screen shows:\n{screen}"
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Best effort: the server may already be gone, and a panic here would hide the
        // test's own failure. tmux leaves its socket file behind, so remove it too.
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null", "kill-server"])
            .output();
        if let Some(path) = self.socket_path.as_deref().filter(|p| !p.is_empty()) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The shell command a session runs: the binary on the `imbalance` workload with two workers,
/// then its exit status, then a pause that keeps the pane (and the status) on screen.
fn command(env: &str, policy: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_schedlab");
    assert!(
        Path::new(bin).exists() && !bin.contains('\''),
        "the binary path {bin:?} can be quoted for the shell"
    );
    format!(
        "env {env} '{bin}' --policy {policy} --workload imbalance --workers 2; echo EXIT=$? ; sleep 30"
    )
}

/// The rows of the per-core timeline.
fn lanes(screen: &str) -> Vec<&str> {
    screen.lines().filter(|l| l.starts_with("core ")).collect()
}

fn shows_cores(screen: &str) -> bool {
    let lanes = lanes(screen);
    lanes.iter().any(|l| l.starts_with("core 0 ")) && lanes.iter().any(|l| l.starts_with("core 1 "))
}

/// Help, re-run under the next policy, quit: the walk both cases take once the timeline shows.
fn walk(session: &Session, first: &str, next: &str) {
    session.send("?");
    session.wait_for("the help overlay", |s| {
        s.contains("help (? or Esc to close)") && s.contains("Keys")
    });
    session.send("Escape");
    session.wait_for("the help to close", |s| {
        !s.contains("help (? or Esc to close)") && shows_cores(s)
    });

    session.send("p");
    let header = format!("policy {next} ");
    let rows = [format!("│  1 {first} "), format!("│  2 {next} ")];
    session.wait_for(
        &format!("the header to show {next} and the runs table two runs"),
        |s| {
            s.lines().next().is_some_and(|h| h.contains(&header))
                && rows.iter().all(|r| s.contains(r.as_str()))
        },
    );

    session.send("q");
    let screen = session.wait_for("the binary to exit", |s| s.contains("EXIT="));
    assert!(
        screen.contains("EXIT=0"),
        "`q` leaves with status 0:\n{screen}"
    );
    assert!(
        !screen.contains("core 0") && !screen.contains("per-core timeline"),
        "the alternate screen is gone and the shell's screen is back:\n{screen}"
    );
}

#[test]
fn tui_starts_helps_reruns_and_quits_cleanly() {
    let Some(session) = Session::start(&command("-u NO_COLOR", "steal")) else {
        return;
    };
    session.wait_for("the timeline of core 0 and core 1", shows_cores);
    // The colours really are on without NO_COLOR, so the case below checks something.
    assert!(
        session.screen(true).contains("\x1b["),
        "the TUI draws in colour"
    );
    walk(&session, "steal", "hetero");
}

/// The SGR parameters in `screen` that set a colour (foreground or background, 16, 256 or
/// true colour). Attributes such as bold and underline are not colour, and NO_COLOR allows them.
fn colour_codes(screen: &str) -> Vec<String> {
    screen
        .split("\x1b[")
        .skip(1)
        .filter_map(|rest| rest.split_once('m').map(|(params, _)| params))
        .filter(|params| {
            params.split(';').any(|p| {
                p.parse::<u32>()
                    .is_ok_and(|n| matches!(n, 30..=38 | 40..=48 | 90..=97 | 100..=107))
            })
        })
        .map(str::to_string)
        .collect()
}

/// Under NO_COLOR the screen carries no colour, and states are still told apart: an idle
/// core shows '·'. Round-robin is the policy here because it leaves a core idle for certain
/// (the other holds the 100 ms task and half the small ones), where stealing may not.
#[test]
fn tui_without_colour_shows_states_by_symbol() {
    let Some(session) = Session::start(&command("NO_COLOR=1", "rr")) else {
        return;
    };
    session.wait_for("an idle cell '·' in a core's row", |s| {
        shows_cores(s) && lanes(s).iter().any(|l| l.contains('·'))
    });
    let coloured = session.screen(true);
    let colours = colour_codes(&coloured);
    assert!(
        colours.is_empty(),
        "no colour under NO_COLOR, found {colours:?} in:\n{coloured:?}"
    );
    walk(&session, "rr", "steal");
}

/// A shell command running the binary with `args`, then its exit status (see [`command`]).
fn command_with(args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_schedlab");
    format!("'{bin}' {args}; echo EXIT=$? ; sleep 30")
}

#[test]
fn a_recording_replays_pauses_rewinds_and_quits() {
    let Some(session) = Session::start(&command_with("replay tests/recordings/faults-v1.rec"))
    else {
        return;
    };
    session.wait_for("the recorded run replaying", |s| {
        shows_cores(s) && s.lines().next().is_some_and(|h| h.contains("replaying"))
    });
    session.send("Space");
    session.wait_for("the replay to pause", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("replay paused"))
    });
    session.send("0");
    session.wait_for("the playhead back at the start", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("replay paused") && h.contains("at 0 ns"))
    });
    session.send("q");
    let screen = session.wait_for("the binary to exit", |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
}

#[test]
fn a_headless_run_on_a_terminal_shows_a_progress_bar_and_clears_it() {
    // About 4 s of work on 2 workers: long enough for the bar, which waits a second.
    let workload = crate::cli::TempPath::with_text(
        "bar.ron",
        r#"(name: "bar", groups: [(name: "t", kernel: Spin(us: 1000.0), count: 8000)])"#,
    );
    let path = workload.0.to_str().expect("a UTF-8 temporary path");
    shows_a_bar_then_clears_it(
        &format!("--workload '{path}' --headless --workers 2 --no-pin"),
        "steal [",
        "/8000 tasks",
    );
}

/// Runs the binary with `args` on a terminal, waits for a progress bar (`start` and `count` on
/// one screen), then for a clean exit with the bar gone; returns that last screen.
fn shows_a_bar_then_clears_it(args: &str, start: &str, count: &str) -> Option<String> {
    let session = Session::start(&command_with(args))?;
    let screen = session.wait_for("the progress bar", |s| s.contains(count));
    assert!(screen.contains(start), "{screen}");
    let screen = session.wait_for("the binary to exit", |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(!screen.contains(count), "the bar is cleared:\n{screen}");
    Some(screen)
}

#[test]
fn a_headless_sweep_on_a_terminal_shows_a_bar_of_its_runs() {
    // Five sizes, each a baseline run and one run per policy.
    let Some(screen) = shows_a_bar_then_clears_it(
        "sweep --headless --total-ms 200 --sizes 10us..1ms --policies rr,steal --workers 2 --no-pin",
        "sweep [",
        "/15 runs",
    ) else {
        return;
    };
    assert!(marks_one_best(&screen), "the table:\n{screen}");
}

#[test]
fn the_sweep_is_charted_as_it_runs_and_its_table_printed_after() {
    let Some(session) = Session::start(&command_with(
        "sweep --total-ms 4 --sizes 10us..1ms --policies rr,steal --workers 2 --no-pin",
    )) else {
        return;
    };
    let screen = session.wait_for("the finished chart", |s| {
        s.contains("q: leave and print the table")
    });
    // Five sizes (two steps a decade) under two policies.
    assert!(screen.contains("10 points measured"), "{screen}");
    assert!(
        screen.contains("task size (log₁₀)") && screen.contains("100µs"),
        "{screen}"
    );
    session.send("q");
    let screen = session.wait_for("the binary to exit", |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        marks_one_best(&screen),
        "the table follows the chart:\n{screen}"
    );
}

/// Whether a sweep's table on `screen` marks one best row, or says that no size gained (which
/// a busy test machine can make true of a short sweep).
fn marks_one_best(screen: &str) -> bool {
    match screen.matches("<- best").count() {
        0 => screen.contains("no size gained"),
        marked => marked == 1,
    }
}

#[test]
fn t_walks_the_guided_tour_in_the_tui() {
    let Some(session) = Session::start(&command("-u NO_COLOR", "steal")) else {
        return;
    };
    session.wait_for("the timeline", shows_cores);
    session.send("t");
    session.wait_for("lesson 1 measured", |s| {
        s.contains("lesson 1 of 7: Distinct tasks vs data-parallel chunks")
            && s.contains("Measured: ")
            && !s.contains("Measured: running")
    });
    session.send("t");
    session.wait_for("lesson 2", |s| s.contains("lesson 2 of 7: Granularity"));
    session.send("q");
    let screen = session.wait_for("the binary to exit", |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
}

#[test]
fn ctrl_c_in_the_tui_restores_the_terminal_and_exits_130() {
    let workload = crate::cli::TempPath::with_text(
        "long-tui.ron",
        r#"(name: "long", groups: [(name: "t", kernel: Spin(us: 1000.0), count: 40000)])"#,
    );
    let path = workload.0.to_str().expect("a UTF-8 temporary path");
    let Some(session) = Session::start(&command_with(&format!(
        "--workload '{path}' --workers 2 --no-pin"
    ))) else {
        return;
    };
    session.wait_for("the running timeline", |s| {
        shows_cores(s) && s.lines().next().is_some_and(|h| h.contains("running"))
    });
    session.send("C-c");
    let screen = session.wait_for("the binary to exit", |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=130"), "{screen}");
    assert!(
        !screen.contains("per-core timeline"),
        "the terminal is restored:\n{screen}"
    );
}

#[test]
fn a_simulated_run_says_so_and_plays_back_at_a_watchable_pace() {
    let Some(session) = Session::start(&command_with(
        "--sim --workers 64 --policy steal --workload fork-join",
    )) else {
        return;
    };
    let screen = session.wait_for("the simulated run playing back", |s| {
        s.lines().next().is_some_and(|h| {
            h.contains("SIMULATED") && h.contains("64 simulated cores") && h.contains("replaying")
        })
    });
    assert!(!screen.contains("oversubscribed"), "{screen}");
    session.send("Space");
    session.wait_for("the playback to pause", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("replay paused"))
    });
    // Another policy's run is simulated too.
    session.send("p");
    session.wait_for("a rerun under the next policy, simulated", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("SIMULATED") && h.contains("hetero"))
    });
    session.send("q");
    let screen = session.wait_for("the binary to exit", |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
}

/// Whether an SGR sequence in `line` turns underlining on.
fn underlined(line: &str) -> bool {
    line.split("\x1b[")
        .skip(1)
        .filter_map(|rest| rest.split_once('m').map(|(params, _)| params))
        .any(|params| params.split(';').any(|p| p == "4"))
}

#[test]
fn a_real_workflow_runs_live_with_its_critical_path_underlined() {
    // Montage as Pegasus ran it (WfInstances), each second of its runtimes a millisecond.
    let Some(session) = Session::start(&command_with(
        "--workload montage --policy cp --workers 2 --no-pin",
    )) else {
        return;
    };
    let screen = session.wait_for("the workflow run to finish", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("montage") && h.contains("done"))
            && shows_cores(s)
    });
    assert!(
        screen.contains("mProject"),
        "its kinds are its groups:\n{screen}"
    );
    let escaped = session.screen(true);
    let core_rows: Vec<&str> = escaped
        .lines()
        .filter(|l| l.contains("core 0") || l.contains("core 1"))
        .collect();
    assert!(
        core_rows.iter().any(|l| underlined(l)),
        "the attempts on the critical path are underlined:\n{escaped:?}"
    );
    session.send("q");
    let screen = session.wait_for("the binary to exit", |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
}
