//! The TUI's one state struct and how it changes: from recorded chunks, progress samples,
//! finished runs and user actions. Drawing only reads it (see `view.rs`), so a recorded run
//! renders the same in tests as on screen.

use std::time::{Duration, Instant};

use super::input::Action;
use super::lanes::Lanes;
use crate::exec::{Progress, RunResult};
use crate::plan::Plan;
use crate::record::Chunk;
use crate::report::Report;
use crate::times::Times;
use crate::workload::ResolvedMachine;

/// Progress samples kept for the queue-depth sparkline; older ones are thinned out.
const MAX_SAMPLES: usize = 512;
/// Slow-replay speeds, as divisors of real time.
pub const REPLAY_SPEEDS: [u64; 3] = [10, 100, 1000];

/// What a finished run leaves behind.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Its report.
    pub report: Report,
    /// Ready → start, all groups.
    pub wait: Times,
    /// Ready → start, per group.
    pub group_waits: Vec<Times>,
    /// Release → end of the last attempt, all groups.
    pub response: Times,
    /// Release → end, per group.
    pub group_responses: Vec<Times>,
}

/// One run of this session, live or finished.
#[derive(Debug, Clone)]
pub struct RunView {
    /// Canonical policy name.
    pub policy: &'static str,
    /// Every worker's binned time.
    pub lanes: Lanes,
    /// The latest progress sample.
    pub progress: Option<Progress>,
    /// Tasks waiting in all queues, sampled every tick: (ns since the start, tasks).
    pub depth: Vec<(u64, u64)>,
    /// Sample every this many ticks (doubles as the run grows).
    depth_stride: usize,
    ticks: usize,
    /// Set once the run has ended.
    pub finished: Option<Finished>,
    /// Every event, kept in a lesson (its conclusion needs the groups' spans).
    pub events: Option<crate::record::Timeline>,
}

impl RunView {
    /// A run that is starting.
    pub fn new(policy: &'static str, workers: usize) -> Self {
        RunView {
            policy,
            lanes: Lanes::new(workers),
            progress: None,
            depth: Vec::new(),
            depth_stride: 1,
            ticks: 0,
            finished: None,
            events: None,
        }
    }

    /// Where the run has got to, in ns.
    pub fn now_ns(&self) -> u64 {
        match &self.finished {
            Some(f) => f.report.makespan_ns,
            None => self.lanes.end_ns.max(
                self.progress
                    .as_ref()
                    .map_or(0, |p| p.elapsed.as_nanos() as u64),
            ),
        }
    }

    fn sample(&mut self, p: Progress) {
        self.ticks += 1;
        if self.ticks.is_multiple_of(self.depth_stride) {
            let queued = (p.queued.iter().sum::<usize>() + p.queued_shared) as u64;
            self.depth.push((p.elapsed.as_nanos() as u64, queued));
            if self.depth.len() >= MAX_SAMPLES {
                // Keep the later sample of each pair, with the pair's larger depth.
                self.depth = self
                    .depth
                    .chunks(2)
                    .map(|pair| {
                        (
                            pair[pair.len() - 1].0,
                            pair.iter().map(|s| s.1).max().unwrap_or(0),
                        )
                    })
                    .collect();
                self.depth_stride *= 2;
            }
        }
        self.progress = Some(p);
    }
}

/// Overlays drawn over the main screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// Nothing.
    None,
    /// The key help.
    Help,
}

/// A replay of a finished run: a playhead that moves through it at a fraction of real time,
/// and can be paused, rewound and scrubbed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replay {
    /// Real time is divided by this.
    pub slowdown: u64,
    /// Where the playhead was at `started`, ns into the run.
    pub from_ns: u64,
    /// When the playhead last left `from_ns`.
    pub started: Instant,
    /// The playhead stays at `from_ns`.
    pub paused: bool,
}

impl Replay {
    /// A replay playing from `from_ns`.
    pub fn new(slowdown: u64, from_ns: u64) -> Self {
        Replay {
            slowdown,
            from_ns,
            started: Instant::now(),
            paused: false,
        }
    }

    /// Where the playhead is, ns into the run.
    pub fn playhead(&self) -> u64 {
        if self.paused {
            self.from_ns
        } else {
            self.from_ns + self.started.elapsed().as_nanos() as u64 / self.slowdown.max(1)
        }
    }

    /// The same replay with its playhead moved to `ns`.
    fn at(self, ns: u64) -> Self {
        Replay {
            from_ns: ns,
            started: Instant::now(),
            ..self
        }
    }
}

