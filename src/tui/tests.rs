//! Rendering tests of the TUI: insta snapshots of every screen, drawn with ratatui's
//! `TestBackend` from a synthetic run, plus exact-buffer checks and key-handling transitions.
//!
//! The run is made by hand — fixed events, progress samples and a hand-built [`RunResult`] —
//! so every number on screen is the same on every machine and no snapshot needs a filter.
//! Two workers follow a script that shows every state a cell can be in: task bodies of three
//! groups, scheduler time, idle and parked time, a blocking body, a panicked attempt that is
//! retried, and steals.

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

use super::app::{App, Overlay};
use super::input::{Action, event_action};
use crate::exec::{Progress, RunResult, Tally, WorkerStats};
use crate::plan::Plan;
use crate::record::{Chunk, Event, Kind, Outcome, Timeline};
use crate::report::fmt_ns;
use crate::workload::{Overrides, parse};

/// Three groups: task 0 is `big`, tasks 1–6 are `small`, tasks 7–8 are `io`.
const WORKLOAD: &str = r#"(
    name: "lab",
    description: "A synthetic run for the TUI's snapshots: one big task, small ones, two that block.",
    seed: 7,
    groups: [
        (name: "big", kernel: Spin(us: 400.0), count: 1),
        (name: "small", kernel: Spin(us: 50.0), count: 6),
        (name: "io", kernel: Sleep(us: 100.0), count: 2),
    ],
)"#;

/// The end of the scripted run in ns: on a 160-column screen the timeline is 117 cells wide,
/// so a cell is exactly 10 µs and the script's 10 µs steps land on cell edges.
const END: u64 = 1_170_000;

/// A session on [`WORKLOAD`] with this machine, its first run under `policy` not yet started.
fn app_with(overrides: &Overrides, policy: &'static str) -> App {
    let loaded = parse(WORKLOAD, "lab.ron").expect("the test workload parses");
    let w = loaded.workload;
    let machine = w
        .resolve_machine(overrides)
        .expect("the test machine resolves");
    let mut app = App::new(
        &w.name,
        &w.description,
        Plan::new(&w, w.seed),
        machine,
        policy,
    );
    // The snapshots show the machine's cores: the same on every machine.
    app.cores = 2;
    app
}

fn workers(n: usize) -> Overrides {
    Overrides {
        workers: Some(n),
        ..Overrides::default()
    }
}

fn ev(t: u64, kind: Kind, task: u32, aux: u16) -> Event {
    Event {
        t,
        task,
        kind,
        attempt: 1,
        aux,
    }
}

/// The events of one worker: pattern `w % 2`, every time multiplied by `scale / 10` and
/// shifted by `shift` ns. Slow workers (`speed < 1`) spend the second half of each computing
/// body emulating their slowness, as the executor records it.
fn script(w: usize, scale: u64, shift: u64, speed: f64) -> Vec<Event> {
    let done = Outcome::Completed as u16;
    let events = if w.is_multiple_of(2) {
        vec![
            ev(0, Kind::Take, 0, 0),
            ev(10_000, Kind::Run, 0, 0),
            ev(410_000, Kind::Take, 0, done),
            ev(420_000, Kind::Run, 1, 0),
            ev(470_000, Kind::Push, 0, done),
            ev(480_000, Kind::Run, 7, 0),
            ev(500_000, Kind::Block, 7, 0),
            ev(600_000, Kind::Take, 0, done),
            ev(610_000, Kind::Run, 2, 0),
            // The first attempt of task 2 panics and is retried.
            ev(700_000, Kind::Take, 0, Outcome::Retry as u16),
            Event {
                attempt: 2,
                ..ev(710_000, Kind::Run, 2, 0)
            },
            ev(760_000, Kind::Take, 0, done),
            ev(770_000, Kind::Idle, 0, 0),
            ev(900_000, Kind::Park, 0, 0),
            ev(1_100_000, Kind::Exit, 0, 0),
        ]
    } else {
        vec![
            ev(0, Kind::Take, 0, 0),
            ev(5_000, Kind::Run, 3, 0),
            ev(55_000, Kind::Take, 0, done),
            ev(60_000, Kind::Run, 4, 0),
            ev(110_000, Kind::Steal, 0, done),
            // Stolen from worker 0 (aux is the victim + 1).
            ev(130_000, Kind::Run, 5, 1),
            ev(180_000, Kind::Take, 0, done),
            ev(190_000, Kind::Idle, 0, 0),
            ev(300_000, Kind::Steal, 0, 0),
            ev(320_000, Kind::Run, 6, 1),
            ev(370_000, Kind::Take, 0, done),
            ev(380_000, Kind::Run, 8, 0),
            ev(390_000, Kind::Block, 8, 0),
            ev(590_000, Kind::Take, 0, done),
            ev(600_000, Kind::Idle, 0, 0),
            ev(700_000, Kind::Park, 0, 0),
            ev(END, Kind::Exit, 0, 0),
        ]
    };
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let e = Event {
            t: e.t * scale / 10 + shift,
            ..*e
        };
        out.push(e);
        if speed < 1.0
            && e.kind == Kind::Run
            && let Some(next) = events.get(i + 1).filter(|n| !n.kind.is_inside_task())
        {
            let end = next.t * scale / 10 + shift;
            out.push(ev((e.t + end) / 2, Kind::Slow, e.task, 0));
        }
    }
    out
}

/// Starts the next queued run and feeds it every worker's script, in two chunks per worker
/// interleaved across workers as the channel delivers them, and 24 progress samples.
fn play(app: &mut App, scale: u64) {
    app.next_run()
        .expect("a run is queued and none is going on");
    let speeds = app.machine.speeds.clone();
    let scripts: Vec<Vec<Event>> = speeds
        .iter()
        .enumerate()
        .map(|(w, &speed)| script(w, scale, (w as u64 / 2 % 8) * 2_000, speed))
        .collect();
    for half in 0..2 {
        for (worker, events) in scripts.iter().enumerate() {
            let (first, second) = events.split_at(events.len() / 2);
            let events = if half == 0 { first } else { second };
            app.add_chunk(&Chunk {
                worker,
                events: events.to_vec(),
            });
        }
    }
    let end = END * scale / 10;
    let total = app.plan.total;
    for i in 1..=24u64 {
        let queued: Vec<usize> = (0..speeds.len())
            .map(|w| (24 - i as usize) / (w + 2))
            .collect();
        app.progress(Progress {
            finished: total * i as usize / 24,
            total,
            elapsed: Duration::from_nanos(end * i / 24),
            queued,
            queued_shared: 0,
        });
    }
    // As the TUI's loop does a few times a second.
    app.refresh_diagnostics();
}

/// What the executor would have measured for the run just played, built from its lanes.
fn result(app: &App, scale: u64) -> RunResult {
    let run = app.current().expect("a run was played");
    let groups = app.plan.groups.len();
    let workers = run
        .lanes
        .lanes
        .iter()
        .enumerate()
        .map(|(w, lane)| {
            let mut stats = WorkerStats::default();
            for g in 0..groups {
                for k in 1..=5u64 {
                    let n = g as u64 + 1;
                    stats.record_attempt(
                        g,
                        n * k * k * 900 * scale / 10 + w as u64 * 300,
                        n * 40_000 * scale / 10,
                    );
                }
            }
            let tally = Tally {
                completed: if w.is_multiple_of(2) { 4 } else { 5 },
                retried: if w.is_multiple_of(2) { 1 } else { 0 },
                ..Tally::default()
            };
            WorkerStats {
                busy_ns: lane.busy_ns,
                blocked_ns: lane.blocked_ns,
                overhead_ns: lane.overhead_ns,
                idle_ns: lane.idle_ns,
                work_ns: lane.busy_ns,
                tasks: lane.tasks,
                steals: lane.steals,
                steal_attempts: lane.steals * 2,
                tally,
                ..stats
            }
        })
        .collect();
    RunResult {
        policy: run.policy,
        makespan_ns: END * scale / 10,
        workers,
        released: Tally::default(),
        interrupted: false,
        total: app.plan.total,
        task_ns: Vec::new(),
        timeline: Timeline::new(0),
        samples: Vec::new(),
        cores: 2,
        pinned: false,
        sim: None,
    }
}