/// The slowdown that replays a run of `makespan_ns` in a few seconds or more: real time for
/// runs of 5 s and more, else the first of 1/10, 1/100, 1/1000 that takes 5 s, at most 1/1000.
pub fn replay_slowdown(makespan_ns: u64) -> u64 {
    const WATCH_NS: u64 = 5_000_000_000;
    if makespan_ns >= WATCH_NS {
        return 1;
    }
    REPLAY_SPEEDS
        .iter()
        .copied()
        .find(|s| makespan_ns.saturating_mul(*s) >= WATCH_NS)
        .unwrap_or(REPLAY_SPEEDS[REPLAY_SPEEDS.len() - 1])
}

/// The view: which part of which runs, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// The picture is frozen at this point of the run (the run itself goes on).
    pub paused: bool,
    /// Where the picture was frozen.
    pub frozen_at: u64,
    /// The time window follows the run (fits it all).
    pub follow: bool,
    /// Left edge of the time window when not following.
    pub from_ns: u64,
    /// Time per screen cell when not following.
    pub ns_per_cell: u64,
    /// First core row shown.
    pub row_offset: usize,
    /// One row per speed class instead of one per core.
    pub by_speed: bool,
    /// The histogram shows each group separately.
    pub by_group: bool,
    /// What is drawn on top.
    pub overlay: Overlay,
    /// A slowed-down replay in progress.
    pub replay: Option<Replay>,
}

/// Everything the TUI shows.
#[derive(Debug)]
pub struct App {
    /// Workload name.
    pub workload: String,
    /// What to watch for.
    pub description: String,
    /// The compiled workload.
    pub plan: Plan,
    /// The machine.
    pub machine: ResolvedMachine,
    /// CPUs the process may run on, shown against the workers.
    pub cores: usize,
    /// The session's runs are simulated (virtual time, one core per worker).
    pub simulated: bool,
    /// Every run of the session, oldest first.
    pub runs: Vec<RunView>,
    /// Runs stacked on one time axis by `c`, as indices into `runs`.
    pub compare: Option<std::ops::Range<usize>>,
    /// Policies waiting to run next.
    pub queued_runs: Vec<&'static str>,
    /// The view.
    pub view: View,
    /// The UI thread's CPU time and when it was measured.
    pub ui_cpu: Option<(Duration, Duration)>,
    /// Events the UI failed to take in (it never drops any; shown so that would be visible).
    pub dropped_events: u64,
    /// Set when the user asked to leave.
    pub quit: bool,
    /// Set when the user left with Ctrl-C.
    pub interrupted: bool,
    /// Set when the run thread crashed, with its message.
    pub crashed: Option<String>,
    /// Keep the first run's raw events (for `--trace`).
    pub keep_events: bool,
    /// The first run's raw events, when kept.
    pub kept: Option<crate::record::Timeline>,
    /// The first run's queue samples, when its events are kept.
    pub kept_samples: Vec<Progress>,
    /// Screen text without colour.
    pub no_color: bool,
    /// Set when the current run should be stopped (a new one was asked for).
    pub stop_current: bool,
    /// Width of the timeline in cells at the last draw, for scrolling by cells.
    pub timeline_width: usize,
    /// The diagnostics shown, refreshed a few times a second (they scan the whole run).
    pub diagnostics: Vec<String>,
    /// The shown run's idle time and the part of it while work was queued elsewhere, ns,
    /// refreshed with the diagnostics (and `true` while estimated from a live run's samples).
    pub idle_split: Option<(u64, u64, bool)>,
    /// The tour lesson this session shows (an index into `tour::LESSONS`).
    pub lesson: Option<usize>,
    /// The lesson's conclusion, once its runs have finished.
    pub conclusion: Option<String>,
    /// The lesson to show next: set by `t`, which ends this session.
    pub next_lesson: Option<usize>,
}