/// Plays a whole run and finishes it.
fn play_finished(app: &mut App, scale: u64) {
    play(app, scale);
    let result = result(app, scale);
    app.finished(&result);
}

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|f| f.render_widget(app, f.area()))
        .expect("drawing into memory cannot fail");
    terminal
}

/// The screen's text, one string per row.
fn rows(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

/// The timeline rows of the screen: the lines whose label is a core or a speed class.
fn lane_rows(buf: &Buffer) -> Vec<String> {
    rows(buf)
        .into_iter()
        .filter(|r| r.starts_with("core ") || r.starts_with('×'))
        .collect()
}

#[test]
fn main_screen_with_a_live_run() {
    let mut app = app_with(&workers(2), "steal");
    play(&mut app, 10);
    assert!(app.running());
    let terminal = draw(&app, 160, 50);
    let lanes = lane_rows(terminal.backend().buffer());
    assert_eq!(lanes.len(), 2, "one row per core: {lanes:#?}");
    insta::assert_snapshot!("main_live", terminal.backend());
}

#[test]
fn finished_run_fills_the_panels() {
    let mut app = app_with(&workers(2), "steal");
    play_finished(&mut app, 10);
    assert_eq!(app.state(), "done");
    insta::assert_snapshot!("finished_panels", draw(&app, 160, 50).backend());
    app.apply(Action::ToggleGroups);
    let terminal = draw(&app, 160, 50);
    let text = rows(terminal.backend().buffer()).join("\n");
    assert!(text.contains("wait · response by group (g)"), "{text}");
    insta::assert_snapshot!("finished_panels_by_group", terminal.backend());
}

#[test]
fn help_overlay() {
    let mut app = app_with(&workers(2), "steal");
    play(&mut app, 10);
    app.apply(Action::ToggleHelp);
    insta::assert_snapshot!("help", draw(&app, 160, 50).backend());
}

#[test]
fn runs_table_with_three_policies() {
    let mut app = app_with(&workers(2), "steal");
    play_finished(&mut app, 10);
    app.apply(Action::Policy(0));
    play_finished(&mut app, 13);
    app.apply(Action::Policy(1));
    play_finished(&mut app, 16);
    let policies: Vec<&str> = app.runs.iter().map(|r| r.policy).collect();
    assert_eq!(policies, ["steal", "fifo", "rr"]);
    let terminal = draw(&app, 160, 50);
    let text = rows(terminal.backend().buffer()).join("\n");
    for row in ["  1 steal", "  2 fifo", "  3 rr"] {
        assert!(text.contains(row), "the runs table lists {row:?}:\n{text}");
    }
    insta::assert_snapshot!("runs_table", terminal.backend());
}

#[test]
fn too_small_terminal_says_so() {
    let mut app = app_with(&workers(2), "steal");
    play(&mut app, 10);
    let terminal = draw(&app, 60, 20);
    let text = rows(terminal.backend().buffer()).join("\n");
    assert!(text.contains("too small"), "{text}");
    assert!(!text.contains("core 0"), "nothing else is drawn:\n{text}");
    insta::assert_snapshot!("too_small", terminal.backend());
    // One column or row short of the minimum is still too small.
    for (w, h) in [(79, 24), (80, 23)] {
        let text = rows(draw(&app, w, h).backend().buffer()).join("\n");
        assert!(text.contains("too small"), "{w}×{h}: {text}");
    }
    let text = rows(draw(&app, 80, 24).backend().buffer()).join("\n");
    assert!(!text.contains("too small"), "80×24 fits: {text}");
}

#[test]
fn no_color_tells_states_apart_by_symbols_alone() {
    let mut app = app_with(&workers(2), "steal");
    app.no_color = true;
    play(&mut app, 10);
    let terminal = draw(&app, 160, 50);
    let buf = terminal.backend().buffer();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            assert!(
                cell.fg == Color::Reset && cell.bg == Color::Reset,
                "cell ({x}, {y}) {:?} has colour {:?} on {:?}",
                cell.symbol(),
                cell.fg,
                cell.bg
            );
        }
    }
    // Only the lanes count: the legend shows every symbol whatever the run did, and borders
    // are drawn with '─' too.
    let lanes = lane_rows(buf);
    let cells: String = lanes
        .iter()
        .map(|r| r.chars().skip(10).take(117).collect::<String>())
        .collect();
    for (symbol, state) in [
        ('·', "idle"),
        ('░', "scheduler"),
        ('─', "blocked"),
        ('✗', "failed"),
        ('↯', "steal"),
        ('█', "busy"),
    ] {
        assert!(
            cells.contains(symbol),
            "the lanes show {state} as {symbol:?}:\n{}",
            lanes.join("\n")
        );
    }
    insta::assert_snapshot!("no_color", terminal.backend());
}