impl App {
    /// A session on `plan`; the first run is under `policy`.
    pub fn new(
        workload: &str,
        description: &str,
        plan: Plan,
        machine: ResolvedMachine,
        policy: &'static str,
    ) -> Self {
        App {
            workload: workload.to_string(),
            description: description.to_string(),
            plan,
            machine,
            cores: crate::exec::machine::cores(),
            simulated: false,
            runs: Vec::new(),
            compare: None,
            queued_runs: vec![policy],
            view: View {
                paused: false,
                frozen_at: 0,
                follow: true,
                from_ns: 0,
                ns_per_cell: 1_000,
                row_offset: 0,
                by_speed: false,
                by_group: false,
                overlay: Overlay::None,
                replay: None,
            },
            ui_cpu: None,
            dropped_events: 0,
            quit: false,
            interrupted: false,
            crashed: None,
            keep_events: false,
            kept: None,
            kept_samples: Vec::new(),
            no_color: false,
            stop_current: false,
            timeline_width: 100,
            diagnostics: Vec::new(),
            idle_split: None,
            lesson: None,
            conclusion: None,
            next_lesson: None,
        }
    }

    /// Makes this session tour lesson `index`: its policies run in turn (stacked when more
    /// than one), and their events are kept for the conclusion.
    pub fn start_lesson(&mut self, index: usize) {
        let lesson = &crate::tour::LESSONS[index];
        self.lesson = Some(index);
        self.queued_runs = lesson
            .policies
            .iter()
            .filter_map(|p| schedlab_policies::find(p).map(|info| info.name))
            .collect();
        if self.queued_runs.len() > 1 {
            self.compare = Some(self.runs.len()..self.runs.len() + self.queued_runs.len());
        }
    }

    /// The run being shown (the latest).
    pub fn current(&self) -> Option<&RunView> {
        self.runs.last()
    }

    /// Whether a run is going on.
    pub fn running(&self) -> bool {
        self.runs.last().is_some_and(|r| r.finished.is_none())
    }