#[test]
fn compare_view_stacks_every_policy() {
    let mut app = app_with(&workers(2), "steal");
    play_finished(&mut app, 10);
    app.apply(Action::CompareAll);
    assert_eq!(app.compare, Some(1..7));
    play_finished(&mut app, 12);
    play_finished(&mut app, 15);
    // The third compared run is still going on; the fourth has not started.
    play(&mut app, 9);
    let terminal = draw(&app, 160, 50);
    let lanes: Vec<String> = rows(terminal.backend().buffer())
        .into_iter()
        .filter(|r| r.split_whitespace().nth(1) == Some("core"))
        .map(|r| r.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lanes,
        [
            "fifo core 0",
            "fifo core 1",
            "rr core 0",
            "rr core 1",
            "steal core 0",
            "steal core 1"
        ]
    );
    insta::assert_snapshot!("compare", terminal.backend());
}

#[test]
fn speed_classes_group_rows() {
    let overrides = Overrides {
        speeds: Some(vec![1.0, 1.0, 0.5, 0.5]),
        ..Overrides::default()
    };
    let mut app = app_with(&overrides, "hetero");
    play(&mut app, 10);
    app.apply(Action::ToggleSpeedGroups);
    let terminal = draw(&app, 160, 50);
    let lanes: Vec<String> = lane_rows(terminal.backend().buffer())
        .iter()
        .map(|r| {
            r.chars()
                .take(10)
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect();
    assert_eq!(lanes, ["×2 @1", "×2 @0.5"], "fastest class first");
    insta::assert_snapshot!("speed_groups", terminal.backend());
    app.apply(Action::ToggleSpeedGroups);
    assert_eq!(lane_rows(draw(&app, 160, 50).backend().buffer()).len(), 4);
}

#[test]
fn many_cores_scroll_instead_of_overflowing() {
    let mut app = app_with(&workers(64), "steal");
    play(&mut app, 10);
    let terminal = draw(&app, 160, 50);
    let screen = rows(terminal.backend().buffer());
    let lanes = lane_rows(terminal.backend().buffer());
    let shown = lanes.len();
    assert!(shown > 4 && shown < 64, "{shown} rows");
    let hint = format!("rows 1–{shown} of 64");
    assert!(
        screen.iter().any(|r| r.contains(&hint)),
        "the scroll hint {hint:?} is shown:\n{}",
        screen.join("\n")
    );
    // The rows end above the axis, the legend and the panels, which all stay in place.
    let last_lane = screen
        .iter()
        .rposition(|r| r.starts_with("core "))
        .expect("some lanes are drawn");
    let legend = screen
        .iter()
        .position(|r| r.contains("scheduler") && r.contains("idle"))
        .expect("the legend is drawn");
    let panels = screen
        .iter()
        .position(|r| r.contains(" granularity "))
        .expect("the panels are drawn");
    assert!(last_lane < legend && legend < panels);
    insta::assert_snapshot!("many_cores", terminal.backend());

    app.apply(Action::Rows(10));
    let screen = rows(draw(&app, 160, 50).backend().buffer());
    let first = format!("rows 11–{} of 64", shown + 10);
    assert!(screen.iter().any(|r| r.contains(&first)), "{screen:#?}");
    assert!(screen.iter().any(|r| r.starts_with("core 10 ")));
    // Scrolling past the end stops with the last core on the last row.
    app.apply(Action::Rows(1_000));
    let screen = rows(draw(&app, 160, 50).backend().buffer());
    let last = format!("rows {}–64 of 64", 64 - shown + 1);
    assert!(screen.iter().any(|r| r.contains(&last)), "{screen:#?}");
    assert_eq!(
        lane_rows(draw(&app, 160, 50).backend().buffer()).len(),
        shown
    );
}

/// One worker computes for 10 µs, is in the scheduler for 1 µs and idles until 37 µs: on an
/// 80-column screen the timeline is 37 cells of 1 µs, so the cells are known exactly.
#[test]
fn lane_cells_exactly() {
    let mut app = app_with(&workers(1), "fifo");
    app.next_run();
    app.add_chunk(&Chunk {
        worker: 0,
        events: vec![
            ev(0, Kind::Run, 0, 0),
            ev(10_000, Kind::Take, 0, Outcome::Completed as u16),
            ev(11_000, Kind::Idle, 0, 0),
            ev(37_000, Kind::Exit, 0, 0),
        ],
    });
    let area = Rect::new(0, 0, 80, 24);
    let mut buf = Buffer::empty(area);
    (&app).render(area, &mut buf);
    // Header (3 rows), the timeline's title row and its column header come first.
    let y = 5;
    let mut row = Buffer::empty(Rect::new(0, 0, 80, 1));
    for x in 0..80 {
        row[(x, 0)] = buf[(x, y)].clone();
    }
    let mut expected = Buffer::with_lines([format!(
        "core 0    {}░{} {}",
        "█".repeat(10),
        "·".repeat(26),
        "  27%   70%  2.7%      1      0 "
    )]);
    expected.set_style(Rect::new(10, 0, 10, 1), Style::default().fg(Color::Cyan));
    expected.set_style(Rect::new(20, 0, 1, 1), Style::default().fg(Color::Yellow));
    expected.set_style(
        Rect::new(21, 0, 26, 1),
        Style::default().fg(Color::DarkGray),
    );
    assert_eq!(row, expected);
}

// Key-handling transitions that `app.rs`'s own tests leave out.

#[test]
fn interrupt_quits_and_marks_the_session_interrupted() {
    let mut app = app_with(&workers(2), "steal");
    app.apply(Action::Interrupt);
    assert!(app.quit && app.interrupted);
}

#[test]
fn rerun_queues_the_same_policy_and_out_of_range_numbers_do_nothing() {
    let mut app = app_with(&workers(2), "rr");
    play_finished(&mut app, 10);
    app.apply(Action::Policy(8));
    assert!(app.queued_runs.is_empty(), "there is no ninth policy");
    app.apply(Action::Rerun);
    assert_eq!(app.queued_runs, ["rr"]);
    assert!(!app.stop_current, "nothing is running to stop");
    assert_eq!(app.next_run(), Some("rr"));
    assert_eq!(app.runs.len(), 2);
}

#[test]
fn a_new_policy_leaves_the_compare_view() {
    let mut app = app_with(&workers(2), "steal");
    play_finished(&mut app, 10);
    app.apply(Action::CompareAll);
    assert!(app.compare.is_some());
    app.apply(Action::NextPolicy);
    assert_eq!(app.compare, None);
}

#[test]
fn pause_freezes_the_picture_while_the_run_goes_on() {
    let mut app = app_with(&workers(2), "steal");
    app.next_run();
    app.add_chunk(&Chunk {
        worker: 0,
        events: vec![ev(0, Kind::Take, 0, 0), ev(100_000, Kind::Run, 0, 0)],
    });
    app.apply(Action::TogglePause);
    assert_eq!(app.shown_until(), 100_000);
    app.add_chunk(&Chunk {
        worker: 0,
        events: vec![ev(500_000, Kind::Take, 0, 1)],
    });
    assert_eq!(app.shown_until(), 100_000, "the picture stays frozen");
    assert_eq!(app.current().map(|r| r.now_ns()), Some(500_000));
    app.apply(Action::Follow);
    assert_eq!(app.state(), "running", "follow unpauses");
    assert_eq!(app.shown_until(), 500_000);
}

#[test]
fn zoom_and_scroll_stay_in_bounds() {
    let mut app = app_with(&workers(2), "steal");
    play(&mut app, 10);
    app.apply(Action::Scroll(-1_000));
    assert_eq!(app.view.from_ns, 0, "scrolling left stops at the start");
    for _ in 0..40 {
        app.apply(Action::Zoom(true));
    }
    assert_eq!(app.view.ns_per_cell, 10, "zooming in stops at 10 ns a cell");
    for _ in 0..80 {
        app.apply(Action::Zoom(false));
    }
    let whole = app
        .current()
        .map_or(0, |r| r.now_ns())
        .div_ceil(app.timeline_width as u64);
    assert_eq!(
        (app.view.from_ns, app.view.ns_per_cell),
        (0, whole),
        "and out at the whole run"
    );
}

#[test]
fn rows_scroll_within_the_cores_and_speed_rows_start_at_the_top() {
    let mut app = app_with(&workers(8), "steal");
    app.apply(Action::Rows(-3));
    assert_eq!(app.view.row_offset, 0);
    app.apply(Action::Rows(100));
    assert_eq!(app.view.row_offset, 7);
    app.apply(Action::ToggleSpeedGroups);
    assert!(app.view.by_speed);
    assert_eq!(app.view.row_offset, 0);
}

#[test]
fn mouse_wheel_zooms() {
    use crossterm::event::{Event as Term, KeyModifiers, MouseEvent, MouseEventKind};
    let wheel = |kind| {
        Term::Mouse(MouseEvent {
            kind,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        })
    };
    assert_eq!(
        event_action(&wheel(MouseEventKind::ScrollUp)),
        Some(Action::Zoom(true))
    );
    assert_eq!(
        event_action(&wheel(MouseEventKind::ScrollDown)),
        Some(Action::Zoom(false))
    );
    assert_eq!(event_action(&wheel(MouseEventKind::Moved)), None);
}

#[test]
fn only_the_first_runs_events_are_kept_for_a_trace() {
    let mut app = app_with(&workers(2), "steal");
    app.keep_events = true;
    play_finished(&mut app, 10);
    let kept = app.kept.as_ref().map(Timeline::len);
    assert_eq!(kept, Some(32));
    app.apply(Action::Rerun);
    play_finished(&mut app, 10);
    assert_eq!(app.kept.as_ref().map(Timeline::len), kept);
    assert_eq!(app.view.overlay, Overlay::None);
}

#[test]
fn the_critical_path_is_underlined_and_its_bound_marked() {
    let mut app = app_with(&workers(2), "steal");
    play_finished(&mut app, 10);
    let report = &app.current().unwrap().finished.as_ref().unwrap().report;
    // The scripted `io` bodies are the longest (3 × 40 µs): the path is that group, whose
    // longest attempt is task 8 on core 1, from 380 to 590 µs.
    assert_eq!(report.critical_groups, vec!["io".to_string()]);
    let bound = report.critical_path_ns;
    let terminal = draw(&app, 160, 50);
    let buf = terminal.backend().buffer();
    let lines = rows(buf);
    let underlined: Vec<(u16, u16)> = buf
        .content()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.modifier.contains(Modifier::UNDERLINED))
        .map(|(i, _)| ((i % 160) as u16, (i / 160) as u16))
        .filter(|&(_, y)| lines[y as usize].starts_with("core"))
        .collect();
    assert!(!underlined.is_empty(), "the critical attempt is underlined");
    let core1 = lines.iter().position(|l| l.starts_with("core 1")).unwrap() as u16;
    assert!(
        underlined.iter().all(|&(_, y)| y == core1),
        "{underlined:?}"
    );
    let (from, per_cell) = app.window(app.timeline_cells(160));
    let label = lines[core1 as usize].find('▄').unwrap_or(10) as u64;
    let first = underlined.iter().map(|&(x, _)| u64::from(x)).min().unwrap() - label;
    let last = underlined.iter().map(|&(x, _)| u64::from(x)).max().unwrap() - label;
    assert_eq!(first, (380_000 - from) / per_cell, "starts at 380 µs");
    assert_eq!(last, (590_000 - 1 - from) / per_cell, "ends at 590 µs");
    let header = lines.iter().find(|l| l.contains("busy  idle")).unwrap();
    assert!(
        header.contains(&format!("▼ span {}", fmt_ns(bound))),
        "{header}"
    );
    assert_eq!(
        header
            .find('▼')
            .map(|x| header[..x].chars().count() as u64 - label),
        Some((bound - from) / per_cell),
        "the bound is marked at its time"
    );
}

#[test]
fn repeated_runs_show_their_spread_and_whether_differences_are_noise() {
    let mut app = app_with(&workers(2), "steal");
    // steal three times, each slower than the last, then fifo twice, far slower.
    for scale in [10, 11, 12] {
        play_finished(&mut app, scale);
        app.apply(Action::Rerun);
    }
    app.apply(Action::Policy(0));
    for scale in [30, 31] {
        play_finished(&mut app, scale);
        app.apply(Action::Rerun);
    }
    app.queued_runs.clear();
    let terminal = draw(&app, 160, 50);
    let text = rows(terminal.backend().buffer()).join("\n");
    let row = |n: &str| {
        text.lines()
            .find(|l| l.contains(&format!("│  {n} ")))
            .unwrap_or_else(|| panic!("no row {n}:\n{text}"))
            .to_string()
    };
    assert!(
        !row("2").contains("runs: median"),
        "only a policy's latest row"
    );
    let makespan = |i: usize| fmt_ns(app.runs[i].finished.as_ref().unwrap().report.makespan_ns);
    let spread = format!(
        "3 runs: median {} [{}–{}]",
        makespan(1),
        makespan(0),
        makespan(2)
    );
    assert!(row("3").contains(&spread), "{spread} in {}", row("3"));
    assert!(row("5").contains("2 runs: median"), "{}", row("5"));
    assert!(
        text.contains("steal beats fifo beyond the noise"),
        "a verdict:\n{text}"
    );
}

#[test]
fn t_starts_the_tour_and_goes_on_lesson_by_lesson() {
    let mut app = app_with(&workers(2), "steal");
    app.apply(Action::Tour);
    assert!(app.quit, "the session ends for the lesson's own");
    assert_eq!(app.next_lesson, Some(0), "the tour starts at lesson 1");
    let last_lesson = crate::tour::LESSONS.len() - 1;
    let (loaded, plan, machine) = super::lesson_session(last_lesson).expect("the last loads");
    let mut last = App::new(&loaded.workload.name, "", plan, machine, "steal");
    last.start_lesson(last_lesson);
    last.apply(Action::Tour);
    assert_eq!(
        last.next_lesson, None,
        "t after the last lesson ends the tour"
    );
}

/// Runs every queued run of `app` for real, feeding its chunks and result as the TUI does.
fn run_for_real(app: &mut App) {
    while let Some(policy) = app.next_run() {
        let (tx, rx) = crossbeam::channel::unbounded();
        let options = crate::exec::RunOptions {
            record: true,
            pin: false,
            stop: None,
            events: Some(tx),
        };
        let result = crate::exec::run(&app.plan, &app.machine, policy, &options, &mut |_| {})
            .expect("known policy");
        for chunk in rx.try_iter() {
            app.add_chunk(&chunk);
        }
        app.finished(&result);
    }
}

#[test]
fn a_lesson_runs_its_policies_side_by_side_and_concludes_from_them() {
    // Lesson 3: rr against steal on `imbalance`.
    let (loaded, plan, machine) = super::lesson_session(2).expect("lesson 3 loads");
    let w = &loaded.workload;
    let mut app = App::new(&w.name, &w.description, plan, machine, "steal");
    app.start_lesson(2);
    assert_eq!(app.queued_runs, vec!["rr", "steal"]);
    assert_eq!(
        app.compare,
        Some(0..2),
        "the two runs are stacked on one axis"
    );
    run_for_real(&mut app);
    let conclusion = app.conclusion.clone().expect("both runs finished");
    let [rr, steal] = [0, 1].map(|i| app.runs[i].finished.as_ref().unwrap().report.clone());
    let expected = format!(
        "{}{}",
        crate::tour::machine_caveat(&[&rr, &steal]),
        crate::tour::balance_conclusion(&rr, &steal)
    );
    assert_eq!(conclusion, expected, "measured from these two runs");
    let terminal = draw(&app, 160, 50);
    let text = rows(terminal.backend().buffer()).join("\n");
    let heading = format!(
        "lesson 3 of {}: Scheduling and load balancing",
        crate::tour::LESSONS.len()
    );
    assert!(text.contains(&heading), "{text}");
    assert!(text.contains("Measured: "), "{text}");
}

#[test]
fn text_from_the_file_reaches_the_screen_with_its_control_characters_escaped() {
    // Names with control characters are refused when loading; a description may hold them
    // (a recording's, a hand-built session's), and the header shows it.
    let loaded = parse(WORKLOAD, "lab.ron").expect("the test workload parses");
    let w = loaded.workload;
    let machine = w.resolve_machine(&workers(2)).expect("resolves");
    let app = App::new(
        "lab\u{1b}]0;title\u{7}",
        "clears \u{1b}[2J the screen \u{9b}2J",
        Plan::new(&w, w.seed),
        machine,
        "steal",
    );
    let terminal = draw(&app, 160, 50);
    let screen = rows(terminal.backend().buffer()).join("\n");
    for cell in terminal.backend().buffer().content() {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "a raw control character in a cell: {:?}",
            cell.symbol()
        );
    }
    assert!(
        screen.contains("clears \\u{1b}[2J the screen \\u{9b}2J"),
        "{screen}"
    );
    assert!(screen.contains("lab\\u{1b}]0;title\\u{7}"), "{screen}");
}