    /// The policy of the latest run (or the one about to run).
    pub fn policy(&self) -> &'static str {
        self.runs
            .last()
            .map(|r| r.policy)
            .or(self.queued_runs.first().copied())
            .unwrap_or("steal")
    }

    /// The next policy to start, if the previous run is over.
    pub fn next_run(&mut self) -> Option<&'static str> {
        if self.running() || self.queued_runs.is_empty() {
            return None;
        }
        let policy = self.queued_runs.remove(0);
        self.runs.push(RunView::new(policy, self.machine.workers()));
        self.stop_current = false;
        self.view.replay = None;
        Some(policy)
    }

    /// Recorded events of the running run.
    pub fn add_chunk(&mut self, chunk: &Chunk) {
        if self.keep_events && self.runs.len() == 1 {
            let workers = self.machine.workers();
            let kept = self
                .kept
                .get_or_insert_with(|| crate::record::Timeline::new(workers));
            kept.workers[chunk.worker].extend_from_slice(&chunk.events);
        }
        let plan = &self.plan;
        let workers = self.machine.workers();
        if let Some(run) = self.runs.last_mut() {
            if self.lesson.is_some() {
                run.events
                    .get_or_insert_with(|| crate::record::Timeline::new(workers))
                    .workers[chunk.worker]
                    .extend_from_slice(&chunk.events);
            }
            run.lanes.graph_first = plan.graph.as_ref().map(|graph| graph.first);
            run.lanes.add(chunk.worker, &chunk.events, &|task| {
                plan.locate(task).0 as u16
            });
        }
    }

    /// Adds a recorded run as a finished run of the session and starts replaying it.
    pub fn add_recorded(&mut self, recording: &crate::recording::Recording) {
        let report = recording.report().clone();
        let policy = schedlab_policies::find(&report.policy).map_or("recorded", |p| p.name);
        let mut run = RunView::new(policy, recording.machine.workers());
        let plan = &recording.plan;
        for (worker, events) in recording.timeline.workers.iter().enumerate() {
            run.lanes
                .add(worker, events, &|task| plan.locate(task).0 as u16);
        }
        for sample in recording.samples() {
            run.sample(sample);
        }
        let group_waits = recording.group_waits();
        let group_responses = recording.group_responses();
        let end = report.makespan_ns;
        run.finished = Some(Finished {
            report,
            wait: Times::merged(&group_waits),
            group_waits,
            response: Times::merged(&group_responses),
            group_responses,
        });
        self.simulated = recording.report().is_simulated();
        self.runs.push(run);
        self.queued_runs.clear();
        self.view.replay = Some(Replay::new(replay_slowdown(end), 0));
        self.view.follow = true;
        self.refresh_diagnostics();
    }

    /// A progress sample of the running run.
    pub fn progress(&mut self, p: Progress) {
        if let Some(run) = self.runs.last_mut() {
            run.sample(p);
        }
    }

    /// The running run ended with `result` (its events are all in already).
    pub fn finished(&mut self, result: &RunResult) {
        let report = Report::new(
            &self.workload,
            &self.description,
            &self.plan,
            &self.machine,
            result,
        );
        let (group_waits, group_responses): (Vec<Times>, Vec<Times>) = result
            .group_stats(self.plan.groups.len())
            .into_iter()
            .map(|g| (g.waits, g.responses))
            .unzip();
        let wait = Times::merged(&group_waits);
        let response = Times::merged(&group_responses);
        if self.keep_events && self.runs.len() == 1 {
            self.kept_samples = result.samples.clone();
        }
        if let Some(run) = self.runs.last_mut() {
            run.finished = Some(Finished {
                report,
                wait,
                group_waits,
                response,
                group_responses,
            });
        }
        if result.sim.is_some() && !result.interrupted {
            // A simulated run is over before a frame is drawn: play it back at a pace a class
            // can follow, from the start, with every key of a replay.
            self.view.replay = Some(Replay::new(replay_slowdown(result.makespan_ns), 0));
            self.view.follow = true;
        }
        self.conclude_lesson();
        // A finished run's list is its report's: show it at once.
        self.refresh_diagnostics();
    }

    /// Draws the lesson's conclusion from the latest finished run of each of its policies.
    fn conclude_lesson(&mut self) {
        let Some(index) = self.lesson else {
            return;
        };
        let mut measured = Vec::new();
        for policy in crate::tour::LESSONS[index].policies {
            let run = self.runs.iter().rev().find(|r| {
                r.policy == *policy && r.finished.as_ref().is_some_and(|f| !f.report.interrupted)
            });
            let Some((run, finished)) = run.and_then(|r| r.finished.as_ref().map(|f| (r, f)))
            else {
                return;
            };
            let events = run
                .events
                .clone()
                .unwrap_or_else(|| crate::record::Timeline::new(self.machine.workers()));
            measured.push(crate::tour::Measured::new(
                &self.plan,
                finished.report.clone(),
                &events,
            ));
        }
        self.conclusion = Some(crate::tour::conclude(index, &measured));
    }

    /// Applies a user action.
    pub fn apply(&mut self, action: Action) {
        let policies: Vec<&'static str> = schedlab_policies::ALL.iter().map(|p| p.name).collect();
        match action {
            Action::Quit => self.quit = true,
            Action::Interrupt => {
                self.quit = true;
                self.interrupted = true;
            }
            Action::ToggleHelp => {
                self.view.overlay = if self.view.overlay == Overlay::Help {
                    Overlay::None
                } else {
                    Overlay::Help
                };
            }
            Action::CloseOverlay => self.view.overlay = Overlay::None,
            Action::TogglePause if self.view.replay.is_some() => {
                let end = self.current().map_or(0, RunView::now_ns);
                if let Some(r) = self.view.replay.as_mut() {
                    let at = r.playhead().min(end);
                    *r = Replay {
                        paused: !r.paused,
                        ..r.at(at)
                    };
                }
            }
            Action::TogglePause => {
                if !self.view.paused {
                    self.view.frozen_at = self.shown_until();
                }
                self.view.paused = !self.view.paused;
            }
            Action::NextPolicy => {
                let at = policies
                    .iter()
                    .position(|p| *p == self.policy())
                    .unwrap_or(0);
                self.rerun(vec![policies[(at + 1) % policies.len()]]);
            }
            Action::Policy(i) => {
                if let Some(p) = policies.get(i) {
                    self.rerun(vec![p]);
                }
            }
            Action::Rerun => self.rerun(vec![self.policy()]),
            Action::CompareAll => {
                let first = self.runs.len();
                self.rerun(policies.clone());
                self.compare = Some(first..first + policies.len());
            }
            Action::Scroll(cells) => {
                self.freeze_window();
                let delta = self
                    .view
                    .ns_per_cell
                    .saturating_mul(u64::from(cells.unsigned_abs()));
                self.view.from_ns = if cells < 0 {
                    self.view.from_ns.saturating_sub(delta)
                } else {
                    self.view.from_ns + delta
                };
            }
            Action::Zoom(zoom_in) => {
                self.freeze_window();
                let centre =
                    self.view.from_ns + self.view.ns_per_cell * self.timeline_width as u64 / 2;
                // Zoomed out no further than the whole run (so far) on the screen.
                let whole = self
                    .current()
                    .map_or(0, RunView::now_ns)
                    .div_ceil(self.timeline_width.max(1) as u64)
                    .max(10);
                self.view.ns_per_cell = if zoom_in {
                    (self.view.ns_per_cell / 2).max(10)
                } else {
                    self.view.ns_per_cell.saturating_mul(2).min(whole)
                };
                self.view.from_ns = if self.view.ns_per_cell >= whole {
                    0
                } else {
                    centre.saturating_sub(self.view.ns_per_cell * self.timeline_width as u64 / 2)
                };
            }
            Action::Follow => {
                self.view.follow = true;
                self.view.paused = false;
            }
            Action::SlowReplay => {
                let end = self.current().map_or(0, RunView::now_ns);
                let next = match self.view.replay {
                    None => Some(REPLAY_SPEEDS[0]),
                    Some(r) => REPLAY_SPEEDS
                        .iter()
                        .copied()
                        .skip_while(|s| *s != r.slowdown)
                        .nth(1),
                };
                self.view.replay = next.filter(|_| !self.running()).map(|slowdown| {
                    match self.view.replay {
                        // A replay that played to the end starts again at the new speed.
                        Some(r) if r.playhead() >= end => Replay::new(slowdown, 0),
                        // A new speed goes on from where the playhead is.
                        Some(r) => Replay {
                            slowdown,
                            ..r.at(r.playhead().min(end))
                        },
                        None => Replay::new(slowdown, 0),
                    }
                });
                if self.view.replay.is_some() {
                    self.view.follow = true;
                }
            }
            Action::Scrub(twentieths) => {
                if self.running() {
                    return;
                }
                let end = self.current().map_or(0, RunView::now_ns);
                let step = (end / 20).max(1);
                // Scrubbing a run that is not replaying starts a paused replay at its end.
                let r = self.view.replay.unwrap_or(Replay {
                    paused: true,
                    ..Replay::new(replay_slowdown(end), end)
                });
                let now = r.playhead().min(end);
                let to = if twentieths < 0 {
                    now.saturating_sub(step * u64::from(twentieths.unsigned_abs()))
                } else {
                    (now + step * twentieths as u64).min(end)
                };
                self.view.replay = Some(r.at(to));
                self.view.follow = true;
                self.view.paused = false;
            }
            Action::Rewind => {
                if self.running() {
                    return;
                }
                let end = self.current().map_or(0, RunView::now_ns);
                let r = self
                    .view
                    .replay
                    .unwrap_or_else(|| Replay::new(replay_slowdown(end), 0));
                self.view.replay = Some(r.at(0));
                self.view.follow = true;
                self.view.paused = false;
            }
            Action::Tour => {
                let next = self.lesson.map_or(0, |i| i + 1);
                self.next_lesson = (next < crate::tour::LESSONS.len()).then_some(next);
                self.quit = true;
            }
            Action::ToggleGroups => self.view.by_group = !self.view.by_group,
            Action::Rows(n) => {
                // The view clamps to what fits; here only keep it within the rows there are.
                let runs = self.compare.as_ref().map_or(1, |r| r.len());
                let rows = self.machine.workers() * runs;
                self.view.row_offset = (self.view.row_offset as i64 + i64::from(n))
                    .clamp(0, rows.saturating_sub(1) as i64)
                    as usize;
            }
            Action::ToggleSpeedGroups => {
                self.view.by_speed = !self.view.by_speed;
                self.view.row_offset = 0;
            }
        }
    }

    /// Starts these policies next, stopping the run in progress.
    fn rerun(&mut self, policies: Vec<&'static str>) {
        self.compare = None;
        self.queued_runs = policies;
        self.view.follow = true;
        self.view.replay = None;
        if self.running() {
            self.stop_current = true;
        }
    }

    /// Leaves follow mode, keeping the window where it is now.
    fn freeze_window(&mut self) {
        if self.view.follow {
            let (from, per_cell) = self.window(self.timeline_width);
            self.view.from_ns = from;
            self.view.ns_per_cell = per_cell;
            self.view.follow = false;
        }
    }

    /// The end of the time axis: the furthest any shown run has got (or the replay).
    pub fn shown_until(&self) -> u64 {
        let end = match &self.compare {
            Some(range) => self.runs
                [range.start.min(self.runs.len())..range.end.min(self.runs.len())]
                .iter()
                .map(RunView::now_ns)
                .max()
                .unwrap_or(0),
            None => self.current().map_or(0, RunView::now_ns),
        };
        let end = match self.view.replay {
            Some(r) => r.playhead().min(end),
            None => end,
        };
        if self.view.paused {
            end.min(self.view.frozen_at)
        } else {
            end
        }
    }

    /// The time window for a timeline `width` cells wide: left edge and ns per cell.
    pub fn window(&self, width: usize) -> (u64, u64) {
        if self.view.follow {
            let end = if self.view.replay.is_some() {
                self.current().map_or(0, RunView::now_ns)
            } else {
                self.shown_until()
            };
            (0, end.div_ceil(width.max(1) as u64).max(1))
        } else {
            (self.view.from_ns, self.view.ns_per_cell)
        }
    }

    /// The attempts a finished run's critical path runs through: the longest attempt of each
    /// group on the path, which is that group's weight in the report's critical path.
    pub fn critical_attempts(&self, run: &RunView) -> Vec<super::lanes::Attempt> {
        let Some(finished) = &run.finished else {
            return Vec::new();
        };
        let report = &finished.report;
        if !report.critical_tasks.is_empty() {
            // A task graph's path runs through particular tasks: their last attempts.
            return report
                .critical_tasks
                .iter()
                .filter_map(|name| self.plan.graph_task_named(name))
                .filter_map(|l| run.lanes.graph_attempts.get(l).copied().flatten())
                .collect();
        }
        report
            .critical_groups
            .iter()
            .filter_map(|name| self.plan.groups.iter().position(|g| g.name == *name))
            .filter_map(|g| run.lanes.longest.get(g).copied().flatten())
            .collect()
    }

    /// Recomputes what the panels show of the run shown and cannot afford every frame: its
    /// diagnostics (the report's when it is over, the same list the summary and the JSON
    /// have; else the same rules over its figures so far) and its idle split, from one set of
    /// figures.
    pub fn refresh_diagnostics(&mut self) {
        let Some(run) = self.current() else {
            self.diagnostics.clear();
            self.idle_split = None;
            return;
        };
        let (figures, list) = match &run.finished {
            Some(f) => (f.report.figures(), f.report.diagnostics.clone()),
            None => {
                let figures = self.live_figures(run);
                let list = crate::diagnose::diagnose(&figures);
                (figures, list)
            }
        };
        let idle = figures.workers.iter().map(|w| w.idle_ns).sum();
        let elsewhere = figures.workers.iter().map(|w| w.queued_elsewhere_ns).sum();
        self.idle_split = Some((idle, elsewhere, run.finished.is_none()));
        self.diagnostics = list.iter().map(ToString::to_string).collect();
    }

    /// What the diagnostics look at in a run still going: the lanes' totals so far, and for
    /// idle while work was queued, each worker's idle share over every queue sample that saw
    /// ready tasks waiting.
    pub fn live_figures(&self, run: &RunView) -> crate::diagnose::Figures {
        let span_ns = run.now_ns();
        let lanes = &run.lanes.lanes;
        let queued_elsewhere = |w: usize| -> u64 {
            let mut from = 0;
            let mut sum = 0.0;
            for &(t, depth) in &run.depth {
                if depth > 0 && t > from {
                    let idle = run.lanes.cells(w, from, t - from, 1, t)[0].idle;
                    sum += f64::from(idle) * (t - from) as f64;
                }
                from = t;
            }
            sum as u64
        };
        let tasks: u64 = lanes.iter().map(|l| l.tasks).sum();
        let overhead: u64 = lanes.iter().map(|l| l.overhead_ns).sum();
        crate::diagnose::Figures {
            span_ns,
            cores: self.cores,
            workers: lanes
                .iter()
                .enumerate()
                .map(|(w, l)| crate::diagnose::WorkerFigures {
                    busy_ns: l.busy_ns,
                    idle_ns: l.idle_ns,
                    queued_elsewhere_ns: queued_elsewhere(w).min(l.idle_ns),
                    spinning_ns: l.spin_ns,
                })
                .collect(),
            attempts: tasks,
            work_ns: lanes.iter().map(|l| l.busy_ns).sum(),
            overhead_ns_per_task: overhead.checked_div(tasks).unwrap_or(0),
            idle_split_from: "estimated from the queue samples so far",
            ..crate::diagnose::Figures::default()
        }
    }

    /// The report of the session's first run (the one the command line asked for), if it
    /// finished.
    pub fn first_report(&self) -> Option<Report> {
        self.runs
            .first()
            .and_then(|r| r.finished.as_ref())
            .map(|f| f.report.clone())
    }

    /// The state word of the header.
    pub fn state(&self) -> &'static str {
        if let Some(r) = self.view.replay {
            let end = self.current().map_or(0, RunView::now_ns);
            if r.playhead() >= end {
                "replayed"
            } else if r.paused {
                "replay paused"
            } else {
                "replaying"
            }
        } else if self.view.paused {
            "paused"
        } else if self.running() {
            "running"
        } else {
            "done"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Overrides, parse};

    fn app() -> App {
        let w = parse(
            r#"(name: "t", groups: [(name: "a", kernel: Spin(us: 1.0), count: 3)])"#,
            "t",
        )
        .unwrap()
        .workload;
        let machine = w
            .resolve_machine(&Overrides {
                workers: Some(2),
                ..Overrides::default()
            })
            .unwrap();
        App::new("t", "", Plan::new(&w, 0), machine, "steal")
    }

    #[test]
    fn runs_start_one_at_a_time_and_policy_keys_queue_reruns() {
        let mut a = app();
        assert_eq!(a.next_run(), Some("steal"));
        assert_eq!(a.next_run(), None, "one run at a time");
        a.apply(Action::NextPolicy);
        assert_eq!(a.queued_runs, vec!["hetero"], "after steal comes hetero");
        assert!(a.stop_current, "the running run is stopped for the new one");
        a.apply(Action::Policy(0));
        assert_eq!(a.queued_runs, vec!["fifo"]);
        a.apply(Action::CompareAll);
        assert_eq!(
            a.queued_runs,
            vec!["fifo", "rr", "steal", "hetero", "heft", "cp"]
        );
        assert_eq!(a.compare, Some(1..7));
    }

    #[test]
    fn help_toggles_and_escape_closes() {
        let mut a = app();
        a.apply(Action::ToggleHelp);
        assert_eq!(a.view.overlay, Overlay::Help);
        a.apply(Action::ToggleHelp);
        assert_eq!(a.view.overlay, Overlay::None);
        a.apply(Action::ToggleHelp);
        a.apply(Action::CloseOverlay);
        assert_eq!(a.view.overlay, Overlay::None);
        a.apply(Action::Quit);
        assert!(a.quit);
    }

    #[test]
    fn zooming_out_stops_at_the_whole_run() {
        let mut a = app();
        a.next_run();
        a.runs[0].lanes.end_ns = 207_000_000;
        a.timeline_width = 100;
        for _ in 0..30 {
            a.apply(Action::Zoom(false));
        }
        // 207 ms over 100 cells: the whole run, not 12 s of nothing after it.
        assert_eq!(a.window(100), (0, 2_070_000));
    }

    #[test]
    fn a_slow_replay_that_ended_plays_again() {
        let mut a = app();
        a.next_run();
        a.runs[0].finished = Some(Finished {
            report: Report {
                makespan_ns: 1_000_000,
                ..dummy_report()
            },
            wait: Times::new(),
            group_waits: vec![],
            response: Times::new(),
            group_responses: vec![],
        });
        a.apply(Action::SlowReplay);
        let started = a.view.replay.expect("replaying");
        // Played to the end (a replay started long ago).
        a.view.replay = Some(Replay {
            started: started.started - Duration::from_secs(60),
            ..started
        });
        assert!(a.view.replay.unwrap().playhead() >= 1_000_000);
        a.apply(Action::SlowReplay);
        let again = a.view.replay.expect("replaying again");
        assert_eq!(again.slowdown, 100, "at the next speed");
        assert!(again.playhead() < 1_000_000, "from the start, not the end");
    }

    #[test]
    fn zoom_and_scroll_leave_follow_mode_and_follow_returns() {
        let mut a = app();
        a.next_run();
        a.runs[0].lanes.end_ns = 1_000_000;
        a.timeline_width = 100;
        assert_eq!(a.window(100), (0, 10_000));
        a.apply(Action::Zoom(true));
        assert!(!a.view.follow);
        assert_eq!(a.view.ns_per_cell, 5_000);
        a.apply(Action::Scroll(8));
        assert_eq!(a.window(100).0, a.view.from_ns);
        a.apply(Action::Follow);
        assert_eq!(a.window(100), (0, 10_000));
    }

    #[test]
    fn pause_and_slow_replay_change_the_state_word() {
        let mut a = app();
        a.next_run();
        assert_eq!(a.state(), "running");
        a.apply(Action::TogglePause);
        assert_eq!(a.state(), "paused");
        a.apply(Action::TogglePause);
        a.apply(Action::SlowReplay);
        assert_eq!(a.view.replay, None, "no replay while the run goes on");
        a.runs[0].finished = Some(Finished {
            report: dummy_report(),
            wait: Times::new(),
            group_waits: vec![],
            response: Times::new(),
            group_responses: vec![],
        });
        assert_eq!(a.state(), "done");
        a.apply(Action::SlowReplay);
        assert_eq!(a.view.replay.map(|r| r.slowdown), Some(10));
        a.apply(Action::SlowReplay);
        assert_eq!(a.view.replay.map(|r| r.slowdown), Some(100));
        a.apply(Action::SlowReplay);
        a.apply(Action::SlowReplay);
        assert_eq!(a.view.replay, None, "the fourth press turns it off");
    }

    #[test]
    fn a_recording_replays_and_can_be_paused_scrubbed_and_rewound() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/recordings/faults-v1.rec"
        );
        let recording = crate::recording::Recording::load(std::path::Path::new(path)).unwrap();
        let w = &recording.loaded.workload;
        let mut a = App::new(
            &w.name,
            &w.description,
            recording.plan.clone(),
            recording.machine.clone(),
            "steal",
        );
        a.add_recorded(&recording);
        assert_eq!(
            a.next_run(),
            None,
            "nothing runs live: the recording is shown"
        );
        let end = recording.report().makespan_ns;
        assert_eq!(a.current().map(RunView::now_ns), Some(end));
        let tasks: u64 = a.runs[0].lanes.lanes.iter().map(|l| l.tasks).sum();
        assert_eq!(
            tasks,
            recording
                .report()
                .workers
                .iter()
                .map(|w| w.tasks)
                .sum::<u64>()
        );
        let r = a.view.replay.expect("replaying");
        assert_eq!(r.slowdown, replay_slowdown(end));
        assert!(
            a.shown_until() < end,
            "the replay starts from the beginning"
        );

        a.apply(Action::TogglePause);
        assert_eq!(a.state(), "replay paused");
        let at = a.shown_until();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(a.shown_until(), at, "a paused playhead stays");
        a.apply(Action::Scrub(5));
        assert_eq!(a.shown_until(), at + end / 20 * 5, "scrubbed a quarter on");
        a.apply(Action::Scrub(-20));
        assert_eq!(a.shown_until(), 0, "never before the start");
        a.apply(Action::Scrub(40));
        assert_eq!(a.shown_until(), end, "never past the end");
        assert_eq!(a.state(), "replayed");
        // The numbers beside the timeline follow the playhead: nothing at the start, some of
        // the run's attempts half-way, all of them at the end.
        let all: Vec<usize> = (0..a.runs[0].lanes.lanes.len()).collect();
        let tasks_shown = |a: &App| -> u64 {
            let stats = a.row_stats(&a.runs[0], &all);
            let fields: Vec<&str> = stats.split_whitespace().collect();
            fields[3].parse().expect("the tasks column")
        };
        assert_eq!(tasks_shown(&a), tasks);
        a.apply(Action::Rewind);
        assert_eq!(tasks_shown(&a), 0);
        a.apply(Action::Scrub(10));
        assert!((1..tasks).contains(&tasks_shown(&a)), "half-way");
        a.apply(Action::Rewind);
        assert_eq!(a.shown_until(), 0);
        assert!(
            a.view.replay.is_some_and(|r| r.paused),
            "rewinding keeps it paused"
        );
        a.apply(Action::TogglePause);
        assert_eq!(a.state(), "replaying");
    }

    #[test]
    fn replays_take_a_few_seconds_to_watch() {
        assert_eq!(
            replay_slowdown(100_000_000),
            100,
            "100 ms at 1/100 takes 10 s"
        );
        assert_eq!(replay_slowdown(2_000_000_000), 10);
        assert_eq!(replay_slowdown(60_000_000_000), 1, "long runs in real time");
        assert_eq!(replay_slowdown(1_000), 1000, "at most 1/1000");
    }

    fn dummy_report() -> Report {
        let a = app();
        let run = RunResult {
            policy: "steal",
            makespan_ns: 1,
            workers: vec![],
            released: crate::exec::Tally::default(),
            interrupted: false,
            total: 3,
            task_ns: Vec::new(),
            timeline: crate::record::Timeline::new(0),
            samples: Vec::new(),
            cores: 2,
            pinned: false,
            sim: None,
        };
        Report::new("t", "", &a.plan, &a.machine, &run)
    }
}