/// The histogram shows every decade up to the longest wait, however few rows it has: the
/// lowest decades fold into the first row shown, never the tail away.
#[test]
fn the_wait_histogram_keeps_its_tail_in_few_rows() {
    let mut wait = crate::times::Times::new();
    for ns in [5, 50, 500, 5_000, 50_000, 500_000, 12_000_000] {
        wait.record(ns);
    }
    let mut response = crate::times::Times::new();
    response.record(20_000_000);
    let rows = super::view::decade_rows(&wait, &response, 3);
    let labels: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(labels, ["<1ms", "<10ms", "<100ms"], "{rows:?}");
    // The first row holds the six waits below 1 ms; the tail its one; the response its own.
    assert_eq!(rows[0].1, 1.0);
    assert!((rows[2].1 - 1.0 / 6.0).abs() < 1e-9, "{rows:?}");
    assert_eq!(rows[2].2, 1.0);
    let all = super::view::decade_rows(&wait, &response, 20);
    assert_eq!(all.len(), 8, "{all:?}");
    assert_eq!(all[0].0, "<10ns");
}

/// The smallest screen the layout allows still shows every core of a small run, the whole
/// legend and the whole help; the span's label never runs into the statistics' header.
#[test]
fn a_small_screen_shows_every_core_the_legend_and_the_help() {
    let mut app = app_with(&workers(4), "steal");
    play_finished(&mut app, 10);
    let screen = rows(draw(&app, 80, 24).backend().buffer());
    for w in 0..4 {
        assert!(
            screen.iter().any(|l| l.starts_with(&format!("core {w} "))),
            "core {w} is not shown:\n{}",
            screen.join("\n")
        );
    }
    let text = screen.join("\n");
    assert!(text.contains("▼ its bound"), "{text}");
    assert!(text.contains("critical path (underlined)"), "{text}");
    let header = screen
        .iter()
        .find(|l| l.contains("span"))
        .expect("the span is marked");
    assert!(
        header.contains("  busy  idle   ovh  tasks steals"),
        "{header}"
    );
    app.apply(Action::ToggleHelp);
    let text = rows(draw(&app, 80, 24).backend().buffer()).join("\n");
    assert!(text.contains("t again for the next"), "{text}");
    assert!(text.contains("+ -  zoom, wheel"), "{text}");
}
